//! GHCR: ghcr.io answers `DELETE /v2/…` with 405; an image is deleted as a *package version*
//! through GitHub's packages REST API (docs: "List package versions for a package owned by
//! an organization/user", "Delete package version for an organization/user"):
//! `GET {api}/orgs/{owner}/packages/container/{package}/versions?per_page=100` (paged by
//! `Link: rel="next"`) gives every version's `id`, `name` (the digest) and
//! `metadata.container.tags`; `DELETE …/versions/{id}` (204) removes the manifest with every
//! tag of it. The owner is the repository's first segment, the package the rest,
//! URL-encoded (`a/b` → `a%2Fb`); an owner whose `/orgs/` path is 404 is a user (`/users/`).

use std::collections::HashMap;
use std::sync::Mutex;

use futures_util::future::BoxFuture;
use reqwest::header::HeaderMap;
use reqwest::{Method, Url};

use super::{DeleteRules, Inventory, KindOps, KindRules};
use crate::Result;
use crate::answer::{MAX_LISTING_BYTES, next_of, read_limited};
use crate::error::{RegistryError, Target};
use crate::github::{self, GithubApi};
use crate::secret::Secret;
use crate::transport::{Call, success_or_404};

/// Versions per page (GitHub's most).
const PER_PAGE: usize = 100;

/// What the permission to delete a version is, for the 403 message.
const DELETE_RIGHTS: &str = "the token may read the package but not delete its versions: use a classic personal access token with `delete:packages` (and `read:packages`), or the `GITHUB_TOKEN` of a workflow with `permissions: packages: write` in a repository that has the Admin role on the package (package settings → Manage Actions access)";

#[derive(Debug, Default)]
struct Known {
    /// `/orgs/{owner}` or `/users/{owner}` once a listing found the package there.
    owner_path: Option<String>,
    /// Digest → version id, from the last listing.
    ids: HashMap<String, u64>,
}

#[derive(Debug)]
pub(crate) struct Ghcr {
    api: GithubApi,
    known: Mutex<Known>,
}

#[derive(serde::Deserialize)]
struct Version {
    id: u64,
    name: String,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(serde::Deserialize)]
struct Metadata {
    #[serde(default)]
    container: Option<Container>,
}

#[derive(serde::Deserialize)]
struct Container {
    #[serde(default)]
    tags: Vec<String>,
}

/// The owner and the URL-encoded package name of `repo`.
pub(crate) fn owner_and_package(repo: &str) -> Option<(&str, String)> {
    let (owner, rest) = repo.split_once('/')?;
    Some((owner, rest.replace('%', "%25").replace('/', "%2F")))
}

impl Ghcr {
    pub(crate) fn new(api: GithubApi) -> Ghcr {
        Ghcr { api, known: Mutex::new(Known::default()) }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn url(&self, op: &'static str, target: &Target, path: &str) -> Result<Url> {
        Url::parse(&format!("{}{path}", self.api.base.trim_end_matches('/')))
            .map_err(|e| RegistryError::InvalidReference { reference: self.api.base.clone(), reason: format!("{op} {target}: GITHUB_API_URL is not a URL: {e}") })
    }

    fn auth(&self, target: &Target) -> Result<Secret> {
        match self.api.bearer() {
            Some(b) => Ok(b),
            None => Err(RegistryError::AuthRefused {
                op: "use GitHub's packages API for",
                target: Box::new(target.clone()),
                status: 401,
                reason: "no GitHub token: set IMGCTL_GITHUB_TOKEN or GITHUB_TOKEN (or the registry password) to a token that may read and delete the package's versions".into(),
            }),
        }
    }

    /// One API request on the client's request path (in-flight limit, deadline, retries);
    /// `None` for a 404.
    async fn request(&self, client: &dyn KindOps, op: &'static str, target: &Target, method: Method, url: Url) -> Result<Option<(Option<String>, bytes::Bytes)>> {
        let refuse = |status: u16, h: &HeaderMap, body: &[u8]| github::refusal(op, target, status, h, body, |status, message| api_error(op, target, status, message));
        let call = Call { auth: Some(self.auth(target)?), takes: success_or_404, build: &github::headers, refuse: Some(&refuse), ..Call::new(op, target, method, url) };
        client
            .transport()
            .exchange(&call, |resp| async move {
                if resp.status().as_u16() == 404 {
                    return Ok(None);
                }
                let next = next_of(resp.headers());
                Ok(Some((next, read_limited(op, target, resp, MAX_LISTING_BYTES).await?)))
            })
            .await
    }

    /// Every version of the package, following `Link: rel="next"`; remembers digest → id.
    async fn versions(&self, client: &dyn KindOps, repo: &str) -> Result<Vec<Version>> {
        let (op, target) = ("list package versions of", client.target(repo, None));
        let Some((owner, package)) = owner_and_package(repo) else {
            return Err(RegistryError::InvalidReference { reference: repo.into(), reason: "a GHCR repository is owner/package".into() });
        };
        let known = self.known().owner_path.clone();
        let candidates = match known {
            Some(p) => vec![p],
            None => vec![format!("/orgs/{owner}"), format!("/users/{owner}")],
        };
        for owner_path in candidates {
            let mut url = self.url(op, &target, &format!("{owner_path}/packages/container/{package}/versions?per_page={PER_PAGE}"))?;
            let mut all = Vec::new();
            let mut seen = std::collections::HashSet::new();
            loop {
                seen.insert(url.clone());
                let Some((next, body)) = self.request(client, op, &target, Method::GET, url.clone()).await? else {
                    break;
                };
                let page: Vec<Version> = serde_json::from_slice(&body)
                    .map_err(|e| RegistryError::Protocol { op, target: Box::new(target.clone()), reason: format!("the package versions are not the expected JSON: {e}") })?;
                let empty = page.is_empty();
                all.extend(page);
                match next.and_then(|n| url.join(&n).ok()) {
                    Some(n) if !empty && !seen.contains(&n) => url = n,
                    _ => {
                        let mut k = self.known();
                        k.owner_path = Some(owner_path);
                        k.ids = all.iter().map(|v| (v.name.clone(), v.id)).collect();
                        return Ok(all);
                    }
                }
            }
        }
        Err(RegistryError::NotFound { op, target: Box::new(target), detail: format!(": no container package '{package}' of organisation or user '{owner}' at {} (is the repository right, and may the token read the package?)", self.api.base) })
    }
}

/// A GitHub API error answer as a registry error: 401/403 refuse access (exit 3), with
/// the permission a 403 on a delete lacks.
fn api_error(op: &'static str, target: &Target, status: u16, message: String) -> RegistryError {
    let target = Box::new(target.clone());
    match status {
        403 if op == DELETE_OP => RegistryError::AuthRefused { op, target, status, reason: format!("GitHub says '{message}': {DELETE_RIGHTS}") },
        401 | 403 => RegistryError::AuthRefused { op, target, status, reason: format!("GitHub refused the token: '{message}' (it needs `read:packages` to list and `delete:packages` to delete)") },
        _ => RegistryError::Http { op, target, status, message },
    }
}

const DELETE_OP: &str = "delete package version of";

impl KindRules for Ghcr {
    fn delete_rules(&self) -> DeleteRules {
        DeleteRules { via_registry: false, ..DeleteRules::default() }
    }

    fn inventory<'a>(&'a self, client: &'a dyn KindOps, repo: &'a str) -> BoxFuture<'a, Result<Option<Inventory>>> {
        Box::pin(async move {
            if self.api.token.as_ref().is_none_or(Secret::is_empty) {
                // without a token the plan comes from the tag listing; deleting will say why it cannot
                return Ok(None);
            }
            let versions = self.versions(client, repo).await?;
            Ok(Some(versions.into_iter().map(|v| (v.name, v.metadata.and_then(|m| m.container).map(|c| c.tags).unwrap_or_default())).collect()))
        })
    }

    fn delete<'a>(&'a self, client: &'a dyn KindOps, repo: &'a str, digest: &'a str, tags: &'a [String]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let target = client.target(repo, Some(digest));
            confirm(client, repo, digest, tags).await?;
            let cached = self.known().ids.get(digest).copied();
            let id = match cached {
                Some(id) => id,
                None => {
                    self.versions(client, repo).await?;
                    match self.known().ids.get(digest).copied() {
                        Some(id) => id,
                        None => return Err(RegistryError::NotFound { op: DELETE_OP, target: Box::new(target), detail: ": no package version has this digest".into() }),
                    }
                }
            };
            let Some((owner, package)) = owner_and_package(repo) else {
                return Err(RegistryError::InvalidReference { reference: repo.into(), reason: "a GHCR repository is owner/package".into() });
            };
            let owner_path = self.known().owner_path.clone().unwrap_or_else(|| format!("/orgs/{owner}"));
            let url = self.url(DELETE_OP, &target, &format!("{owner_path}/packages/container/{package}/versions/{id}"))?;
            match self.request(client, DELETE_OP, &target, Method::DELETE, url).await? {
                Some(_) => Ok(()),
                None => Err(RegistryError::NotFound { op: DELETE_OP, target: Box::new(target), detail: format!(": package version {id}") }),
            }
        })
    }
}

/// The packages API's data may be stale: before a version is deleted, a HEAD of each tag the
/// plan saw on `digest` must still find it there (a tag gone since is fine: nothing to lose).
/// A tag on another digest now means the plan was made with stale data: nothing is deleted.
async fn confirm(client: &dyn KindOps, repo: &str, digest: &str, tags: &[String]) -> Result<()> {
    for tag in tags {
        match client.resolve(repo, tag).await {
            Ok(d) if d.digest == digest => {}
            Ok(d) => {
                let reason = format!("GitHub's packages API listed tag '{tag}' on {digest}, but the registry has it on {} now: the listing is stale, so this version is not deleted (run gc again)", d.digest);
                return Err(RegistryError::Protocol { op: DELETE_OP, target: Box::new(client.target(repo, Some(digest))), reason });
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_is_the_first_segment_and_the_package_the_rest_encoded() {
        assert_eq!(owner_and_package("acme/build-images"), Some(("acme", "build-images".to_string())));
        assert_eq!(owner_and_package("acme/a/b"), Some(("acme", "a%2Fb".to_string())));
        assert_eq!(owner_and_package("single"), None);
    }

    /// A client whose registry has every tag on `on` (or none, with `None`).
    struct Registry {
        transport: crate::transport::Transport,
        on: Option<&'static str>,
    }

    impl KindOps for Registry {
        fn transport(&self) -> &crate::transport::Transport {
            &self.transport
        }
        fn target(&self, repo: &str, reference: Option<&str>) -> Target {
            Target::new("ghcr.io", repo, reference)
        }
        fn resolve<'a>(&'a self, repo: &'a str, reference: &'a str) -> BoxFuture<'a, Result<crate::Descriptor>> {
            Box::pin(async move {
                match self.on {
                    Some(d) => Ok(crate::Descriptor { digest: d.into(), media_type: crate::OCI_MANIFEST.into(), size: 2 }),
                    None => Err(RegistryError::NotFound { op: "resolve", target: Box::new(self.target(repo, Some(reference))), detail: String::new() }),
                }
            })
        }
        fn delete_v2<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<()>> {
            unreachable!("GHCR deletes through the packages API")
        }
    }

    fn registry(on: Option<&'static str>) -> Registry {
        let setup = crate::transport::Setup {
            registry: "ghcr.io".into(),
            base: Url::parse("https://ghcr.io/v2/").unwrap(),
            insecure: Vec::new(),
            concurrency: 1,
            retry: crate::RetryPolicy::default(),
            deadlines: crate::Deadlines::default(),
        };
        Registry { transport: crate::transport::Transport::new(setup, reqwest::Client::builder()).unwrap(), on }
    }

    #[tokio::test]
    async fn a_version_is_deleted_only_when_a_head_confirms_every_planned_tag() {
        let ghcr = Ghcr::new(GithubApi { base: "https://api.github.invalid".into(), token: Some(Secret::new("t")) });
        let (planned, other) = (format!("sha256:{}", "a".repeat(64)), "sha256:bbbb");
        let stale = registry(Some(other));
        let e = ghcr.delete(&stale, "acme/img", &planned, &["x-latest".into()]).await.unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("'x-latest'") && msg.contains(other) && msg.contains("stale") && msg.contains("not deleted"), "{msg}");
        assert_eq!(stale.transport.stats().total(), 0, "no API request: nothing deleted");
        // the tags still there, or gone since: confirmed
        let still: &'static str = Box::leak(planned.clone().into_boxed_str());
        for r in [registry(Some(still)), registry(None)] {
            confirm(&r, "acme/img", &planned, &["x-latest".into(), "x-2026".into()]).await.unwrap();
        }
        confirm(&stale, "acme/img", &planned, &[]).await.unwrap();
    }
}
