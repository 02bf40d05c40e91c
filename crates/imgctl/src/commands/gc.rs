//! `imgctl gc`: plan (and with `--apply` carry out) the deletion of digests nothing
//! protects; what goes and why, what stays and why (rules: `docs/GC.md`).

use std::io::{self, Write};

use imgctl_core::duration::Duration;
use imgctl_core::rollout::Action;
use imgctl_engine::gc::{GcArgs, GcLine, GcReport, gc_with};
use imgctl_registry::Access;
use serde::Serialize;
use tabled::Tabled;

use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;
use crate::output::{Report, emit, table};
use crate::progress::CliProgress;
use crate::rollout;
use crate::workspace;

/// Arguments of `gc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Immutable tags (builds) kept per variant, newest first.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub keep: usize,
    /// Release tags younger than this protect their digest.
    #[arg(long, value_name = "DUR", default_value = "30d")]
    pub older_than: Duration,
    /// Delete; without it gc only prints the plan.
    #[arg(long)]
    pub apply: bool,
    /// Delete at most N digests in this run (an index counts with its children); the rest
    /// is left for later runs (default: no limit). For working through a backlog in bounded
    /// scheduled runs: each manifest DELETE can cost the registry seconds (docs/GC.md).
    #[arg(long, value_name = "N")]
    pub max_deletes: Option<usize>,
    /// Scan these files or directories like `usages` and keep every digest they pin or
    /// whose tag they use, whatever its age (repeatable).
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub protect_usages: Vec<std::path::PathBuf>,
    /// Keep what the `usages --output json` reports in these files name (reports collected
    /// from other repositories; repeatable).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub protect_from: Vec<std::path::PathBuf>,
}

/// The `gc` document: SPEC §4.1 `{"results": […]}` plus the dry-run flag, orphan
/// variants and the requests made.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    #[serde(flatten)]
    report: GcReport,
    dry_run: bool,
    /// `--verbose`: list the kept digests too (else only their counts per reason).
    #[serde(skip)]
    verbose: bool,
}

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "ACTION")]
    action: String,
    #[tabled(rename = "DIGEST")]
    digest: String,
    #[tabled(rename = "VARIANT")]
    variant: String,
    #[tabled(rename = "TAGS")]
    tags: String,
    #[tabled(rename = "WHY")]
    why: String,
}

fn row(l: &GcLine, dry_run: bool) -> Row {
    let action = if dry_run && l.result.action == Action::Deleted { "delete".to_string() } else { crate::output::word(l.result.action) };
    let mut tags: Vec<&str> = l.tags.iter().map(String::as_str).take(4).collect();
    let more = l.tags.len().saturating_sub(4);
    let extra = if more > 0 { format!("\n(+{more} more)") } else { String::new() };
    if tags.is_empty() {
        tags.push("(untagged)");
    }
    let why = l.result.reason.clone().unwrap_or_default().trim_start_matches("dry run: would delete: ").replace("; ", "\n");
    Row { action, digest: l.digest.get(..19).unwrap_or(&l.digest).to_string(), variant: l.result.variant.clone(), tags: format!("{}{extra}", tags.join("\n")), why }
}

impl Report for Doc {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        let r = &self.report;
        let (kept, gone): (Vec<&GcLine>, Vec<&GcLine>) = r.results.iter().partition(|l| l.result.action == Action::Kept);
        match (gone.len(), self.dry_run) {
            (0, _) => writeln!(w, "nothing to delete")?,
            (n, true) => writeln!(w, "to delete ({n}):\n{}", table(gone.iter().map(|l| row(l, true))))?,
            (n, false) => writeln!(w, "deleted or failed ({n}):\n{}", table(gone.iter().map(|l| row(l, false))))?,
        }
        let counts: Vec<(usize, &str)> = kept_by_reason(&kept).into_iter().map(|(what, n)| (n, what)).collect();
        let hint = if self.verbose || kept.is_empty() { "" } else { " (pass --verbose to list them)" };
        let total = format!("kept {}", crate::output::plural(kept.len(), "digest", "digests"));
        crate::output::say(w, &(crate::output::summary(&total, &counts) + hint))?;
        if self.verbose && !kept.is_empty() {
            writeln!(w, "{}", table(kept.iter().map(|l| row(l, self.dry_run))))?;
        }
        let count = |a| r.results.iter().filter(|l| l.result.action == a).count();
        if r.remaining_deletes > 0 {
            writeln!(
                w,
                "--max-deletes reached: {} more {} to delete in later runs",
                r.remaining_deletes,
                if r.remaining_deletes == 1 { "digest is" } else { "digests are" }
            )?;
        }
        if !r.orphan_variants.is_empty() {
            writeln!(w, "tags of variants no longer in the manifest (same rules apply): {}", r.orphan_variants.join(", "))?;
        }
        let q = &r.requests;
        let line = format!(
            "{}{} {}, {} kept, {} failed ({} listings, {} HEAD, {} GET, {} DELETE)",
            if self.dry_run { "dry run (nothing deleted; pass --apply): " } else { "" },
            count(Action::Deleted),
            if self.dry_run { "to delete" } else { "deleted" },
            count(Action::Kept),
            count(Action::Failed),
            q.list,
            q.head,
            q.get,
            q.delete
        );
        crate::output::say(w, &line)
    }
}

/// Kept digests counted by the first reason that protects each, most first.
fn kept_by_reason(kept: &[&GcLine]) -> Vec<(&'static str, usize)> {
    let mut counts: std::collections::BTreeMap<&'static str, usize> = std::collections::BTreeMap::new();
    for l in kept {
        let what = l.why.iter().find(|w| w.protects()).map_or("left for the next run", |w| w.category());
        *counts.entry(what).or_default() += 1;
    }
    let mut out: Vec<(&'static str, usize)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    out
}

impl Doc {
    fn markdown(&self) -> String {
        let mut s = format!("### imgctl gc{}\n\n| action | digest | variant | tags | why |\n|---|---|---|---|---|\n", if self.dry_run { " (dry run)" } else { "" });
        for l in &self.report.results {
            let r = row(l, self.dry_run);
            s.push_str(&format!("| **{}** | `{}` | `{}` | {} | {} |\n", r.action, r.digest, r.variant, r.tags.replace('\n', "<br>"), r.why.replace('\n', "<br>").replace('|', "\\|")));
        }
        s.push('\n');
        s
    }
}

/// Runs `gc`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let fleet = workspace::require(env)?;
    // a kind that deletes outside the registry API (GHCR) needs no delete scope from the
    // registry: the client's own kind says which, then it authenticates for that access
    let client = crate::registry::client(env, &rollout::registry_host(env, &fleet), fleet.manifest.registry_kind)?;
    let access = if args.apply && imgctl_registry::Registry::delete_rules(&client).via_registry { Access::Delete } else { Access::Pull };
    crate::registry::block_on(client.authenticate(&fleet.manifest.repository, access))??;
    let progress = CliProgress::new("gc", "deleted", 1);
    let ctx = rollout::ctx(env, &client, &fleet, !args.apply, &progress);
    let gc_args = GcArgs { keep: args.keep, older_than: args.older_than, max_deletes: args.max_deletes };
    let pins = crate::consumers::pins(env, &fleet, &args.protect_usages, &args.protect_from)?;
    let mut report = crate::registry::block_on(gc_with(&ctx, gc_args, &pins))?.map_err(rollout::engine_error)?;
    let disabled = report.delete_disabled.clone();
    let refused = report.delete_refused.take();
    let failed = report.results.iter().any(|l| l.result.action == Action::Failed);
    let doc = Doc { report, dry_run: !args.apply, verbose: env.global.verbose > 0 };
    emit(env, &doc)?;
    rollout::append_summary(env, &doc.markdown());
    if let Some(msg) = disabled {
        return Err(CliError::Failed(msg));
    }
    if let Some(e) = refused {
        return Err(e.into());
    }
    Ok(if failed { exit::FAILED } else { exit::SUCCESS })
}
