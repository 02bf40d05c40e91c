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
    /// The registry's kind (`ghcr`, `acr`, …) when its host does not say it (SPEC §8);
    /// `--registry-kind` / `IMGCTL_REGISTRY_KIND` override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_kind: Option<crate::kind::RegistryKind>,
    /// Path of `os-definitions.json`, relative to this file.
    pub os_definitions: String,
    /// How tags are made from OS definitions.
    pub tag_schema: TagSchema,
    /// Floating channels (`staging`, `latest`, …) in the order they are shown.
    pub channels: IndexMap<String, Channel>,
    /// The images.
    pub variants: Vec<VariantSpec>,
    /// Other registries/repositories every move is repeated on, after this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<Mirror>,
    /// Promotion records and lifecycle marks in the registry (`docs/RECORDS.md`); off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<Records>,
    /// How long before an OS definition's `eol` date `validate` starts warning about the
    /// variants on it (default 30d; see docs/OPERATIONS.md "End of life").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eol_warning: Option<Duration>,
}

/// The default of `eolWarning`: 30 days.
pub const DEFAULT_EOL_WARNING: Duration = Duration(30 * 24 * 3600);

impl Manifest {
    /// `eolWarning`, or its default.
    pub fn eol_warning(&self) -> Duration {
        self.eol_warning.unwrap_or(DEFAULT_EOL_WARNING)
    }
}

/// A mirror: another repository (on this or another registry) that every publish copies
/// the build to and every channel move is repeated on, digest for digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Mirror {
    /// Registry host, `host[:port]`.
    pub registry: String,
    /// The repository there, e.g. `acme/build-images`.
    pub repository: String,
    /// The kind of registry (inferred from the host when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(distribution|ghcr|dockerhub|acr|ecr|gar|harbor|quay)$"))]
    pub registry_kind: Option<String>,
}


/// A verification gate: a command that must succeed for a candidate digest before the
/// channel moves to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Verify {
    /// An argv list (run as is) or a string (run with `sh -c`).
    pub command: VerifyCommand,
    /// How long it may run (default 10m); running longer is a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Only variants with at least one of these qualifiers (empty: no restriction).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qualifiers: Vec<String>,
    /// Only variants of these OperatingSystemIds; a trailing `*` matches a prefix
    /// (`Linux-Ubuntu-*`). Empty: no restriction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub os: Vec<String>,
}

/// The verification command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum VerifyCommand {
    /// A shell command line (`sh -c`).
    Shell(String),
    /// A program and its arguments.
    Argv(Vec<String>),
}

impl Verify {
    /// The default timeout: 10 minutes.
    pub const DEFAULT_TIMEOUT: Duration = Duration(600);

    /// Whether the gate applies to a variant with `os` and `qualifiers`.
    pub fn applies_to(&self, os: &str, qualifiers: &[String]) -> bool {
        let os_ok = self.os.is_empty()
            || self.os.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => os.starts_with(prefix),
                None => p == os,
            });
        let q_ok = self.qualifiers.is_empty() || self.qualifiers.iter().any(|q| qualifiers.contains(q));
        os_ok && q_ok
    }

    /// The timeout, or the default.
    pub fn timeout(&self) -> Duration {
        self.timeout.unwrap_or(Self::DEFAULT_TIMEOUT)
    }
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
    /// A command that must succeed for a digest before this channel moves to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verify>,
    /// When this channel's promotion runs: a five-field cron expression in UTC
    /// (`17 6 * * 3`: Wednesdays 06:17Z). `status` then says when each pending build goes
    /// out; `validate` checks it against the soak and the promote workflow's cron.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// How a variant with no history on this channel is promoted: `immediate` (default:
    /// from its first build on `promotesFrom`, without waiting for the soak) or `soak`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_variants: Option<NewVariants>,
}

/// How a channel treats a variant it has never held (SPEC §9 `newVariants`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NewVariants {
    /// Promote its first build on the source channel at the next run, soak waived.
    #[default]
    Immediate,
    /// Treat it like any build: it waits for the soak.
    Soak,
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
    /// Retired (UTC date, `YYYY-MM-DD`): the variant stays listed — its tags, channels,
    /// history and rollback keep working, gc keeps its channel tags — but it is no longer
    /// built (`plan`) or promoted, and `mark-eol` marks its channels' digests end of life
    /// on this date. Delete a variant only once it was retired (`validate --since`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<chrono::NaiveDate>,
    /// The variant (base tag) that replaces this retired one: `usages` names it to every
    /// consumer of this one. It must exist and not be retired itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// The GitHub Actions runner label the publish workflow builds this variant on
    /// (`windows-2025`, a self-hosted label, …); default: the workflow's `runners` input
    /// for the variant's OS family (`docs/ADOPTING.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub runner: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(os: &[&str], q: &[&str]) -> Verify {
        Verify { command: VerifyCommand::Shell("true".into()), timeout: None, qualifiers: q.iter().map(|s| s.to_string()).collect(), os: os.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn a_gate_applies_by_os_prefix_and_qualifier() {
        let helix = vec!["helix".to_string()];
        assert!(gate(&[], &[]).applies_to("Linux-Ubuntu-22.04-AMD64", &[]));
        assert!(gate(&["Linux-Ubuntu-*"], &[]).applies_to("Linux-Ubuntu-22.04-AMD64", &[]));
        assert!(!gate(&["Linux-Alpine-*"], &[]).applies_to("Linux-Ubuntu-22.04-AMD64", &[]));
        assert!(gate(&["Linux-Ubuntu-22.04-AMD64"], &["helix"]).applies_to("Linux-Ubuntu-22.04-AMD64", &helix));
        assert!(!gate(&[], &["cross"]).applies_to("Linux-Ubuntu-22.04-AMD64", &helix));
        assert_eq!(gate(&[], &[]).timeout(), Duration(600));
    }

    #[test]
    fn a_command_is_a_string_or_an_argv_list() {
        let v: Verify = serde_yaml_ng::from_str("command: [sh, -c, 'exit 0']\ntimeout: 30s\n").unwrap();
        assert_eq!(v.command, VerifyCommand::Argv(vec!["sh".into(), "-c".into(), "exit 0".into()]));
        assert_eq!(v.timeout(), Duration(30));
        let v: Verify = serde_yaml_ng::from_str("command: docker run --rm \"$IMGCTL_IMAGE\" true\n").unwrap();
        assert!(matches!(v.command, VerifyCommand::Shell(_)));
    }
}
