//! Mirrors (SPEC §8): other repositories every move is repeated on, after the primary.
//! A mirror is another target of the same move: its channel is brought to where the
//! primary's channel is (the same check → PUT → verify → record of [`moves`], with the
//! same release tag), copying the content first when it lacks it (blobs by HEAD check,
//! mounted from the primary's repository when the mirror is on the same registry,
//! streamed through a temp file otherwise; manifests by digest, so digests are identical).
//! A mirror's failure is its own result row and never blocks or undoes the primary; once
//! a mirror is unreachable its remaining rows fail at once instead of waiting on retries.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use imgctl_core::fleet::Variant;
use imgctl_core::history::{ChannelHistory, digest12};
use imgctl_core::rollout::{Action, ActionResult};
use imgctl_registry::{BlobSource, RawManifest, Registry, RegistryError};
use tokio::sync::OnceCell;

use crate::moves::{self, Move, MoveOutcome};
use crate::publish::Refs;
use crate::{Ctx, result};

/// One mirror: a registry client and the repository there.
pub struct Mirror<'a, R: Registry> {
    /// The client for the mirror's registry.
    pub registry: &'a R,
    /// The repository there.
    pub repo: String,
    /// `host[:port]/repository`, as result rows name it.
    pub name: String,
    /// On the primary's registry: blobs are mounted from the primary's repository.
    pub same_registry: bool,
    /// Set once the mirror failed in a way that stops it for this command.
    down: OnceLock<String>,
    /// The mirror's tags, listed once per command.
    tags: OnceCell<HashSet<String>>,
}

impl<R: Registry> std::fmt::Debug for Mirror<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror").field("name", &self.name).finish_non_exhaustive()
    }
}

impl<'a, R: Registry> Mirror<'a, R> {
    /// A mirror of `repo` on `registry`, shown as `name`.
    pub fn new(registry: &'a R, repo: impl Into<String>, name: impl Into<String>, same_registry: bool) -> Mirror<'a, R> {
        Mirror { registry, repo: repo.into(), name: name.into(), same_registry, down: OnceLock::new(), tags: OnceCell::new() }
    }

    /// Marks the mirror down for the rest of the command (the first fatal error's text).
    pub fn set_down(&self, why: &str) {
        let _ = self.down.set(why.to_string());
    }

    /// Why the mirror is down, if it is.
    pub fn down(&self) -> Option<&str> {
        self.down.get().map(String::as_str)
    }

    /// Whether `tag` exists on the mirror (one listing per command).
    async fn has_tag(&self, tag: &str) -> Result<bool, RegistryError> {
        let tags = self
            .tags
            .get_or_try_init(|| async {
                match self.registry.list_tags(&self.repo).await {
                    Ok(t) => Ok(t.into_iter().collect()),
                    Err(e) if e.is_not_found() => Ok(HashSet::new()),
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(tags.contains(tag))
    }
}

/// Blob files at hand (from an OCI layout being published), by digest.
pub type LocalBlobs = HashMap<String, PathBuf>;

/// Where the primary's channel is, for the mirrors to follow.
#[derive(Debug, Clone)]
pub struct Follow<'m> {
    /// The variant.
    pub variant: &'m Variant,
    /// The channel.
    pub channel: &'m str,
    /// The primary channel's digest now.
    pub digest: String,
    /// Its manifest, when at hand (else read from the primary when a mirror needs it).
    pub manifest: Option<&'m RawManifest>,
    /// Time and rolled-back-from of the primary's release tag naming the digest (None:
    /// the primary has none; the mirror then gets no release tag either).
    pub record: Option<(DateTime<Utc>, Option<String>)>,
    /// Where the primary's channel was before this command moved it (a mirror elsewhere
    /// had drifted).
    pub before: Option<String>,
}

impl<'m> Follow<'m> {
    /// Following the primary's channel at `digest`, recorded as its newest move there.
    pub fn at(variant: &'m Variant, channel: &'m str, digest: String, history: &ChannelHistory) -> Follow<'m> {
        let record = history.moves.iter().rev().find(|m| m.digest12 == digest12(&digest)).map(|m| (m.time, m.rolled_back_from.clone()));
        Follow { variant, channel, before: Some(digest.clone()), digest, manifest: None, record }
    }

    /// Following a move the primary just made (from `before`).
    pub fn moved(m: &Move<'m>, before: Option<String>) -> Follow<'m> {
        Follow {
            variant: m.variant,
            channel: m.channel,
            digest: m.manifest.digest.clone(),
            manifest: Some(m.manifest),
            record: Some((m.time, m.rolled_back_from.map(str::to_string))),
            before,
        }
    }
}

/// Brings every mirror's channel to where the primary's is; one row per mirror.
pub async fn follow<R: Registry>(ctx: &Ctx<'_, R>, f: &Follow<'_>, local: &LocalBlobs) -> Vec<ActionResult> {
    let mut rows = Vec::with_capacity(ctx.mirrors.len());
    for m in ctx.mirrors {
        rows.push(guarded(m, f, one(ctx, m, f, local, false).await));
    }
    rows
}

/// `publish` on every mirror: the build (content and immutable tag `immutable`), then the
/// channel where the primary's is (`f`, None when the primary's channel did not settle).
pub async fn publish<R: Registry>(ctx: &Ctx<'_, R>, build: &RawManifest, immutable: &str, f: &Follow<'_>, local: &LocalBlobs) -> Vec<ActionResult> {
    let mut rows = Vec::with_capacity(ctx.mirrors.len());
    for m in ctx.mirrors {
        let r = async {
            if m.down().is_some() || ctx.dry_run {
                return one(ctx, m, f, local, false).await;
            }
            // the immutable tag at the build means its content is there (1 HEAD)
            let mut uploaded = 0;
            if moves::current(m.registry, &m.repo, immutable).await?.as_deref() != Some(build.digest.as_str()) {
                uploaded = copy_content(ctx, m, build, local, immutable).await?;
            }
            // the build's SBOM goes with it (nothing when the mirror has it: two listings)
            crate::mirror_sbom::copy(ctx, m, build).await?;
            let mut row = one(ctx, m, f, local, f.digest == build.digest).await?;
            uploaded += row.uploaded_bytes.unwrap_or_default();
            row.uploaded_bytes = Some(uploaded);
            Ok(row)
        };
        rows.push(guarded(m, f, r.await));
    }
    rows
}

/// A row for `m`, or its failure (marking the mirror down when the error is fatal).
pub(crate) fn guarded<R: Registry>(m: &Mirror<'_, R>, f: &Follow<'_>, r: Result<ActionResult, RegistryError>) -> ActionResult {
    r.unwrap_or_else(|e| {
        if crate::is_fatal(&e) || matches!(e, RegistryError::Unavailable { .. }) {
            m.set_down(&e.to_string());
        }
        ActionResult { to: Some(f.digest.clone()), reason: Some(e.to_string()), mirror: Some(m.name.clone()), ..result(f.variant, Some(f.channel), Action::Failed) }
    })
}

/// Brings `m`'s channel to `f`; `present`: the mirror is known to hold the manifest.
async fn one<R: Registry>(ctx: &Ctx<'_, R>, m: &Mirror<'_, R>, f: &Follow<'_>, local: &LocalBlobs, present: bool) -> Result<ActionResult, RegistryError> {
    let row = |action, from: Option<String>, reason: String| ActionResult {
        from,
        to: Some(f.digest.clone()),
        reason: Some(reason),
        mirror: Some(m.name.clone()),
        ..result(f.variant, Some(f.channel), action)
    };
    if let Some(why) = m.down() {
        return Ok(row(Action::Failed, None, format!("mirror unreachable earlier in this run: {why}")));
    }
    let tag = ctx.fleet.channel_tag(f.variant, f.channel).unwrap_or_default();
    let current = moves::current(m.registry, &m.repo, &tag).await?;
    let release = f.record.as_ref().and_then(|(t, rb)| ctx.fleet.release_tag(f.variant, f.channel, *t, &f.digest, rb.as_deref()));
    let fetched;
    let manifest = match f.manifest {
        Some(mf) => mf,
        None if current.as_deref() == Some(f.digest.as_str()) && release.is_none() => {
            return Ok(row(Action::Unchanged, current.clone(), "in step with the primary".into()));
        }
        None => {
            fetched = ctx.registry.get_manifest(ctx.repo, &f.digest).await?;
            &fetched
        }
    };
    let mv = f.record.as_ref().map(|(t, rb)| Move { variant: f.variant, channel: f.channel, manifest, time: *t, rolled_back_from: rb.as_deref(), note: None });
    if current.as_deref() == Some(f.digest.as_str()) {
        let Some(rel) = release.filter(|_| mv.is_some()) else {
            return Ok(row(Action::Unchanged, current.clone(), "in step with the primary".into()));
        };
        if m.has_tag(&rel).await? {
            return Ok(row(Action::Unchanged, current.clone(), "in step with the primary".into()));
        }
        if !ctx.dry_run
            && let Some(mv) = &mv
        {
            moves::repair(m.registry, &m.repo, ctx.fleet, mv).await?;
        }
        return Ok(row(Action::Unchanged, current.clone(), "in step; recorded the missing release tag".into()));
    }
    let drifted = current.is_some() && current != f.before;
    let (what, plan) = match &current {
        Some(c) if drifted => (format!("repaired drift (the mirror was at sha256:{})", digest12(c)), format!("repair drift (the mirror is at sha256:{})", digest12(c))),
        _ => ("mirrored".to_string(), "mirror the move".to_string()),
    };
    if ctx.dry_run {
        return Ok(row(Action::Moved, current, format!("dry run: would {plan}")));
    }
    let uploaded = if present { 0 } else { ensure_content(ctx, m, manifest, local).await? };
    let outcome = match &mv {
        Some(mv) => moves::apply(m.registry, &m.repo, ctx.fleet, mv).await?,
        None => {
            m.registry.put_manifest(&m.repo, &tag, manifest).await?;
            let after = moves::current(m.registry, &m.repo, &tag).await?;
            if after.as_deref() == Some(f.digest.as_str()) { MoveOutcome::Moved } else { MoveOutcome::Conflict(after) }
        }
    };
    Ok(match outcome {
        MoveOutcome::Moved => ActionResult { uploaded_bytes: (uploaded > 0).then_some(uploaded), ..row(Action::Moved, current, what) },
        MoveOutcome::Conflict(now) => {
            row(Action::Conflict, current, format!("the mirror's channel was changed concurrently (now {}); left as the other writer set it", now.as_deref().unwrap_or("absent")))
        }
    })
}

fn refs(m: &RawManifest) -> Result<Refs, RegistryError> {
    serde_json::from_slice(&m.bytes).map_err(|e| RegistryError::InvalidReference { reference: m.digest.clone(), reason: format!("read manifest: {e}") })
}

/// Makes sure the mirror holds `manifest` by digest (1 HEAD when it does); otherwise
/// copies it, and its SBOM (`mirror_sbom`). Returns the bytes uploaded.
pub async fn ensure_content<R: Registry>(ctx: &Ctx<'_, R>, m: &Mirror<'_, R>, manifest: &RawManifest, local: &LocalBlobs) -> Result<u64, RegistryError> {
    match m.registry.resolve(&m.repo, &manifest.digest).await {
        Ok(_) => Ok(0),
        Err(e) if e.is_not_found() => {
            let uploaded = copy_content(ctx, m, manifest, local, &manifest.digest).await?;
            crate::mirror_sbom::copy(ctx, m, manifest).await?;
            Ok(uploaded)
        }
        Err(e) => Err(e),
    }
}

/// Copies `manifest` to the mirror under `reference` (a tag, or its digest): its blobs
/// (HEAD first) and child manifests, read from the primary. Returns the bytes uploaded.
async fn copy_content<R: Registry>(ctx: &Ctx<'_, R>, m: &Mirror<'_, R>, manifest: &RawManifest, local: &LocalBlobs, reference: &str) -> Result<u64, RegistryError> {
    let top = refs(manifest)?;
    let mut children = Vec::new();
    let mut blobs: Vec<(String, u64)> = Vec::new();
    let add = |r: Refs, blobs: &mut Vec<(String, u64)>| {
        for b in r.config.into_iter().chain(r.layers) {
            if !blobs.iter().any(|(d, _)| *d == b.digest) {
                blobs.push((b.digest, b.size));
            }
        }
    };
    for k in &top.manifests {
        let child = ctx.registry.get_manifest(ctx.repo, &k.digest).await?;
        add(refs(&child)?, &mut blobs);
        children.push(child);
    }
    add(top, &mut blobs);
    let mut uploaded = 0;
    for (digest, size) in &blobs {
        uploaded += copy_blob(ctx, m, digest, *size, local).await?;
    }
    for child in &children {
        m.registry.put_manifest(&m.repo, &child.digest, child).await?;
    }
    m.registry.put_manifest(&m.repo, reference, manifest).await?;
    Ok(uploaded)
}

/// Copies one blob to the mirror unless it is there (HEAD): from a local file, by mount
/// on the same registry, else streamed from the primary through a temp file (at most `size`
/// bytes, its descriptor's: a longer answer is refused and nothing of it kept).
pub(crate) async fn copy_blob<R: Registry>(ctx: &Ctx<'_, R>, m: &Mirror<'_, R>, digest: &str, size: u64, local: &LocalBlobs) -> Result<u64, RegistryError> {
    if m.registry.blob_exists(&m.repo, digest).await? {
        return Ok(0);
    }
    let local = local.get(digest);
    if m.same_registry {
        // a mount moves no bytes; when the registry declines it uploads the fallback
        let fallback = local.map_or(BlobSource::Bytes(bytes::Bytes::new()), |p| BlobSource::File(p.clone()));
        match m.registry.mount_blob(&m.repo, digest, ctx.repo, &fallback).await {
            Ok(imgctl_registry::MountOutcome::Mounted) => return Ok(0),
            Ok(imgctl_registry::MountOutcome::Uploaded) => return Ok(local.and_then(|p| std::fs::metadata(p).ok()).map_or(0, |md| md.len())),
            Err(e) if local.is_some() => return Err(e),
            Err(_) => {}
        }
    }
    if let Some(path) = local {
        m.registry.push_blob(&m.repo, digest, &BlobSource::File(path.clone())).await?;
        return Ok(std::fs::metadata(path).map(|md| md.len()).unwrap_or_default());
    }
    let tmp = tempfile::NamedTempFile::new().map_err(|e| RegistryError::Io { path: "a temp file".into(), source: e })?;
    let size = ctx.registry.fetch_blob(ctx.repo, digest, size, tmp.path()).await?;
    m.registry.push_blob(&m.repo, digest, &BlobSource::File(tmp.path().to_path_buf())).await?;
    Ok(size)
}
