//! The announcements as the workflows make them: promote.yml's and rollback.yml's command
//! lines (their `--output json` results, kept as the `| tee "$RESULTS"` would, then the
//! announce job's `imgctl announce`) against a real registry and the test kit's stand-in for
//! GitHub's Issues API: one `[ROLLOUT]` issue per day, updated (never duplicated) by reruns;
//! one comment per rollback on `[ROLLBACK] VARIANT`, none added by a rerun; GitHub's
//! refusals told with the endpoint, the status and what to do, the moves left as they are.

use std::process::Command;

use imgctl_testkit::github::{GithubIssues, IssueRights};
use serde_json::Value;

use super::e2e::{Lab, lab, script, t, the};
use super::Invocation;
use crate::fleet::{ARM, MULTI, SINGLE, VARIANTS};
use crate::support::Run;

const FLEET_REPO: &str = "acme/fleet";
const WRITER: &str = "ghs_writer";
const READER: &str = "ghs_reader";
const SITE: &str = "https://acme.github.io/fleet/";

/// The GitHub side of a workflow run: the stand-in, the token and the run's id.
struct Github<'a> {
    gh: &'a GithubIssues,
    token: &'a str,
    run: &'a str,
}

impl Github<'_> {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("GITHUB_API_URL", self.gh.url()),
            ("GITHUB_TOKEN", self.token.to_string()),
            ("GITHUB_REPOSITORY", FLEET_REPO.to_string()),
            ("GITHUB_SERVER_URL", "https://github.com".to_string()),
            ("GITHUB_RUN_ID", self.run.to_string()),
        ]
    }
}

/// Runs `step`'s imgctl command and keeps its stdout as RESULTS (the step's `| tee`).
fn run_and_keep(lab: &Lab, now: &str, inv: &Invocation, vars: &[(&str, &str)], results: &std::path::Path) -> Run {
    let r = lab.imgctl(now, inv, vars);
    std::fs::write(results, &r.stdout).expect("write results");
    r
}

/// The announce job's command line of `workflow`, run with `gh`.
fn announce(lab: &Lab, now: &str, workflow: &str, results: &std::path::Path, gh: &Github<'_>) -> Run {
    let inv = the(workflow, "announce", "imgctl announce");
    let env = gh.env();
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    lab.imgctl_with(now, &inv, &[("RESULTS", results.to_str().unwrap()), ("SITE_URL", SITE)], &envs)
}

fn issues(gh: &GithubIssues) -> Vec<Value> {
    gh.issues()
}

fn writes(gh: &GithubIssues) -> usize {
    gh.requests().iter().filter(|r| !r.starts_with("GET ")).count()
}

fn page(digest: &str) -> String {
    format!("{SITE}digests/{}.html", digest.replacen(':', "-", 1))
}

/// promote.yml's "keep the results" step as GitHub's bash runs it: `written=true` only for
/// a non-empty results file (a run that failed before printing announces nothing).
fn kept(lab: &Lab, results: &std::path::Path) -> bool {
    let out = lab.f.sb.path().join("home/github-output");
    let _ = std::fs::remove_file(&out);
    let status = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script("promote.yml", "promote", "keep the results")])
        .env("RESULTS", results)
        .env("GITHUB_OUTPUT", &out)
        .status()
        .expect("run bash");
    assert!(status.success());
    std::fs::read_to_string(&out).unwrap_or_default().trim() == "written=true"
}

#[test]
fn rollouts_and_rollbacks_are_announced_once_through_the_workflows_command_lines() {
    let lab = lab();
    let gh = GithubIssues::start(FLEET_REPO, &[(WRITER, IssueRights::Write), (READER, IssueRights::Read)]);
    let promote = the("promote.yml", "promote", "imgctl promote");
    let rollback = the("rollback.yml", "rollback", "imgctl rollback");
    let all = [("CHANNEL", ""), ("VARIANT", ""), ("FORCE", ""), ("SKIP_VERIFY", ""), ("DRY_RUN", "")];
    let results = lab.f.sb.path().join("home/imgctl-results.json");
    let run1 = Github { gh: &gh, token: WRITER, run: "101" };

    // build 1 of every variant, soaked, promoted on Thursday 2026-11-05: one [ROLLOUT] issue
    let first = lab.publish(&t(0), "", 10);
    lab.advance("").code(0);
    run_and_keep(&lab, &t(73), &promote, &all, &results).code(0);
    assert!(kept(&lab, &results));
    let a = announce(&lab, &t(73), "promote.yml", &results, &run1);
    a.code(0);
    let is = issues(&gh);
    assert_eq!(is.len(), 1, "{is:?}");
    assert_eq!(is[0]["title"], "[ROLLOUT] 2026-11-05: 3 variants");
    assert_eq!(is[0]["labels"][0]["name"], "imgctl-rollout");
    let body = is[0]["body"].as_str().unwrap().to_string();
    for v in VARIANTS {
        let row = format!("| `{v}` | latest | — | `{}` | [changes]({}) |", first[v], page(&first[v]));
        assert!(body.contains(&row), "{row}\n{body}");
    }
    assert!(body.contains("[the workflow run](https://github.com/acme/fleet/actions/runs/101)"), "{body}");
    assert_eq!(a.stdout.matches("created").count(), 1, "{}", a.stdout);
    let summary = std::fs::read_to_string(&lab.summary).unwrap();
    assert!(summary.contains("### imgctl announce\n\n- [[ROLLOUT] 2026-11-05: 3 variants](https://github.com/acme/fleet/issues/1) (#1): created"), "{summary}");

    // the announce job re-run: the same issue, nothing written; a rerun of the whole job
    // (promote moves nothing now) announces nothing and asks GitHub nothing
    let before = (gh.requests().len(), writes(&gh));
    let inv = the("promote.yml", "announce", "imgctl announce");
    let env = run1.env();
    let mut envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    envs.push(("IMGCTL_OUTPUT", "json"));
    let again = lab.imgctl_with(&t(73), &inv, &[("RESULTS", results.to_str().unwrap()), ("SITE_URL", SITE)], &envs);
    let doc = again.code(0).json();
    assert_eq!((doc["kind"].as_str(), doc["repository"].as_str(), doc["moves"].as_u64()), (Some("rollout"), Some(FLEET_REPO), Some(3)), "{doc}");
    let made = &doc["announcements"][0];
    assert_eq!((made["issue"].as_u64(), made["action"].as_str(), made["url"].as_str()), (Some(1), Some("unchanged"), Some("https://github.com/acme/fleet/issues/1")), "{doc}");
    assert!(!again.stdout.contains(WRITER) && !again.stderr.contains(WRITER), "the token never shows");
    assert_eq!((issues(&gh).len(), writes(&gh)), (1, before.1), "unchanged: no second issue, no write");
    run_and_keep(&lab, &t(73), &promote, &all, &results).code(0);
    let quiet = gh.requests().len();
    let n = announce(&lab, &t(73), "promote.yml", &results, &run1);
    assert!(n.code(0).stdout.contains("nothing moved: nothing announced"), "{}", n.stdout);
    assert_eq!(gh.requests().len(), quiet, "a run that moved nothing announces nothing");
    assert!(before.0 < quiet);

    // the same day, build 2 of the helix variants forced out for SINGLE: the day's issue
    // is updated to list it too — still one issue
    let since = lab.head();
    lab.commit_on_main("src/helix/Dockerfile", "FROM ubuntu:22.04\nRUN echo build 2\n");
    let second = lab.publish(&t(74), &since, 20);
    lab.advance("").code(0);
    run_and_keep(&lab, &t(75), &promote, &[("CHANNEL", ""), ("VARIANT", SINGLE), ("FORCE", "true"), ("SKIP_VERIFY", ""), ("DRY_RUN", "")], &results).code(0);
    let run2 = Github { run: "102", ..run1 };
    let u = announce(&lab, &t(75), "promote.yml", &results, &run2);
    assert!(u.code(0).stdout.contains("updated"), "{}", u.stdout);
    let is = issues(&gh);
    assert_eq!(is.len(), 1, "updated, not duplicated");
    let body = is[0]["body"].as_str().unwrap();
    assert!(body.contains(&format!("| `{SINGLE}` | latest | `{}` | `{}` | [changes]({}) |", first[SINGLE], second[SINGLE], page(&second[SINGLE]))), "{body}");
    assert_eq!(body.matches("\n| `").count(), 4, "the first run's three moves and this one: {body}");
    for v in [ARM, MULTI] {
        assert!(body.contains(&format!("| `{v}` | latest | — | `{}`", first[v])), "{v} kept: {body}");
    }

    // a rollback with a reason: one [ROLLBACK] issue, one comment with from/to and the reason
    let reason = "grpc tests fail on build 2";
    let back = [("VARIANT", SINGLE), ("CHANNEL", ""), ("TO", ""), ("REASON", reason), ("DRY_RUN", "")];
    run_and_keep(&lab, &t(76), &rollback, &back, &results).code(0);
    assert_eq!(lab.latest(SINGLE).as_ref(), Some(&first[SINGLE]));
    let run3 = Github { run: "103", ..run1 };
    let c = announce(&lab, &t(76), "rollback.yml", &results, &run3);
    assert!(c.code(0).stdout.contains("commented"), "{}", c.stdout);
    let rb: Vec<Value> = issues(&gh).into_iter().filter(|i| i["title"] == format!("[ROLLBACK] {SINGLE}")).collect();
    assert_eq!(rb.len(), 1);
    assert_eq!(rb[0]["labels"][0]["name"], "imgctl-rollback");
    let comments = rb[0]["comment_list"].as_array().unwrap().clone();
    assert_eq!(comments.len(), 1);
    let text = comments[0]["body"].as_str().unwrap();
    assert!(text.contains(&format!("- from: `{}` ([page]({}))", second[SINGLE], page(&second[SINGLE]))), "{text}");
    assert!(text.contains(&format!("- to: `{}` ([page]({}))", first[SINGLE], page(&first[SINGLE]))), "{text}");
    assert!(text.contains(&format!("- reason: {reason}")) && text.contains("2026-11-05 13:00 UTC"), "{text}");
    // re-run: still one comment
    let again = announce(&lab, &t(77), "rollback.yml", &results, &run3);
    assert!(again.code(0).stdout.contains("already-commented"), "{}", again.stdout);
    assert_eq!(issues(&gh).iter().find(|i| i["title"] == format!("[ROLLBACK] {SINGLE}")).unwrap()["comment_list"].as_array().unwrap().len(), 1);

    // build 2 forced back out, then a second rollback (another run, its own reason): a
    // second comment on the same issue
    run_and_keep(&lab, &t(78), &promote, &[("CHANNEL", ""), ("VARIANT", SINGLE), ("FORCE", "true"), ("SKIP_VERIFY", ""), ("DRY_RUN", "")], &results).code(0);
    run_and_keep(&lab, &t(79), &rollback, &[("VARIANT", SINGLE), ("CHANNEL", "latest"), ("TO", first[SINGLE].as_str()), ("REASON", "still broken"), ("DRY_RUN", "")], &results).code(0);
    let run4 = Github { run: "104", ..run1 };
    announce(&lab, &t(79), "rollback.yml", &results, &run4).code(0);
    announce(&lab, &t(79), "rollback.yml", &results, &run4).code(0);
    let is = issues(&gh);
    let rb: Vec<&Value> = is.iter().filter(|i| i["title"] == format!("[ROLLBACK] {SINGLE}")).collect();
    assert_eq!(rb.len(), 1, "one issue per variant while it is open");
    let comments = rb[0]["comment_list"].as_array().unwrap();
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert!(comments[1]["body"].as_str().unwrap().contains("- reason: still broken"));

    // site.yml's command line renders the site the links point into: every digest page an
    // announcement links to is there (each is a channel's current or previous digest)
    let site = the("site.yml", "build", "imgctl site");
    lab.imgctl(&t(80), &site, &[("CONSUMERS", "")]).code(0);
    let out = lab.f.sb.path().join("_site");
    assert!(out.join("index.html").is_file());
    let mut linked = 0;
    for issue in issues(&gh) {
        let texts = std::iter::once(issue["body"].as_str().unwrap_or_default().to_string()).chain(issue["comment_list"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap().to_string()));
        for text in texts {
            let pages = text.split(SITE).skip(1).map(|rest| rest.split([')', ']']).next().unwrap()).filter(|l| l.starts_with("digests/") || l.starts_with("variants/"));
            for link in pages {
                assert!(out.join(link).is_file(), "{link} (linked from issue #{}) is not in the site", issue["number"]);
                linked += 1;
            }
        }
    }
    assert!(linked >= 8, "{linked}");
}

#[test]
fn refusals_name_the_endpoint_and_the_fix_and_leave_the_moves() {
    let lab = lab();
    let gh = GithubIssues::start(FLEET_REPO, &[(WRITER, IssueRights::Write), (READER, IssueRights::Read)]);
    let promote = the("promote.yml", "promote", "imgctl promote");
    let results = lab.f.sb.path().join("home/imgctl-results.json");
    let first = lab.publish(&t(0), "", 30);
    lab.advance("").code(0);
    // a dry run and a run that failed before printing announce nothing
    run_and_keep(&lab, &t(73), &promote, &[("CHANNEL", ""), ("VARIANT", ""), ("FORCE", ""), ("SKIP_VERIFY", ""), ("DRY_RUN", "true")], &results).code(0);
    let dry = announce(&lab, &t(73), "promote.yml", &results, &Github { gh: &gh, token: WRITER, run: "1" });
    assert!(dry.code(0).stdout.contains("nothing moved"), "{}", dry.stdout);
    assert!(gh.requests().is_empty());
    std::fs::write(&results, "").unwrap();
    assert!(!kept(&lab, &results), "an empty results file is not uploaded, so no announce job runs");

    run_and_keep(&lab, &t(73), &promote, &[("CHANNEL", ""), ("VARIANT", ""), ("FORCE", ""), ("SKIP_VERIFY", ""), ("DRY_RUN", "")], &results).code(0);
    let moved = || VARIANTS.iter().all(|v| lab.latest(v).as_ref() == Some(&first[*v]));
    assert!(moved());
    // the job without `issues: write`: 403, exit 3, the permission to add
    let r = announce(&lab, &t(73), "promote.yml", &results, &Github { gh: &gh, token: READER, run: "2" });
    r.code(3);
    for want in ["create an issue: POST 127.0.0.1:", "/repos/acme/fleet/issues", "HTTP 403", "Resource not accessible by integration", "permissions: issues: write", "the moves themselves are done and stay"] {
        assert!(r.stderr.contains(want), "{want}: {}", r.stderr);
    }
    assert!(!r.stderr.contains(READER), "the token never shows: {}", r.stderr);
    // not even in the most verbose logs
    let inv = the("promote.yml", "announce", "imgctl announce");
    let env = Github { gh: &gh, token: READER, run: "2" }.env();
    let mut envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    envs.push(("IMGCTL_LOG", "trace"));
    let traced = lab.imgctl_with(&t(73), &inv, &[("RESULTS", results.to_str().unwrap()), ("SITE_URL", SITE)], &envs);
    traced.code(3);
    assert!(traced.stderr.contains("/repos/acme/fleet/issues") && !traced.stderr.contains(READER), "{}", traced.stderr);
    // a bad token: 401, exit 3
    let r = announce(&lab, &t(73), "promote.yml", &results, &Github { gh: &gh, token: "ghs_revoked", run: "2" });
    r.code(3);
    assert!(r.stderr.contains("list issues: GET") && r.stderr.contains("HTTP 401") && r.stderr.contains("Bad credentials") && !r.stderr.contains("ghs_revoked"), "{}", r.stderr);
    // issues turned off: 410, exit 1, how to turn them on or stop announcing
    gh.set_issues_enabled(false);
    let r = announce(&lab, &t(73), "promote.yml", &results, &Github { gh: &gh, token: WRITER, run: "2" });
    r.code(1);
    assert!(r.stderr.contains("HTTP 410") && r.stderr.contains("Issues are disabled for this repo") && r.stderr.contains("announce: false"), "{}", r.stderr);
    assert!(issues(&gh).is_empty());
    assert!(moved(), "an announcement that failed leaves the moves as they are");
    // fixed: the re-run announces it, once
    gh.set_issues_enabled(true);
    announce(&lab, &t(73), "promote.yml", &results, &Github { gh: &gh, token: WRITER, run: "2" }).code(0);
    announce(&lab, &t(73), "promote.yml", &results, &Github { gh: &gh, token: WRITER, run: "2" }).code(0);
    assert_eq!(issues(&gh).len(), 1);
    // --dry-run prints the text and asks GitHub nothing
    let asked = gh.requests().len();
    let dry = lab.f.sb.run(&["announce", "--results", results.to_str().unwrap(), "--kind", "rollout", "--repository", FLEET_REPO, "--dry-run"]);
    assert!(dry.code(0).stdout.starts_with("[ROLLOUT] 2026-11-21: 3 variants\n\n<!-- imgctl:rollout 2026-11-21 -->"), "{}", dry.stdout);
    assert!(dry.stdout.contains("dry run: nothing sent to acme/fleet"), "{}", dry.stdout);
    assert_eq!(gh.requests().len(), asked);
    // an unknown repository: 404, exit 1, naming it
    let inv = the("promote.yml", "announce", "imgctl announce");
    let r = lab.imgctl_with(&t(73), &inv, &[("RESULTS", results.to_str().unwrap()), ("SITE_URL", "")], &[("GITHUB_API_URL", &gh.url()), ("GITHUB_TOKEN", WRITER), ("GITHUB_REPOSITORY", "acme/gone")]);
    r.code(1);
    assert!(r.stderr.contains("HTTP 404") && r.stderr.contains("'acme/gone'"), "{}", r.stderr);
    // no repository named: a usage error
    let r = lab.imgctl_with(&t(73), &inv, &[("RESULTS", results.to_str().unwrap()), ("SITE_URL", "")], &[("GITHUB_API_URL", &gh.url()), ("GITHUB_TOKEN", WRITER)]);
    r.code(2);
    assert!(r.stderr.contains("--repository"), "{}", r.stderr);
    // results that are not promote's document: the file and where
    std::fs::write(&results, "{\"results\": [\n  {\"variant\": 3}\n]}").unwrap();
    let r = announce(&lab, &t(73), "promote.yml", &results, &Github { gh: &gh, token: WRITER, run: "2" });
    r.code(1);
    assert!(r.stderr.contains("imgctl-results.json") && r.stderr.contains("line 2"), "{}", r.stderr);
}
