//! Blobs on the request path: HEAD, streamed uploads (a monolithic PUT after the POST that
//! opens the session, or a cross-repository mount), and downloads bounded by the
//! descriptor's size. Each transfer's deadline grows with the blob's size.

use std::path::Path;

use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, LOCATION};
use reqwest::{Body, Method, RequestBuilder, Url};

use crate::auth::Access;
use crate::client::RegistryClient;
use crate::error::{RegistryError, Target};
use crate::retry::{self, Failure};
use crate::transport::{Call, success_or_404};
use crate::{BlobSource, MountOutcome, Result};

/// The length of `source` (a file's from its metadata).
fn source_len(source: &BlobSource) -> Result<u64> {
    match source {
        BlobSource::Bytes(b) => Ok(b.len() as u64),
        BlobSource::File(path) => std::fs::metadata(path).map(|m| m.len()).map_err(|e| RegistryError::Io { path: path.display().to_string(), source: e }),
    }
}

/// Puts `source` as the body (a file is opened anew for every attempt and streamed).
fn with_body(r: RequestBuilder, source: &BlobSource, len: u64) -> Result<RequestBuilder> {
    let body = match source {
        BlobSource::Bytes(b) => Body::from(b.clone()),
        BlobSource::File(path) => {
            let file = std::fs::File::open(path).map_err(|e| RegistryError::Io { path: path.display().to_string(), source: e })?;
            // 256 KiB reads: far fewer, larger writes than the 4 KiB default; memory stays flat
            Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(tokio::fs::File::from_std(file), 256 << 10))
        }
    };
    Ok(r.header(CONTENT_TYPE, "application/octet-stream").header(CONTENT_LENGTH, len).body(body))
}

fn upload_location(op: &'static str, target: &Target, h: &HeaderMap) -> Result<String, Failure> {
    h.get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Failure::Fatal(RegistryError::Protocol { op, target: Box::new(target.clone()), reason: "upload response has no Location header".into() }))
}

impl RegistryClient {
    pub(crate) async fn head_blob(&self, repo: &str, digest: &str) -> Result<bool> {
        let (op, target) = ("check blob", self.target(repo, Some(digest)));
        let url = self.url(&format!("{repo}/blobs/{digest}"))?;
        let call = Call { takes: success_or_404, ..Call::new(op, &target, Method::HEAD, url) };
        self.request(call, &[(repo, Access::Pull)], |resp| async move { Ok(resp.status().is_success()) }).await
    }

    /// Opens an upload session (POST to `url`, a mount when its query says so) and, unless
    /// the registry mounted the blob (201), PUTs `source` to the session's location. The two
    /// are retried together: a session that took part of a body is spoiled.
    pub(crate) async fn upload(&self, op: &'static str, repo: &str, digest: &str, url: Url, scopes: &[(&str, Access)], source: &BlobSource) -> Result<MountOutcome> {
        let target = self.target(repo, Some(digest));
        let len = source_len(source)?;
        let open = |r: RequestBuilder| Ok(r.header(CONTENT_LENGTH, 0));
        let body = |r: RequestBuilder| with_body(r, source, len);
        let again = |e: RegistryError| match e {
            RegistryError::Unavailable { last, .. } => Failure::Transient { reason: last, retry_after: None },
            e => Failure::Fatal(e),
        };
        let (target, url) = (&target, &url);
        retry::run(&self.inner.transport.retry, op, target, || async {
            let call = Call { takes: |s| s == 201 || s == 202, build: &open, single: true, ..Call::new(op, target, Method::POST, url.clone()) };
            let opened = self
                .request(call, scopes, |resp| async move {
                    if resp.status().as_u16() == 201 {
                        return Ok(None);
                    }
                    Ok(Some(upload_location(op, target, resp.headers())?))
                })
                .await
                .map_err(again)?;
            let Some(location) = opened else { return Ok(MountOutcome::Mounted) };
            let mut put = self
                .url(&location)
                .map_err(|_| RegistryError::Protocol { op, target: Box::new(target.clone()), reason: format!("upload location '{location}' is not a URL") })?;
            put.query_pairs_mut().append_pair("digest", digest);
            let call = Call { blob: Some(len), build: &body, single: true, ..Call::new(op, target, Method::PUT, put) };
            self.request(call, scopes, |_| async { Ok(()) }).await.map_err(again)?;
            Ok(MountOutcome::Uploaded)
        })
        .await
    }

    /// Streams the blob into `into`, at most `size` bytes, digest checked (see
    /// `answer::read_blob`); on any failure (the deadline included) the file is removed, so
    /// nothing of a bad answer stays on disk.
    pub(crate) async fn download(&self, repo: &str, digest: &str, size: u64, into: &Path) -> Result<u64> {
        self.fetch(repo, digest, size, Some(into)).await.map(|(n, _)| n)
    }

    /// [`Self::download`] into memory, for small blobs (documents, not layers).
    pub(crate) async fn download_bytes(&self, repo: &str, digest: &str, size: u64) -> Result<Vec<u8>> {
        self.fetch(repo, digest, size, None).await.map(|(_, bytes)| bytes)
    }

    /// One blob GET into `into` (a file, removed on failure) or memory.
    async fn fetch(&self, repo: &str, digest: &str, size: u64, into: Option<&Path>) -> Result<(u64, Vec<u8>)> {
        let (op, target) = ("fetch blob", self.target(repo, Some(digest)));
        let url = self.url(&format!("{repo}/blobs/{digest}"))?;
        let call = Call { blob: Some(size), ..Call::new(op, &target, Method::GET, url) };
        let t = &target;
        let got = self.request(call, &[(repo, Access::Pull)], |resp| crate::answer::read_blob(op, t, resp, digest, size, into)).await;
        if let (Err(_), Some(file)) = (&got, into) {
            let _ = std::fs::remove_file(file);
        }
        got
    }
}
