//! `imgctl changes VARIANT [--channel C] [--from REF --to REF]`: what changed in a channel's
//! last move (the previous distinct digest → the newest, from the one tag listing), or
//! between two builds — packages from both builds' SBOMs, the OS release, the size, and the
//! source side (source ids, commits, compare URL, files, the Dockerfile's diff, own change or
//! rebuilt for its base). The engine does the work (`imgctl_engine::changes::between`); no
//! layer is read (docs/CHANGES.md).

use std::io::{self, Write};

use imgctl_core::history::{RepoHistory, VariantHistory};
use imgctl_core::names::did_you_mean;
use imgctl_core::tags::TagIndex;
use imgctl_engine::NoProgress;
use imgctl_engine::changes::{End, SourceLookup, between};
use imgctl_records::changes::Changes;
use imgctl_registry::Access;
use serde::Serialize;

use crate::commands::diff::{Row, os};
use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;
use crate::output::{Report, emit, table};
use crate::{rollout, workspace};

/// Arguments of `changes`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The variant and channel.
    #[command(flatten)]
    pub target: rollout::VariantChannel,
    /// The build moved from: a digest (`sha256:…`, whole or the 12 digits tables show) or a
    /// tag of the repository [default: the channel's previous distinct digest].
    #[arg(long, value_name = "REF")]
    pub from: Option<String>,
    /// The build moved to [default: the channel's newest move].
    #[arg(long, value_name = "REF")]
    pub to: Option<String>,
}

/// The `changes` document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangesReport {
    /// The variant.
    pub variant: String,
    /// The channel whose move it is (or whose history the refs were read against).
    pub channel: String,
    /// `--from` as given, else the release tag of the previous distinct digest.
    pub from_ref: String,
    /// `--to` as given, else the newest move's release tag.
    pub to_ref: String,
    /// What changed.
    #[serde(flatten)]
    pub changes: Changes,
}

/// The human lines of `c` (the report and the step summary share them).
pub(crate) fn lines(c: &Changes) -> Vec<String> {
    let s = &c.source;
    let mut out = vec![format!("why: {}", s.cause_words())];
    let commit = |id: &Option<String>, commit: &Option<String>| {
        format!("{} (commit {})", id.as_deref().unwrap_or("unknown"), commit.as_deref().map_or("unknown", |c| c.get(..12).unwrap_or(c)))
    };
    out.push(format!("source: {} → {}", commit(&s.from_source_id, &s.from_commit), commit(&s.to_source_id, &s.to_commit)));
    for p in &s.parents {
        out.push(format!("parent {}: {} → {}", p.variant, p.from.as_deref().unwrap_or("none"), p.to.as_deref().unwrap_or("none")));
    }
    if let Some(url) = &s.compare_url {
        out.push(format!("compare: {url}"));
    }
    match &s.files {
        Some(f) if f.is_empty() => out.push("files changed in its context: none".into()),
        Some(f) => out.push(format!("files changed in its context ({}): {}", f.len(), f.join(", "))),
        None => {}
    }
    match &c.os {
        Some(o) if o.changed => out.push(format!("os: {} → {}", os(o.from.as_ref()), os(o.to.as_ref()))),
        Some(o) => out.push(format!("os: {} (unchanged)", os(o.to.as_ref()))),
        None => {}
    }
    out.push(format!("size: {} → {} bytes ({:+})", c.size.from, c.size.to, c.size.delta));
    match (&c.packages, &c.not_inventoried) {
        (Some(p), _) => out.push(format!("packages: {} added, {} removed, {} upgraded, {} downgraded", p.added, p.removed, p.upgraded, p.downgraded)),
        (None, why) => out.push(format!("packages: not inventoried — {}", why.as_deref().unwrap_or("no SBOM"))),
    }
    out
}

impl Report for ChangesReport {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        let c = &self.changes;
        writeln!(w, "{} {}: {} → {}", self.variant, self.channel, c.from, c.to)?;
        if let Some(p) = &c.platform {
            writeln!(w, "platform: {p}")?;
        }
        for l in lines(c) {
            writeln!(w, "{l}")?;
        }
        if let Some(p) = c.packages.as_ref().filter(|p| !p.changes.is_empty()) {
            writeln!(w, "{}", table(p.changes.iter().map(Row::from)))?;
        }
        match c.source.dockerfile_diff.as_deref() {
            Some("") => writeln!(w, "Dockerfile {}: unchanged", c.source.dockerfile.as_deref().unwrap_or_default())?,
            Some(d) => write!(w, "Dockerfile diff:\n{d}")?,
            None => {}
        }
        for n in &c.source.notes {
            writeln!(w, "note: {n}")?;
        }
        Ok(())
    }
}

/// The reference `r` names for `changes`: a whole digest, a tag of the listing, or the
/// 12+ hex digits of a move of this variant (its release tag); else a clear error with the
/// closest tag.
fn reference(r: &str, tags: &[String], vh: &VariantHistory, repo: &str) -> Result<String, CliError> {
    if let Some(hex) = r.strip_prefix("sha256:") {
        if hex.len() == 64 {
            return Ok(r.to_string());
        }
        let found = vh.channels.values().flat_map(|h| h.moves.iter()).find(|m| hex.len() >= 12 && m.digest12.starts_with(hex.get(..12).unwrap_or(hex)));
        return found.map(|m| m.tag.clone()).ok_or_else(|| CliError::Input(format!("find '{r}' in {repo}: no move of the variant names that digest; give the whole digest (sha256: and 64 hex digits) or a tag")));
    }
    if tags.iter().any(|t| t == r) {
        return Ok(r.to_string());
    }
    let hint = did_you_mean(r, tags.iter().map(String::as_str));
    Err(CliError::Input(format!("find tag '{r}' in {repo}: the repository has no such tag{hint} (see `imgctl history`)")))
}

/// The source id an immutable tag `r` names.
fn source_id_of<'h>(r: &str, vh: &'h VariantHistory) -> Option<&'h str> {
    vh.immutable.iter().find(|(_, tag)| tag.as_str() == r).map(|(id, _)| id.as_str())
}

/// The default end of `--to`: the channel's newest move (its release tag).
fn newest(vh: &VariantHistory, variant: &str, channel: &str) -> Result<String, CliError> {
    let h = vh.channel(channel);
    let m = h.newest().ok_or_else(|| CliError::Input(format!("show the changes of {variant} on {channel}: the channel has no history (no release tags); pass --from REF --to REF")))?;
    Ok(m.tag.clone())
}

/// The default end of `--from`: the channel's previous distinct digest before its newest move.
fn previous(vh: &VariantHistory, variant: &str, channel: &str) -> Result<String, CliError> {
    let h = vh.channel(channel);
    // no history: `newest` says so
    let Some(newest) = h.newest() else { return self::newest(vh, variant, channel) };
    let before = h.before(&newest.digest12).ok_or_else(|| {
        CliError::Input(format!("show the changes of {variant} on {channel}: it has only ever been at sha256:{} (its first move); pass --from REF", newest.digest12))
    })?;
    Ok(before.tag.clone())
}

/// Runs `changes`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let fleet = workspace::require(env)?;
    let v = rollout::find_variant(&fleet, &args.target.variant)?;
    let channel = rollout::channel_or_promoted(&fleet, args.target.channel)?;
    let client = rollout::connect(env, &fleet, Access::Pull)?;
    let ctx = rollout::ctx(env, &client, &fleet, true, &NoProgress);
    let sources = crate::sources::open(env, &fleet, &channel);
    let repo = &fleet.manifest.repository;
    let changes = crate::registry::block_on(async {
        let tags = ctx.list_tags().await.map_err(rollout::engine_error)?;
        let vh = RepoHistory::from_tags(&fleet, &TagIndex::new(&fleet), &tags).variant(&v.name);
        let to_ref = match &args.to {
            Some(t) => t.clone(),
            None => newest(&vh, &v.name, &channel)?,
        };
        let from_ref = match &args.from {
            Some(f) => f.clone(),
            None => previous(&vh, &v.name, &channel)?,
        };
        let (from, to) = (reference(&from_ref, &tags, &vh, repo)?, reference(&to_ref, &tags, &vh, repo)?);
        let lookup = sources.as_deref().map(|s| s as &dyn SourceLookup);
        let (a, b) = (End { reference: &from, source_id: source_id_of(&from, &vh) }, End { reference: &to, source_id: source_id_of(&to, &vh) });
        let c = between(&client, repo, v, a, b, Some(&vh), lookup).await.map_err(rollout::engine_error)?;
        Ok::<_, CliError>(ChangesReport { variant: v.name.clone(), channel: channel.clone(), from_ref, to_ref, changes: c })
    })??;
    emit(env, &changes)?;
    Ok(exit::SUCCESS)
}

