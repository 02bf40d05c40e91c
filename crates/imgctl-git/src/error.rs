//! The git crate's one error type; messages read after "failed to …".

use imgctl_core::Finding;

/// Why a repository, revision or the files in it could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// No repository contains the manifest.
    #[error("find the git repository of '{path}': {reason}")]
    NoRepository {
        /// The path searched from.
        path: String,
        /// Why.
        reason: String,
    },
    /// A revision did not resolve to a commit.
    #[error("resolve revision '{rev}': {reason}")]
    Revision {
        /// The revision as given.
        rev: String,
        /// Why.
        reason: String,
    },
    /// A file or tree could not be read.
    #[error("read {what}: {reason}")]
    Read {
        /// What was being read.
        what: String,
        /// Why.
        reason: String,
    },
    /// The manifest, OS definitions or Dockerfiles at a revision have errors.
    #[error("load the manifest at {at}: {} error(s), first: {} (run `imgctl validate` for all)", findings.len(), findings.first().map(ToString::to_string).unwrap_or_default())]
    Invalid {
        /// The revision (`working-tree` or a commit id).
        at: String,
        /// The errors.
        findings: Vec<Finding>,
    },
    /// A plan could not be made.
    #[error("{0}")]
    Plan(#[from] imgctl_core::plan::PlanError),
}

/// A git2 error as a lower-case fragment.
pub(crate) fn reason(e: &git2::Error) -> String {
    let msg = e.message().trim_end_matches('.');
    let mut chars = msg.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => "unknown git error".into(),
    }
}
