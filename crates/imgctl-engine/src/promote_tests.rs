//! The verification gate and mirrors during `promote`, on the fake registry.

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
        ids.insert(v.name.clone(), vec![id]);
    }
    let mirror_registry = FakeRegistry::new();
    let mirrors = [Mirror::new(&mirror_registry, "m/images", "m.invalid/m/images", false)];
    let scripted = Scripted::default();
    let gate = Gate { verifier: &scripted, host: "r.invalid".into(), limit: tokio::sync::Semaphore::new(2) };
    let now = chrono::DateTime::parse_from_rfc3339("2026-02-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
    let ctx = Ctx { registry: &primary, repo: REPO, fleet: &f, now, started: None, concurrency: 2, dry_run: false, progress: &NoProgress, mirrors: &mirrors, gate: Some(&gate), records: None };
    let variants: Vec<&Variant> = f.variants.iter().collect();
    let steps = [Step { channel: "latest".into(), fleet: &f, variants, lineage: &ids }];
    let results = promote(&ctx, &steps, &PromoteOptions::default()).await.expect("promote");

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

