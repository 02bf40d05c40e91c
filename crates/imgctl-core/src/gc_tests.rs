//! Tests of gc planning: worked examples, and a property test over random histories
//! (publish, promote, rollback, republish, multi-arch indexes sharing children, foreign
//! tags, a removed variant) proving nothing protected is ever planned for deletion.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;

use crate::duration::Duration;
use crate::gc::{GcOptions, GcPlan, Inventory, RECENT_DIGESTS, ROLLBACK_DEPTH, Why, plan};
use crate::history::{ChannelHistory, Move, MoveKind, digest12};
use crate::tags::{TagIndex, TagKind};
use crate::testtree::{MANIFEST, fleet};

const MID: &str = "ubuntu-22.04-mid-amd64";
const BASE: &str = "ubuntu-22.04-base-amd64";
/// Not in the manifest: its tags are orphans.
const GONE: &str = "ubuntu-22.04-gone-amd64";

fn digest(n: u64) -> String {
    format!("sha256:{n:012x}{}", "ab".repeat(26))
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

/// A model registry driven like imgctl drives the real one.
#[derive(Default)]
struct Sim {
    inv: Inventory,
    now: i64,
    next: u64,
    builds: BTreeMap<String, Vec<String>>,
    /// Attach a record to the digest of every move (a `sha256-<hex>` index, rewritten).
    records: bool,
    /// Subject → its records' artifact digests.
    artifacts: BTreeMap<String, Vec<String>>,
}

impl Sim {
    fn time(&self) -> DateTime<Utc> {
        t0() + TimeDelta::hours(self.now)
    }
    fn ts(&self) -> String {
        self.time().format("%Y%m%d%H%M%S").to_string()
    }
    fn fresh(&mut self) -> String {
        self.next += 1;
        digest(self.next)
    }
    fn aliases(v: &str, suffix: &str) -> Vec<String> {
        if v == MID { vec![format!("midway{suffix}")] } else { Vec::new() }
    }
    fn moved(&mut self, v: &str, suffix: &str, d: &str, from: Option<&str>) {
        self.inv.tags.insert(format!("{v}{suffix}"), d.to_string());
        for a in Sim::aliases(v, suffix) {
            self.inv.tags.insert(a, d.to_string());
        }
        let mut rel = format!("{v}{suffix}-{}-{}", self.ts(), digest12(d));
        if let Some(f) = from {
            rel = format!("{rel}-{}", digest12(f));
        }
        self.inv.tags.insert(rel, d.to_string());
        self.now += 1;
        if self.records {
            let (index, artifact) = (self.fresh(), self.fresh());
            let list = self.artifacts.entry(d.to_string()).or_default();
            list.push(artifact);
            let list = list.clone();
            self.inv.tags.insert(d.replacen(':', "-", 1), index.clone());
            self.inv.children.insert(index, list);
        }
    }
    /// A new build (or, with `reuse`, the bytes of an earlier one) under a new source id.
    fn publish(&mut self, v: &str, index: bool, share: bool, reuse: Option<usize>) {
        let old = self.builds.get(v).cloned().unwrap_or_default();
        let d = match reuse.and_then(|i| old.get(i % old.len().max(1))) {
            Some(d) => d.clone(),
            None => {
                let d = self.fresh();
                if index {
                    let mut kids = vec![self.fresh(), self.fresh()];
                    let images = self.inv.children.iter().filter(|(d, _)| !self.artifacts.values().flatten().any(|a| self.inv.children[*d].contains(a)));
                    if share && let Some((_, other)) = images.into_iter().next() {
                        kids[1] = other[0].clone();
                    }
                    self.inv.children.insert(d.clone(), kids);
                }
                d
            }
        };
        self.next += 1;
        self.inv.tags.insert(format!("{v}-{:012x}", 0xf000_0000_0000u64 + self.next), d.clone());
        self.builds.entry(v.to_string()).or_default().push(d.clone());
        self.moved(v, "-staging", &d, None);
    }
    fn promote(&mut self, v: &str) {
        if let Some(d) = self.inv.tags.get(&format!("{v}-staging")).cloned() {
            self.moved(v, "", &d, None);
        }
    }
    fn rollback(&mut self, index: &TagIndex<'_>, v: &str) {
        let Some(cur) = self.inv.tags.get(v).cloned() else { return };
        let h = histories(index, &self.inv).remove(&(v.to_string(), "latest".to_string())).unwrap_or_default();
        if let Some(target) = h.rollback_target(digest12(&cur)) {
            let d = self.inv.tags[&target.tag].clone();
            self.moved(v, "", &d, Some(&cur));
        }
    }
}

/// (variant, channel) → history, orphans included, read from the tags alone.
fn histories(index: &TagIndex<'_>, inv: &Inventory) -> BTreeMap<(String, String), ChannelHistory> {
    let mut out: BTreeMap<(String, String), ChannelHistory> = BTreeMap::new();
    for tag in inv.tags.keys() {
        let Ok(p) = index.parse(tag) else { continue };
        if p.kind != TagKind::Release {
            continue;
        }
        let mv = Move { time: p.time.unwrap(), digest12: p.digest_prefix.clone().unwrap(), tag: tag.clone(), kind: MoveKind::Publish, rolled_back_from: p.rolled_back_from.clone() };
        out.entry((p.variant.clone(), p.channel.clone().unwrap())).or_default().moves.push(mv);
    }
    for h in out.values_mut() {
        h.moves.sort_by(|a, b| (a.time, &a.tag).cmp(&(b.time, &b.tag)));
    }
    out
}

/// The tags left after deleting what `p` plans (a registry deletes every tag of a digest).
fn apply(inv: &Inventory, p: &GcPlan) -> Inventory {
    let gone: BTreeSet<&str> = p.delete.iter().map(|d| d.digest.as_str()).collect();
    Inventory {
        tags: inv.tags.iter().filter(|(_, d)| !gone.contains(d.as_str())).map(|(t, d)| (t.clone(), d.clone())).collect(),
        children: inv.children.iter().filter(|(d, _)| !gone.contains(d.as_str())).map(|(d, c)| (d.clone(), c.clone())).collect(),
    }
}

/// Rollback targets `depth` steps deep from the channel's current digest, as digest12s.
fn rollback_chain(h: &ChannelHistory, current: &str) -> Vec<String> {
    let (mut h, mut cur, mut out) = (h.clone(), digest12(current).to_string(), Vec::new());
    for _ in 0..ROLLBACK_DEPTH {
        let Some(t) = h.rollback_target(&cur).cloned() else { break };
        let time = h.newest().unwrap().time + TimeDelta::seconds(1);
        h.moves.push(Move { time, digest12: t.digest12.clone(), tag: String::new(), kind: MoveKind::Rollback, rolled_back_from: Some(cur) });
        out.push(t.digest12.clone());
        cur = t.digest12;
    }
    out
}

/// The oracle: digests the rules name directly (SPEC §5), before closure over children.
fn directly_protected(index: &TagIndex<'_>, inv: &Inventory, o: &GcOptions) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut immutables: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (tag, d) in &inv.tags {
        match index.parse(tag) {
            // a referrers index (records) follows its subject: checked in `consumers`
            Err(_) if tag.starts_with("sha256-") => {}
            Err(_) => {
                out.insert(d.clone());
            }
            Ok(p) => match p.kind {
                TagKind::Channel | TagKind::Alias | TagKind::Base => {
                    out.insert(d.clone());
                }
                TagKind::Release if p.time.unwrap() >= o.now - o.older_than.to_chrono() => {
                    out.insert(d.clone());
                }
                TagKind::Immutable => immutables.entry(p.variant).or_default().push((tag.clone(), d.clone())),
                TagKind::Release => {}
            },
        }
    }
    let hs = histories(index, inv);
    for (v, list) in immutables {
        let first = |d: &str| hs.iter().filter(|((hv, _), _)| *hv == v).filter_map(|(_, h)| h.first_arrival(digest12(d))).min();
        let mut dated: Vec<_> = list.iter().map(|(t, d)| (first(d), t.clone(), d.clone())).collect();
        dated.sort_by(|a, b| (b.0.is_none(), b.0, &b.1).cmp(&(a.0.is_none(), a.0, &a.1)));
        let unknown = dated.iter().filter(|x| x.0.is_none()).count();
        out.extend(dated.into_iter().take(unknown + o.keep).map(|x| x.2));
    }
    out
}

fn check(inv: &Inventory, o: &GcOptions) -> Result<(), TestCaseError> {
    let f = fleet(MANIFEST);
    let index = TagIndex::new(&f);
    let p = plan(&index, inv, o);
    // 1. nothing the rules name, nor any child of a kept index, is deleted
    let mut protected = directly_protected(&index, inv, o);
    let mut work: Vec<String> = protected.iter().cloned().collect();
    while let Some(d) = work.pop() {
        for c in inv.children.get(&d).into_iter().flatten() {
            if protected.insert(c.clone()) {
                work.push(c.clone());
            }
        }
    }
    for d in &p.delete {
        prop_assert!(!protected.contains(&d.digest), "protected {} planned for deletion: {:?}", d.digest, d.why);
        prop_assert!(d.why.iter().all(|w| !w.protects()));
    }
    for k in &p.keep {
        for c in inv.children.get(&k.digest).into_iter().flatten() {
            prop_assert!(!p.deletes(c), "child {c} of kept {} deleted", k.digest);
        }
    }
    // 2. after deleting, every channel still resolves, rolls back the same way, keeps its
    //    newest digests, and rejections of surviving digests still stand
    let after = apply(inv, &p);
    let (hb, ha) = (histories(&index, inv), histories(&index, &after));
    for ((v, c), h) in &hb {
        let tag = if c == "latest" { v.clone() } else { format!("{v}-{c}") };
        let a = ha.get(&(v.clone(), c.clone())).cloned().unwrap_or_default();
        if let Some(cur) = inv.tags.get(&tag) {
            prop_assert_eq!(after.tags.get(&tag), Some(cur));
            prop_assert_eq!(rollback_chain(h, cur), rollback_chain(&a, cur), "rollback of {} changed", tag);
        }
        let mut recent: Vec<&str> = Vec::new();
        for m in h.moves.iter().rev() {
            if recent.len() < RECENT_DIGESTS && !recent.contains(&m.digest12.as_str()) {
                recent.push(&m.digest12);
            }
        }
        for d12 in recent {
            prop_assert!(a.moves.iter().any(|m| m.digest12 == d12), "recent {d12} of {v}/{c} lost");
        }
        for m in &h.moves {
            let alive = after.tags.values().any(|d| digest12(d) == m.digest12);
            if alive && h.is_rejected(&m.digest12) {
                prop_assert!(a.is_rejected(&m.digest12), "rejection of {} on {v}/{c} lost", m.digest12);
            }
        }
    }
    // 3. a second run deletes nothing
    let again = plan(&index, &after, o);
    prop_assert!(again.delete.is_empty(), "second run deletes {:?}", again.delete.iter().map(|d| &d.why).collect::<Vec<_>>());
    Ok(())
}

fn simulate(ops: &[(u8, u8, u8)], with_foreign: bool) -> Sim {
    simulate_with(ops, with_foreign, false)
}

fn simulate_with(ops: &[(u8, u8, u8)], with_foreign: bool, records: bool) -> Sim {
    let f = fleet(MANIFEST);
    let index = TagIndex::new(&f);
    let mut s = Sim { records, ..Sim::default() };
    for &(op, var, arg) in ops {
        let v = [BASE, MID, GONE][usize::from(var % 3)];
        s.now += i64::from(arg % 48);
        match op % 6 {
            0 | 1 => s.publish(v, arg % 3 == 0, arg % 5 == 0, (arg % 7 == 0).then_some(usize::from(arg))),
            2 | 3 => s.promote(v),
            4 => s.rollback(&index, v),
            _ if with_foreign => drop(s.inv.tags.insert(format!("v{arg}"), s.builds.values().flatten().next().cloned().unwrap_or_else(|| digest(999)))),
            _ => s.promote(v),
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]
    #[test]
    fn no_protected_digest_is_ever_planned_for_deletion(
        ops in proptest::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 0..60),
        keep in 0usize..4,
        window_h in 0u64..200,
        later_h in 0i64..400,
        foreign in any::<bool>(),
    ) {
        let s = simulate(&ops, foreign);
        let o = GcOptions { keep, older_than: Duration(window_h * 3600), now: s.time() + TimeDelta::hours(later_h) };
        check(&s.inv, &o)?;
    }
}

#[path = "gc_tests_examples.rs"]
mod examples;

#[path = "gc_consumers_tests.rs"]
mod consumers;
