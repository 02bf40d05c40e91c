//! What gc keeps for others: digests consumers pin or name by tag (`--protect-usages`,
//! `--protect-from`), what the primary keeps (for a mirror's gc), and the records (`sha256-<hex>` referrers indexes) of digests that
//! stay — deleted with their digest otherwise.

use std::collections::{BTreeMap, BTreeSet};

use super::{Facts, Inventory, Why};

/// What consumers use (`gc --protect-usages`, `--protect-from`): digests they pin and tags
/// they name, each with the `file:line` places that use it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins {
    /// Pinned digest → where.
    pub digests: BTreeMap<String, Vec<String>>,
    /// Tag → where (the digest it points at now stays).
    pub tags: BTreeMap<String, Vec<String>>,
    /// For a mirror's gc: the digests the primary keeps (what the primary protects, each
    /// mirror protects).
    pub primary: BTreeSet<String>,
}

/// The `sha256-<64 hex>` referrers tag's subject digest.
pub(super) fn referrers_subject(tag: &str) -> Option<String> {
    let hex = tag.strip_prefix("sha256-")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then(|| format!("sha256:{hex}"))
}

/// Keeps every digest a consumer pins (when the repository has it), every digest a
/// consumer's tag points at, and (on a mirror) every digest the primary keeps.
pub(super) fn protect_pins(f: &mut Facts, inv: &Inventory, pins: &Pins) {
    let known: BTreeSet<&String> = inv.tags.values().chain(inv.children.values().flatten()).collect();
    for (digest, wheres) in &pins.digests {
        if known.contains(digest) {
            for at in wheres {
                f.add(digest, Why::Pinned(at.clone()));
            }
        }
    }
    for digest in pins.primary.iter().filter(|d| known.contains(d)) {
        f.add(digest, Why::KeptOnPrimary);
    }
    for (tag, wheres) in &pins.tags {
        if let Some(digest) = inv.tags.get(tag) {
            for at in wheres {
                f.add(digest, Why::PinnedTag(tag.clone(), at.clone()));
            }
        }
    }
}

/// Keeps the referrers index of every digest that stays; true when that protected
/// something new.
pub(super) fn protect_records(f: &mut Facts, referrers: &[(String, String)]) -> bool {
    let mut changed = false;
    for (index_digest, subject) in referrers {
        if f.protected(subject) && !f.protected(index_digest) {
            f.add(index_digest, Why::RecordsOf(subject.clone()));
            changed = true;
        }
    }
    changed
}
