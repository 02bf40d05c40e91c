//! [`Registry`] for [`RegistryClient`]: manifests, tags, deletes (blobs in `blobs.rs`), each
//! one [`RegistryClient::request`] on the one request path; and [`KindOps`], what a kind's
//! rules may ask of the client.

use futures_util::future::BoxFuture;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, RequestBuilder};

use crate::answer::{MAX_MANIFEST_BYTES, error_for, error_parts, read_limited};
use crate::auth::Access;
use crate::client::RegistryClient;
use crate::digest::{is_digest, media_type_of, sha256};
use crate::error::{RegistryError, Target};
use crate::kinds::{DeleteRules, Inventory, KindOps};
use crate::retry::Failure;
use crate::transport::{Call, Transport};
use crate::{BlobSource, Descriptor, MANIFEST_MEDIA_TYPES, MountOutcome, RawManifest, Registry, Result};

const DIGEST_HEADER: &str = "docker-content-digest";
/// distribution-spec 1.1: a registry that indexes referrers answers a manifest PUT with it.
const SUBJECT_HEADER: &str = "oci-subject";

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn accept() -> String {
    MANIFEST_MEDIA_TYPES.join(", ")
}

fn check_reference(repo: &str, reference: &str) -> Result<()> {
    let bad = |reason: &str| Err(RegistryError::InvalidReference { reference: format!("{repo}:{reference}"), reason: reason.into() });
    if repo.is_empty() || repo.contains("..") || repo.starts_with('/') {
        return bad("repository name is empty or malformed");
    }
    if reference.is_empty() || reference.contains('/') || reference.contains('?') || reference.contains('#') {
        return bad("tag or digest is empty or contains '/', '?' or '#'");
    }
    Ok(())
}

impl RegistryClient {
    /// PUT of a manifest; also says whether the answer carried `OCI-Subject`.
    async fn put_manifest_with_subject(&self, repo: &str, tag: &str, manifest: &RawManifest) -> Result<(Descriptor, bool)> {
        check_reference(repo, tag)?;
        let (op, target) = ("put manifest", self.target(repo, Some(tag)));
        let url = self.url(&format!("{repo}/manifests/{tag}"))?;
        let expected = sha256(&manifest.bytes);
        let build = |r: RequestBuilder| Ok(r.header(CONTENT_TYPE, manifest.media_type.as_str()).body(manifest.bytes.clone()));
        let refuse = |status: u16, _: &HeaderMap, body: &[u8]| {
            // we hashed these very bytes: for a manifest whose every descriptor names a
            // well-formed digest, a DIGEST_INVALID answer is the registry's own race
            // (distribution's filesystem driver while other writers store the same manifest
            // blob at once), so it is retried like a 5xx; a malformed descriptor's is final
            if status == 400 && error_parts(body).is_some_and(|(code, _)| code == "DIGEST_INVALID") && descriptors_well_formed(&manifest.bytes) {
                return Failure::Transient { reason: format!("HTTP 400 DIGEST_INVALID for bytes whose digest is {expected} (a concurrent write of the same content)"), retry_after: None };
            }
            Failure::Fatal(self.put_refusal(op, &target, status, body))
        };
        let call = Call { build: &build, refuse: Some(&refuse), ..Call::new(op, &target, Method::PUT, url) };
        let (returned, subject) = self
            .request(call, &[(repo, Access::Push)], |resp| async move {
                Ok((header(resp.headers(), DIGEST_HEADER).map(str::to_owned), header(resp.headers(), SUBJECT_HEADER).is_some()))
            })
            .await?;
        match returned {
            Some(d) if d != expected => return Err(RegistryError::DigestMismatch { op, target: Box::new(target), expected, actual: d }),
            Some(_) => {}
            None => tracing::warn!("{op} {target}: the registry returned no Docker-Content-Digest to check"),
        }
        Ok((Descriptor { digest: expected, media_type: manifest.media_type.clone(), size: manifest.bytes.len() as u64 }, subject))
    }

    /// HEAD of a manifest: its descriptor, or `None` when the registry gave no digest or size.
    async fn head_manifest(&self, repo: &str, reference: &str) -> Result<Option<Descriptor>> {
        let (op, target) = ("resolve", self.target(repo, Some(reference)));
        let url = self.url(&format!("{repo}/manifests/{reference}"))?;
        let build = |r: RequestBuilder| Ok(r.header(ACCEPT, accept()));
        let call = Call { build: &build, ..Call::new(op, &target, Method::HEAD, url) };
        self.request(call, &[(repo, Access::Pull)], |resp| async move {
            let h = resp.headers();
            let (Some(digest), Some(size)) = (header(h, DIGEST_HEADER), header(h, CONTENT_LENGTH.as_str()).and_then(|s| s.parse().ok())) else {
                return Ok(None);
            };
            let media_type = header(h, CONTENT_TYPE.as_str()).unwrap_or(crate::OCI_MANIFEST).to_owned();
            Ok(Some(Descriptor { digest: digest.to_owned(), media_type, size }))
        })
        .await
    }
}

impl Registry for RegistryClient {
    async fn resolve(&self, repo: &str, reference: &str) -> Result<Descriptor> {
        check_reference(repo, reference)?;
        let d = match self.head_manifest(repo, reference).await? {
            Some(d) => d,
            // The registry gave no digest or size: read the bytes and compute them.
            None => return Ok(self.get_manifest(repo, reference).await?.descriptor()),
        };
        if is_digest(reference) && d.digest != reference {
            return Err(RegistryError::DigestMismatch { op: "resolve", target: Box::new(self.target(repo, Some(reference))), expected: reference.to_owned(), actual: d.digest });
        }
        Ok(d)
    }

    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<RawManifest> {
        check_reference(repo, reference)?;
        let (op, target) = ("get manifest", self.target(repo, Some(reference)));
        let url = self.url(&format!("{repo}/manifests/{reference}"))?;
        let build = |r: RequestBuilder| Ok(r.header(ACCEPT, accept()));
        let call = Call { build: &build, ..Call::new(op, &target, Method::GET, url) };
        let target = &target;
        self.request(call, &[(repo, Access::Pull)], |resp| async move {
            let announced = header(resp.headers(), DIGEST_HEADER).map(str::to_owned);
            let content_type = header(resp.headers(), CONTENT_TYPE.as_str()).map(str::to_owned);
            let bytes = read_limited(op, target, resp, MAX_MANIFEST_BYTES).await?;
            let actual = sha256(&bytes);
            let expected = if is_digest(reference) { Some(reference.to_owned()) } else { announced };
            if let Some(expected) = expected
                && expected != actual
            {
                return Err(Failure::Fatal(RegistryError::DigestMismatch { op, target: Box::new(target.clone()), expected, actual }));
            }
            let media_type = media_type_of(&bytes, content_type.as_deref());
            Ok(RawManifest { bytes, media_type, digest: actual })
        })
        .await
    }

    async fn put_manifest(&self, repo: &str, tag: &str, manifest: &RawManifest) -> Result<Descriptor> {
        self.put_manifest_with_subject(repo, tag, manifest).await.map(|(d, _)| d)
    }

    async fn put_referrer(&self, repo: &str, manifest: &RawManifest) -> Result<bool> {
        self.put_manifest_with_subject(repo, &manifest.digest, manifest).await.map(|(_, s)| s)
    }

    async fn referrers_api(&self, repo: &str, digest: &str) -> Result<Option<RawManifest>> {
        check_reference(repo, digest)?;
        self.get_referrers(repo, digest).await
    }

    async fn list_tags(&self, repo: &str) -> Result<Vec<String>> {
        check_reference(repo, "tags")?;
        crate::tags::list_all(self, repo).await
    }

    async fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool> {
        check_reference(repo, digest)?;
        self.head_blob(repo, digest).await
    }

    async fn push_blob(&self, repo: &str, digest: &str, source: &BlobSource) -> Result<()> {
        check_reference(repo, digest)?;
        let url = self.url(&format!("{repo}/blobs/uploads/"))?;
        self.upload("push blob", repo, digest, url, &[(repo, Access::Push)], source).await.map(|_| ())
    }

    async fn mount_blob(&self, repo: &str, digest: &str, from_repo: &str, source: &BlobSource) -> Result<MountOutcome> {
        check_reference(repo, digest)?;
        check_reference(from_repo, digest)?;
        let mut url = self.url(&format!("{repo}/blobs/uploads/"))?;
        url.query_pairs_mut().append_pair("mount", digest).append_pair("from", from_repo);
        self.upload("mount blob", repo, digest, url, &[(repo, Access::Push), (from_repo, Access::Pull)], source).await
    }

    async fn fetch_blob(&self, repo: &str, digest: &str, size: u64, into: &std::path::Path) -> Result<u64> {
        check_reference(repo, digest)?;
        self.download(repo, digest, size, into).await
    }

    async fn fetch_blob_bytes(&self, repo: &str, digest: &str, size: u64) -> Result<Vec<u8>> {
        check_reference(repo, digest)?;
        let cache = self.inner.documents.as_deref();
        if let Some(hit) = cache.and_then(|c| c.get(digest, size)) {
            return Ok(hit);
        }
        let bytes = self.download_bytes(repo, digest, size).await?;
        if let Some(c) = cache {
            c.put(digest, &bytes);
        }
        Ok(bytes)
    }

    async fn delete_manifest(&self, repo: &str, digest: &str) -> Result<()> {
        self.delete_image(repo, digest, &[]).await
    }

    fn delete_rules(&self) -> DeleteRules {
        self.inner.rules.delete_rules()
    }

    async fn inventory(&self, repo: &str) -> Result<Option<Inventory>> {
        check_reference(repo, "tags")?;
        self.inner.rules.inventory(self, repo).await
    }

    async fn delete_image(&self, repo: &str, digest: &str, tags: &[String]) -> Result<()> {
        check_reference(repo, digest)?;
        if !is_digest(digest) {
            return Err(RegistryError::InvalidReference { reference: format!("{repo}:{digest}"), reason: "manifests are deleted by digest (sha256:…), not by tag".into() });
        }
        self.inner.rules.delete(self, repo, digest, tags).await
    }
}

impl RegistryClient {
    /// `DELETE /v2/<repo>/manifests/<reference>`: a digest (every kind that deletes through
    /// the registry) or, where the kind allows it (GAR), a tag.
    pub(crate) async fn delete_v2(&self, repo: &str, reference: &str) -> Result<()> {
        check_reference(repo, reference)?;
        let (op, target) = (if is_digest(reference) { "delete manifest" } else { "delete tag" }, self.target(repo, Some(reference)));
        let url = self.url(&format!("{repo}/manifests/{reference}"))?;
        self.request(Call::new(op, &target, Method::DELETE, url), &[(repo, Access::Delete)], |_| async { Ok(()) }).await
    }

    /// The error for a refused manifest PUT: the kind's immutable-tag refusal, or the usual one.
    fn put_refusal(&self, op: &'static str, target: &Target, status: u16, body: &[u8]) -> RegistryError {
        let (code, message) = error_parts(body).unwrap_or_default();
        if (400..500).contains(&status) && self.inner.rules.is_immutable_refusal(status, &code, &message) {
            let message = if code.is_empty() { message } else { format!("{code}: {message}") };
            return RegistryError::ImmutableTag { op, target: Box::new(target.clone()), status, message };
        }
        error_for(op, target, status, body)
    }
}

/// What a kind's rules may ask of the client (kinds sit below the client: they get it as this).
impl KindOps for RegistryClient {
    fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    fn target(&self, repo: &str, reference: Option<&str>) -> Target {
        RegistryClient::target(self, repo, reference)
    }

    fn resolve<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFuture<'a, Result<Descriptor>> {
        Box::pin(Registry::resolve(self, repo, reference))
    }

    fn delete_v2<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(RegistryClient::delete_v2(self, repo, reference))
    }
}

/// True when every descriptor of a manifest (config, layers, child manifests, subject) names
/// a well-formed `sha256:` digest.
fn descriptors_well_formed(bytes: &[u8]) -> bool {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(bytes) else { return false };
    let ok = |d: &serde_json::Value| {
        d.get("digest").and_then(serde_json::Value::as_str).and_then(|s| s.strip_prefix("sha256:")).is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    };
    let list = |k: &str| doc.get(k).and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
    let single = |k: &str| doc.get(k).is_none_or(ok);
    single("config") && single("subject") && list("layers").iter().all(ok) && list("manifests").iter().all(ok)
}
