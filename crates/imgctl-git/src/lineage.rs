//! The builds a promotion may pick from (SPEC §9): each variant's source ids along a
//! revision's first-parent history, newest first — the tip's, then each earlier distinct
//! one. Local history walks only; the engine resolves them to builds from one tag listing.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use imgctl_core::fleet::Fleet;

use crate::error::GitError;
use crate::repo::{Repo, Snapshot};

/// How far a walk goes back.
#[derive(Debug, Clone, Copy)]
pub struct WalkLimits {
    /// Stop once every variant has this many distinct source ids.
    pub per_variant: usize,
    /// Never read more first-parent commits than this (the tip included).
    pub max_commits: usize,
}

impl Default for WalkLimits {
    /// 8 distinct builds per variant (two months of weekly changes), at most 400 commits.
    fn default() -> Self {
        WalkLimits { per_variant: 8, max_commits: 400 }
    }
}

/// Each variant's source ids along a revision's first-parent history.
#[derive(Debug, Clone)]
pub struct Lineage {
    /// The fleet at the tip.
    pub tip: Snapshot,
    /// Variant → its distinct source ids, newest (the tip's) first.
    pub ids: HashMap<String, Vec<String>>,
    /// How many commits were read.
    pub commits: usize,
}

impl Repo {
    /// The lineage of the tip's variants along `rev`'s first-parent history (`None` when
    /// the manifest does not exist at `rev`). The walk stops at the first commit where the
    /// manifest is missing or does not load, or at `limits`.
    pub fn lineage(&self, rev: &str, limits: WalkLimits) -> Result<Option<Lineage>, GitError> {
        let mut commit = self.resolve(rev)?;
        let Some(tip) = self.snapshot_at(&commit)? else { return Ok(None) };
        let mut ids: HashMap<String, Vec<String>> =
            tip.fleet.variants.iter().filter_map(|v| tip.ids.ids.get(&v.name).map(|id| (v.name.clone(), vec![id.clone()]))).collect();
        let mut commits = 1;
        // every path a source id reads: an unchanged fingerprint means unchanged ids, so a
        // commit that touched none of them costs a few hundred path lookups, no snapshot
        let paths = fingerprint_paths(self.manifest(), &tip.fleet);
        let mut last = self.fingerprint(&commit, &paths);
        let done = |ids: &HashMap<String, Vec<String>>| ids.values().all(|l| l.len() >= limits.per_variant);
        while commits < limits.max_commits && !done(&ids) {
            let Some(parent) = self.first_parent(&commit)? else { break };
            commits += 1;
            let fp = self.fingerprint(&parent, &paths);
            if fp.is_some() && fp == last {
                commit = parent;
                continue;
            }
            let Ok(Some(snap)) = self.snapshot_at(&parent) else { break };
            for (variant, list) in ids.iter_mut() {
                if let Some(id) = snap.ids.ids.get(variant)
                    && !list.contains(id)
                    && list.len() < limits.per_variant
                {
                    list.push(id.clone());
                }
            }
            last = fp;
            commit = parent;
        }
        Ok(Some(Lineage { tip, ids, commits }))
    }
}

/// The paths whose contents make the fleet's source ids (SPEC §3): the manifest, the OS
/// definitions, each context (its tree holds a `.dockerignore`), each Dockerfile and the
/// `<Dockerfile>.dockerignore` beside it.
pub(crate) fn fingerprint_paths(manifest: &str, fleet: &Fleet) -> Vec<String> {
    let mut paths: BTreeSet<String> = BTreeSet::new();
    paths.insert(manifest.to_string());
    paths.insert(fleet.os_file.clone());
    for v in &fleet.variants {
        paths.insert(v.context.clone());
        paths.insert(v.dockerfile.clone());
        paths.insert(format!("{}.dockerignore", v.dockerfile));
    }
    paths.into_iter().collect()
}

impl Repo {
    /// The object id at each of `paths` in `commit` (None: absent), or None when the commit
    /// cannot be read.
    pub(crate) fn fingerprint(&self, commit: &str, paths: &[String]) -> Option<Vec<Option<git2::Oid>>> {
        let c = self.git().find_commit(git2::Oid::from_str(commit).ok()?).ok()?;
        let tree = c.tree().ok()?;
        Some(paths.iter().map(|p| tree.get_path(Path::new(p.trim_start_matches("./"))).ok().map(|e| e.id())).collect())
    }
}
