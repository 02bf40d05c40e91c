//! SBOM attestations: an in-toto v1 Statement whose predicate is an SPDX document
//! (predicate type `https://spdx.dev/Document`) about one image manifest, signed into a DSSE
//! envelope when there is a key, carried by an OCI artifact manifest whose `subject` is that
//! image. Unlike promotion records the content is a blob of its own (SBOMs run to hundreds of
//! KiB), not embedded in the manifest.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::artifact::{self, Built, CREATED_ANNOTATION, DSSE_MEDIA_TYPE, Descriptor, PREDICATE_ANNOTATION, STATEMENT_MEDIA_TYPE};
use crate::dsse::Envelope;
use crate::statement::{STATEMENT_TYPE, Subject};
use crate::{RecordError, sha256};

/// SPDX's in-toto predicate type.
pub const SPDX_PREDICATE_TYPE: &str = "https://spdx.dev/Document";
/// Annotations of the artifact that summarise the inventory (read without the blob).
pub const PACKAGES_ANNOTATION: &str = "dev.imgctl.inventory.packages";
/// The OS (`ID VERSION_ID`), when known.
pub const OS_ANNOTATION: &str = "dev.imgctl.inventory.os";
/// The document blob's digest (the artifact's one layer): copied into the referrers list, it
/// lets a reader GET the document straight away (one request instead of manifest + blob).
pub const DOCUMENT_ANNOTATION: &str = "dev.imgctl.document.digest";
/// The document blob's size in bytes (a download stops there).
pub const DOCUMENT_SIZE_ANNOTATION: &str = "dev.imgctl.document.size";

/// An in-toto v1 Statement with any predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attestation {
    /// [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// The image.
    pub subject: Vec<Subject>,
    /// [`SPDX_PREDICATE_TYPE`].
    pub predicate_type: String,
    /// The SPDX document.
    pub predicate: serde_json::Value,
}

impl Attestation {
    /// The statement that `document` describes `digest` in `repository`.
    pub fn spdx(repository: &str, digest: &str, document: serde_json::Value) -> Attestation {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest).to_string();
        Attestation {
            type_: STATEMENT_TYPE.into(),
            subject: vec![Subject { name: repository.to_string(), digest: [("sha256".to_string(), hex)].into() }],
            predicate_type: SPDX_PREDICATE_TYPE.into(),
            predicate: document,
        }
    }

    /// The bytes stored (compact JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Whether a referrers-list entry (or an artifact's annotations) is an SBOM attestation.
pub fn is_sbom(annotations: &BTreeMap<String, String>) -> bool {
    annotations.get(PREDICATE_ANNOTATION).map(String::as_str) == Some(SPDX_PREDICATE_TYPE)
}

/// The artifact of an SBOM attestation: the envelope when signed, else the bare statement;
/// `summary` adds annotations (package count, OS) for readers of the referrers list.
pub fn artifact(statement: &Attestation, envelope: Option<&Envelope>, subject: Descriptor, created: DateTime<Utc>, summary: BTreeMap<String, String>) -> Built {
    let (media_type, bytes) = match envelope {
        Some(e) => (DSSE_MEDIA_TYPE, serde_json::to_vec(e).unwrap_or_default()),
        None => (STATEMENT_MEDIA_TYPE, statement.to_bytes()),
    };
    let layer = Descriptor::of(media_type, &bytes, false);
    let mut annotations = summary;
    annotations.insert(CREATED_ANNOTATION.into(), created.to_rfc3339_opts(SecondsFormat::Secs, true));
    annotations.insert(PREDICATE_ANNOTATION.into(), SPDX_PREDICATE_TYPE.into());
    annotations.insert(DOCUMENT_ANNOTATION.into(), layer.digest.clone());
    annotations.insert(DOCUMENT_SIZE_ANNOTATION.into(), layer.size.to_string());
    artifact::build(media_type, layer, &bytes, subject, annotations)
}

/// The document blob an SBOM's referrers-list entry names — its media type (the entry's
/// artifact type), digest and size — when it names one (artifacts written before imgctl
/// annotated them do not: read their manifest).
pub fn document_of(artifact_type: Option<&str>, annotations: &BTreeMap<String, String>) -> Option<Descriptor> {
    let media_type = artifact_type.filter(|t| *t == DSSE_MEDIA_TYPE || *t == STATEMENT_MEDIA_TYPE)?;
    let digest = annotations.get(DOCUMENT_ANNOTATION).filter(|d| d.len() == 71 && d.starts_with("sha256:"))?;
    let size = annotations.get(DOCUMENT_SIZE_ANNOTATION)?.parse().ok()?;
    Some(Descriptor { digest: digest.clone(), size, ..Descriptor::of(media_type, b"", false) })
}

/// Reads an SBOM artifact's layer (`media_type`, `bytes`): the statement, and the envelope
/// when signed. Checks the statement is about `subject`; does not check a signature.
pub fn read(media_type: &str, bytes: &[u8], subject: &str) -> Result<(Attestation, Option<Envelope>), RecordError> {
    let bad = |reason: String| RecordError::Parse { digest: sha256(bytes), reason };
    let (statement, envelope): (Attestation, _) = if media_type == DSSE_MEDIA_TYPE {
        let env: Envelope = serde_json::from_slice(bytes).map_err(|e| bad(format!("not a DSSE envelope: {e}")))?;
        let payload = env.payload_bytes().map_err(&bad)?;
        (serde_json::from_slice(&payload).map_err(|e| bad(format!("its payload is not an in-toto statement: {e}")))?, Some(env))
    } else {
        (serde_json::from_slice(bytes).map_err(|e| bad(format!("not an in-toto statement: {e}")))?, None)
    };
    let about = statement.subject.first().and_then(|s| s.digest.get("sha256")).map(|h| format!("sha256:{h}"));
    if statement.predicate_type != SPDX_PREDICATE_TYPE || about.as_deref() != Some(subject) {
        return Err(bad(format!("it is a {} statement about {}, not an SBOM of {subject}", statement.predicate_type, about.unwrap_or_default())));
    }
    Ok((statement, envelope))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::Artifact;

    #[test]
    fn an_sbom_artifact_points_at_its_image_and_reads_back() {
        let digest = format!("sha256:{}", "c".repeat(64));
        let s = Attestation::spdx("localhost/team/images", &digest, serde_json::json!({"spdxVersion": "SPDX-2.3"}));
        let subject = Descriptor { digest: digest.clone(), size: 10, ..Descriptor::of("application/vnd.oci.image.manifest.v1+json", b"", false) };
        let summary = BTreeMap::from([(PACKAGES_ANNOTATION.to_string(), "3".to_string())]);
        let built = artifact(&s, None, subject.clone(), "2026-12-04T10:00:00Z".parse().unwrap(), summary);
        let a = Artifact::parse(&built.manifest).unwrap();
        assert_eq!(a.subject.digest, digest);
        assert!(is_sbom(&a.annotations) && is_sbom(&built.entry.annotations));
        assert_eq!(a.annotations[PACKAGES_ANNOTATION], "3");
        assert!(a.layers[0].data.is_none(), "the document is a blob of its own");
        // the list entry names the document blob: a reader GETs it without the manifest
        let named = document_of(built.entry.artifact_type.as_deref(), &built.entry.annotations).unwrap();
        assert_eq!((named.digest.as_str(), named.size, named.media_type.as_str()), (a.layers[0].digest.as_str(), a.layers[0].size, STATEMENT_MEDIA_TYPE));
        let mut old = built.entry.annotations.clone();
        old.remove(DOCUMENT_ANNOTATION);
        assert!(document_of(built.entry.artifact_type.as_deref(), &old).is_none(), "an older artifact: read its manifest");
        let (layer_digest, bytes) = &built.blobs[1];
        assert_eq!(*layer_digest, a.layers[0].digest);
        let (back, env) = read(&a.layers[0].media_type, bytes, &digest).unwrap();
        assert_eq!((back, env), (s.clone(), None));
        assert!(read(&a.layers[0].media_type, bytes, &format!("sha256:{}", "d".repeat(64))).is_err());
        // signed: the envelope's payload is the statement
        let (private, _) = crate::dsse::tests::test_keys(3);
        let signer = crate::Signer::from_pem(&private).unwrap();
        let env = signer.sign(&s.to_bytes());
        let built = artifact(&s, Some(&env), subject, "2026-12-04T10:00:00Z".parse().unwrap(), BTreeMap::new());
        let (back, env2) = read(DSSE_MEDIA_TYPE, &built.blobs[1].1, &digest).unwrap();
        let named = document_of(built.entry.artifact_type.as_deref(), &built.entry.annotations).unwrap();
        assert_eq!((named.digest.as_str(), named.media_type.as_str()), (built.blobs[1].0.as_str(), DSSE_MEDIA_TYPE));
        assert_eq!(back, s);
        assert_eq!(env2, Some(env));
    }
}
