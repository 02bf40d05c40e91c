//! The verification gate (SPEC §8): before `promote` moves a variant's channel to a
//! digest, the channel's `verify` command runs once for that candidate. Running a process
//! is I/O, so the engine only decides when a gate applies, bounds how many run at once and
//! records failures; the [`Verifier`] the caller passes in (the CLI's) spawns the process.
//!
//! A failure is recorded in the registry, so `status` on any machine with registry
//! credentials shows it: a tiny OCI manifest (empty config and layer) whose annotations
//! hold the time, the result and the output's tail, tagged `{channel tag}-{digest12}` in the
//! repository `{repository}/verifications`. A record only matters while its digest is the
//! pending candidate; once the channel is at that digest (or another build is pending) it
//! is ignored, so nothing has to delete it.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use imgctl_core::duration::Duration;
use imgctl_core::fleet::{Fleet, Variant};
use imgctl_core::history::digest12;
use imgctl_core::manifest::{Verify, VerifyCommand};
use imgctl_registry::{BlobSource, OCI_MANIFEST, RawManifest, Registry, RegistryError};
use serde::Serialize;
use tokio::sync::Semaphore;

/// The OCI empty descriptor's content (`{}`) and digest.
const EMPTY: &[u8] = b"{}";
const EMPTY_DIGEST: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
const EMPTY_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// Annotation keys of a failure record.
const KEY_TIME: &str = "io.imgctl.verification.time";
const KEY_RESULT: &str = "io.imgctl.verification.result";
const KEY_TAIL: &str = "io.imgctl.verification.tail";
const KEY_DIGEST: &str = "io.imgctl.verification.digest";
/// Lines of output a reason and a record keep.
pub const TAIL_LINES: usize = 5;

/// One verification to run.
#[derive(Debug, Clone)]
pub struct VerifyJob {
    /// The variant (its base tag): `IMGCTL_VARIANT`.
    pub variant: String,
    /// Its OperatingSystemId: `IMGCTL_OS`.
    pub os: String,
    /// The channel about to move: `IMGCTL_CHANNEL`.
    pub channel: String,
    /// The candidate digest: `IMGCTL_DIGEST`.
    pub digest: String,
    /// `host[:port]/repository@digest`: `IMGCTL_IMAGE`.
    pub image: String,
    /// The command.
    pub command: VerifyCommand,
    /// Longer than this is a failure.
    pub timeout: Duration,
}

/// How a verification ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOutcome {
    /// Exit 0 within the timeout.
    pub passed: bool,
    /// `exit 3`, `timed out after 30s`, `could not start: …`.
    pub result: String,
    /// The last lines of its output (stdout and stderr, interleaved as written).
    pub tail: String,
}

/// Runs verification commands (the CLI spawns processes; tests may script outcomes).
pub trait Verifier: Send + Sync {
    /// Runs `job` to its end (or its timeout).
    fn verify<'a>(&'a self, job: &'a VerifyJob) -> BoxFuture<'a, VerifyOutcome>;
}

/// The gate as a command runs it: the verifier, the host named in `IMGCTL_IMAGE`, and the
/// bound on verifications in flight (`--verify-concurrency`).
pub struct Gate<'a> {
    /// Runs the commands.
    pub verifier: &'a dyn Verifier,
    /// The primary registry's host, for `IMGCTL_IMAGE`.
    pub host: String,
    /// Verifications at once.
    pub limit: Semaphore,
}

impl std::fmt::Debug for Gate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").field("host", &self.host).finish_non_exhaustive()
    }
}

/// The gate of `channel` that applies to `v`, if any.
pub fn gate_for<'f>(fleet: &'f Fleet, v: &Variant, channel: &str) -> Option<&'f Verify> {
    let gate = fleet.manifest.channels.get(channel)?.verify.as_ref()?;
    gate.applies_to(&v.os.id, &v.spec.qualifiers).then_some(gate)
}

impl Gate<'_> {
    /// Runs `gate` for `v`'s candidate `digest` in `repo`, waiting for a free slot.
    pub async fn run(&self, gate: &Verify, v: &Variant, channel: &str, repo: &str, digest: &str) -> VerifyOutcome {
        let job = VerifyJob {
            variant: v.name.clone(),
            os: v.os.id.clone(),
            channel: channel.to_string(),
            digest: digest.to_string(),
            image: format!("{}/{repo}@{digest}", self.host),
            command: gate.command.clone(),
            timeout: gate.timeout(),
        };
        // the semaphore is never closed
        let _slot = self.limit.acquire().await.ok();
        self.verifier.verify(&job).await
    }
}

/// The non-empty lines of `tail`, joined with ` | ` (for one-line reasons).
pub fn tail_line(tail: &str) -> String {
    tail.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" | ")
}

/// The last `n` lines of `text`.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The repository holding the failure records of `repo`.
pub fn records_repo(repo: &str) -> String {
    format!("{repo}/verifications")
}

/// A recorded failure, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// When it ran.
    pub time: DateTime<Utc>,
    /// `exit 3`, `timed out after 30s`, …
    pub result: String,
    /// The last lines of its output.
    pub tail: String,
}

/// The record tag of a failure of `v`'s `channel` gate for `digest`.
fn record_tag(fleet: &Fleet, v: &Variant, channel: &str, digest: &str) -> String {
    format!("{}-{}", fleet.channel_tag(v, channel).unwrap_or_default(), digest12(digest))
}

/// Records a failure (3–4 requests: blob HEAD, upload when missing, manifest PUT).
pub async fn record<R: Registry>(registry: &R, repo: &str, fleet: &Fleet, v: &Variant, channel: &str, digest: &str, failure: &Failure) -> Result<(), RegistryError> {
    let records = records_repo(repo);
    if !registry.blob_exists(&records, EMPTY_DIGEST).await? {
        registry.push_blob(&records, EMPTY_DIGEST, &BlobSource::Bytes(bytes::Bytes::from_static(EMPTY))).await?;
    }
    let empty = serde_json::json!({ "mediaType": EMPTY_TYPE, "digest": EMPTY_DIGEST, "size": EMPTY.len() });
    let doc = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": empty,
        "layers": [empty],
        "annotations": {
            KEY_TIME: failure.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            KEY_RESULT: failure.result,
            KEY_TAIL: failure.tail,
            KEY_DIGEST: digest,
        }
    });
    let manifest = RawManifest::from_bytes(serde_json::to_vec(&doc).unwrap_or_default());
    registry.put_manifest(&records, &record_tag(fleet, v, channel, digest), &manifest).await?;
    Ok(())
}

/// The failure records of `repo`, read from one tag listing (none when the records
/// repository does not exist).
pub async fn recorded<R: Registry>(registry: &R, repo: &str) -> Result<HashSet<String>, RegistryError> {
    match registry.list_tags(&records_repo(repo)).await {
        Ok(tags) => Ok(tags.into_iter().collect()),
        Err(e) if e.is_not_found() => Ok(HashSet::new()),
        Err(e) => Err(e),
    }
}

/// The recorded failure of `v`'s `channel` gate for `digest`, if `tags` (from
/// [`recorded`]) holds one: one manifest GET.
pub async fn failure<R: Registry>(registry: &R, repo: &str, fleet: &Fleet, tags: &HashSet<String>, v: &Variant, channel: &str, digest: &str) -> Result<Option<Failure>, RegistryError> {
    let tag = record_tag(fleet, v, channel, digest);
    if !tags.contains(&tag) {
        return Ok(None);
    }
    let m = registry.get_manifest(&records_repo(repo), &tag).await?;
    let doc: serde_json::Value = serde_json::from_slice(&m.bytes).unwrap_or_default();
    let a = &doc["annotations"];
    if a[KEY_DIGEST] != digest {
        return Ok(None);
    }
    let text = |k: &str| a[k].as_str().unwrap_or_default().to_string();
    let Ok(time) = DateTime::parse_from_rfc3339(&text(KEY_TIME)) else { return Ok(None) };
    Ok(Some(Failure { time: time.with_timezone(&Utc), result: text(KEY_RESULT), tail: text(KEY_TAIL) }))
}

/// Runs `gate` for the candidate `digest`: `None` when it passed, else the skipped row
/// (the failure recorded in the registry for `status`, when the registry takes it).
pub(crate) async fn run_gate<R: Registry>(ctx: &crate::Ctx<'_, R>, gate: &Verify, v: &Variant, channel: &str, digest: &str) -> Option<imgctl_core::rollout::ActionResult> {
    use imgctl_core::rollout::{Action, ActionResult, BlockedBy};
    let skipped = |reason: String| ActionResult { reason: Some(reason), blocked_by: Some(BlockedBy::Verification), ..crate::result(v, Some(channel), Action::Skipped) };
    let Some(runner) = ctx.gate else {
        return Some(skipped("verification failed: no verifier to run the channel's verify command".into()));
    };
    let outcome = runner.run(gate, v, channel, ctx.repo, digest).await;
    if outcome.passed {
        return None;
    }
    let tail = last_lines(&outcome.tail, TAIL_LINES);
    let failure = Failure { time: ctx.move_time(), result: outcome.result.clone(), tail: tail.clone() };
    let mut reason = format!("verification failed: {}: {}", outcome.result, tail_line(&tail));
    // the failure stands even when it cannot be recorded (status then does not show it)
    if let Err(e) = record(ctx.registry, ctx.repo, ctx.fleet, v, channel, digest, &failure).await {
        tracing::warn!("verification failure of {} not recorded: {e}", v.name);
        reason.push_str(&format!(" (not recorded for status: {e})"));
    }
    Some(skipped(reason))
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_descriptor_digest_is_that_of_its_content() {
        assert_eq!(imgctl_registry::digest::sha256(EMPTY), EMPTY_DIGEST);
    }

    #[test]
    fn tails_keep_the_last_lines() {
        assert_eq!(last_lines("a\nb\nc\nd", 2), "c\nd");
        assert_eq!(last_lines("a", 5), "a");
        assert_eq!(tail_line("x\n\ny  \n"), "x | y");
    }
}
