//! The names people type where a VARIANT or a channel is expected: one resolver for every
//! command. A variant is accepted by any of its tags (base, channel, alias, release,
//! immutable: read back with the tag schema, and said so on stderr); a name that is none
//! of them fails with the closest known name.

use imgctl_core::names::did_you_mean;
use imgctl_core::tags::{TagIndex, TagKind};
use imgctl_core::{Fleet, Variant};

use crate::error::CliError;

/// Resolves variant names with one tag index.
#[derive(Debug)]
pub struct Resolver<'f> {
    fleet: &'f Fleet,
    index: TagIndex<'f>,
}

impl<'f> Resolver<'f> {
    /// A resolver for `fleet`.
    pub fn new(fleet: &'f Fleet) -> Resolver<'f> {
        Resolver { fleet, index: TagIndex::new(fleet) }
    }

    /// The variant `name` names: its base tag, or any tag of it (noted on stderr).
    pub fn variant(&self, name: &str) -> Result<&'f Variant, CliError> {
        if let Some(v) = self.fleet.variant(name) {
            return Ok(v);
        }
        if let Ok(p) = self.index.parse(name)
            && p.in_manifest
            && let Some(v) = self.fleet.variant(&p.variant)
        {
            crate::output::note(&format!("read '{name}' as variant '{}' (its {})", v.name, what(p.kind, p.channel.as_deref())));
            return Ok(v);
        }
        let hint = did_you_mean(name, self.fleet.variants.iter().map(|v| v.name.as_str()));
        Err(CliError::Input(format!(
            "find variant '{name}' in '{}': no variant has that name or tag{hint} (see `imgctl tags`)",
            self.fleet.manifest_file
        )))
    }

    /// The variants `names` name, in order (all when `names` is empty).
    pub fn variants(&self, names: &[String]) -> Result<Vec<&'f Variant>, CliError> {
        if names.is_empty() {
            return Ok(self.fleet.variants.iter().collect());
        }
        names.iter().map(|n| self.variant(n)).collect()
    }
}

/// "staging channel tag", "release tag of latest", … for the note.
fn what(kind: TagKind, channel: Option<&str>) -> String {
    let on = channel.map(|c| format!(" on {c}")).unwrap_or_default();
    match kind {
        TagKind::Base => "base tag".into(),
        TagKind::Channel => format!("channel tag{on}"),
        TagKind::Alias => format!("alias{on}"),
        TagKind::Immutable => "immutable tag".into(),
        TagKind::Release => format!("release tag{on}"),
    }
}

/// The variant `name` names (see [`Resolver::variant`]).
pub fn variant<'f>(fleet: &'f Fleet, name: &str) -> Result<&'f Variant, CliError> {
    Resolver::new(fleet).variant(name)
}

/// The variants `names` name (all when empty; see [`Resolver::variant`]).
pub fn variants<'f>(fleet: &'f Fleet, names: &[String]) -> Result<Vec<&'f Variant>, CliError> {
    Resolver::new(fleet).variants(names)
}

/// `name` when the manifest has that channel, else an error listing the channels.
pub fn channel(fleet: &Fleet, name: &str) -> Result<String, CliError> {
    let channels = &fleet.manifest.channels;
    if channels.contains_key(name) {
        return Ok(name.to_string());
    }
    let hint = did_you_mean(name, channels.keys().map(String::as_str));
    let all = channels.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
    Err(CliError::Input(format!("find channel '{name}' in '{}'{hint} (channels: {all})", fleet.manifest_file)))
}
