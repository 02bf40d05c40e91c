//! Tests of source ids and plans on an in-memory fleet.

use crate::graph::Graph;
use crate::plan::{Reason, Side, matrix, plan};
use crate::sourceid::{Inputs, SourceIds, encode, source_id};
use crate::testtree::{MANIFEST, MemTree, files, fleet};

const NAMES: [&str; 4] = ["ubuntu-22.04-base-amd64", "ubuntu-22.04-mid-amd64", "ubuntu-22.04-leaf-amd64", "ubuntu-22.04-other-arm64v8"];

fn ids(manifest: &str, tree: &MemTree) -> SourceIds {
    let f = fleet(manifest);
    let g = Graph::build(&f, tree);
    SourceIds::compute(&f, &g, tree)
}

#[test]
fn encoding_is_unambiguous_and_sorted() {
    let a = [("a".to_string(), "bc".to_string())].into_iter().collect();
    let b = [("ab".to_string(), "c".to_string())].into_iter().collect();
    let base = Inputs { tree_id: "4b825dc642cb6eb9a060e54bf8d69288fbee4904", dockerfile: "Dockerfile".into(), dockerfile_sha256: None, build_args: &a, parents: vec!["bbb".into(), "aaa".into(), "bbb".into()] };
    assert_eq!(encode(&base), "imgctl-source-id/1\ntree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ndockerfile 10:Dockerfile\narg 1:a2:bc\nparent 3:aaa\nparent 3:bbb\n");
    let other = Inputs { build_args: &b, ..base.clone() };
    assert_ne!(source_id(&base), source_id(&other));
    let id = source_id(&base);
    assert!(crate::tags::is_source_id(&id), "{id}");
    // parents' order does not matter
    assert_eq!(id, source_id(&Inputs { parents: vec!["aaa".into(), "bbb".into()], ..base.clone() }));
}

#[test]
fn ids_are_stable_and_cover_every_variant() {
    let a = ids(MANIFEST, &files());
    assert_eq!(a, ids(MANIFEST, &files()));
    assert!(a.missing.is_empty(), "{:?}", a.missing);
    assert_eq!(a.ids.keys().map(String::as_str).collect::<Vec<_>>().len(), 4);
    for n in NAMES {
        assert!(crate::tags::is_source_id(&a.ids[n]));
    }
}

#[test]
fn a_parent_change_reaches_every_descendant_and_nothing_else() {
    let before = ids(MANIFEST, &files());
    let mut t = files();
    t.set("src/base/setup.sh", "echo changed\n");
    let after = ids(MANIFEST, &t);
    let changed: Vec<&str> = NAMES.into_iter().filter(|n| before.ids[*n] != after.ids[*n]).collect();
    assert_eq!(changed, NAMES[..3].to_vec());
    // only the base's own inputs changed
    let local: Vec<&str> = NAMES.into_iter().filter(|n| before.local[*n] != after.local[*n]).collect();
    assert_eq!(local, vec![NAMES[0]]);
}

#[test]
fn build_args_and_dockerfile_path_are_part_of_the_id() {
    let before = ids(MANIFEST, &files());
    let after = ids(&MANIFEST.replace("qualifiers: [other]\n", "qualifiers: [other]\n    buildArgs: { X: '1' }\n"), &files());
    assert_ne!(before.ids[NAMES[3]], after.ids[NAMES[3]]);
    let mut t = files();
    t.set("src/other/alt.Dockerfile", "FROM alpine\n");
    let a = ids(&MANIFEST.replace("context: src/other\n", "context: src/other\n    dockerfile: alt.Dockerfile\n"), &t);
    let b = ids(MANIFEST, &t);
    assert_ne!(a.ids[NAMES[3]], b.ids[NAMES[3]]);
}

#[test]
fn a_dockerfile_outside_the_context_is_hashed_by_content() {
    let m = MANIFEST.replace("context: src/other\n", "context: src/other\n    dockerfile: ../shared/Dockerfile\n");
    let mut t = files();
    t.set("src/shared/Dockerfile", "FROM alpine\n");
    let a = ids(&m, &t);
    t.set("src/shared/Dockerfile", "FROM alpine:3\n");
    assert_ne!(a.ids[NAMES[3]], ids(&m, &t).ids[NAMES[3]]);
}

#[test]
fn missing_contexts_and_cycles_have_no_id() {
    let mut t = files();
    t.files.remove("src/other/Dockerfile");
    t.set("src/base/Dockerfile", "FROM ghcr.io/acme/images:ubuntu-22.04-mid-amd64\n");
    let s = ids(MANIFEST, &t);
    assert!(s.ids.is_empty(), "{:?}", s.ids);
    assert_eq!(s.missing.len(), 4);
    assert!(s.missing[NAMES[3]].contains("context"), "{:?}", s.missing);
    assert!(s.missing[NAMES[0]].contains("cycle"));
}

#[test]
fn plans_parents_first_with_reasons_and_removed_variants() {
    let f0 = fleet(MANIFEST);
    let t0 = files();
    let g0 = Graph::build(&f0, &t0);
    let s0 = SourceIds::compute(&f0, &g0, &t0);
    // nothing changed: an empty plan
    let same = plan(Some(Side { fleet: &f0, graph: &g0, ids: &s0 }), Side { fleet: &f0, graph: &g0, ids: &s0 }, Some("a"), "b").expect("plan");
    assert!(same.variants.is_empty() && same.removed.is_empty());
    // base changes, other is removed, a new variant appears
    let m1 = MANIFEST.replace("  - os: Linux-Ubuntu-22.04-ARM64\n    qualifiers: [other]\n    context: src/other\n", "  - os: Linux-Ubuntu-22.04-AMD64\n    qualifiers: [fresh]\n    context: src/other\n");
    let f1 = fleet(&m1);
    let mut t1 = files();
    t1.set("src/base/Dockerfile", "FROM ubuntu:24.04\n");
    let g1 = Graph::build(&f1, &t1);
    let s1 = SourceIds::compute(&f1, &g1, &t1);
    let p = plan(Some(Side { fleet: &f0, graph: &g0, ids: &s0 }), Side { fleet: &f1, graph: &g1, ids: &s1 }, Some("a"), "b").expect("plan");
    let got: Vec<_> = p.variants.iter().map(|e| (e.variant.as_str(), e.level, e.reason)).collect();
    assert_eq!(got, vec![
        ("ubuntu-22.04-base-amd64", 0, Reason::Changed),
        ("ubuntu-22.04-fresh-amd64", 0, Reason::New),
        ("ubuntu-22.04-mid-amd64", 1, Reason::ParentChanged),
        ("ubuntu-22.04-leaf-amd64", 2, Reason::ParentChanged),
    ]);
    assert_eq!(p.removed, vec![NAMES[3].to_string()]);
    assert_eq!(p.variants[0].platform, "linux/amd64");
    assert_eq!(p.variants[0].dockerfile, "src/base/Dockerfile");
    let json = serde_json::to_value(&p).expect("json");
    assert_eq!(json["ref"], "b");
    assert_eq!(json["variants"][2]["reason"], "parent-changed");
    assert_eq!(json["variants"][2]["sourceId"], s1.ids["ubuntu-22.04-mid-amd64"]);
    // matrix: everything, or one level
    let runners = crate::runners::default_runners();
    let m = serde_json::to_value(matrix(&p, Some(1), &runners).expect("matrix")).expect("json");
    assert_eq!(m["include"].as_array().map(Vec::len), Some(1));
    assert_eq!(m["include"][0]["variant"], "ubuntu-22.04-mid-amd64");
    assert_eq!(m["include"][0]["runner"], "ubuntu-24.04");
    assert_eq!(matrix(&p, None, &runners).expect("matrix").include.len(), 4);
    assert!(matrix(&p, Some(7), &runners).expect("matrix").include.is_empty());
    // no runner for Linux: the error names the variant and what the runners name
    let windows_only = crate::runners::parse(r#"{"Windows": "windows-2022"}"#).expect("runners");
    let e = matrix(&p, None, &windows_only).expect_err("no Linux runner").to_string();
    assert!(e.contains("'ubuntu-22.04-base-amd64'") && e.contains("they name: Windows"), "{e}");
    // a variant's own runner wins
    let mut own = p.clone();
    own.variants[0].runner = Some("self-hosted".into());
    assert_eq!(matrix(&own, None, &runners).expect("matrix").include[0].runner, "self-hosted");
    // no manifest at `since`: everything is new
    let all = plan(None, Side { fleet: &f1, graph: &g1, ids: &s1 }, None, "b").expect("plan");
    assert!(all.variants.iter().all(|e| e.reason == Reason::New) && all.variants.len() == 4);
}

#[test]
fn refuses_to_plan_without_every_source_id() {
    let f = fleet(MANIFEST);
    let mut t = files();
    t.files.remove("src/other/Dockerfile");
    let g = Graph::build(&f, &t);
    let s = SourceIds::compute(&f, &g, &t);
    let err = plan(None, Side { fleet: &f, graph: &g, ids: &s }, None, "working-tree").expect_err("missing id");
    assert!(err.to_string().contains("ubuntu-22.04-other-arm64v8"), "{err}");
}

#[test]
fn default_platforms() {
    let f = fleet(MANIFEST);
    assert_eq!(crate::plan::platform(&f.variants[3]), "linux/arm64");
    let f = fleet(&MANIFEST.replace("qualifiers: [other]\n", "qualifiers: [other]\n    platforms: [linux/arm64, linux/arm/v8]\n"));
    assert_eq!(crate::plan::platform(&f.variants[3]), "linux/arm64,linux/arm/v8");
}
