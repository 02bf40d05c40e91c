//! The files a manifest refers to, seen through a trait so the core stays free of
//! I/O: the CLI reads the working tree, the git crate reads a revision.

/// What a path is in a source tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// Something else (symlink, submodule, special file).
    Other,
}

/// Read-only access to the files of one revision (or the working tree).
/// Paths are the manifest-relative paths the core resolved (`/`-separated).
pub trait SourceTree {
    /// What `path` is, or `None` when it does not exist.
    fn kind(&self, path: &str) -> Option<EntryKind>;
    /// The text of the file at `path`, or `None` when it cannot be read as text.
    fn read(&self, path: &str) -> Option<String>;
    /// The git tree id (40 lower-case hex) of directory `dir` — for a revision the id
    /// stored in its tree, for a working tree the id its content would have if committed
    /// (`git add -A` semantics: tracked files plus untracked ones not ignored) — or `None`
    /// when `dir` is not a directory or the implementation cannot tell. `""` and `"."`
    /// are the root. Source ids (SPEC §3) need it; trees that return `None` (the default)
    /// give no source ids.
    fn tree_id(&self, dir: &str) -> Option<String> {
        let _ = dir;
        None
    }

    /// [`tree_id`](SourceTree::tree_id) of `dir` with only the files for which `keep` (given
    /// the path relative to `dir`) is true, directories left empty dropped — the id git would
    /// give that tree (git's empty tree when nothing is kept), so `keep` true for all gives
    /// `tree_id` itself. `None` as for `tree_id`.
    fn filtered_tree_id(&self, dir: &str, keep: &dyn Fn(&str) -> bool) -> Option<String> {
        let _ = (dir, keep);
        None
    }
}
