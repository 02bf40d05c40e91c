//! A commit's tree as a [`SourceTree`], read straight from the object database.

use std::path::Path;

use git2::{ObjectType, Oid, Repository, Tree};
use imgctl_core::load::MAX_INPUT_BYTES;
use imgctl_core::paths;
use imgctl_core::source::{EntryKind, SourceTree};

use crate::worktree::tree_oid;

/// The files of one commit. Paths are repository-relative and `/`-separated.
pub struct CommitTree<'r> {
    repo: &'r Repository,
    tree: Tree<'r>,
    commit: String,
}

impl std::fmt::Debug for CommitTree<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitTree").field("commit", &self.commit).finish_non_exhaustive()
    }
}

/// `None` for paths that leave the repository; `""` for its root.
pub(crate) fn inside(path: &str) -> Option<String> {
    let p = paths::normalize(path);
    if p.starts_with('/') || p == ".." || p.starts_with("../") {
        return None;
    }
    Some(if p == "." { String::new() } else { p })
}

impl<'r> CommitTree<'r> {
    /// The tree of `commit` (a full commit id) in `repo`.
    pub fn new(repo: &'r Repository, commit: git2::Oid) -> Result<CommitTree<'r>, git2::Error> {
        let tree = repo.find_commit(commit)?.tree()?;
        Ok(CommitTree { repo, tree, commit: commit.to_string() })
    }

    /// The commit id (40 hex).
    pub fn commit(&self) -> &str {
        &self.commit
    }

    fn entry(&self, path: &str) -> Option<git2::TreeEntry<'static>> {
        self.tree.get_path(Path::new(path)).ok()
    }
}

impl SourceTree for CommitTree<'_> {
    fn kind(&self, path: &str) -> Option<EntryKind> {
        let p = inside(path)?;
        if p.is_empty() {
            return Some(EntryKind::Dir);
        }
        let e = self.entry(&p)?;
        Some(match e.kind() {
            Some(ObjectType::Tree) => EntryKind::Dir,
            Some(ObjectType::Blob) if e.filemode() != 0o120000 => EntryKind::File,
            _ => EntryKind::Other,
        })
    }

    fn read(&self, path: &str) -> Option<String> {
        let e = self.entry(&inside(path)?)?;
        if e.kind() != Some(ObjectType::Blob) || e.filemode() == 0o120000 {
            return None;
        }
        let blob = self.repo.find_blob(e.id()).ok()?;
        if blob.size() > MAX_INPUT_BYTES {
            return None;
        }
        String::from_utf8(blob.content().to_vec()).ok()
    }

    fn tree_id(&self, dir: &str) -> Option<String> {
        let p = inside(dir)?;
        if p.is_empty() {
            return Some(self.tree.id().to_string());
        }
        let e = self.entry(&p)?;
        (e.kind() == Some(ObjectType::Tree)).then(|| e.id().to_string())
    }

    fn filtered_tree_id(&self, dir: &str, keep: &dyn Fn(&str) -> bool) -> Option<String> {
        let p = inside(dir)?;
        let tree = if p.is_empty() { self.tree.clone() } else { self.repo.find_tree(self.entry(&p).filter(|e| e.kind() == Some(ObjectType::Tree))?.id()).ok()? };
        Some(self.filtered(&tree, "", keep).unwrap_or_else(|| tree_oid(Vec::new())).to_string())
    }
}

impl CommitTree<'_> {
    /// The id of `tree` (at `prefix` inside the filtered directory) with the files `keep`
    /// refuses left out; `None` when nothing is left.
    fn filtered(&self, tree: &Tree<'_>, prefix: &str, keep: &dyn Fn(&str) -> bool) -> Option<Oid> {
        let mut entries = Vec::new();
        for e in tree.iter() {
            let name = e.name_bytes().to_vec();
            let rel = format!("{prefix}{}", String::from_utf8_lossy(&name));
            let mode = e.filemode() as u32;
            if e.kind() == Some(ObjectType::Tree) {
                let sub = self.repo.find_tree(e.id()).ok()?;
                if let Some(oid) = self.filtered(&sub, &format!("{rel}/"), keep) {
                    entries.push((name, mode, oid));
                }
            } else if keep(&rel) {
                entries.push((name, mode, e.id()));
            }
        }
        (!entries.is_empty()).then(|| tree_oid(entries))
    }
}
