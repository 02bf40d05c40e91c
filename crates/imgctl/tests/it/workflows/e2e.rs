//! The lifecycle the workflows run, end to end against a real registry, with the very
//! command lines of the YAML (variables substituted): publish.yml's plan and per-level
//! publish, promote.yml's fast-forward script and promote, rollback.yml's rollback.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::{Invocation, expand, invocations, load};
use crate::fleet::{Fleet, SINGLE, VARIANTS, git};
use crate::support::Run;

const T0: &str = "2026-11-02T09:00:00Z";

pub(super) fn t(hours: u32) -> String {
    (chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::TimeDelta::hours(i64::from(hours))).to_rfc3339()
}

/// The one invocation of `workflow`'s `job` whose text contains `needle`.
pub(super) fn the(workflow: &str, job: &str, needle: &str) -> Invocation {
    let found: Vec<Invocation> = invocations(workflow, &load(workflow)).into_iter().filter(|i| i.job == job && i.raw.contains(needle)).collect();
    assert_eq!(found.len(), 1, "{workflow}/{job}: one `{needle}` invocation, found {found:?}");
    found.into_iter().next().unwrap()
}

/// The `run:` script of the step named `step` of `job`.
pub(super) fn script(workflow: &str, job: &str, step: &str) -> String {
    let doc = load(workflow);
    let steps = doc["jobs"][job]["steps"].as_sequence().expect("steps").clone();
    let st = steps.iter().find(|s| s.get("name").and_then(|n| n.as_str()) == Some(step)).unwrap_or_else(|| panic!("{workflow}/{job}: no step '{step}'"));
    st["run"].as_str().expect("run").to_string()
}

pub(super) struct Lab {
    pub(super) f: Fleet,
    pub(super) summary: std::path::PathBuf,
    _origin: tempfile::TempDir,
}

impl Lab {
    /// Runs an extracted invocation with `vars` for its shell variables (others are a bug).
    pub(super) fn imgctl(&self, now: &str, inv: &Invocation, vars: &[(&str, &str)]) -> Run {
        self.imgctl_with(now, inv, vars, &[])
    }

    /// [`Lab::imgctl`] with more environment variables (a step's `env:`, the runner's).
    pub(super) fn imgctl_with(&self, now: &str, inv: &Invocation, vars: &[(&str, &str)], envs: &[(&str, &str)]) -> Run {
        let vars: BTreeMap<&str, &str> = vars.iter().copied().collect();
        let words = expand(&inv.raw, &|n| vars.get(n).map(|v| v.to_string()).unwrap_or_else(|| panic!("{}: no value for ${n} in `{}`", inv.workflow, inv.raw)));
        let out = self.f.sb.cmd()
            .env("IMGCTL_NOW", now)
            .env("IMGCTL_INSECURE_REGISTRIES", &self.f.host)
            .env("GITHUB_STEP_SUMMARY", &self.summary)
            .envs(envs.iter().copied())
            .args(&words[1..])
            .output()
            .expect("run imgctl");
        Run::from(out)
    }

    /// Runs promote.yml's fast-forward step as GitHub's bash would.
    pub(super) fn advance(&self, hold: &str) -> Run {
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script("promote.yml", "advance", "fast-forward production")])
            .current_dir(self.f.sb.path())
            .env("HOME", self.f.sb.path().join("home"))
            .env("HOLD", hold)
            .env("GITHUB_STEP_SUMMARY", &self.summary)
            .output()
            .expect("run bash");
        Run::from(out)
    }

    fn origin(&self, branch: &str) -> String {
        git(self.f.sb.path(), &["ls-remote", "origin", &format!("refs/heads/{branch}")]).split_whitespace().next().unwrap_or_default().to_string()
    }

    pub(super) fn head(&self) -> String {
        git(self.f.sb.path(), &["rev-parse", "HEAD"])
    }

    pub(super) fn commit_on_main(&self, file: &str, text: &str) {
        self.f.sb.write(file, text);
        git(self.f.sb.path(), &["add", "-A"]);
        git(self.f.sb.path(), &["commit", "-qm", &format!("change {file}")]);
        git(self.f.sb.path(), &["push", "-q", "origin", "main"]);
    }

    /// publish.yml for one push: the plan job's commands, then each level's publish command
    /// per matrix entry. Returns the digest built per variant.
    pub(super) fn publish(&self, now: &str, since: &str, seed: u64) -> BTreeMap<String, String> {
        let sha = self.head();
        let doc = load("publish.yml");
        let levels = doc["jobs"].as_mapping().unwrap().keys().filter(|k| k.as_str().is_some_and(|k| k.starts_with("build-level"))).count();
        let plan_script = script("publish.yml", "plan", "imgctl plan");
        assert!(plan_script.contains(&format!("LEVELS={levels}\n")) && plan_script.contains("for n in $(seq 0 $((LEVELS - 1))); do"), "the plan step's loop covers the {levels} build-level jobs");
        let vars = [("GITHUB_SHA", sha.as_str()), ("SINCE", since)];
        let json = self.imgctl(now, &the("publish.yml", "plan", "--output json"), &vars);
        assert!(json.code(0).json()["variants"].is_array());
        let matrix_cmd = the("publish.yml", "plan", "--output github-matrix");
        let mut entries = Vec::new();
        for n in 0..levels {
            let level = n.to_string();
            let m = self.imgctl(now, &matrix_cmd, &[vars[0], vars[1], ("n", &level)]);
            let doc = m.code(0).json();
            assert_eq!(doc.as_object().unwrap().len(), 1, "only `include`: {doc}");
            for e in doc["include"].as_array().unwrap() {
                assert_eq!(e["level"], n, "{doc}");
                entries.push(e.clone());
            }
        }
        let mut built = BTreeMap::new();
        for (k, e) in entries.iter().enumerate() {
            let variant = e["variant"].as_str().unwrap();
            let (dir, digest) = self.f.build(variant, seed + k as u64);
            let job = format!("build-level{}", e["level"]);
            let r = self.imgctl(now, &the("publish.yml", &job, "imgctl publish"), &[("VARIANT", variant), ("IMAGE", dir.to_str().unwrap()), ("GITHUB_SHA", &sha)]);
            r.code(0);
            assert_eq!(self.f.skopeo_digest(&format!("{variant}-staging")).as_deref(), Some(digest.as_str()), "{variant}-staging");
            built.insert(variant.to_string(), digest);
        }
        built
    }

    pub(super) fn latest(&self, variant: &str) -> Option<String> {
        self.f.skopeo_digest(&format!("{variant}-latest"))
    }
}

pub(super) fn lab() -> Lab {
    let f = Fleet::new("72h");
    let origin = tempfile::tempdir().expect("tempdir");
    let bare = origin.path().join("fleet.git");
    git(f.sb.path(), &["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    git(f.sb.path(), &["remote", "add", "origin", bare.to_str().unwrap()]);
    git(f.sb.path(), &["fetch", "-q", "origin"]);
    let summary = f.sb.path().join("home/step-summary.md");
    Lab { f, summary, _origin: origin }
}

fn summary_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn the_workflows_command_lines_run_the_lifecycle_end_to_end() {
    let lab = lab();
    let promote = the("promote.yml", "promote", "imgctl promote");
    let rollback = the("rollback.yml", "rollback", "imgctl rollback");
    let status = the("promote.yml", "promote", "imgctl status");
    let scheduled = [("CHANNEL", ""), ("VARIANT", ""), ("FORCE", ""), ("SKIP_VERIFY", ""), ("DRY_RUN", "")];

    // push to main: build 1 of every variant → staging
    let first = lab.publish(&t(0), "", 10);
    assert_eq!(first.keys().map(String::as_str).collect::<Vec<_>>().len(), VARIANTS.len(), "{first:?}");

    // Wednesday: held → production stays; not held → fast-forwarded to main
    let before = lab.origin("production");
    lab.commit_on_main("NOTES.md", "unrelated\n");
    let r = lab.advance("true");
    r.code(0);
    assert!(r.stdout.contains("rollout held"), "{}", r.stdout);
    assert_eq!(lab.origin("production"), before);
    lab.advance("").code(0);
    assert_eq!(lab.origin("production"), lab.origin("main"));

    // promote: too fresh an hour in, moved after the 72h soak
    lab.imgctl(&t(1), &promote, &scheduled).code(0);
    assert_eq!(lab.latest(SINGLE), None);
    let written = summary_len(&lab.summary);
    lab.imgctl(&t(73), &promote, &scheduled).code(0);
    assert!(summary_len(&lab.summary) > written, "promote appends its report to the step summary");
    for (v, d) in &first {
        assert_eq!(lab.latest(v).as_ref(), Some(d), "{v}-latest");
    }
    lab.imgctl(&t(73), &status, &[]).code(0);

    // build 2 on main, published, fast-forwarded and promoted after its soak
    let since = lab.head();
    lab.commit_on_main("src/helix/Dockerfile", "FROM ubuntu:22.04\nRUN echo build 2\n");
    lab.commit_on_main("src/multi/Dockerfile", "FROM ubuntu:22.04\nRUN echo multi 2\n");
    let second = lab.publish(&t(74), &since, 20);
    assert_eq!(second.len(), VARIANTS.len(), "{second:?}");
    lab.advance("").code(0);
    lab.imgctl(&t(150), &promote, &scheduled).code(0);
    assert_eq!(lab.latest(SINGLE).as_ref(), Some(&second[SINGLE]));

    // rollback.yml with only `variant`: back to build 1, and the schedule does not undo it
    lab.imgctl(&t(151), &rollback, &[("VARIANT", SINGLE), ("CHANNEL", ""), ("TO", ""), ("REASON", ""), ("DRY_RUN", "")]).code(0);
    assert_eq!(lab.latest(SINGLE).as_ref(), Some(&first[SINGLE]));
    lab.imgctl(&t(152), &promote, &scheduled).code(0);
    assert_eq!(lab.latest(SINGLE).as_ref(), Some(&first[SINGLE]), "a rolled-back digest is not re-promoted");

    // dispatch with variant + force: un-rejects and re-promotes build 2
    lab.imgctl(&t(153), &promote, &[("CHANNEL", ""), ("VARIANT", SINGLE), ("FORCE", "true"), ("SKIP_VERIFY", ""), ("DRY_RUN", "")]).code(0);
    assert_eq!(lab.latest(SINGLE).as_ref(), Some(&second[SINGLE]));

    // rollback with channel and to; dry_run changes nothing
    let to = [("VARIANT", SINGLE), ("CHANNEL", "latest"), ("TO", first[SINGLE].as_str()), ("REASON", "grpc tests fail on build 2")];
    lab.imgctl(&t(154), &rollback, &[to[0], to[1], to[2], to[3], ("DRY_RUN", "true")]).code(0);
    assert_eq!(lab.latest(SINGLE).as_ref(), Some(&second[SINGLE]));
    let back = lab.imgctl(&t(154), &rollback, &[to[0], to[1], to[2], to[3], ("DRY_RUN", "")]);
    assert!(back.code(0).stdout.contains("grpc tests fail on build 2"), "the reason input reaches the report: {}", back.stdout);
    assert_eq!(lab.latest(SINGLE).as_ref(), Some(&first[SINGLE]));

    // a production that diverged from main is never merged or forced: the run fails, saying how
    let dir = lab.f.sb.path();
    let hotfix = git(dir, &["commit-tree", "origin/production^{tree}", "-p", "origin/production", "-m", "hotfix on production"]);
    git(dir, &["push", "-q", "origin", &format!("{hotfix}:refs/heads/production")]);
    let r = lab.advance("");
    r.code(1);
    assert!(r.stdout.contains("diverged") && r.stdout.contains("Reconcile"), "{}", r.stdout);
    assert_eq!(lab.origin("production"), hotfix, "production untouched");
}

/// Three rings through the reusable workflows' own command lines: publish.yml's plan and
/// publish, promote.yml's fast-forward and promote (twice, no channel input: every ring in
/// chain order; then `channel: canary` alone), rollback.yml with only `variant` (the
/// consumers' channel), promote.yml's status; the step summary names each ring's rows.
#[test]
fn three_rings_run_through_the_reusable_workflows() {
    let lab = lab();
    let first = lab.publish(&t(0), "", 40);
    lab.f.sb.write(
        "manifests/images.yaml",
        &std::fs::read_to_string(lab.f.sb.path().join("manifests/images.yaml")).unwrap().replace(
            "  latest: { suffix: \"-latest\", branch: production, newVariants: soak, promotesFrom: staging, soak: 72h }",
            "  canary: { suffix: \"-canary\", newVariants: soak, promotesFrom: staging, soak: 24h }\n  latest: { suffix: \"-latest\", branch: production, newVariants: soak, promotesFrom: canary, soak: 24h }",
        ),
    );
    assert!(std::fs::read_to_string(lab.f.sb.path().join("manifests/images.yaml")).unwrap().contains("-canary"), "the fixture's channels changed shape");
    lab.commit_on_main("NOTES.md", "rings\n");
    let promote = the("promote.yml", "promote", "imgctl promote");
    let rollback = the("rollback.yml", "rollback", "imgctl rollback");
    let status = the("promote.yml", "promote", "imgctl status");
    let all = [("CHANNEL", ""), ("VARIANT", ""), ("FORCE", ""), ("SKIP_VERIFY", ""), ("DRY_RUN", "")];
    lab.advance("").code(0);
    let canary = |v: &str| lab.f.skopeo_digest(&format!("{v}-canary"));
    // day 1: canary takes the builds; latest judged canary as it was before the run
    lab.imgctl(&t(25), &promote, &all).code(0);
    assert_eq!((canary(SINGLE).as_ref(), lab.latest(SINGLE)), (Some(&first[SINGLE]), None));
    let summary = std::fs::read_to_string(&lab.summary).unwrap();
    assert!(summary.contains("canary ← main") && summary.contains("latest ← origin/production"), "{summary}");
    // day 2: latest follows
    lab.imgctl(&t(50), &promote, &all).code(0);
    assert_eq!(lab.latest(SINGLE).as_ref(), Some(&first[SINGLE]));
    // build 2: `channel: canary` moves canary only
    let since = lab.head();
    lab.commit_on_main("src/helix/Dockerfile", "FROM ubuntu:22.04\nRUN echo ring 2\n");
    let second = lab.publish(&t(51), &since, 50);
    lab.advance("").code(0);
    lab.imgctl(&t(76), &promote, &[("CHANNEL", "canary"), all[1], all[2], all[3], all[4]]).code(0);
    assert_eq!((canary(SINGLE).as_ref(), lab.latest(SINGLE).as_ref()), (Some(&second[SINGLE]), Some(&first[SINGLE])));
    lab.imgctl(&t(101), &promote, &all).code(0);
    assert_eq!(lab.latest(SINGLE).as_ref(), Some(&second[SINGLE]));
    // rollback.yml with only `variant`: the consumers' channel goes back, canary stays
    lab.imgctl(&t(102), &rollback, &[("VARIANT", SINGLE), ("CHANNEL", ""), ("TO", ""), ("REASON", ""), ("DRY_RUN", "")]).code(0);
    assert_eq!((canary(SINGLE).as_ref(), lab.latest(SINGLE).as_ref()), (Some(&second[SINGLE]), Some(&first[SINGLE])));
    let st = lab.imgctl(&t(103), &status, &[]).code(0).stdout.clone();
    assert!(st.contains("canary: up to date") && st.contains("rejected"), "{st}");
}
