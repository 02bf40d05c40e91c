//! `publish`: push a build (OCI layout, tarball, or an image already in the registry)
//! as `{base}-{sourceId}`, then move the staging channel and record it (SPEC §4, §5).
//! Only missing blobs move (HEAD first; mounted when the source is another repository
//! of the same registry); manifests go byte for byte; republishing uploads nothing.

use std::path::PathBuf;

use bytes::Bytes;
use imgctl_core::fleet::{Fleet, Variant};
use imgctl_core::history::{VariantHistory, digest12};
use imgctl_core::rollout::{Action, ActionResult};
use imgctl_registry::{BlobSource, RawManifest, Registry};
use serde::Deserialize;

use crate::layout::{self, LayoutImage};
use crate::mirror::{Follow, LocalBlobs};
use crate::moves::{self, Move, MoveOutcome, as_expected};
use crate::{Ctx, EngineError, result};

/// Where the image to publish comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An OCI image layout directory or tarball.
    Layout(PathBuf),
    /// A reference in another repository of the same registry (`repo:tag` or `repo@sha256:…`).
    Reference {
        /// The repository.
        repo: String,
        /// Tag or digest.
        reference: String,
    },
}

impl Source {
    /// Reads `--image`: an existing path is a layout; `host[:port]/repo:tag|@digest` on
    /// `registry` is a reference; anything else is an error.
    pub fn parse(image: &str, registry: &str) -> Result<Source, EngineError> {
        let path = PathBuf::from(image);
        if path.exists() {
            return Ok(Source::Layout(path));
        }
        let Some(rest) = image.strip_prefix(registry).and_then(|r| r.strip_prefix('/')) else {
            return Err(EngineError::Input(format!(
                "read image '{image}': not an OCI layout on disk, and not a reference on registry {registry} (publish from another registry: copy it into this one or to an OCI layout first)"
            )));
        };
        let (repo, reference) = match rest.split_once('@') {
            Some((r, d)) => (r, d),
            None => rest.rsplit_once(':').ok_or_else(|| EngineError::Input(format!("read image '{image}': it names no tag or digest")))?,
        };
        Ok(Source::Reference { repo: repo.to_string(), reference: reference.to_string() })
    }
}

/// Options of `publish`.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// The channel to move (the one that promotes from nothing: `staging`).
    pub channel: String,
    /// Overwrite an immutable tag that points elsewhere; move to a rejected digest.
    pub force: bool,
    /// Inventory the build and attach its SBOM (None: `--no-sbom`).
    pub sbom: Option<crate::sbom::SbomOptions>,
}

/// The channel `publish` moves by default: the first one nothing promotes into.
pub fn default_channel(fleet: &Fleet) -> Option<String> {
    fleet.manifest.channels.iter().find(|(_, c)| c.promotes_from.is_none()).map(|(n, _)| n.clone())
}

/// What to push, read from the source.
struct Image {
    top: RawManifest,
    children: Vec<RawManifest>,
    blobs: Vec<(String, u64, BlobSource)>,
    from_repo: Option<String>,
    _layout: Option<LayoutImage>,
}

/// What a manifest refers to: child manifests (an index) or config and layers.
#[derive(Deserialize)]
pub(crate) struct Refs {
    #[serde(default)]
    pub(crate) manifests: Vec<Ref>,
    #[serde(default)]
    pub(crate) layers: Vec<Ref>,
    #[serde(default)]
    pub(crate) config: Option<Ref>,
}

/// One descriptor of [`Refs`].
#[derive(Deserialize)]
pub(crate) struct Ref {
    pub(crate) digest: String,
    #[serde(default)]
    pub(crate) size: u64,
}

async fn load<R: Registry>(ctx: &Ctx<'_, R>, source: &Source) -> Result<Image, EngineError> {
    match source {
        Source::Layout(path) => {
            let l = layout::read(path).map_err(|e| EngineError::Input(e.to_string()))?;
            let blobs = l.blobs.iter().map(|b| (b.digest.clone(), b.size, BlobSource::File(b.path.clone()))).collect();
            Ok(Image { top: l.top.clone(), children: l.children.clone(), blobs, from_repo: None, _layout: Some(l) })
        }
        Source::Reference { repo, reference } => {
            let top = ctx.registry.get_manifest(repo, reference).await?;
            let mut children = Vec::new();
            let mut listings = vec![parse_refs(&top)?];
            if top.is_index() {
                let kids = std::mem::take(&mut listings[0].manifests);
                listings.clear();
                for k in kids {
                    let m = ctx.registry.get_manifest(repo, &k.digest).await?;
                    listings.push(parse_refs(&m)?);
                    children.push(m);
                }
            }
            let mut blobs: Vec<(String, u64, BlobSource)> = Vec::new();
            for l in listings {
                for r in l.config.into_iter().chain(l.layers) {
                    if !blobs.iter().any(|(d, ..)| *d == r.digest) {
                        blobs.push((r.digest, r.size, BlobSource::Bytes(Bytes::new())));
                    }
                }
            }
            let from_repo = (repo.as_str() != ctx.repo).then(|| repo.clone());
            Ok(Image { top, children, blobs, from_repo, _layout: None })
        }
    }
}

fn parse_refs(m: &RawManifest) -> Result<Refs, EngineError> {
    serde_json::from_slice(&m.bytes).map_err(|e| EngineError::Input(format!("read manifest {}: {e}", m.digest)))
}

/// Publishes `source` as the build of `v` with `source_id`, then copies it to every
/// mirror: the primary's row first, then one row per mirror.
pub async fn publish<R: Registry>(ctx: &Ctx<'_, R>, v: &Variant, source_id: &str, source: &Source, opts: &PublishOptions) -> Result<Vec<ActionResult>, EngineError> {
    // a retired variant is not built (SPEC §9): refused before anything is read or pushed
    if let Some(date) = v.spec.retired {
        let reason = format!("{}: a retired variant is not built (remove `retired` from the manifest to build it again)", imgctl_core::eol::retired_reason(date, ctx.now.date_naive()));
        return Ok(vec![ActionResult { reason: Some(reason), ..result(v, Some(&opts.channel), Action::Failed) }]);
    }
    let mut rows = publish_active(ctx, v, source_id, source, opts).await?;
    imgctl_core::eol::note_eol(ctx.fleet, ctx.now.date_naive(), &mut rows);
    Ok(rows)
}

async fn publish_active<R: Registry>(ctx: &Ctx<'_, R>, v: &Variant, source_id: &str, source: &Source, opts: &PublishOptions) -> Result<Vec<ActionResult>, EngineError> {
    let history = ctx.snapshot().await?.variant(&v.name);
    let image = load(ctx, source).await?;
    // the platform guard: checked before any blob or manifest is pushed
    let from = match source {
        Source::Reference { repo, .. } => Some(repo.as_str()),
        Source::Layout(_) => None,
    };
    let found = crate::platform::found(ctx, &image.top, &image.blobs, from).await?;
    if let Some(reason) = crate::platform::mismatch(v, &found) {
        return Ok(vec![ActionResult { to: Some(image.top.digest.clone()), reason: Some(reason), ..result(v, Some(&opts.channel), Action::Failed) }]);
    }
    let (r, next, kept) = primary(ctx, v, source_id, &image, &history, opts).await?;
    let mut rows = vec![r];
    // an earlier build of the same source id was kept: the mirrors get that one
    let top = kept.as_ref().unwrap_or(&image.top);
    if let Some(next) = next {
        let local: LocalBlobs = image.blobs.iter().filter_map(|(d, _, s)| match s {
            BlobSource::File(p) => Some((d.clone(), p.clone())),
            BlobSource::Bytes(_) => None,
        }).collect();
        let channel = history.channel(&opts.channel);
        let f = match &next {
            Next::Moved(time) => Follow::moved(&Move { variant: v, channel: &opts.channel, manifest: top, time: *time, rolled_back_from: None, note: None }, rows[0].from.clone()),
            Next::At(d) => Follow { manifest: (*d == top.digest).then_some(top), ..Follow::at(v, &opts.channel, d.clone(), &channel) },
        };
        rows.extend(crate::mirror::publish(ctx, top, &Fleet::immutable_tag(v, source_id), &f, &local).await);
    }
    Ok(rows)
}

/// Where the primary's channel is after its step, for the mirrors.
enum Next {
    /// Moved (or its move recorded) at this time, to the build.
    Moved(chrono::DateTime<chrono::Utc>),
    /// Stays at this digest.
    At(String),
}

/// The primary's part of `publish`: its row, where its channel is now, and the earlier
/// build of the same source id when that one was kept instead of `image`.
async fn primary<R: Registry>(
    ctx: &Ctx<'_, R>,
    v: &Variant,
    source_id: &str,
    image: &Image,
    history: &VariantHistory,
    opts: &PublishOptions,
) -> Result<(ActionResult, Option<Next>, Option<RawManifest>), EngineError> {
    let immutable = Fleet::immutable_tag(v, source_id);
    // 1. the immutable tag: same digest → nothing to upload; another digest (a rebuild of
    //    a source already built, e.g. after a hotfix branch is merged back) → keep the
    //    existing build and move the channel to it; --force overwrites
    let existing = match history.immutable.get(source_id) {
        Some(tag) => moves::current(ctx.registry, ctx.repo, tag).await?,
        None => None,
    };
    let mut uploaded = 0u64;
    let mut kept = None;
    match existing.as_deref() {
        Some(d) if d == image.top.digest => {}
        Some(_) if !opts.force => kept = Some(ctx.registry.get_manifest(ctx.repo, &immutable).await?),
        _ if ctx.dry_run => {}
        _ => {
            uploaded = push_content(ctx, image).await?;
            ctx.registry.put_manifest(ctx.repo, &immutable, &image.top).await?;
        }
    }
    // the SBOM of what was pushed, before the channel moves (so the move's record and
    // changes see it); a kept earlier build got its own when it was published
    if let Some(s) = opts.sbom.as_ref().filter(|_| !ctx.dry_run && kept.is_none()) {
        let layers = crate::sbom::Layers { blobs: &image.blobs, repo: image.from_repo.as_deref().unwrap_or(ctx.repo) };
        crate::sbom::at_publish(ctx, &image.top, &image.children, layers, s).await;
    }
    let top = kept.as_ref().unwrap_or(&image.top);
    let (r, next) = channel_step(ctx, v, source_id, top, history, opts, uploaded).await?;
    let r = match &kept {
        Some(k) => ActionResult {
            reason: Some(format!(
                "{}; {immutable} was already built as {} (this build {} was not pushed: the existing build of the same source is kept)",
                r.reason.clone().unwrap_or_default(),
                k.digest,
                image.top.digest
            )),
            ..r
        },
        None => r,
    };
    Ok((r, next, kept))
}

/// Moves the channel to `top`, the build of `source_id` (SPEC §4 `publish`).
async fn channel_step<R: Registry>(
    ctx: &Ctx<'_, R>,
    v: &Variant,
    source_id: &str,
    top: &RawManifest,
    history: &VariantHistory,
    opts: &PublishOptions,
    uploaded: u64,
) -> Result<(ActionResult, Option<Next>), EngineError> {
    let digest = top.digest.clone();
    let immutable = Fleet::immutable_tag(v, source_id);
    let base = |action| ActionResult { to: Some(digest.clone()), ..result(v, Some(&opts.channel), action) };
    // 2. the channel
    let channel_tag = ctx.fleet.channel_tag(v, &opts.channel).unwrap_or_default();
    let current = moves::current(ctx.registry, ctx.repo, &channel_tag).await?;
    let channel = history.channel(&opts.channel);
    let r = |action, reason: String| ActionResult { from: current.clone(), reason: Some(reason), uploaded_bytes: Some(uploaded), ..base(action) };
    let stays = current.clone().map(Next::At);
    if current.as_deref() == Some(digest.as_str()) {
        let recorded = channel.explains(digest12(&digest));
        let mut next = stays;
        if !recorded && !ctx.dry_run {
            let time = channel.next_time(ctx.move_time());
            let note = ctx.note(None, "publish", format!("published {immutable} (recorded by a later run)"), Some(source_id));
            let m = Move { variant: v, channel: &opts.channel, manifest: top, time, rolled_back_from: None, note };
            moves::repair(ctx.registry, ctx.repo, ctx.fleet, &m).await?;
            next = Some(Next::Moved(time));
        } else if crate::records::finish(ctx, v, &opts.channel, top, &channel, "publish", Some(source_id)).await? {
            return Ok((r(Action::Unchanged, format!("{immutable} is already on {}; attached the missing record", opts.channel)), next));
        }
        return Ok((r(Action::Unchanged, format!("{immutable} is already on {}", opts.channel)), next));
    }
    if channel.is_rejected(digest12(&digest)) && !opts.force {
        return Ok((r(Action::Skipped, format!("{digest} was rolled back from {}; use --force", opts.channel)), stays));
    }
    if !as_expected(&channel, current.as_deref()) {
        return Ok((r(Action::Conflict, "the channel moved since its history was read (a concurrent or manual change); not overwritten".into()), None));
    }
    if ctx.dry_run {
        let next = Some(Next::Moved(channel.next_time(ctx.move_time())));
        return Ok((r(Action::Moved, format!("dry run: would push {immutable} and move {}", opts.channel)), next));
    }
    let time = channel.next_time(ctx.move_time());
    let note = ctx.note(current.as_deref(), "publish", format!("published {immutable}"), Some(source_id));
    let m = Move { variant: v, channel: &opts.channel, manifest: top, time, rolled_back_from: None, note };
    Ok(match moves::apply(ctx.registry, ctx.repo, ctx.fleet, &m).await? {
        MoveOutcome::Moved => (r(Action::Moved, format!("published {immutable}")), Some(Next::Moved(time))),
        MoveOutcome::Conflict(now) => {
            (r(Action::Conflict, format!("the channel was changed concurrently (now {}); left as the other writer set it", now.as_deref().unwrap_or("absent"))), None)
        }
    })
}

/// Pushes missing blobs (HEAD first, mount or upload) and child manifests; returns the
/// bytes uploaded.
async fn push_content<R: Registry>(ctx: &Ctx<'_, R>, image: &Image) -> Result<u64, EngineError> {
    let mut uploaded = 0;
    for (digest, size, source) in &image.blobs {
        if ctx.registry.blob_exists(ctx.repo, digest).await? {
            continue;
        }
        match &image.from_repo {
            Some(from) => {
                ctx.registry.mount_blob(ctx.repo, digest, from, source).await?;
            }
            None => {
                ctx.registry.push_blob(ctx.repo, digest, source).await?;
                uploaded += size;
            }
        }
    }
    for child in &image.children {
        ctx.registry.put_manifest(ctx.repo, &child.digest, child).await?;
    }
    Ok(uploaded)
}
