//! `imgctl status`: per variant, where each channel points and since when, the
//! pending promotion and what holds it back, and EOL.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use imgctl_engine::SourceIds;
use imgctl_engine::Ctx;
use imgctl_engine::status::{Drift, Pending, PendingIds, StatusReport, status};
use imgctl_registry::Access;
use serde::Serialize;
use tabled::Tabled;

use crate::commands::tags::select;
use crate::env::Env;
use crate::error::CmdResult;
use crate::exit;
use crate::output::{Report, emit, table};
use crate::progress::CliProgress;
use crate::rollout;
use crate::workspace;

/// Arguments of `status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Variants (base tags); all when none are given.
    #[arg(value_name = "VARIANT")]
    pub variants: Vec<String>,
    /// Revision whose builds are pending [default: the promoted channel's branch].
    #[arg(long = "ref", value_name = "REV")]
    pub reference: Option<String>,
}

/// The `status` document plus "now", for ages.
#[derive(Debug, Serialize)]
struct Doc {
    #[serde(flatten)]
    report: StatusReport,
    #[serde(skip)]
    now: DateTime<Utc>,
    #[serde(skip)]
    mirrors: usize,
    #[serde(skip)]
    eol_warning: imgctl_core::duration::Duration,
}

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "VARIANT")]
    variant: String,
    #[tabled(rename = "CHANNELS")]
    channels: String,
    #[tabled(rename = "PENDING")]
    pending: String,
    #[tabled(rename = "EOL")]
    eol: String,
}

/// "3d 4h ago".
pub fn age(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let secs = now.signed_duration_since(t).num_seconds().max(0) as u64;
    let d = imgctl_core::duration::Duration(secs - secs % 60);
    if secs < 60 { "just now".into() } else { format!("{d} ago") }
}

impl Report for Doc {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        let rows = self.report.variants.iter().map(|v| Row {
            variant: v.variant.clone(),
            channels: v
                .channels
                .iter()
                .map(|(n, c)| format!("{n}: {} {}", rollout::short(&c.digest), c.since.map(|t| format!("({})", age(self.now, t))).unwrap_or_default()))
                .chain(drift_lines(&v.drift, self.mirrors))
                .collect::<Vec<_>>()
                .join("\n"),
            pending: match (&v.error, &v.pending) {
                (Some(e), _) => format!("error: {e}"),
                (None, _) if v.retired.is_some() => retired_cell(v, self.now),
                (None, None) => "up to date".into(),
                (None, Some(p)) => pending_cell(p),
            },
            eol: v.eol.map(|d| if d <= self.now.date_naive() { format!("{d} (past)") } else if d.signed_duration_since(self.now.date_naive()).num_seconds() <= self.eol_warning.as_secs() as i64 { format!("{d} (soon)") } else { d.to_string() }).unwrap_or_else(|| "-".into()),
        });
        writeln!(w, "{}", table(rows))?;
        let c = &self.report.lifecycle;
        if c.retired + c.eol + c.eol_soon == 0 {
            return Ok(());
        }
        writeln!(
            w,
            "{} variants: {} retired, {} on an end-of-life OS, {} reaching end of life within {}",
            self.report.variants.len(),
            c.retired,
            c.eol,
            c.eol_soon,
            self.eol_warning
        )
    }
}

/// The PENDING cell of a retired variant: `retired on DATE`, and what replaces it.
fn retired_cell(v: &imgctl_engine::status::VariantStatus, now: DateTime<Utc>) -> String {
    let date = v.retired.unwrap_or_default();
    let replaced = v.replaced_by.as_deref().map(|r| format!(" (replaced by {r})")).unwrap_or_default();
    format!("{}{replaced}", imgctl_core::eol::retired_reason(date, now.date_naive()))
}

/// Lines under the channels: nothing without mirrors, `mirrors: in step`, or each
/// drifted channel of a mirror.
fn drift_lines(drift: &[Drift], mirrors: usize) -> Vec<String> {
    if mirrors == 0 {
        return Vec::new();
    }
    if drift.is_empty() {
        return vec![format!("mirrors: {mirrors} in step")];
    }
    drift
        .iter()
        .map(|d| match &d.error {
            Some(e) => format!("drift? {}: error: {e}", d.mirror),
            None => format!("drift: {} {}: {} (primary {})", d.mirror, d.channel, rollout::short(&d.digest), rollout::short(&d.expected)),
        })
        .collect()
}

/// The PENDING cell: `unknown (why)`, or the build's digest and what holds it back.
fn pending_cell(p: &Pending) -> String {
    if let Some(why) = &p.unknown {
        return format!("unknown ({why})");
    }
    let reason = p.reason.clone().unwrap_or_default();
    match &p.digest {
        Some(_) => format!("{} {reason}", rollout::short(&p.digest)),
        None => reason,
    }
}

/// Runs `status`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let fleet = workspace::require(env)?;
    let at = pending_ids(env, &fleet, args.reference.as_deref());
    let unknown;
    let ids = match &at {
        Ok((rev, ids)) => PendingIds::At { rev, ids },
        Err(e) => {
            tracing::warn!("pending promotions are not computed: failed to {e}");
            unknown = format!("not computed: failed to {e}");
            PendingIds::Unknown(&unknown)
        }
    };
    let variants = select(&fleet, &args.variants)?;
    let client = rollout::connect(env, &fleet, Access::Pull)?;
    let mirror_clients = rollout::connect_mirrors(env, &fleet, Access::Pull)?;
    let mirrors = crate::mirrors::mirrors(&mirror_clients, &client);
    let progress = CliProgress::new("status", "done", crate::progress::MIN_VARIANTS);
    let ctx = Ctx { mirrors: &mirrors, ..rollout::ctx(env, &client, &fleet, true, &progress) };
    let report = crate::registry::block_on(status(&ctx, &variants, ids))?.map_err(rollout::engine_error)?;
    let failed = report.variants.iter().any(|v| v.error.is_some() || v.drift.iter().any(|d| d.error.is_some()));
    emit(env, &Doc { report, now: env.now(), mirrors: mirrors.len(), eol_warning: fleet.manifest.eol_warning() })?;
    Ok(if failed { exit::FAILED } else { exit::SUCCESS })
}

/// The promotion revision and the source ids there.
fn pending_ids(env: &Env<'_>, fleet: &imgctl_core::Fleet, rev: Option<&str>) -> Result<(String, SourceIds), crate::error::CliError> {
    let repo = rollout::repo(env)?;
    let channel = imgctl_engine::promote::default_channel(fleet).unwrap_or_default();
    let rev = rollout::promotion_ref(&repo, fleet, &channel, rev)?;
    let ids = rollout::snapshot(&repo, Some(&rev))?.1;
    Ok((rev, ids))
}
