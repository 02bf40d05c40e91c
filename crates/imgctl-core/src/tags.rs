//! Parse-back of tags (SPEC §3): any tag of the repository → OperatingSystemId,
//! qualifiers, arch, kind and details, from the schema, variants and OS definitions.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDateTime, Utc};
use regex::Regex;
use serde::Serialize;

use crate::fleet::Fleet;
use crate::osdefs::OsDefinition;

/// Longest tag the OCI distribution spec allows.
pub const MAX_TAG_LEN: usize = 128;

static TAG_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$").expect("valid regex"));
static HEX12: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9a-f]{12}$").expect("valid regex"));
static DIGITS14: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9]{14}$").expect("valid regex"));
static QUALIFIER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_.]+$").expect("valid regex"));

/// True when `tag` matches the OCI tag grammar `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    TAG_RE.is_match(tag)
}

/// True for 12 lower-case hex digits (a source id or a digest prefix).
pub fn is_source_id(s: &str) -> bool {
    HEX12.is_match(s)
}

/// First 12 hex digits of a `sha256:…` digest (what release tags carry).
pub fn digest12(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    hex.get(..12).unwrap_or(hex)
}

/// True for 14 digits (a release tag's timestamp).
pub fn is_timestamp(s: &str) -> bool {
    DIGITS14.is_match(s)
}

/// Why a qualifier is not allowed, if it is not.
pub fn qualifier_problem(q: &str) -> Option<&'static str> {
    if !QUALIFIER.is_match(q) {
        Some("must be one tag segment: letters, digits, '.' or '_' (no '-'; split it into two qualifiers)")
    } else if is_source_id(q) {
        Some("looks like a 12-hex source id, so immutable tags could not be read back")
    } else if is_timestamp(q) {
        Some("looks like a 14-digit timestamp, so release tags could not be read back")
    } else {
        None
    }
}

/// What kind of tag a tag is (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TagKind {
    /// The variant's name.
    Base,
    /// `{base}{suffix}`: moved by imgctl.
    Channel,
    /// `{alias}{suffix}`: moves with its channel.
    Alias,
    /// `{base}-{sourceId}`: never moves.
    Immutable,
    /// `{base}{suffix}-{time}-{digest12}`: history, never moves.
    Release,
}

/// A tag read back (SPEC §4.1 `parse-tag`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParsedTag {
    /// The tag as given.
    pub tag: String,
    /// The variant's base tag.
    pub variant: String,
    /// Its OperatingSystemId.
    pub os: String,
    /// Its qualifiers.
    pub qualifiers: Vec<String>,
    /// Its architecture (the OS-id arch, e.g. `AMD64`).
    pub arch: String,
    /// Which kind of tag it is.
    pub kind: TagKind,
    /// The channel, for channel, alias and release tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The source id, for immutable tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// The time of the move, for release tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
    /// First 12 hex digits of the digest moved to, for release tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest_prefix: Option<String>,
    /// For the release tag a rollback writes: first 12 hex digits of the digest the
    /// channel was rolled back from (that digest is rejected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back_from: Option<String>,
    /// The alias name, for alias tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// False when the tag follows the schema but names no variant of the manifest
    /// (e.g. a removed variant).
    pub in_manifest: bool,
}

impl ParsedTag {
    /// A reading with no kind-specific details yet.
    fn bare(tag: &str, variant: &str, os: &OsDefinition, qualifiers: Vec<String>, kind: TagKind, in_manifest: bool) -> ParsedTag {
        ParsedTag {
            tag: tag.to_string(),
            variant: variant.to_string(),
            os: os.id.clone(),
            qualifiers,
            arch: os.arch.clone(),
            kind,
            channel: None,
            source_id: None,
            time: None,
            digest_prefix: None,
            rolled_back_from: None,
            alias: None,
            in_manifest,
        }
    }
}

/// Why a tag could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// Not a valid OCI tag at all.
    #[error("'{0}' is not a valid tag (OCI tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}})")]
    Invalid(String),
    /// A valid tag that this repository's schema does not produce.
    #[error("'{0}' does not belong to the tag schema: no known OS slug and version, channel or variant reads it")]
    NotInSchema(String),
}

#[derive(Debug, Clone)]
enum Fixed {
    Base,
    Channel(String),
    Alias(String, String),
}

/// A structural reading of a base tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading<'a> {
    /// The OS it names.
    pub os: &'a OsDefinition,
    /// Its qualifiers.
    pub qualifiers: Vec<String>,
}

/// Reads tags back; build once per fleet, then parse many.
#[derive(Debug)]
pub struct TagIndex<'f> {
    fleet: &'f Fleet,
    fixed: HashMap<String, (usize, Fixed)>,
    bases: HashMap<String, usize>,
    channel_tags: HashMap<String, (usize, String)>,
    /// (channel, suffix), longest suffix first.
    suffixes: Vec<(String, String)>,
    /// slug → versions (longest first); slugs longest first.
    slugs: Vec<(String, Vec<String>)>,
    arch_by_segment: HashMap<String, String>,
    os_by_key: HashMap<(String, String, String), &'f OsDefinition>,
}

impl<'f> TagIndex<'f> {
    /// Indexes every fixed tag of `fleet` and its slugs, versions and arch segments.
    pub fn new(fleet: &'f Fleet) -> Self {
        let mut fixed = HashMap::new();
        let mut bases = HashMap::new();
        let mut channel_tags = HashMap::new();
        for (i, v) in fleet.variants.iter().enumerate() {
            fixed.entry(v.name.clone()).or_insert((i, Fixed::Base));
            bases.entry(v.name.clone()).or_insert(i);
            for (name, c) in &fleet.manifest.channels {
                let tag = format!("{}{}", v.name, c.suffix);
                let owned_here = fixed.get(&tag).is_none_or(|(j, _)| *j == i);
                if owned_here {
                    fixed.insert(tag.clone(), (i, Fixed::Channel(name.clone())));
                }
                channel_tags.entry(tag).or_insert((i, name.clone()));
                for a in &v.spec.aliases {
                    fixed.entry(format!("{a}{}", c.suffix)).or_insert((i, Fixed::Alias(a.clone(), name.clone())));
                }
            }
        }
        let mut suffixes: Vec<(String, String)> =
            fleet.manifest.channels.iter().map(|(n, c)| (n.clone(), c.suffix.clone())).collect();
        suffixes.sort_by_key(|(_, s)| std::cmp::Reverse(s.len()));
        let mut slug_map: HashMap<String, Vec<String>> = HashMap::new();
        let mut os_by_key = HashMap::new();
        for d in &fleet.os.definitions {
            let versions = slug_map.entry(d.slug.clone()).or_default();
            if !versions.contains(&d.version) {
                versions.push(d.version.clone());
            }
            os_by_key.insert((d.slug.clone(), d.version.clone(), d.arch.clone()), d);
        }
        let mut slugs: Vec<(String, Vec<String>)> = slug_map.into_iter().collect();
        for (_, vs) in &mut slugs {
            vs.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        }
        slugs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        let schema = &fleet.manifest.tag_schema;
        let mut arch_by_segment: HashMap<String, String> =
            schema.arch.iter().map(|(arch, seg)| (seg.clone(), arch.clone())).collect();
        for (seg, arch) in &schema.arch_aliases {
            arch_by_segment.entry(seg.clone()).or_insert_with(|| arch.clone());
        }
        TagIndex { fleet, fixed, bases, channel_tags, suffixes, slugs, arch_by_segment, os_by_key }
    }

    /// The fleet this index reads tags of.
    pub fn fleet(&self) -> &'f Fleet {
        self.fleet
    }

    /// Reads `tag` back. Tags of manifest variants are read through the variants
    /// (they decide where a tag could be read two ways); any other tag is read
    /// structurally from the schema and OS definitions.
    pub fn parse(&self, tag: &str) -> Result<ParsedTag, TagError> {
        if !is_valid_tag(tag) {
            return Err(TagError::Invalid(tag.to_string()));
        }
        if let Some(p) = self.parse_known(tag) {
            return Ok(p);
        }
        self.parse_structural(tag).ok_or_else(|| TagError::NotInSchema(tag.to_string()))
    }

    fn reading_of(&self, tag: &str, i: usize, kind: TagKind) -> ParsedTag {
        let v = &self.fleet.variants[i];
        ParsedTag::bare(tag, &v.name, &v.os, v.spec.qualifiers.clone(), kind, true)
    }

    fn parse_known(&self, tag: &str) -> Option<ParsedTag> {
        if let Some((i, fixed)) = self.fixed.get(tag) {
            return Some(match fixed {
                Fixed::Base => self.reading_of(tag, *i, TagKind::Base),
                Fixed::Channel(c) => ParsedTag { channel: Some(c.clone()), ..self.reading_of(tag, *i, TagKind::Channel) },
                Fixed::Alias(a, c) => ParsedTag {
                    channel: Some(c.clone()),
                    alias: Some(a.clone()),
                    ..self.reading_of(tag, *i, TagKind::Alias)
                },
            });
        }
        if let Some(h) = split_history(tag) {
            if let Some((i, channel)) = self.channel_tags.get(h.prefix) {
                return Some(ParsedTag {
                    channel: Some(channel.clone()),
                    time: Some(h.time),
                    digest_prefix: Some(h.digest.to_string()),
                    rolled_back_from: h.rolled_back_from.map(str::to_string),
                    ..self.reading_of(tag, *i, TagKind::Release)
                });
            }
        }
        if let Some((prefix, source_id)) = split_immutable(tag) {
            if let Some(i) = self.bases.get(prefix) {
                return Some(ParsedTag { source_id: Some(source_id.to_string()), ..self.reading_of(tag, *i, TagKind::Immutable) });
            }
        }
        None
    }

    fn parse_structural(&self, tag: &str) -> Option<ParsedTag> {
        let make = |base: &str, kind: TagKind, r: Reading<'_>| ParsedTag::bare(tag, base, r.os, r.qualifiers, kind, false);
        if let Some(h) = split_history(tag) {
            for (channel, suffix) in &self.suffixes {
                if let Some(base) = h.prefix.strip_suffix(suffix.as_str()) {
                    if let Some(r) = self.read_base(base) {
                        return Some(ParsedTag {
                            channel: Some(channel.clone()),
                            time: Some(h.time),
                            digest_prefix: Some(h.digest.to_string()),
                            rolled_back_from: h.rolled_back_from.map(str::to_string),
                            ..make(base, TagKind::Release, r)
                        });
                    }
                }
            }
        }
        if let Some((base, source_id)) = split_immutable(tag) {
            if let Some(r) = self.read_base(base) {
                return Some(ParsedTag { source_id: Some(source_id.to_string()), ..make(base, TagKind::Immutable, r) });
            }
        }
        for (channel, suffix) in &self.suffixes {
            if suffix.is_empty() {
                continue;
            }
            if let Some(base) = tag.strip_suffix(suffix.as_str()) {
                if let Some(r) = self.read_base(base) {
                    return Some(ParsedTag { channel: Some(channel.clone()), ..make(base, TagKind::Channel, r) });
                }
            }
        }
        let r = self.read_base(tag)?;
        let bare_channel = self.suffixes.iter().find(|(_, s)| s.is_empty()).map(|(c, _)| c.clone());
        Some(match bare_channel {
            Some(c) => ParsedTag { channel: Some(c), ..make(tag, TagKind::Channel, r) },
            None => make(tag, TagKind::Base, r),
        })
    }

    /// Reads a base tag from the schema alone: longest known slug, then longest known
    /// version of that slug, then qualifiers, then an arch segment (or the default
    /// arch when the last segment is not one).
    pub fn read_base(&self, base: &str) -> Option<Reading<'f>> {
        let schema = &self.fleet.manifest.tag_schema;
        for (slug, versions) in &self.slugs {
            let Some(rest) = base.strip_prefix(slug.as_str()).and_then(|r| r.strip_prefix('-')) else {
                continue;
            };
            for version in versions {
                let Some(tail) = rest.strip_prefix(version.as_str()) else { continue };
                let segs: Vec<&str> = match tail {
                    "" => Vec::new(),
                    t => match t.strip_prefix('-') {
                        Some(t) => t.split('-').collect(),
                        None => continue,
                    },
                };
                let (arch, quals) = match segs.split_last() {
                    Some((last, init)) if self.arch_by_segment.contains_key(*last) => {
                        (self.arch_by_segment[*last].clone(), init)
                    }
                    _ => (schema.default_arch.clone(), &segs[..]),
                };
                if quals.iter().any(|q| qualifier_problem(q).is_some()) {
                    continue;
                }
                if let Some(os) = self.os_by_key.get(&(slug.clone(), version.clone(), arch)) {
                    return Some(Reading { os, qualifiers: quals.iter().map(|s| s.to_string()).collect() });
                }
            }
        }
        None
    }
}

/// `{prefix}-{14 digits}-{12 hex}` → (prefix, time, digest12).
pub fn split_release(tag: &str) -> Option<(&str, DateTime<Utc>, &str)> {
    let (rest, digest) = tag.rsplit_once('-')?;
    let (prefix, ts) = rest.rsplit_once('-')?;
    if !is_source_id(digest) || !is_timestamp(ts) || prefix.is_empty() {
        return None;
    }
    let time = NaiveDateTime::parse_from_str(ts, "%Y%m%d%H%M%S").ok()?.and_utc();
    Some((prefix, time, digest))
}

/// A history tag split into its parts: a release tag
/// `{channel tag}-{YYYYMMDDHHMMSS}-{digest12}`, or the release tag a rollback writes,
/// `{channel tag}-{YYYYMMDDHHMMSS}-{digest12}-{rolledBackFrom12}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryParts<'a> {
    /// The channel tag.
    pub prefix: &'a str,
    /// When the channel moved.
    pub time: DateTime<Utc>,
    /// First 12 hex digits of the digest it moved to.
    pub digest: &'a str,
    /// For a rollback: first 12 hex digits of the digest it moved away from.
    pub rolled_back_from: Option<&'a str>,
}

/// Splits a release or rollback tag; the rollback form is tried first.
pub fn split_history(tag: &str) -> Option<HistoryParts<'_>> {
    if let Some((rest, from)) = tag.rsplit_once('-') {
        if is_source_id(from) {
            if let Some((prefix, time, digest)) = split_release(rest) {
                return Some(HistoryParts { prefix, time, digest, rolled_back_from: Some(from) });
            }
        }
    }
    let (prefix, time, digest) = split_release(tag)?;
    Some(HistoryParts { prefix, time, digest, rolled_back_from: None })
}

/// `{prefix}-{12 hex}` → (prefix, source id).
pub fn split_immutable(tag: &str) -> Option<(&str, &str)> {
    let (prefix, id) = tag.rsplit_once('-')?;
    (is_source_id(id) && !prefix.is_empty()).then_some((prefix, id))
}
