//! End to end against the real registry, cross-checked with skopeo: publish two builds
//! of three variants (one a multi-arch index), promote after soak, roll back, and check
//! that a rejected digest is not re-promoted while a new build is.

use crate::fleet::{ARM, Fleet, MULTI, SINGLE, VARIANTS, result_of};

const T0: &str = "2026-11-02T09:00:00Z";

fn t(hours: u32) -> String {
    (chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::TimeDelta::hours(i64::from(hours))).to_rfc3339()
}

#[test]
fn publish_promote_rollback_and_the_rejection_sticks() {
    let mut f = Fleet::new("72h");
    // build 1 of every variant → staging
    let mut first = Vec::new();
    for (i, v) in VARIANTS.iter().enumerate() {
        let (dir, digest) = f.build(v, 10 + i as u64);
        let doc = f.at(&t(0), &["publish", v, "--image", dir.to_str().unwrap(), "--output", "json"]).code(0).json();
        assert_eq!(result_of(&doc, v)["action"], "moved", "{doc:#}");
        assert_eq!(f.skopeo_digest(&format!("{v}-staging")).as_deref(), Some(digest.as_str()));
        first.push(digest);
    }
    // republishing the same build uploads nothing and moves nothing
    let (dir, _) = f.build(SINGLE, 10);
    let again = f.at(&t(1), &["publish", SINGLE, "--image", dir.to_str().unwrap(), "--output", "json"]).code(0).json();
    assert_eq!(again["results"][0]["action"], "unchanged", "{again:#}");
    assert_eq!(again["results"][0]["uploadedBytes"], 0);

    // soak: one hour in, nothing is promoted and the report says how long remains
    let early = f.at(&t(1), &["promote", "--output", "json"]).code(0).json();
    for v in VARIANTS {
        let r = result_of(&early, v);
        assert_eq!(r["action"], "skipped", "{early:#}");
        assert!(r["reason"].as_str().unwrap().contains("2d23h left"), "{early:#}");
    }
    // after the soak every latest moves, index digest preserved
    let doc = f.at(&t(73), &["promote", "--output", "json"]).code(0).json();
    for (v, d) in VARIANTS.iter().zip(&first) {
        assert_eq!(result_of(&doc, v)["action"], "moved", "{doc:#}");
        assert_eq!(f.skopeo_digest(&format!("{v}-latest")).as_deref(), Some(d.as_str()), "{v}");
    }
    // the alias moves with its channel
    assert_eq!(f.skopeo_digest("ubuntu-22.04-helix-latest").as_deref(), Some(first[0].as_str()));
    assert_eq!(f.skopeo_digest("ubuntu-22.04-helix-staging").as_deref(), Some(first[0].as_str()));

    // build 2 (new sources), soaked and promoted
    f.change_sources();
    let mut second = Vec::new();
    for (i, v) in VARIANTS.iter().enumerate() {
        let (dir, digest) = f.build(v, 20 + i as u64);
        f.at(&t(74), &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
        second.push(digest);
    }
    let doc = f.at(&t(150), &["promote", "--output", "json"]).code(0).json();
    for (v, d) in VARIANTS.iter().zip(&second) {
        assert_eq!(result_of(&doc, v)["action"], "moved", "{doc:#}");
        assert_eq!(f.skopeo_digest(&format!("{v}-latest")).as_deref(), Some(d.as_str()));
    }

    // rollback restores the previous digest
    for (v, d) in VARIANTS.iter().zip(&first) {
        let doc = f.at(&t(151), &["rollback", v, "--output", "json"]).code(0).json();
        assert_eq!(doc["results"][0]["action"], "moved", "{doc:#}");
        assert_eq!(f.skopeo_digest(&format!("{v}-latest")).as_deref(), Some(d.as_str()));
    }
    let hist = f.at(&t(151), &["history", MULTI, "--output", "json"]).code(0).json();
    let entries = hist["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{hist:#}");
    assert_eq!(entries[0]["kind"], "rollback");
    assert_eq!(entries[1]["kind"], "promote");
    assert_eq!(entries[1]["rejected"], true, "{hist:#}");
    assert_eq!(entries[1]["digest"].as_str().unwrap(), second[2], "a whole digest");

    // the next scheduled promote does not re-promote the rejected digest
    let doc = f.at(&t(200), &["promote", "--output", "json"]).code(0).json();
    for (v, d) in VARIANTS.iter().zip(&first) {
        let r = result_of(&doc, v);
        assert_eq!(r["action"], "skipped", "{doc:#}");
        assert!(r["reason"].as_str().unwrap().contains("rolled back"), "{doc:#}");
        assert_eq!(f.skopeo_digest(&format!("{v}-latest")).as_deref(), Some(d.as_str()));
    }
    let status = f.at(&t(200), &["status", "--output", "json"]).code(0).json();
    let s = &status["variants"][0];
    assert_eq!(s["variant"], SINGLE);
    assert_eq!(s["pending"]["blockedBy"], "rejected", "{status:#}");
    assert_eq!(s["channels"]["latest"]["digest"], first[0].as_str());

    // a new build (new source id) is promoted normally
    f.change_sources();
    let (dir, third) = f.build(ARM, 30);
    f.at(&t(201), &["publish", ARM, "--image", dir.to_str().unwrap()]).code(0);
    let doc = f.at(&t(300), &["promote", "--variant", ARM, "--output", "json"]).code(0).json();
    assert_eq!(result_of(&doc, ARM)["action"], "moved", "{doc:#}");
    assert_eq!(f.skopeo_digest(&format!("{ARM}-latest")).as_deref(), Some(third.as_str()));
}

#[test]
fn a_soak_of_zero_promotes_at_once_and_rollback_twice_goes_back_two_steps() {
    let mut f = Fleet::new("0s");
    let mut digests = Vec::new();
    for (n, seed) in [(0u32, 1u64), (1, 2), (2, 3)] {
        if n > 0 {
            f.change_sources();
        }
        let (dir, d) = f.build(SINGLE, seed);
        f.at(&t(n * 10), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
        let doc = f.at(&t(n * 10 + 1), &["promote", "--variant", SINGLE, "--output", "json"]).code(0).json();
        assert_eq!(result_of(&doc, SINGLE)["action"], "moved", "{doc:#}");
        digests.push(d);
    }
    f.at(&t(40), &["rollback", SINGLE]).code(0);
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_deref(), Some(digests[1].as_str()));
    f.at(&t(41), &["rollback", SINGLE]).code(0);
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_deref(), Some(digests[0].as_str()));
    // nothing older: a clear error, exit 1
    let r = f.at(&t(42), &["rollback", SINGLE]);
    r.code(1);
    assert!(r.stderr.contains("no earlier non-rejected digest"), "{}", r.stderr);
    // a forced promotion re-promotes a rejected digest and un-rejects it
    let doc = f.at(&t(43), &["promote", "--variant", SINGLE, "--force", "--output", "json"]).code(0).json();
    assert_eq!(result_of(&doc, SINGLE)["action"], "moved", "{doc:#}");
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_deref(), Some(digests[2].as_str()));
}

#[test]
fn rollback_without_history_is_a_clear_error_and_dry_run_changes_nothing() {
    let f = Fleet::new("0s");
    let r = f.at(&t(0), &["rollback", SINGLE]);
    r.code(1);
    assert!(r.stderr.contains(&format!("{SINGLE}-latest")) && r.stderr.contains("does not exist"), "{}", r.stderr);
    let (dir, _) = f.build(SINGLE, 5);
    let doc = f.at(&t(0), &["publish", SINGLE, "--image", dir.to_str().unwrap(), "--dry-run", "--output", "json"]).code(0).json();
    assert_eq!(doc["dryRun"], true);
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-staging")), None);
}
