//! Tests of the build graph on an in-memory fleet.

use super::*;
use crate::testtree::{MANIFEST, files, fleet};

const BASE: usize = 0;
const MID: usize = 1;
const LEAF: usize = 2;
const OTHER: usize = 3;

#[test]
fn links_any_tag_of_the_repository_and_computes_levels() {
    let f = fleet(MANIFEST);
    let g = Graph::build(&f, &files());
    assert!(g.findings.is_empty(), "{:#?}", g.findings);
    // channel tag with the host (via a substituted ARG, on a continued line)
    assert_eq!(g.nodes[MID].parents, vec![Edge { parent: BASE, line: 3, reference: "ghcr.io/acme/images:ubuntu-22.04-base-amd64-staging".into() }]);
    // immutable tag without the host, then an alias tag from a build arg; another host's
    // image of the same path is not ours
    assert_eq!(g.parents(LEAF), vec![BASE, MID]);
    let levels: Vec<_> = g.nodes.iter().map(|n| n.level).collect();
    assert_eq!(levels, vec![Some(0), Some(1), Some(2), Some(0)]);
    assert_eq!(g.order, vec![BASE, OTHER, MID, LEAF]);
    assert_eq!(g.descendants(BASE), [MID, LEAF].into_iter().collect());
    assert!(g.descendants(OTHER).is_empty());
}

#[test]
fn base_tag_and_bare_latest_channel_link() {
    let f = fleet(MANIFEST);
    let mut t = files();
    t.set("src/other/Dockerfile", "FROM ghcr.io/acme/images:ubuntu-22.04-leaf-amd64@sha256:00\n");
    let g = Graph::build(&f, &t);
    assert!(g.findings.is_empty(), "{:#?}", g.findings);
    assert_eq!(g.nodes[OTHER].level, Some(3));
}

#[test]
fn reports_a_cycle_at_each_closing_from_line() {
    let f = fleet(MANIFEST);
    let mut t = files();
    t.set("src/base/Dockerfile", "# loops\nFROM ubuntu:22.04 AS x\n\nFROM ghcr.io/acme/images:ubuntu-22.04-leaf-amd64-staging\n");
    let g = Graph::build(&f, &t);
    let cycles: Vec<_> = g.findings.iter().filter(|x| x.code == "from-cycle").map(|x| (x.file.as_str(), x.line)).collect();
    assert!(cycles.contains(&("src/base/Dockerfile", 4)), "{:#?}", g.findings);
    assert!(cycles.contains(&("src/mid/Dockerfile", 3)), "{:#?}", g.findings);
    assert!(g.findings.iter().all(|x| x.is_error()));
    let base = g.findings.iter().find(|x| x.file == "src/base/Dockerfile").expect("base finding");
    assert!(base.message.contains("ubuntu-22.04-base-amd64 -> ubuntu-22.04-leaf-amd64 -> "), "{}", base.message);
    assert!(g.nodes[BASE].in_cycle && g.nodes[LEAF].in_cycle && !g.nodes[OTHER].in_cycle);
    assert_eq!(g.nodes[BASE].level, None);
    assert_eq!(g.order, vec![OTHER]);
}

#[test]
fn reports_a_self_reference_as_a_cycle() {
    let f = fleet(MANIFEST);
    let mut t = files();
    t.set("src/other/Dockerfile", "FROM ghcr.io/acme/images:ubuntu-22.04-other-arm64v8\n");
    let g = Graph::build(&f, &t);
    assert_eq!(g.findings.len(), 1, "{:#?}", g.findings);
    assert_eq!((g.findings[0].code, g.findings[0].line), ("from-cycle", 1));
}

#[test]
fn reports_unknown_tags_of_the_repository_with_file_and_line() {
    let f = fleet(MANIFEST);
    let mut t = files();
    t.set("src/other/Dockerfile", "ARG T=nope\nFROM alpine\nFROM   ghcr.io/acme/images:ubuntu-22.04-$T-amd64\nFROM acme/images\nFROM ghcr.io/acme/images@sha256:0123\n");
    let g = Graph::build(&f, &t);
    let got: Vec<_> = g.findings.iter().map(|x| (x.code, x.file.as_str(), x.line, x.column)).collect();
    assert_eq!(got, vec![
        ("from-unknown-tag", "src/other/Dockerfile", 3, 8),
        ("from-unknown-tag", "src/other/Dockerfile", 4, 6),
        ("from-digest", "src/other/Dockerfile", 5, 6),
    ]);
    assert!(g.findings[0].message.contains("'ubuntu-22.04-nope-amd64'") && g.findings[0].message.contains("written"), "{}", g.findings[0].message);
    assert!(g.findings[1].message.contains("'latest'"));
    assert!(!g.findings[2].is_error());
}

#[test]
fn validate_reports_from_findings() {
    let f = fleet(MANIFEST);
    let mut t = files();
    t.set("src/other/Dockerfile", "FROM ghcr.io/acme/images:gone\n");
    let opts = crate::validate::Options { today: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"), strict: false };
    let out = crate::validate::validate(&f, &t, opts);
    assert!(out.iter().any(|x| x.code == "from-unknown-tag" && x.file == "src/other/Dockerfile" && x.line == 1), "{out:#?}");
}

#[test]
fn splits_references() {
    let r = split_ref("localhost:5000/a/b:t@sha256:1");
    assert_eq!((r.host, r.path, r.tag, r.digest), (Some("localhost:5000"), "a/b", Some("t"), Some("sha256:1")));
    let r = split_ref("a/b");
    assert_eq!((r.host, r.path, r.tag), (None, "a/b", None));
    let r = split_ref("mcr.microsoft.com/x/y:1.0");
    assert_eq!((r.host, r.path, r.tag), (Some("mcr.microsoft.com"), "x/y", Some("1.0")));
}
