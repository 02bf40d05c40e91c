//! Stand-ins for GitHub's REST API (API version 2022-11-28), for what cannot run here:
//! [`GithubPackages`], the packages API over a real registry (ghcr.io deletes images only
//! through api.github.com), and [`GithubIssues`] (module [`issues`]), the Issues and
//! Issue-comments API the announcements use (its citations are at the top of that module).
//!
//! The packages stand-in follows GitHub's REST documentation:
//! - "List package versions for a package owned by an organization" —
//!   `GET /orgs/{org}/packages/{package_type}/{package_name}/versions` — and "… owned by a
//!   user" — `GET /users/{username}/packages/…/versions`; `page` (1-based) and `per_page`
//!   (default 30, at most 100) query parameters, a `Link` header with `rel="next"` (and
//!   `rel="last"`) while more pages follow ("Using pagination in the REST API");
//! - the package version object: `id`, `name` (for containers the manifest digest), `url`,
//!   `created_at`, `updated_at`, `metadata.package_type` and `metadata.container.tags`,
//!   newest first;
//! - "Delete package version for an organization" / "… for a user" —
//!   `DELETE /orgs/{org}/packages/{package_type}/{package_name}/versions/{package_version_id}`
//!   answering 204 No Content;
//! - rate limits ("Rate limits for the REST API"): 403 with `x-ratelimit-remaining: 0` and
//!   `retry-after`, on demand ([`GithubPackages::rate_limit_next`]);
//! - errors as `{"message": …, "documentation_url": …}`: 401 without a token or with a bad one
//!   ("Requires authentication", "Bad credentials"), 403 for a token that may read but not
//!   delete, 404 for an unknown package or an owner path of the wrong kind (an organisation
//!   path for a user).
//!
//! Versions are the registry's own: every manifest revision in its filesystem storage
//! (`<root>/docker/registry/v2/repositories/<repo>/_manifests/revisions/sha256/<hex>/link`)
//! is a version, its tags are the tag links pointing at it, and its id is derived from the
//! digest (stable across runs). Deleting a version sends `DELETE /v2/<repo>/manifests/<digest>`
//! to a second registry process over the same storage with deletes enabled — so, as on
//! ghcr.io, the manifest goes with every tag of it and any client (skopeo) sees it gone — while
//! the registry the client talks to keeps answering `DELETE /v2` with 405.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};

use crate::registry::TestRegistry;

mod issue_answers;
pub mod issues;
pub use issues::{GithubIssues, IssueRights};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRights {
    /// Read packages only (`read:packages`, or a `GITHUB_TOKEN` without admin on the package).
    Read,
    /// Read and delete (`delete:packages`, or admin on the package).
    Delete,
}

/// Who owns the package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    /// `/orgs/{org}/…`.
    Organization,
    /// `/users/{username}/…`.
    User,
}

#[derive(Debug)]
struct State {
    own: String,
    owner: String,
    owner_kind: OwnerKind,
    repository: String,
    package: String,
    repo_dir: PathBuf,
    deleter: String,
    tokens: BTreeMap<String, TokenRights>,
    requests: Mutex<Vec<String>>,
    rate_limited: std::sync::atomic::AtomicUsize,
    http: reqwest::Client,
}

/// A running stand-in; stops (with the delete-enabled twin registry) when dropped.
#[derive(Debug)]
pub struct GithubPackages {
    state: Arc<State>,
    runtime: Option<tokio::runtime::Runtime>,
    _twin: TestRegistry,
}

impl Drop for GithubPackages {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

impl GithubPackages {
    /// Serves the container package for `repository` (`owner/package…`) of `registry`, which
    /// should run without deletes ([`TestRegistry::start_without_delete`]); `tokens` are
    /// the tokens it accepts.
    pub fn start(registry: &TestRegistry, repository: &str, owner_kind: OwnerKind, tokens: &[(&str, TokenRights)]) -> GithubPackages {
        let twin = registry.twin_with_delete();
        let (listener, port) = crate::serve::bind("GitHub stand-in");
        let (owner, package) = repository.split_once('/').expect("repository is owner/package");
        let state = Arc::new(State {
            own: format!("127.0.0.1:{port}"),
            owner: owner.to_owned(),
            owner_kind,
            repository: repository.to_owned(),
            package: package.replace('/', "%2F"),
            repo_dir: registry.storage_root().join("docker/registry/v2/repositories").join(repository),
            deleter: twin.host(),
            tokens: tokens.iter().map(|(t, r)| (t.to_string(), *r)).collect(),
            requests: Mutex::new(Vec::new()),
            rate_limited: std::sync::atomic::AtomicUsize::new(0),
            http: reqwest::Client::new(),
        });
        let runtime = crate::serve::serve("GitHub stand-in", 1, listener, state.clone(), handle);
        GithubPackages { state, runtime: Some(runtime), _twin: twin }
    }

    /// The API base URL (what `GITHUB_API_URL` would be).
    pub fn url(&self) -> String {
        format!("http://{}", self.state.own)
    }

    /// `METHOD path?query` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().expect("requests lock").clone()
    }

    /// Answers the next `n` requests as GitHub does past its rate limit: 403 with
    /// `x-ratelimit-remaining: 0` and `retry-after: 1` ("Rate limits for the REST API").
    pub fn rate_limit_next(&self, n: usize) {
        self.state.rate_limited.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// The version id the stand-in gives `digest`.
    pub fn version_id(digest: &str) -> u64 {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        u64::from_str_radix(hex.get(..12).unwrap_or("0"), 16).unwrap_or(0)
    }
}

/// One manifest revision of the repository: digest, tags, when its link was written.
fn versions(repo_dir: &Path) -> Vec<(String, Vec<String>, std::time::SystemTime)> {
    let link = |p: PathBuf| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned());
    let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in std::fs::read_dir(repo_dir.join("_manifests/tags")).into_iter().flatten().flatten() {
        if let Some(d) = link(e.path().join("current/link")) {
            tags.entry(d).or_default().push(e.file_name().to_string_lossy().into_owned());
        }
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(repo_dir.join("_manifests/revisions/sha256")).into_iter().flatten().flatten() {
        let path = e.path().join("link");
        let (Some(digest), Ok(meta)) = (link(path.clone()), std::fs::metadata(&path)) else { continue };
        let mut t = tags.remove(&digest).unwrap_or_default();
        t.sort();
        out.push((digest, t, meta.modified().unwrap_or(std::time::UNIX_EPOCH)));
    }
    // newest first, as GitHub lists them; ties by digest so pages are stable
    out.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    out
}

fn json(status: u16, value: serde_json::Value) -> Response<Body> {
    let body = Full::new(Bytes::from(value.to_string())).boxed();
    Response::builder().status(status).header("content-type", "application/json; charset=utf-8").body(body).expect("a response")
}

fn error(status: u16, message: &str, doc: &str) -> Response<Body> {
    json(status, serde_json::json!({ "message": message, "documentation_url": format!("https://docs.github.com/rest/{doc}") }))
}

fn query(q: &str, key: &str) -> Option<usize> {
    q.split('&').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

fn time(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let method = req.method().as_str().to_owned();
    let full = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    state.requests.lock().expect("requests lock").push(format!("{method} {full}"));
    let (path, q) = full.split_once('?').unwrap_or((&full, ""));
    let limited = state.rate_limited.fetch_update(std::sync::atomic::Ordering::SeqCst, std::sync::atomic::Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    if limited {
        let mut r = error(403, "API rate limit exceeded for installation.", "overview/rate-limits-for-the-rest-api");
        r.headers_mut().insert("x-ratelimit-remaining", "0".parse().expect("a header value"));
        r.headers_mut().insert("retry-after", "1".parse().expect("a header value"));
        return Ok(r);
    }
    let token = req.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("token ")));
    let rights = match token {
        None => return Ok(error(401, "Requires authentication", "packages/packages")),
        Some(t) => match state.tokens.get(t) {
            Some(r) => *r,
            None => return Ok(error(401, "Bad credentials", "packages/packages")),
        },
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (owner_kind, rest) = match segments.as_slice() {
        ["orgs", owner, "packages", "container", pkg, rest @ ..] if *owner == state.owner => (OwnerKind::Organization, (*pkg, rest)),
        ["users", owner, "packages", "container", pkg, rest @ ..] if *owner == state.owner => (OwnerKind::User, (*pkg, rest)),
        _ => return Ok(error(404, "Not Found", "packages/packages")),
    };
    if owner_kind != state.owner_kind || !rest.0.eq_ignore_ascii_case(&state.package) {
        return Ok(error(404, "Package not found.", "packages/packages#list-package-versions-for-a-package-owned-by-an-organization"));
    }
    let base = format!("http://{}{}", state.own, segments[..5].iter().fold(String::new(), |s, p| s + "/" + p));
    match (method.as_str(), rest.1) {
        ("GET", ["versions"]) => {
            let per_page = query(q, "per_page").unwrap_or(30).clamp(1, 100);
            let page = query(q, "page").unwrap_or(1).max(1);
            let all = versions(&state.repo_dir);
            let last = all.len().div_ceil(per_page).max(1);
            let items: Vec<serde_json::Value> = all
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|(digest, tags, at)| {
                    let id = GithubPackages::version_id(digest);
                    serde_json::json!({
                        "id": id,
                        "name": digest,
                        "url": format!("{base}/versions/{id}"),
                        "package_html_url": format!("https://github.com/{}/packages", state.owner),
                        "created_at": time(*at),
                        "updated_at": time(*at),
                        "html_url": format!("https://github.com/{}/pkgs/container/{}/{id}", state.owner, state.package),
                        "metadata": { "package_type": "container", "container": { "tags": tags } }
                    })
                })
                .collect();
            let mut resp = json(200, serde_json::Value::Array(items));
            if page < last {
                let link = format!("<{base}/versions?per_page={per_page}&page={}>; rel=\"next\", <{base}/versions?per_page={per_page}&page={last}>; rel=\"last\"", page + 1);
                resp.headers_mut().insert("link", link.parse().expect("a header value"));
            }
            Ok(resp)
        }
        ("DELETE", ["versions", id]) => {
            let Some((digest, ..)) = versions(&state.repo_dir).into_iter().find(|(d, ..)| GithubPackages::version_id(d).to_string() == *id) else {
                return Ok(error(404, "Not Found", "packages/packages#delete-package-version-for-an-organization"));
            };
            if rights != TokenRights::Delete {
                return Ok(error(403, "Resource not accessible by integration", "packages/packages#delete-package-version-for-an-organization"));
            }
            let url = format!("http://{}/v2/{}/manifests/{digest}", state.deleter, state.repository);
            match state.http.delete(url).send().await {
                Ok(r) if r.status().is_success() => Ok(Response::builder().status(204).body(Full::new(Bytes::new()).boxed()).expect("a response")),
                Ok(r) => Ok(error(500, &format!("the registry answered {}", r.status()), "packages/packages")),
                Err(e) => Ok(error(500, &format!("the registry is unreachable: {e}"), "packages/packages")),
            }
        }
        _ => Ok(error(404, "Not Found", "packages/packages")),
    }
}
