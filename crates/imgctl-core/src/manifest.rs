//! The image manifest (`manifests/images.yaml`, SPEC §2.1) as serde types.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;

/// The manifest format version this build reads.
pub const MANIFEST_VERSION: u32 = 1;

/// The whole manifest document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "imgctl image manifest")]
pub struct Manifest {
    /// Format version; must be 1.
    pub version: u32,
    /// Registry host, `host[:port]`; `--registry` / `IMGCTL_REGISTRY` override it.
    pub registry: String,
    /// The one repository every variant lives in, e.g. `acme/build-images`.
    pub repository: String,
    /// Path of `os-definitions.json`, relative to this file.
    pub os_definitions: String,
    /// How tags are made from OS definitions.
    pub tag_schema: TagSchema,
    /// Floating channels (`staging`, `latest`, …) in the order they are shown.
    pub channels: IndexMap<String, Channel>,
    /// The images.
    pub variants: Vec<VariantSpec>,
    /// Promotion records and lifecycle marks in the registry (`docs/RECORDS.md`); off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<Records>,
}

/// The `records:` block: what channel moves leave in the registry besides tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Records {
    /// Attach an in-toto statement to the digest of every channel move (OCI referrer).
    pub enabled: bool,
    /// Require a signing key (`--sign-key` / `IMGCTL_SIGNING_KEY`): every record is a
    /// signed DSSE envelope, and a move without a key is refused before anything changes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sign: bool,
    /// How long a digest must have left every channel before `mark-eol` marks it end of
    /// life (default 7d).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eol_grace: Option<Duration>,
}

/// The default of `records.eolGrace`: 7 days.
pub const DEFAULT_EOL_GRACE_SECS: u64 = 7 * 24 * 3600;

/// Tag rendering rules shared by every variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TagSchema {
    /// OS-id arch (`AMD64`) → tag segment (`amd64`).
    pub arch: BTreeMap<String, String>,
    /// The one arch whose segment a variant may omit with `omitArch: true`.
    pub default_arch: String,
    /// Extra segments that parse back to an arch but are never rendered
    /// (e.g. `arm64` for `ARM64` when the rendered segment is `arm64v8`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub arch_aliases: BTreeMap<String, String>,
}

/// A floating channel: a tag suffix that imgctl moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Channel {
    /// Appended to the base tag (may be empty: the bare base tag is the channel).
    pub suffix: String,
    /// The git branch whose revision this channel follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The channel a digest must have been on before it is promoted here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotes_from: Option<String>,
    /// How long a digest must have been on `promotesFrom` before promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak: Option<Duration>,
}

/// One image variant, keyed by its OperatingSystemId and qualifiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VariantSpec {
    /// An OperatingSystemId from the OS definitions.
    pub os: String,
    /// Extra identifying segments, in tag order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qualifiers: Vec<String>,
    /// Build context directory, relative to the manifest file.
    pub context: String,
    /// Dockerfile path relative to the context.
    #[serde(default = "default_dockerfile", skip_serializing_if = "is_default_dockerfile")]
    pub dockerfile: String,
    /// Explicit base tag; must still parse back to this variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Extra floating names; each gets every channel's suffix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// `--build-arg` values; part of the source id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_args: BTreeMap<String, String>,
    /// Leave the arch segment out of the tag (only for the default arch).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub omit_arch: bool,
    /// Platforms to build (`linux/amd64`, …); defaults to the OS arch's platform.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
}

fn default_dockerfile() -> String {
    "Dockerfile".to_string()
}

fn is_default_dockerfile(s: &str) -> bool {
    s == "Dockerfile"
}

/// The JSON Schema of the manifest, pretty-printed, as checked in under `schemas/`.
pub fn json_schema() -> String {
    pretty(&schemars::schema_for!(Manifest))
}

/// The JSON Schema of `os-definitions.json`, as checked in under `schemas/`.
pub fn os_definitions_schema() -> String {
    pretty(&schemars::schema_for!(crate::osdefs::OsDefinitions))
}

fn pretty(schema: &schemars::Schema) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}
