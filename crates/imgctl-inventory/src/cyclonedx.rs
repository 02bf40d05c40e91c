//! CycloneDX 1.5 JSON documents of an inventory, built and written by the `cyclonedx-bom`
//! crate (CycloneDX's own Rust library) from the same inventory as [`crate::spdx`]: the image
//! is the BOM's subject (`metadata.component`, type `container`, with its `pkg:oci` purl), its
//! OS an `operating-system` component, every installed package a `library` component with the
//! same purl as in the SPDX document; the image depends on them all. imgctl's file count and
//! bytes (or why the image was not inventoried) are properties of the subject.

use cyclonedx_bom::models::bom::{Bom, SpecVersion, UrnUuid};
use cyclonedx_bom::models::component::{Classification, Component, Components};
use cyclonedx_bom::models::dependency::{Dependencies, Dependency};
use cyclonedx_bom::models::license::{License, LicenseChoice, Licenses};
use cyclonedx_bom::models::metadata::Metadata;
use cyclonedx_bom::models::property::{Properties, Property};
use cyclonedx_bom::models::tool::{Tool, Tools};
use cyclonedx_bom::prelude::{DateTime, NormalizedString, Purl, Validate};

use crate::spdx::Subject;
use crate::{Inventory, InventoryError, purl};

/// The property names imgctl adds.
pub const FILES: &str = "imgctl:files";
/// Bytes of regular files.
pub const BYTES: &str = "imgctl:bytes";
/// Why the image was not inventoried.
pub const NOT_INVENTORIED: &str = "imgctl:notInventoried";
/// The source package a binary package was built from.
pub const SOURCE: &str = "imgctl:sourcePackage";

fn bad(reason: impl std::fmt::Display) -> InventoryError {
    InventoryError::Render { format: "CycloneDX", reason: reason.to_string() }
}

fn purl_of(s: &str) -> Option<Purl> {
    s.parse().ok()
}

/// The serial number: a UUID (RFC 9562 version 8, custom) made of the image digest's first
/// 128 bits, so the same image always gets the same BOM identity.
fn serial(digest: &str) -> Result<UrnUuid, InventoryError> {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    let h: Vec<char> = hex.chars().chain(std::iter::repeat('0')).take(32).collect();
    let s: String = h.iter().collect();
    let variant = ['8', '9', 'a', 'b'][usize::from(h[16].to_digit(16).unwrap_or(0) as u8 & 3)];
    UrnUuid::new(format!("urn:uuid:{}-{}-8{}-{variant}{}-{}", &s[..8], &s[8..12], &s[13..16], &s[17..20], &s[20..32])).map_err(|e| bad(format!("{e:?}")))
}

/// The CycloneDX BOM of `inv`, the inventory of `subject`.
pub fn bom(inv: &Inventory, subject: &Subject<'_>) -> Result<Bom, InventoryError> {
    let short = subject.repository.rsplit('/').next().unwrap_or(subject.repository);
    let mut image = Component::new(Classification::Container, subject.repository, subject.digest, Some("image".into()));
    image.purl = purl_of(&format!("pkg:oci/{}@{}?repository_url={}", purl::encode(short), purl::encode(subject.digest), purl::encode(subject.repository)));
    image.properties = Some(Properties(match &inv.not_inventoried {
        Some(why) => vec![Property::new(NOT_INVENTORIED, why)],
        None => vec![Property::new(FILES, &inv.files.to_string()), Property::new(BYTES, &inv.bytes.to_string())],
    }));
    let mut components = Vec::new();
    if let Some(os) = &inv.os {
        let mut c = Component::new(Classification::OperatingSystem, &os.id, os.version_id.as_deref().unwrap_or_default(), Some("os".into()));
        if os.version_id.is_none() {
            c.version = None;
        }
        c.description = os.pretty_name.as_deref().map(NormalizedString::new);
        components.push(c);
    }
    for (n, pkg) in inv.packages.iter().enumerate() {
        let mut c = Component::new(Classification::Library, &pkg.name, &pkg.version, Some(format!("pkg-{}-{}", pkg.ecosystem.as_str(), n + 1)));
        c.purl = Some(purl_of(&purl::of(pkg, inv.os.as_ref())).ok_or_else(|| bad(format!("package {} has no purl", pkg.name)))?);
        c.licenses = pkg.license.as_deref().map(|l| Licenses(vec![LicenseChoice::License(License::named_license(l))]));
        c.properties = pkg.source.as_deref().map(|s| Properties(vec![Property::new(SOURCE, s)]));
        components.push(c);
    }
    let refs: Vec<String> = components.iter().filter_map(|c| c.bom_ref.clone()).collect();
    let timestamp = DateTime::try_from(subject.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).map_err(|e| bad(format!("{e:?}")))?;
    let tool = Tool { name: Some(NormalizedString::new(subject.tool)), ..Tool::default() };
    Ok(Bom {
        spec_version: SpecVersion::V1_5,
        version: 1,
        serial_number: Some(serial(subject.digest)?),
        metadata: Some(Metadata { timestamp: Some(timestamp), tools: Some(Tools::List(vec![tool])), component: Some(image), ..Metadata::default() }),
        components: Some(Components(components)),
        dependencies: Some(Dependencies(vec![Dependency { dependency_ref: "image".into(), dependencies: refs }])),
        ..Bom::default()
    })
}

/// The BOM as CycloneDX 1.5 JSON, checked with the crate's validation first (the crate's
/// writer takes the BOM by value).
pub fn json(bom: Bom) -> Result<serde_json::Value, InventoryError> {
    let result = bom.validate_version(SpecVersion::V1_5);
    if !result.passed() {
        return Err(bad(format!("the document does not validate: {result:?}")));
    }
    let mut out = Vec::new();
    bom.output_as_json_v1_5(&mut out).map_err(|e| bad(format!("{e:?}")))?;
    serde_json::from_slice(&out).map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ecosystem, OsRelease, Package};

    fn inventory() -> Inventory {
        let pkg = |e, name: &str, version: &str, license: Option<&str>| Package { ecosystem: e, name: name.into(), version: version.into(), arch: Some("amd64".into()), source: Some(format!("{name}-src")), license: license.map(str::to_string) };
        Inventory {
            os: Some(OsRelease { id: "debian".into(), version_id: Some("12".into()), pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()) }),
            packages: vec![pkg(Ecosystem::Deb, "libc6", "2.36-9+deb12u4", Some("LGPL-2.1+ and GPL-2")), pkg(Ecosystem::Deb, "zlib1g", "1:1.2.13.dfsg-1", None)],
            files: 12,
            bytes: 3456,
            ..Inventory::default()
        }
    }

    #[test]
    fn the_bom_validates_reads_back_and_holds_the_spdx_documents_packages() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let subject = Subject { repository: "ghcr.io/acme/images", digest: &digest, created: "2026-12-04T10:00:00Z".parse().unwrap(), tool: "imgctl-0.1.0" };
        let inv = inventory();
        let doc = json(bom(&inv, &subject).unwrap()).unwrap();
        assert_eq!(doc["bomFormat"], "CycloneDX");
        assert_eq!(doc["specVersion"], "1.5");
        assert_eq!(doc["serialNumber"], "urn:uuid:abababab-abab-8bab-abab-abababababab");
        // round trip through the crate's own parser, and its validation
        let back = Bom::parse_from_json_v1_5(doc.to_string().as_bytes()).unwrap();
        assert!(back.validate_version(SpecVersion::V1_5).passed());
        assert_eq!(json(back.clone()).unwrap(), doc);
        let subject_c = back.metadata.as_ref().unwrap().component.as_ref().unwrap();
        assert_eq!(subject_c.version.as_deref().map(|v| v.to_string()), Some(digest.clone()));
        // the same purls as the SPDX document
        let spdx = crate::spdx::document(&inv, &subject);
        let mut from_spdx: Vec<String> = spdx.packages.iter().flat_map(|p| p.external_refs.iter().map(|r| r.reference_locator.clone())).collect();
        let mut from_cdx: Vec<String> = back.components.as_ref().unwrap().0.iter().chain([subject_c]).filter_map(|c| c.purl.as_ref().map(|p| p.to_string())).collect();
        from_spdx.sort();
        from_cdx.sort();
        assert_eq!(from_cdx, from_spdx);
        let os = &doc["components"][0];
        assert_eq!((os["type"].as_str(), os["name"].as_str(), os["version"].as_str()), (Some("operating-system"), Some("debian"), Some("12")));
        assert_eq!(doc["components"][1]["licenses"][0]["license"]["name"], "LGPL-2.1+ and GPL-2");
        assert_eq!(doc["metadata"]["component"]["properties"][0], serde_json::json!({"name": FILES, "value": "12"}));
        assert_eq!(doc["dependencies"][0]["dependsOn"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn an_image_not_inventoried_says_why() {
        let digest = format!("sha256:{}", "01".repeat(32));
        let subject = Subject { repository: "r/x", digest: &digest, created: "2026-12-04T10:00:00Z".parse().unwrap(), tool: "imgctl" };
        let inv = Inventory { not_inventoried: Some("foreign layers (a Windows image)".into()), ..Inventory::default() };
        let doc = json(bom(&inv, &subject).unwrap()).unwrap();
        assert_eq!(doc["metadata"]["component"]["properties"][0]["value"], "foreign layers (a Windows image)");
        assert_eq!(doc["components"], serde_json::json!([]));
    }
}
