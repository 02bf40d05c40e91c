//! `imgctl validate`: every problem in the manifest, OS definitions and tag schema,
//! each with `file:line:col`; GitHub annotations in Actions.

use std::io::{self, Write};

use clap::ValueEnum;
use imgctl_core::finding::{self, Finding, Severity};
use imgctl_core::graph::Graph;
use imgctl_core::runners::{self, Runners};
use imgctl_core::validate::{self, Options};
use serde::Serialize;

use crate::env::Env;
use crate::error::CmdResult;
use crate::exit;
use crate::fs_tree::FsTree;
use crate::output::{Report, emit};
use crate::workspace;

/// How findings are annotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `file:line:col: error: …` lines only.
    Plain,
    /// Also `::error file=…,line=…::` workflow commands (default under GITHUB_ACTIONS=true).
    Github,
}

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Treat operating systems past their end of life as errors.
    #[arg(long)]
    pub strict: bool,
    /// Annotation format (default: github under GITHUB_ACTIONS=true, else plain).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The publish workflow's runners (JSON: OS family or OperatingSystemId prefix → runner
    /// label): a variant with none is an error [default: the workflow's default].
    #[arg(long, env = "IMGCTL_RUNNERS", value_name = "JSON", value_parser = crate::commands::plan::parse_runners)]
    pub runners: Option<Runners>,
    /// Also compare with the manifest at git revision REV: a variant it had that is gone
    /// now without having been retired (`retired: DATE`) is an error.
    #[arg(long, value_name = "REV")]
    pub since: Option<String>,
}

/// The `validate` document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateReport {
    /// True when there is no error.
    pub ok: bool,
    /// Number of variants checked.
    pub variants: usize,
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
    /// Every finding, by file and line.
    pub findings: Vec<Finding>,
    #[serde(skip)]
    github: bool,
}

impl Report for ValidateReport {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        for f in &self.findings {
            writeln!(w, "{f}")?;
        }
        if self.github {
            for f in &self.findings {
                let level = if f.severity == Severity::Error { "error" } else { "warning" };
                writeln!(w, "::{level} file={},line={},col={},title=imgctl validate ({})::{}", escape_prop(&f.file), f.line, f.column, f.code, escape_data(&f.message))?;
            }
        }
        let verdict = if self.ok { "ok" } else { "failed" };
        writeln!(w, "validate {verdict}: {} variants, {} errors, {} warnings", self.variants, self.errors, self.warnings)
    }
}

/// Variants of the manifest at `rev` deleted since without being retired.
fn removed_since(env: &Env<'_>, fleet: &imgctl_core::Fleet, rev: &str) -> Result<Vec<Finding>, crate::error::CliError> {
    let repo = crate::rollout::repo(env)?;
    let before = repo.snapshot_at(rev).map_err(crate::commands::plan::git_error)?;
    Ok(before.map(|s| validate::removed_since(&s.fleet, fleet, rev)).unwrap_or_default())
}

/// Escapes a workflow-command message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow-command property.
fn escape_prop(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Runs `validate`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let loaded = workspace::load(env)?;
    let mut findings = loaded.findings;
    let today = env.now().date_naive();
    let mut variants = 0;
    if let Some(fleet) = &loaded.fleet {
        variants = fleet.manifest.variants.len();
        findings.extend(validate::validate(fleet, &FsTree, Options { today, strict: args.strict }));
        findings.extend(imgctl_core::schedule_check::check(fleet, &promote_workflows(env)));
        // what the shipped publish workflow could not build (levels, runners)
        let runners = args.runners.unwrap_or_else(runners::default_runners);
        findings.extend(runners::check(fleet, &Graph::build(fleet, &FsTree), &runners));
        if let Some(rev) = &args.since {
            findings.extend(removed_since(env, fleet, rev)?);
        }
    }
    finding::sort(&mut findings);
    let errors = findings.iter().filter(|f| f.is_error()).count();
    let github = match args.format {
        Some(Format::Github) => true,
        Some(Format::Plain) => false,
        None => env.facts.github_actions,
    };
    let report = ValidateReport { ok: errors == 0, variants, errors, warnings: findings.len() - errors, findings, github };
    emit(env, &report)?;
    Ok(if report.ok { exit::SUCCESS } else { exit::FAILED })
}

/// The repository's workflow files (`.github/workflows/*.yml`), to check channel
/// schedules against; none outside a git repository.
fn promote_workflows(env: &Env<'_>) -> Vec<imgctl_core::schedule_check::Workflow> {
    let Ok(repo) = crate::rollout::repo(env) else { return Vec::new() };
    let dir = repo.root().join(".github/workflows");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut out: Vec<imgctl_core::schedule_check::Workflow> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let name = p.file_name()?.to_string_lossy().to_string();
            Some(imgctl_core::schedule_check::Workflow { path: format!(".github/workflows/{name}"), text })
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}
