//! Promote's costs and robustness against the real registry: requests per variant
//! counted at a proxy (SPEC §6), an interrupted 200-variant run completed by re-running,
//! and two concurrent promotes of the same variants.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use imgctl_registry::Registry;
use imgctl_testkit::{PathKind, Proxy, TestRegistry, block_on};

use crate::fleet::{ARM, Fleet, MULTI, REPO, VARIANTS, git, result_of};

const T0: &str = "2026-11-02T09:00:00Z";
const T1: &str = "2026-11-02T10:00:00Z";
const T2: &str = "2026-11-02T11:00:00Z";

/// Publishes a build of its own (distinct digests, as in a real fleet) to every variant
/// of `f`, 4 processes at a time; returns the digests by variant.
fn publish_all(f: &Fleet, names: &[String], seed: u64, now: &str) -> BTreeMap<String, String> {
    let builds: Vec<(String, std::path::PathBuf, String)> = names
        .iter()
        .enumerate()
        .map(|(k, v)| {
            let (dir, digest) = f.build("any", seed * 10_000 + k as u64);
            (v.clone(), dir, digest)
        })
        .collect();
    std::thread::scope(|s| {
        for chunk in builds.chunks(builds.len().div_ceil(4)) {
            s.spawn(move || {
                for (v, dir, _) in chunk {
                    f.at(now, &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
                }
            });
        }
    });
    builds.into_iter().map(|(v, _, d)| (v, d)).collect()
}

fn many_names(n: usize) -> Vec<String> {
    (0..n).map(|k| format!("ubuntu-22.04-helix-v{k}-amd64")).collect()
}

#[test]
fn promote_status_and_rollback_stay_within_the_request_budget() {
    let reg = TestRegistry::start();
    let proxy = Proxy::start(&reg.host());
    let f = Fleet::with_host(reg, proxy.host(), "0s");
    for (i, v) in [ARM, MULTI].iter().enumerate() {
        let (dir, _) = f.build(v, 40 + i as u64);
        f.at(T0, &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
    }
    proxy.reset();
    let doc = f.at(T1, &["promote", "--variant", ARM, "--variant", MULTI, "--output", "json"]).code(0).json();
    assert_eq!(result_of(&doc, ARM)["action"], "moved");
    let c = proxy.counts();
    // per variant: GET build, HEAD channel, PUT channel, HEAD verify, PUT release
    assert_eq!(c.kind(PathKind::Manifest), 2 * 5, "{c:?}");
    assert_eq!(c.get("GET", PathKind::Manifest), 2);
    assert_eq!(c.get("PUT", PathKind::Manifest), 4);
    assert_eq!(c.blobs(), 0, "promotion moves no blob: {c:?}");
    assert_eq!(c.kind(PathKind::TagsList), 2, "one listing to plan, one to re-check: {c:?}");

    proxy.reset();
    f.at(T1, &["status", "--output", "json"]).code(0);
    let c = proxy.counts();
    assert!(c.kind(PathKind::Manifest) <= 3 * VARIANTS.len() as u64, "status ≤ 3 per variant: {c:?}");
    assert_eq!(c.kind(PathKind::TagsList), 1);

    // a second build to roll back from
    let mut f = f;
    f.change_sources();
    let (dir, _) = f.build(ARM, 50);
    f.at(T1, &["publish", ARM, "--image", dir.to_str().unwrap()]).code(0);
    f.at(T2, &["promote", "--variant", ARM]).code(0);
    proxy.reset();
    let start = Instant::now();
    f.at("2026-11-02T12:00:00Z", &["rollback", ARM]).code(0);
    let took = start.elapsed();
    let c = proxy.counts();
    assert_eq!(c.kind(PathKind::Manifest), 5, "HEAD current, GET target, PUT channel, HEAD verify, PUT release: {c:?}");
    assert_eq!(c.blobs(), 0);
    eprintln!("rollback took {took:?} ({} requests)", c.total());
}

fn latest_releases(reg: &TestRegistry) -> BTreeMap<String, usize> {
    let tags = block_on(reg.client().list_tags(REPO)).expect("list tags");
    let mut out = BTreeMap::new();
    for t in tags {
        if let Some((variant, _)) = t.split_once("-latest-") {
            *out.entry(variant.to_string()).or_insert(0) += 1;
        }
    }
    out
}

#[test]
fn an_interrupted_promote_of_200_variants_is_completed_by_re_running() {
    let f = Fleet::many("0s", 200);
    let names = many_names(200);
    let digest = publish_all(&f, &names, 7, T0);
    let mut child = f.sb.cmd().env("IMGCTL_NOW", T1).env("IMGCTL_INSECURE_REGISTRIES", &f.host).args(["promote", "--concurrency", "1"]).spawn().expect("start promote");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if latest_releases(&f.reg).len() >= 10 {
            break;
        }
        assert!(Instant::now() < deadline, "promote made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill promote");
    child.wait().expect("reap promote");
    let partial = latest_releases(&f.reg).len();
    assert!(partial < 200, "promote finished before it could be interrupted");

    let rerun = f.at(T2, &["promote", "--output", "json"]);
    // stderr is not a terminal: plain progress lines, at the start, every tenth (200/20) and the end
    let lines: Vec<&str> = rerun.stderr.lines().filter(|l| l.starts_with("promote: ")).collect();
    assert_eq!(lines.first().copied(), Some("promote: 200 to go"), "{}", rerun.stderr);
    assert!(lines.iter().any(|l| l.starts_with("promote: done 100/200 (0 failed")), "{}", rerun.stderr);
    assert!(lines.last().unwrap().starts_with("promote: done 200/200 (0 failed"), "{}", rerun.stderr);
    let doc = rerun.code(0).json();
    let results = doc["results"].as_array().unwrap();
    let moved = results.iter().filter(|r| r["action"] == "moved").count();
    let unchanged = results.iter().filter(|r| r["action"] == "unchanged").count();
    assert_eq!(moved + unchanged, 200, "{doc:#}");
    assert!(unchanged >= partial, "what the first run did is not redone");
    // same final state, no duplicate moves
    let releases = latest_releases(&f.reg);
    assert_eq!(releases.len(), 200);
    assert!(releases.values().all(|n| *n == 1), "one release tag per variant: {releases:?}");
    for v in names.iter().step_by(37) {
        assert_eq!(f.skopeo_digest(&format!("{v}-latest")).as_ref(), Some(&digest[v]));
    }
    // and a third run has nothing to do
    let doc = f.at(T2, &["promote", "--output", "json"]).code(0).json();
    assert!(doc["results"].as_array().unwrap().iter().all(|r| r["action"] == "unchanged"), "{doc:#}");
}

#[test]
fn two_concurrent_promotes_never_overwrite_silently() {
    let mut f = Fleet::many("0s", 50);
    let names = many_names(50);
    let rev_a = git(f.sb.path(), &["rev-parse", "HEAD"]);
    let a = publish_all(&f, &names, 1, T0);
    f.change_sources();
    let rev_b = git(f.sb.path(), &["rev-parse", "HEAD"]);
    let b = publish_all(&f, &names, 2, T0);
    let runs: Vec<serde_json::Value> = std::thread::scope(|s| {
        let h: Vec<_> = [&rev_a, &rev_b]
            .into_iter()
            .map(|rev| {
                let f = &f;
                s.spawn(move || f.at(T1, &["promote", "--ref", rev, "--output", "json"]).json())
            })
            .collect();
        h.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for v in &names {
        let end = f.skopeo_digest(&format!("{v}-latest")).expect("latest exists");
        assert!(end == a[v] || end == b[v], "{v} ended at {end}, which neither run intended");
        let results: Vec<&serde_json::Value> = runs.iter().map(|doc| result_of(doc, v)).collect();
        for (i, (r, intended)) in results.iter().zip([&a[v], &b[v]]).enumerate() {
            if r["action"] == "moved" && &end != intended {
                // overwritten: the writer that overwrote must have reported the race
                assert_eq!(results[1 - i]["action"], "conflict", "{v}: an overwrite nobody reported: {results:?}");
            }
        }
    }
    // and the history explains where every channel ended
    let doc = f.at(T2, &["status", "--output", "json"]).code(0).json();
    assert_eq!(doc["variants"].as_array().unwrap().len(), 50);
    let again = f.at(T2, &["promote", "--ref", &rev_b, "--output", "json"]).json();
    for r in again["results"].as_array().unwrap() {
        assert_ne!(r["action"], "conflict", "history does not explain the channel after the race: {r}");
    }
    let conflicts: usize = runs.iter().map(|d| d["results"].as_array().unwrap().iter().filter(|r| r["action"] == "conflict").count()).sum();
    eprintln!("concurrent promotes: {conflicts} conflicts reported");
}

#[test]
fn four_concurrent_promotes_and_a_rollback_storm_stay_consistent() {
    let mut f = Fleet::many("0s", 30);
    let names = many_names(30);
    let mut revs = Vec::new();
    let mut intended = Vec::new();
    for round in 0..4u64 {
        if round > 0 {
            f.change_sources();
        }
        revs.push(git(f.sb.path(), &["rev-parse", "HEAD"]));
        intended.push(publish_all(&f, &names, 10 + round, T0));
    }
    // a first promotion so that rollbacks have somewhere to go
    f.at(T0, &["promote", "--ref", &revs[0]]).code(0);
    let (runs, rollbacks): (Vec<serde_json::Value>, Vec<serde_json::Value>) = std::thread::scope(|s| {
        let promotes: Vec<_> = revs[1..]
            .iter()
            .map(|rev| {
                let f = &f;
                s.spawn(move || f.at(T1, &["promote", "--ref", rev, "--output", "json"]).json())
            })
            .collect();
        let storm = {
            let (f, names) = (&f, &names);
            s.spawn(move || names.iter().step_by(3).map(|v| f.at(T1, &["rollback", v, "--output", "json"])).filter(|r| r.code == 0).map(|r| r.json()).collect::<Vec<_>>())
        };
        (promotes.into_iter().map(|h| h.join().unwrap()).collect(), storm.join().unwrap())
    });
    let all: Vec<&serde_json::Value> = runs.iter().chain(rollbacks.iter()).collect();
    for v in &names {
        let end = f.skopeo_digest(&format!("{v}-latest")).expect("latest exists");
        assert!(intended.iter().any(|m| m[v] == end), "{v} ended at {end}, which no run intended");
        let lines: Vec<&serde_json::Value> = all.iter().flat_map(|d| d["results"].as_array().unwrap().iter().filter(|r| r["variant"] == v.as_str())).collect();
        for r in &lines {
            if r["action"] == "moved" && r["to"].as_str() != Some(end.as_str()) {
                let reported = lines.iter().any(|o| o["action"] == "conflict");
                assert!(reported, "{v}: overwritten without any run reporting a conflict: {lines:?}");
            }
        }
    }
    // the history explains every channel: a further promote sees no conflict
    let again = f.at(T2, &["promote", "--ref", &revs[3], "--output", "json"]).json();
    for r in again["results"].as_array().unwrap() {
        assert_ne!(r["action"], "conflict", "inconsistent history after the storm: {r}");
    }
}
