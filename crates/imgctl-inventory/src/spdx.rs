//! SPDX 2.3 JSON documents of an inventory: the image (`SPDXRef-Image`, purpose
//! `CONTAINER`), its OS (`OPERATING-SYSTEM`) and every installed package with its package
//! URL; the image `CONTAINS` them. The image package's comment carries imgctl's file count and
//! bytes (or why the image was not inventoried), so [`read`] gives the inventory back.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::{Ecosystem, Inventory, OsRelease, Package, purl};

/// SPDX's "no assertion".
const NOASSERTION: &str = "NOASSERTION";
/// The prefix of the image package's comment.
const COMMENT: &str = "imgctl inventory: ";

/// An SPDX 2.3 document (the fields imgctl writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    /// `SPDX-2.3`.
    pub spdx_version: String,
    /// `CC0-1.0`.
    pub data_license: String,
    /// `SPDXRef-DOCUMENT`.
    #[serde(rename = "SPDXID")]
    pub spdx_id: String,
    /// `repository@digest`.
    pub name: String,
    /// A unique URI for this document.
    pub document_namespace: String,
    /// Who made it and when.
    pub creation_info: CreationInfo,
    /// The image, its OS and its packages.
    pub packages: Vec<SpdxPackage>,
    /// DESCRIBES and CONTAINS.
    pub relationships: Vec<Relationship>,
}

/// SPDX creation info.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationInfo {
    /// RFC 3339, seconds, UTC.
    pub created: String,
    /// `Tool: imgctl-<version>`.
    pub creators: Vec<String>,
}

/// An SPDX package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpdxPackage {
    /// `SPDXRef-…`.
    #[serde(rename = "SPDXID")]
    pub spdx_id: String,
    /// The package's name.
    pub name: String,
    /// Its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_info: Option<String>,
    /// `NOASSERTION`.
    pub download_location: String,
    /// false: files are not listed.
    pub files_analyzed: bool,
    /// `CONTAINER`, `OPERATING-SYSTEM`, `APPLICATION`, `LIBRARY`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_package_purpose: Option<String>,
    /// `NOASSERTION` (databases state licenses in their own notations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_declared: Option<String>,
    /// The license as the package database states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_comments: Option<String>,
    /// The source package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_info: Option<String>,
    /// The OS's pretty name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The image package: imgctl's counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The package URL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_refs: Vec<ExternalRef>,
}

/// An external reference (purl).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalRef {
    /// `PACKAGE-MANAGER`.
    pub reference_category: String,
    /// `purl`.
    pub reference_type: String,
    /// The purl.
    pub reference_locator: String,
}

/// A relationship between two SPDX elements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    /// From.
    pub spdx_element_id: String,
    /// `DESCRIBES`, `CONTAINS`.
    pub relationship_type: String,
    /// To.
    pub related_spdx_element: String,
}

/// What the document is about.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// `registry/repository`.
    pub repository: &'a str,
    /// The image manifest's digest.
    pub digest: &'a str,
    /// When the document was made.
    pub created: DateTime<Utc>,
    /// `imgctl-<version>`.
    pub tool: &'a str,
}

fn purl_ref(locator: String) -> ExternalRef {
    ExternalRef { reference_category: "PACKAGE-MANAGER".into(), reference_type: "purl".into(), reference_locator: locator }
}

fn package(spdx_id: String, name: &str, version: Option<String>, purpose: Option<&str>) -> SpdxPackage {
    SpdxPackage {
        spdx_id,
        name: name.to_string(),
        version_info: version,
        download_location: NOASSERTION.into(),
        files_analyzed: false,
        primary_package_purpose: purpose.map(str::to_string),
        license_declared: None,
        license_comments: None,
        source_info: None,
        description: None,
        comment: None,
        external_refs: Vec::new(),
    }
}

fn contains(to: &str) -> Relationship {
    Relationship { spdx_element_id: "SPDXRef-Image".into(), relationship_type: "CONTAINS".into(), related_spdx_element: to.to_string() }
}

/// The SPDX document of `inv`, the inventory of `subject`.
pub fn document(inv: &Inventory, subject: &Subject<'_>) -> Document {
    let hex = subject.digest.split_once(':').map_or(subject.digest, |(_, h)| h);
    let short = subject.repository.rsplit('/').next().unwrap_or(subject.repository);
    let mut image = package("SPDXRef-Image".into(), subject.repository, Some(subject.digest.to_string()), Some("CONTAINER"));
    image.external_refs.push(purl_ref(format!("pkg:oci/{}@{}?repository_url={}", purl::encode(short), purl::encode(subject.digest), purl::encode(subject.repository))));
    image.comment = Some(match &inv.not_inventoried {
        Some(why) => format!("{COMMENT}not inventoried: {why}"),
        None => format!("{COMMENT}{} files, {} bytes", inv.files, inv.bytes),
    });
    let mut packages = vec![image];
    let mut relationships = vec![Relationship { spdx_element_id: "SPDXRef-DOCUMENT".into(), relationship_type: "DESCRIBES".into(), related_spdx_element: "SPDXRef-Image".into() }];
    if let Some(os) = &inv.os {
        let mut p = package("SPDXRef-OperatingSystem".into(), &os.id, os.version_id.clone(), Some("OPERATING-SYSTEM"));
        p.description = os.pretty_name.clone();
        relationships.push(contains(&p.spdx_id));
        packages.push(p);
    }
    for (n, pkg) in inv.packages.iter().enumerate() {
        let mut p = package(format!("SPDXRef-Package-{}-{}", pkg.ecosystem.as_str(), n + 1), &pkg.name, Some(pkg.version.clone()), None);
        p.license_declared = Some(NOASSERTION.into());
        p.license_comments = pkg.license.as_ref().map(|l| format!("as the package database states it: {l}"));
        p.source_info = pkg.source.as_ref().map(|s| format!("built from source package {s}"));
        p.external_refs.push(purl_ref(purl::of(pkg, inv.os.as_ref())));
        relationships.push(contains(&p.spdx_id));
        packages.push(p);
    }
    Document {
        spdx_version: "SPDX-2.3".into(),
        data_license: "CC0-1.0".into(),
        spdx_id: "SPDXRef-DOCUMENT".into(),
        name: format!("{}@{}", subject.repository, subject.digest),
        document_namespace: format!("https://imgctl.dev/spdx/{}/{hex}", subject.repository),
        creation_info: CreationInfo { created: subject.created.to_rfc3339_opts(SecondsFormat::Secs, true), creators: vec![format!("Tool: {}", subject.tool)] },
        packages,
        relationships,
    }
}

/// The subject `doc` was made for ([`document`]'s input read back): its repository (the
/// name before `@`), creation time and tool, for `digest`.
pub fn subject<'a>(doc: &'a Document, digest: &'a str) -> Result<Subject<'a>, crate::InventoryError> {
    let repository = doc.name.rsplit_once('@').map_or(doc.name.as_str(), |(r, _)| r);
    let created = DateTime::parse_from_rfc3339(&doc.creation_info.created)
        .map_err(|e| crate::InventoryError::Document { reason: format!("its creation time '{}': {e}", doc.creation_info.created) })?
        .to_utc();
    let tool = doc.creation_info.creators.iter().find_map(|c| c.strip_prefix("Tool: ")).unwrap_or("imgctl");
    Ok(Subject { repository, digest, created, tool })
}

/// A purl qualifier's (decoded) value.
fn qualifier(purl: &str, key: &str) -> Option<String> {
    let (_, q) = purl.split_once('?')?;
    q.split('&').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')).map(decode)
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(x) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The inventory an imgctl SPDX document describes (packages from their purls).
pub fn read(doc: &Document) -> Inventory {
    let mut inv = Inventory::default();
    for p in &doc.packages {
        match p.primary_package_purpose.as_deref() {
            Some("CONTAINER") => {
                let c = p.comment.as_deref().and_then(|c| c.strip_prefix(COMMENT)).unwrap_or_default();
                if let Some(why) = c.strip_prefix("not inventoried: ") {
                    inv.not_inventoried = Some(why.to_string());
                } else if let Some((files, bytes)) = c.split_once(" files, ") {
                    inv.files = files.parse().unwrap_or(0);
                    inv.bytes = bytes.trim_end_matches(" bytes").parse().unwrap_or(0);
                }
                continue;
            }
            Some("OPERATING-SYSTEM") => {
                inv.os = Some(OsRelease { id: p.name.clone(), version_id: p.version_info.clone(), pretty_name: p.description.clone() });
                continue;
            }
            _ => {}
        }
        let Some(purl) = p.external_refs.iter().find(|r| r.reference_type == "purl").map(|r| r.reference_locator.as_str()) else { continue };
        let ecosystem = match purl.strip_prefix("pkg:").and_then(|r| r.split('/').next()) {
            Some("deb") => Ecosystem::Deb,
            Some("rpm") => Ecosystem::Rpm,
            Some("apk") => Ecosystem::Apk,
            _ => continue,
        };
        let license = p.license_comments.as_deref().map(|l| l.trim_start_matches("as the package database states it: ").to_string());
        let source = p.source_info.as_deref().map(|s| s.trim_start_matches("built from source package ").to_string());
        inv.packages.push(Package { ecosystem, name: p.name.clone(), version: p.version_info.clone().unwrap_or_default(), arch: qualifier(purl, "arch"), source, license });
    }
    inv.packages.sort();
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_round_trips_to_the_inventory() {
        let inv = Inventory {
            os: Some(OsRelease { id: "debian".into(), version_id: Some("12".into()), pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()) }),
            packages: vec![
                Package { ecosystem: Ecosystem::Deb, name: "bash".into(), version: "5.2.15-2+b8".into(), arch: Some("amd64".into()), source: None, license: None },
                Package { ecosystem: Ecosystem::Rpm, name: "x".into(), version: "2:1.0-1".into(), arch: Some("noarch".into()), source: Some("y".into()), license: Some("MIT".into()) },
            ],
            files: 12,
            bytes: 3456,
            ..Inventory::default()
        };
        let subject = Subject { repository: "localhost:5000/team/images", digest: "sha256:abcd", created: "2026-12-04T10:00:00Z".parse().unwrap(), tool: "imgctl-0.1.0" };
        let doc = document(&inv, &subject);
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["spdxVersion"], "SPDX-2.3");
        assert_eq!(json["packages"][0]["SPDXID"], "SPDXRef-Image");
        assert_eq!(json["packages"][2]["externalRefs"][0]["referenceLocator"], "pkg:deb/debian/bash@5.2.15-2%2Bb8?arch=amd64&distro=debian-12");
        assert_eq!(json["relationships"].as_array().unwrap().len(), 4);
        let back = read(&serde_json::from_value(json).unwrap());
        assert_eq!(back.packages, inv.packages);
        assert_eq!((back.files, back.bytes, back.os), (12, 3456, inv.os.clone()));
        let not = Inventory { not_inventoried: Some("a Windows image (foreign layers)".into()), ..Inventory::default() };
        assert_eq!(read(&document(&not, &subject)).not_inventoried, not.not_inventoried);
        // the subject reads back from the document it made
        let again = super::subject(&doc, "sha256:abcd").unwrap();
        assert_eq!((again.repository, again.created, again.tool), (subject.repository, subject.created, subject.tool));
    }
}
