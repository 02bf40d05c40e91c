//! [`RegistryClient`]: its options, and [`RegistryClient::request`] — a registry request with
//! the authorization of its repository scopes put on the one request path
//! ([`Transport::exchange`]), a fresh token fetched once when a cached one expired.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Response, Url};

use crate::Result;
use crate::auth::{Access, Auth};
use crate::credentials::Credentials;
use crate::documents::DocumentCache;
use crate::error::{RegistryError, Target};
use crate::kinds::{GithubApi, KindRules};
use crate::retry::{Failure, RetryPolicy};
use crate::tls::{self, TlsTrust};
use crate::transport::{Call, Deadlines, RequestStats, Setup, Transport};
use imgctl_core::kind::RegistryKind;

/// How to reach one registry.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `host[:port]`.
    pub registry: String,
    /// Speak plain HTTP (only for hosts the user listed as insecure).
    pub insecure: bool,
    /// Every host listed as insecure (`host` or `host:port`): a token service or a redirect
    /// may be spoken to in plain HTTP only there.
    pub insecure_hosts: Vec<String>,
    /// Credentials; `None` is anonymous.
    pub credentials: Option<Credentials>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of each read from a response.
    pub read_timeout: Duration,
    /// The overall deadline of each request (a blob's grows with its size).
    pub deadlines: Deadlines,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// CA certificates trusted beyond the system store.
    pub tls: TlsTrust,
    /// The registry's kind: how it deletes and which refusals it recognises.
    pub kind: RegistryKind,
    /// GitHub's packages API (GHCR deletes through it).
    pub github: Option<GithubApi>,
    /// Where small blobs read whole (SBOM documents) are kept by digest; None: always read.
    pub documents: Option<Arc<DocumentCache>>,
}

impl ClientOptions {
    /// Defaults for `registry`: https, anonymous, 8 in flight, 10 s connect, 60 s read,
    /// 120 s per request (a blob: plus a second per MiB).
    pub fn new(registry: impl Into<String>) -> ClientOptions {
        ClientOptions {
            registry: registry.into(),
            insecure: false,
            insecure_hosts: Vec::new(),
            credentials: None,
            concurrency: 8,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            deadlines: Deadlines::default(),
            retry: RetryPolicy::default(),
            tls: TlsTrust::default(),
            kind: RegistryKind::Distribution,
            github: None,
            documents: None,
        }
    }

    /// Marks the registry insecure (plain HTTP) when it is in `insecure` (`host:port` or `host`),
    /// and remembers the list for token services and redirects.
    pub fn insecure_if_listed(mut self, insecure: &[String]) -> ClientOptions {
        let host = self.registry.rsplit_once(':').map_or(self.registry.as_str(), |(h, _)| h);
        self.insecure = insecure.iter().map(|s| s.trim()).any(|s| s == self.registry || s == host);
        self.insecure_hosts = insecure.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
        self
    }
}

/// A client for one registry. Cheap to clone; clones share the connection pool, the
/// in-flight limit, the auth tokens and the request counters.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) kind: RegistryKind,
    pub(crate) transport: Transport,
    auth: Auth,
    pub(crate) rules: Arc<dyn KindRules>,
    pub(crate) documents: Option<Arc<DocumentCache>>,
}

impl RegistryClient {
    /// Builds a client (no request yet; see [`RegistryClient::authenticate`]).
    pub fn new(opts: ClientOptions) -> Result<RegistryClient> {
        let scheme = if opts.insecure { "http" } else { "https" };
        let base = Url::parse(&format!("{scheme}://{}/v2/", opts.registry))
            .map_err(|e| RegistryError::InvalidReference { reference: opts.registry.clone(), reason: format!("not a registry host: {e}") })?;
        let setup_error = |reason: String| RegistryError::Unreachable { op: "set up client for", target: Box::new(Target::new(&opts.registry, "", None)), reason };
        let builder = http_builder(&opts, &opts.registry).map_err(setup_error)?;
        let mut insecure = opts.insecure_hosts.clone();
        if opts.insecure {
            insecure.push(opts.registry.clone());
        }
        let setup = Setup { registry: opts.registry.clone(), base, insecure, concurrency: opts.concurrency, retry: opts.retry.clone(), deadlines: opts.deadlines };
        let transport = Transport::new(setup, builder).map_err(setup_error)?;
        let rules = crate::kinds::rules(opts.kind, opts.github.clone());
        Ok(RegistryClient { inner: Arc::new(Inner { kind: opts.kind, transport, auth: Auth::new(opts.credentials), rules, documents: opts.documents }) })
    }

    /// The registry's kind.
    pub fn kind(&self) -> RegistryKind {
        self.inner.kind
    }

    /// The registry host[:port].
    pub fn registry(&self) -> &str {
        &self.inner.transport.registry
    }

    /// Its document cache, if it has one.
    pub fn documents(&self) -> Option<&DocumentCache> {
        self.inner.documents.as_deref()
    }

    /// Requests made so far.
    pub fn stats(&self) -> RequestStats {
        self.inner.transport.stats()
    }

    /// Pings the registry and obtains the authorization for `repo` with `access`, so that
    /// unreachable registries and refused credentials fail here, before any other request.
    pub async fn authenticate(&self, repo: &str, access: Access) -> Result<()> {
        self.inner.auth.authorization(&self.inner.transport, &[(repo, access)]).await.map(|_| ())
    }

    pub(crate) fn target(&self, repo: &str, reference: Option<&str>) -> Target {
        Target::new(self.registry(), repo, reference)
    }

    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        self.inner.transport.base.join(path).map_err(|e| RegistryError::InvalidReference { reference: path.to_owned(), reason: e.to_string() })
    }

    /// One registry request: the authorization for `scopes` (cached), then `call` on the one
    /// request path with `read` taking the answer. A 401 with a cached Bearer token (expired)
    /// fetches a new one once.
    pub(crate) async fn request<T, F, Fut>(&self, mut call: Call<'_>, scopes: &[(&str, Access)], read: F) -> Result<T>
    where
        F: Fn(Response) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let (t, auth) = (&self.inner.transport, &self.inner.auth);
        call.auth = auth.authorization(t, scopes).await?;
        match t.exchange(&call, &read).await {
            Err(RegistryError::AuthRefused { status: 401, .. }) if auth.is_bearer() => {
                auth.drop_token(scopes);
                call.auth = auth.authorization(t, scopes).await?;
                t.exchange(&call, &read).await
            }
            other => other,
        }
    }
}

/// The HTTP client builder for `host` (`host[:port]`) with `opts`' timeouts and CA trust:
/// exactly the system store plus the extra CAs (see `tls`: the platform verifier would swap
/// the system store for SSL_CERT_FILE).
pub(crate) fn http_builder(opts: &ClientOptions, host: &str) -> std::result::Result<reqwest::ClientBuilder, String> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(opts.connect_timeout)
        .read_timeout(opts.read_timeout)
        .user_agent(concat!("imgctl/", env!("CARGO_PKG_VERSION")));
    if let Some(roots) = tls::roots(&opts.tls, host)? {
        tracing::debug!("trusting {} CA certificates (system store and extra CAs) for {host}", roots.len());
        builder = builder.tls_certs_only(roots);
    }
    Ok(builder)
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
        let listed = o.insecure_if_listed(&[" 127.0.0.1".into(), "mirror:81".into()]);
        assert!(listed.insecure);
        assert_eq!(listed.insecure_hosts, ["127.0.0.1", "mirror:81"]);
    }
}
