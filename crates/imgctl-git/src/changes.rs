//! The source side of a move (docs/CHANGES.md): along a revision's first-parent history, the
//! commit that introduced each build's source id (the oldest commit of the newest run of
//! commits with that id), the files changed in the variant's context between them, the
//! Dockerfile's unified diff, and why the build changed — its own inputs (`local` ids
//! differ) or a parent's source id ("rebuilt for its base"), both when both. The history is
//! walked lazily and once per command ([`SourceWalk`]); a commit that touches none of the
//! paths source ids read costs a few lookups, no snapshot.

use std::collections::BTreeMap;

use imgctl_core::source::SourceTree;
use imgctl_records::changes::{Cause, ParentChange, SourceChange};

use crate::error::{GitError, reason};
use crate::lineage::fingerprint_paths;
use crate::repo::{Repo, Snapshot};

/// Commits read at most (the tip included), as for a promotion's lineage.
pub const MAX_COMMITS: usize = 400;

/// A run of first-parent commits whose fingerprint (the paths source ids read) is the same.
#[derive(Debug)]
struct Segment {
    /// Its oldest commit read so far.
    oldest: String,
    snap: Snapshot,
}

/// A revision's first-parent history, read as far as questions need it.
#[derive(Debug)]
pub struct SourceWalk {
    rev: String,
    paths: Vec<String>,
    last: Option<Vec<Option<git2::Oid>>>,
    segments: Vec<Segment>,
    commits: usize,
    done: bool,
}

impl SourceWalk {
    /// The walk of `rev` (a branch, `HEAD`, a commit); None when the manifest is not there.
    pub fn new(repo: &Repo, rev: &str) -> Result<Option<SourceWalk>, GitError> {
        let tip = repo.resolve(rev)?;
        let Some(snap) = repo.snapshot_at(&tip)? else { return Ok(None) };
        let paths = fingerprint_paths(repo.manifest(), &snap.fleet);
        let last = repo.fingerprint(&tip, &paths);
        Ok(Some(SourceWalk { rev: rev.to_string(), paths, last, segments: vec![Segment { oldest: tip, snap }], commits: 1, done: false }))
    }

    /// Reads one more commit (or marks the walk done).
    fn step(&mut self, repo: &Repo) -> Result<(), GitError> {
        let oldest = self.segments.last().map(|s| s.oldest.clone()).unwrap_or_default();
        let parent = if self.commits >= MAX_COMMITS { None } else { repo.first_parent(&oldest)? };
        let Some(parent) = parent else {
            self.done = true;
            return Ok(());
        };
        self.commits += 1;
        let fp = repo.fingerprint(&parent, &self.paths);
        if fp.is_some() && fp == self.last {
            if let Some(s) = self.segments.last_mut() {
                s.oldest = parent;
            }
            return Ok(());
        }
        match repo.snapshot_at(&parent) {
            Ok(Some(snap)) => self.segments.push(Segment { oldest: parent, snap }),
            _ => self.done = true,
        }
        self.last = fp;
        Ok(())
    }

    fn id_at(&self, i: usize, variant: &str) -> Option<&String> {
        self.segments.get(i).and_then(|s| s.snap.ids.ids.get(variant))
    }

    /// The segment holding the commit that introduced `id` of `variant` (the oldest of its
    /// newest run), reading as far as needed.
    fn find(&mut self, repo: &Repo, variant: &str, id: &str) -> Result<Option<usize>, GitError> {
        loop {
            if let Some(start) = (0..self.segments.len()).find(|i| self.id_at(*i, variant).map(String::as_str) == Some(id)) {
                let mut end = start;
                while end + 1 < self.segments.len() && self.id_at(end + 1, variant).map(String::as_str) == Some(id) {
                    end += 1;
                }
                if end + 1 < self.segments.len() || self.done {
                    return Ok(Some(end));
                }
            } else if self.done {
                return Ok(None);
            }
            self.step(repo)?;
        }
    }

    /// `variant`'s distinct source ids, newest first, up to `n`.
    pub fn candidates(&mut self, repo: &Repo, variant: &str, n: usize) -> Result<Vec<String>, GitError> {
        loop {
            let mut ids: Vec<String> = Vec::new();
            for i in 0..self.segments.len() {
                if let Some(id) = self.id_at(i, variant)
                    && !ids.contains(id)
                {
                    ids.push(id.clone());
                }
            }
            if ids.len() >= n || self.done {
                ids.truncate(n);
                return Ok(ids);
            }
            self.step(repo)?;
        }
    }

    /// The source side of a move of `variant` from source id `from` to `to`; `forge` is the
    /// repository's web address on GitHub (`https://github.com/OWNER/REPO`) when it is there.
    /// Whatever cannot be known is said in the notes.
    pub fn source_change(&mut self, repo: &Repo, variant: &str, from: Option<&str>, to: Option<&str>, forge: Option<&str>) -> SourceChange {
        let mut sc = SourceChange { from_source_id: from.map(str::to_string), to_source_id: to.map(str::to_string), ..SourceChange::default() };
        let mut at = [None, None];
        for (slot, id) in at.iter_mut().zip([from, to]) {
            let Some(id) = id else { continue };
            match self.find(repo, variant, id) {
                Ok(Some(i)) => *slot = Some(i),
                Ok(None) => sc.notes.push(format!("source id {id} of {variant} is not in the first-parent history of {} ({} commits read)", self.rev, self.commits)),
                Err(e) => sc.notes.push(format!("read the history of {}: {e}", self.rev)),
            }
        }
        sc.from_commit = at[0].map(|i| self.segments[i].oldest.clone());
        sc.to_commit = at[1].map(|i| self.segments[i].oldest.clone());
        let [Some(ia), Some(ib)] = at else { return sc };
        let (a, b) = (&self.segments[ia], &self.segments[ib]);
        if let Some(f) = forge {
            sc.compare_url = Some(format!("{}/compare/{}...{}", f.trim_end_matches('/'), a.oldest, b.oldest));
        }
        let (Some(va), Some(vb)) = (a.snap.fleet.variant(variant), b.snap.fleet.variant(variant)) else { return sc };
        match files_changed(repo, &a.oldest, &b.oldest, &[&va.context, &vb.context, &va.dockerfile, &vb.dockerfile]) {
            Ok(files) => sc.files = Some(files),
            Err(e) => sc.notes.push(format!("list the files changed between {} and {}: {e}", a.oldest, b.oldest)),
        }
        let read = |commit: &str, path: &str| repo.at(commit).ok().and_then(|t| t.read(path));
        sc.dockerfile = Some(vb.dockerfile.clone());
        match (read(&a.oldest, &va.dockerfile), read(&b.oldest, &vb.dockerfile)) {
            (Some(x), Some(y)) => sc.dockerfile_diff = Some(unified(&x, &y, &va.dockerfile, &vb.dockerfile)),
            _ => sc.notes.push("the Dockerfile could not be read at both commits".into()),
        }
        if a.snap.ids.local.get(variant) != b.snap.ids.local.get(variant) {
            sc.causes.push(Cause::OwnChange);
        }
        let parents = |s: &Snapshot, i: usize| -> BTreeMap<String, Option<String>> {
            s.graph.parents(i).into_iter().filter_map(|p| s.fleet.variants.get(p)).map(|p| (p.name.clone(), s.ids.ids.get(&p.name).cloned())).collect()
        };
        let (pa, pb) = (parents(&a.snap, va.index), parents(&b.snap, vb.index));
        for name in pa.keys().chain(pb.keys().filter(|k| !pa.contains_key(*k))) {
            let (x, y) = (pa.get(name).cloned().flatten(), pb.get(name).cloned().flatten());
            if x != y {
                sc.parents.push(ParentChange { variant: name.clone(), from: x, to: y });
            }
        }
        if !sc.parents.is_empty() {
            sc.causes.push(Cause::RebuiltForBase);
        }
        sc
    }
}

/// The unified diff of a Dockerfile (empty when unchanged).
fn unified(a: &str, b: &str, path_a: &str, path_b: &str) -> String {
    if a == b {
        return String::new();
    }
    similar::TextDiff::from_lines(a, b).unified_diff().context_radius(3).header(&format!("a/{path_a}"), &format!("b/{path_b}")).to_string()
}

/// Files changed under `paths` between commits `a` and `b`, sorted.
fn files_changed(repo: &Repo, a: &str, b: &str, paths: &[&str]) -> Result<Vec<String>, GitError> {
    let git = repo.git();
    let fail = |e: git2::Error| GitError::Read { what: format!("the trees of {a} and {b}"), reason: reason(&e) };
    let tree = |c: &str| git2::Oid::from_str(c).and_then(|o| git.find_commit(o)).and_then(|c| c.tree());
    let (ta, tb) = (tree(a).map_err(fail)?, tree(b).map_err(fail)?);
    let mut opts = git2::DiffOptions::new();
    for p in paths {
        let p = crate::revision::inside(p).unwrap_or_default();
        if p.is_empty() {
            // the repository's root: every file
            opts.pathspec(".");
        } else {
            opts.pathspec(p);
        }
    }
    let diff = git.diff_tree_to_tree(Some(&ta), Some(&tb), Some(&mut opts)).map_err(fail)?;
    let mut files: Vec<String> = diff.deltas().filter_map(|d| d.new_file().path().or_else(|| d.old_file().path()).map(|p| p.to_string_lossy().replace('\\', "/"))).collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// `https://github.com/OWNER/REPO` for a GitHub remote URL (`https://github.com/o/r.git`,
/// `git@github.com:o/r.git`, `ssh://git@github.com/o/r`); None for any other host.
pub fn github_web_url(remote: &str) -> Option<String> {
    let rest = remote
        .strip_prefix("https://github.com/")
        .or_else(|| remote.strip_prefix("http://github.com/"))
        .or_else(|| remote.strip_prefix("git@github.com:"))
        .or_else(|| remote.strip_prefix("ssh://git@github.com/"))
        .or_else(|| remote.strip_prefix("git://github.com/"))?;
    let rest = rest.trim_end_matches('/').trim_end_matches(".git");
    let mut parts = rest.split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    (parts.next().is_none() && !owner.is_empty() && !name.is_empty()).then(|| format!("https://github.com/{owner}/{name}"))
}

impl Repo {
    /// The web address of the `origin` remote when it is on GitHub.
    pub fn github_origin(&self) -> Option<String> {
        let remote = self.git().find_remote("origin").ok()?;
        github_web_url(remote.url().ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_remotes_give_their_web_address_and_others_none() {
        for r in ["https://github.com/acme/images.git", "git@github.com:acme/images.git", "ssh://git@github.com/acme/images", "https://github.com/acme/images/"] {
            assert_eq!(github_web_url(r).as_deref(), Some("https://github.com/acme/images"), "{r}");
        }
        for r in ["https://gitlab.com/acme/images.git", "/srv/git/images", "https://github.com/acme"] {
            assert_eq!(github_web_url(r), None, "{r}");
        }
    }

    #[test]
    fn a_dockerfile_diff_is_unified_and_empty_when_unchanged() {
        let d = unified("FROM a\nRUN x\n", "FROM a\nRUN x\nRUN y\n", "src/Dockerfile", "src/Dockerfile");
        assert!(d.starts_with("--- a/src/Dockerfile\n+++ b/src/Dockerfile\n@@"), "{d}");
        assert!(d.contains("\n+RUN y\n"), "{d}");
        assert_eq!(unified("x\n", "x\n", "D", "D"), "");
    }
}
