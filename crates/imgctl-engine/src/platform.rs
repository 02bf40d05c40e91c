//! publish's platform guard (SPEC §9): an image whose config OS/architecture (or, for an
//! index, whose platform list) does not match the variant's platforms is refused before
//! any blob or manifest is pushed. The variant's platforms are its `platforms`, else its
//! OS's (`AMD64` → `linux/amd64`, `ARM32` → `linux/arm/v7`, Windows → `windows/…`).

use std::fmt;

use imgctl_core::fleet::Variant;
use imgctl_registry::{BlobSource, RawManifest, Registry};
use serde::Deserialize;

use crate::publish::Refs;
use crate::{Ctx, EngineError};

/// Largest image config read (a real one is a few KiB).
const MAX_CONFIG: u64 = 4 << 20;

/// `os/architecture[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Platform {
    /// `linux`, `windows`.
    #[serde(default)]
    pub os: String,
    /// `amd64`, `arm64`, `arm`.
    #[serde(default)]
    pub architecture: String,
    /// `v7`, `v8`, when given.
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    /// Reads `linux/arm/v7`.
    pub fn parse(s: &str) -> Platform {
        let mut parts = s.trim().splitn(3, '/');
        let os = parts.next().unwrap_or_default().to_ascii_lowercase();
        let architecture = parts.next().unwrap_or_default().to_ascii_lowercase();
        Platform { os, architecture, variant: parts.next().filter(|v| !v.trim().is_empty()).map(str::to_ascii_lowercase) }
    }

    /// True when `self` (found) is the `wanted` platform: same OS and architecture, and the
    /// same CPU variant when both name one.
    pub fn satisfies(&self, wanted: &Platform) -> bool {
        self.os == wanted.os && self.architecture == wanted.architecture && (self.variant.is_none() || wanted.variant.is_none() || self.variant == wanted.variant)
    }

    /// An attestation or other non-image entry of an index (`unknown/unknown`).
    fn is_unknown(&self) -> bool {
        self.os == "unknown" || self.os.is_empty()
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let os = if self.os.is_empty() { "?" } else { &self.os };
        let arch = if self.architecture.is_empty() { "?" } else { &self.architecture };
        write!(f, "{os}/{arch}")?;
        match &self.variant {
            Some(v) => write!(f, "/{v}"),
            None => Ok(()),
        }
    }
}

/// The entry of index `idx` for `want` (its OS and architecture, and CPU variant when both
/// name one).
pub fn child<'a>(idx: &'a imgctl_registry::manifest::OciImageIndex, want: &Platform) -> Option<&'a imgctl_registry::manifest::ImageIndexEntry> {
    let of = |p: &imgctl_registry::manifest::Platform| Platform::parse(&format!("{}/{}/{}", p.os, p.architecture, p.variant.as_deref().unwrap_or_default()));
    idx.manifests.iter().find(|e| e.platform.as_ref().is_some_and(|p| of(p).satisfies(want)))
}

/// The platforms `v` is built for.
pub fn expected(v: &Variant) -> Vec<Platform> {
    imgctl_core::plan::platform(v).split(',').filter(|s| !s.trim().is_empty()).map(Platform::parse).collect()
}

/// Why the image does not fit `v` (expected vs found), or `None` when it does. Pure.
pub fn mismatch(v: &Variant, found: &Found) -> Option<String> {
    let wanted = expected(v);
    let list = |ps: &[Platform]| ps.iter().map(Platform::to_string).collect::<Vec<_>>().join(", ");
    match found {
        Found::Image(p) if !wanted.iter().any(|w| p.satisfies(w)) => Some(format!(
            "image platform {p} does not match variant {} ({}: expected {}); nothing was pushed",
            v.name,
            v.os.id,
            list(&wanted)
        )),
        Found::Index(ps) => {
            let images: Vec<Platform> = ps.iter().filter(|p| !p.is_unknown()).cloned().collect();
            let missing: Vec<Platform> = wanted.iter().filter(|w| !images.iter().any(|p| p.satisfies(w))).cloned().collect();
            (!missing.is_empty()).then(|| {
                format!(
                    "image index platforms [{}] lack {} of variant {} ({}: expected {}); nothing was pushed",
                    list(&images),
                    list(&missing),
                    v.name,
                    v.os.id,
                    list(&wanted)
                )
            })
        }
        Found::Image(_) => None,
    }
}

/// What the image says it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// An image manifest: its config's `os`/`architecture`/`variant`.
    Image(Platform),
    /// An index: the platform of each entry.
    Index(Vec<Platform>),
}

#[derive(Deserialize)]
struct IndexPlatforms {
    #[serde(default)]
    manifests: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    platform: Option<Platform>,
}

/// Reads what `top` runs on: an index's platform list, else its config blob — from the
/// layout's file (`blobs`), or fetched from `repo` (a reference source).
pub async fn found<R: Registry>(ctx: &Ctx<'_, R>, top: &RawManifest, blobs: &[(String, u64, BlobSource)], repo: Option<&str>) -> Result<Found, EngineError> {
    let bad = |why: String| EngineError::Input(format!("read the platform of {}: {why}", top.digest));
    if top.is_index() {
        let idx: IndexPlatforms = serde_json::from_slice(&top.bytes).map_err(|e| bad(e.to_string()))?;
        let unknown = || Platform { os: String::new(), architecture: String::new(), variant: None };
        return Ok(Found::Index(idx.manifests.into_iter().map(|e| e.platform.unwrap_or_else(unknown)).collect()));
    }
    let refs: Refs = serde_json::from_slice(&top.bytes).map_err(|e| bad(e.to_string()))?;
    let config = refs.config.ok_or_else(|| bad("the manifest has no config".into()))?;
    if config.size > MAX_CONFIG {
        return Err(bad(format!("its config is {} bytes (more than {MAX_CONFIG})", config.size)));
    }
    let local = blobs.iter().find_map(|(d, _, s)| match s {
        BlobSource::File(p) if *d == config.digest => Some(p.clone()),
        _ => None,
    });
    let bytes = match (local, repo) {
        (Some(path), _) => std::fs::read(&path).map_err(|e| bad(format!("read '{}': {e}", path.display())))?,
        (None, Some(repo)) => {
            let tmp = tempfile::NamedTempFile::new().map_err(|e| bad(format!("make a temporary file: {e}")))?;
            ctx.registry.fetch_blob(repo, &config.digest, config.size, tmp.path()).await?;
            std::fs::read(tmp.path()).map_err(|e| bad(format!("read the fetched config: {e}")))?
        }
        (None, None) => return Err(bad(format!("its config {} is not in the layout", config.digest))),
    };
    let p: Platform = serde_json::from_slice(&bytes).map_err(|e| bad(format!("its config {}: {e}", config.digest)))?;
    Ok(Found::Image(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(arch: &str, family: &str, platforms: &[&str]) -> Variant {
        let os = imgctl_core::OsDefinition {
            id: format!("{family}-X-1-{arch}"),
            family: family.into(),
            distro: "X".into(),
            slug: "x".into(),
            version: "1".into(),
            codename: None,
            arch: arch.into(),
            rid: None,
            eol: None,
        };
        let spec: imgctl_core::manifest::VariantSpec = serde_json::from_value(serde_json::json!({ "os": os.id, "context": "c", "platforms": platforms })).unwrap();
        Variant { name: "x-1-v".into(), index: 0, os, spec, context: "c".into(), dockerfile: "c/Dockerfile".into() }
    }

    fn p(s: &str) -> Platform {
        Platform::parse(s)
    }

    #[test]
    fn the_os_arch_decides_the_expected_platform() {
        assert_eq!(expected(&variant("AMD64", "Linux", &[])), vec![p("linux/amd64")]);
        assert_eq!(expected(&variant("ARM64", "Linux", &[])), vec![p("linux/arm64")]);
        assert_eq!(expected(&variant("ARM32", "Linux", &[])), vec![p("linux/arm/v7")]);
        assert_eq!(expected(&variant("AMD64", "Windows", &[])), vec![p("windows/amd64")]);
        assert_eq!(expected(&variant("AMD64", "Linux", &["linux/amd64", "linux/arm64"])).len(), 2);
    }

    #[test]
    fn a_wrong_image_is_refused_saying_expected_and_found() {
        let amd = variant("AMD64", "Linux", &[]);
        assert_eq!(mismatch(&amd, &Found::Image(p("linux/amd64"))), None);
        assert_eq!(
            mismatch(&amd, &Found::Image(p("linux/arm64"))).unwrap(),
            "image platform linux/arm64 does not match variant x-1-v (Linux-X-1-AMD64: expected linux/amd64); nothing was pushed"
        );
        assert!(mismatch(&amd, &Found::Image(p("windows/amd64"))).is_some(), "the OS counts too");
        let arm32 = variant("ARM32", "Linux", &[]);
        assert_eq!(mismatch(&arm32, &Found::Image(p("linux/arm"))), None, "a config without a CPU variant");
        assert_eq!(mismatch(&arm32, &Found::Image(p("linux/arm/v7"))), None);
        assert!(mismatch(&arm32, &Found::Image(p("linux/arm/v6"))).is_some());
        // an index must hold every platform the variant needs; attestations do not count
        let multi = variant("AMD64", "Linux", &["linux/amd64", "linux/arm64"]);
        assert_eq!(mismatch(&multi, &Found::Index(vec![p("linux/amd64"), p("linux/arm64/v8"), p("unknown/unknown")])), None);
        assert_eq!(
            mismatch(&multi, &Found::Index(vec![p("linux/arm64"), p("unknown/unknown")])).unwrap(),
            "image index platforms [linux/arm64] lack linux/amd64 of variant x-1-v (Linux-X-1-AMD64: expected linux/amd64, linux/arm64); nothing was pushed"
        );
        assert_eq!(mismatch(&amd, &Found::Index(vec![p("linux/amd64"), p("linux/arm64")])), None, "an index may carry more");
    }

    #[test]
    fn an_index_child_is_found_by_the_variants_platform_with_its_cpu_variant() {
        let idx: imgctl_registry::manifest::OciImageIndex = serde_json::from_value(serde_json::json!({
            "schemaVersion": 2,
            "manifests": [
                { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:aa", "size": 1, "platform": { "os": "linux", "architecture": "amd64" } },
                { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:bb", "size": 1, "platform": { "os": "linux", "architecture": "arm", "variant": "v7" } },
                { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:cc", "size": 1, "platform": { "os": "linux", "architecture": "arm64" } }
            ]
        }))
        .unwrap();
        // no `platforms:`: the OS's (ARM32 -> linux/arm/v7), not the index's first entry
        let arm = expected(&variant("ARM32", "Linux", &[])).remove(0);
        assert_eq!(child(&idx, &arm).map(|e| e.digest.as_str()), Some("sha256:bb"));
        assert_eq!(child(&idx, &Platform::parse("linux/arm64")).map(|e| e.digest.as_str()), Some("sha256:cc"));
        assert_eq!(child(&idx, &Platform::parse("linux/arm/v6")).map(|e| e.digest.as_str()), None, "another CPU variant");
        assert!(child(&idx, &Platform::parse("windows/amd64")).is_none());
    }
}
