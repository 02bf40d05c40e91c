//! imgctl's image inventory (docs/CHANGES.md): what an image holds, read in one streaming pass
//! over its layers. Each layer gives a [`LayerInventory`] (its files, its whiteouts, and the
//! package databases and `os-release` it carries, already parsed) that depends on that layer
//! alone, so it is cached by layer digest; [`merge`] stacks the layers of an image with the
//! OCI whiteout rules into an [`Inventory`]. Versions compare per ecosystem ([`version`]); an
//! inventory becomes an SPDX 2.3 document with package URLs ([`spdx`]) or a CycloneDX 1.5 one
//! ([`cyclonedx`]).
//! No network, no terminal: layers come in as `std::io::Read` streams.

pub mod apk;
pub mod cache;
pub mod cyclonedx;
pub mod diff;
pub mod dpkg;
pub mod layer;
pub mod merge;
pub mod osrelease;
pub mod purl;
pub mod rpm;
pub mod spdx;
pub mod version;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use layer::{Compression, read_layer};
pub use merge::merge;

/// Why a layer or database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The layer stream could not be read (I/O, decompression, tar).
    #[error("read layer {layer}: {reason}")]
    Layer {
        /// The layer's digest (or a name).
        layer: String,
        /// What went wrong.
        reason: String,
    },
    /// A package database is not in the format it should be.
    #[error("read {path}: {reason}")]
    Database {
        /// The path inside the image.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An SPDX document read back does not say what imgctl writes into one.
    #[error("read the SPDX document: {reason}")]
    Document {
        /// What is missing or wrong.
        reason: String,
    },
    /// A document could not be made in a format.
    #[error("render the {format} document: {reason}")]
    Render {
        /// The format (`CycloneDX`).
        format: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The layer cache could not be read or written.
    #[error("use the layer cache '{path}': {reason}")]
    Cache {
        /// The cache file or directory.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// A package ecosystem (the package manager whose database listed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// dpkg (Debian, Ubuntu): `var/lib/dpkg/status`, `status.d/`.
    Deb,
    /// rpm (Azure Linux, Fedora, CentOS Stream, AlmaLinux, openSUSE).
    Rpm,
    /// apk (Alpine): `lib/apk/db/installed`.
    Apk,
}

impl Ecosystem {
    /// The purl type and display name (`deb`, `rpm`, `apk`).
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Apk => "apk",
        }
    }
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    /// Which database listed it.
    pub ecosystem: Ecosystem,
    /// The binary package's name.
    pub name: String,
    /// The full version in the ecosystem's own notation: dpkg `[epoch:]upstream[-revision]`,
    /// rpm `[epoch:]version-release`, apk `version-rN`.
    pub version: String,
    /// The architecture (`amd64`, `x86_64`, `noarch`, `all`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The source package (dpkg `Source`, rpm `SOURCERPM`'s name, apk origin) when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The license as the database states it (not necessarily an SPDX expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}

/// `etc/os-release` (or `usr/lib/os-release`), the fields a reviewer needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsRelease {
    /// `ID` (`debian`, `ubuntu`, `alpine`, `fedora`, `azurelinux`, …).
    pub id: String,
    /// `VERSION_ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// `PRETTY_NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
}

/// What an image holds, its layers stacked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    /// Why the image was not inventoried (e.g. a Windows image's foreign layers); when set,
    /// the other fields say nothing about the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_inventoried: Option<String>,
    /// The OS, when the image has an `os-release`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsRelease>,
    /// Installed packages, sorted by ecosystem, name, version, arch.
    pub packages: Vec<Package>,
    /// Files (anything but directories) in the final filesystem.
    pub files: u64,
    /// Bytes of regular files in the final filesystem.
    pub bytes: u64,
    /// The package databases read (paths inside the image), in the order used.
    pub databases: Vec<String>,
    /// Databases present but unreadable, with why (they contribute no packages).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub problems: BTreeMap<String, String>,
}
