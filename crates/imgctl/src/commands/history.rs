//! `imgctl history VARIANT`: a channel's moves, newest first, from one tag listing.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use imgctl_core::history::MoveKind;
use imgctl_engine::NoProgress;
use imgctl_registry::Access;
use serde::Serialize;
use tabled::Tabled;

use crate::env::Env;
use crate::error::CmdResult;
use crate::exit;
use crate::output::{Report, emit, table};
use crate::rollout;
use crate::workspace;

/// Arguments of `history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The variant and channel.
    #[command(flatten)]
    pub target: rollout::VariantChannel,
}

/// One move (SPEC §4.1 `history`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// When the channel moved.
    pub time: DateTime<Utc>,
    /// The digest moved to, as its release tag names it: `sha256:` and the first 12 hex
    /// digits (resolve `tag` for the full digest).
    pub digest: String,
    /// publish, promote or rollback.
    pub kind: MoveKind,
    /// The release tag recording the move.
    pub tag: String,
    /// Whether that digest is rejected on this channel now.
    pub rejected: bool,
    /// For a rollback: the digest rolled back from (12 hex digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back_from: Option<String>,
}

/// The `history` document.
#[derive(Debug, Serialize)]
pub struct HistoryReport {
    /// The variant.
    pub variant: String,
    /// The channel.
    pub channel: String,
    /// Moves, newest first.
    pub entries: Vec<Entry>,
}

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "TIME")]
    time: String,
    #[tabled(rename = "DIGEST")]
    digest: String,
    #[tabled(rename = "KIND")]
    kind: String,
    #[tabled(rename = "REJECTED")]
    rejected: &'static str,
    #[tabled(rename = "TAG")]
    tag: String,
}

impl Report for HistoryReport {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "{} {}: {} moves", self.variant, self.channel, self.entries.len())?;
        let rows = self.entries.iter().map(|e| Row {
            time: e.time.format("%Y-%m-%d %H:%M:%SZ").to_string(),
            digest: e.digest.clone(),
            kind: crate::output::word(e.kind)
                + &e.rolled_back_from.as_ref().map(|f| format!(" (from {f})")).unwrap_or_default(),
            rejected: if e.rejected { "rejected" } else { "" },
            tag: e.tag.clone(),
        });
        writeln!(w, "{}", table(rows))
    }
}

/// Runs `history`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let fleet = workspace::require(env)?;
    let v = rollout::find_variant(&fleet, &args.target.variant)?;
    let channel = rollout::channel_or_promoted(&fleet, args.target.channel)?;
    let client = rollout::connect(env, &fleet, Access::Pull)?;
    let ctx = rollout::ctx(env, &client, &fleet, true, &NoProgress);
    let history = crate::registry::block_on(ctx.snapshot())?.map_err(rollout::engine_error)?;
    let ch = history.variant(&v.name).channel(&channel);
    let entries = ch
        .moves
        .iter()
        .rev()
        .map(|m| Entry {
            time: m.time,
            digest: format!("sha256:{}", m.digest12),
            kind: m.kind,
            tag: m.tag.clone(),
            rejected: ch.is_rejected(&m.digest12),
            rolled_back_from: m.rolled_back_from.clone(),
        })
        .collect();
    emit(env, &HistoryReport { variant: v.name.clone(), channel, entries })?;
    Ok(exit::SUCCESS)
}
