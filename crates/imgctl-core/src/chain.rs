//! Rings (SPEC §9): channels chain through `promotesFrom` (`staging` → `canary` →
//! `latest`). Which channels `promote` advances and in what order, which one consumers
//! use (the chain's end: `rollback` and `history` default to it), and which branch a
//! channel's promotion follows.

use indexmap::IndexMap;

use crate::manifest::Channel;

/// The promotable channels (those with `promotesFrom`) in chain order: every channel
/// after the one it promotes from. Channels in a cycle or promoting from an unknown
/// channel are left out (`validate` reports them).
pub fn promotion_order(channels: &IndexMap<String, Channel>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // a channel's depth is the length of its promotesFrom chain; a root has depth 0
    let depth = |name: &str| -> Option<usize> {
        let mut d = 0;
        let mut at = name;
        while let Some(from) = channels.get(at)?.promotes_from.as_deref() {
            d += 1;
            if d > channels.len() {
                return None;
            }
            at = from;
        }
        Some(d)
    };
    let mut ranked: Vec<(usize, usize, &String)> = channels
        .iter()
        .enumerate()
        .filter(|(_, (_, c))| c.promotes_from.is_some())
        .filter_map(|(i, (n, _))| depth(n).map(|d| (d, i, n)))
        .collect();
    ranked.sort();
    out.extend(ranked.into_iter().map(|(_, _, n)| n.clone()));
    out
}

/// The channel consumers use: the end of the promotion chain (a promotable channel that
/// no channel promotes from; the deepest one, the first in manifest order on a tie).
/// `None` when nothing is promoted.
pub fn consumer_channel(channels: &IndexMap<String, Channel>) -> Option<String> {
    let order = promotion_order(channels);
    let is_source = |n: &str| channels.values().any(|c| c.promotes_from.as_deref() == Some(n));
    let mut best: Option<(usize, &String)> = None;
    for name in channels.keys().filter(|n| order.contains(n) && !is_source(n)) {
        let depth = chain_of(channels, name).len();
        if best.is_none_or(|(d, _)| depth > d) {
            best = Some((depth, name));
        }
    }
    best.map(|(_, n)| n.clone())
}

/// The chain that leads to `channel`, root first (`[staging, canary, latest]`).
pub fn chain_of(channels: &IndexMap<String, Channel>, channel: &str) -> Vec<String> {
    let mut out = vec![channel.to_string()];
    let mut at = channel;
    while let Some(from) = channels.get(at).and_then(|c| c.promotes_from.as_deref()) {
        if out.iter().any(|c| c == from) || out.len() > channels.len() {
            break;
        }
        out.push(from.to_string());
        at = from;
    }
    out.reverse();
    out
}

/// The branch a channel's promotion follows: its own `branch`, else the nearest one up
/// its chain (a `canary` without a branch follows `staging`'s `main`).
pub fn promotion_branch(channels: &IndexMap<String, Channel>, channel: &str) -> Option<String> {
    chain_of(channels, channel).iter().rev().find_map(|c| channels.get(c).and_then(|c| c.branch.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(from: Option<&str>, branch: Option<&str>) -> Channel {
        Channel { suffix: String::new(), branch: branch.map(Into::into), promotes_from: from.map(Into::into), soak: None, verify: None, schedule: None, new_variants: None }
    }

    fn rings() -> IndexMap<String, Channel> {
        // declared out of order on purpose
        let mut m = IndexMap::new();
        m.insert("latest".to_string(), ch(Some("canary"), Some("production")));
        m.insert("staging".to_string(), ch(None, Some("main")));
        m.insert("canary".to_string(), ch(Some("staging"), None));
        m
    }

    #[test]
    fn rings_are_ordered_along_the_chain_and_end_at_the_consumer_channel() {
        let m = rings();
        assert_eq!(promotion_order(&m), ["canary", "latest"]);
        assert_eq!(consumer_channel(&m).as_deref(), Some("latest"));
        assert_eq!(chain_of(&m, "latest"), ["staging", "canary", "latest"]);
        assert_eq!(promotion_branch(&m, "canary").as_deref(), Some("main"));
        assert_eq!(promotion_branch(&m, "latest").as_deref(), Some("production"));
    }

    #[test]
    fn two_channels_and_a_cycle() {
        let mut m = IndexMap::new();
        m.insert("staging".to_string(), ch(None, Some("main")));
        m.insert("latest".to_string(), ch(Some("staging"), Some("production")));
        assert_eq!(promotion_order(&m), ["latest"]);
        assert_eq!(consumer_channel(&m).as_deref(), Some("latest"));
        m.insert("a".to_string(), ch(Some("b"), None));
        m.insert("b".to_string(), ch(Some("a"), None));
        assert_eq!(promotion_order(&m), ["latest"], "a cycle is left to validate");
        let mut none = IndexMap::new();
        none.insert("staging".to_string(), ch(None, None));
        assert_eq!(consumer_channel(&none), None);
    }
}
