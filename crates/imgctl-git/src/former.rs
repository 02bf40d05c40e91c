//! Which variants the manifest ever had: every revision of the manifest and its OS
//! definitions reachable from `HEAD`, read from the object database (each distinct pair
//! of files parsed once). `usages` reports `removed-variant` only for these names.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use git2::{Oid, Sort};
use imgctl_core::fleet::Fleet;
use imgctl_core::load::{parse_manifest, parse_os_definitions};
use imgctl_core::paths;

use crate::error::{GitError, reason};
use crate::repo::Repo;

impl Repo {
    /// The base tags of every variant the manifest had in any commit reachable from
    /// `HEAD` (empty in a repository without commits). Revisions whose manifest does
    /// not parse are passed over.
    pub fn variants_in_history(&self) -> Result<BTreeSet<String>, GitError> {
        let fail = |e: git2::Error| GitError::Read { what: format!("the history of '{}'", self.manifest()), reason: reason(&e) };
        let git = self.git();
        let mut names = BTreeSet::new();
        if git.head().is_err() {
            return Ok(names);
        }
        let mut walk = git.revwalk().map_err(fail)?;
        walk.set_sorting(Sort::NONE).map_err(fail)?;
        walk.push_head().map_err(fail)?;
        let mut os_path: HashMap<Oid, Option<String>> = HashMap::new();
        let mut seen: HashSet<(Oid, Option<Oid>)> = HashSet::new();
        for id in walk {
            let tree = git.find_commit(id.map_err(fail)?).and_then(|c| c.tree()).map_err(fail)?;
            let Ok(entry) = tree.get_path(Path::new(self.manifest())) else { continue };
            let manifest_id = entry.id();
            let blob_text = |oid: Oid| git.find_blob(oid).ok().and_then(|b| String::from_utf8(b.content().to_vec()).ok());
            let os_file = os_path.entry(manifest_id).or_insert_with(|| {
                let m = parse_manifest(self.manifest(), &blob_text(manifest_id)?);
                m.value.map(|m| paths::resolve(self.manifest(), &m.os_definitions))
            });
            let Some(os_file) = os_file.clone() else { continue };
            let os_id = tree.get_path(Path::new(&os_file)).ok().map(|e| e.id());
            if !seen.insert((manifest_id, os_id)) {
                continue;
            }
            let (Some(text), Some(os_text)) = (blob_text(manifest_id), os_id.and_then(blob_text)) else { continue };
            let (m, o) = (parse_manifest(self.manifest(), &text), parse_os_definitions(&os_file, &os_text));
            let (Some(manifest), Some(os)) = (m.value, o.value) else { continue };
            let (fleet, _) = Fleet::new(manifest, self.manifest(), m.spans, os, o.spans);
            names.extend(fleet.variants.into_iter().map(|v| v.name));
        }
        Ok(names)
    }
}
