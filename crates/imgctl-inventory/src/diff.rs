//! What changed between two inventories: packages added, removed, upgraded and downgraded
//! (versions compared by each ecosystem's rules), the OS release, and the size.

use std::collections::{BTreeMap, BTreeSet};
use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::{Ecosystem, Inventory, OsRelease, version};

/// How a package changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Only in the second image.
    Added,
    /// Only in the first image.
    Removed,
    /// A newer version in the second image.
    Upgraded,
    /// An older version in the second image.
    Downgraded,
    /// Another spelling of an equal version (e.g. `1.0-1` and `1.0-01` for dpkg).
    Respelled,
}

/// One package that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// What happened.
    pub change: ChangeKind,
    /// Its ecosystem.
    pub ecosystem: Ecosystem,
    /// Its name.
    pub name: String,
    /// Its architecture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The version in the first image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The version in the second image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// The difference of two inventories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    /// The first image's OS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_from: Option<OsRelease>,
    /// The second image's OS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_to: Option<OsRelease>,
    /// Files in the second minus files in the first.
    pub files_delta: i64,
    /// Bytes in the second minus bytes in the first.
    pub bytes_delta: i64,
    /// Packages that differ, by ecosystem and name.
    pub changes: Vec<Change>,
}

type Key = (Ecosystem, String, Option<String>);

fn index(inv: &Inventory) -> BTreeMap<Key, BTreeSet<String>> {
    let mut m: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
    for p in &inv.packages {
        m.entry((p.ecosystem, p.name.clone(), p.arch.clone())).or_default().insert(p.version.clone());
    }
    m
}

fn delta(a: u64, b: u64) -> i64 {
    i64::try_from(b).unwrap_or(i64::MAX).saturating_sub(i64::try_from(a).unwrap_or(i64::MAX))
}

/// What changed from `a` to `b`.
pub fn diff(a: &Inventory, b: &Inventory) -> Diff {
    let (ia, ib) = (index(a), index(b));
    let keys: BTreeSet<&Key> = ia.keys().chain(ib.keys()).collect();
    let mut changes = Vec::new();
    for key in keys {
        let empty = BTreeSet::new();
        let (va, vb) = (ia.get(key).unwrap_or(&empty), ib.get(key).unwrap_or(&empty));
        let change = |change, from: Option<&String>, to: Option<&String>| Change { change, ecosystem: key.0, name: key.1.clone(), arch: key.2.clone(), from: from.cloned(), to: to.cloned() };
        match (va.len(), vb.len()) {
            _ if va == vb => {}
            (1, 1) => {
                let (from, to) = (va.first(), vb.first());
                let kind = match version::compare(key.0, from.map_or("", String::as_str), to.map_or("", String::as_str)) {
                    Ordering::Less => ChangeKind::Upgraded,
                    Ordering::Greater => ChangeKind::Downgraded,
                    Ordering::Equal => ChangeKind::Respelled,
                };
                changes.push(change(kind, from, to));
            }
            // several versions of one name (rpm's kernels): versions that went and came
            _ => {
                changes.extend(va.difference(vb).map(|v| change(ChangeKind::Removed, Some(v), None)));
                changes.extend(vb.difference(va).map(|v| change(ChangeKind::Added, None, Some(v))));
            }
        }
    }
    Diff { os_from: a.os.clone(), os_to: b.os.clone(), files_delta: delta(a.files, b.files), bytes_delta: delta(a.bytes, b.bytes), changes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Package;

    fn inv(pkgs: &[(Ecosystem, &str, &str)]) -> Inventory {
        Inventory {
            packages: pkgs.iter().map(|(e, n, v)| Package { ecosystem: *e, name: n.to_string(), version: v.to_string(), arch: None, source: None, license: None }).collect(),
            files: 10,
            bytes: 100,
            ..Inventory::default()
        }
    }

    #[test]
    fn lists_added_removed_upgraded_and_downgraded_by_each_ecosystems_order() {
        let a = inv(&[(Ecosystem::Deb, "libssl3", "3.0.19-1~deb12u1"), (Ecosystem::Deb, "gone", "1"), (Ecosystem::Deb, "same", "1"), (Ecosystem::Apk, "musl", "1.2.2-r10"), (Ecosystem::Rpm, "kernel", "5.14-1"), (Ecosystem::Rpm, "kernel", "5.14-2")]);
        let mut b = inv(&[(Ecosystem::Deb, "libssl3", "3.0.19-1~deb12u2"), (Ecosystem::Deb, "new", "2"), (Ecosystem::Deb, "same", "1"), (Ecosystem::Apk, "musl", "1.2.2-r9"), (Ecosystem::Rpm, "kernel", "5.14-2"), (Ecosystem::Rpm, "kernel", "5.14-3")]);
        b.bytes = 90;
        let d = diff(&a, &b);
        let got: Vec<(ChangeKind, &str)> = d.changes.iter().map(|c| (c.change, c.name.as_str())).collect();
        assert_eq!(
            got,
            [
                (ChangeKind::Removed, "gone"),
                (ChangeKind::Upgraded, "libssl3"),
                (ChangeKind::Added, "new"),
                (ChangeKind::Removed, "kernel"),
                (ChangeKind::Added, "kernel"),
                (ChangeKind::Downgraded, "musl"),
            ]
        );
        assert_eq!((d.files_delta, d.bytes_delta), (0, -10));
        assert_eq!(d.changes[3].from.as_deref(), Some("5.14-1"));
        assert!(diff(&a, &a).changes.is_empty());
    }
}
