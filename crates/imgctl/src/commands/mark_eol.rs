//! `imgctl mark-eol`: attach docker-tools' lifecycle (end-of-life) referrer to every digest
//! of the fleet that was rolled back from or has left every channel for longer than the
//! grace period (`records.eolGrace`, default 7d). Idempotent; the weekly promotion workflow
//! runs it after `promote`. See docs/RECORDS.md.

use imgctl_core::duration::Duration;
use imgctl_core::manifest::DEFAULT_EOL_GRACE_SECS;
use imgctl_engine::lifecycle;
use imgctl_registry::Access;

use crate::commands::tags::select;
use crate::env::Env;
use crate::error::CmdResult;
use crate::progress::CliProgress;
use crate::output::{Report, emit};
use crate::rollout::{self, ResultsReport, Words};
use crate::workspace;

/// Arguments of `mark-eol`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only these variants (repeatable).
    #[arg(long = "variant", value_name = "V")]
    pub variants: Vec<String>,
    /// How long a digest must have left every channel [default: records.eolGrace, else 7d].
    #[arg(long, value_name = "DUR")]
    pub grace: Option<Duration>,
    /// Print what would be marked, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `mark-eol`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let fleet = workspace::require(env)?;
    let variants = select(&fleet, &args.variants)?;
    let grace = args.grace.or_else(|| fleet.manifest.records.as_ref().and_then(|r| r.eol_grace)).unwrap_or(Duration(DEFAULT_EOL_GRACE_SECS));
    let client = rollout::connect(env, &fleet, Access::Push)?;
    let progress = CliProgress::new("mark-eol", "checked", crate::progress::MIN_VARIANTS);
    let ctx = rollout::ctx(env, &client, &fleet, args.dry_run, &progress);
    let results = crate::registry::block_on(lifecycle::mark(&ctx, &variants, grace))?.map_err(rollout::engine_error)?;
    let report = MarkReport(ResultsReport { results, dry_run: args.dry_run, forced: false });
    emit(env, &report)?;
    rollout::append_summary(env, &report.0.markdown_with("mark-eol", report.words()));
    Ok(report.0.exit_code())
}

/// The results of `mark-eol`: a mark is no move, so the human form says `marked`.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
struct MarkReport(ResultsReport);

impl MarkReport {
    /// `mark`/`to mark` in a dry run, else `marked`; `already marked` for nothing to do.
    fn words(&self) -> Words<'static> {
        match self.0.dry_run {
            true => Words { action: "mark", moved: "to mark", unchanged: "already marked" },
            false => Words { action: "marked", moved: "marked", unchanged: "already marked" },
        }
    }
}

impl Report for MarkReport {
    fn human(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.0.human_with(w, self.words())
    }
}
