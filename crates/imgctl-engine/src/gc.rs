//! `gc` (SPEC §4, §5): one tag listing, one HEAD per tag whose digest the name does not
//! tell (release tags name their digest; one HEAD per such digest gives its full form),
//! one GET per index, the pure plan of `imgctl_core::gc`, then — with `--apply` — a
//! second listing to re-check, and the deletes (`gc_delete`). A kind with an inventory
//! (GHCR) replaces the listing and the HEAD per tag with its own listing and one HEAD per digest.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt;
use imgctl_core::gc::{self, DigestPlan, GcOptions, GcPlan, Inventory};
use imgctl_core::history::digest12;
use imgctl_core::rollout::{Action, ActionResult};
use imgctl_core::tags::{TagIndex, TagKind};
use imgctl_registry::{Descriptor, Registry, RegistryError};
use serde::Serialize;

use crate::{Ctx, EngineError};

/// Registry requests a gc made, by kind.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Requests {
    /// Tag listings.
    pub list: u64,
    /// HEADs (resolving tags).
    pub head: u64,
    /// GETs (indexes, for their children).
    pub get: u64,
    /// DELETEs.
    pub delete: u64,
}

/// One line of the gc report: the SPEC §4.1 result plus the digest and its tags.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcLine {
    /// variant, action (`deleted`/`kept`/`failed`), reason; `from` is the digest.
    #[serde(flatten)]
    pub result: ActionResult,
    /// The digest.
    pub digest: String,
    /// Every tag pointing at it.
    pub tags: Vec<String>,
    /// Why it stays or goes, structured (the reason says the same in words).
    #[serde(skip)]
    pub why: Vec<imgctl_core::gc::Why>,
}

/// What a gc did (or would do).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcReport {
    /// Deleted (or to delete) first, then kept.
    pub results: Vec<GcLine>,
    /// Variants of the schema no longer in the manifest that still have tags.
    pub orphan_variants: Vec<String>,
    /// Requests made.
    pub requests: Requests,
    /// Deletions left for a later run because `--max-deletes` was reached (they are listed
    /// as `kept` with that reason).
    pub remaining_deletes: usize,
    /// Set when the registry refused deletes (HTTP 405): the error to report.
    #[serde(skip)]
    pub delete_disabled: Option<String>,
    /// Set when a delete was refused for want of access (401/403, e.g. a GitHub token
    /// without delete rights): nothing more was attempted; the error to report (exit 3).
    #[serde(skip)]
    pub delete_refused: Option<RegistryError>,
}

#[derive(Default)]
pub(crate) struct Counter {
    head: AtomicU64,
    get: AtomicU64,
    pub(crate) delete: AtomicU64,
}

/// The knobs of one gc run.
#[derive(Debug, Clone, Copy)]
pub struct GcArgs {
    /// Immutable tags kept per variant.
    pub keep: usize,
    /// Release tags younger than this protect their digest.
    pub older_than: imgctl_core::duration::Duration,
    /// At most this many deletions in this run (the rest is left for later runs).
    pub max_deletes: Option<usize>,
}

/// Plans (and with `ctx.dry_run == false` applies) a gc of the repository.
pub async fn gc<R: Registry>(ctx: &Ctx<'_, R>, args: GcArgs) -> Result<GcReport, EngineError> {
    gc_with(ctx, args, &gc::Pins::default()).await
}

/// [`gc`] that also keeps whatever consumers use (`pins`: from `usages` scans or reports);
/// then the verification records and every mirror (`gc_others.rs`).
pub async fn gc_with<R: Registry>(ctx: &Ctx<'_, R>, args: GcArgs, pins: &gc::Pins) -> Result<GcReport, EngineError> {
    let Collected { mut report, tags, kept, gone } = collect(ctx, args, pins).await?;
    crate::gc_others::verifications(ctx, &tags, &gone, &mut report).await?;
    crate::gc_others::mirrors(ctx, args, pins, &kept, &mut report).await;
    Ok(report)
}

/// What a gc of one repository did, and what the gc of the others needs to know of it.
pub(crate) struct Collected {
    /// The report.
    pub(crate) report: GcReport,
    /// Every tag with its digest, as last listed.
    pub(crate) tags: BTreeMap<String, String>,
    /// The digests it keeps.
    pub(crate) kept: BTreeSet<String>,
    /// The digests deleted (in a dry run: to delete).
    pub(crate) gone: BTreeSet<String>,
}

/// Plans (and applies) the gc of `ctx.repo` on `ctx.registry`.
pub(crate) async fn collect<R: Registry>(ctx: &Ctx<'_, R>, args: GcArgs, pins: &gc::Pins) -> Result<Collected, EngineError> {
    let n = Counter::default();
    let opts = GcOptions { keep: args.keep, older_than: args.older_than, now: ctx.now };
    let index = TagIndex::new(ctx.fleet);
    let mut inv = Inventory::default();
    let mut media = BTreeMap::new();
    list(ctx, &n, &index, &mut inv, &mut media).await?;
    children(ctx, &n, &mut inv, &media).await?;
    let mut plan = gc::plan_with(&index, &inv, &opts, pins);
    let mut lists = 1;
    if !ctx.dry_run && !plan.delete.is_empty() {
        // re-check: tags written since the first listing (a publish or move racing us)
        let again = list(ctx, &n, &index, &mut inv, &mut media).await?;
        lists += 1;
        let still: BTreeSet<&String> = again.iter().collect();
        inv.tags.retain(|t, _| still.contains(t));
        children(ctx, &n, &mut inv, &media).await?;
        let replanned = gc::plan_with(&index, &inv, &opts, pins);
        let before: BTreeSet<String> = plan.delete.iter().map(|d| d.digest.clone()).collect();
        let (delete, late): (Vec<DigestPlan>, Vec<DigestPlan>) = replanned.delete.into_iter().partition(|d| before.contains(&d.digest));
        let mut keep = replanned.keep;
        keep.extend(late.into_iter().map(|d| DigestPlan { reasons: vec!["unprotected only since the re-check listing; left for the next run".into()], ..d }));
        plan = GcPlan { delete, keep, orphan_variants: replanned.orphan_variants };
    }
    let remaining_deletes = args.max_deletes.map_or(0, |max| plan.limit(max));
    let mut report = GcReport { results: Vec::new(), orphan_variants: plan.orphan_variants.clone(), requests: Requests::default(), remaining_deletes, delete_disabled: None, delete_refused: None };
    report.results = if ctx.dry_run { dry(&plan) } else { crate::gc_delete::apply(ctx, &n, &plan, &mut report).await? };
    report.results.extend(plan.keep.iter().map(|d| line(d, Action::Kept, d.reasons.join("; "))));
    report.requests = Requests { list: lists, head: n.head.into_inner(), get: n.get.into_inner(), delete: n.delete.into_inner() };
    let kept = plan.keep.iter().map(|d| d.digest.clone()).collect();
    let gone = report.results.iter().filter(|l| l.result.action == Action::Deleted).map(|l| l.digest.clone()).collect();
    Ok(Collected { report, tags: inv.tags, kept, gone })
}

/// Lists the repository and fills `inv`/`media` for tags not in `inv` yet: from the kind's
/// inventory when it has one (GHCR's package versions name every digest's tags: one HEAD per
/// new digest, for its media type), else from the tag listing and [`resolve`]. Returns every
/// tag listed.
async fn list<R: Registry>(ctx: &Ctx<'_, R>, n: &Counter, index: &TagIndex<'_>, inv: &mut Inventory, media: &mut BTreeMap<String, String>) -> Result<Vec<String>, EngineError> {
    let Some(found) = ctx.registry.inventory(ctx.repo).await? else {
        let listed = ctx.list_tags().await?;
        let new: Vec<String> = listed.iter().filter(|t| !inv.tags.contains_key(*t)).cloned().collect();
        resolve(ctx, n, index, &new, inv, media).await?;
        return Ok(listed);
    };
    let mut listed = Vec::new();
    let mut unknown = BTreeSet::new();
    for (digest, tags) in found {
        for t in tags {
            if !inv.tags.contains_key(&t) && !media.contains_key(&digest) {
                unknown.insert(digest.clone());
            }
            inv.tags.entry(t.clone()).or_insert_with(|| digest.clone());
            listed.push(t);
        }
    }
    for (d, desc) in head(ctx, n, unknown.into_iter().collect()).await? {
        media.insert(d, desc.media_type);
    }
    // a digest gone since the listing has nothing to protect or delete
    inv.tags.retain(|_, d| media.contains_key(d));
    listed.sort();
    Ok(listed)
}

async fn head<R: Registry>(ctx: &Ctx<'_, R>, n: &Counter, tags: Vec<String>) -> Result<Vec<(String, Descriptor)>, EngineError> {
    let found: Vec<Result<Option<(String, Descriptor)>, RegistryError>> = futures_util::stream::iter(tags)
        .map(|t| async move {
            n.head.fetch_add(1, Ordering::Relaxed);
            match ctx.registry.resolve(ctx.repo, &t).await {
                Ok(d) => Ok(Some((t, d))),
                // deleted since the listing: nothing to protect or delete
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        })
        .buffer_unordered(ctx.concurrency.max(1))
        .collect()
        .await;
    let mut out = Vec::new();
    for f in found {
        out.extend(f?);
    }
    Ok(out)
}

/// Fills `inv.tags` for `tags`: HEAD every tag but release tags; a release tag gets the
/// full digest of a HEADed tag sharing its 12-hex prefix, else one HEAD per prefix.
async fn resolve<R: Registry>(
    ctx: &Ctx<'_, R>,
    n: &Counter,
    index: &TagIndex<'_>,
    tags: &[String],
    inv: &mut Inventory,
    media: &mut BTreeMap<String, String>,
) -> Result<(), EngineError> {
    let mut releases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut others = Vec::new();
    for t in tags {
        match index.parse(t) {
            Ok(p) if p.kind == TagKind::Release => releases.entry(p.digest_prefix.clone().unwrap_or_default()).or_default().push(t.clone()),
            _ => others.push(t.clone()),
        }
    }
    let mut record = |inv: &mut Inventory, found: Vec<(String, Descriptor)>| {
        for (t, d) in found {
            media.insert(d.digest.clone(), d.media_type);
            inv.tags.insert(t, d.digest);
        }
    };
    let found = head(ctx, n, others).await?;
    record(inv, found);
    let mut by12: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in inv.tags.values() {
        by12.entry(digest12(d).to_string()).or_default().insert(d.clone());
    }
    let mut ask = Vec::new();
    for (d12, group) in releases {
        match by12.get(&d12).filter(|s| s.len() == 1).and_then(|s| s.first()) {
            Some(full) => inv.tags.extend(group.into_iter().map(|t| (t, full.clone()))),
            None => ask.push(group),
        }
    }
    let first: Vec<String> = ask.iter().map(|g| g[0].clone()).collect();
    let found = head(ctx, n, first).await?;
    let full: BTreeMap<String, String> = found.iter().map(|(t, d)| (t.clone(), d.digest.clone())).collect();
    record(inv, found);
    for group in ask {
        if let Some(d) = full.get(&group[0]) {
            inv.tags.extend(group.into_iter().skip(1).map(|t| (t, d.clone())));
        }
    }
    Ok(())
}

/// An index digest and its children's (digest, media type).
type IndexRead = (String, Vec<(String, String)>);

/// GETs every index not read yet (and nested indexes) for its children.
async fn children<R: Registry>(ctx: &Ctx<'_, R>, n: &Counter, inv: &mut Inventory, media: &BTreeMap<String, String>) -> Result<(), EngineError> {
    let is_index = imgctl_registry::is_index_media_type;
    let mut todo: Vec<String> = media.iter().filter(|(d, m)| is_index(m) && !inv.children.contains_key(*d)).map(|(d, _)| d.clone()).collect();
    while !todo.is_empty() {
        let got: Vec<Result<Option<IndexRead>, EngineError>> = futures_util::stream::iter(std::mem::take(&mut todo))
            .map(|d| async move {
                n.get.fetch_add(1, Ordering::Relaxed);
                let raw = match ctx.registry.get_manifest(ctx.repo, &d).await {
                    Ok(r) => r,
                    Err(e) if e.is_not_found() => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                let kids = raw.index().map_err(EngineError::Input)?.map(|i| i.manifests).unwrap_or_default();
                Ok(Some((d, kids.into_iter().map(|m| (m.digest, m.media_type)).collect())))
            })
            .buffer_unordered(ctx.concurrency.max(1))
            .collect()
            .await;
        for g in got {
            let Some((d, kids)) = g? else { continue };
            for (kid, m) in &kids {
                if is_index(m) && !inv.children.contains_key(kid) {
                    todo.push(kid.clone());
                }
            }
            inv.children.insert(d, kids.into_iter().map(|(k, _)| k).collect());
        }
    }
    Ok(())
}

pub(crate) fn line(d: &DigestPlan, action: Action, reason: String) -> GcLine {
    let variant = d.variants.first().cloned().unwrap_or_else(|| "-".into());
    let result = ActionResult { variant, channel: None, from: Some(d.digest.clone()), to: None, action, reason: Some(reason), uploaded_bytes: None, mirror: None, blocked_by: None, note: None };
    GcLine { result, digest: d.digest.clone(), tags: d.tags.clone(), why: d.why.clone() }
}

fn dry(plan: &GcPlan) -> Vec<GcLine> {
    plan.delete.iter().map(|d| line(d, Action::Deleted, format!("dry run: would delete: {}", d.reasons.join("; ")))).collect()
}

#[cfg(test)]
#[path = "gc_tests.rs"]
mod tests;
