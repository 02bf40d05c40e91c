//! `imgctl history VARIANT`: a channel's moves, newest first: which moves there were from
//! one tag listing, each one's whole digest from a HEAD of its release tag.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use imgctl_core::history::MoveKind;
use imgctl_engine::NoProgress;
use imgctl_engine::history::{complete_digest, resolved_moves};
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
    /// Also show each move's promotion record (who moved it, why; read from the registry's
    /// referrers, not verified: see `imgctl verify`).
    #[arg(long)]
    pub records: bool,
}

/// One move (SPEC §4.1 `history`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// When the channel moved.
    pub time: DateTime<Utc>,
    /// The whole digest moved to (`sha256:` + 64 hex), read from the release tag.
    pub digest: String,
    /// publish, promote or rollback.
    pub kind: MoveKind,
    /// The release tag recording the move.
    pub tag: String,
    /// Whether that digest is rejected on this channel now.
    pub rejected: bool,
    /// Whether the move was forced (`--force`: past the soak or a rejection). Read from the
    /// histories, or, with `--records`, from the move's record (docs/HISTORY.md).
    pub forced: bool,
    /// For a rollback: the digest rolled back from — whole while a release tag of it is in
    /// the history (always, unless gc deleted them), else the `sha256:` + 12 hex digits the
    /// rollback's release tag names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back_from: Option<String>,
    /// With `--records`: the move's promotion record, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<imgctl_engine::records::Recorded>,
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
    #[tabled(rename = "FORCED")]
    forced: &'static str,
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
                + &e.rolled_back_from.as_ref().map(|f| format!(" (from {})", f.get(..19).unwrap_or(f))).unwrap_or_default(),
            rejected: if e.rejected { "rejected" } else { "" },
            forced: if e.forced { "forced" } else { "" },
            tag: e.tag.clone(),
        });
        writeln!(w, "{}", table(rows))?;
        let count = |k: MoveKind| self.entries.iter().filter(|e| e.kind == k).count();
        let rejected = self.entries.iter().filter(|e| e.rejected).count();
        let total = crate::output::plural(self.entries.len(), "move", "moves");
        let counts = [(count(MoveKind::Publish), "publish"), (count(MoveKind::Promote), "promote"), (count(MoveKind::Rollback), "rollback"), (rejected, "to a digest rejected now")];
        crate::output::say(w, &crate::output::summary(&total, &counts))?;
        let records: Vec<&imgctl_engine::records::Recorded> = self.entries.iter().filter_map(|e| e.record.as_ref()).collect();
        if !records.is_empty() {
            writeln!(w, "records:\n{}", table(records.into_iter().map(crate::records::Row::from)))?;
        }
        Ok(())
    }
}

/// Whether `m` was forced: its record says so when there is one (`forced-promote`), else
/// the histories do.
fn forced(m: &imgctl_engine::history::ResolvedMove, record: Option<&imgctl_engine::records::Recorded>) -> bool {
    match record.and_then(|r| r.statement.as_ref()) {
        Some(s) => s.kind.starts_with("forced"),
        None => m.forced,
    }
}

/// Runs `history`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let fleet = workspace::require(env)?;
    let v = rollout::find_variant(&fleet, &args.target.variant)?;
    let channel = rollout::channel_or_promoted(&fleet, args.target.channel)?;
    let client = rollout::connect(env, &fleet, Access::Pull)?;
    let ctx = rollout::ctx(env, &client, &fleet, true, &NoProgress);
    let moves = crate::registry::block_on(resolved_moves(&ctx, v, &channel))?.map_err(rollout::engine_error)?;
    let ch = imgctl_core::history::ChannelHistory { moves: moves.iter().map(|m| m.mv.clone()).collect() };
    let mut records = std::collections::BTreeMap::new();
    if args.records {
        crate::registry::block_on(async {
            for m in &moves {
                if !records.contains_key(&m.digest) {
                    let (all, _) = imgctl_engine::records::read_all(&client, &fleet.manifest.repository, &m.digest, None).await?;
                    records.insert(m.digest.clone(), all);
                }
            }
            Ok::<_, imgctl_registry::RegistryError>(())
        })??;
    }
    let record_of = |m: &imgctl_engine::history::ResolvedMove| {
        records.get(&m.digest).and_then(|all| all.iter().find(|r| r.statement.as_ref().and_then(|s| s.release_tag.as_deref()) == Some(m.mv.tag.as_str()))).cloned()
    };
    let entries = moves
        .iter()
        .rev()
        .map(|m| (m, record_of(m)))
        .map(|(m, record)| Entry {
            forced: forced(m, record.as_ref()),
            time: m.mv.time,
            digest: m.digest.clone(),
            kind: m.mv.kind,
            tag: m.mv.tag.clone(),
            rejected: ch.is_rejected(&m.mv.digest12),
            rolled_back_from: m.mv.rolled_back_from.as_ref().map(|from| {
                let prefix = format!("sha256:{from}");
                complete_digest(&moves, &prefix).map_or(prefix, str::to_string)
            }),
            record,
        })
        .collect();
    emit(env, &HistoryReport { variant: v.name.clone(), channel, entries })?;
    Ok(exit::SUCCESS)
}
