//! `mark-eol`: docker-tools' lifecycle marks for the whole fleet — every digest rolled back
//! from and still rejected (end of life the day of the rollback, as the rollback itself marks
//! it with records on: so `mark-eol` completes a rollback stopped before its mark, even while
//! another channel still points at it), and every digest that has left every channel
//! for longer than the grace period (end of life when the grace ended). Read from the one
//! tag listing; per candidate digest (concurrently, `--concurrency`) one HEAD (its whole
//! digest) and one referrers read; a digest already marked is left as it is. A retired
//! variant's channels' digests are marked end of life on its retirement date (`retired: DATE`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use imgctl_core::duration::Duration;
use imgctl_core::fleet::Variant;
use imgctl_core::history::{ChannelHistory, RepoHistory};
use imgctl_core::rollout::{Action, ActionResult};
use imgctl_registry::Registry;

use crate::records::{SETTLE, mark_eol};
use crate::{Ctx, EngineError, result};

/// A digest to mark: why, and its end-of-life date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The variant whose history names it.
    pub variant: String,
    /// A release tag pointing at it (to learn its whole digest).
    pub tag: String,
    /// Its end-of-life date.
    pub date: NaiveDate,
    /// Why.
    pub reason: String,
}

/// When `digest12` left `h` for good (the move after its last stint), unless it is current.
fn left_at(h: &ChannelHistory, digest12: &str) -> Option<DateTime<Utc>> {
    let last = h.moves.iter().rposition(|m| m.digest12 == digest12)?;
    h.moves[last + 1..].iter().find(|m| m.digest12 != digest12).map(|m| m.time)
}

/// The digests to mark (by digest12), from the histories alone. Pure.
pub fn candidates(history: &RepoHistory, variants: &[&str], grace: Duration, now: DateTime<Utc>) -> BTreeMap<String, Candidate> {
    let current: BTreeSet<&str> =
        history.variants.values().flat_map(|vh| vh.channels.values()).filter_map(|h| h.newest()).map(|m| m.digest12.as_str()).collect();
    let mut out: BTreeMap<String, Candidate> = BTreeMap::new();
    for v in variants {
        let Some(vh) = history.variants.get(*v) else { continue };
        let tag_of = |d12: &str| vh.channels.values().flat_map(|h| h.moves.iter()).find(|m| m.digest12 == d12).map(|m| m.tag.clone());
        for h in vh.channels.values() {
            for m in &h.moves {
                let Some(from) = m.rolled_back_from.as_deref() else { continue };
                // what the rolling-back channel went back to since is not rejected any more
                if !h.is_rejected(from) || h.newest().is_some_and(|n| n.digest12 == from) || out.contains_key(from) {
                    continue;
                }
                if let Some(tag) = tag_of(from) {
                    let reason = format!("rolled back from on {}", m.time.date_naive());
                    out.insert(from.to_string(), Candidate { variant: v.to_string(), tag, date: m.time.date_naive(), reason });
                }
            }
        }
        let digests: BTreeSet<&str> = vh.channels.values().flat_map(|h| h.moves.iter()).map(|m| m.digest12.as_str()).collect();
        for d in digests {
            if current.contains(d) || out.contains_key(d) {
                continue;
            }
            let Some(left) = vh.channels.values().filter_map(|h| left_at(h, d)).max() else { continue };
            let eol = left + grace.to_chrono();
            if eol <= now
                && let Some(tag) = tag_of(d)
            {
                let reason = format!("left every channel on {} (grace {grace})", left.date_naive());
                out.insert(d.to_string(), Candidate { variant: v.to_string(), tag, date: eol.date_naive(), reason });
            }
        }
    }
    out
}

/// The digests the channels of `retired` variants point at (their newest moves), end of
/// life on the retirement date — unless a channel of a variant that is not retired points
/// there too. Pure.
pub fn retired_candidates(history: &RepoHistory, retired: &BTreeMap<&str, NaiveDate>) -> BTreeMap<String, Candidate> {
    let live: BTreeSet<&str> = history
        .variants
        .iter()
        .filter(|(name, _)| !retired.contains_key(name.as_str()))
        .flat_map(|(_, vh)| vh.channels.values())
        .filter_map(|h| h.newest())
        .map(|m| m.digest12.as_str())
        .collect();
    let mut out = BTreeMap::new();
    for (v, date) in retired {
        let Some(vh) = history.variants.get(*v) else { continue };
        for (channel, h) in &vh.channels {
            let Some(m) = h.newest() else { continue };
            if live.contains(m.digest12.as_str()) || out.contains_key(&m.digest12) {
                continue;
            }
            let reason = format!("on the {channel} channel of a variant retired on {date}");
            out.insert(m.digest12.clone(), Candidate { variant: v.to_string(), tag: m.tag.clone(), date: *date, reason });
        }
    }
    out
}

/// Marks the candidates of `variants` (dry run: reports what it would mark).
pub async fn mark<R: Registry>(ctx: &Ctx<'_, R>, variants: &[&Variant], grace: Duration) -> Result<Vec<ActionResult>, EngineError> {
    let history = ctx.snapshot().await?;
    let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
    let mut found = candidates(&history, &names, grace, ctx.now);
    let retired: BTreeMap<&str, NaiveDate> = variants.iter().filter_map(|v| v.spec.retired.map(|d| (v.name.as_str(), d))).collect();
    // a digest with two reasons is end of life since the earlier date
    for (d12, c) in retired_candidates(&history, &retired) {
        match found.get(&d12) {
            Some(had) if had.date <= c.date => {}
            _ => {
                found.insert(d12, c);
            }
        }
    }
    ctx.progress.start(found.len());
    // one digest each (its own referrers index): marked concurrently, reported in order
    let rows: Vec<Result<ActionResult, EngineError>> = futures_util::stream::iter(found.into_values())
        .map(|c| async move {
            let v = ctx.fleet.variant(&c.variant).ok_or_else(|| EngineError::Input(format!("find variant '{}'", c.variant)))?;
            let r = match one(ctx, &c).await {
                Ok((digest, date, new)) => {
                    let (action, verb) = match (new, ctx.dry_run) {
                        (true, true) => (Action::Moved, "dry run: would mark"),
                        (true, false) => (Action::Moved, "marked"),
                        (false, _) => (Action::Unchanged, "already marked"),
                    };
                    ActionResult { to: Some(digest), reason: Some(format!("{verb} end of life {date}: {}", c.reason)), ..result(v, None, action) }
                }
                Err(e) if crate::is_fatal(&e) => return Err(e.into()),
                Err(e) => ActionResult { reason: Some(e.to_string()), ..result(v, None, Action::Failed) },
            };
            ctx.progress.result(&r);
            Ok(r)
        })
        .buffered(ctx.concurrency.max(1))
        .collect()
        .await;
    rows.into_iter().collect()
}

async fn one<R: Registry>(ctx: &Ctx<'_, R>, c: &Candidate) -> Result<(String, NaiveDate, bool), imgctl_registry::RegistryError> {
    let digest = ctx.registry.resolve(ctx.repo, &c.tag).await?.digest;
    let (date, new) = mark_eol(ctx.registry, ctx.repo, &digest, c.date, ctx.now, SETTLE, !ctx.dry_run).await?;
    Ok((digest, date, new))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use imgctl_core::history::{ChannelHistory, Move, MoveKind, VariantHistory};

    use super::*;

    fn mv(h: i64, d: &str, from: Option<&str>) -> Move {
        let time = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + chrono::TimeDelta::hours(h);
        Move { time, digest12: d.into(), tag: format!("v-latest-{h}-{d}"), kind: MoveKind::Promote, rolled_back_from: from.map(str::to_string) }
    }

    fn history(channels: Vec<(&str, Vec<Move>)>) -> RepoHistory {
        let mut vh = VariantHistory::default();
        for (c, moves) in channels {
            vh.channels.insert(c.to_string(), ChannelHistory { moves });
        }
        let mut h = RepoHistory::default();
        h.variants.insert("v".into(), vh);
        h
    }

    #[test]
    fn rejected_and_superseded_digests_are_candidates_and_current_ones_never() {
        let (a, b, c) = ("aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc");
        // latest: a → b → c, rollback to b (c rejected); staging: a → c
        let h = history(vec![("latest", vec![mv(0, a, None), mv(10, b, None), mv(20, c, None), mv(30, b, Some(c))]), ("staging", vec![mv(0, a, None), mv(15, c, None)])]);
        let grace = Duration(7 * 24 * 3600);
        let now = |h: i64| Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + chrono::TimeDelta::hours(h);
        // c is rejected on latest: marked the day of the rollback (as the rollback marks it
        // with records on), although staging still points at it
        let early = candidates(&h, &["v"], grace, now(40));
        assert_eq!(early.keys().collect::<Vec<_>>(), vec![c], "{early:?}");
        assert_eq!(early[c].date, now(30).date_naive());
        // a left latest at 10h and staging at 15h: end of life 15h + 7d
        let later = candidates(&h, &["v"], grace, now(15 + 7 * 24));
        assert_eq!(later.keys().collect::<Vec<_>>(), vec![a, c]);
        assert_eq!(later[a].date, now(15 + 7 * 24).date_naive());
        assert!(later[a].reason.contains("left every channel"), "{:?}", later[a]);
    }

    #[test]
    fn a_retired_variant_s_channel_digests_end_on_its_retirement_date_unless_a_live_variant_holds_them() {
        let (a, b, c) = ("aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc");
        let mut h = history(vec![("latest", vec![mv(0, a, None), mv(10, b, None)]), ("staging", vec![mv(0, a, None), mv(5, b, None)])]);
        let mut live = VariantHistory::default();
        live.channels.insert("latest".into(), ChannelHistory { moves: vec![mv(0, c, None)] });
        h.variants.insert("w".into(), live.clone());
        let date: NaiveDate = "2026-12-01".parse().unwrap();
        let got = retired_candidates(&h, &[("v", date)].into_iter().collect());
        assert_eq!(got.keys().collect::<Vec<_>>(), vec![b], "only what the channels hold now");
        assert_eq!((got[b].date, got[b].reason.as_str()), (date, "on the latest channel of a variant retired on 2026-12-01"));
        // a digest a live variant's channel also holds is not marked
        live.channels.insert("staging".into(), ChannelHistory { moves: vec![mv(1, b, None)] });
        h.variants.insert("w".into(), live);
        assert!(retired_candidates(&h, &[("v", date)].into_iter().collect()).is_empty());
    }
}
