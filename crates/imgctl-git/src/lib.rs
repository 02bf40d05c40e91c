//! imgctl's view of git: the manifest, OS definitions, Dockerfiles and build contexts as
//! they are at any revision (read from the object database, no checkout) or in the working
//! tree, as [`imgctl_core::source::SourceTree`]s; source ids and build plans over them.
//! Local repositories only (`git2` without network features).

pub mod changes;
mod error;
mod former;
mod lineage;
mod repo;
mod revision;
mod worktree;

pub use changes::SourceWalk;
pub use error::GitError;
pub use lineage::{Lineage, WalkLimits};
pub use repo::{Repo, Snapshot, WORKING_TREE};
pub use revision::CommitTree;
pub use worktree::{WorkTree, disk_kind, disk_read};
