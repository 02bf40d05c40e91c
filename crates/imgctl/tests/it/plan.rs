//! `imgctl plan`, the source ids of `imgctl tags` and the FROM checks of `validate`, on
//! git repositories made in the test (synthetic ones and the real dotnet-buildtools fixture).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use serde_json::Value;

use imgctl_testkit::repo::{copy_dir, git};

use crate::support::{Run, Sandbox, repo_root};

pub(crate) fn commit(dir: &Path, msg: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", msg]);
    git(dir, &["rev-parse", "HEAD"])
}

fn run_in(sb: &Sandbox, dir: &Path, args: &[&str]) -> Run {
    Run::from(sb.cmd().current_dir(dir).args(args).output().expect("run imgctl"))
}

/// Variant → source id, from `imgctl tags --output json` run in `dir`.
fn tag_ids(sb: &Sandbox, dir: &Path) -> BTreeMap<String, String> {
    let doc = run_in(sb, dir, &["tags", "--output", "json"]).code(0).json();
    let mut out = BTreeMap::new();
    for e in doc.as_array().expect("list") {
        let v = e["variant"].as_str().expect("variant").to_string();
        let id = e["sourceId"].as_str().unwrap_or_else(|| panic!("{v} has no sourceId")).to_string();
        assert_eq!(e["tags"]["immutable"], format!("{v}-{id}"));
        out.insert(v, id);
    }
    out
}

pub(crate) const OS: &str = r#"{ "definitions": [ { "id": "Linux-Ubuntu-22.04-AMD64", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu", "version": "22.04", "arch": "AMD64" } ] }"#;

pub(crate) fn small(sb: &Sandbox, dockerfiles: &[(&str, &str)]) {
    let mut m = "version: 1\nregistry: ghcr.io\nrepository: acme/images\nosDefinitions: ../os-definitions/os-definitions.json\ntagSchema:\n  arch: { AMD64: amd64 }\n  defaultArch: AMD64\nchannels:\n  staging: { suffix: -staging }\n  latest: { suffix: '' }\nvariants:\n".to_string();
    for (q, text) in dockerfiles {
        m.push_str(&format!("  - os: Linux-Ubuntu-22.04-AMD64\n    qualifiers: [{q}]\n    context: ../src/{q}\n"));
        sb.write(&format!("src/{q}/Dockerfile"), text);
    }
    sb.write("manifests/images.yaml", &m);
    sb.write("os-definitions/os-definitions.json", OS);
}

#[test]
fn validate_reports_a_from_cycle_and_an_unknown_tag_at_the_dockerfile_line() {
    let sb = Sandbox::new();
    small(&sb, &[
        ("a", "FROM ubuntu:22.04 AS base\n\nFROM ghcr.io/acme/images:ubuntu-22.04-b-amd64-staging\n"),
        ("b", "ARG T=ubuntu-22.04-a-amd64\n# parent\nFROM acme/images:$T\n"),
        ("c", "FROM alpine\nRUN true\nFROM \\\n  ghcr.io/acme/images:ubuntu-22.04-nope-amd64\n"),
    ]);
    let r = sb.run(&["validate"]);
    r.code(1);
    for want in [
        "src/a/Dockerfile:3:1: error: FROM 'ghcr.io/acme/images:ubuntu-22.04-b-amd64-staging' makes a build cycle: ubuntu-22.04-a-amd64 -> ubuntu-22.04-b-amd64 -> ubuntu-22.04-a-amd64 [from-cycle]",
        "src/b/Dockerfile:3:1: error: FROM 'acme/images:ubuntu-22.04-a-amd64' makes a build cycle",
        "src/c/Dockerfile:3:1: error: FROM 'ghcr.io/acme/images:ubuntu-22.04-nope-amd64' names tag 'ubuntu-22.04-nope-amd64' of repository 'acme/images', which no variant of the manifest has",
    ] {
        assert!(r.stdout.contains(want), "missing {want:?} in\n{}", r.stdout);
    }
    let doc = sb.run(&["validate", "--output", "json"]).code(1).json();
    let codes: Vec<_> = doc["findings"].as_array().expect("findings").iter().map(|f| (f["code"].as_str().unwrap_or("").to_string(), f["file"].as_str().unwrap_or("").to_string(), f["line"].as_u64())).collect();
    assert!(codes.contains(&("from-unknown-tag".into(), "src/c/Dockerfile".into(), Some(3))), "{codes:?}");
    // fixed: validate passes
    sb.write("src/a/Dockerfile", "FROM ubuntu:22.04\n");
    sb.write("src/c/Dockerfile", "FROM ghcr.io/acme/images:ubuntu-22.04-b-amd64\n");
    sb.run(&["validate"]).code(0);
}

#[test]
fn plan_without_relevant_change_is_empty_and_succeeds() {
    let sb = Sandbox::new();
    small(&sb, &[("a", "FROM ubuntu:22.04\n"), ("b", "FROM ghcr.io/acme/images:ubuntu-22.04-a-amd64\n")]);
    git(sb.path(), &["init", "-q", "-b", "main"]);
    let a = commit(sb.path(), "one");
    sb.write("README.md", "not in any context\n");
    let b = commit(sb.path(), "two");
    let r = sb.run(&["plan", "--since", &a, "--ref", &b, "--output", "json"]);
    let doc = r.code(0).json();
    assert_eq!(doc["since"], a.as_str());
    assert_eq!(doc["ref"], b.as_str());
    assert_eq!(doc["variants"], Value::Array(Vec::new()));
    assert_eq!(doc["removed"], Value::Array(Vec::new()));
    let human = sb.run(&["plan", "--since", &a, "--ref", &b]);
    assert!(human.code(0).stdout.contains("nothing to build"), "{}", human.stdout);
    let m = sb.run(&["plan", "--since", "HEAD~1", "--ref", "HEAD", "--output", "github-matrix"]);
    assert_eq!(m.code(0).stdout, "{\"include\":[]}\n");
    // the working tree against HEAD (the defaults), clean: empty too
    assert_eq!(sb.run(&["plan", "--output", "json"]).code(0).json()["variants"], Value::Array(Vec::new()));
}

#[test]
fn plan_lists_changes_parents_first_and_prints_a_matrix() {
    let sb = Sandbox::new();
    small(&sb, &[("a", "FROM ubuntu:22.04\n"), ("b", "FROM ghcr.io/acme/images:ubuntu-22.04-a-amd64-staging\n"), ("c", "FROM alpine\n")]);
    git(sb.path(), &["init", "-q", "-b", "main"]);
    commit(sb.path(), "one");
    sb.write("src/a/setup.sh", "echo uncommitted\n");
    let doc = sb.run(&["plan", "--output", "json"]).code(0).json();
    assert_eq!(doc["ref"], "working-tree");
    let got: Vec<_> = doc["variants"].as_array().expect("list").iter().map(|e| (e["variant"].as_str().unwrap_or("").to_string(), e["level"].as_u64(), e["reason"].as_str().unwrap_or("").to_string())).collect();
    assert_eq!(got, vec![
        ("ubuntu-22.04-a-amd64".to_string(), Some(0), "changed".to_string()),
        ("ubuntu-22.04-b-amd64".to_string(), Some(1), "parent-changed".to_string()),
    ]);
    assert_eq!(doc["variants"][1]["context"], "src/b");
    assert_eq!(doc["variants"][1]["dockerfile"], "src/b/Dockerfile");
    // plan's ids are the ids `tags` shows
    let ids = tag_ids(&sb, sb.path());
    assert_eq!(doc["variants"][1]["sourceId"], ids["ubuntu-22.04-b-amd64"].as_str());
    let m = sb.run(&["plan", "--output", "github-matrix", "--level", "1"]);
    let m: Value = serde_json::from_str(&m.code(0).stdout).expect("json");
    assert_eq!(m, serde_json::json!({"include": [{
        "variant": "ubuntu-22.04-b-amd64", "os": "Linux-Ubuntu-22.04-AMD64", "context": "src/b",
        "dockerfile": "src/b/Dockerfile", "platform": "linux/amd64", "level": 1,
        "sourceId": ids["ubuntu-22.04-b-amd64"], "runner": "ubuntu-24.04"
    }]}));
}

#[test]
fn plan_outside_a_git_repository_fails_clearly() {
    let sb = Sandbox::new();
    small(&sb, &[("a", "FROM ubuntu:22.04\n")]);
    let r = sb.run(&["plan"]);
    r.code(1);
    assert!(r.stderr.contains("failed to find the git repository of 'manifests/images.yaml'"), "{}", r.stderr);
    // tags still works, without source ids
    let doc = sb.run(&["tags", "--output", "json"]).code(0).json();
    assert!(doc[0].get("sourceId").is_none());
}

/// The shipped sample (manifest + OS definitions + the dotnet-buildtools fixture) in a
/// fresh repository at `dir`; returns the commit.
pub(crate) fn fixture_repo(dir: &Path) -> String {
    let root = repo_root();
    copy_dir(&root.join("manifests"), &dir.join("manifests"));
    copy_dir(&root.join("os-definitions"), &dir.join("os-definitions"));
    copy_dir(&root.join("tests/fixtures/dotnet-buildtools-prereqs"), &dir.join("tests/fixtures/dotnet-buildtools-prereqs"));
    git(dir, &["init", "-q", "-b", "main"]);
    commit(dir, "fixture")
}

/// Independently of imgctl's graph: variant → variants whose Dockerfile FROM-names one of
/// its tags, read with a plain scan of the FROM lines (the fixture substitutes no ARGs
/// into references to its own repository).
fn children_from_dockerfiles(sb: &Sandbox, dir: &Path) -> (BTreeMap<String, BTreeSet<String>>, BTreeMap<String, String>) {
    let tags = run_in(sb, dir, &["tags", "--output", "json"]).code(0).json();
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for e in tags.as_array().expect("list") {
        let v = e["variant"].as_str().expect("variant").to_string();
        let t = &e["tags"];
        let mut names = vec![t["base"].as_str().expect("base").to_string()];
        names.extend(t["channels"].as_object().expect("channels").values().filter_map(|x| x.as_str().map(str::to_string)));
        names.extend(t["aliases"].as_array().expect("aliases").iter().filter_map(|x| x.as_str().map(str::to_string)));
        for n in names {
            owner.insert(n, v.clone());
        }
    }
    // every variant with its Dockerfile: the plan of the first commit lists them all as new
    let all = run_in(sb, dir, &["plan", "--ref", "HEAD", "--output", "json"]).code(0).json();
    let mut dockerfiles = BTreeMap::new();
    let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let prefix = "mcr.microsoft.com/dotnet-buildtools/prereqs:";
    for e in all["variants"].as_array().expect("list") {
        let v = e["variant"].as_str().expect("variant").to_string();
        let df = e["dockerfile"].as_str().expect("dockerfile").to_string();
        let text = std::fs::read_to_string(dir.join(&df)).expect("dockerfile");
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if !words.first().is_some_and(|w| w.eq_ignore_ascii_case("FROM")) {
                continue;
            }
            let Some(image) = words[1..].iter().find(|w| !w.starts_with("--")) else { continue };
            if let Some(tag) = image.strip_prefix(prefix) {
                let parent = owner.get(tag).unwrap_or_else(|| panic!("{df}: FROM {image} names no variant"));
                children.entry(parent.clone()).or_default().insert(v.clone());
            }
        }
        dockerfiles.insert(v, df);
    }
    assert_eq!(dockerfiles.len(), 229, "the fixture has 229 variants");
    (children, dockerfiles)
}

fn descendants(children: &BTreeMap<String, BTreeSet<String>>, of: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut queue = VecDeque::from([of.to_string()]);
    while let Some(v) = queue.pop_front() {
        for c in children.get(&v).into_iter().flatten() {
            if out.insert(c.clone()) {
                queue.push_back(c.clone());
            }
        }
    }
    out
}

const PARENT: &str = "azurelinux-3.0-net11.0-crossdeps-builder-amd64";

#[test]
fn fixture_plan_rebuilds_exactly_the_changed_parent_and_its_descendants() {
    let sb = Sandbox::new();
    let dir = sb.path().join("repo");
    let a = fixture_repo(&dir);
    let (children, dockerfiles) = children_from_dockerfiles(&sb, &dir);
    let edges: usize = children.values().map(BTreeSet::len).sum();
    assert!(edges >= 150, "the fixture's FROM lines link many variants ({edges})");
    let mut want = descendants(&children, PARENT);
    assert!(want.len() >= 10, "{want:?}");
    want.insert(PARENT.to_string());
    let df = dir.join(&dockerfiles[PARENT]);
    let text = std::fs::read_to_string(&df).expect("read") + "RUN echo changed\n";
    std::fs::write(&df, text).expect("write");
    let b = commit(&dir, "change a parent");
    let doc = run_in(&sb, &dir, &["plan", "--since", &a, "--ref", &b, "--output", "json"]).code(0).json();
    let entries = doc["variants"].as_array().expect("list");
    let got: BTreeSet<String> = entries.iter().map(|e| e["variant"].as_str().expect("variant").to_string()).collect();
    assert_eq!(got, want);
    // parents first: every planned parent comes before its children, at a lower level
    let pos: BTreeMap<&str, (usize, u64)> = entries.iter().enumerate().map(|(i, e)| (e["variant"].as_str().unwrap_or(""), (i, e["level"].as_u64().unwrap_or(0)))).collect();
    for (parent, kids) in &children {
        let Some(&(pi, pl)) = pos.get(parent.as_str()) else { continue };
        for k in kids {
            let (ki, kl) = pos[k.as_str()];
            assert!(pi < ki && pl < kl, "{parent} (#{pi}, level {pl}) must come before {k} (#{ki}, level {kl})");
        }
    }
    assert_eq!(entries[0]["variant"], PARENT);
    assert_eq!(entries[0]["reason"], "changed");
    assert!(entries[1..].iter().all(|e| e["reason"] == "parent-changed"));
    let levels: Vec<u64> = entries.iter().map(|e| e["level"].as_u64().unwrap_or(0)).collect();
    assert!(levels.windows(2).all(|w| w[0] <= w[1]), "{levels:?}");
    // the matrix has one entry per planned variant
    let m = run_in(&sb, &dir, &["plan", "--since", &a, "--ref", &b, "--output", "github-matrix"]);
    let m: Value = serde_json::from_str(&m.code(0).stdout).expect("json");
    assert_eq!(m["include"].as_array().map(Vec::len), Some(want.len()));
}

#[test]
fn fixture_source_ids_are_the_same_in_two_clones_and_follow_a_parent_change() {
    let sb = Sandbox::new();
    let dir = sb.path().join("repo");
    fixture_repo(&dir);
    let one = sb.path().join("one");
    let two = sb.path().join("elsewhere/deeper/two");
    std::fs::create_dir_all(two.parent().expect("parent")).expect("mkdir");
    git(sb.path(), &["clone", "-q", dir.to_str().expect("utf-8"), one.to_str().expect("utf-8")]);
    git(sb.path(), &["clone", "-q", dir.to_str().expect("utf-8"), two.to_str().expect("utf-8")]);
    let original = tag_ids(&sb, &dir);
    assert_eq!(original.len(), 229);
    assert_eq!(tag_ids(&sb, &one), original);
    // run from another directory with --manifest pointing into the clone
    let via_path = Run::from(sb.cmd().args(["tags", "--output", "json", "--manifest", two.join("manifests/images.yaml").to_str().expect("utf-8")]).output().expect("run"));
    let via_path: BTreeMap<String, String> = via_path.code(0).json().as_array().expect("list").iter()
        .map(|e| (e["variant"].as_str().unwrap_or("").to_string(), e["sourceId"].as_str().unwrap_or("").to_string())).collect();
    assert_eq!(via_path, original);
    // one new file in the parent's context: the parent and its descendants change, nothing else
    let (children, dockerfiles) = children_from_dockerfiles(&sb, &one);
    let context = Path::new(&dockerfiles[PARENT]).parent().expect("context").to_path_buf();
    std::fs::write(one.join(context).join("extra.sh"), "echo hi\n").expect("write");
    let after = tag_ids(&sb, &one);
    let changed: BTreeSet<String> = original.iter().filter(|(v, id)| after[*v] != **id).map(|(v, _)| v.clone()).collect();
    let mut want = descendants(&children, PARENT);
    want.insert(PARENT.to_string());
    assert_eq!(changed, want);
}
