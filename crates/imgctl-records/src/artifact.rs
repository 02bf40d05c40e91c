//! OCI 1.1 artifact manifests carrying records: an image manifest with `artifactType`,
//! the empty config, one layer (the statement or its DSSE envelope, also embedded as the
//! descriptor's `data` so a reader needs no blob request) and `subject` = the digest the
//! record is about. Lifecycle marks follow dotnet/docker-tools (ImageBuilder's
//! `oras attach --artifact-type application/vnd.microsoft.artifact.lifecycle --annotation
//! vnd.microsoft.artifact.lifecycle.end-of-life.date=yyyy-MM-dd`).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::dsse::{Envelope, Verifier};
use crate::statement::{PREDICATE_TYPE, Statement};
use crate::{RecordError, sha256};

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI empty descriptor's media type (`{}`, 2 bytes).
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// The empty blob `{}`.
pub const EMPTY_BLOB: &[u8] = b"{}";
/// A DSSE envelope (a signed record's layer and artifact type).
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// A bare in-toto statement (an unsigned record's layer and artifact type).
pub const STATEMENT_MEDIA_TYPE: &str = "application/vnd.in-toto+json";
/// docker-tools' lifecycle artifact type.
pub const LIFECYCLE_ARTIFACT_TYPE: &str = "application/vnd.microsoft.artifact.lifecycle";
/// docker-tools' end-of-life annotation (a `yyyy-MM-dd` date, RFC 3339's full-date).
pub const EOL_ANNOTATION: &str = "vnd.microsoft.artifact.lifecycle.end-of-life.date";
/// The annotation naming a record's predicate type (so readers can pick imgctl's records
/// from a referrers list without reading them).
pub const PREDICATE_ANNOTATION: &str = "dev.imgctl.predicate-type";
/// OCI's creation-time annotation.
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// A content descriptor (OCI image-spec), with the 1.1 fields used here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the content.
    pub media_type: String,
    /// `sha256:…`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// The content itself, base64 (embedded small content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// The artifact type (in referrers lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations (in referrers lists: the manifest's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// The descriptor of `bytes` of `media_type`, with `data` embedded when `embed`.
    pub fn of(media_type: &str, bytes: &[u8], embed: bool) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest: sha256(bytes),
            size: bytes.len() as u64,
            data: embed.then(|| STANDARD.encode(bytes)),
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// An artifact manifest (an OCI image manifest with `artifactType` and `subject`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// 2.
    pub schema_version: u32,
    /// [`OCI_MANIFEST`].
    pub media_type: String,
    /// What kind of artifact.
    pub artifact_type: String,
    /// The empty config.
    pub config: Descriptor,
    /// The content (one layer).
    pub layers: Vec<Descriptor>,
    /// The manifest described.
    pub subject: Descriptor,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// What an artifact is, read from its type and annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactKind {
    /// An imgctl promotion record (signed or not).
    Record,
    /// A docker-tools lifecycle (end-of-life) mark.
    Lifecycle,
    /// Someone else's.
    Other,
}

/// The kind of a referrers-list entry or artifact by its artifact type and annotations.
pub fn kind_of(artifact_type: Option<&str>, annotations: &BTreeMap<String, String>) -> ArtifactKind {
    match artifact_type {
        Some(LIFECYCLE_ARTIFACT_TYPE) => ArtifactKind::Lifecycle,
        Some(DSSE_MEDIA_TYPE | STATEMENT_MEDIA_TYPE) if annotations.get(PREDICATE_ANNOTATION).map(String::as_str) == Some(PREDICATE_TYPE) => ArtifactKind::Record,
        _ => ArtifactKind::Other,
    }
}

/// The bytes of an artifact and the blobs it needs in the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The artifact manifest's bytes (PUT by digest).
    pub manifest: Vec<u8>,
    /// `sha256:` of `manifest`.
    pub digest: String,
    /// Blobs to push first: (digest, bytes).
    pub blobs: Vec<(String, Vec<u8>)>,
    /// The entry for a referrers index.
    pub entry: Descriptor,
}

pub(crate) fn build(artifact_type: &str, layer: Descriptor, layer_bytes: &[u8], subject: Descriptor, annotations: BTreeMap<String, String>) -> Built {
    let config = Descriptor::of(EMPTY_MEDIA_TYPE, EMPTY_BLOB, true);
    let mut blobs = vec![(config.digest.clone(), EMPTY_BLOB.to_vec())];
    if layer.digest != config.digest {
        blobs.push((layer.digest.clone(), layer_bytes.to_vec()));
    }
    let a = Artifact { schema_version: 2, media_type: OCI_MANIFEST.into(), artifact_type: artifact_type.into(), config, layers: vec![layer], subject, annotations };
    let manifest = serde_json::to_vec(&a).unwrap_or_default();
    let digest = sha256(&manifest);
    let entry = Descriptor { artifact_type: Some(a.artifact_type), annotations: a.annotations, ..Descriptor::of(OCI_MANIFEST, &manifest, false) };
    Built { manifest, digest, blobs, entry }
}

/// The artifact of a record: the envelope when signed, else the bare statement.
pub fn record(statement: &Statement, envelope: Option<&Envelope>, subject: Descriptor, created: DateTime<Utc>) -> Built {
    let (media_type, bytes) = match envelope {
        Some(e) => (DSSE_MEDIA_TYPE, serde_json::to_vec(e).unwrap_or_default()),
        None => (STATEMENT_MEDIA_TYPE, statement.to_bytes()),
    };
    let p = &statement.predicate;
    let annotations = BTreeMap::from([
        (CREATED_ANNOTATION.to_string(), created.to_rfc3339_opts(SecondsFormat::Secs, true)),
        (PREDICATE_ANNOTATION.to_string(), PREDICATE_TYPE.to_string()),
        ("dev.imgctl.channel".to_string(), p.channel.clone()),
        ("dev.imgctl.kind".to_string(), p.kind.clone()),
        ("dev.imgctl.variant".to_string(), p.variant.clone()),
    ]);
    let mut built = build(media_type, Descriptor::of(media_type, &bytes, true), &bytes, subject, annotations);
    // the referrers-list entry carries the artifact itself (a descriptor's `data`), so a reader
    // of a tag-schema index has the record without another request; registries that keep the
    // list themselves (referrers API) leave it out, and readers then GET it
    if built.manifest.len() <= EMBED_MAX {
        built.entry.data = Some(STANDARD.encode(&built.manifest));
    }
    built
}

/// The largest record artifact embedded in its referrers-list entry (bytes).
pub const EMBED_MAX: usize = 16 * 1024;

/// The artifact manifest a referrers-list entry embeds (its `data`), when it does and the
/// bytes are the digest it names (else None: read it by digest).
pub fn embedded(entry_digest: &str, data: Option<&str>) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(data?).ok()?;
    (sha256(&bytes) == entry_digest).then_some(bytes)
}

/// docker-tools' lifecycle mark: end of life on `date`.
pub fn lifecycle(subject: Descriptor, date: NaiveDate, created: DateTime<Utc>) -> Built {
    let annotations = BTreeMap::from([
        (CREATED_ANNOTATION.to_string(), created.to_rfc3339_opts(SecondsFormat::Secs, true)),
        (EOL_ANNOTATION.to_string(), date.format("%Y-%m-%d").to_string()),
    ]);
    // like `oras attach` without files: the empty descriptor as the one layer
    build(LIFECYCLE_ARTIFACT_TYPE, Descriptor::of(EMPTY_MEDIA_TYPE, EMPTY_BLOB, false), EMPTY_BLOB, subject, annotations)
}

/// A record read back from its artifact manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The artifact manifest's digest.
    pub digest: String,
    /// The subject's digest, as the manifest says.
    pub subject: String,
    /// The statement.
    pub statement: Statement,
    /// The envelope when signed.
    pub envelope: Option<Envelope>,
}

impl Artifact {
    /// Parses artifact manifest bytes.
    pub fn parse(bytes: &[u8]) -> Result<Artifact, RecordError> {
        serde_json::from_slice(bytes).map_err(|e| RecordError::Parse { digest: sha256(bytes), reason: format!("not an artifact manifest: {e}") })
    }

    /// The end-of-life date of a lifecycle mark.
    pub fn end_of_life(&self) -> Option<NaiveDate> {
        if self.artifact_type != LIFECYCLE_ARTIFACT_TYPE {
            return None;
        }
        self.annotations.get(EOL_ANNOTATION).and_then(|d| NaiveDate::parse_from_str(d.get(..10).unwrap_or(d), "%Y-%m-%d").ok())
    }
}

/// Reads the record in artifact manifest `bytes` (embedded layer data, checked against the
/// layer's digest). Does not check a signature: see [`verify`].
pub fn read_record(bytes: &[u8]) -> Result<Record, RecordError> {
    let digest = sha256(bytes);
    let bad = |reason: String| RecordError::Parse { digest: digest.clone(), reason };
    let a = Artifact::parse(bytes)?;
    let layer = a.layers.first().ok_or_else(|| bad("it has no layer".into()))?;
    let data = layer.data.as_deref().ok_or_else(|| bad("its layer carries no embedded data".into()))?;
    let content = STANDARD.decode(data).map_err(|e| bad(format!("its layer data is not base64: {e}")))?;
    if sha256(&content) != layer.digest {
        return Err(bad(format!("its layer data does not match the layer digest {}", layer.digest)));
    }
    let (statement, envelope) = if layer.media_type == DSSE_MEDIA_TYPE {
        let env: Envelope = serde_json::from_slice(&content).map_err(|e| bad(format!("its layer is not a DSSE envelope: {e}")))?;
        let payload = env.payload_bytes().map_err(&bad)?;
        (serde_json::from_slice(&payload).map_err(|e| bad(format!("its payload is not an in-toto statement: {e}")))?, Some(env))
    } else {
        (serde_json::from_slice(&content).map_err(|e| bad(format!("its layer is not an in-toto statement: {e}")))?, None)
    };
    Ok(Record { digest, subject: a.subject.digest, statement, envelope })
}

/// Verifies a record against the digest it was found under and the public key: the
/// manifest's subject, the statement's subject and the signature must all agree.
pub fn verify(record: &Record, subject: &str, key: &Verifier) -> Result<(), RecordError> {
    let bad = |reason: String| RecordError::Verify { digest: record.digest.clone(), reason };
    if record.subject != subject {
        return Err(bad(format!("its manifest's subject is {}, not {subject}", record.subject)));
    }
    if record.statement.subject_digest().as_deref() != Some(subject) || record.statement.predicate.to != subject {
        return Err(bad(format!("its statement is about {}, not {subject}", record.statement.subject_digest().unwrap_or_default())));
    }
    let env = record.envelope.as_ref().ok_or_else(|| bad("it is not signed (records.sign is off, or no key was given)".into()))?;
    // the statement was read from this payload, so a good signature covers what was read
    key.verify(env).map(|_| ()).map_err(bad)
}

#[cfg(test)]
#[path = "artifact_tests.rs"]
mod tests;
