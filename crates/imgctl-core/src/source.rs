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
}
