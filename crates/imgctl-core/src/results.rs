//! The result lines of the mutating commands (SPEC §4.1 `publish`, `promote`, `rollback`,
//! `gc`) and why a promotion is held back.

use serde::Serialize;

/// What was done (or would be, in a dry run) to one variant (SPEC §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The channel moved.
    Moved,
    /// Already where it should be.
    Unchanged,
    /// Not moved, for the reason given.
    Skipped,
    /// Someone else moved the channel concurrently; nothing was overwritten.
    Conflict,
    /// An error; the reason says which.
    Failed,
    /// Deleted (`gc`).
    Deleted,
    /// Kept (`gc`).
    Kept,
}

/// One line of a mutating command's report (SPEC §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionResult {
    /// The variant.
    pub variant: String,
    /// The channel acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Digest before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Digest after (or planned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// What happened.
    pub action: Action,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `publish`: bytes of blobs uploaded (0 when everything was already there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded_bytes: Option<u64>,
    /// For a row of a mirror: `host[:port]/repository` of the mirror (absent: the primary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
    /// For a skipped row: what held it back, when that makes the run fail (`verification`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<BlockedBy>,
    /// The operator's words for the run (`rollback --reason`), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why a promotion is held back (SPEC §4.1 `status.pending.blockedBy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockedBy {
    /// Not on the source channel for long enough yet.
    Soak,
    /// Rolled back from; only a forced promotion moves to it.
    Rejected,
    /// No immutable tag for the source id at the revision.
    MissingBuild,
    /// The channel's verification command failed for the build.
    Verification,
}
