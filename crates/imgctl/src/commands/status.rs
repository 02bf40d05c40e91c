//! `imgctl status`: per variant, where each channel points and since when, the
//! pending promotion and what holds it back, and EOL.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use imgctl_engine::Ctx;
use imgctl_engine::status::{Drift, Pending, PendingSource, StatusReport, status};
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
    /// The promoted channels, in chain order.
    #[serde(skip)]
    promoted: Vec<String>,
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
            pending: match &v.error {
                Some(e) => format!("error: {e}"),
                None if v.retired.is_some() => retired_cell(v, self.now),
                None => pending_lines(v, &self.promoted),
            },
            eol: v.eol.map(|d| if d <= self.now.date_naive() { format!("{d} (past)") } else if d.signed_duration_since(self.now.date_naive()).num_seconds() <= self.eol_warning.as_secs() as i64 { format!("{d} (soon)") } else { d.to_string() }).unwrap_or_else(|| "-".into()),
        });
        writeln!(w, "{}", table(rows))?;
        crate::output::say(w, &summary_line(&self.report, self.eol_warning))
    }
}

/// `229 variants: 200 up to date, 12 ready, 17 soaking` — one count per PENDING state, then
/// the retired ones and those on an OS that has ended or ends within `eolWarning`.
fn summary_line(r: &StatusReport, eol_warning: imgctl_core::duration::Duration) -> String {
    use imgctl_core::rollout::BlockedBy;
    let count = |f: &dyn Fn(&imgctl_engine::status::VariantStatus) -> bool| r.variants.iter().filter(|v| f(v)).count();
    let blocked = |b: BlockedBy| count(&|v| v.error.is_none() && v.pending.as_ref().is_some_and(|p| p.unknown.is_none() && p.blocked_by == Some(b)));
    let soon = format!("reaching end of life within {eol_warning}");
    let counts = [
        (count(&|v| v.error.is_none() && v.retired.is_none() && v.pending.is_none()), "up to date"),
        (count(&|v| v.error.is_none() && v.pending.as_ref().is_some_and(|p| p.unknown.is_none() && p.blocked_by.is_none())), "ready to promote"),
        (blocked(BlockedBy::Soak), "soaking"),
        (blocked(BlockedBy::MissingBuild), "without a build"),
        (blocked(BlockedBy::Rejected), "rejected"),
        (blocked(BlockedBy::Verification), "failed verification"),
        (count(&|v| v.error.is_none() && v.pending.as_ref().is_some_and(|p| p.unknown.is_some())), "pending unknown"),
        (count(&|v| v.error.is_some()), "errors"),
        (count(&|v| !v.drift.is_empty()), "drifted on a mirror"),
        (r.lifecycle.retired, "retired"),
        (r.lifecycle.eol, "on an end-of-life OS"),
        (r.lifecycle.eol_soon, &soon),
    ];
    crate::output::summary(&crate::output::plural(r.variants.len(), "variant", "variants"), &counts)
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

/// The PENDING cell: per promoted channel (named when there are several), what waits.
fn pending_lines(v: &imgctl_engine::status::VariantStatus, promoted: &[String]) -> String {
    let cell = |p: Option<&Pending>| p.map_or_else(|| "up to date".to_string(), pending_cell);
    if promoted.len() <= 1 {
        return cell(v.pending.as_ref());
    }
    promoted.iter().map(|n| format!("{n}: {}", cell(v.channels.get(n).and_then(|c| c.pending.as_ref())))).collect::<Vec<_>>().join("\n")
}

/// One channel's pending build: `unknown (why)`, or the build, what holds it back and when
/// it goes out, and the older build the next run moves to meanwhile.
fn pending_cell(p: &Pending) -> String {
    if let Some(why) = &p.unknown {
        return format!("unknown ({why})");
    }
    let mut s = p.reason.clone().unwrap_or_default();
    if p.digest.is_some() {
        s = format!("{} {s}", rollout::short(&p.digest));
    }
    if let Some(t) = p.next_promotion {
        s.push_str(&format!("; next promotion {}", imgctl_core::schedule::short_time(t)));
    }
    if let Some(m) = &p.moves_to {
        s.push_str(&format!("; the next promote moves to {} (source id {}, soaked)", rollout::short(&Some(m.digest.clone())), m.source_id));
    }
    s
}

/// A promoted channel's revision and the candidates along it, or why they are unknown.
pub type ChannelCandidates = Result<(String, imgctl_git::Lineage), String>;

/// Each promoted channel (of `channels`, chain order) with its revision and the candidates
/// along it, or why they could not be read (`status` and `site`).
pub fn candidates(env: &Env<'_>, fleet: &imgctl_core::Fleet, channels: &[String], reference: Option<&str>) -> Vec<(String, ChannelCandidates)> {
    let mut read: Vec<(String, ChannelCandidates)> = Vec::new();
    let repo = rollout::repo(env);
    for channel in channels {
        let at = repo.as_ref().map_err(|e| e.to_string()).and_then(|repo| {
            let rev = rollout::promotion_ref(repo, fleet, channel, reference).map_err(|e| e.to_string())?;
            let l = rollout::lineage(repo, &rev).map_err(|e| e.to_string())?;
            Ok((rev, l))
        });
        if let Err(e) = &at {
            tracing::warn!("pending promotions of '{channel}' are not computed: failed to {e}");
        }
        read.push((channel.clone(), at.map_err(|e| format!("not computed: failed to {e}"))));
    }
    read
}

/// The engine's view of what [`candidates`] read.
pub fn sources(read: &[(String, ChannelCandidates)]) -> Vec<PendingSource<'_>> {
    read.iter().map(|(channel, at)| PendingSource { channel, at: at.as_ref().map(|(rev, l)| (rev.as_str(), &l.ids)).map_err(String::as_str) }).collect()
}

/// Runs `status`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let fleet = workspace::require(env)?;
    let channels = imgctl_core::chain::promotion_order(&fleet.manifest.channels);
    // each promoted channel's revision and candidates, or why they could not be read
    let read = candidates(env, &fleet, &channels, args.reference.as_deref());
    let sources = sources(&read);
    let variants = select(&fleet, &args.variants)?;
    let client = rollout::connect(env, &fleet, Access::Pull)?;
    let mirror_clients = rollout::connect_mirrors(env, &fleet, Access::Pull)?;
    let mirrors = crate::mirrors::mirrors(&mirror_clients, &client);
    let progress = CliProgress::new("status", "done", crate::progress::MIN_VARIANTS);
    let ctx = Ctx { mirrors: &mirrors, ..rollout::ctx(env, &client, &fleet, true, &progress) };
    let host = rollout::registry_host(env, &fleet);
    let report = crate::registry::block_on(status(&ctx, &variants, &sources))?.map_err(|e| rollout::engine_error_at(&host, e))?;
    let failed = report.variants.iter().any(|v| v.error.is_some() || v.drift.iter().any(|d| d.error.is_some()));
    emit(env, &Doc { report, now: env.now(), mirrors: mirrors.len(), promoted: channels, eol_warning: fleet.manifest.eol_warning() })?;
    Ok(if failed { exit::FAILED } else { exit::SUCCESS })
}
