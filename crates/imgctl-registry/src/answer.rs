//! Reading answers, bounded: bodies up to a limit (checked as they stream), blobs up to their
//! descriptor's size into a file with the digest checked on the way, `Link` headers; and
//! what a failed exchange is: a refused answer's status and body, or a transport error,
//! turned into a [`RegistryError`] or a transient [`Failure`].

use std::path::Path;

use bytes::{Bytes, BytesMut};
use reqwest::header::HeaderMap;
use reqwest::{Response, StatusCode};

use crate::error::{RegistryError, Target};
use crate::retry::Failure;
use crate::tls;

/// Largest manifest accepted (OCI registries take at least 4 MiB; more is refused).
pub(crate) const MAX_MANIFEST_BYTES: usize = 4 << 20;
/// Largest tag-list page or token answer accepted.
pub(crate) const MAX_LISTING_BYTES: usize = 64 << 20;
/// Most of an error answer's body read for its message; the rest is not read.
const MAX_ERROR_BODY_BYTES: usize = 64 << 10;

/// Reads a response body, refusing one larger than `limit` (checked as it streams, so a
/// multi-GB body or an endless stream is cut off after `limit` bytes).
pub(crate) async fn read_limited(op: &'static str, target: &Target, mut resp: Response, limit: usize) -> Result<Bytes, Failure> {
    let too_large = || {
        Failure::Fatal(RegistryError::Protocol { op, target: Box::new(target.clone()), reason: format!("the answer is larger than {limit} bytes; refused") })
    };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut buf = BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport_failure(op, target, &e))? {
        if buf.len() + chunk.len() > limit {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Streams a blob answer into the file `into` (None: into memory, returned), stopping at
/// `size` bytes (its descriptor's): one byte more is an error (the chunk that overruns is not
/// written), and so is a digest other than `digest` (hashed as it streams). The caller
/// removes the file when this fails or is cut off by the deadline.
pub(crate) async fn read_blob(op: &'static str, target: &Target, mut resp: Response, digest: &str, size: u64, into: Option<&Path>) -> Result<(u64, Vec<u8>), Failure> {
    use sha2::Digest;
    use tokio::io::AsyncWriteExt;
    let protocol = |reason: String| Failure::Fatal(RegistryError::Protocol { op, target: Box::new(target.clone()), reason });
    let overrun = |n: u64| protocol(format!("the blob's answer is longer ({n} bytes or more) than its descriptor's size of {size} bytes; refused, nothing kept"));
    if let Some(n) = resp.content_length().filter(|n| *n > size) {
        return Err(overrun(n));
    }
    let io = |e: std::io::Error| Failure::Fatal(RegistryError::Io { path: into.map(|p| p.display().to_string()).unwrap_or_default(), source: e });
    let mut file = match into {
        Some(p) => Some(tokio::fs::File::create(p).await.map_err(io)?),
        None => None,
    };
    let mut memory = Vec::new();
    let (mut hasher, mut written) = (sha2::Sha256::new(), 0u64);
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport_failure(op, target, &e))? {
        let n = written + chunk.len() as u64;
        if n > size {
            return Err(overrun(n));
        }
        hasher.update(&chunk);
        match file.as_mut() {
            Some(f) => f.write_all(&chunk).await.map_err(io)?,
            None => memory.extend_from_slice(&chunk),
        }
        written = n;
    }
    if let Some(f) = file.as_mut() {
        f.flush().await.map_err(io)?;
    }
    if written < size {
        // a body cut short (its Content-Length honoured) is worth another attempt
        return Err(Failure::Transient { reason: format!("the blob's answer ended after {written} of {size} bytes"), retry_after: None });
    }
    let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
    if actual != digest {
        return Err(Failure::Fatal(RegistryError::DigestMismatch { op, target: Box::new(target.clone()), expected: digest.to_owned(), actual }));
    }
    Ok((written, memory))
}

/// The `rel="next"` target of a `Link` header, e.g. `</v2/a/tags/list?n=2&last=b>; rel="next"`.
pub(crate) fn next_link(link: &str) -> Option<&str> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        let t = target.trim();
        is_next.then(|| t.strip_prefix('<').and_then(|t| t.strip_suffix('>'))).flatten()
    })
}

/// The `Link: rel="next"` target of an answer's headers.
pub(crate) fn next_of(h: &HeaderMap) -> Option<String> {
    h.get(reqwest::header::LINK).and_then(|v| v.to_str().ok()).and_then(next_link).map(str::to_owned)
}

/// A non-success status that is not retried, as an error (its body read within
/// [`MAX_ERROR_BODY_BYTES`], like every other answer).
pub(crate) async fn status_error(op: &'static str, target: &Target, resp: Response) -> RegistryError {
    let (status, _, body) = error_answer(op, target, resp).await;
    error_for(op, target, status, &body)
}

/// The status, headers and (the first [`MAX_ERROR_BODY_BYTES`] of) the body of an error answer.
pub(crate) async fn error_answer(op: &'static str, target: &Target, resp: Response) -> (u16, HeaderMap, Bytes) {
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, read_limited(op, target, resp, MAX_ERROR_BODY_BYTES).await.unwrap_or_default())
}

/// The error for an answer with `status` and `body`.
pub(crate) fn error_for(op: &'static str, target: &Target, status: u16, body: &[u8]) -> RegistryError {
    let message = registry_message(body).unwrap_or_else(|| StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("unexpected status").to_lowercase());
    let target = target.clone();
    match status {
        404 => RegistryError::NotFound { op, target: Box::new(target), detail: format!(": {message}") },
        s @ (401 | 403) => RegistryError::AuthRefused { op, target: Box::new(target), status: s, reason: message },
        s => RegistryError::Http { op, target: Box::new(target), status: s, message },
    }
}

#[derive(serde::Deserialize)]
struct Errors {
    errors: Vec<ErrorItem>,
}

#[derive(serde::Deserialize)]
struct ErrorItem {
    code: Option<String>,
    message: Option<String>,
}

/// Code and message of the first error of a distribution error body (empty when absent).
pub(crate) fn error_parts(body: &[u8]) -> Option<(String, String)> {
    let e: Errors = serde_json::from_slice(body).ok()?;
    let first = e.errors.into_iter().next()?;
    Some((first.code.unwrap_or_default(), first.message.unwrap_or_default()))
}

/// `CODE: message` of the first error of a distribution error body.
fn registry_message(body: &[u8]) -> Option<String> {
    Some(match error_parts(body)? {
        (c, m) if !c.is_empty() && !m.is_empty() => format!("{c}: {m}"),
        (c, m) if m.is_empty() && !c.is_empty() => c,
        (c, m) if c.is_empty() && !m.is_empty() => m,
        _ => return None,
    })
}

/// A transport error: timeouts and resets are transient; failing to connect is final.
pub(crate) fn transport_failure(op: &'static str, target: &Target, e: &reqwest::Error) -> Failure {
    let reason = error_chain(e);
    if e.is_redirect() {
        return Failure::Fatal(RegistryError::Protocol { op, target: Box::new(target.clone()), reason });
    }
    if e.is_timeout() || (!e.is_connect() && (e.is_request() || e.is_body() || e.is_decode())) {
        return Failure::Transient { reason, retry_after: None };
    }
    let hint = tls::tls_problem(&reason).map(|p| tls::advice(p, &target.registry)).unwrap_or_default();
    Failure::Fatal(RegistryError::Unreachable { op, target: Box::new(target.clone()), reason: format!("{reason}{hint}") })
}

/// The error and its sources, joined (URLs carry no credentials: they go in headers).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_and_error_bodies() {
        assert_eq!(next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#), Some("/v2/a/tags/list?n=2&last=b"));
        assert_eq!(next_link(r#"<https://r/v2/a/tags/list?last=b>; rel=next, <https://r/x>; rel="prev""#), Some("https://r/v2/a/tags/list?last=b"));
        assert_eq!(next_link(r#"<https://r/x>; rel="prev""#), None);
        assert_eq!(registry_message(br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#).unwrap(), "MANIFEST_UNKNOWN: manifest unknown");
    }
}
