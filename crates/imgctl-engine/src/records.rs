//! Promotion records (`docs/RECORDS.md`): after a move's release tag is written, the move's
//! in-toto statement (signed into a DSSE envelope when there is a key) is attached to the
//! digest moved to as an OCI referrer; a rollback also marks the digest rolled back from
//! end of life (docker-tools' lifecycle referrer). Reading them back for `verify`,
//! `history --records` and `inspect`.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use imgctl_core::fleet::Fleet;
use imgctl_records::artifact::{self, ArtifactKind, Built, Descriptor, kind_of};
use imgctl_records::{MoveRecord, Signer, Statement};
use imgctl_registry::referrers::{self, Attachment, Indexed};
use imgctl_registry::{RawManifest, Registry, RegistryError};
use serde_json::Value;

use crate::moves::Move;

/// How records are written: the signing key and the facts of this run.
#[derive(Debug)]
pub struct Recorder {
    /// Signs every statement into a DSSE envelope when set.
    pub signer: Option<Signer>,
    /// `registry/repository`, the statements' subject name.
    pub repository: String,
    /// The git commit of the manifest revision (promote: `--ref`; else HEAD).
    pub commit: Option<String>,
    /// Who runs it.
    pub actor: Option<String>,
    /// The GitHub Actions run's URL.
    pub run_url: Option<String>,
    /// `imgctl <version>`.
    pub tool: String,
    /// The operator's words for this run (`rollback --reason`), written into every record.
    pub note: Option<String>,
    /// How long to wait before the last check of a referrers index (tag schema).
    pub settle: Duration,
    /// Where the source side of a move's changes is read (git, through the CLI); None: the
    /// records say the source side is not known.
    pub sources: Option<std::sync::Arc<dyn crate::changes::SourceLookup>>,
    /// What changed in each move this run recorded, so the run's report reads it once.
    pub read: ChangesRead,
}

/// The changes [`changes_of`] read in this run, by move (variant, channel, from, to).
#[derive(Debug, Default)]
pub struct ChangesRead(std::sync::Mutex<Vec<([String; 4], imgctl_records::changes::Changes)>>);

impl ChangesRead {
    /// What changed in the move of `variant` on `channel` from `from` to `to`, when a record
    /// of this run read it.
    pub fn get(&self, variant: &str, channel: &str, from: &str, to: &str) -> Option<imgctl_records::changes::Changes> {
        let read = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        read.iter().find(|(k, _)| k == &[variant, channel, from, to]).map(|(_, c)| c.clone())
    }

    fn keep(&self, key: [String; 4], c: &imgctl_records::changes::Changes) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((key, c.clone()));
    }
}

/// What a move was, for its record.
#[derive(Debug, Clone)]
pub struct Note<'a> {
    /// Where the records go.
    pub recorder: &'a Recorder,
    /// The digest the channel pointed at before.
    pub from: Option<String>,
    /// `publish`, `promote`, `forced-promote`, `rollback`.
    pub kind: &'static str,
    /// Why.
    pub reason: String,
    /// The build's source id.
    pub source_id: Option<String>,
}

fn attachment(b: Built) -> Attachment {
    Attachment {
        manifest: RawManifest::from_bytes(b.manifest),
        blobs: b.blobs.into_iter().map(|(d, bytes)| (d, bytes.into())).collect(),
        entry: serde_json::to_value(&b.entry).unwrap_or_default(),
    }
}

fn subject(m: &RawManifest) -> Descriptor {
    Descriptor { digest: m.digest.clone(), size: m.bytes.len() as u64, ..Descriptor::of(&m.media_type, b"", false) }
}

/// The statement of move `m`.
pub fn statement(fleet: &Fleet, m: &Move<'_>, note: &Note<'_>) -> Statement {
    let channel_tag = fleet.channel_tag(m.variant, m.channel).unwrap_or_default();
    Statement::of(MoveRecord {
        variant: m.variant.name.clone(),
        os: m.variant.os.id.clone(),
        repository: note.recorder.repository.clone(),
        channel: m.channel.to_string(),
        tag: channel_tag,
        from: note.from.clone(),
        to: m.manifest.digest.clone(),
        kind: note.kind.to_string(),
        time: m.time,
        release_tag: fleet.release_tag(m.variant, m.channel, m.time, &m.manifest.digest, m.rolled_back_from),
        source_id: note.source_id.clone(),
        commit: note.recorder.commit.clone(),
        reason: note.reason.clone(),
        note: note.recorder.note.clone(),
        actor: note.recorder.actor.clone(),
        run_url: note.recorder.run_url.clone(),
        tool: note.recorder.tool.clone(),
        changes: None,
    })
}

/// What changed in move `m` (from `note.from`), for its record; None for a first move or
/// when it cannot be read (logged: the record is written either way).
pub async fn changes_of<R: Registry>(registry: &R, repo: &str, m: &Move<'_>, note: &Note<'_>) -> Option<imgctl_records::changes::Changes> {
    let from = note.from.as_deref().filter(|f| *f != m.manifest.digest)?;
    let to = crate::changes::End { reference: &m.manifest.digest, source_id: note.source_id.as_deref() };
    match crate::changes::between(registry, repo, m.variant, crate::changes::End::at(from), to, None, note.recorder.sources.as_deref()).await {
        Ok(c) => {
            note.recorder.read.keep([m.variant.name.clone(), m.channel.to_string(), from.to_string(), m.manifest.digest.clone()], &c);
            Some(c)
        }
        Err(e) => {
            tracing::warn!("the record of {} on {} says nothing of what changed: {e}", m.variant.name, m.channel);
            None
        }
    }
}

/// Attaches the record of `m` to its digest; for a rollback also marks the digest rolled
/// back from end of life (as of the move's day).
pub async fn attach_move<R: Registry>(registry: &R, repo: &str, fleet: &Fleet, m: &Move<'_>, note: &Note<'_>) -> Result<Indexed, RegistryError> {
    let mut s = statement(fleet, m, note);
    s.predicate.changes = changes_of(registry, repo, m, note).await.map(Box::new);
    let envelope = note.recorder.signer.as_ref().map(|k| k.sign(&s.to_bytes()));
    let built = artifact::record(&s, envelope.as_ref(), subject(m.manifest), m.time);
    let indexed = referrers::attach(registry, repo, &m.manifest.digest, &attachment(built), note.recorder.settle).await?;
    if let Some(from) = m.rolled_back_from {
        mark_eol(registry, repo, from, m.time.date_naive(), m.time, note.recorder.settle, true).await?;
    }
    Ok(indexed)
}

/// Whether `entries` (a referrers list) holds a lifecycle mark; its date when it does.
pub fn lifecycle_date(entries: &[Value]) -> Option<NaiveDate> {
    entries.iter().find_map(|e| {
        let (kind, ann) = entry_kind(e);
        (kind == ArtifactKind::Lifecycle)
            .then(|| ann.get(artifact::EOL_ANNOTATION).and_then(|d| NaiveDate::parse_from_str(d.get(..10).unwrap_or(d), "%Y-%m-%d").ok()))
            .flatten()
    })
}

fn annotations(e: &Value) -> std::collections::BTreeMap<String, String> {
    e.get("annotations").and_then(|a| serde_json::from_value(a.clone()).ok()).unwrap_or_default()
}

/// What a referrers-list entry is, and its annotations.
fn entry_kind(e: &Value) -> (ArtifactKind, std::collections::BTreeMap<String, String>) {
    let ann = annotations(e);
    (kind_of(e.get("artifactType").and_then(Value::as_str), &ann), ann)
}

/// A record as its referrers-list entry describes it (annotations only: no request).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// The artifact manifest's digest.
    pub record: String,
    /// When (`org.opencontainers.image.created`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
    /// The variant, channel and kind the annotations name.
    pub variant: String,
    /// The channel.
    pub channel: String,
    /// `publish`, `promote`, `forced-promote`, `rollback`.
    pub kind: String,
    /// A DSSE envelope (signed), else a bare statement.
    pub signed: bool,
}

/// The records among `entries` (a referrers list), from their annotations alone, oldest first.
pub fn listed(entries: &[Value]) -> Vec<(Listed, &Value)> {
    let mut out: Vec<(Listed, &Value)> = entries
        .iter()
        .filter_map(|e| {
            let (kind, ann) = entry_kind(e);
            let record = e.get("digest").and_then(Value::as_str)?;
            (kind == ArtifactKind::Record).then(|| {
                let get = |k: &str| ann.get(k).cloned().unwrap_or_default();
                let listed = Listed {
                    record: record.to_string(),
                    time: ann.get(artifact::CREATED_ANNOTATION).and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc)),
                    variant: get("dev.imgctl.variant"),
                    channel: get("dev.imgctl.channel"),
                    kind: get("dev.imgctl.kind"),
                    signed: e.get("artifactType").and_then(Value::as_str) == Some(artifact::DSSE_MEDIA_TYPE),
                };
                (listed, e)
            })
        })
        .collect();
    out.sort_by_key(|(l, _)| l.time);
    out
}

/// How long to wait before the last check of a referrers index (tag schema): longer than
/// one request, so a concurrent writer that read before our PUT has written by then.
pub const SETTLE: Duration = Duration::from_millis(300);

/// Marks `digest` end of life on `date` unless it already has a lifecycle mark (or `write`
/// is false: a dry run); returns the date it carries (the existing one, or `date`) and
/// whether it is new.
pub async fn mark_eol<R: Registry>(registry: &R, repo: &str, digest: &str, date: NaiveDate, now: DateTime<Utc>, settle: Duration, write: bool) -> Result<(NaiveDate, bool), RegistryError> {
    let entries = referrers::list(registry, repo, digest).await?;
    if let Some(existing) = lifecycle_date(&entries) {
        return Ok((existing, false));
    }
    if !write {
        return Ok((date, true));
    }
    let d = registry.resolve(repo, digest).await?;
    let subject = Descriptor { digest: d.digest.clone(), size: d.size, ..Descriptor::of(&d.media_type, b"", false) };
    referrers::attach(registry, repo, digest, &attachment(artifact::lifecycle(subject, date, now)), settle).await?;
    Ok((date, true))
}

/// A record as `verify`, `history --records` and `inspect --records` show it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recorded {
    /// The artifact manifest's digest.
    pub record: String,
    /// The move, when the record could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<MoveRecord>,
    /// Signed (a DSSE envelope).
    pub signed: bool,
    /// Verified with the key given (false without a key).
    pub verified: bool,
    /// Why it could not be read or verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every record of `digest` (checked with `key` when given) and its lifecycle mark's date.
pub async fn read_all<R: Registry>(registry: &R, repo: &str, digest: &str, key: Option<&imgctl_records::Verifier>) -> Result<(Vec<Recorded>, Option<NaiveDate>), RegistryError> {
    let entries = referrers::list(registry, repo, digest).await?;
    Ok((read_listed(registry, repo, digest, &entries, key).await?, lifecycle_date(&entries)))
}

/// The records among `entries` (the referrers list of `digest`, read already), oldest
/// first, checked with `key` when given: none more when the entry embeds the record (a
/// tag-schema index written by imgctl, docs/RECORDS.md), else one manifest GET each.
pub async fn read_listed<R: Registry>(registry: &R, repo: &str, digest: &str, entries: &[Value], key: Option<&imgctl_records::Verifier>) -> Result<Vec<Recorded>, RegistryError> {
    let mut out = Vec::new();
    for e in entries {
        if entry_kind(e).0 != ArtifactKind::Record {
            continue;
        }
        let Some(d) = e.get("digest").and_then(Value::as_str) else { continue };
        let bytes = match artifact::embedded(d, e.get("data").and_then(Value::as_str)) {
            Some(b) => b,
            None => registry.get_manifest(repo, d).await?.bytes.to_vec(),
        };
        out.push(match artifact::read_record(&bytes) {
            Err(err) => Recorded { record: d.to_string(), statement: None, signed: false, verified: false, error: Some(err.to_string()) },
            Ok(rec) => {
                let checked = key.map(|k| artifact::verify(&rec, digest, k));
                Recorded {
                    record: d.to_string(),
                    signed: rec.envelope.is_some(),
                    verified: matches!(checked, Some(Ok(()))),
                    error: checked.and_then(Result::err).map(|e| e.to_string()),
                    statement: Some(rec.statement.predicate),
                }
            }
        });
    }
    out.sort_by(|a, b| a.statement.as_ref().map(|s| s.time).cmp(&b.statement.as_ref().map(|s| s.time)));
    Ok(out)
}

/// For a channel already at `m`'s digest (an up-to-date promote, publish or rollback):
/// attaches the record of that move when the digest has no record of this variant's
/// channel made at the move's time yet — a run that wrote the release tag but was stopped
/// before its record, finished by the next run (one referrers read when the record is
/// there); for a rollback also the lifecycle mark of the digest rolled back from (one more
/// referrers read). True when it attached anything.
pub async fn ensure_recorded<R: Registry>(registry: &R, repo: &str, fleet: &Fleet, m: &Move<'_>, note: &Note<'_>) -> Result<bool, RegistryError> {
    let entries = referrers::list(registry, repo, &m.manifest.digest).await?;
    let created = m.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let recorded = entries.iter().any(|e| {
        let (kind, ann) = entry_kind(e);
        kind == ArtifactKind::Record
            && ann.get("dev.imgctl.variant") == Some(&m.variant.name)
            && ann.get("dev.imgctl.channel").map(String::as_str) == Some(m.channel)
            && ann.get(artifact::CREATED_ANNOTATION) == Some(&created)
    });
    if !recorded {
        attach_move(registry, repo, fleet, m, note).await?;
        return Ok(true);
    }
    match m.rolled_back_from {
        Some(from) => Ok(mark_eol(registry, repo, from, m.time.date_naive(), m.time, note.recorder.settle, true).await?.1),
        None => Ok(false),
    }
}

/// The whole digest of the move of `history` to `digest12` (one HEAD of its release tag;
/// None when no release tag names it any more).
pub async fn whole_digest<R: Registry>(registry: &R, repo: &str, history: &imgctl_core::history::ChannelHistory, digest12: &str) -> Result<Option<String>, RegistryError> {
    let Some(mv) = history.moves.iter().rev().find(|m| m.digest12 == digest12) else { return Ok(None) };
    match registry.resolve(repo, &mv.tag).await {
        Ok(d) => Ok(Some(d.digest)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`ensure_recorded`] for the newest move of `history` to `manifest` (nothing with records
/// off, in a dry run, or when no move explains the digest). A rollback's record keeps its
/// kind and the digest rolled back from, whatever `kind` the caller names.
pub async fn finish<R: Registry>(
    ctx: &crate::Ctx<'_, R>,
    v: &imgctl_core::fleet::Variant,
    channel: &str,
    manifest: &RawManifest,
    history: &imgctl_core::history::ChannelHistory,
    kind: &'static str,
    source_id: Option<&str>,
) -> Result<bool, RegistryError> {
    let d12 = imgctl_core::history::digest12(&manifest.digest);
    let Some(mv) = history.moves.iter().rev().find(|m| m.digest12 == d12) else { return Ok(false) };
    if ctx.records.is_none() || ctx.dry_run {
        return Ok(false);
    }
    let from = match &mv.rolled_back_from {
        // the digest rolled back from is gone (gc): nothing to mark, no record to make whole
        Some(f) => match whole_digest(ctx.registry, ctx.repo, history, f).await? {
            Some(d) => Some(d),
            None => return Ok(false),
        },
        None => None,
    };
    let (kind, reason) = match &from {
        Some(f) => ("rollback", format!("rolled back from {f}, which is rejected (recorded by a later run)")),
        None => (kind, "recorded by a later run (the move's own run did not attach it)".to_string()),
    };
    let Some(note) = ctx.note(from.as_deref(), kind, reason, source_id) else { return Ok(false) };
    let m = Move { variant: v, channel, manifest, time: mv.time, rolled_back_from: from.as_deref(), note: Some(note.clone()) };
    ensure_recorded(ctx.registry, ctx.repo, ctx.fleet, &m, &note).await
}
