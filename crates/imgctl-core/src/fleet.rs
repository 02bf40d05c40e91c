//! The resolved fleet: manifest variants joined with their OS definitions, with
//! every tag name each variant owns (SPEC §3 rendering).

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Serialize;

use crate::finding::Finding;
use crate::manifest::{Manifest, VariantSpec};
use crate::osdefs::{OsDefinition, OsDefinitions};
use crate::paths;
use crate::span::{SpanIndex, at, field};

/// The manifest and OS definitions of one revision, resolved.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The manifest as written.
    pub manifest: Manifest,
    /// The manifest's file name as the user gave it.
    pub manifest_file: String,
    /// Positions in the manifest.
    pub manifest_spans: SpanIndex,
    /// The OS catalogue.
    pub os: OsDefinitions,
    /// The OS definitions' file name (resolved relative to the manifest).
    pub os_file: String,
    /// Positions in the OS definitions.
    pub os_spans: SpanIndex,
    /// Variants whose OS is known, in manifest order.
    pub variants: Vec<Variant>,
}

/// One variant, resolved.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Its base tag, which is also its name on the command line.
    pub name: String,
    /// Index in `manifest.variants`.
    pub index: usize,
    /// Its OS definition.
    pub os: OsDefinition,
    /// The entry as written.
    pub spec: VariantSpec,
    /// Build context, relative to where the manifest's path is relative to.
    pub context: String,
    /// Dockerfile path (context joined with `dockerfile`).
    pub dockerfile: String,
}

/// Every tag name a variant owns, as `imgctl tags` prints it (SPEC §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantTags {
    /// The base tag.
    pub base: String,
    /// Channel name → channel tag.
    pub channels: IndexMap<String, String>,
    /// `{base}-{sourceId}`, when the source id is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub immutable: Option<String>,
    /// Every alias with every channel suffix.
    pub aliases: Vec<String>,
}

/// Path of the manifest entry of variant `i`.
pub fn variant_path(i: usize) -> String {
    at("variants", i)
}

impl Fleet {
    /// Joins a parsed manifest and OS catalogue. Variants naming an unknown OS are left
    /// out and reported.
    pub fn new(
        manifest: Manifest,
        manifest_file: &str,
        manifest_spans: SpanIndex,
        os: OsDefinitions,
        os_spans: SpanIndex,
    ) -> (Fleet, Vec<Finding>) {
        let os_file = paths::resolve(manifest_file, &manifest.os_definitions);
        let by_id: BTreeMap<&str, &OsDefinition> = os.definitions.iter().map(|d| (d.id.as_str(), d)).collect();
        let mut findings = Vec::new();
        let mut variants = Vec::new();
        for (i, spec) in manifest.variants.iter().enumerate() {
            let Some(def) = by_id.get(spec.os.as_str()) else {
                let pos = manifest_spans.pos(&field(&variant_path(i), "os"));
                let hint = crate::names::did_you_mean(&spec.os, by_id.keys().copied());
                findings.push(Finding::error("unknown-os", manifest_file, pos, format!("unknown OperatingSystemId '{}'{hint}", spec.os)));
                continue;
            };
            let context = paths::resolve(manifest_file, &spec.context);
            let dockerfile = paths::join(&context, &spec.dockerfile);
            let name = spec.tag.clone().unwrap_or_else(|| render_base(&manifest, def, &spec.qualifiers, spec.omit_arch));
            variants.push(Variant { name, index: i, os: (*def).clone(), spec: spec.clone(), context, dockerfile });
        }
        let fleet = Fleet { manifest, manifest_file: manifest_file.to_string(), manifest_spans, os, os_file, os_spans, variants };
        (fleet, findings)
    }

    /// The variant named by its base tag.
    pub fn variant(&self, name: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.name == name)
    }

    /// Channel tag of `v` on `channel` (`None` for an unknown channel).
    pub fn channel_tag(&self, v: &Variant, channel: &str) -> Option<String> {
        self.manifest.channels.get(channel).map(|c| format!("{}{}", v.name, c.suffix))
    }

    /// `{base}-{sourceId}`.
    pub fn immutable_tag(v: &Variant, source_id: &str) -> String {
        format!("{}-{source_id}", v.name)
    }

    /// `{base}{suffix}-{YYYYMMDDHHMMSS}-{digest12}` for a move of `channel` to `digest`
    /// at `time`; a rollback adds `-{from12}`, the digest rolled back from (docs/HISTORY.md).
    pub fn release_tag(
        &self,
        v: &Variant,
        channel: &str,
        time: chrono::DateTime<chrono::Utc>,
        digest: &str,
        rolled_back_from: Option<&str>,
    ) -> Option<String> {
        let short = crate::tags::digest12(digest);
        if short.len() < 12 {
            return None;
        }
        let tag = format!("{}-{}-{short}", self.channel_tag(v, channel)?, time.format("%Y%m%d%H%M%S"));
        Some(match rolled_back_from {
            Some(from) => format!("{tag}-{}", crate::tags::digest12(from)),
            None => tag,
        })
    }

    /// Every fixed tag name of `v` (all but immutable and release tags).
    pub fn tags(&self, v: &Variant, source_id: Option<&str>) -> VariantTags {
        let channels = self.manifest.channels.iter().map(|(n, c)| (n.clone(), format!("{}{}", v.name, c.suffix))).collect();
        let aliases = v
            .spec
            .aliases
            .iter()
            .flat_map(|a| self.manifest.channels.values().map(move |c| format!("{a}{}", c.suffix)))
            .collect();
        VariantTags { base: v.name.clone(), channels, immutable: source_id.map(|s| Fleet::immutable_tag(v, s)), aliases }
    }
}

/// `{slug}-{version}[-{qualifier}…][-{arch}]` (SPEC §3).
pub fn render_base(manifest: &Manifest, os: &OsDefinition, qualifiers: &[String], omit_arch: bool) -> String {
    let mut segs: Vec<&str> = vec![&os.slug, &os.version];
    segs.extend(qualifiers.iter().map(String::as_str));
    if !omit_arch {
        if let Some(seg) = manifest.tag_schema.arch.get(&os.arch) {
            segs.push(seg);
        }
    }
    segs.join("-")
}

