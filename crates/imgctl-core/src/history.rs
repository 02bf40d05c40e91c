//! Channel history rebuilt from the repository's tag list alone (SPEC §5 "History in
//! the registry"): ordered moves per variant and channel, soak start times, rejected
//! digests, and the immutable tag of each source id. See `docs/HISTORY.md`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use indexmap::IndexMap;
use serde::Serialize;

use crate::fleet::Fleet;
use crate::tags::{ParsedTag, TagIndex, TagKind};

/// How a channel came to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MoveKind {
    /// A build published to a channel that promotes from nothing (`staging`).
    Publish,
    /// A promotion to a channel that promotes from another (`latest`).
    Promote,
    /// A rollback.
    Rollback,
}

/// One move of a channel, read from its release tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// When it moved (UTC, seconds).
    pub time: DateTime<Utc>,
    /// First 12 hex digits of the digest it moved to.
    pub digest12: String,
    /// The release tag that records it (it points at the digest moved to).
    pub tag: String,
    /// Publish, promote or rollback.
    pub kind: MoveKind,
    /// For a rollback: the digest moved away from (now rejected).
    pub rolled_back_from: Option<String>,
}

/// The moves of one channel of one variant, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelHistory {
    /// Moves, oldest first (times strictly increase: imgctl never writes two moves of
    /// one channel in the same second).
    pub moves: Vec<Move>,
}

impl ChannelHistory {
    /// The newest move.
    pub fn newest(&self) -> Option<&Move> {
        self.moves.last()
    }

    /// Digests of the newest moves: usually one; more when moves share the newest
    /// second (two writers racing), whose order the tags cannot tell.
    pub fn newest_digests(&self) -> Vec<&str> {
        let Some(last) = self.newest() else { return Vec::new() };
        self.moves.iter().rev().take_while(|m| m.time == last.time).map(|m| m.digest12.as_str()).collect()
    }

    /// True when the history explains the channel pointing at `digest12` now.
    pub fn explains(&self, digest12: &str) -> bool {
        self.newest_digests().contains(&digest12)
    }

    /// When `digest12` first reached this channel (the soak start).
    pub fn first_arrival(&self, digest12: &str) -> Option<DateTime<Utc>> {
        self.moves.iter().find(|m| m.digest12 == digest12).map(|m| m.time)
    }

    /// True when the channel was rolled back from `digest12` and has not been moved
    /// to it since (a forced promotion un-rejects).
    pub fn is_rejected(&self, digest12: &str) -> bool {
        let rejected_at = self.moves.iter().rev().find(|m| m.rolled_back_from.as_deref() == Some(digest12)).map(|m| m.time);
        match rejected_at {
            None => false,
            Some(t) => !self.moves.iter().any(|m| m.digest12 == digest12 && m.time > t),
        }
    }

    /// The move a rollback from `current12` goes back to: the newest earlier move to a
    /// different digest that is not rejected.
    pub fn rollback_target(&self, current12: &str) -> Option<&Move> {
        let start = self.moves.iter().rposition(|m| m.digest12 == current12).unwrap_or(self.moves.len());
        self.moves[..start].iter().rev().find(|m| m.digest12 != current12 && !self.is_rejected(&m.digest12))
    }

    /// The move before the channel's newest one to `current12` that went to another digest
    /// (what `current12` replaced on the channel; rejected or not).
    pub fn before(&self, current12: &str) -> Option<&Move> {
        self.moves.iter().rev().skip_while(|m| m.digest12 != current12).find(|m| m.digest12 != current12)
    }

    /// The time to record a move made at `now`: `now`, or one second after the newest
    /// move when the clock is behind the history (keeps moves strictly ordered).
    pub fn next_time(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let now = now.trunc_subsecs(0);
        match self.newest() {
            Some(m) if m.time >= now => m.time + TimeDelta::seconds(1),
            _ => now,
        }
    }
}

/// Everything the tag list says about one variant.
#[derive(Debug, Clone, Default)]
pub struct VariantHistory {
    /// Channel name → its moves.
    pub channels: IndexMap<String, ChannelHistory>,
    /// Source id → immutable tag.
    pub immutable: BTreeMap<String, String>,
}

impl VariantHistory {
    /// The history of `channel` (empty when it never moved).
    pub fn channel(&self, channel: &str) -> ChannelHistory {
        self.channels.get(channel).cloned().unwrap_or_default()
    }
}

/// The repository's tags, sorted into histories.
#[derive(Debug, Clone, Default)]
pub struct RepoHistory {
    /// Variant (base tag) → its history; variants with no tags are absent.
    pub variants: HashMap<String, VariantHistory>,
    /// Tags of the schema whose variant is not in the manifest (removed variants).
    pub orphans: Vec<ParsedTag>,
    /// Tags the schema does not read at all.
    pub foreign: Vec<String>,
}

impl RepoHistory {
    /// Sorts `tags` (one listing of the repository) into histories.
    pub fn from_tags(fleet: &Fleet, index: &TagIndex<'_>, tags: &[String]) -> RepoHistory {
        let mut out = RepoHistory::default();
        for tag in tags {
            let Ok(p) = index.parse(tag) else {
                out.foreign.push(tag.clone());
                continue;
            };
            if !p.in_manifest {
                out.orphans.push(p);
                continue;
            }
            let vh = out.variants.entry(p.variant.clone()).or_default();
            match p.kind {
                TagKind::Immutable => {
                    if let Some(id) = &p.source_id {
                        vh.immutable.insert(id.clone(), p.tag.clone());
                    }
                }
                TagKind::Release => {
                    let (Some(channel), Some(time), Some(digest12)) = (&p.channel, p.time, &p.digest_prefix) else { continue };
                    let kind = if p.rolled_back_from.is_some() {
                        MoveKind::Rollback
                    } else if fleet.manifest.channels.get(channel).is_some_and(|c| c.promotes_from.is_some()) {
                        MoveKind::Promote
                    } else {
                        MoveKind::Publish
                    };
                    vh.channels.entry(channel.clone()).or_default().moves.push(Move {
                        time,
                        digest12: digest12.clone(),
                        tag: p.tag.clone(),
                        kind,
                        rolled_back_from: p.rolled_back_from.clone(),
                    });
                }
                TagKind::Base | TagKind::Channel | TagKind::Alias => {}
            }
        }
        for vh in out.variants.values_mut() {
            for ch in vh.channels.values_mut() {
                // equal times cannot come from imgctl; order them stably by tag
                ch.moves.sort_by(|a, b| (a.time, &a.tag).cmp(&(b.time, &b.tag)));
            }
        }
        out
    }

    /// The history of `variant` (empty when it has no tags).
    pub fn variant(&self, variant: &str) -> VariantHistory {
        self.variants.get(variant).cloned().unwrap_or_default()
    }
}

pub use crate::tags::digest12;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn mv(secs: i64, d: &str, from: Option<&str>) -> Move {
        Move {
            time: Utc.timestamp_opt(secs, 0).unwrap(),
            digest12: d.into(),
            tag: format!("t-{secs}"),
            kind: if from.is_some() { MoveKind::Rollback } else { MoveKind::Promote },
            rolled_back_from: from.map(str::to_string),
        }
    }

    #[test]
    fn rollback_goes_back_one_distinct_step_and_twice_goes_back_two() {
        let mut h = ChannelHistory { moves: vec![mv(1, "a", None), mv(2, "b", None), mv(3, "b", None), mv(4, "c", None)] };
        assert_eq!(h.rollback_target("c").unwrap().digest12, "b");
        h.moves.push(mv(5, "b", Some("c")));
        assert!(h.is_rejected("c"));
        assert_eq!(h.rollback_target("b").unwrap().digest12, "a");
        h.moves.push(mv(6, "a", Some("b")));
        assert!(h.is_rejected("b") && h.is_rejected("c"));
        assert!(h.rollback_target("a").is_none());
    }

    #[test]
    fn a_later_move_to_a_rejected_digest_unrejects_it() {
        let h = ChannelHistory { moves: vec![mv(1, "a", None), mv(2, "b", None), mv(3, "a", Some("b")), mv(4, "b", None)] };
        assert!(!h.is_rejected("b"));
        assert_eq!(h.first_arrival("b"), Some(Utc.timestamp_opt(2, 0).unwrap()));
    }

    #[test]
    fn before_is_what_the_newest_move_to_a_digest_replaced_rejected_or_not() {
        let h = ChannelHistory { moves: vec![mv(1, "a", None), mv(2, "b", None), mv(3, "b", None), mv(4, "c", None), mv(5, "b", Some("c"))] };
        assert_eq!(h.before("b").unwrap().digest12, "c", "the rolled-back digest");
        assert_eq!(h.before("c").unwrap().digest12, "b");
        assert!(h.before("a").is_none(), "the first move replaced nothing");
        assert!(h.before("z").is_none(), "never on the channel");
    }

    #[test]
    fn next_time_is_strictly_after_history() {
        let h = ChannelHistory { moves: vec![mv(100, "a", None)] };
        assert_eq!(h.next_time(Utc.timestamp_opt(50, 5).unwrap()).timestamp(), 101);
        assert_eq!(h.next_time(Utc.timestamp_opt(200, 5).unwrap()).timestamp(), 200);
    }
}
