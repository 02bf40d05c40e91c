//! The OS catalogue (`os-definitions.json`, SPEC §2.2): OperatingSystemIds and their fields.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole `os-definitions.json` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OsDefinitions {
    /// Every operating system the manifest may name.
    pub definitions: Vec<OsDefinition>,
}

/// One operating system: an OperatingSystemId and what it is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OsDefinition {
    /// `{family}-{distro}-{version}-{arch}`, e.g. `Linux-Ubuntu-22.04-AMD64`.
    pub id: String,
    /// `Linux` or `Windows`.
    pub family: String,
    /// Distribution name as it appears in the id, e.g. `Ubuntu`.
    pub distro: String,
    /// Lower-case tag segment of the distribution, e.g. `ubuntu` or `centos-stream`.
    pub slug: String,
    /// Version as it appears in tags, e.g. `22.04`, `3.0`, `edge`, `ltsc2022`.
    pub version: String,
    /// Another name of this version (`jammy`, `azurelinux3.0`) used by importers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    /// Architecture key of `tagSchema.arch`, e.g. `AMD64`, `ARM64`, `ARM32`.
    pub arch: String,
    /// .NET runtime identifier, informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// End of life (UTC date); `validate` warns past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eol: Option<NaiveDate>,
}

impl OsDefinition {
    /// The id its fields imply.
    pub fn expected_id(&self) -> String {
        format!("{}-{}-{}-{}", self.family, self.distro, self.version, self.arch)
    }

    /// True if the OS is past its end of life on `today`.
    pub fn is_eol(&self, today: NaiveDate) -> bool {
        self.eol.is_some_and(|eol| eol <= today)
    }
}
