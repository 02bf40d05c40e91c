//! `usages` and `pin` on a fixture tree of mixed files (workflow YAML, Dockerfile, shell
//! script, `.devcontainer/devcontainer.json`, a gitignored file) against the real
//! registry: exact line numbers, kinds and findings; pin shows a diff and changes
//! nothing, `pin --write` pins every reference and a second run changes nothing.

use std::collections::BTreeSet;

use crate::fleet::{ARM, Fleet, MULTI, REPO, SINGLE, VARIANTS};

const NOW: &str = "2026-11-21T12:00:00Z";
/// After the fixture OS's end of life (2027-06-01).
const AFTER_EOL: &str = "2027-07-01T00:00:00Z";

pub(crate) fn files(host: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "consumer/.github/workflows/ci.yml",
            format!("name: ci\non: push\njobs:\n  build:\n    container: {host}/{REPO}:{SINGLE}-latest\n    steps:\n      - run: make\n  other:\n    container:\n      image: {REPO}:{MULTI}-staging   # the multi-arch one\n"),
        ),
        ("consumer/Dockerfile", format!("ARG REG={host}\nFROM ${{REG}}/{REPO}:ubuntu-22.04-helix-latest AS base\nRUN echo hi\nFROM {REPO}:v1.2\n")),
        ("consumer/scripts/run.sh", format!("#!/bin/sh\nset -e\ndocker run --rm {host}/{REPO}:{ARM}-staging make\n")),
        ("consumer/.devcontainer/devcontainer.json", format!("{{\n  \"name\": \"dev\",\n  \"image\": \"{host}/{REPO}:{SINGLE}-latest\"\n}}\n")),
        ("consumer/.gitignore", "ignored/\n".into()),
        ("consumer/ignored/old.yml", format!("image: {REPO}:{SINGLE}-latest\n")),
    ]
}

/// (file, line, column, kind, variant, pinned) of every reference in a usages document.
fn rows(doc: &serde_json::Value) -> BTreeSet<(String, u64, u64, String, String, bool)> {
    doc["references"]
        .as_array()
        .expect("references")
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
                r["column"].as_u64().unwrap(),
                r["kind"].as_str().unwrap().to_string(),
                r["variant"].as_str().unwrap_or("-").to_string(),
                r["pinned"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn read_all(f: &Fleet) -> Vec<String> {
    files("").iter().map(|(p, _)| std::fs::read_to_string(f.sb.path().join(p)).unwrap()).collect()
}

#[test]
fn usages_finds_every_reference_and_pin_pins_them_idempotently() {
    let f = Fleet::new("0s");
    for (i, v) in VARIANTS.iter().enumerate() {
        let (dir, _) = f.build(v, 40 + i as u64);
        f.at(NOW, &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
    }
    f.at(NOW, &["promote"]).code(0);
    for (p, text) in files(&f.host) {
        f.sb.write(p, &text);
    }
    let s = |x: &str| x.to_string();
    let want = |pinned: bool| -> BTreeSet<(String, u64, u64, String, String, bool)> {
        [
            (s("consumer/.devcontainer/devcontainer.json"), 3, 13, s("channel"), s(SINGLE), pinned),
            (s("consumer/.github/workflows/ci.yml"), 5, 16, s("channel"), s(SINGLE), pinned),
            (s("consumer/.github/workflows/ci.yml"), 10, 14, s("channel"), s(MULTI), pinned),
            (s("consumer/Dockerfile"), 2, 13, s("alias"), s(SINGLE), pinned),
            (s("consumer/Dockerfile"), 4, 6, s("unknown"), s("-"), false),
            (s("consumer/scripts/run.sh"), 3, 17, s("channel"), s(ARM), pinned),
        ]
        .into_iter()
        .collect()
    };
    let doc = f.at(NOW, &["usages", "consumer", "--output", "json"]).code(0).json();
    assert_eq!(rows(&doc), want(false), "{doc:#}");
    let unknown = doc["references"].as_array().unwrap().iter().find(|r| r["kind"] == "unknown").unwrap();
    assert_eq!(unknown["findings"], serde_json::json!(["unknown-tag"]));
    // --strict fails on the unknown tag; after the OS's end of life every reference is a finding
    f.at(NOW, &["usages", "consumer", "--strict"]).code(1);
    let late = f.at(AFTER_EOL, &["usages", "consumer", "--output", "json"]).code(0).json();
    let eol = late["references"].as_array().unwrap().iter().filter(|r| r["findings"].as_array().unwrap().contains(&"eol".into())).count();
    assert_eq!(eol, 5, "{late:#}");
    let human = f.at(NOW, &["usages", "consumer"]);
    human.code(0);
    assert!(human.stdout.contains("consumer/scripts/run.sh:3:17") && human.stdout.contains("6 references, 6 not pinned, 1 with findings"), "{}", human.stdout);

    // pin without --write: a diff of exactly the references, files untouched
    let before = read_all(&f);
    let latest = f.skopeo_digest(&format!("{SINGLE}-latest")).unwrap();
    let diff = f.at(NOW, &["pin", "consumer"]);
    diff.code(0);
    assert_eq!(read_all(&f), before, "pin without --write changes nothing");
    let pinned_line = format!("+    container: {}/{REPO}:{SINGLE}-latest@{latest}", f.host);
    assert!(diff.stdout.contains("--- a/consumer/.github/workflows/ci.yml") && diff.stdout.contains(&pinned_line), "{}", diff.stdout);
    assert!(diff.stdout.contains("v1.2 (tag not of the tag schema)"), "{}", diff.stdout);

    // --write: only the reference text changes
    f.at(NOW, &["pin", "consumer", "--write"]).code(0);
    let after = read_all(&f);
    let multi = f.skopeo_digest(&format!("{MULTI}-staging")).unwrap();
    let expected_ci = before[0]
        .replace(&format!("{SINGLE}-latest\n"), &format!("{SINGLE}-latest@{latest}\n"))
        .replace(&format!("{MULTI}-staging "), &format!("{MULTI}-staging@{multi} "));
    assert_eq!(after[0], expected_ci);
    assert_eq!(after[5], before[5], "the gitignored file is not touched");
    let doc = f.at(NOW, &["usages", "consumer", "--output", "json"]).code(0).json();
    assert_eq!(rows(&doc), want(true), "{doc:#}");
    let alias = doc["references"].as_array().unwrap().iter().find(|r| r["kind"] == "alias").unwrap();
    assert_eq!(alias["digest"], latest.as_str());

    // a second pin --write changes nothing
    let again = f.at(NOW, &["pin", "consumer", "--write", "--output", "json"]).code(0).json();
    assert!(again["files"].as_array().unwrap().iter().all(|x| x["changed"] == false), "{again:#}");
    assert_eq!(read_all(&f), after);

    // --channel rewrites the tag to that channel's and pins its digest (a diff only)
    let arm_latest = f.skopeo_digest(&format!("{ARM}-latest")).unwrap();
    let moved = f.at(NOW, &["pin", "consumer/scripts/run.sh", "--channel", "latest"]);
    moved.code(0);
    assert!(moved.stdout.contains(&format!("+docker run --rm {}/{REPO}:{ARM}-latest@{arm_latest} make", f.host)), "{}", moved.stdout);
    assert_eq!(read_all(&f), after);
    f.at(NOW, &["pin", "consumer", "--channel", "nope"]).code(2);
}
