//! The registry client as the commands get it: built from the global flags (`--concurrency`,
//! `--insecure-registry`, `--request-timeout`) and the environment facts (credentials from `IMGCTL_REGISTRY_*` or
//! Docker's config, CA trust from `SSL_CERT_*` and `certs.d`), authenticated up front, and
//! driven from synchronous code.

use std::future::Future;

use imgctl_core::kind::{KindSource, RegistryKind, choose};
use imgctl_registry::{Access, ClientOptions, CredentialKind, Credentials, GithubApi, RegistryClient, TlsTrust, docker_config_credentials};

use crate::env::Env;
use crate::error::CliError;

/// Credentials for `host`: the env vars when both are set, else Docker's `config.json`
/// (`credHelpers`, `credsStore`, `auths`), else none (anonymous).
pub fn credentials(env: &Env<'_>, host: &str) -> Result<Option<Credentials>, CliError> {
    let f = &env.facts;
    match (&f.registry_username, &f.registry_password) {
        // the username `<token>` makes the password an identity token, as credential helpers say it
        (Some(u), Some(p)) => return Ok(Some(Credentials::login(u.clone(), p.clone()))),
        (Some(_), None) | (None, Some(_)) => {
            return Err(CliError::Usage("use registry credentials: set both IMGCTL_REGISTRY_USERNAME and IMGCTL_REGISTRY_PASSWORD, or neither".into()));
        }
        (None, None) => {}
    }
    match &f.docker_config_dir {
        Some(dir) => Ok(docker_config_credentials(dir, host)?),
        None => Ok(None),
    }
}

/// The CAs trusted beside the system store: `SSL_CERT_FILE`, `SSL_CERT_DIR`, and docker's
/// `certs.d/<host[:port]>/*.crt` under `/etc/docker` (or `IMGCTL_CERTS_D`) and `$DOCKER_CONFIG`.
pub fn tls_trust(env: &Env<'_>) -> TlsTrust {
    let f = &env.facts;
    let mut certs_d: Vec<_> = std::iter::once(f.certs_d.clone()).filter(|d| !d.as_os_str().is_empty()).collect();
    certs_d.extend(f.docker_config_dir.as_ref().map(|d| d.join("certs.d")));
    TlsTrust { ca_files: f.ssl_cert_file.iter().cloned().collect(), ca_dirs: f.ssl_cert_dirs.clone(), certs_d }
}

/// The registry kind for `host`: `--registry-kind` / `IMGCTL_REGISTRY_KIND`, else the
/// manifest's `registryKind`, else what the host name says; and where it came from.
pub fn kind(env: &Env<'_>, host: &str, manifest: Option<RegistryKind>) -> (RegistryKind, KindSource) {
    choose(host, manifest, env.global.registry_kind())
}

/// A client for `host` (of the manifest's `registryKind`, if any) as the flags and environment say.
pub fn client(env: &Env<'_>, host: &str, manifest_kind: Option<RegistryKind>) -> Result<RegistryClient, CliError> {
    client_with(env, host, self::kind(env, host, manifest_kind), credentials(env, host)?)
}

/// A client for `host` of `kind` (and where that kind came from) with `credentials`: a
/// mirror on another registry gets Docker's config for its host, never the primary's
/// `IMGCTL_REGISTRY_*`, and its own `registryKind` (not `--registry-kind`, which names the
/// primary's).
pub fn client_with(env: &Env<'_>, host: &str, kind: (RegistryKind, KindSource), credentials: Option<Credentials>) -> Result<RegistryClient, CliError> {
    let mut opts = options(env, host);
    opts.credentials = credentials;
    opts.documents = env.facts.document_cache.clone().map(|d| std::sync::Arc::new(imgctl_registry::documents::DocumentCache::new(d)));
    let (kind, from) = kind;
    opts.kind = kind;
    if kind == RegistryKind::Ghcr {
        // the registry password stands in for the GitHub token (not an identity token)
        let password = opts.credentials.as_ref().filter(|c| c.kind == CredentialKind::Password).map(|c| c.password.clone());
        opts.github = Some(github_api(env, password));
    }
    tracing::info!("registry {host}: kind {kind} ({})", describe(from));
    tracing::debug!("registry {host}: {}, {} credentials", if opts.insecure { "plain HTTP" } else { "https" }, if opts.credentials.is_some() { "with" } else { "without" });
    Ok(RegistryClient::new(opts)?)
}

/// What every client for `host` gets from the global flags: insecure hosts, requests in
/// flight, the request deadline, CA trust.
pub fn options(env: &Env<'_>, host: &str) -> ClientOptions {
    let mut opts = ClientOptions::new(host).insecure_if_listed(&env.global.insecure_registries);
    opts.concurrency = usize::from(env.global.concurrency);
    opts.deadlines.request = env.global.request_timeout;
    opts.tls = tls_trust(env);
    opts
}

/// GitHub's REST API: `GITHUB_API_URL` (else api.github.com) with `IMGCTL_GITHUB_TOKEN` /
/// `GITHUB_TOKEN`, else `fallback`.
pub fn github_api(env: &Env<'_>, fallback: Option<imgctl_registry::Secret>) -> GithubApi {
    let f = &env.facts;
    GithubApi { base: f.github_api_url.clone().unwrap_or_else(|| GithubApi::default().base), token: f.github_token.clone().or(fallback) }
}

/// Builds the client for `host` and authenticates for `repo` with `access` at once, so
/// unreachable registries and refused credentials fail before anything else (exit 3).
pub async fn connect(env: &Env<'_>, host: &str, repo: &str, access: Access, manifest_kind: Option<RegistryKind>) -> Result<RegistryClient, CliError> {
    let c = client(env, host, manifest_kind)?;
    c.authenticate(repo, access).await?;
    Ok(c)
}

/// Where a kind came from, in words.
pub fn describe(from: KindSource) -> &'static str {
    match from {
        KindSource::Flag => "from --registry-kind / IMGCTL_REGISTRY_KIND",
        KindSource::Manifest => "from the manifest's registryKind",
        KindSource::Inferred => "inferred from the host name",
    }
}

/// Runs `f` to completion on a runtime made for this command.
pub fn block_on<F: Future>(f: F) -> Result<F::Output, CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("start the async runtime: {e}")))?;
    Ok(rt.block_on(f))
}
