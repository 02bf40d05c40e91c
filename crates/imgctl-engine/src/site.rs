//! The fleet site's data (`imgctl site`, docs/SITE.md): `status` over one tag listing, every
//! channel's timeline from that same listing, and for the digests the site shows (each
//! channel's current and previous digest, each pending build) their referrers — records,
//! lifecycle mark, SBOM — and what changed between consecutive digests. No rendering here:
//! `imgctl-site` turns [`SiteData`] into pages, feeds and `fleet.json`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use imgctl_core::fleet::Variant;
use imgctl_core::history::{MoveKind, digest12};
use imgctl_registry::Registry;
use serde::Serialize;

pub use crate::site_digests::{Changes, DigestFacts, Role, Sbom};
use crate::status::{PendingSource, StatusReport};
use crate::{Ctx, EngineError};

/// What kind of event a timeline entry is (the site's `data-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A build published to a channel that promotes from nothing.
    Publish,
    /// A scheduled promotion.
    Promote,
    /// A promotion past a rule (soak, rejection): `--force`.
    Forced,
    /// A rollback.
    Rollback,
    /// An end-of-life mark, retirement or the OS's end of life.
    Eol,
}

/// One event of a variant's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// When.
    pub time: DateTime<Utc>,
    /// The channel moved (none for an end-of-life event of the variant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// What happened.
    pub kind: EntryKind,
    /// The digest moved to: whole when the site read it, else `sha256:` + the 12 hex
    /// digits the release tag names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The digest the channel was at before (whole or 12 hex digits, as `to`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Why, from the move's record (its `note` — `rollback --reason` — else its `reason`), or
    /// what an end-of-life event is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The release tag recording the move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// A consumer's reference to the repository (one line of a `usages --output json` report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Consumer {
    /// `file:line` as the report names it.
    pub at: String,
    /// The tag named, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The digest pinned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The variant its tag belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// One channel of the fleet (`fleet.json`'s `channels`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelInfo {
    /// Its name.
    pub name: String,
    /// The channel it promotes from (a promoted channel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotes_from: Option<String>,
    /// How long a build soaks on the source first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soak: Option<imgctl_core::duration::Duration>,
    /// When its promotion runs (cron, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}

/// Everything the site shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteData {
    /// When it was read (the real time or `IMGCTL_NOW`).
    pub generated: DateTime<Utc>,
    /// `host/repository`.
    pub repository: String,
    /// The channels, in manifest order.
    pub channels: Vec<ChannelInfo>,
    /// The promoted channels, in chain order.
    pub promoted: Vec<String>,
    /// How long ahead of an end of life the fleet warns.
    pub eol_warning: imgctl_core::duration::Duration,
    /// `status` of every variant (channels, pending, drift, EOL, retired).
    pub status: StatusReport,
    /// Each variant's timeline, newest first.
    pub timelines: BTreeMap<String, Vec<Entry>>,
    /// The digests with pages, by whole digest.
    pub digests: BTreeMap<String, DigestFacts>,
    /// The consumers' references given in.
    pub consumers: Vec<Consumer>,
}

/// Reads the site's data for `variants` (all of the fleet, normally) with the pending
/// promotions of `sources` (as `status`), checking records with `key` when given.
pub async fn gather<R: Registry>(
    ctx: &Ctx<'_, R>,
    variants: &[&Variant],
    sources: &[PendingSource<'_>],
    consumers: Vec<Consumer>,
    key: Option<&imgctl_records::Verifier>,
) -> Result<SiteData, EngineError> {
    let history = ctx.published_snapshot().await?;
    let status = crate::status::status_of(ctx, &history, variants, sources).await?;
    let mut timelines = BTreeMap::new();
    for v in variants {
        let vh = history.variant(&v.name);
        let mut entries = Vec::new();
        for channel in ctx.fleet.manifest.channels.keys() {
            for (mv, forced) in crate::history::moves_of(ctx.fleet, &vh, channel) {
                let kind = match mv.kind {
                    MoveKind::Rollback => EntryKind::Rollback,
                    _ if forced => EntryKind::Forced,
                    MoveKind::Promote => EntryKind::Promote,
                    MoveKind::Publish => EntryKind::Publish,
                };
                entries.push((mv, channel.clone(), kind));
            }
        }
        timelines.insert(v.name.clone(), entries);
    }
    let digests = crate::site_digests::read(ctx, variants, &status, &history, key).await?;
    // every whole digest the site knows, by its 12 hex digits
    let mut whole: BTreeMap<String, String> = BTreeMap::new();
    for d in digests.keys() {
        whole.insert(digest12(d).to_string(), d.clone());
    }
    let name = |d12: &str| whole.get(d12).cloned().unwrap_or_else(|| format!("sha256:{d12}"));
    let mut out = BTreeMap::new();
    for v in variants {
        let moves = timelines.remove(&v.name).unwrap_or_default();
        let mut entries: Vec<Entry> = Vec::with_capacity(moves.len());
        for (i, (mv, channel, kind)) in moves.iter().enumerate() {
            // the channel's move before this one, for "from"
            let before = moves[..i].iter().rev().find(|(_, c, _)| c == channel).map(|(m, ..)| m.digest12.clone());
            let from = mv.rolled_back_from.clone().or(before).map(|d| name(&d));
            let to = name(&mv.digest12);
            let reason = digests.get(&to).and_then(|f| f.records.iter().filter_map(|r| r.statement.as_ref()).find(|s| s.release_tag.as_deref() == Some(mv.tag.as_str()))).map(|s| s.note.clone().unwrap_or_else(|| s.reason.clone()));
            entries.push(Entry { time: mv.time, channel: Some(channel.clone()), kind: *kind, to: Some(to), from, reason, tag: Some(mv.tag.clone()) });
        }
        entries.extend(eol_entries(v, &digests, &moves.iter().map(|(m, ..)| m.digest12.clone()).collect(), ctx.now.date_naive()));
        entries.sort_by_key(|e| std::cmp::Reverse((e.time, e.kind)));
        out.insert(v.name.clone(), entries);
    }
    let channels = ctx.fleet.manifest.channels.iter().map(|(name, c)| ChannelInfo { name: name.clone(), promotes_from: c.promotes_from.clone(), soak: c.soak, schedule: c.schedule.clone() }).collect();
    let promoted = imgctl_core::chain::promotion_order(&ctx.fleet.manifest.channels);
    let repository = format!("{}/{}", ctx.fleet.manifest.registry, ctx.repo);
    Ok(SiteData { generated: ctx.now, repository, channels, promoted, eol_warning: ctx.fleet.manifest.eol_warning(), status, timelines: out, digests, consumers })
}

/// The end-of-life events of `v` up to `today`: lifecycle marks on its digests the site
/// read, its retirement, its OS's end of life.
fn eol_entries(v: &Variant, digests: &BTreeMap<String, DigestFacts>, own: &BTreeSet<String>, today: NaiveDate) -> Vec<Entry> {
    let at = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let mut out = Vec::new();
    for (d, f) in digests {
        if let Some(date) = f.eol_mark.filter(|_| own.contains(digest12(d))) {
            out.push(Entry { time: at(date), channel: None, kind: EntryKind::Eol, to: Some(d.clone()), from: None, reason: Some(format!("digest marked end of life on {date}")), tag: None });
        }
    }
    if let Some(date) = v.spec.retired.filter(|d| *d <= today) {
        out.push(Entry { time: at(date), channel: None, kind: EntryKind::Eol, to: None, from: None, reason: Some(format!("variant retired on {date}")), tag: None });
    }
    if let Some(date) = v.os.eol.filter(|d| *d <= today) {
        out.push(Entry { time: at(date), channel: None, kind: EntryKind::Eol, to: None, from: None, reason: Some(format!("OS {} reached end of life on {date}", v.os.id)), tag: None });
    }
    out
}
