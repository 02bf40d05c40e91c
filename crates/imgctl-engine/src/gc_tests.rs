//! Tests of the engine's gc over the fake registry: a dry run deletes nothing, `--apply`
//! deletes once and a second run nothing, and a tag written between plan and delete saves
//! its digest.

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
    // listings: to plan, to re-check, and of the verification records
    assert_eq!((applied.requests.list, applied.requests.delete), (3, 1));
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
