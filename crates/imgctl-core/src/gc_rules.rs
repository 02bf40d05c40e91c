//! gc's protection rules, one function each (`docs/GC.md` "What protects a digest"): the
//! recent digests and rollback chain of every channel, the newest `--keep` builds, children
//! of protected indexes, rollback records of rejected digests that stay, and the children
//! that go with a deleted index.

use std::collections::{BTreeMap, BTreeSet};

use super::{Facts, Inventory, RECENT_DIGESTS, ROLLBACK_DEPTH, VariantFacts, Why};
use crate::history::{Move, MoveKind, digest12};

pub(super) fn protect_channels(f: &mut Facts, variant: &str, vf: &mut VariantFacts, tags: &BTreeMap<String, String>) {
    let full = |m: &Move| tags.get(&m.tag).cloned();
    for (channel, (h, current)) in &mut vf.channels {
        h.moves.sort_by(|a, b| (a.time, &a.tag).cmp(&(b.time, &b.tag)));
        let mut seen: Vec<&str> = Vec::new();
        for m in h.moves.iter().rev() {
            if seen.len() == RECENT_DIGESTS {
                break;
            }
            if !seen.contains(&m.digest12.as_str()) {
                seen.push(&m.digest12);
                if let Some(d) = full(m) {
                    f.add(&d, Why::Recent(variant.to_string(), channel.clone(), seen.len()));
                }
            }
        }
        let mut cur = match (current.as_deref(), h.newest()) {
            (Some(c), _) => digest12(c).to_string(),
            (None, Some(m)) => m.digest12.clone(),
            (None, None) => continue,
        };
        let mut sim = h.clone();
        for depth in 1..=ROLLBACK_DEPTH {
            let Some(target) = sim.rollback_target(&cur).cloned() else { break };
            if let Some(d) = full(&target) {
                f.add(&d, Why::RollbackTarget(variant.to_string(), channel.clone(), depth));
            }
            let time = sim.newest().map_or(target.time, |m| m.time) + chrono::TimeDelta::seconds(1);
            sim.moves.push(Move { time, digest12: target.digest12.clone(), tag: String::new(), kind: MoveKind::Rollback, rolled_back_from: Some(cur) });
            cur = target.digest12;
        }
    }
}

pub(super) fn protect_immutables(f: &mut Facts, vf: &VariantFacts, keep: usize) {
    let first_seen = |digest: &str| {
        let d12 = digest12(digest);
        vf.channels.values().filter_map(|(h, _)| h.first_arrival(d12)).min()
    };
    let mut dated = Vec::new();
    for (tag, digest) in &vf.immutables {
        match first_seen(digest) {
            Some(t) => dated.push((t, tag, digest)),
            None => f.add(digest, Why::UnknownAge(tag.clone())),
        }
    }
    dated.sort_by(|a, b| (b.0, b.1).cmp(&(a.0, a.1)));
    for (rank, (_, tag, digest)) in dated.into_iter().enumerate() {
        let why = if rank < keep { Why::KeptImmutable(tag.clone(), rank + 1) } else { Why::OldImmutable(tag.clone(), rank + 1) };
        f.add(digest, why);
    }
}

pub(super) fn protect_children(f: &mut Facts, inv: &Inventory) {
    let mut work: Vec<String> = f.why.keys().filter(|d| f.protected(d)).cloned().collect();
    while let Some(parent) = work.pop() {
        for child in inv.children.get(&parent).into_iter().flatten() {
            let was = f.protected(child);
            f.add(child, Why::ChildOf(parent.clone()));
            let parents = f.variants.get(&parent).cloned().unwrap_or_default();
            f.variants.entry(child.clone()).or_default().extend(parents);
            if !was {
                work.push(child.clone());
            }
        }
    }
}

/// Keeps the digest of every rollback release tag whose rejected digest stays; true
/// when that protected something new.
pub(super) fn protect_rejections(f: &mut Facts, rollbacks: &[(String, String, String)]) -> bool {
    let kept12: BTreeSet<String> = f.why.keys().filter(|d| f.protected(d)).map(|d| digest12(d).to_string()).collect();
    let mut changed = false;
    for (tag, digest, from) in rollbacks {
        if kept12.contains(from) && !f.protected(digest) {
            changed = true;
        }
        if kept12.contains(from) {
            f.add(digest, Why::RecordsRejection(tag.clone(), from.clone()));
        }
    }
    changed
}

pub(super) fn mark_deleted_children(f: &mut Facts, inv: &Inventory) {
    let mut work: Vec<String> = f.why.keys().filter(|d| !f.protected(d)).cloned().collect();
    while let Some(parent) = work.pop() {
        for child in inv.children.get(&parent).into_iter().flatten() {
            if f.protected(child) {
                continue;
            }
            let fresh = !f.why.contains_key(child);
            f.add(child, Why::ChildOfDeleted(parent.clone()));
            let parents = f.variants.get(&parent).cloned().unwrap_or_default();
            f.variants.entry(child.clone()).or_default().extend(parents);
            if fresh {
                work.push(child.clone());
            }
        }
    }
}
