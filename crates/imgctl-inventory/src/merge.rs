//! Stacking layers (OCI image spec, "Applying Changesets"): each layer's whiteouts delete a
//! path and everything under it from the layers below, an opaque directory hides everything
//! below it from the layers below, then the layer's own files are added; the databases that
//! survive make the inventory.

use std::collections::BTreeMap;

use crate::layer::{Found, LayerInventory, RPM_DIRS};
use crate::{Inventory, Package};

/// Removes `path` and everything under it from `map`.
fn remove_tree<V>(map: &mut BTreeMap<String, V>, path: &str) {
    map.remove(path);
    remove_children(map, path);
}

/// Removes everything under directory `dir` (the whole map for the root).
fn remove_children<V>(map: &mut BTreeMap<String, V>, dir: &str) {
    if dir.is_empty() {
        map.clear();
        return;
    }
    let prefix = format!("{dir}/");
    let doomed: Vec<String> = map.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).map(|(k, _)| k.clone()).collect();
    for k in doomed {
        map.remove(&k);
    }
}

/// The filesystem of stacked layers, as far as the inventory needs it.
#[derive(Debug, Default)]
struct Stack {
    files: BTreeMap<String, u64>,
    found: BTreeMap<String, Found>,
}

impl Stack {
    fn apply(&mut self, layer: &LayerInventory) {
        for dir in &layer.opaque {
            remove_children(&mut self.files, dir);
            remove_children(&mut self.found, dir);
        }
        for path in &layer.whiteouts {
            remove_tree(&mut self.files, path);
            remove_tree(&mut self.found, path);
        }
        for (path, size) in &layer.files {
            // a file replacing a directory of the layers below hides what was in it
            remove_children(&mut self.files, path);
            self.files.insert(path.clone(), *size);
        }
        for (path, f) in &layer.found {
            remove_children(&mut self.found, path);
            self.found.insert(path.clone(), f.clone());
        }
        // a database deleted by this layer's own rewrite is still replaced by the insert above
    }
}

/// The inventory of an image whose layers (bottom first) are `layers`.
pub fn merge<'a>(layers: impl IntoIterator<Item = &'a LayerInventory>) -> Inventory {
    let mut stack = Stack::default();
    for layer in layers {
        stack.apply(layer);
    }
    let mut inv = Inventory { files: stack.files.len() as u64, bytes: stack.files.values().sum(), ..Inventory::default() };
    let os = ["etc/os-release", "usr/lib/os-release"].iter().find_map(|p| match stack.found.get(*p) {
        Some(Found::OsRelease(o)) => Some(o.clone()),
        _ => None,
    });
    inv.os = os;
    let mut packages: Vec<Package> = Vec::new();
    let mut take = |path: &str, inv: &mut Inventory| match stack.found.get(path) {
        Some(Found::Packages(p)) => {
            inv.databases.push(path.to_string());
            packages.extend(p.iter().cloned());
            true
        }
        Some(Found::Unreadable(why)) => {
            inv.problems.insert(path.to_string(), why.clone());
            false
        }
        _ => false,
    };
    take("var/lib/dpkg/status", &mut inv);
    let status_d: Vec<String> = stack.found.keys().filter(|k| k.starts_with("var/lib/dpkg/status.d/")).cloned().collect();
    for p in status_d {
        take(&p, &mut inv);
    }
    take("lib/apk/db/installed", &mut inv);
    // one rpm database: rpm reads the backend its configuration names; an image carries the
    // current one (sqlite on rpm ≥ 4.16, ndb on openSUSE, bdb before), leftovers of an older
    // backend are skipped in that order of preference
    'rpm: for name in ["rpmdb.sqlite", "Packages.db", "Packages"] {
        for dir in RPM_DIRS {
            if take(&format!("{dir}{name}"), &mut inv) {
                break 'rpm;
            }
        }
    }
    packages.sort();
    packages.dedup();
    inv.packages = packages;
    inv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ecosystem, OsRelease};

    fn pkg(name: &str) -> Package {
        Package { ecosystem: Ecosystem::Deb, name: name.into(), version: "1".into(), arch: None, source: None, license: None }
    }

    fn layer(files: &[(&str, u64)], whiteouts: &[&str], opaque: &[&str], found: Vec<(&str, Found)>) -> LayerInventory {
        LayerInventory {
            files: files.iter().map(|(p, s)| (p.to_string(), *s)).collect(),
            whiteouts: whiteouts.iter().map(|s| s.to_string()).collect(),
            opaque: opaque.iter().map(|s| s.to_string()).collect(),
            found: found.into_iter().map(|(p, f)| (p.to_string(), f)).collect(),
            read_bytes: 0,
        }
    }

    #[test]
    fn whiteouts_and_opaque_directories_hide_lower_layers_only() {
        let base = layer(
            &[("etc/os-release", 10), ("var/lib/dpkg/status.d/a", 5), ("var/lib/dpkg/status.d/b", 5), ("opt/x/1", 100), ("opt/x/2", 100), ("opt/y", 7)],
            &[],
            &[],
            vec![
                ("etc/os-release", Found::OsRelease(OsRelease { id: "debian".into(), ..OsRelease::default() })),
                ("var/lib/dpkg/status.d/a", Found::Packages(vec![pkg("a")])),
                ("var/lib/dpkg/status.d/b", Found::Packages(vec![pkg("b")])),
            ],
        );
        // the upper layer deletes b and opt/x, makes status.d opaque and adds c in it
        let upper = layer(&[("var/lib/dpkg/status.d/c", 5), ("opt/x2", 1)], &["opt/x"], &["var/lib/dpkg/status.d"], vec![("var/lib/dpkg/status.d/c", Found::Packages(vec![pkg("c")]))]);
        let inv = merge([&base, &upper]);
        assert_eq!(inv.packages.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["c"]);
        assert_eq!((inv.files, inv.bytes), (4, 10 + 7 + 5 + 1));
        assert_eq!(inv.os.unwrap().id, "debian");
        // whiteouts of a layer do not hide that layer's own files
        let own = layer(&[("opt/y", 3)], &["opt/y"], &[], vec![]);
        let inv = merge([&base, &own]);
        assert_eq!(inv.bytes, 10 + 5 + 5 + 200 + 3);
    }

    #[test]
    fn the_current_rpm_database_wins_and_unreadable_ones_are_reported() {
        let rpm = |n: &str| Found::Packages(vec![Package { ecosystem: Ecosystem::Rpm, ..pkg(n) }]);
        let l = layer(
            &[],
            &[],
            &[],
            vec![
                ("var/lib/rpm/Packages", rpm("old")),
                ("usr/lib/sysimage/rpm/rpmdb.sqlite", rpm("new")),
                ("lib/apk/db/installed", Found::Unreadable("broken".into())),
            ],
        );
        let inv = merge([&l]);
        assert_eq!(inv.packages.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["new"]);
        assert_eq!(inv.databases, ["usr/lib/sysimage/rpm/rpmdb.sqlite"]);
        assert_eq!(inv.problems["lib/apk/db/installed"], "broken");
    }
}
