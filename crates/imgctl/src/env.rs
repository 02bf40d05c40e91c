//! What a command may touch: the global flags, the writers it prints to, the clock
//! and the few environment facts it needs — gathered once at the edge.

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::error::CliError;
use crate::global::GlobalArgs;

/// Where docker (and skopeo) look for per-registry CA certificates.
pub const DOCKER_CERTS_D: &str = "/etc/docker/certs.d";

/// Facts read from the process environment by `main`, never by commands.
#[derive(Debug, Clone, Default)]
pub struct EnvFacts {
    /// Running in GitHub Actions (`GITHUB_ACTIONS=true`).
    pub github_actions: bool,
    /// `GITHUB_STEP_SUMMARY`: a Markdown file to append reports to.
    pub step_summary: Option<PathBuf>,
    /// `IMGCTL_NOW`: a fixed "now" (RFC 3339), for tests and reproducible runs.
    pub now: Option<DateTime<Utc>>,
    /// `IMGCTL_REGISTRY_USERNAME`.
    pub registry_username: Option<String>,
    /// `IMGCTL_REGISTRY_PASSWORD` (redacted in `Debug`).
    pub registry_password: Option<imgctl_registry::Secret>,
    /// Docker's config directory: `DOCKER_CONFIG`, else `$HOME/.docker`.
    pub docker_config_dir: Option<PathBuf>,
    /// `SSL_CERT_FILE`: a PEM file of CA certificates trusted beside the system store.
    pub ssl_cert_file: Option<PathBuf>,
    /// `SSL_CERT_DIR`: directories (`:`-separated) of CA certificates trusted beside the system store.
    pub ssl_cert_dirs: Vec<PathBuf>,
    /// Docker's system-wide per-registry CA directory: `IMGCTL_CERTS_D`, else `/etc/docker/certs.d`.
    pub certs_d: PathBuf,
    /// `GITHUB_API_URL` (set by GitHub Actions): GitHub's REST API, for GHCR cleanup and announcements.
    pub github_api_url: Option<String>,
    /// `IMGCTL_GITHUB_TOKEN`, else `GITHUB_TOKEN` (redacted in `Debug`).
    pub github_token: Option<imgctl_registry::Secret>,
    /// Who runs imgctl (for promotion records): `GITHUB_ACTOR`, else `USER`.
    pub actor: Option<String>,
    /// The GitHub Actions run: `GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID`.
    pub run_url: Option<String>,
    /// The repository's web address, `GITHUB_SERVER_URL/GITHUB_REPOSITORY` (compare URLs of
    /// what changed, docs/CHANGES.md).
    pub forge: Option<String>,
    /// The columns human tables fit: `COLUMNS` when set to a number, else the terminal's
    /// width when stdout is one, else [`crate::output::DEFAULT_WIDTH`].
    pub width: usize,
    /// The folder imgctl runs in (where the manifest search starts).
    pub cwd: Option<PathBuf>,
    /// The layer inventory cache: `$XDG_CACHE_HOME/imgctl/layers`, else `$HOME/.cache/imgctl/layers`.
    pub layer_cache: Option<PathBuf>,
    /// The document cache (SBOM documents by digest, `imgctl_registry::documents`):
    /// `$XDG_CACHE_HOME/imgctl/documents`, else `$HOME/.cache/imgctl/documents`.
    pub document_cache: Option<PathBuf>,
}

impl EnvFacts {
    /// Reads the facts from the process environment.
    pub fn from_process() -> Result<EnvFacts, CliError> {
        let now = match std::env::var("IMGCTL_NOW") {
            Ok(s) if !s.is_empty() => Some(
                DateTime::parse_from_rfc3339(&s)
                    .map_err(|e| CliError::Usage(format!("parse IMGCTL_NOW '{s}' as an RFC 3339 time: {e}")))?
                    .with_timezone(&Utc),
            ),
            _ => None,
        };
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let run_url = match (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY"), var("GITHUB_RUN_ID")) {
            (Some(server), Some(repo), Some(run)) => Some(format!("{}/{repo}/actions/runs/{run}", server.trim_end_matches('/'))),
            _ => None,
        };
        let forge = match (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY")) {
            (Some(server), Some(repo)) => Some(format!("{}/{repo}", server.trim_end_matches('/'))),
            _ => None,
        };
        let cache_home = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")));
        let layer_cache = cache_home.as_ref().map(|c| c.join("imgctl/layers"));
        let document_cache = cache_home.map(|c| c.join("imgctl/documents"));
        let columns = var("COLUMNS").and_then(|c| c.trim().parse::<usize>().ok()).filter(|c| *c > 0);
        let terminal = || terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0));
        Ok(EnvFacts {
            width: columns.or_else(terminal).unwrap_or(crate::output::DEFAULT_WIDTH),
            cwd: std::env::current_dir().ok(),
            layer_cache,
            document_cache,
            actor: var("GITHUB_ACTOR").or_else(|| var("USER")),
            run_url,
            forge,
            github_api_url: var("GITHUB_API_URL"),
            github_token: var("IMGCTL_GITHUB_TOKEN").or_else(|| var("GITHUB_TOKEN")).map(imgctl_registry::Secret::new),
            github_actions: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            step_summary: std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()).map(PathBuf::from),
            now,
            registry_username: std::env::var("IMGCTL_REGISTRY_USERNAME").ok().filter(|v| !v.is_empty()),
            registry_password: std::env::var("IMGCTL_REGISTRY_PASSWORD").ok().filter(|v| !v.is_empty()).map(imgctl_registry::Secret::new),
            docker_config_dir: std::env::var_os("DOCKER_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".docker"))),
            ssl_cert_file: std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty()).map(PathBuf::from),
            ssl_cert_dirs: std::env::var_os("SSL_CERT_DIR").map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect()).unwrap_or_default(),
            certs_d: std::env::var_os("IMGCTL_CERTS_D").filter(|v| !v.is_empty()).map_or_else(|| PathBuf::from(DOCKER_CERTS_D), PathBuf::from),
        })
    }
}

/// Everything a command runs with.
pub struct Env<'a> {
    /// The global flags.
    pub global: GlobalArgs,
    /// Where results go (stdout).
    pub out: &'a mut dyn Write,
    /// Environment facts.
    pub facts: EnvFacts,
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env").field("global", &self.global).field("facts", &self.facts).finish_non_exhaustive()
    }
}

impl Env<'_> {
    /// The current time (or `IMGCTL_NOW`).
    pub fn now(&self) -> DateTime<Utc> {
        self.facts.now.unwrap_or_else(Utc::now)
    }
}
