//! `imgctl plan`: the variants whose source id differs between two git revisions,
//! parents first (levels), as a table, the SPEC §4.1 JSON or a GitHub Actions matrix.

use std::collections::BTreeMap;
use std::io::{self, Write};

use imgctl_core::plan::{Plan, Reason, matrix};
use imgctl_core::runners::{self, Runners};
use imgctl_git::{GitError, Repo};
use serde::Serialize;
use tabled::Tabled;

use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;
use crate::global::OutputFormat;
use crate::output::{Report, emit, table};

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Revision to compare with [default: HEAD when --ref is the working tree, else the
    /// first parent of --ref].
    #[arg(long, value_name = "REV")]
    pub since: Option<String>,
    /// Revision to plan for (branch, tag, origin/production, sha, HEAD~1) [default: the
    /// working tree, uncommitted changes included].
    #[arg(long = "ref", value_name = "REV")]
    pub reference: Option<String>,
    /// Only the variants of this build level (0: no parent in the repository), to build
    /// level by level.
    #[arg(long, value_name = "N")]
    pub level: Option<usize>,
    /// Runner labels by OS family or OperatingSystemId prefix, as JSON, for the matrix's
    /// `runner` (a variant's own `runner:` wins) [default: the publish workflow's default].
    #[arg(long, env = "IMGCTL_RUNNERS", value_name = "JSON", value_parser = parse_runners)]
    pub runners: Option<Runners>,
}

/// `--runners`: a JSON object of runner labels (`runners::parse`).
pub fn parse_runners(text: &str) -> Result<Runners, String> {
    runners::parse(text)
}

/// The `plan` document (SPEC §4.1).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct PlanReport(pub Plan);

#[derive(Tabled)]
struct Row<'a> {
    #[tabled(rename = "LEVEL")]
    level: usize,
    #[tabled(rename = "VARIANT")]
    variant: &'a str,
    #[tabled(rename = "REASON")]
    reason: &'static str,
    #[tabled(rename = "SOURCE ID")]
    source_id: &'a str,
    #[tabled(rename = "DOCKERFILE")]
    dockerfile: &'a str,
}

fn reason(r: Reason) -> &'static str {
    match r {
        Reason::New => "new",
        Reason::Changed => "changed",
        Reason::ParentChanged => "parent-changed",
    }
}

impl Report for PlanReport {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        let p = &self.0;
        let since = p.since.as_deref().map_or("nothing (every variant is new)".to_string(), short);
        writeln!(w, "plan for {} since {since}", short(&p.reference))?;
        if p.variants.is_empty() {
            writeln!(w, "nothing to build")?;
        } else {
            let rows = p.variants.iter().map(|e| Row {
                level: e.level,
                variant: &e.variant,
                reason: reason(e.reason),
                source_id: &e.source_id,
                dockerfile: &e.dockerfile,
            });
            writeln!(w, "{}", table(rows))?;
            let levels = p.variants.iter().map(|e| e.level).max().map_or(0, |m| m + 1);
            writeln!(w, "{} variant(s) to build in {levels} level(s)", p.variants.len())?;
        }
        for r in &p.removed {
            writeln!(w, "removed: {r}")?;
        }
        Ok(())
    }
}

fn short(rev: &str) -> String {
    if rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) { rev[..12].to_string() } else { rev.to_string() }
}

/// A git error as the CLI reports it; invalid revisions list every finding in the log.
pub fn git_error(e: GitError) -> CliError {
    if let GitError::Invalid { findings, .. } = &e {
        for f in findings {
            tracing::error!("{f}");
        }
    }
    CliError::Input(e.to_string())
}

/// Runs `plan`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let repo = crate::rollout::repo(env)?;
    let mut plan = repo.plan(args.since.as_deref(), args.reference.as_deref()).map_err(git_error)?;
    if let Some(level) = args.level {
        plan.variants.retain(|e| e.level == level);
    }
    tracing::info!("{} variant(s) to build, {} removed", plan.variants.len(), plan.removed.len());
    if env.global.output == OutputFormat::GithubMatrix {
        // one line, so it can go to $GITHUB_OUTPUT as `matrix=…`
        let runners = args.runners.unwrap_or_else(runners::default_runners);
        let m = matrix(&plan, None, &runners).map_err(|e| CliError::Input(e.to_string()))?;
        serde_json::to_writer(&mut *env.out, &m).map_err(io::Error::other)?;
        writeln!(env.out)?;
    } else {
        emit(env, &PlanReport(plan))?;
    }
    Ok(exit::SUCCESS)
}

/// Source ids of the working tree's variants (by base tag), for `tags`; empty, with a
/// warning in the log, when the manifest is not in a git repository or has errors.
pub fn working_tree_ids(env: &Env<'_>) -> BTreeMap<String, String> {
    let snapshot = Repo::open_for(&env.global.manifest).and_then(|r| r.snapshot_worktree());
    match snapshot {
        Ok(Some(s)) => {
            for (v, why) in &s.ids.missing {
                tracing::warn!("no source id for '{v}': {why}");
            }
            s.ids.ids
        }
        Ok(None) => BTreeMap::new(),
        Err(e) => {
            tracing::warn!("source ids are unknown: failed to {e}");
            BTreeMap::new()
        }
    }
}
