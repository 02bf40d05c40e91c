//! The working tree as a [`SourceTree`]: how `validate` and friends see files on disk.

use std::path::Path;

use imgctl_core::load::MAX_INPUT_BYTES;
use imgctl_core::source::{EntryKind, SourceTree};

/// Files on disk, paths relative to the current directory.
/// It gives no tree ids ([`SourceTree::tree_id`] is `None`): source ids come from
/// `imgctl_git::WorkTree`, which knows what git would commit.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsTree;

impl SourceTree for FsTree {
    fn kind(&self, path: &str) -> Option<EntryKind> {
        let meta = std::fs::metadata(Path::new(path)).ok()?;
        Some(if meta.is_dir() {
            EntryKind::Dir
        } else if meta.is_file() {
            EntryKind::File
        } else {
            EntryKind::Other
        })
    }

    fn read(&self, path: &str) -> Option<String> {
        let meta = std::fs::metadata(path).ok()?;
        if meta.len() > MAX_INPUT_BYTES as u64 {
            return None;
        }
        std::fs::read_to_string(path).ok()
    }
}
