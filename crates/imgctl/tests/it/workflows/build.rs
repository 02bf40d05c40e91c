//! publish.yml builds any fleet: its level jobs are one job written once (a YAML anchor),
//! its plan step — run as GitHub's bash runs it — gives the real fixture's 229 variants,
//! all 5 levels and the 6 Windows variants a job on their runner, and a fleet it could not
//! build fails `validate` and the plan step, saying why.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use imgctl_core::runners::{DEFAULT_RUNNERS_JSON, MAX_BUILD_LEVELS};
use serde_yaml_ng::Value;

use super::{inputs, load, s};
use crate::plan::{commit, fixture_repo, small};
use crate::support::{Run, Sandbox};

/// The `run:` script and `env:` of publish.yml's plan step.
fn plan_step() -> (String, Value) {
    let doc = load("publish.yml");
    let steps = doc["jobs"]["plan"]["steps"].as_sequence().expect("plan steps").clone();
    let step = steps.iter().find(|st| st.get("id").map(s) == Some("plan")).expect("step id: plan").clone();
    (s(&step["run"]).to_string(), step["env"].clone())
}

/// Runs the plan step in `dir` as GitHub's bash would (`bash -e -o pipefail`), with imgctl
/// on PATH and the workflow's env (`runners` for the `runners` input); returns the run and
/// the `levelN` outputs it wrote.
fn run_plan_step(dir: &Path, runners: &str) -> (Run, BTreeMap<usize, serde_json::Value>) {
    let (script, env) = plan_step();
    assert!(s(&env["SINCE"]).contains("github.event.before"), "SINCE is the push's previous head");
    let out_file = dir.join(".github-output");
    let bin = Path::new(env!("CARGO_BIN_EXE_imgctl")).parent().expect("bin dir").to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let head = imgctl_testkit::repo::git(dir, &["rev-parse", "HEAD"]);
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
        .current_dir(dir)
        .env("PATH", path)
        .env("GITHUB_SHA", head)
        // a first push (no previous head): plan from the commit's first parent
        .env("SINCE", "")
        .env("GITHUB_OUTPUT", &out_file)
        .env("GITHUB_STEP_SUMMARY", dir.join(".step-summary"))
        .env("IMGCTL_MANIFEST", "manifests/images.yaml")
        .env("IMGCTL_RUNNERS", runners)
        .output()
        .expect("run bash");
    let mut levels = BTreeMap::new();
    for line in std::fs::read_to_string(&out_file).unwrap_or_default().lines() {
        let (k, v) = line.split_once('=').expect("name=value");
        let n: usize = k.strip_prefix("level").expect("levelN").parse().expect("N");
        levels.insert(n, serde_json::from_str(v).expect("matrix JSON"));
    }
    (Run::from(out), levels)
}

/// The runner a real-fixture variant must get, from its OS, written out independently:
/// Server Core ltsc2025 on windows-2025 (fleet-publish.yml says so), other Windows on
/// windows-2022, Linux on ubuntu-24.04.
fn expected_runner(os: &str) -> &'static str {
    if os.starts_with("Windows-WindowsServerCore-ltsc2025-") {
        "windows-2025"
    } else if os.starts_with("Windows-") {
        "windows-2022"
    } else {
        assert!(os.starts_with("Linux-"), "{os}");
        "ubuntu-24.04"
    }
}

#[test]
fn the_level_jobs_are_one_job_written_once_wired_per_level() {
    let doc = load("publish.yml");
    let text = std::fs::read_to_string(super::workflow_path("publish.yml")).expect("read");
    assert_eq!(text.matches("docker/build-push-action@").count(), 1, "the build steps are written once");
    assert_eq!(text.matches("steps: *build\n").count(), MAX_BUILD_LEVELS - 1, "every other level job reuses them");
    let jobs = doc["jobs"].as_mapping().expect("jobs");
    let levels: Vec<&str> = jobs.keys().map(s).filter(|k| k.starts_with("build-level")).collect();
    assert_eq!(levels.len(), MAX_BUILD_LEVELS, "{levels:?}");
    let steps0 = &doc["jobs"]["build-level0"]["steps"];
    let (script, _) = plan_step();
    assert!(script.contains(&format!("LEVELS={MAX_BUILD_LEVELS}\n")), "the plan step's LEVELS is the number of level jobs");
    for n in 0..MAX_BUILD_LEVELS {
        let job = &doc["jobs"][format!("build-level{n}").as_str()];
        assert_eq!(&job["steps"], steps0, "level {n}: the same steps");
        assert_eq!(job["runs-on"], "${{ matrix.runner }}", "level {n}: each variant on its runner");
        assert_eq!(job["strategy"]["matrix"], Value::from(format!("${{{{ fromJSON(needs.plan.outputs.level{n}) }}}}")), "level {n}");
        assert_eq!(doc["jobs"]["plan"]["outputs"][format!("level{n}").as_str()], Value::from(format!("${{{{ steps.plan.outputs.level{n} }}}}")));
        if n > 0 {
            let needs: Vec<&str> = job["needs"].as_sequence().expect("needs").iter().map(s).collect();
            assert_eq!(needs, ["plan", &format!("build-level{}", n - 1)], "level {n} waits for level {}", n - 1);
            assert!(s(&job["if"]).contains("!failure() && !cancelled()"), "an empty level does not stop the next");
        }
    }
    // the runners input defaults to what imgctl validate and plan assume without --runners
    let i = inputs(&doc, "workflow_call");
    assert_eq!(i["runners"]["default"], DEFAULT_RUNNERS_JSON);
    assert_eq!(doc["env"]["IMGCTL_RUNNERS"], "${{ inputs.runners }}");
    // pr-checks' validate checks against the same runners: same default, same value passed
    let checks = load("pr-checks.yml");
    assert_eq!(inputs(&checks, "workflow_call")["runners"]["default"], DEFAULT_RUNNERS_JSON);
    assert_eq!(checks["env"]["IMGCTL_RUNNERS"], "${{ inputs.runners }}");
    assert_eq!(load("fleet-pr-checks.yml")["jobs"]["images"]["with"]["runners"], load("fleet-publish.yml")["jobs"]["publish"]["with"]["runners"]);
    // Windows builds with the engine's builder, Linux with buildx
    let windows: Vec<&Value> = steps0.as_sequence().unwrap().iter().filter(|st| st.get("if").map(s) == Some("runner.os == 'Windows'")).collect();
    assert_eq!(windows.len(), 1);
    assert!(s(&windows[0]["run"]).contains("docker save --output \"$IMAGE\""));
}

#[test]
fn the_plan_step_gives_every_level_and_every_windows_variant_a_job_on_its_runner() {
    let sb = Sandbox::new();
    let dir = sb.path().join("fleet");
    fixture_repo(&dir);
    // the runners this repository's fleet passes (fleet-publish.yml)
    let caller = load("fleet-publish.yml");
    let runners = s(&caller["jobs"]["publish"]["with"]["runners"]).to_string();
    let (run, levels) = run_plan_step(&dir, &runners);
    run.code(0);
    let all = Run::from(sb.cmd().current_dir(&dir).args(["plan", "--ref", "HEAD", "--output", "json"]).output().expect("plan")).code(0).json();
    let planned: BTreeMap<String, (u64, String)> = all["variants"].as_array().expect("variants").iter()
        .map(|e| (s_json(&e["variant"]), (e["level"].as_u64().expect("level"), s_json(&e["os"])))).collect();
    assert_eq!(planned.len(), 229);
    let deepest = planned.values().map(|(l, _)| *l).max().expect("levels") as usize;
    assert_eq!(deepest, 4, "the real fixture has levels 0-4");
    assert_eq!(levels.len(), MAX_BUILD_LEVELS, "one output per level job");
    let mut seen = BTreeSet::new();
    let mut windows = 0;
    for (n, m) in &levels {
        let include = m["include"].as_array().expect("include");
        assert_eq!(include.is_empty(), *n > deepest, "level {n}: a job exactly when the plan has the level");
        for e in include {
            let v = s_json(&e["variant"]);
            let (level, os) = &planned[&v];
            assert_eq!((e["level"].as_u64(), *level), (Some(*n as u64), *n as u64), "{v}");
            assert_eq!(e["runner"], expected_runner(os), "{v} ({os})");
            windows += usize::from(os.starts_with("Windows-"));
            assert!(seen.insert(v.clone()), "{v} twice");
        }
    }
    assert_eq!(seen.len(), 229, "every variant gets a job");
    assert_eq!(windows, 6, "the 6 Windows variants");
    // the workflow's default runners: every Windows variant on windows-2022
    let (run, levels) = run_plan_step(&dir, DEFAULT_RUNNERS_JSON);
    run.code(0);
    let runners: BTreeSet<String> = levels.values().flat_map(|m| m["include"].as_array().cloned().unwrap_or_default()).filter(|e| s_json(&e["os"]).starts_with("Windows-")).map(|e| s_json(&e["runner"])).collect();
    assert_eq!(runners, BTreeSet::from(["windows-2022".to_string()]));
}

fn s_json(v: &serde_json::Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string()
}

#[test]
fn a_fleet_the_workflow_cannot_build_fails_validate_and_the_plan_step() {
    let sb = Sandbox::new();
    // a FROM chain of 9 images: levels 0-8, one more than the workflow has jobs for
    let names: Vec<String> = (0..=MAX_BUILD_LEVELS).map(|i| format!("l{i}")).collect();
    let files: Vec<(String, String)> = names.iter().enumerate().map(|(i, q)| {
        let from = if i == 0 { "ubuntu:22.04".to_string() } else { format!("ghcr.io/acme/images:ubuntu-22.04-l{}-amd64-staging", i - 1) };
        (q.clone(), format!("FROM {from}\n"))
    }).collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    small(&sb, &refs);
    let r = sb.run(&["validate"]);
    r.code(1);
    let deep = format!("variant 'ubuntu-22.04-l{MAX_BUILD_LEVELS}-amd64' is at build level {MAX_BUILD_LEVELS} (a FROM chain of 9 images) but the publish workflow builds levels 0-7");
    assert!(r.stdout.contains(&deep) && r.stdout.contains("[too-deep]"), "{}", r.stdout);
    assert_eq!(r.stdout.matches("[too-deep]").count(), 1, "{}", r.stdout);
    imgctl_testkit::repo::git(sb.path(), &["init", "-q", "-b", "main"]);
    commit(sb.path(), "deep");
    let (run, _) = run_plan_step(sb.path(), DEFAULT_RUNNERS_JSON);
    run.code(1);
    assert!(run.stdout.contains("::error::the plan has build level 8 but publish.yml builds levels 0-7"), "{}", run.stdout);

    // runners that name no Linux: validate names the variant and the fix; plan's matrix fails
    let sb = Sandbox::new();
    small(&sb, &[("a", "FROM ubuntu:22.04\n")]);
    let r = sb.run(&["validate", "--runners", r#"{"Windows": "windows-2022"}"#]);
    r.code(1);
    assert!(r.stdout.contains("manifests/images.yaml:12:") && r.stdout.contains("variant 'ubuntu-22.04-a-amd64' (Linux-Ubuntu-22.04-AMD64) has no runner: the publish workflow's runners name no 'Linux' (they name: Windows); give the variant `runner:` or add 'Linux' to the workflow's `runners` input (`--runners`) [no-runner]"), "{}", r.stdout);
    sb.run(&["validate"]).code(0);
    // its own runner is enough, and the matrix carries it
    let m = std::fs::read_to_string(sb.path().join("manifests/images.yaml")).unwrap().replace("context: ../src/a\n", "context: ../src/a\n    runner: self-hosted-x64\n");
    sb.write("manifests/images.yaml", &m);
    sb.run(&["validate", "--runners", r#"{"Windows": "windows-2022"}"#]).code(0);
    imgctl_testkit::repo::git(sb.path(), &["init", "-q", "-b", "main"]);
    commit(sb.path(), "one");
    let m = sb.run(&["plan", "--ref", "HEAD", "--output", "github-matrix", "--runners", r#"{"Windows": "windows-2022"}"#]).code(0).json();
    assert_eq!(m["include"][0]["runner"], "self-hosted-x64");
    // a bad --runners is a usage error
    let bad = sb.run(&["plan", "--output", "github-matrix", "--runners", "[]"]);
    bad.code(2);
    assert!(bad.stderr.contains("expected a JSON object"), "{}", bad.stderr);
}

/// The image's metadata step, run as GitHub's bash runs it in a repository whose commit was
/// made at a known time, writes source, revision and created (UTC, RFC 3339); the Linux build
/// puts them in labels and manifest annotations, the Windows build in labels.
#[test]
fn every_build_is_labelled_with_its_source_revision_and_time() {
    let doc = load("publish.yml");
    let steps = doc["jobs"]["build-level0"]["steps"].as_sequence().expect("steps").clone();
    let meta = steps.iter().find(|st| st.get("id").map(s) == Some("meta")).expect("a step with id meta");
    let build = steps.iter().find(|st| st.get("uses").map(s).is_some_and(|u| u.starts_with("docker/build-push-action@"))).expect("the buildx step");
    for key in ["source", "revision", "created"] {
        let value = format!("org.opencontainers.image.{key}=${{{{ steps.meta.outputs.{key} }}}}");
        assert!(s(&build["with"]["labels"]).lines().any(|l| l == value), "label {key}: {:?}", build["with"]["labels"]);
        assert!(s(&build["with"]["annotations"]).lines().any(|l| l == format!("manifest:{value}")), "annotation {key}");
    }
    let windows = steps.iter().find(|st| st.get("if").map(s) == Some("runner.os == 'Windows'")).expect("the Windows build");
    for (key, var) in [("source", "SOURCE"), ("revision", "REVISION"), ("created", "CREATED")] {
        assert!(s(&windows["run"]).contains(&format!("--label \"org.opencontainers.image.{key}=${var}\"")), "{key}");
        assert_eq!(windows["env"][var], Value::from(format!("${{{{ steps.meta.outputs.{key} }}}}")));
    }
    // run it
    let sb = Sandbox::new();
    sb.write("README.md", "fleet\n");
    let dir = sb.path();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", "-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(dir)
            .env("GIT_COMMITTER_DATE", "2026-12-02T08:15:30+02:00")
            .output()
            .expect("git");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "one"]);
    let sha = git(&["rev-parse", "HEAD"]);
    let output = dir.join("github-output");
    let run = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", s(&meta["run"])])
        .current_dir(dir)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "acme/build-images")
        .env("GITHUB_SHA", &sha)
        .env("GITHUB_OUTPUT", &output)
        .output()
        .expect("bash");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let written = std::fs::read_to_string(&output).expect("outputs");
    assert_eq!(written, format!("source=https://github.com/acme/build-images\nrevision={sha}\ncreated=2026-12-02T06:15:30Z\n"));
}
