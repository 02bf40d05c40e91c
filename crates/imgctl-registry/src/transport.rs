//! The one request path: [`Transport::exchange`] sends every request of the crate — the
//! registry's operations, the `/v2/` ping, the token exchange and GitHub's packages API — and
//! owns what each of them needs: the in-flight permit, the `Authorization` header (only where
//! credentials may go), the request's overall deadline, the status mapping (429/5xx and
//! transport errors are transient, the rest is the caller's or an error) and the retries.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use tokio::sync::Semaphore;

use crate::answer::{error_chain, status_error, transport_failure};
use crate::error::{RegistryError, Target};
use crate::retry::{self, Failure, RetryPolicy};
use crate::secret::Secret;

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

/// How long one request may take in all (connecting, sending, reading the whole answer),
/// besides the read timeout that only bounds the wait for the next bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// Any request but a blob transfer (at most 2 minutes by default).
    pub request: Duration,
    /// The slowest transfer rate a blob is given time for: a blob of `n` bytes gets
    /// `request + n / blob_bytes_per_sec`.
    pub blob_bytes_per_sec: u64,
}

impl Default for Deadlines {
    fn default() -> Deadlines {
        Deadlines { request: Duration::from_secs(120), blob_bytes_per_sec: 1 << 20 }
    }
}

impl Deadlines {
    /// The deadline of a request moving `blob` bytes of blob content (`None`: not a blob).
    pub fn for_blob(&self, blob: Option<u64>) -> Duration {
        let extra = blob.map_or(0.0, |n| n as f64 / self.blob_bytes_per_sec.max(1) as f64);
        self.request + Duration::from_secs_f64(extra.min(7.0 * 24.0 * 3600.0))
    }
}

/// Builds a request's headers and body (called once per attempt, so bodies can be re-made).
pub(crate) type Build<'a> = &'a (dyn Fn(RequestBuilder) -> Result<RequestBuilder, RegistryError> + Send + Sync);

/// Maps a refusal (a status the caller does not take) to the failure: by default
/// [`status_error`]; put-manifest and GitHub's API read it their way.
pub(crate) type Refuse<'a> = &'a (dyn Fn(u16, &HeaderMap, &[u8]) -> Failure + Send + Sync);

/// One request as the callers describe it.
pub(crate) struct Call<'a> {
    /// The operation, e.g. `get manifest` (reads after "failed to").
    pub op: &'static str,
    /// What it is aimed at (every error names it).
    pub target: &'a Target,
    pub method: Method,
    pub url: Url,
    /// The `Authorization` value, if any; sent only where credentials may go.
    pub auth: Option<Secret>,
    /// Bytes of blob content moved, for the deadline (`None`: not a blob transfer).
    pub blob: Option<u64>,
    /// Statuses handed to the reader; any other is a refusal.
    pub takes: fn(u16) -> bool,
    pub build: Build<'a>,
    pub refuse: Option<Refuse<'a>>,
    /// One attempt only: the caller retries a larger unit (an upload: session and PUT).
    pub single: bool,
}

impl<'a> Call<'a> {
    /// A request taking success statuses, no body, no auth, not a blob, retried.
    pub(crate) fn new(op: &'static str, target: &'a Target, method: Method, url: Url) -> Call<'a> {
        Call { op, target, method, url, auth: None, blob: None, takes: success, build: &plain, refuse: None, single: false }
    }
}

/// Success statuses.
pub(crate) fn success(s: u16) -> bool {
    (200..300).contains(&s)
}

/// Success, or 404 (the reader tells "absent").
pub(crate) fn success_or_404(s: u16) -> bool {
    success(s) || s == 404
}

/// Adds nothing to the request.
pub(crate) fn plain(r: RequestBuilder) -> Result<RequestBuilder, RegistryError> {
    Ok(r)
}

/// The HTTP layer of one client: connection pool, in-flight limit, counters, retry policy
/// and deadlines, and which hosts may be spoken to in plain HTTP.
#[derive(Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    /// `http(s)://registry/v2/`.
    pub(crate) base: Url,
    /// `host[:port]` of the registry.
    pub(crate) registry: String,
    /// Hosts (`host` or `host:port`) listed as speaking plain HTTP (the registry itself
    /// among them when it is insecure).
    insecure: Vec<String>,
    sem: Semaphore,
    counters: [AtomicU64; 6],
    pub(crate) retry: RetryPolicy,
    pub(crate) deadlines: Deadlines,
}

/// What a [`Transport`] is made of.
pub(crate) struct Setup {
    pub registry: String,
    pub base: Url,
    pub insecure: Vec<String>,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    pub deadlines: Deadlines,
}

impl Transport {
    pub(crate) fn new(s: Setup, builder: reqwest::ClientBuilder) -> Result<Transport, String> {
        let insecure = s.insecure.clone();
        // redirects (blob GETs to storage): never down to plain HTTP on a host not listed
        // insecure; reqwest drops `Authorization` when one leaves the origin
        let policy = reqwest::redirect::Policy::custom(move |a| {
            if a.previous().len() >= 5 {
                return a.error("more than 5 redirects");
            }
            if !plain_http_allowed(a.url(), &insecure) {
                let to = format!("{}://{}", a.url().scheme(), host_port(a.url()));
                return a.error(format!("redirected to {to}: plain HTTP to a host not listed with --insecure-registry is refused"));
            }
            a.follow()
        });
        let http = builder.redirect(policy).build().map_err(|e| error_chain(&e))?;
        Ok(Transport {
            http,
            base: s.base,
            registry: s.registry,
            insecure: s.insecure,
            sem: Semaphore::new(s.concurrency.max(1)),
            counters: Default::default(),
            retry: s.retry,
            deadlines: s.deadlines,
        })
    }

    pub(crate) fn stats(&self) -> RequestStats {
        let n = |i: usize| self.counters[i].load(Ordering::Relaxed);
        RequestStats { get: n(0), head: n(1), put: n(2), post: n(3), delete: n(4), other: n(5) }
    }

    /// Whether credentials may go to `url`: over https always; over plain HTTP only to a host
    /// listed insecure (any port of it; the registry itself when it is insecure).
    pub(crate) fn allows(&self, url: &Url) -> bool {
        plain_http_allowed(url, &self.insecure)
    }

    /// Sends `call` under the retry policy and returns what `read` makes of an answer whose
    /// status `call.takes`. Each attempt holds a permit and must finish within the deadline
    /// (a deadline missed is final: a registry that trickles is not waited for again).
    pub(crate) async fn exchange<T, F, Fut>(&self, call: &Call<'_>, read: F) -> Result<T, RegistryError>
    where
        F: Fn(Response) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        if call.auth.is_some() && !self.allows(&call.url) {
            let reason = format!("refusing to send credentials in plain HTTP to {}, which is not listed with --insecure-registry", host_port(&call.url));
            return Err(RegistryError::AuthRefused { op: call.op, target: Box::new(call.target.clone()), status: 401, reason });
        }
        let deadline = self.deadlines.for_blob(call.blob);
        let once = RetryPolicy { max_attempts: 1, ..self.retry.clone() };
        let read = &read;
        retry::run(if call.single { &once } else { &self.retry }, call.op, call.target, || async move {
            // the semaphore is never closed; waiting for a permit is not the registry's time
            let _permit = self.sem.acquire().await.unwrap_or_else(|_| unreachable!("semaphore closed"));
            let attempt = async {
                let resp = self.send(call).await?;
                let status = resp.status().as_u16();
                if (call.takes)(status) {
                    return read(resp).await;
                }
                Err(match call.refuse {
                    Some(refuse) => {
                        let (status, headers, body) = crate::answer::error_answer(call.op, call.target, resp).await;
                        refuse(status, &headers, &body)
                    }
                    None => Failure::Fatal(status_error(call.op, call.target, resp).await),
                })
            };
            match tokio::time::timeout(deadline, attempt).await {
                Ok(r) => r,
                Err(_) => Err(Failure::Fatal(RegistryError::TimedOut { op: call.op, target: Box::new(call.target.clone()), after: deadline })),
            }
        })
        .await
    }

    /// One attempt: counts it, adds the auth header, and turns transport errors, 429 and
    /// 5xx into [`Failure::Transient`].
    async fn send(&self, call: &Call<'_>) -> Result<Response, Failure> {
        let idx = match call.method {
            Method::GET => 0,
            Method::HEAD => 1,
            Method::PUT => 2,
            Method::POST => 3,
            Method::DELETE => 4,
            _ => 5,
        };
        self.counters[idx].fetch_add(1, Ordering::Relaxed);
        let (op, target) = (call.op, call.target);
        tracing::debug!("{op}: {} {}", call.method, call.url);
        let mut req = self.http.request(call.method.clone(), call.url.clone());
        if let Some(a) = &call.auth {
            let mut v = HeaderValue::from_str(a.expose())
                .map_err(|_| RegistryError::Credentials { registry: target.registry.clone(), reason: "credentials contain characters not allowed in a header".into() })?;
            v.set_sensitive(true);
            req = req.header(AUTHORIZATION, v);
        }
        let resp = (call.build)(req)?.send().await.map_err(|e| transport_failure(op, target, &e))?;
        let status = resp.status();
        tracing::trace!("{op} {target}: HTTP {status}");
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let retry_after = retry::retry_after(resp.headers());
            return Err(Failure::Transient { reason: format!("HTTP {status}"), retry_after });
        }
        Ok(resp)
    }
}

/// `host` of `host[:port]`.
fn host_of(registry: &str) -> &str {
    registry.rsplit_once(':').map_or(registry, |(h, _)| h)
}

/// `host:port` of a URL (the port only when it has one).
pub(crate) fn host_port(url: &Url) -> String {
    match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    }
}

fn plain_http_allowed(url: &Url, insecure: &[String]) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => {
            let host = url.host_str().unwrap_or_default();
            insecure.iter().any(|i| host_of(i.trim()) == host)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_listed_hosts() {
        let u = |s: &str| Url::parse(s).unwrap();
        let listed = vec!["127.0.0.1:5000".to_string(), "mirror.local".to_string()];
        assert!(plain_http_allowed(&u("https://auth.example/token"), &[]));
        assert!(plain_http_allowed(&u("http://127.0.0.1:5000/v2/"), &listed));
        assert!(!plain_http_allowed(&u("http://127.0.0.1:5000/v2/"), &[]));
        assert!(plain_http_allowed(&u("http://mirror.local:81/v2/"), &listed));
        assert!(plain_http_allowed(&u("http://127.0.0.1:5001/token"), &listed), "another port of a listed host");
        assert!(!plain_http_allowed(&u("http://evil.example/token"), &listed));
        assert!(!plain_http_allowed(&u("ftp://127.0.0.1:5000/"), &listed));
    }

    #[test]
    fn a_blob_gets_time_by_its_size() {
        let d = Deadlines { request: Duration::from_secs(120), blob_bytes_per_sec: 1 << 20 };
        assert_eq!(d.for_blob(None), Duration::from_secs(120));
        assert_eq!(d.for_blob(Some(10 << 20)), Duration::from_secs(130));
        assert!(d.for_blob(Some(u64::MAX)) <= Duration::from_secs(120 + 7 * 24 * 3600));
    }
}
