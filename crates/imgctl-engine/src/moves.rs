//! Moving a channel by digest (SPEC §5): check it still points where the plan read it,
//! PUT the exact manifest bytes, verify, then record the move with a release tag.

use chrono::{DateTime, Utc};
use imgctl_core::fleet::{Fleet, Variant};
use imgctl_core::history::{ChannelHistory, digest12};
use imgctl_registry::{RawManifest, Registry, RegistryError};

/// What the channel tag points at now (None when the tag does not exist).
pub async fn current<R: Registry>(registry: &R, repo: &str, tag: &str) -> Result<Option<String>, RegistryError> {
    match registry.resolve(repo, tag).await {
        Ok(d) => Ok(Some(d.digest)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// How a move ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveOutcome {
    /// Moved and recorded.
    Moved,
    /// Someone else changed the channel; it now points at the digest given (None: gone).
    Conflict(Option<String>),
}

/// Whether the channel's current digest is what the tag listing led us to expect:
/// the newest recorded move (or anything, when the channel has no history yet).
pub fn as_expected(history: &ChannelHistory, current: Option<&str>) -> bool {
    match (history.newest(), current) {
        (None, _) => true,
        (Some(_), Some(c)) => history.explains(digest12(c)),
        (Some(_), None) => false,
    }
}

/// A channel move of `v` on `channel` to `manifest`, recorded at `time`.
#[derive(Debug)]
pub struct Move<'a> {
    /// The variant.
    pub variant: &'a Variant,
    /// The channel.
    pub channel: &'a str,
    /// The manifest to point the channel at (bytes as stored).
    pub manifest: &'a RawManifest,
    /// The time to record.
    pub time: DateTime<Utc>,
    /// For a rollback: the digest moved away from.
    pub rolled_back_from: Option<&'a str>,
    /// With records on: what the move was, for the record attached after the release tag.
    pub note: Option<crate::records::Note<'a>>,
}

/// The alias tags that move with `channel` (`{alias}{suffix}`).
pub fn alias_tags(fleet: &Fleet, m: &Move<'_>) -> Vec<String> {
    let suffix = fleet.manifest.channels.get(m.channel).map(|c| c.suffix.as_str()).unwrap_or_default();
    m.variant.spec.aliases.iter().map(|a| format!("{a}{suffix}")).collect()
}

/// PUT channel (and its alias tags), HEAD verify, then PUT release tag: 3
/// requests plus one per alias. The caller has already checked (HEAD) that the channel is
/// where the plan expected. The release tag is written after the channel, so a run
/// interrupted before it is seen (channel at the digest, no record) and finished by
/// [`record`] on the next run.
pub async fn apply<R: Registry>(registry: &R, repo: &str, fleet: &Fleet, m: &Move<'_>) -> Result<MoveOutcome, RegistryError> {
    let channel_tag = fleet.channel_tag(m.variant, m.channel).unwrap_or_default();
    registry.put_manifest(repo, &channel_tag, m.manifest).await?;
    for alias in alias_tags(fleet, m) {
        registry.put_manifest(repo, &alias, m.manifest).await?;
    }
    // verify, then record: run together, distribution 2.8's filesystem driver answers the
    // HEAD with a 500 while the PUT rewrites the same revision link (a retry each time)
    let after = current(registry, repo, &channel_tag).await?;
    if after.as_deref() != Some(m.manifest.digest.as_str()) {
        return Ok(MoveOutcome::Conflict(after));
    }
    record(registry, repo, fleet, m).await?;
    Ok(MoveOutcome::Moved)
}

/// Finishes a move an interrupted run made but did not record: alias tags, then the
/// release tag.
pub async fn repair<R: Registry>(registry: &R, repo: &str, fleet: &Fleet, m: &Move<'_>) -> Result<(), RegistryError> {
    for alias in alias_tags(fleet, m) {
        registry.put_manifest(repo, &alias, m.manifest).await?;
    }
    record(registry, repo, fleet, m).await
}

/// Writes the release tag of a move (1 request), then, with records on, attaches the
/// move's record to the digest (`records.rs`; none of its requests when off).
pub async fn record<R: Registry>(registry: &R, repo: &str, fleet: &Fleet, m: &Move<'_>) -> Result<(), RegistryError> {
    if let Some(tag) = fleet.release_tag(m.variant, m.channel, m.time, &m.manifest.digest, m.rolled_back_from) {
        registry.put_manifest(repo, &tag, m.manifest).await?;
    }
    if let Some(note) = &m.note {
        crate::records::attach_move(registry, repo, fleet, m, note).await?;
    }
    Ok(())
}
