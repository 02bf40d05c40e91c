//! Garbage-collection planning (SPEC §4 `gc`, §5 "Cleanup never breaks what is in use"):
//! from every tag of the repository with the digest behind it, and the children of every
//! index, decide which digests may be deleted and why every other one stays. Pure; the
//! engine does the listing, HEADs, GETs and DELETEs. Rules and decisions: `docs/GC.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::duration::Duration;
use crate::history::{ChannelHistory, Move, MoveKind, digest12};
use crate::tags::{TagIndex, TagKind};

#[path = "gc_consumers.rs"]
mod consumers;
pub use consumers::Pins;
use consumers::{protect_pins, protect_records, referrers_subject};

/// However old, the newest this many distinct digests of every channel's history stay.
pub const RECENT_DIGESTS: usize = 3;
/// However old, the digests `rollback` would go to this many times in a row stay.
pub const ROLLBACK_DEPTH: usize = 2;

/// The knobs of one gc run.
#[derive(Debug, Clone, Copy)]
pub struct GcOptions {
    /// Immutable tags kept per variant (the newest builds).
    pub keep: usize,
    /// Release tags younger than this protect their digest.
    pub older_than: Duration,
    /// Now.
    pub now: DateTime<Utc>,
}

/// What the registry said: every tag with its digest, and every index's children.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Tag → full `sha256:…` digest it points at.
    pub tags: BTreeMap<String, String>,
    /// Index digest → its child manifests' digests.
    pub children: BTreeMap<String, Vec<String>>,
}

/// Why a digest stays, or why it may go.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Why {
    /// A channel tag points at it.
    Channel(String),
    /// An alias tag points at it.
    Alias(String),
    /// A base tag points at it (a name consumers may use).
    Base(String),
    /// A tag outside the schema points at it (someone else's; never touched).
    Foreign(String),
    /// A release tag younger than `--older-than` points at it.
    InWindow(String),
    /// One of the newest [`RECENT_DIGESTS`] distinct digests of a channel (variant, channel, rank 1..).
    Recent(String, String, usize),
    /// Where `rollback` would go (variant, channel, how many rollbacks from now).
    RollbackTarget(String, String, usize),
    /// One of the newest `--keep` immutable tags of its variant (tag, rank 1..).
    KeptImmutable(String, usize),
    /// An immutable tag whose digest no release tag mentions: its age is unknown (a
    /// publish in flight, or pushed by hand), so it stays.
    UnknownAge(String),
    /// A child manifest of a protected index.
    ChildOf(String),
    /// A rollback's release tag recording that a digest which stays was rejected
    /// (tag, rejected digest12): without it `promote` could re-promote that digest.
    RecordsRejection(String, String),
    /// (deleted) A release tag outside the window, not recent, not a rollback target.
    OldRelease(String),
    /// (deleted) An immutable tag beyond `--keep` (tag, rank).
    OldImmutable(String, usize),
    /// (deleted) A child of a deleted index that no protected index shares.
    ChildOfDeleted(String),
    /// Would be deleted, but `--max-deletes N` was reached: left for a later run.
    Deferred(usize),
    /// A consumer pins this digest (`file:line`, from `--protect-usages` / `--protect-from`).
    Pinned(String),
    /// A consumer uses a tag that points at it (tag, `file:line`).
    PinnedTag(String, String),
    /// The referrers index (`sha256-<hex>`) of a digest that stays: its records stay too.
    RecordsOf(String),
    /// (deleted) The referrers index of a digest that is deleted or gone: its records go with it.
    RecordsOfDeleted(String),
}

impl Why {
    /// True for the reasons that protect a digest.
    pub fn protects(&self) -> bool {
        !matches!(self, Why::OldRelease(_) | Why::OldImmutable(..) | Why::ChildOfDeleted(_) | Why::RecordsOfDeleted(_))
    }

    /// The reason in a few words, for counting digests by why they stay or go.
    pub fn category(&self) -> &'static str {
        match self {
            Why::Channel(_) => "on a channel",
            Why::Alias(_) => "on an alias",
            Why::Base(_) => "on a base tag",
            Why::Foreign(_) => "tagged outside the schema",
            Why::InWindow(_) => "within --older-than",
            Why::Recent(..) => "recent on a channel",
            Why::RollbackTarget(..) => "rollback targets",
            Why::KeptImmutable(..) => "newest builds (--keep)",
            Why::UnknownAge(_) => "of unknown age",
            Why::ChildOf(_) => "children of kept indexes",
            Why::RecordsRejection(..) => "recording a rejection",
            Why::OldRelease(_) => "old releases",
            Why::OldImmutable(..) => "builds beyond --keep",
            Why::ChildOfDeleted(_) => "children of deleted indexes",
            Why::Deferred(_) => "left by --max-deletes",
            Why::Pinned(_) | Why::PinnedTag(..) => "used by consumers",
            Why::RecordsOf(_) => "records of kept digests",
            Why::RecordsOfDeleted(_) => "records of deleted digests",
        }
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Channel(t) => write!(f, "channel tag {t}"),
            Why::Alias(t) => write!(f, "alias tag {t}"),
            Why::Base(t) => write!(f, "base tag {t}"),
            Why::Foreign(t) => write!(f, "tag {t} (not of the tag schema)"),
            Why::InWindow(t) => write!(f, "release tag {t} is within the retention window"),
            Why::Recent(v, c, n) => write!(f, "newest digest #{n} of {v} channel {c}"),
            Why::RollbackTarget(v, c, n) => write!(f, "rollback target #{n} of {v} channel {c}"),
            Why::KeptImmutable(t, n) => write!(f, "immutable tag {t} is build #{n} (--keep)"),
            Why::UnknownAge(t) => write!(f, "immutable tag {t} has no release history (age unknown)"),
            Why::ChildOf(d) => write!(f, "child of protected index {}", short(d)),
            Why::RecordsRejection(t, from) => write!(f, "release tag {t} records the rejection of sha256:{from}, which stays"),
            Why::OldRelease(t) => write!(f, "release tag {t} is old, not recent, not a rollback target"),
            Why::OldImmutable(t, n) => write!(f, "immutable tag {t} is build #{n}, beyond --keep"),
            Why::ChildOfDeleted(d) => write!(f, "child of deleted index {} only", short(d)),
            Why::Deferred(n) => write!(f, "left for a later run: --max-deletes {n} reached"),
            Why::Pinned(at) => write!(f, "pinned by a consumer at {at}"),
            Why::PinnedTag(t, at) => write!(f, "tag {t} is used by a consumer at {at}"),
            Why::RecordsOf(d) => write!(f, "records of {}, which stays", short(d)),
            Why::RecordsOfDeleted(d) => write!(f, "records of {}, which is deleted or gone", short(d)),
        }
    }
}

fn short(d: &str) -> &str {
    d.get(..19).unwrap_or(d)
}

/// The verdict for one digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestPlan {
    /// `sha256:…`.
    pub digest: String,
    /// The variants whose tags point at it (or whose index holds it), sorted.
    pub variants: Vec<String>,
    /// Every tag pointing at it (deleting it removes all of them).
    pub tags: Vec<String>,
    /// Why it stays (kept) or why it may go (deleted), in words.
    pub reasons: Vec<String>,
    /// The same, structured.
    #[serde(skip)]
    pub why: Vec<Why>,
}

/// The plan: what goes, what stays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcPlan {
    /// Digests to delete, children of deleted indexes first.
    pub delete: Vec<DigestPlan>,
    /// Digests that stay.
    pub keep: Vec<DigestPlan>,
    /// Variants of the schema no longer in the manifest that still have tags.
    pub orphan_variants: Vec<String>,
}

impl GcPlan {
    /// True when `digest` is planned for deletion.
    pub fn deletes(&self, digest: &str) -> bool {
        self.delete.iter().any(|d| d.digest == digest)
    }

    /// Keeps at most `max` deletions and returns how many were left for a later run (they
    /// move to `keep` with [`Why::Deferred`]). Deletions are taken in plan order, a deleted
    /// index always with the children deleted with it, so a bounded run never leaves an
    /// index whose children are gone, nor children whose index it did not reach.
    pub fn limit(&mut self, max: usize) -> usize {
        let parent_of = |d: &DigestPlan| d.why.iter().find_map(|w| if let Why::ChildOfDeleted(p) = w { Some(p.clone()) } else { None });
        let mut kids: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for d in &self.delete {
            for w in &d.why {
                if let Why::ChildOfDeleted(p) = w {
                    kids.entry(p.clone()).or_default().push(d.digest.clone());
                }
            }
        }
        let mut taken: BTreeSet<String> = BTreeSet::new();
        for top in self.delete.iter().filter(|d| parent_of(d).is_none()) {
            let mut group = vec![top.digest.clone()];
            let mut i = 0;
            while i < group.len() {
                for k in kids.get(&group[i]).into_iter().flatten() {
                    if !group.contains(k) && !taken.contains(k) {
                        group.push(k.clone());
                    }
                }
                i += 1;
            }
            if taken.len() + group.len() > max {
                break;
            }
            taken.extend(group);
        }
        let (delete, deferred): (Vec<DigestPlan>, Vec<DigestPlan>) = std::mem::take(&mut self.delete).into_iter().partition(|d| taken.contains(&d.digest));
        self.delete = delete;
        let left = deferred.len();
        self.keep.extend(deferred.into_iter().map(|d| DigestPlan { reasons: vec![Why::Deferred(max).to_string()], why: vec![Why::Deferred(max)], ..d }));
        left
    }
}

#[derive(Default)]
struct Facts {
    why: BTreeMap<String, BTreeSet<Why>>,
    tags: BTreeMap<String, Vec<String>>,
    variants: BTreeMap<String, BTreeSet<String>>,
}

impl Facts {
    fn add(&mut self, digest: &str, why: Why) {
        self.why.entry(digest.to_string()).or_default().insert(why);
    }
    fn protected(&self, digest: &str) -> bool {
        self.why.get(digest).is_some_and(|w| w.iter().any(Why::protects))
    }
}

#[derive(Default)]
struct VariantFacts {
    /// Channel → history (release tags) and the channel tag's digest.
    channels: BTreeMap<String, (ChannelHistory, Option<String>)>,
    immutables: Vec<(String, String)>,
}

/// Plans a gc of the repository described by `inv` (see `docs/GC.md` for the rules).
pub fn plan(index: &TagIndex<'_>, inv: &Inventory, opts: &GcOptions) -> GcPlan {
    plan_with(index, inv, opts, &Pins::default())
}

/// [`plan`], also keeping what consumers use (`pins`) whatever its age.
pub fn plan_with(index: &TagIndex<'_>, inv: &Inventory, opts: &GcOptions, pins: &Pins) -> GcPlan {
    let mut f = Facts::default();
    let mut referrers: Vec<(String, String)> = Vec::new();
    let mut variants: BTreeMap<String, VariantFacts> = BTreeMap::new();
    let mut orphans = BTreeSet::new();
    let mut rollbacks: Vec<(String, String, String)> = Vec::new();
    let window_start = opts.now - opts.older_than.to_chrono();
    for (tag, digest) in &inv.tags {
        f.tags.entry(digest.clone()).or_default().push(tag.clone());
        if let Some(subject) = referrers_subject(tag) {
            referrers.push((digest.clone(), subject));
            continue;
        }
        let Ok(p) = index.parse(tag) else {
            f.add(digest, Why::Foreign(tag.clone()));
            continue;
        };
        if !p.in_manifest {
            orphans.insert(p.variant.clone());
        }
        f.variants.entry(digest.clone()).or_default().insert(p.variant.clone());
        let vf = variants.entry(p.variant.clone()).or_default();
        let channel = p.channel.clone().unwrap_or_default();
        match p.kind {
            TagKind::Base => f.add(digest, Why::Base(tag.clone())),
            TagKind::Alias => f.add(digest, Why::Alias(tag.clone())),
            TagKind::Channel => {
                f.add(digest, Why::Channel(tag.clone()));
                vf.channels.entry(channel).or_default().1 = Some(digest.clone());
            }
            TagKind::Immutable => vf.immutables.push((tag.clone(), digest.clone())),
            TagKind::Release => {
                let Some(time) = p.time else { continue };
                if time >= window_start {
                    f.add(digest, Why::InWindow(tag.clone()));
                } else {
                    f.add(digest, Why::OldRelease(tag.clone()));
                }
                if let Some(from) = &p.rolled_back_from {
                    rollbacks.push((tag.clone(), digest.clone(), from.clone()));
                }
                let kind = if p.rolled_back_from.is_some() { MoveKind::Rollback } else { MoveKind::Publish };
                let mv = Move { time, digest12: digest12(digest).to_string(), tag: tag.clone(), kind, rolled_back_from: p.rolled_back_from.clone() };
                vf.channels.entry(channel).or_default().0.moves.push(mv);
            }
        }
    }
    for (name, vf) in &mut variants {
        protect_channels(&mut f, name, vf, &inv.tags);
        protect_immutables(&mut f, vf, opts.keep);
    }
    protect_pins(&mut f, inv, pins);
    loop {
        protect_children(&mut f, inv);
        let rejections = protect_rejections(&mut f, &rollbacks);
        if !protect_records(&mut f, &referrers) && !rejections {
            break;
        }
    }
    for (index_digest, subject) in &referrers {
        if !f.protected(index_digest) {
            f.add(index_digest, Why::RecordsOfDeleted(subject.clone()));
        }
    }
    let mut out = GcPlan { orphan_variants: orphans.into_iter().collect(), ..GcPlan::default() };
    mark_deleted_children(&mut f, inv);
    for (digest, why) in std::mem::take(&mut f.why) {
        let protected = why.iter().any(Why::protects);
        let why: Vec<Why> = why.into_iter().filter(|w| w.protects() == protected).collect();
        let d = DigestPlan {
            variants: f.variants.get(&digest).map(|s| s.iter().cloned().collect()).unwrap_or_default(),
            tags: f.tags.get(&digest).cloned().unwrap_or_default(),
            reasons: why.iter().map(ToString::to_string).collect(),
            why,
            digest,
        };
        if protected { out.keep.push(d) } else { out.delete.push(d) }
    }
    // children before their indexes: children have no tags, so once their index is gone
    // no later run could find them; an index left without children is still found
    out.delete.sort_by_key(|d| (!d.why.iter().any(|w| matches!(w, Why::ChildOfDeleted(_))), d.digest.clone()));
    out
}

fn protect_channels(f: &mut Facts, variant: &str, vf: &mut VariantFacts, tags: &BTreeMap<String, String>) {
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

fn protect_immutables(f: &mut Facts, vf: &VariantFacts, keep: usize) {
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

fn protect_children(f: &mut Facts, inv: &Inventory) {
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
fn protect_rejections(f: &mut Facts, rollbacks: &[(String, String, String)]) -> bool {
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

fn mark_deleted_children(f: &mut Facts, inv: &Inventory) {
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
