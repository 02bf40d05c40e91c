//! Opening the repository that holds the manifest, resolving revisions, and loading the
//! fleet, its build graph and source ids at a revision or in the working tree.

use std::path::{Path, PathBuf};

use git2::Repository;
use imgctl_core::finding::{self, Finding};
use imgctl_core::fleet::Fleet;
use imgctl_core::graph::Graph;
use imgctl_core::load::{parse_manifest, parse_os_definitions};
use imgctl_core::paths;
use imgctl_core::plan::{self, Plan, Side};
use imgctl_core::source::SourceTree;
use imgctl_core::sourceid::SourceIds;

use crate::error::{GitError, reason};
use crate::revision::CommitTree;
use crate::worktree::WorkTree;

/// What `plan`'s `ref` says for the working tree.
pub const WORKING_TREE: &str = "working-tree";

/// The repository holding a manifest.
pub struct Repo {
    repo: Repository,
    root: PathBuf,
    manifest: String,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo").field("root", &self.root).field("manifest", &self.manifest).finish_non_exhaustive()
    }
}

/// A fleet as it is at one revision, with its graph and source ids.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The commit id, or [`WORKING_TREE`].
    pub at: String,
    /// The fleet; its paths are repository-relative.
    pub fleet: Fleet,
    /// Its build graph.
    pub graph: Graph,
    /// Its source ids.
    pub ids: SourceIds,
    /// Warnings found while loading (errors make loading fail).
    pub warnings: Vec<Finding>,
}

impl Repo {
    /// Opens the repository containing `manifest` (a path as the user gave it, relative
    /// to the current directory or absolute), searching upward from its directory.
    pub fn open_for(manifest: &Path) -> Result<Repo, GitError> {
        let fail = |reason: String| GitError::NoRepository { path: manifest.display().to_string(), reason };
        let abs = std::path::absolute(manifest).map_err(|e| fail(e.to_string().to_lowercase()))?;
        let name = abs.file_name().ok_or_else(|| fail("it names no file".into()))?.to_owned();
        let dir = abs.parent().unwrap_or(Path::new("/"));
        let dir = dir.canonicalize().map_err(|e| fail(format!("{}: {}", dir.display(), e.to_string().to_lowercase())))?;
        let repo = Repository::discover(&dir).map_err(|e| fail(reason(&e)))?;
        let root = repo.workdir().ok_or_else(|| fail("the repository is bare".into()))?;
        let root = root.canonicalize().map_err(|e| fail(e.to_string().to_lowercase()))?;
        let rel_dir = dir.strip_prefix(&root).map_err(|_| fail(format!("it is outside the working tree '{}'", root.display())))?;
        let rel = rel_dir.join(name);
        let manifest = rel.to_str().ok_or_else(|| fail("the path is not UTF-8".into()))?.replace('\\', "/");
        Ok(Repo { repo, root, manifest })
    }

    /// The working tree's root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The manifest's path relative to the root.
    pub fn manifest(&self) -> &str {
        &self.manifest
    }

    /// The underlying repository.
    pub fn git(&self) -> &Repository {
        &self.repo
    }

    /// Resolves a revision (branch, tag, `origin/production`, sha, `HEAD~1`, …) to a commit id.
    pub fn resolve(&self, rev: &str) -> Result<String, GitError> {
        let fail = |e: git2::Error| GitError::Revision { rev: rev.to_string(), reason: reason(&e) };
        let commit = self.repo.revparse_single(rev).map_err(fail)?.peel_to_commit().map_err(fail)?;
        Ok(commit.id().to_string())
    }

    /// True when commit `a` is `b` or an ancestor of it.
    pub fn is_ancestor(&self, a: &str, b: &str) -> Result<bool, GitError> {
        let fail = |e: git2::Error| GitError::Revision { rev: format!("{a}..{b}"), reason: reason(&e) };
        let (a, b) = (git2::Oid::from_str(a).map_err(fail)?, git2::Oid::from_str(b).map_err(fail)?);
        Ok(a == b || self.repo.graph_descendant_of(b, a).map_err(fail)?)
    }

    /// The first parent of `commit`, if it has one.
    pub fn first_parent(&self, commit: &str) -> Result<Option<String>, GitError> {
        let fail = |e: git2::Error| GitError::Revision { rev: commit.to_string(), reason: reason(&e) };
        let c = self.repo.find_commit(git2::Oid::from_str(commit).map_err(fail)?).map_err(fail)?;
        Ok(c.parent_ids().next().map(|p| p.to_string()))
    }

    /// The files of a revision (resolved first), read from the object database.
    pub fn at(&self, rev: &str) -> Result<CommitTree<'_>, GitError> {
        let id = self.resolve(rev)?;
        let fail = |e: git2::Error| GitError::Read { what: format!("the tree of {id}"), reason: reason(&e) };
        CommitTree::new(&self.repo, git2::Oid::from_str(&id).map_err(fail)?).map_err(fail)
    }

    /// The files of the working tree.
    pub fn worktree(&self) -> Result<WorkTree<'_>, GitError> {
        WorkTree::new(&self.repo, self.root.clone())
            .map_err(|e| GitError::Read { what: "the index".into(), reason: reason(&e) })
    }

    /// The fleet, graph and source ids in `tree` (named `at` in messages); `None` when the
    /// manifest does not exist there. Any error finding fails.
    pub fn snapshot(&self, tree: &dyn SourceTree, at: &str) -> Result<Option<Snapshot>, GitError> {
        let Some(text) = tree.read(&self.manifest) else {
            return match tree.kind(&self.manifest) {
                None => Ok(None),
                Some(_) => Err(GitError::Read { what: format!("'{}' at {at}", self.manifest), reason: "not a UTF-8 text file".into() }),
            };
        };
        let invalid = |mut findings: Vec<Finding>| {
            finding::sort(&mut findings);
            GitError::Invalid { at: at.to_string(), findings }
        };
        let m = parse_manifest(&self.manifest, &text);
        let Some(manifest) = m.value else { return Err(invalid(m.findings)) };
        let os_file = paths::resolve(&self.manifest, &manifest.os_definitions);
        let Some(os_text) = tree.read(&os_file) else {
            let pos = m.spans.pos("osDefinitions");
            return Err(invalid(vec![Finding::error("missing-os-definitions", &self.manifest, pos, format!("'{os_file}' does not exist at {at}"))]));
        };
        let o = parse_os_definitions(&os_file, &os_text);
        let Some(os) = o.value else { return Err(invalid(o.findings)) };
        let (fleet, mut findings) = Fleet::new(manifest, &self.manifest, m.spans, os, o.spans);
        let graph = Graph::build(&fleet, tree);
        findings.extend(graph.findings.iter().cloned());
        if findings.iter().any(Finding::is_error) {
            return Err(invalid(findings.into_iter().filter(Finding::is_error).collect()));
        }
        let ids = SourceIds::compute(&fleet, &graph, tree);
        Ok(Some(Snapshot { at: at.to_string(), fleet, graph, ids, warnings: findings }))
    }

    /// [`Self::snapshot`] of a revision.
    pub fn snapshot_at(&self, rev: &str) -> Result<Option<Snapshot>, GitError> {
        let tree = self.at(rev)?;
        self.snapshot(&tree, tree.commit())
    }

    /// [`Self::snapshot`] of the working tree.
    pub fn snapshot_worktree(&self) -> Result<Option<Snapshot>, GitError> {
        self.snapshot(&self.worktree()?, WORKING_TREE)
    }

    /// `imgctl plan`: what to build for `reference` (default: the working tree) compared
    /// with `since` (default: `HEAD` for the working tree, else the first parent of
    /// `reference`; nothing — everything new — when there is no such commit or the
    /// manifest did not exist there).
    pub fn plan(&self, since: Option<&str>, reference: Option<&str>) -> Result<Plan, GitError> {
        let after = match reference {
            Some(r) => self.snapshot_at(r)?,
            None => self.snapshot_worktree()?,
        };
        let after = after.ok_or_else(|| GitError::Read {
            what: format!("'{}' at {}", self.manifest, reference.unwrap_or(WORKING_TREE)),
            reason: "no such file".into(),
        })?;
        let since_commit = match (since, reference) {
            (Some(s), _) => Some(self.resolve(s)?),
            (None, None) => self.resolve("HEAD").ok(),
            (None, Some(_)) => self.first_parent(&after.at)?,
        };
        let before = match &since_commit {
            Some(c) => self.snapshot_at(c)?,
            None => None,
        };
        Ok(plan::plan(before.as_ref().map(Snapshot::side), after.side(), since_commit.as_deref(), &after.at)?)
    }
}

impl Snapshot {
    /// The view [`plan::plan`] compares.
    pub fn side(&self) -> Side<'_> {
        Side { fleet: &self.fleet, graph: &self.graph, ids: &self.ids }
    }
}
