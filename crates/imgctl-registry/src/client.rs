//! [`RegistryClient`]: options, the HTTP core every operation goes through (semaphore, auth
//! header, request accounting, status → error mapping) and the up-front authentication.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::Result;
use crate::auth::{Access, AuthState};
use crate::credentials::Credentials;
use crate::kinds::{GithubApi, KindRules};
use imgctl_core::kind::RegistryKind;
use crate::error::{RegistryError, Target};
use crate::retry::{Failure, RetryPolicy};
use crate::tls::{self, TlsTrust};

/// How to reach one registry.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `host[:port]`.
    pub registry: String,
    /// Speak plain HTTP (only for hosts the user listed as insecure).
    pub insecure: bool,
    /// Credentials; `None` is anonymous.
    pub credentials: Option<Credentials>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of each read from a response.
    pub read_timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// CA certificates trusted beyond the system store.
    pub tls: TlsTrust,
    /// The registry's kind: how it deletes and which refusals it recognises.
    pub kind: RegistryKind,
    /// GitHub's packages API (GHCR deletes through it).
    pub github: Option<GithubApi>,
}

impl ClientOptions {
    /// Defaults for `registry`: https, anonymous, 8 in flight, 10 s connect, 60 s read.
    pub fn new(registry: impl Into<String>) -> ClientOptions {
        ClientOptions {
            registry: registry.into(),
            insecure: false,
            credentials: None,
            concurrency: 8,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            tls: TlsTrust::default(),
            kind: RegistryKind::Distribution,
            github: None,
        }
    }

    /// Marks the registry insecure (plain HTTP) when it is in `insecure` (`host:port` or `host`).
    pub fn insecure_if_listed(mut self, insecure: &[String]) -> ClientOptions {
        let host = self.registry.rsplit_once(':').map_or(self.registry.as_str(), |(h, _)| h);
        self.insecure = insecure.iter().map(|s| s.trim()).any(|s| s == self.registry || s == host);
        self
    }
}

/// Requests made by a client, by method (client-side accounting; tests count at a proxy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// GET requests.
    pub get: u64,
    /// HEAD requests.
    pub head: u64,
    /// PUT requests.
    pub put: u64,
    /// POST requests.
    pub post: u64,
    /// DELETE requests.
    pub delete: u64,
    /// Other methods.
    pub other: u64,
}

impl RequestStats {
    /// All requests.
    pub fn total(&self) -> u64 {
        self.get + self.head + self.put + self.post + self.delete + self.other
    }
}

#[derive(Debug, Default)]
struct Counters([AtomicU64; 6]);

/// A client for one registry. Cheap to clone; clones share the connection pool, the
/// in-flight limit, the auth tokens and the request counters.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) opts: ClientOptions,
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    sem: Semaphore,
    counters: Counters,
    pub(crate) auth: AuthState,
    pub(crate) rules: Arc<dyn KindRules>,
}

impl RegistryClient {
    /// Builds a client (no request yet; see [`RegistryClient::authenticate`]).
    pub fn new(opts: ClientOptions) -> Result<RegistryClient> {
        let scheme = if opts.insecure { "http" } else { "https" };
        let base = Url::parse(&format!("{scheme}://{}/v2/", opts.registry))
            .map_err(|e| RegistryError::InvalidReference { reference: opts.registry.clone(), reason: format!("not a registry host: {e}") })?;
        let setup_error = |reason: String| RegistryError::Unreachable { op: "set up client for", target: Box::new(Target::new(&opts.registry, "", None)), reason };
        let mut builder = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .read_timeout(opts.read_timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("imgctl/", env!("CARGO_PKG_VERSION")));
        if let Some(roots) = tls::roots(&opts.tls, &opts.registry).map_err(setup_error)? {
            // Exactly the system store plus the extra CAs (see `tls`: the platform verifier
            // would swap the system store for SSL_CERT_FILE).
            tracing::debug!("trusting {} CA certificates (system store and extra CAs) for {}", roots.len(), opts.registry);
            builder = builder.tls_certs_only(roots);
        }
        let http = builder.build().map_err(|e| setup_error(error_chain(&e)))?;
        let sem = Semaphore::new(opts.concurrency.max(1));
        let rules = crate::kinds::rules(opts.kind, opts.github.clone());
        Ok(RegistryClient { inner: Arc::new(Inner { opts, http, base, sem, counters: Counters::default(), auth: AuthState::default(), rules }) })
    }

    /// The registry's kind.
    pub fn kind(&self) -> RegistryKind {
        self.inner.opts.kind
    }

    /// The registry host[:port].
    pub fn registry(&self) -> &str {
        &self.inner.opts.registry
    }

    /// Requests made so far.
    pub fn stats(&self) -> RequestStats {
        let c = &self.inner.counters.0;
        let n = |i: usize| c[i].load(Ordering::Relaxed);
        RequestStats { get: n(0), head: n(1), put: n(2), post: n(3), delete: n(4), other: n(5) }
    }

    /// Pings the registry and obtains the authorization for `repo` with `access`, so that
    /// unreachable registries and refused credentials fail here, before any other request.
    pub async fn authenticate(&self, repo: &str, access: Access) -> Result<()> {
        self.authorization(&[(repo, access)]).await.map(|_| ())
    }

    pub(crate) fn target(&self, repo: &str, reference: Option<&str>) -> Target {
        Target::new(&self.inner.opts.registry, repo, reference)
    }

    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        self.inner.base.join(path).map_err(|e| RegistryError::InvalidReference { reference: path.to_owned(), reason: e.to_string() })
    }

    pub(crate) async fn permit(&self) -> SemaphorePermit<'_> {
        // The semaphore is never closed.
        self.inner.sem.acquire().await.unwrap_or_else(|_| unreachable!("semaphore closed"))
    }

    /// Sends one request (the caller holds a permit): adds the auth header, counts it, and
    /// turns transport errors, 429 and 5xx into [`Failure::Transient`].
    pub(crate) async fn send(
        &self,
        op: &'static str,
        target: &Target,
        method: Method,
        url: Url,
        auth: Option<&crate::Secret>,
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, Failure> {
        let idx = match method {
            Method::GET => 0,
            Method::HEAD => 1,
            Method::PUT => 2,
            Method::POST => 3,
            Method::DELETE => 4,
            _ => 5,
        };
        self.inner.counters.0[idx].fetch_add(1, Ordering::Relaxed);
        tracing::debug!("{op}: {method} {url}");
        let mut req = self.inner.http.request(method, url);
        if let Some(a) = auth {
            let mut v = reqwest::header::HeaderValue::from_str(a.expose())
                .map_err(|_| RegistryError::Credentials { registry: target.registry.clone(), reason: "credentials contain characters not allowed in a header".into() })?;
            v.set_sensitive(true);
            req = req.header(reqwest::header::AUTHORIZATION, v);
        }
        let resp = build(req).send().await.map_err(|e| transport_failure(op, target, &e))?;
        let status = resp.status();
        tracing::trace!("{op} {target}: HTTP {status}");
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let retry_after = crate::retry::retry_after(resp.headers());
            return Err(Failure::Transient { reason: format!("HTTP {status}"), retry_after });
        }
        Ok(resp)
    }
}

/// Largest manifest accepted (OCI registries take at least 4 MiB; more is refused).
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;
/// Largest tag-list page or token answer accepted.
pub const MAX_LISTING_BYTES: usize = 64 << 20;

/// Reads a response body, refusing one larger than `limit` (checked as it streams, so a
/// multi-GB body or an endless stream is cut off after `limit` bytes).
pub(crate) async fn read_limited(op: &'static str, target: &Target, mut resp: Response, limit: usize) -> Result<bytes::Bytes, Failure> {
    let too_large = || {
        Failure::Fatal(RegistryError::Protocol { op, target: Box::new(target.clone()), reason: format!("the answer is larger than {limit} bytes; refused") })
    };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport_failure(op, target, &e))? {
        if buf.len() + chunk.len() > limit {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// A transport error: timeouts and resets are transient; failing to connect is final.
pub(crate) fn transport_failure(op: &'static str, target: &Target, e: &reqwest::Error) -> Failure {
    let reason = error_chain(e);
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

/// Most of an error answer's body read for its message; the rest is not read.
const MAX_ERROR_BODY_BYTES: usize = 64 << 10;

/// A non-success status that is not retried, as an error (its body read within
/// [`MAX_ERROR_BODY_BYTES`], like every other answer).
pub(crate) async fn status_error(op: &'static str, target: &Target, resp: Response) -> RegistryError {
    let (status, body) = error_answer(op, target, resp).await;
    error_for(op, target, status, &body)
}

/// The status and (the first [`MAX_ERROR_BODY_BYTES`] of) the body of an error answer.
pub(crate) async fn error_answer(op: &'static str, target: &Target, resp: Response) -> (u16, bytes::Bytes) {
    let status = resp.status().as_u16();
    (status, read_limited(op, target, resp, MAX_ERROR_BODY_BYTES).await.unwrap_or_default())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_only_when_listed() {
        let o = ClientOptions::new("127.0.0.1:5000");
        assert!(!o.clone().insecure_if_listed(&[]).insecure);
        assert!(!o.clone().insecure_if_listed(&["127.0.0.1:5001".into()]).insecure);
        assert!(o.clone().insecure_if_listed(&["127.0.0.1:5000".into()]).insecure);
        assert!(o.insecure_if_listed(&[" 127.0.0.1".into()]).insecure);
        assert_eq!(registry_message(br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#).unwrap(), "MANIFEST_UNKNOWN: manifest unknown");
    }
}
