//! The Renovate preset (`renovate/imgctl.json`): with its arguments filled in as a consumer's
//! `extends` gives them, its custom managers' patterns (file patterns and match strings, read
//! as Renovate reads them) find every reference `imgctl usages` finds in the usages fixtures
//! and in the other forms consumers write (Helix queue strings, build args, shell variables),
//! with the same tag and digest, and nothing `usages` does not count; the lines Renovate's own
//! managers read are left to them (counted once). Real Renovate runs the preset in renovate_real.rs.

use std::collections::BTreeSet;

use regex::Regex;

use crate::fleet::{Fleet, MULTI, REPO, SINGLE};
use crate::support::repo_root;

const NOW: &str = "2026-11-21T12:00:00Z";
const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Renovate regexes are JavaScript ones; the ones in the preset use only syntax the Rust
/// `regex` crate reads the same way (named groups `(?<n>…)`, classes, alternation). A file
/// pattern is written `/…/`.
fn js(re: &str) -> Regex {
    let body = re.strip_prefix('/').and_then(|r| r.strip_suffix('/')).unwrap_or(re);
    Regex::new(body).unwrap_or_else(|e| panic!("{re}: {e}"))
}

/// The two file globs of the general manager, as Renovate's minimatch reads them (the
/// real-Renovate test, renovate_real.rs, checks them in Renovate itself).
const YAML_GLOB: &str = "{,!(.github|.gitea|.forgejo|workflow-templates)/**/}!(action|*compose*|.gitlab-ci).{yml,yaml}";
const JSON_GLOB: &str = "{,**/}!(devcontainer|.devcontainer|renovate|package|package-lock).json";

/// A file pattern: a regex `/…/`, or one of the two globs above.
enum FilePattern {
    Re(Regex),
    Glob(&'static str),
}

impl FilePattern {
    fn is_match(&self, path: &str) -> bool {
        let (dir, base) = path.rsplit_once('/').map_or(("", path), |(d, b)| (d, b));
        let first = dir.split('/').next().unwrap_or_default();
        match self {
            FilePattern::Re(re) => re.is_match(path),
            FilePattern::Glob(g) if *g == YAML_GLOB => {
                let stem = base.strip_suffix(".yml").or_else(|| base.strip_suffix(".yaml"));
                stem.is_some_and(|s| s != "action" && !s.contains("compose") && s != ".gitlab-ci") && ![".github", ".gitea", ".forgejo", "workflow-templates"].contains(&first)
            }
            FilePattern::Glob(_) => base.strip_suffix(".json").is_some_and(|s| !["devcontainer", ".devcontainer", "renovate", "package", "package-lock"].contains(&s)),
        }
    }
}

struct Manager {
    files: Vec<FilePattern>,
    matches: Vec<Regex>,
    dep_name: Option<String>,
}

fn managers(host: &str) -> Vec<Manager> {
    let text = std::fs::read_to_string(repo_root().join("renovate/imgctl.json")).unwrap();
    // a consumer extends `github>OWNER/imgctl//renovate/imgctl#vX(HOST, REPO, SITE)`: Renovate
    // fills {{arg0}}/{{arg1}}/{{arg2}} into every string of the preset
    let filled = text.replace("{{arg0}}", host).replace("{{arg1}}", REPO).replace("{{arg2}}", "https://acme.github.io/build-images");
    let doc: serde_json::Value = serde_json::from_str(&filled).unwrap();
    let rule = &doc["packageRules"][0];
    assert_eq!(rule["matchPackageNames"], serde_json::json!([format!("{host}/{REPO}"), REPO]));
    assert_eq!(rule["pinDigests"], true);
    assert!(rule["groupName"].as_str().is_some());
    let notes = rule["prBodyNotes"][0].as_str().unwrap();
    assert!(notes.contains("https://acme.github.io/build-images/digests/{{{replace 'sha256:' 'sha256-' newDigest}}}.html"), "the notes link the digest's page: {notes}");
    assert_eq!(doc["packageRules"][1]["registryUrls"][0], format!("https://{host}"), "host-less references are the fleet's");
    doc["customManagers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["customType"], "regex");
            assert_eq!(m["datasourceTemplate"], "docker");
            assert!(m["autoReplaceStringTemplate"].as_str().unwrap().contains("{{{newDigest}}}"), "pinning through a regex manager needs a template");
            Manager {
                files: m["managerFilePatterns"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| match p.as_str().unwrap() {
                        g if g == YAML_GLOB => FilePattern::Glob(YAML_GLOB),
                        g if g == JSON_GLOB => FilePattern::Glob(JSON_GLOB),
                        re => FilePattern::Re(js(re)),
                    })
                    .collect(),
                matches: m["matchStrings"].as_array().unwrap().iter().map(|p| js(p.as_str().unwrap())).collect(),
                dep_name: m["depNameTemplate"].as_str().map(str::to_string),
            }
        })
        .collect()
}

/// (file, line, tag, digest) of every match of the preset's managers over `files`; a match
/// without a value is a line the preset leaves to Renovate's own managers (FROM, container:,
/// image:, …): the references in it are counted as theirs, once.
fn renovate_finds(host: &str, files: &[(String, String)]) -> BTreeSet<(String, usize, String, Option<String>)> {
    let managers = managers(host);
    let general = managers[1].matches[0].clone();
    let mut out = BTreeSet::new();
    let mut add = |path: &str, text: &str, at: usize, c: &regex::Captures| {
        let value = c.name("currentValue").unwrap();
        let line = text[..at + value.start()].matches('\n').count() + 1;
        assert!(out.insert((path.to_string(), line, value.as_str().to_string(), c.name("currentDigest").map(|d| d.as_str().to_string()))), "{path}:{line} found twice");
    };
    for m in &managers {
        for (path, text) in files {
            // Renovate sees paths from the consumer repository's root
            if !m.files.iter().any(|f| f.is_match(path.strip_prefix("consumer/").unwrap_or(path))) {
                continue;
            }
            for re in &m.matches {
                for c in re.captures_iter(text) {
                    if c.name("currentValue").is_none() {
                        let whole = c.get(0).unwrap();
                        for n in general.captures_iter(whole.as_str()) {
                            add(path, text, whole.start(), &n);
                        }
                        continue;
                    }
                    let dep = c.name("depName").map(|d| d.as_str().to_string()).or_else(|| m.dep_name.clone()).unwrap();
                    assert_eq!(dep, format!("{host}/{REPO}"), "{path}: depName");
                    add(path, text, 0, &c);
                }
            }
        }
    }
    out
}

#[test]
fn the_renovate_preset_matches_every_reference_form_usages_finds() {
    let f = Fleet::new("0s");
    let host = f.host.clone();
    let mut files: Vec<(String, String)> = crate::usages::files(&host).into_iter().map(|(p, t)| (p.to_string(), t)).collect();
    files.retain(|(p, _)| !p.contains("ignored") && !p.ends_with(".gitignore"));
    // the other forms consumers write
    files.push((
        "consumer/eng/helix.yml".into(),
        format!("queues:\n  - (Ubuntu.2204.Amd64)Ubuntu.2204.Amd64@{host}/{REPO}:{SINGLE}-latest\n  - (Multi)Ubuntu.2204.Amd64@{host}/{REPO}:{MULTI}-latest@{D}\n"),
    ));
    files.push(("consumer/build.sh".into(), format!("#!/bin/sh\nIMAGE=\"{host}/{REPO}:{SINGLE}-staging\"\ndocker build --build-arg BASE={host}/{REPO}:{MULTI}-latest@{D} .\n")));
    files.push(("consumer/tools/Dockerfile".into(), format!("ARG BUILD_IMAGE={host}/{REPO}:{SINGLE}-latest\nFROM $BUILD_IMAGE\n")));
    for (p, t) in &files {
        f.sb.write(p, t);
    }
    let doc = f.at(NOW, &["usages", "consumer", "--output", "json"]).code(0).json();
    let usages: BTreeSet<(String, usize, String, Option<String>)> = doc["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap() as usize,
                r["tag"].as_str().unwrap_or_default().to_string(),
                r["digest"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert!(usages.len() >= 11, "the fixtures hold every form: {doc:#}");
    assert!(usages.iter().any(|u| u.0.ends_with("helix.yml") && u.3.is_some()), "a pinned Helix reference: {usages:?}");
    let found = renovate_finds(&host, &files);
    assert_eq!(found, usages, "Renovate's patterns and `usages` must agree, reference for reference");
}
