//! Rollout decisions (SPEC §4 `promote`, `rollback`, §5): given what the registry
//! said, what should happen to one variant's channel. Pure; the engine does the I/O.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::duration::Duration;
use crate::history::{ChannelHistory, digest12};

/// What was done (or would be, in a dry run) to one variant (SPEC §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The channel moved.
    Moved,
    /// Already where it should be.
    Unchanged,
    /// Not moved, for the reason given.
    Skipped,
    /// Someone else moved the channel concurrently; nothing was overwritten.
    Conflict,
    /// An error; the reason says which.
    Failed,
    /// Deleted (`gc`).
    Deleted,
    /// Kept (`gc`).
    Kept,
}

/// One line of a mutating command's report (SPEC §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionResult {
    /// The variant.
    pub variant: String,
    /// The channel acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Digest before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Digest after (or planned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// What happened.
    pub action: Action,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `publish`: bytes of blobs uploaded (0 when everything was already there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded_bytes: Option<u64>,
    /// For a row of a mirror: `host[:port]/repository` of the mirror (absent: the primary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    /// For a skipped row: what held it back, when that makes the run fail (`verification`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<BlockedBy>,
}

/// Why a promotion is held back (SPEC §4.1 `status.pending.blockedBy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockedBy {
    /// Not on the source channel for long enough yet.
    Soak,
    /// Rolled back from; only a forced promotion moves to it.
    Rejected,
    /// No immutable tag for the source id at the revision.
    MissingBuild,
    /// The channel's verification command failed for the build.
    Verification,
}

/// The verdict for one variant's promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Move the channel to `to`.
    Move {
        /// Digest to move to.
        to: String,
    },
    /// The channel is already at the candidate.
    UpToDate,
    /// Held back.
    Blocked {
        /// Why.
        by: BlockedBy,
        /// For soak: how long is left.
        remaining: Option<Duration>,
        /// In words.
        reason: String,
    },
}

/// What promotion knows about one variant.
#[derive(Debug, Clone)]
pub struct PromoteInput<'a> {
    /// Digest of the immutable tag for the source id at the revision (None: no build).
    pub candidate: Option<&'a str>,
    /// The source id at the revision.
    pub source_id: &'a str,
    /// Digest the target channel points at now.
    pub current: Option<&'a str>,
    /// History of the target channel (`latest`).
    pub target: &'a ChannelHistory,
    /// History of the channel it promotes from (`staging`).
    pub source: &'a ChannelHistory,
    /// Name of the source channel, for messages.
    pub source_name: &'a str,
    /// Required time on the source channel.
    pub soak: Duration,
    /// Skip soak and rejection.
    pub force: bool,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Decides one promotion: move only a built, soaked, non-rejected digest that the
/// channel is not already at.
pub fn decide_promote(i: &PromoteInput<'_>) -> Verdict {
    let Some(candidate) = i.candidate else {
        return Verdict::Blocked {
            by: BlockedBy::MissingBuild,
            remaining: None,
            reason: format!("no build for source id {} (no immutable tag; publish it first)", i.source_id),
        };
    };
    if i.current == Some(candidate) {
        return Verdict::UpToDate;
    }
    let d12 = digest12(candidate);
    if !i.force {
        if i.target.is_rejected(d12) || i.source.is_rejected(d12) {
            return Verdict::Blocked {
                by: BlockedBy::Rejected,
                remaining: None,
                reason: "rejected: the channel was rolled back from it; promote --variant V --force to re-promote it".into(),
            };
        }
        let Some(since) = i.source.first_arrival(d12) else {
            return Verdict::Blocked {
                by: BlockedBy::Soak,
                remaining: Some(i.soak),
                reason: format!("never on {} (soak {} has not started)", i.source_name, i.soak),
            };
        };
        let soaked = i.now.signed_duration_since(since).num_seconds().max(0) as u64;
        if soaked < i.soak.as_secs() {
            let left = Duration(i.soak.as_secs() - soaked);
            return Verdict::Blocked {
                by: BlockedBy::Soak,
                remaining: Some(left),
                reason: format!("on {} for {} of {}: {left} left", i.source_name, Duration(soaked), i.soak),
            };
        }
    }
    Verdict::Move { to: candidate.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Move, MoveKind};
    use chrono::TimeZone;

    const D1: &str = "sha256:1111111111110000000000000000000000000000000000000000000000000000";
    const D2: &str = "sha256:2222222222220000000000000000000000000000000000000000000000000000";

    fn at(h: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(h * 3600, 0).unwrap()
    }

    fn mv(h: i64, d: &str, from: Option<&str>) -> Move {
        Move { time: at(h), digest12: digest12(d).into(), tag: String::new(), kind: MoveKind::Publish, rolled_back_from: from.map(|f| digest12(f).into()) }
    }

    fn input<'a>(candidate: Option<&'a str>, current: Option<&'a str>, target: &'a ChannelHistory, source: &'a ChannelHistory, now_h: i64) -> PromoteInput<'a> {
        PromoteInput { candidate, source_id: "abcdefabcdef", current, target, source, source_name: "staging", soak: Duration(72 * 3600), force: false, now: at(now_h) }
    }

    #[test]
    fn soak_gates_and_reports_time_left() {
        let staging = ChannelHistory { moves: vec![mv(0, D1, None)] };
        let latest = ChannelHistory::default();
        match decide_promote(&input(Some(D1), None, &latest, &staging, 70)) {
            Verdict::Blocked { by: BlockedBy::Soak, remaining, .. } => assert_eq!(remaining, Some(Duration(2 * 3600))),
            v => panic!("{v:?}"),
        }
        assert_eq!(decide_promote(&input(Some(D1), None, &latest, &staging, 72)), Verdict::Move { to: D1.into() });
    }

    #[test]
    fn rejected_is_not_promoted_unless_forced() {
        let staging = ChannelHistory { moves: vec![mv(0, D1, None), mv(1, D2, None)] };
        let latest = ChannelHistory { moves: vec![mv(100, D1, None), mv(101, D2, None), mv(102, D1, Some(D2))] };
        let i = input(Some(D2), Some(D1), &latest, &staging, 200);
        assert!(matches!(decide_promote(&i), Verdict::Blocked { by: BlockedBy::Rejected, .. }));
        let forced = PromoteInput { force: true, ..i };
        assert_eq!(decide_promote(&forced), Verdict::Move { to: D2.into() });
    }

    #[test]
    fn missing_build_and_up_to_date() {
        let h = ChannelHistory::default();
        assert!(matches!(decide_promote(&input(None, None, &h, &h, 0)), Verdict::Blocked { by: BlockedBy::MissingBuild, .. }));
        assert_eq!(decide_promote(&input(Some(D1), Some(D1), &h, &h, 0)), Verdict::UpToDate);
    }
}
