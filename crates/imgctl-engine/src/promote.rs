//! `promote`: move each variant's promoted channel (`latest`) to the build of its
//! source id at a revision — only built, soaked, non-rejected digests (SPEC §4, §5).
//! At most 5 manifest requests per variant (SPEC §6).

use futures_util::StreamExt;
use imgctl_core::duration::Duration;
use imgctl_core::fleet::Variant;
use imgctl_core::history::{ChannelHistory, RepoHistory, digest12};
use imgctl_core::rollout::{Action, ActionResult, BlockedBy, PromoteInput, Verdict, decide_promote};
use imgctl_registry::{RawManifest, Registry, RegistryError};

use crate::mirror::Follow;
use crate::moves::{self, Move, MoveOutcome, as_expected};
use crate::{Ctx, EngineError, SourceIds, result};

/// What to promote.
#[derive(Debug, Clone)]
pub struct PromoteOptions {
    /// The channel to move (one with `promotesFrom`).
    pub channel: String,
    /// Skip soak and rejection.
    pub force: bool,
    /// Do not run the channel's verification gate (only with `force`).
    pub skip_verify: bool,
}

/// The channel `promote` moves by default: the one that promotes from another.
pub fn default_channel(fleet: &imgctl_core::Fleet) -> Option<String> {
    fleet.manifest.channels.iter().find(|(_, c)| c.promotes_from.is_some()).map(|(n, _)| n.clone())
}

/// Promotes `variants` (source ids from the revision in `ids`).
pub async fn promote<R: Registry>(
    ctx: &Ctx<'_, R>,
    variants: &[&Variant],
    ids: &SourceIds,
    opts: &PromoteOptions,
) -> Result<Vec<ActionResult>, EngineError> {
    let channel = ctx
        .fleet
        .manifest
        .channels
        .get(&opts.channel)
        .ok_or_else(|| EngineError::Input(format!("find channel '{}' in the manifest", opts.channel)))?;
    let source_name = channel
        .promotes_from
        .clone()
        .ok_or_else(|| EngineError::Input(format!("promote to channel '{}': it has no promotesFrom", opts.channel)))?;
    let soak = channel.soak.unwrap_or_default();
    let history = ctx.published_snapshot().await?;
    ctx.progress.start(variants.len());
    let mut results: Vec<(usize, ActionResult, Vec<ActionResult>)> = futures_util::stream::iter(variants.iter().enumerate())
        .map(|(i, v)| {
            let (history, source_name) = (&history, source_name.as_str());
            async move {
                let (r, follow) = match one(ctx, v, ids.get(&v.name).map(String::as_str), history, opts, source_name, soak).await {
                    Ok(r) => r,
                    Err(e) => (ActionResult { reason: Some(e.to_string()), ..result(v, Some(&opts.channel), Action::Failed) }, None),
                };
                ctx.progress.result(&r);
                // the mirrors follow where the primary's channel is now
                let mirrored = match follow {
                    Some(f) => crate::mirror::follow(ctx, &f.follow(v, &opts.channel, history), &Default::default()).await,
                    None => Vec::new(),
                };
                (i, r, mirrored)
            }
        })
        .buffer_unordered(ctx.concurrency.max(1))
        .collect()
        .await;
    results.sort_by_key(|(i, ..)| *i);
    let mut mirrored = Vec::new();
    let mut primary: Vec<ActionResult> = results
        .into_iter()
        .map(|(_, r, m)| {
            mirrored.extend(m);
            r
        })
        .collect();
    crate::recheck::recheck(ctx, &history, &mut primary).await?;
    primary.extend(mirrored);
    Ok(primary)
}

/// What the mirrors follow after the primary's step for one variant.
enum Next {
    /// The primary moved (or recorded) now.
    Moved { manifest: RawManifest, time: chrono::DateTime<chrono::Utc>, before: Option<String> },
    /// The primary's channel stays at this digest.
    At(String),
}

impl Next {
    fn follow<'f>(&'f self, v: &'f Variant, channel: &'f str, history: &RepoHistory) -> Follow<'f> {
        match self {
            Next::Moved { manifest, time, before } => {
                Follow::moved(&Move { variant: v, channel, manifest, time: *time, rolled_back_from: None, note: None }, before.clone())
            }
            Next::At(d) => Follow::at(v, channel, d.clone(), &history.variant(&v.name).channel(channel)),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn one<R: Registry>(
    ctx: &Ctx<'_, R>,
    v: &Variant,
    source_id: Option<&str>,
    history: &RepoHistory,
    opts: &PromoteOptions,
    source_name: &str,
    soak: Duration,
) -> Result<(ActionResult, Option<Next>), RegistryError> {
    let base = result(v, Some(&opts.channel), Action::Skipped);
    let Some(source_id) = source_id else {
        return Ok((ActionResult { reason: Some("no source id at the revision (variant not in its manifest)".into()), ..base }, None));
    };
    let vh = history.variant(&v.name);
    let target = vh.channel(&opts.channel);
    let source = vh.channel(source_name);
    // the build (its immutable tag is in the listing, or there is none) and where the
    // channel points now, read together
    let channel_tag = ctx.fleet.channel_tag(v, &opts.channel).unwrap_or_default();
    let build = async {
        match vh.immutable.get(source_id) {
            Some(tag) => ctx.registry.get_manifest(ctx.repo, tag).await.map(Some),
            None => Ok(None),
        }
    };
    let (candidate, current) = futures_util::future::join(build, moves::current(ctx.registry, ctx.repo, &channel_tag)).await;
    let (candidate, current) = (candidate?, current?);
    let stays = current.clone().map(Next::At);
    let with_from = |r: ActionResult| ActionResult { from: current.clone(), ..r };
    let input = PromoteInput {
        candidate: candidate.as_ref().map(|m| m.digest.as_str()),
        source_id,
        current: current.as_deref(),
        target: &target,
        source: &source,
        source_name,
        soak,
        force: opts.force,
        now: ctx.now,
    };
    match decide_promote(&input) {
        Verdict::Blocked { reason, by, .. } => {
            // the build is in no column of a skipped line: name it once, in the reason
            let reason = match (&candidate, by) {
                (Some(m), BlockedBy::Rejected) => format!("build sha256:{} {reason}", digest12(&m.digest)),
                _ => reason,
            };
            Ok((with_from(ActionResult { reason: Some(reason), ..base }), stays))
        }
        Verdict::UpToDate => {
            let manifest = candidate.expect("up to date implies a candidate");
            let recorded = target.explains(digest12(&manifest.digest));
            let mut reason = "already there".to_string();
            let mut next = stays;
            if !recorded && !ctx.dry_run {
                // an interrupted run moved the channel but did not record it: record it now
                let time = target.next_time(ctx.move_time());
                let note = ctx.note(None, "promote", format!("source id {source_id} (recorded by a later run)"), Some(source_id));
                let m = Move { variant: v, channel: &opts.channel, manifest: &manifest, time, rolled_back_from: None, note };
                moves::repair(ctx.registry, ctx.repo, ctx.fleet, &m).await?;
                reason = "already there; recorded the missing release tag".into();
                next = Some(Next::Moved { manifest: manifest.clone(), time, before: current.clone() });
            } else if crate::records::finish(ctx, v, &opts.channel, &manifest, &target, "promote", Some(source_id)).await? {
                reason = "already there; attached the missing record".into();
            }
            Ok((with_from(ActionResult { to: current.clone(), reason: Some(reason), ..result(v, Some(&opts.channel), Action::Unchanged) }), next))
        }
        Verdict::Move { to } => {
            if !as_expected(&target, current.as_deref()) {
                return Ok((
                    with_from(ActionResult {
                        to: Some(to),
                        reason: Some("the channel moved since its history was read (a concurrent or manual change); not overwritten".into()),
                        ..result(v, Some(&opts.channel), Action::Conflict)
                    }),
                    None,
                ));
            }
            let moved = ActionResult { to: Some(to.clone()), ..result(v, Some(&opts.channel), Action::Moved) };
            let gate = crate::verify::gate_for(ctx.fleet, v, &opts.channel).filter(|_| !opts.skip_verify);
            if ctx.dry_run {
                let reason = if gate.is_some() { "dry run: would verify, then move" } else { "dry run: would move" };
                return Ok((with_from(ActionResult { reason: Some(reason.into()), ..moved }), stays));
            }
            if let Some(gate) = gate
                && let Some(skipped) = verify(ctx, gate, v, &opts.channel, &to).await
            {
                return Ok((with_from(ActionResult { to: Some(to), ..skipped }), stays));
            }
            let manifest = candidate.expect("a move implies a candidate");
            let time = target.next_time(ctx.move_time());
            let note = ctx.note(current.as_deref(), if opts.force { "forced-promote" } else { "promote" }, why_promoted(ctx, &source, source_name, soak, &to, opts.force), Some(source_id));
            let m = Move { variant: v, channel: &opts.channel, manifest: &manifest, time, rolled_back_from: None, note };
            Ok(match moves::apply(ctx.registry, ctx.repo, ctx.fleet, &m).await? {
                MoveOutcome::Moved => (
                    with_from(ActionResult { reason: Some(format!("source id {source_id}")), ..moved }),
                    Some(Next::Moved { manifest: manifest.clone(), time, before: current.clone() }),
                ),
                MoveOutcome::Conflict(now) => (
                    with_from(ActionResult {
                        reason: Some(format!("the channel was changed concurrently (now {}); left as the other writer set it", now.as_deref().unwrap_or("absent"))),
                        ..result(v, Some(&opts.channel), Action::Conflict)
                    }),
                    None,
                ),
            })
        }
    }
}

/// Why a promotion moved, for its record: forced, or how long it soaked on the source.
fn why_promoted<R: Registry>(ctx: &Ctx<'_, R>, source: &ChannelHistory, source_name: &str, soak: Duration, to: &str, force: bool) -> String {
    if force {
        return "forced (--force): soak and rejection checks skipped".into();
    }
    match source.first_arrival(digest12(to)) {
        Some(t) => format!("soak of {soak} met: on {source_name} for {}; not rejected", Duration((ctx.now - t).num_seconds().max(0) as u64)),
        None => format!("soak of {soak} met; not rejected"),
    }
}

/// Runs `gate` for the candidate `digest`: `None` when it passed, else the skipped row
/// (the failure recorded in the registry for `status`, when the registry takes it).
async fn verify<R: Registry>(ctx: &Ctx<'_, R>, gate: &imgctl_core::manifest::Verify, v: &Variant, channel: &str, digest: &str) -> Option<ActionResult> {
    let skipped = |reason: String| ActionResult { reason: Some(reason), blocked_by: Some(BlockedBy::Verification), ..result(v, Some(channel), Action::Skipped) };
    let Some(runner) = ctx.gate else {
        return Some(skipped("verification failed: no verifier to run the channel's verify command".into()));
    };
    let outcome = runner.run(gate, v, channel, ctx.repo, digest).await;
    if outcome.passed {
        return None;
    }
    let tail = crate::verify::last_lines(&outcome.tail, crate::verify::TAIL_LINES);
    let failure = crate::verify::Failure { time: ctx.move_time(), result: outcome.result.clone(), tail: tail.clone() };
    let mut reason = format!("verification failed: {}: {}", outcome.result, crate::verify::tail_line(&tail));
    // the failure stands even when it cannot be recorded (status then does not show it)
    if let Err(e) = crate::verify::record(ctx.registry, ctx.repo, ctx.fleet, v, channel, digest, &failure).await {
        tracing::warn!("verification failure of {} not recorded: {e}", v.name);
        reason.push_str(&format!(" (not recorded for status: {e})"));
    }
    Some(skipped(reason))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use futures_util::future::BoxFuture;
    use imgctl_core::Fleet;
    use imgctl_core::load::{parse_manifest, parse_os_definitions};
    use imgctl_registry::fake::FakeRegistry;

    use super::*;
    use crate::NoProgress;
    use crate::mirror::Mirror;
    use crate::verify::{Gate, Verifier, VerifyJob, VerifyOutcome};

    const REPO: &str = "acme/images";

    fn fleet() -> Fleet {
        let m = parse_manifest(
            "images.yaml",
            "version: 1\nregistry: r.invalid\nrepository: acme/images\nosDefinitions: os.json\ntagSchema:\n  arch: { AMD64: amd64 }\n  defaultArch: AMD64\nchannels:\n  staging: { suffix: -staging }\n  latest: { suffix: -latest, promotesFrom: staging, soak: 0s, verify: { command: check } }\nvariants:\n  - os: U\n    qualifiers: [good]\n    context: src\n  - os: U\n    qualifiers: [bad]\n    context: src\n",
        );
        let o = parse_os_definitions("os.json", r#"{ "definitions": [ { "id": "U", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu", "version": "22.04", "arch": "AMD64" } ] }"#);
        Fleet::new(m.value.expect("manifest"), "images.yaml", m.spans, o.value.expect("os"), o.spans).0
    }

    /// Passes for the `good` variant, fails for the other; records what it was asked.
    #[derive(Default)]
    struct Scripted(std::sync::Mutex<Vec<VerifyJob>>);

    impl Verifier for Scripted {
        fn verify<'a>(&'a self, job: &'a VerifyJob) -> BoxFuture<'a, VerifyOutcome> {
            self.0.lock().unwrap().push(job.clone());
            let passed = job.variant.contains("good");
            Box::pin(async move { VerifyOutcome { passed, result: if passed { "exit 0".into() } else { "exit 2".into() }, tail: "one\ntwo: boom".into() } })
        }
    }

    #[tokio::test]
    async fn the_gate_moves_what_passes_records_what_fails_and_the_mirror_follows_the_primary() {
        let f = fleet();
        let primary = FakeRegistry::new();
        let mut ids = HashMap::new();
        for (i, v) in f.variants.iter().enumerate() {
            let id = format!("{i:012x}");
            // no blobs: the fake has none to copy
            let body = format!(r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[],"n":{i}}}"#);
            let d = primary.insert(REPO, &format!("{}-{id}", v.name), body.clone());
            primary.insert(REPO, &format!("{}-staging", v.name), body.clone());
            primary.insert(REPO, &format!("{}-staging-20260101000000-{}", v.name, digest12(&d)), body);
            ids.insert(v.name.clone(), id);
        }
        let mirror_registry = FakeRegistry::new();
        let mirrors = [Mirror::new(&mirror_registry, "m/images", "m.invalid/m/images", false)];
        let scripted = Scripted::default();
        let gate = Gate { verifier: &scripted, host: "r.invalid".into(), limit: tokio::sync::Semaphore::new(2) };
        let now = chrono::DateTime::parse_from_rfc3339("2026-02-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let ctx = Ctx { registry: &primary, repo: REPO, fleet: &f, now, started: None, concurrency: 2, dry_run: false, progress: &NoProgress, mirrors: &mirrors, gate: Some(&gate), records: None };
        let variants: Vec<&Variant> = f.variants.iter().collect();
        let opts = PromoteOptions { channel: "latest".into(), force: false, skip_verify: false };
        let results = promote(&ctx, &variants, &ids, &opts).await.expect("promote");

        let (good, bad) = (&f.variants[0].name, &f.variants[1].name);
        let row = |v: &str, mirror: bool| results.iter().find(|r| r.variant == v && r.mirror.is_some() == mirror).cloned();
        assert_eq!(row(good, false).unwrap().action, Action::Moved, "{results:#?}");
        let b = row(bad, false).unwrap();
        assert_eq!((b.action, b.blocked_by), (Action::Skipped, Some(BlockedBy::Verification)));
        assert_eq!(b.reason.as_deref(), Some("verification failed: exit 2: one | two: boom"));
        // the job's environment
        let jobs = scripted.0.lock().unwrap().clone();
        let job = jobs.iter().find(|j| &j.variant == good).unwrap();
        assert_eq!((job.os.as_str(), job.channel.as_str()), ("U", "latest"));
        assert_eq!(job.image, format!("r.invalid/{REPO}@{}", job.digest));
        // the failure is recorded for status; the mirror has the moved channel only
        assert!(primary.tag("acme/images/verifications", &format!("{bad}-latest-{}", digest12(&b.to.clone().unwrap()))).is_some());
        assert_eq!(mirror_registry.tag("m/images", &format!("{good}-latest")), primary.tag(REPO, &format!("{good}-latest")));
        assert_eq!(mirror_registry.tag("m/images", &format!("{bad}-latest")), None);
        assert_eq!(row(good, true).unwrap().action, Action::Moved);
        assert!(row(bad, true).is_none(), "the bad variant's channel does not exist anywhere: nothing to follow");
    }
}
