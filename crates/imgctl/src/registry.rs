//! The registry client as the commands get it: built from the global flags (`--concurrency`,
//! `--insecure-registry`) and the environment facts (credentials from `IMGCTL_REGISTRY_*` or
//! Docker's config), authenticated up front, and driven from synchronous code.

use std::future::Future;

use imgctl_registry::{Access, ClientOptions, Credentials, RegistryClient, docker_config_credentials};

use crate::env::Env;
use crate::error::CliError;

/// Credentials for `host`: the env vars when both are set, else Docker's `config.json`
/// (`credHelpers`, `credsStore`, `auths`), else none (anonymous).
pub fn credentials(env: &Env<'_>, host: &str) -> Result<Option<Credentials>, CliError> {
    let f = &env.facts;
    match (&f.registry_username, &f.registry_password) {
        (Some(u), Some(p)) => return Ok(Some(Credentials { username: u.clone(), password: p.clone() })),
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

/// A client for `host` as the flags and environment say.
pub fn client(env: &Env<'_>, host: &str) -> Result<RegistryClient, CliError> {
    client_with(env, host, credentials(env, host)?)
}

/// A client for `host` with `credentials` (a mirror on another registry gets Docker's
/// config for its host, never the primary's `IMGCTL_REGISTRY_*`).
pub fn client_with(env: &Env<'_>, host: &str, credentials: Option<Credentials>) -> Result<RegistryClient, CliError> {
    let mut opts = ClientOptions::new(host).insecure_if_listed(&env.global.insecure_registries);
    opts.concurrency = usize::from(env.global.concurrency);
    opts.credentials = credentials;
    tracing::debug!("registry {host}: {}, {} credentials", if opts.insecure { "plain HTTP" } else { "https" }, if opts.credentials.is_some() { "with" } else { "without" });
    Ok(RegistryClient::new(opts)?)
}

/// Builds the client for `host` and authenticates for `repo` with `access` at once, so
/// unreachable registries and refused credentials fail before anything else (exit 3).
pub async fn connect(env: &Env<'_>, host: &str, repo: &str, access: Access) -> Result<RegistryClient, CliError> {
    let c = client(env, host)?;
    c.authenticate(repo, access).await?;
    Ok(c)
}

/// Runs `f` to completion on a runtime made for this command.
pub fn block_on<F: Future>(f: F) -> Result<F::Output, CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("start the async runtime: {e}")))?;
    Ok(rt.block_on(f))
}
