//! Which moves of a channel were forced (SPEC §9 `history` `forced`), from the one tag
//! listing alone: a move went past a rule scheduled promotion keeps. See docs/HISTORY.md
//! "Forced moves" for why this is read from the histories and not from a tag of its own.

use chrono::{DateTime, Utc};

use crate::duration::Duration;
use crate::history::{ChannelHistory, Move, MoveKind};

/// The rules of the channel whose moves are judged.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// The history of the channel it promotes from (`None`: it promotes from nothing).
    pub source: Option<&'a ChannelHistory>,
    /// The channel's soak on its source.
    pub soak: Duration,
    /// Its first move needs no soak (`newVariants: immediate`, the default).
    pub new_immediate: bool,
}

/// For each move of `target` (same order): true when it was forced — a move (not a
/// rollback) to a digest that, at the time of the move,
/// - was rejected on the channel or on its source (a rollback moved away from it), or
/// - had never been on the source channel, or
/// - had been on the source for less than the soak — except for the channel's first move,
///   which a new variant makes without soak under `newVariants: immediate` (the default).
pub fn forced(target: &ChannelHistory, rules: Rules<'_>) -> Vec<bool> {
    target.moves.iter().enumerate().map(|(i, m)| m.kind != MoveKind::Rollback && forced_one(target, i, m, rules)).collect()
}

fn forced_one(target: &ChannelHistory, i: usize, m: &Move, rules: Rules<'_>) -> bool {
    let before_target = ChannelHistory { moves: target.moves[..i].to_vec() };
    if before_target.is_rejected(&m.digest12) {
        return true;
    }
    let Some(source) = rules.source else { return false };
    let before_source = before(source, m.time);
    if before_source.is_rejected(&m.digest12) {
        return true;
    }
    let Some(arrived) = before_source.first_arrival(&m.digest12) else { return true };
    let soaked = m.time.signed_duration_since(arrived).num_seconds().max(0) as u64;
    !(i == 0 && rules.new_immediate) && soaked < rules.soak.as_secs()
}

/// The moves of `h` made up to `t` (a promotion may share the second of its publish).
fn before(h: &ChannelHistory, t: DateTime<Utc>) -> ChannelHistory {
    ChannelHistory { moves: h.moves.iter().filter(|m| m.time <= t).cloned().collect() }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn mv(h: i64, d: &str, kind: MoveKind, from: Option<&str>) -> Move {
        Move { time: Utc.timestamp_opt(h * 3600, 0).unwrap(), digest12: d.into(), tag: format!("t{h}"), kind, rolled_back_from: from.map(str::to_string) }
    }

    #[test]
    fn soaked_promotions_are_not_forced_and_every_skipped_rule_is() {
        use MoveKind::{Promote, Publish, Rollback};
        let staging = ChannelHistory { moves: vec![mv(0, "a", Publish, None), mv(100, "b", Publish, None), mv(200, "c", Publish, None), mv(300, "e", Publish, None)] };
        let latest = ChannelHistory {
            moves: vec![
                mv(1, "a", Promote, None),        // first move: a new variant, no soak needed
                mv(172, "b", Promote, None),      // 72h after b reached staging: soaked
                mv(180, "a", Rollback, Some("b")), // a rollback is never "forced"
                mv(190, "b", Promote, None),      // b is rejected: forced
                mv(210, "c", Promote, None),      // c on staging for 10h of 72h: forced
                mv(220, "d", Promote, None),      // d never on staging: forced
                mv(400, "e", Promote, None),      // e soaked 100h: not forced
            ],
        };
        let rules = Rules { source: Some(&staging), soak: Duration(72 * 3600), new_immediate: true };
        assert_eq!(forced(&latest, rules), vec![false, false, false, true, true, true, false]);
        // without soak only rejection and "never on the source" count
        assert_eq!(forced(&latest, Rules { soak: Duration(0), ..rules }), vec![false, false, false, true, false, true, false]);
        // newVariants: soak — the first move had to soak too (a went out after 1h of 72h)
        assert!(forced(&latest, Rules { new_immediate: false, ..rules })[0]);
        // a channel that promotes from nothing: only a move back to a rejected digest
        let pubs = ChannelHistory { moves: vec![mv(0, "a", Publish, None), mv(1, "b", Publish, None), mv(2, "a", Rollback, Some("b")), mv(3, "b", Publish, None)] };
        assert_eq!(forced(&pubs, Rules { source: None, soak: Duration(0), new_immediate: true }), vec![false, false, false, true]);
    }

    #[test]
    fn a_digest_rejected_on_the_source_forces_the_promotion() {
        use MoveKind::{Promote, Publish, Rollback};
        let staging = ChannelHistory { moves: vec![mv(0, "a", Publish, None), mv(1, "b", Publish, None), mv(2, "a", Rollback, Some("b"))] };
        let latest = ChannelHistory { moves: vec![mv(0, "a", Promote, None), mv(10, "b", Promote, None)] };
        assert_eq!(forced(&latest, Rules { source: Some(&staging), soak: Duration(0), new_immediate: true }), vec![false, true]);
    }
}
