//! The GitHub workflows in `.github/workflows/`: actionlint passes (the action `action.yml`
//! too, through ci.yml), every `imgctl …` line in them parses against the real CLI, the
//! lifecycle workflows are reusable (`workflow_call`) with thin callers, and the triggers,
//! inputs, concurrency and permissions the operator's guide promises are there. `e2e` runs
//! their command lines against a registry; `build` runs publish.yml's plan step over the
//! real fixture; `announce` runs their announce jobs' command lines against the GitHub
//! stand-in. Split: `shell` reads the `imgctl` command lines out of the scripts,
//! `structure` checks triggers, inputs and permissions.

mod announce;
mod build;
mod e2e;
mod shell;
mod structure;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use shell::{Invocation, commands_in, expand, invocations};

use serde_yaml_ng::Value;

use crate::support::repo_root;

/// The workflows, by file name.
pub const WORKFLOWS: [&str; 14] = [
    "ci.yml",
    "release.yml",
    "pr-checks.yml",
    "publish.yml",
    "promote.yml",
    "rollback.yml",
    "cleanup.yml",
    "site.yml",
    "fleet-pr-checks.yml",
    "fleet-publish.yml",
    "fleet-promote.yml",
    "fleet-rollback.yml",
    "fleet-cleanup.yml",
    "fleet-site.yml",
];
/// The reusable lifecycle workflows (`on: workflow_call`); `fleet-<name>` calls each here.
pub const REUSABLE: [&str; 6] = ["pr-checks.yml", "publish.yml", "promote.yml", "rollback.yml", "cleanup.yml", "site.yml"];
/// The reusable workflows that announce (an `announce` job of their own, `issues: write`).
pub const ANNOUNCING: [&str; 2] = ["promote.yml", "rollback.yml"];
/// The ones that write to the registry (or to `production`).
pub const MUTATING: [&str; 4] = ["publish.yml", "promote.yml", "rollback.yml", "cleanup.yml"];
/// The weekly promotion's schedule, as docs/OPERATIONS.md documents it.
pub const PROMOTE_CRON: &str = "17 6 * * 3";

pub fn workflow_path(name: &str) -> PathBuf {
    repo_root().join(".github/workflows").join(name)
}

pub fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(workflow_path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("parse {name}: {e}"))
}

/// `on:` (YAML 1.1 readers turn the key into `true`; accept both).
pub fn triggers(doc: &Value) -> &Value {
    doc.get("on").or_else(|| doc.as_mapping().and_then(|m| m.get(Value::Bool(true)))).expect("workflow has `on:`")
}

pub fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

pub fn inputs(doc: &Value, trigger: &str) -> BTreeMap<String, Value> {
    triggers(doc)[trigger]["inputs"].as_mapping().unwrap_or_else(|| panic!("{trigger} inputs")).iter().map(|(k, v)| (s(k).to_string(), v.clone())).collect()
}

/// Checks a thin caller's one job against the reusable workflow it calls: it only calls
/// (no steps), names an `imgctl-version`, and passes only inputs and secrets that workflow
/// declares, every required one included. Returns the job's `with:`.
pub fn check_caller(caller: &str, doc: &Value, reusable: &str, uses_prefix: &str) -> BTreeMap<String, Value> {
    let jobs = doc["jobs"].as_mapping().expect("jobs");
    assert_eq!(jobs.len(), 1, "{caller}: one job");
    let job = jobs.values().next().unwrap();
    assert!(job.get("steps").is_none(), "{caller}: a thin caller has no steps of its own");
    let uses = s(&job["uses"]);
    assert!(uses.starts_with(&format!("{uses_prefix}{reusable}")), "{caller}: calls {reusable} ({uses})");
    let callee = load(reusable);
    let declared = inputs(&callee, "workflow_call");
    let with: BTreeMap<String, Value> = job["with"].as_mapping().expect("with").iter().map(|(k, v)| (s(k).to_string(), v.clone())).collect();
    for k in with.keys() {
        assert!(declared.contains_key(k), "{caller}: input '{k}' is not an input of {reusable}");
    }
    for (k, v) in &declared {
        if v["required"] == Value::Bool(true) {
            assert!(with.contains_key(k), "{caller}: required input '{k}' of {reusable} not given");
        }
    }
    assert!(with.contains_key("imgctl-version"), "{caller}: pins an imgctl version");
    if let Some(secrets) = job.get("secrets").and_then(Value::as_mapping) {
        let declared = triggers(&callee)["workflow_call"]["secrets"].as_mapping().cloned().unwrap_or_default();
        for k in secrets.keys() {
            assert!(declared.contains_key(k), "{caller}: secret '{}' is not a secret of {reusable}", s(k));
        }
    }
    with
}
