//! imgctl's OCI registry client: manifests by digest (bytes in = bytes out, always verified),
//! tags, blobs, cross-repository mounts and deletes, with auth, retries and bounded concurrency.
//!
//! [`Registry`] is the small trait rollout logic is written against; [`RegistryClient`] speaks
//! to a real registry (on `oci-client`'s references and manifest types plus raw `reqwest` for
//! the operations and guarantees it lacks), [`fake::FakeRegistry`] is an in-memory stand-in for
//! unit tests of that logic.
//!
//! # Layers
//!
//! Each module imports only from the layers below it (this file's shared types — the
//! [`Registry`] trait, [`Descriptor`], [`RawManifest`] — are used by all of them):
//!
//! 1. **Foundations**, importing only each other: `error`, `secret`, `digest`, `retry`
//!    (policy, what is transient), `credentials`, `tls` (and `fake`, the in-memory stand-in).
//! 2. **The request path**: `answer` (bounded reading of bodies and blobs, `Link` headers,
//!    error answers and transport errors as errors), then `transport`
//!    (`Transport::exchange`: permit, `Authorization` header where credentials may go,
//!    deadline, send, status mapping, retries — every request of the crate goes through it;
//!    only a blob upload retries its POST and PUT together, as one attempt each, because a
//!    session that took part of a body is spoiled).
//! 3. **Authorization**: `token` (the token exchange) and `auth` (the challenge, Basic check,
//!    token cache, the realm rule), both sending through `transport`.
//! 4. **Kinds**: `github` (GitHub's REST conventions: headers, token, rate limits, error
//!    bodies), then `kinds/*` (what differs per registry kind); they reach the client through
//!    the `kinds::KindOps` trait (HEAD, `/v2` delete, the transport for GitHub's API), never
//!    by importing it.
//! 5. **The client**: `client` (options; [`RegistryClient`] holds the transport, the auth state
//!    and its kind's rules; `request` = authorization + exchange).
//! 6. **Operations**: `ops` (manifests, deletes, the [`Registry`] impl, `KindOps`), `blobs`,
//!    `tags` (paged listing), [`referrers`] (API paged by `Link`, tag schema), and [`issues`]
//!    (GitHub's Issues API for the announcements, on its own transport built from the
//!    client's options).

use std::future::Future;
use std::path::PathBuf;

use bytes::Bytes;
use serde::Serialize;

mod answer;
mod auth;
mod blobs;
mod client;
mod credentials;
pub mod digest;
pub mod documents;
mod error;
pub mod fake;
mod github;
pub mod issues;
mod kinds;
mod ops;
pub mod referrers;
mod retry;
mod secret;
mod tags;
mod tls;
mod token;
mod transport;

pub use auth::Access;
pub use client::{ClientOptions, RegistryClient};
pub use credentials::{CredentialKind, Credentials, docker_config_credentials};
pub use error::{RegistryError, Target};
pub use imgctl_core::kind::RegistryKind;
pub use kinds::{DeleteRules, GithubApi, Inventory, TaggedDelete};
pub use oci_client::Reference;
/// `oci-client`'s manifest types (e.g. [`manifest::OciImageIndex`] for an index's platforms).
pub use oci_client::manifest;
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use tls::TlsTrust;
pub use transport::{Deadlines, RequestStats};

/// Docker image manifest v2 schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (multi-arch).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index (multi-arch).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The four manifest media types, as sent in `Accept`.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST];

/// Shorthand for results of this crate.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// What a reference resolves to: digest, media type and size of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// `sha256:…` of the manifest bytes.
    pub digest: String,
    /// The manifest's media type.
    pub media_type: String,
    /// Size of the manifest in bytes.
    pub size: u64,
}

/// A manifest exactly as stored: raw bytes, their media type and (verified) digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawManifest {
    /// The bytes, never re-serialised.
    pub bytes: Bytes,
    /// Media type (the `mediaType` field, else the response's `Content-Type`, else inferred).
    pub media_type: String,
    /// `sha256:…` of `bytes`.
    pub digest: String,
}

impl RawManifest {
    /// Wraps bytes, computing the digest and taking the media type from the JSON (or inferring it).
    pub fn from_bytes(bytes: impl Into<Bytes>) -> RawManifest {
        let bytes = bytes.into();
        let media_type = digest::media_type_of(&bytes, None);
        RawManifest { digest: digest::sha256(&bytes), media_type, bytes }
    }

    /// The descriptor of these bytes.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor { digest: self.digest.clone(), media_type: self.media_type.clone(), size: self.bytes.len() as u64 }
    }

    /// The parsed index when this is an OCI image index or a Docker manifest list (both share
    /// the shape); `Ok(None)` for a single-arch manifest; `Err` with the parse error otherwise.
    pub fn index(&self) -> Result<Option<manifest::OciImageIndex>, String> {
        if !self.is_index() {
            return Ok(None);
        }
        serde_json::from_slice(&self.bytes).map(Some).map_err(|e| format!("parse {} as an image index: {e}", self.digest))
    }

    /// True for an OCI image index or a Docker manifest list.
    pub fn is_index(&self) -> bool {
        is_index_media_type(&self.media_type)
    }
}

/// True for the media types of a multi-arch index (OCI index, Docker manifest list).
pub fn is_index_media_type(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// Where blob content comes from: re-openable, so a failed upload can be retried.
#[derive(Debug, Clone)]
pub enum BlobSource {
    /// Bytes already in memory (small blobs: configs, test layers).
    Bytes(Bytes),
    /// A file, streamed from disk, never read whole into memory.
    File(PathBuf),
}

/// What a cross-repository mount did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountOutcome {
    /// The registry mounted the blob (201).
    Mounted,
    /// The registry declined (202) and the blob was uploaded instead.
    Uploaded,
}

/// The registry operations imgctl needs. Repositories are names within the client's registry
/// (`team/image`); a reference is a tag or a `sha256:…` digest.
pub trait Registry: Send + Sync {
    /// Resolves `reference` to a descriptor with one HEAD request.
    fn resolve(&self, repo: &str, reference: &str) -> impl Future<Output = Result<Descriptor>> + Send;
    /// The manifest's raw bytes, verified against the digest (the one asked for, or the one the
    /// registry reports); a mismatch is [`RegistryError::DigestMismatch`].
    fn get_manifest(&self, repo: &str, reference: &str) -> impl Future<Output = Result<RawManifest>> + Send;
    /// PUTs exactly `manifest.bytes` under `tag`, checking the digest the registry returns.
    fn put_manifest(&self, repo: &str, tag: &str, manifest: &RawManifest) -> impl Future<Output = Result<Descriptor>> + Send;
    /// Every tag of `repo`, sorted.
    fn list_tags(&self, repo: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Whether the blob `digest` is in `repo` (HEAD).
    fn blob_exists(&self, repo: &str, digest: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Uploads a blob (streamed); `digest` is checked by the registry.
    fn push_blob(&self, repo: &str, digest: &str, source: &BlobSource) -> impl Future<Output = Result<()>> + Send;
    /// Mounts `digest` from `from_repo` into `repo`, uploading `source` when the registry declines.
    fn mount_blob(&self, repo: &str, digest: &str, from_repo: &str, source: &BlobSource) -> impl Future<Output = Result<MountOutcome>> + Send;
    /// Deletes the manifest `digest` (and with it every tag pointing at it).
    fn delete_manifest(&self, repo: &str, digest: &str) -> impl Future<Output = Result<()>> + Send;

    /// How this registry's kind deletes (order, tagged digests); distribution's rules by default.
    fn delete_rules(&self) -> DeleteRules {
        DeleteRules { via_registry: true, ..DeleteRules::default() }
    }

    /// Every digest of `repo` with its tags, when the kind lists them in one (paged)
    /// listing (GHCR's package versions); `None` when only a tag listing and HEADs tell.
    fn inventory(&self, repo: &str) -> impl Future<Output = Result<Option<Inventory>>> + Send {
        let _ = repo;
        async { Ok(None) }
    }

    /// Deletes the manifest `digest`, whose tags are `tags`, the way the kind deletes.
    fn delete_image(&self, repo: &str, digest: &str, tags: &[String]) -> impl Future<Output = Result<()>> + Send {
        let _ = tags;
        self.delete_manifest(repo, digest)
    }

    /// Streams the blob `digest` of `repo`, `size` bytes by its descriptor, into the file
    /// `into` (never whole in memory): one byte more than `size`, a digest other than
    /// `digest` or a missed deadline is an error and leaves nothing in `into`. Returns the
    /// size. Copying between registries uses it.
    fn fetch_blob(&self, repo: &str, digest: &str, size: u64, into: &std::path::Path) -> impl Future<Output = Result<u64>> + Send {
        let target = Box::new(Target { registry: String::new(), repository: repo.to_owned(), reference: Some(digest.to_owned()) });
        let _ = (into, size);
        async move { Err(RegistryError::Protocol { op: "fetch blob", target, reason: "this registry client cannot download blobs".into() }) }
    }

    /// [`Registry::fetch_blob`] into memory, for small blobs (an SBOM's document): the same
    /// checks, no file. A client with a [`documents::DocumentCache`] answers from it when it
    /// holds the blob (no request) and keeps what it downloads.
    fn fetch_blob_bytes(&self, repo: &str, digest: &str, size: u64) -> impl Future<Output = Result<Vec<u8>>> + Send {
        let target = Box::new(Target { registry: String::new(), repository: repo.to_owned(), reference: Some(digest.to_owned()) });
        let _ = size;
        async move { Err(RegistryError::Protocol { op: "fetch blob", target, reason: "this registry client cannot download blobs".into() }) }
    }

    /// PUTs an artifact manifest that has a `subject`, by its digest. True when the registry
    /// answers with `OCI-Subject` (distribution-spec 1.1: it keeps the referrers list itself);
    /// false when the client must keep the referrers tag schema ([`referrers`]).
    fn put_referrer(&self, repo: &str, manifest: &RawManifest) -> impl Future<Output = Result<bool>> + Send {
        async move { self.put_manifest(repo, &manifest.digest, manifest).await.map(|_| false) }
    }

    /// The referrers API's list for `digest` (an image index, verified bytes); `None` when the
    /// registry has no referrers API (404), so the caller reads the tag schema instead.
    fn referrers_api(&self, repo: &str, digest: &str) -> impl Future<Output = Result<Option<RawManifest>>> + Send {
        let _ = (repo, digest);
        async { Ok(None) }
    }
}

/// Points `tag` at the manifest `source` refers to, within `repo`: GET raw + PUT, 2 requests,
/// no blob moved, digest preserved. Returns the descriptor of what `tag` now points at.
pub async fn retag<R: Registry>(registry: &R, repo: &str, source: &str, tag: &str) -> Result<Descriptor> {
    let manifest = registry.get_manifest(repo, source).await?;
    registry.put_manifest(repo, tag, &manifest).await
}
