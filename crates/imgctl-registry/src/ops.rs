//! [`Registry`] for [`RegistryClient`]: each operation is one request (two for uploads) under
//! the retry policy, the in-flight limit and the operation's cached authorization.

use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LOCATION};
use reqwest::{Body, Method, Url};

use crate::auth::Access;
use crate::client::{RegistryClient, error_answer, error_for, error_parts, status_error};
use crate::kinds::{DeleteRules, Inventory};
use crate::digest::{is_digest, media_type_of, sha256};
use crate::error::{RegistryError, Target};
use crate::retry::Failure;
use crate::secret::Secret;
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
    async fn blob_body(&self, target: &Target, source: &BlobSource) -> Result<(Body, u64), Failure> {
        match source {
            BlobSource::Bytes(b) => Ok((Body::from(b.clone()), b.len() as u64)),
            BlobSource::File(path) => {
                let io = |e| RegistryError::Io { path: path.display().to_string(), source: e };
                let file = tokio::fs::File::open(path).await.map_err(io)?;
                let len = file.metadata().await.map_err(io)?.len();
                let _ = target;
                // 256 KiB reads: far fewer, larger writes than the 4 KiB default; memory stays flat
                Ok((Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 256 << 10)), len))
            }
        }
    }

    /// PUTs `source` to the upload session at `location`, completing it with `digest`.
    async fn finish_upload(&self, op: &'static str, target: &Target, location: &str, digest: &str, source: &BlobSource, auth: Option<&Secret>) -> Result<(), Failure> {
        let mut url: Url = self
            .url(location)
            .map_err(|_| RegistryError::Protocol { op, target: Box::new(target.clone()), reason: format!("upload location '{location}' is not a URL") })?;
        url.query_pairs_mut().append_pair("digest", digest);
        let (body, len) = self.blob_body(target, source).await?;
        let resp = self
            .send(op, target, Method::PUT, url, auth, |r| r.header(CONTENT_TYPE, "application/octet-stream").header(CONTENT_LENGTH, len).body(body))
            .await?;
        if !resp.status().is_success() {
            return Err(Failure::Fatal(status_error(op, target, resp).await));
        }
        Ok(())
    }

    fn upload_location(op: &'static str, target: &Target, h: &HeaderMap) -> Result<String, Failure> {
        header(h, LOCATION.as_str())
            .map(str::to_owned)
            .ok_or_else(|| Failure::Fatal(RegistryError::Protocol { op, target: Box::new(target.clone()), reason: "upload response has no Location header".into() }))
    }
}

impl RegistryClient {
    /// PUT of a manifest; also says whether the answer carried `OCI-Subject`.
    async fn put_manifest_with_subject(&self, repo: &str, tag: &str, manifest: &RawManifest) -> Result<(Descriptor, bool)> {
        check_reference(repo, tag)?;
        let (op, target) = ("put manifest", self.target(repo, Some(tag)));
        let url = self.url(&format!("{repo}/manifests/{tag}"))?;
        let expected = sha256(&manifest.bytes);
        let returned = self
            .call(op, &target, &[(repo, Access::Push)], |auth| {
                let (url, target, body) = (url.clone(), &target, manifest.bytes.clone());
                async move {
                    let _permit = self.permit().await;
                    let resp = self.send(op, target, Method::PUT, url, auth.as_ref(), |r| r.header(CONTENT_TYPE, manifest.media_type.as_str()).body(body)).await?;
                    if !resp.status().is_success() {
                        return Err(Failure::Fatal(self.put_refusal(op, target, resp).await));
                    }
                    Ok((header(resp.headers(), DIGEST_HEADER).map(str::to_owned), header(resp.headers(), SUBJECT_HEADER).is_some()))
                }
            })
            .await?;
        let (returned, subject) = returned;
        match returned {
            Some(d) if d != expected => return Err(RegistryError::DigestMismatch { op, target: Box::new(target), expected, actual: d }),
            Some(_) => {}
            None => tracing::warn!("{op} {target}: the registry returned no Docker-Content-Digest to check"),
        }
        Ok((Descriptor { digest: expected, media_type: manifest.media_type.clone(), size: manifest.bytes.len() as u64 }, subject))
    }
}

impl Registry for RegistryClient {
    async fn resolve(&self, repo: &str, reference: &str) -> Result<Descriptor> {
        check_reference(repo, reference)?;
        let (op, target) = ("resolve", self.target(repo, Some(reference)));
        let url = self.url(&format!("{repo}/manifests/{reference}"))?;
        let found = self
            .call(op, &target, &[(repo, Access::Pull)], |auth| {
                let (url, target) = (url.clone(), &target);
                async move {
                    let _permit = self.permit().await;
                    let resp = self.send(op, target, Method::HEAD, url, auth.as_ref(), |r| r.header(ACCEPT, accept())).await?;
                    if !resp.status().is_success() {
                        return Err(Failure::Fatal(status_error(op, target, resp).await));
                    }
                    let h = resp.headers();
                    let (Some(digest), Some(size)) = (header(h, DIGEST_HEADER), header(h, CONTENT_LENGTH.as_str()).and_then(|s| s.parse().ok())) else {
                        return Ok(None);
                    };
                    let media_type = header(h, CONTENT_TYPE.as_str()).unwrap_or(crate::OCI_MANIFEST).to_owned();
                    Ok(Some(Descriptor { digest: digest.to_owned(), media_type, size }))
                }
            })
            .await?;
        let d = match found {
            Some(d) => d,
            // The registry gave no digest or size: read the bytes and compute them.
            None => return Ok(self.get_manifest(repo, reference).await?.descriptor()),
        };
        if is_digest(reference) && d.digest != reference {
            return Err(RegistryError::DigestMismatch { op, target: Box::new(target), expected: reference.to_owned(), actual: d.digest });
        }
        Ok(d)
    }

    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<RawManifest> {
        check_reference(repo, reference)?;
        let (op, target) = ("get manifest", self.target(repo, Some(reference)));
        let url = self.url(&format!("{repo}/manifests/{reference}"))?;
        self.call(op, &target, &[(repo, Access::Pull)], |auth| {
            let (url, target) = (url.clone(), &target);
            async move {
                let _permit = self.permit().await;
                let resp = self.send(op, target, Method::GET, url, auth.as_ref(), |r| r.header(ACCEPT, accept())).await?;
                if !resp.status().is_success() {
                    return Err(Failure::Fatal(status_error(op, target, resp).await));
                }
                let announced = header(resp.headers(), DIGEST_HEADER).map(str::to_owned);
                let content_type = header(resp.headers(), CONTENT_TYPE.as_str()).map(str::to_owned);
                let bytes = crate::client::read_limited(op, target, resp, crate::client::MAX_MANIFEST_BYTES).await?;
                let actual = sha256(&bytes);
                let expected = if is_digest(reference) { Some(reference.to_owned()) } else { announced };
                if let Some(expected) = expected
                    && expected != actual
                {
                    return Err(Failure::Fatal(RegistryError::DigestMismatch { op, target: Box::new(target.clone()), expected, actual }));
                }
                let media_type = media_type_of(&bytes, content_type.as_deref());
                Ok(RawManifest { bytes, media_type, digest: actual })
            }
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
        self.get_referrers(repo, digest).await
    }

    async fn list_tags(&self, repo: &str) -> Result<Vec<String>> {
        check_reference(repo, "tags")?;
        crate::tags::list_all(self, repo).await
    }

    async fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool> {
        check_reference(repo, digest)?;
        let (op, target) = ("check blob", self.target(repo, Some(digest)));
        let url = self.url(&format!("{repo}/blobs/{digest}"))?;
        self.call(op, &target, &[(repo, Access::Pull)], |auth| {
            let (url, target) = (url.clone(), &target);
            async move {
                let _permit = self.permit().await;
                let resp = self.send(op, target, Method::HEAD, url, auth.as_ref(), |r| r).await?;
                match resp.status().as_u16() {
                    200..=299 => Ok(true),
                    404 => Ok(false),
                    _ => Err(Failure::Fatal(status_error(op, target, resp).await)),
                }
            }
        })
        .await
    }

    async fn push_blob(&self, repo: &str, digest: &str, source: &BlobSource) -> Result<()> {
        check_reference(repo, digest)?;
        let (op, target) = ("push blob", self.target(repo, Some(digest)));
        let url = self.url(&format!("{repo}/blobs/uploads/"))?;
        self.call(op, &target, &[(repo, Access::Push)], |auth| {
            let (url, target) = (url.clone(), &target);
            async move {
                let _permit = self.permit().await;
                let resp = self.send(op, target, Method::POST, url, auth.as_ref(), |r| r.header(CONTENT_LENGTH, 0)).await?;
                if resp.status().as_u16() != 202 {
                    return Err(Failure::Fatal(status_error(op, target, resp).await));
                }
                let location = Self::upload_location(op, target, resp.headers())?;
                self.finish_upload(op, target, &location, digest, source, auth.as_ref()).await
            }
        })
        .await
    }

    async fn mount_blob(&self, repo: &str, digest: &str, from_repo: &str, source: &BlobSource) -> Result<MountOutcome> {
        check_reference(repo, digest)?;
        check_reference(from_repo, digest)?;
        let (op, target) = ("mount blob", self.target(repo, Some(digest)));
        let mut url = self.url(&format!("{repo}/blobs/uploads/"))?;
        url.query_pairs_mut().append_pair("mount", digest).append_pair("from", from_repo);
        self.call(op, &target, &[(repo, Access::Push), (from_repo, Access::Pull)], |auth| {
            let (url, target) = (url.clone(), &target);
            async move {
                let _permit = self.permit().await;
                let resp = self.send(op, target, Method::POST, url, auth.as_ref(), |r| r.header(CONTENT_LENGTH, 0)).await?;
                match resp.status().as_u16() {
                    201 => Ok(MountOutcome::Mounted),
                    202 => {
                        let location = Self::upload_location(op, target, resp.headers())?;
                        self.finish_upload(op, target, &location, digest, source, auth.as_ref()).await?;
                        Ok(MountOutcome::Uploaded)
                    }
                    _ => Err(Failure::Fatal(status_error(op, target, resp).await)),
                }
            }
        })
        .await
    }

    async fn fetch_blob(&self, repo: &str, digest: &str, into: &std::path::Path) -> Result<u64> {
        check_reference(repo, digest)?;
        let (op, target) = ("fetch blob", self.target(repo, Some(digest)));
        let url = self.url(&format!("{repo}/blobs/{digest}"))?;
        self.call(op, &target, &[(repo, Access::Pull)], |auth| {
            let (url, target) = (url.clone(), &target);
            async move {
                use sha2::Digest;
                use tokio::io::AsyncWriteExt;
                let _permit = self.permit().await;
                let mut resp = self.send(op, target, Method::GET, url, auth.as_ref(), |r| r).await?;
                if !resp.status().is_success() {
                    return Err(Failure::Fatal(status_error(op, target, resp).await));
                }
                let io = |e: std::io::Error| Failure::Fatal(RegistryError::Io { path: into.display().to_string(), source: e });
                let mut file = tokio::fs::File::create(into).await.map_err(io)?;
                let (mut hasher, mut size) = (sha2::Sha256::new(), 0u64);
                while let Some(chunk) = resp.chunk().await.map_err(|e| crate::client::transport_failure(op, target, &e))? {
                    hasher.update(&chunk);
                    size += chunk.len() as u64;
                    file.write_all(&chunk).await.map_err(io)?;
                }
                file.flush().await.map_err(io)?;
                let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
                if actual != digest {
                    return Err(Failure::Fatal(RegistryError::DigestMismatch { op, target: Box::new(target.clone()), expected: digest.to_owned(), actual }));
                }
                Ok(size)
            }
        })
        .await
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
        self.call(op, &target, &[(repo, Access::Delete)], |auth| {
            let (url, target) = (url.clone(), &target);
            async move {
                let _permit = self.permit().await;
                let resp = self.send(op, target, Method::DELETE, url, auth.as_ref(), |r| r).await?;
                if !resp.status().is_success() {
                    return Err(Failure::Fatal(status_error(op, target, resp).await));
                }
                Ok(())
            }
        })
        .await
    }

    /// The error for a refused manifest PUT: the kind's immutable-tag refusal, or the usual one.
    async fn put_refusal(&self, op: &'static str, target: &Target, resp: reqwest::Response) -> RegistryError {
        let (status, body) = error_answer(op, target, resp).await;
        let (code, message) = error_parts(&body).unwrap_or_default();
        if (400..500).contains(&status) && self.inner.rules.is_immutable_refusal(status, &code, &message) {
            let message = if code.is_empty() { message } else { format!("{code}: {message}") };
            return RegistryError::ImmutableTag { op, target: Box::new(target.clone()), status, message };
        }
        error_for(op, target, status, &body)
    }
}
