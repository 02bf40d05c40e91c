//! Digests of bytes and the media type of a manifest's bytes.

use sha2::{Digest, Sha256};

use crate::{MANIFEST_MEDIA_TYPES, OCI_INDEX, OCI_MANIFEST};

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// True for a well-formed `sha256:<64 hex>` digest.
pub fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
}

/// The media type of manifest `bytes`: its `mediaType` field; else `content_type` when it is a
/// manifest type; else inferred (`manifests` → OCI index, `layers` → OCI manifest).
pub fn media_type_of(bytes: &[u8], content_type: Option<&str>) -> String {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
        layers: Option<serde_json::Value>,
    }
    let probe: Option<Probe> = serde_json::from_slice(bytes).ok();
    if let Some(mt) = probe.as_ref().and_then(|p| p.media_type.clone()).filter(|m| !m.is_empty()) {
        return mt;
    }
    let ct = content_type.map(|c| c.split(';').next().unwrap_or("").trim());
    if let Some(ct) = ct.filter(|c| MANIFEST_MEDIA_TYPES.contains(c)) {
        return ct.to_owned();
    }
    match probe {
        Some(p) if p.manifests.is_some() => OCI_INDEX.to_owned(),
        Some(p) if p.layers.is_some() => OCI_MANIFEST.to_owned(),
        _ => ct.filter(|c| !c.is_empty()).unwrap_or(OCI_MANIFEST).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty() {
        assert_eq!(sha256(b""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert!(is_digest(&sha256(b"x")));
        assert!(!is_digest("sha256:abc"));
        assert!(!is_digest("latest"));
    }

    #[test]
    fn media_type_field_wins_then_content_type_then_shape() {
        assert_eq!(media_type_of(br#"{"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}"#, Some(OCI_MANIFEST)), crate::DOCKER_MANIFEST);
        assert_eq!(media_type_of(br#"{"schemaVersion":2,"manifests":[]}"#, Some(OCI_INDEX)), OCI_INDEX);
        assert_eq!(media_type_of(br#"{"schemaVersion":2,"manifests":[]}"#, None), OCI_INDEX);
        assert_eq!(media_type_of(br#"{"schemaVersion":2,"layers":[]}"#, Some("application/json")), OCI_MANIFEST);
    }
}
