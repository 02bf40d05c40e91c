//! The working tree as a [`SourceTree`]: how `validate` and friends see files on disk.

use std::path::Path;

use imgctl_core::source::{EntryKind, SourceTree};

/// Files on disk, paths relative to the current directory.
/// It gives no tree ids ([`SourceTree::tree_id`] is `None`): source ids come from
/// `imgctl_git::WorkTree`, which knows what git would commit.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsTree;

impl SourceTree for FsTree {
    fn kind(&self, path: &str) -> Option<EntryKind> {
        imgctl_git::disk_kind(Path::new(path))
    }

    fn read(&self, path: &str) -> Option<String> {
        imgctl_git::disk_read(Path::new(path))
    }
}
