//! What imgctl says is true: `history` gives whole digests another tool resolves, `status`
//! never claims "up to date" when it did not look, and no table cell says a digest twice.

use std::process::Command;

use imgctl_testkit::require_tool;
use regex::Regex;

use crate::fleet::{Fleet, REPO, SINGLE, VARIANTS, git};

const T0: &str = "2026-11-02T09:00:00Z";

fn t(hours: u32) -> String {
    (chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::TimeDelta::hours(i64::from(hours))).to_rfc3339()
}

/// Whether skopeo resolves `repo@digest` and finds exactly that digest.
fn skopeo_resolves(f: &Fleet, digest: &str) -> bool {
    let skopeo = require_tool("skopeo", "skopeo");
    let out = Command::new(skopeo)
        .args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}", &format!("docker://{}/{REPO}@{digest}", f.reg.host())])
        .output()
        .expect("run skopeo");
    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == digest
}

/// Two builds of every variant promoted, then `latest` of SINGLE rolled back. Returns the
/// builds of SINGLE.
fn cycle(f: &mut Fleet) -> Vec<String> {
    let mut single = Vec::new();
    for n in 0..2u32 {
        if n > 0 {
            f.change_sources();
        }
        for (i, v) in VARIANTS.iter().enumerate() {
            let (dir, d) = f.build(v, u64::from(n) * 10 + i as u64 + 1);
            f.at(&t(n * 10), &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
            if i == 0 {
                single.push(d);
            }
        }
        f.at(&t(n * 10 + 1), &["promote"]).code(0);
    }
    f.at(&t(30), &["rollback", SINGLE]).code(0);
    single
}

/// Every cell of a psql-style table line that names the same digest (12-hex prefix) twice.
fn doubled_digests(table: &str) -> Vec<String> {
    let digest = Regex::new(r"sha256:([0-9a-f]{12})").unwrap();
    let mut out = Vec::new();
    for line in table.lines() {
        for cell in line.split('|') {
            let found: Vec<&str> = digest.captures_iter(cell).map(|c| c.get(1).unwrap().as_str()).collect();
            if found.iter().enumerate().any(|(i, d)| found[..i].contains(d)) {
                out.push(cell.trim().to_string());
            }
        }
    }
    out
}

#[test]
fn history_gives_whole_digests_that_skopeo_resolves_and_rollback_to_takes_both_forms() {
    let mut f = Fleet::new("0s");
    let single = cycle(&mut f);
    for channel in ["latest", "staging"] {
        let doc = f.at(&t(31), &["history", SINGLE, "--channel", channel, "--output", "json"]).code(0).json();
        let entries = doc["entries"].as_array().unwrap();
        assert!(entries.len() >= 2, "{doc:#}");
        for e in entries {
            let d = e["digest"].as_str().unwrap();
            assert_eq!(d.len(), 71, "a whole digest: {e:#}");
            assert!(skopeo_resolves(&f, d), "skopeo resolves {d}");
            assert!(e["tag"].as_str().unwrap().contains(&d[7..19]), "the release tag names its digest: {e:#}");
        }
        if channel == "latest" {
            // newest first: the rollback to build 0, from build 1 (whole, rejected)
            assert_eq!(entries[0]["kind"], "rollback", "{doc:#}");
            assert_eq!(entries[0]["digest"], single[0].as_str());
            assert_eq!(entries[0]["rolledBackFrom"], single[1].as_str());
            assert_eq!(entries[1]["digest"], single[1].as_str());
            assert_eq!(entries[1]["rejected"], true);
        }
    }
    let human = f.at(&t(31), &["history", SINGLE]).code(0).stdout.clone();
    assert!(human.contains(&single[0]) && human.contains(&single[1]), "the DIGEST column is whole:\n{human}");
    assert!(doubled_digests(&human).is_empty(), "{human}");

    // --to: the whole digest, and the 12-digit prefix the release tags carry
    let whole = f.at(&t(32), &["rollback", SINGLE, "--to", &single[1], "--output", "json"]).code(0).json();
    assert_eq!(whole["results"][0]["action"], "moved", "{whole:#}");
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_deref(), Some(single[1].as_str()));
    let prefix = &single[0][..19];
    let short = f.at(&t(33), &["rollback", SINGLE, "--to", prefix, "--output", "json"]).code(0).json();
    assert_eq!(short["results"][0]["action"], "moved", "{short:#}");
    assert_eq!(short["results"][0]["to"], single[0].as_str());
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_deref(), Some(single[0].as_str()));
    // a prefix no move of the variant has is a clear error, nothing moves
    let r = f.at(&t(34), &["rollback", SINGLE, "--to", "sha256:0123456789ab"]);
    r.code(1);
    assert!(r.stderr.contains("sha256:0123456789ab") && r.stderr.contains("whole digest"), "{}", r.stderr);
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_deref(), Some(single[0].as_str()));
}

#[test]
fn status_says_unknown_when_it_did_not_look_and_up_to_date_only_when_it_did() {
    let mut f = Fleet::new("0s");
    cycle(&mut f);
    // computed: the rolled-back variant is pending (rejected), the others are up to date
    let doc = f.at(&t(31), &["status", "--output", "json"]).code(0).json();
    for v in doc["variants"].as_array().unwrap() {
        if v["variant"] == SINGLE {
            assert_eq!(v["pending"]["blockedBy"], "rejected", "{v:#}");
            assert!(v["pending"].get("unknown").is_none(), "{v:#}");
        } else {
            assert!(v.get("pending").is_none(), "computed and nothing pending: {v:#}");
        }
    }
    let human = f.at(&t(31), &["status"]);
    human.code(0);
    assert!(human.stdout.contains("up to date"), "{}", human.stdout);

    // no production branch (nor origin/production): not computed, and said so
    git(f.sb.path(), &["branch", "-D", "production"]);
    let doc = f.at(&t(31), &["status", "--output", "json"]).code(0).json();
    for v in doc["variants"].as_array().unwrap() {
        let why = v["pending"]["unknown"].as_str().unwrap_or_else(|| panic!("pending.unknown: {v:#}"));
        assert!(why.contains("production"), "{why}");
        assert!(v["pending"].get("digest").is_none() && v["pending"].get("blockedBy").is_none(), "{v:#}");
    }
    let human = f.at(&t(31), &["status"]);
    human.code(0);
    assert!(!human.stdout.contains("up to date"), "{}", human.stdout);
    assert_eq!(human.stdout.matches("unknown (").count(), VARIANTS.len(), "{}", human.stdout);
    assert!(human.stderr.contains("not computed"), "{}", human.stderr);

    // a variant that is not in the manifest at the promotion revision: unknown, and why
    let manifest = std::fs::read_to_string(f.sb.path().join("manifests/images.yaml")).unwrap();
    git(f.sb.path(), &["branch", "production", "HEAD"]);
    let extra = "  - os: Linux-Ubuntu-22.04-AMD64\n    qualifiers: [extra]\n    context: ../src/helix\n";
    f.sb.write("manifests/images.yaml", &format!("{manifest}{extra}"));
    git(f.sb.path(), &["commit", "-qam", "a new variant, not on production yet"]);
    let doc = f.at(&t(31), &["status", "ubuntu-22.04-extra-amd64", "--output", "json"]).code(0).json();
    assert!(doc["variants"][0]["pending"]["unknown"].as_str().unwrap().contains("not in the manifest at production"), "{doc:#}");
}

#[test]
fn no_table_cell_says_a_digest_twice() {
    let mut f = Fleet::new("0s");
    cycle(&mut f);
    let status = f.at(&t(31), &["status"]).code(0).stdout.clone();
    assert!(status.contains("rejected"), "{status}");
    assert!(doubled_digests(&status).is_empty(), "{status}");
    let promote = f.at(&t(31), &["promote"]).code(0).stdout.clone();
    assert!(promote.contains("rejected"), "{promote}");
    assert!(doubled_digests(&promote).is_empty(), "{promote}");
    let rollback = f.at(&t(32), &["rollback", VARIANTS[1], "--dry-run"]).code(0).stdout.clone();
    assert!(doubled_digests(&rollback).is_empty(), "{rollback}");
    let gc = f.at(&t(300), &["gc", "--keep", "0", "--older-than", "1h"]).code(0).stdout.clone();
    assert!(gc.contains("delete"), "{gc}");
    assert!(doubled_digests(&gc).is_empty(), "{gc}");
}
