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

/// [`gc`] that also keeps whatever consumers use (`pins`: from `usages` scans or reports).
pub async fn gc_with<R: Registry>(ctx: &Ctx<'_, R>, args: GcArgs, pins: &gc::Pins) -> Result<GcReport, EngineError> {
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
    Ok(report)
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
    let result = ActionResult { variant, channel: None, from: Some(d.digest.clone()), to: None, action, reason: Some(reason), uploaded_bytes: None, mirror: None, blocked_by: None };
    GcLine { result, digest: d.digest.clone(), tags: d.tags.clone(), why: d.why.clone() }
}

fn dry(plan: &GcPlan) -> Vec<GcLine> {
    plan.delete.iter().map(|d| line(d, Action::Deleted, format!("dry run: would delete: {}", d.reasons.join("; ")))).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use imgctl_core::fleet::Fleet;
    use imgctl_core::load::{parse_manifest, parse_os_definitions};
    use imgctl_registry::fake::FakeRegistry;
    use imgctl_registry::{BlobSource, MountOutcome, RawManifest};

    use super::*;
    use crate::NoProgress;

    const BASE: &str = "ubuntu-22.04-base-amd64";
    const REPO: &str = "acme/images";

    fn fleet() -> Fleet {
        let m = parse_manifest("images.yaml", "version: 1\nregistry: r.invalid\nrepository: acme/images\nosDefinitions: os.json\ntagSchema:\n  arch: { AMD64: amd64 }\n  defaultArch: AMD64\nchannels:\n  staging: { suffix: -staging }\nvariants:\n  - os: U\n    qualifiers: [base]\n    context: src\n");
        let o = parse_os_definitions("os.json", r#"{ "definitions": [ { "id": "U", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu", "version": "22.04", "arch": "AMD64" } ] }"#);
        Fleet::new(m.value.expect("manifest"), "images.yaml", m.spans, o.value.expect("os"), o.spans).0
    }

    fn bytes(n: u8) -> Vec<u8> {
        format!(r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{}},"layers":[],"n":{n}}}"#).into_bytes()
    }

    /// The fake registry, with a tag written by "someone else" right after the first listing.
    struct Racing {
        inner: FakeRegistry,
        lists: AtomicUsize,
        race: Option<(String, Vec<u8>)>,
    }

    impl Registry for Racing {
        async fn resolve(&self, repo: &str, reference: &str) -> imgctl_registry::Result<Descriptor> {
            self.inner.resolve(repo, reference).await
        }
        async fn get_manifest(&self, repo: &str, reference: &str) -> imgctl_registry::Result<RawManifest> {
            self.inner.get_manifest(repo, reference).await
        }
        async fn put_manifest(&self, repo: &str, tag: &str, m: &RawManifest) -> imgctl_registry::Result<Descriptor> {
            self.inner.put_manifest(repo, tag, m).await
        }
        async fn list_tags(&self, repo: &str) -> imgctl_registry::Result<Vec<String>> {
            if self.lists.fetch_add(1, Ordering::SeqCst) == 1
                && let Some((tag, b)) = &self.race
            {
                self.inner.insert(repo, tag, b.clone());
            }
            self.inner.list_tags(repo).await
        }
        async fn blob_exists(&self, repo: &str, digest: &str) -> imgctl_registry::Result<bool> {
            self.inner.blob_exists(repo, digest).await
        }
        async fn push_blob(&self, repo: &str, digest: &str, source: &BlobSource) -> imgctl_registry::Result<()> {
            self.inner.push_blob(repo, digest, source).await
        }
        async fn mount_blob(&self, repo: &str, digest: &str, from: &str, source: &BlobSource) -> imgctl_registry::Result<MountOutcome> {
            self.inner.mount_blob(repo, digest, from, source).await
        }
        async fn delete_manifest(&self, repo: &str, digest: &str) -> imgctl_registry::Result<()> {
            self.inner.delete_manifest(repo, digest).await
        }
    }

    /// Builds 1..=4 published on staging a day apart; build 1 is the only one gc may delete.
    fn registry(race: Option<&str>) -> (Racing, Vec<String>) {
        let inner = FakeRegistry::new();
        let mut digests = Vec::new();
        for n in 1..=4u8 {
            let d = inner.insert(REPO, &format!("{BASE}-{n:012x}"), bytes(n));
            inner.insert(REPO, &format!("{BASE}-staging-2026010{n}000000-{}", digest12(&d)), bytes(n));
            digests.push(d);
        }
        inner.insert(REPO, &format!("{BASE}-staging"), bytes(4));
        (Racing { inner, lists: AtomicUsize::new(0), race: race.map(|t| (t.to_string(), bytes(1))) }, digests)
    }

    async fn run(r: &Racing, dry_run: bool) -> GcReport {
        let f = fleet();
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let ctx = Ctx { registry: r, repo: REPO, fleet: &f, now, started: None, concurrency: 4, dry_run, progress: &NoProgress, mirrors: &[], gate: None, records: None };
        gc(&ctx, GcArgs { keep: 1, older_than: imgctl_core::duration::Duration(0), max_deletes: None }).await.expect("gc")
    }

    fn action(rep: &GcReport, d: &str) -> Action {
        rep.results.iter().find(|l| l.digest == d).map(|l| l.result.action).expect("a line per digest")
    }

    #[tokio::test]
    async fn dry_run_deletes_nothing_apply_deletes_once_and_again_nothing() {
        let (r, d) = registry(None);
        let plan = run(&r, true).await;
        assert_eq!(action(&plan, &d[0]), Action::Deleted);
        assert!((1..4).all(|i| action(&plan, &d[i]) == Action::Kept));
        assert_eq!(plan.requests.delete, 0);
        assert!(r.inner.tag(REPO, &format!("{BASE}-{:012x}", 1)).is_some());
        let applied = run(&r, false).await;
        assert_eq!(action(&applied, &d[0]), Action::Deleted);
        assert_eq!((applied.requests.list, applied.requests.delete), (2, 1));
        assert!(r.inner.tag(REPO, &format!("{BASE}-{:012x}", 1)).is_none(), "every tag of the digest is gone");
        let again = run(&r, false).await;
        assert!(again.results.iter().all(|l| l.result.action == Action::Kept));
        assert_eq!(again.requests.delete, 0);
    }

    #[tokio::test]
    async fn a_tag_written_between_plan_and_delete_saves_its_digest() {
        let (r, d) = registry(Some("someone-pinned-this"));
        let rep = run(&r, false).await;
        assert_eq!(action(&rep, &d[0]), Action::Kept, "{rep:#?}");
        assert_eq!(rep.requests.delete, 0);
        assert!(!r.inner.calls().iter().any(|c| c.starts_with("delete_manifest")));
        assert_eq!(r.inner.tag(REPO, "someone-pinned-this").as_deref(), Some(d[0].as_str()));
    }
}
