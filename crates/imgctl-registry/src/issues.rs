//! [`IssuesClient`]: GitHub's Issues and Issue-comments REST API (version 2022-11-28) for one
//! repository — list open issues by label, create and update an issue, list and create its
//! comments — on the crate's one request path (in-flight limit, deadline, retries, the token
//! only where credentials may go) with GitHub's headers, rate limits and error bodies
//! ([`crate::github`]). Every error names the endpoint (method and path) and the HTTP status,
//! with advice for the cause: a refused token (exit 3), a token without `issues: write`
//! (exit 3), an unknown repository, issues turned off (410), a request GitHub rejected (422).
//!
//! Listing and updating are retried like every request; creating (POST) is sent once, since
//! an answer lost after GitHub created the issue would otherwise make a second one — callers
//! find what they made by its key on the next run.

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, RequestBuilder, Url};
use serde::{Deserialize, Serialize};

use crate::answer::{MAX_LISTING_BYTES, next_of, read_limited};
use crate::client::{ClientOptions, http_builder};
use crate::error::{RegistryError, Target};
use crate::github::{self, GithubApi};
use crate::transport::{Call, Setup, Transport, host_port};
use crate::{RequestStats, Result};

/// An issue as GitHub lists it (the fields the announcements use).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Issue {
    /// Its number in the repository.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its body (Markdown), if any.
    #[serde(default)]
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    /// Its page on GitHub.
    pub html_url: String,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Present when the "issue" is a pull request (the issues listing includes them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<serde_json::Value>,
}

/// A label of an issue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Label {
    /// Its name.
    pub name: String,
}

/// A comment on an issue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Comment {
    /// Its id.
    pub id: u64,
    /// Its body (Markdown).
    #[serde(default)]
    pub body: Option<String>,
    /// Its place on GitHub.
    pub html_url: String,
}

/// What "Update an issue" changes (absent fields stay as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IssueUpdate {
    /// A new title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A new body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `open` or `closed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The labels (replacing the issue's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
}

/// The issues of one repository through GitHub's REST API.
#[derive(Debug)]
pub struct IssuesClient {
    api: GithubApi,
    repository: String,
    /// `api host[/path]`, as errors name it.
    host: String,
    transport: Transport,
}

const LIST: &str = "list issues: GET";
const CREATE: &str = "create an issue: POST";
const UPDATE: &str = "update an issue: PATCH";
const COMMENTS: &str = "list issue comments: GET";
const COMMENT: &str = "comment on an issue: POST";

impl IssuesClient {
    /// A client for `repository` (`owner/name`) at `api`, with `opts`' timeouts, retries,
    /// CA trust and insecure hosts (its `registry` is not used). No request yet.
    pub fn new(api: GithubApi, repository: &str, opts: &ClientOptions) -> Result<IssuesClient> {
        let invalid = |reason: String| RegistryError::InvalidReference { reference: repository.to_owned(), reason };
        let safe = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        match repository.split_once('/') {
            Some((o, n)) if safe(o) && safe(n) => {}
            _ => return Err(invalid("a GitHub repository is OWNER/NAME (set --repository or GITHUB_REPOSITORY)".into())),
        }
        let base = Url::parse(&format!("{}/", api.base.trim_end_matches('/')))
            .map_err(|e| RegistryError::InvalidReference { reference: api.base.clone(), reason: format!("GITHUB_API_URL is not a URL: {e}") })?;
        let host = format!("{}{}", host_port(&base), base.path().trim_end_matches('/'));
        let setup_error = |reason: String| RegistryError::Unreachable { op: "set up a client for", target: Box::new(Target::new(&host, "", None)), reason };
        let builder = http_builder(opts, &host_port(&base)).map_err(setup_error)?;
        let setup = Setup { registry: host_port(&base), base, insecure: opts.insecure_hosts.clone(), concurrency: opts.concurrency, retry: opts.retry.clone(), deadlines: opts.deadlines };
        let transport = Transport::new(setup, builder).map_err(setup_error)?;
        Ok(IssuesClient { api, repository: repository.to_owned(), host, transport })
    }

    /// The repository (`owner/name`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// Requests made so far.
    pub fn stats(&self) -> RequestStats {
        self.transport.stats()
    }

    /// Every open issue with `label` (pull requests left out), newest first, all pages.
    pub async fn open_with_label(&self, label: &str) -> Result<Vec<Issue>> {
        let mut url = self.url("issues")?;
        url.query_pairs_mut().append_pair("state", "open").append_pair("labels", label).append_pair("per_page", "100");
        let all: Vec<Issue> = self.pages(LIST, url).await?;
        Ok(all.into_iter().filter(|i| i.pull_request.is_none()).collect())
    }

    /// Opens an issue.
    pub async fn create(&self, title: &str, body: &str, labels: &[&str]) -> Result<Issue> {
        let json = serde_json::json!({ "title": title, "body": body, "labels": labels });
        self.send(CREATE, Method::POST, self.url("issues")?, &json).await
    }

    /// Changes issue `number`.
    pub async fn update(&self, number: u64, update: &IssueUpdate) -> Result<Issue> {
        let json = serde_json::to_value(update).map_err(|e| RegistryError::Protocol { op: UPDATE, target: Box::new(self.target("issues")), reason: e.to_string() })?;
        self.send(UPDATE, Method::PATCH, self.url(&format!("issues/{number}"))?, &json).await
    }

    /// Every comment of issue `number`, oldest first, all pages.
    pub async fn comments(&self, number: u64) -> Result<Vec<Comment>> {
        let mut url = self.url(&format!("issues/{number}/comments"))?;
        url.query_pairs_mut().append_pair("per_page", "100");
        self.pages(COMMENTS, url).await
    }

    /// Adds a comment to issue `number`.
    pub async fn comment(&self, number: u64, body: &str) -> Result<Comment> {
        self.send(COMMENT, Method::POST, self.url(&format!("issues/{number}/comments"))?, &serde_json::json!({ "body": body })).await
    }

    fn target(&self, path: &str) -> Target {
        Target::new(&self.host, &format!("repos/{}/{path}", self.repository), None)
    }

    fn url(&self, path: &str) -> Result<Url> {
        let full = format!("repos/{}/{path}", self.repository);
        self.transport.base.join(&full).map_err(|e| RegistryError::InvalidReference { reference: full, reason: e.to_string() })
    }

    /// Every page of a listing, following `Link: rel="next"`.
    async fn pages<T: serde::de::DeserializeOwned>(&self, op: &'static str, first: Url) -> Result<Vec<T>> {
        let target = self.target(first.path().split_once(&format!("repos/{}/", self.repository)).map_or("issues", |(_, p)| p));
        let (mut url, mut all, mut seen) = (first, Vec::new(), std::collections::HashSet::new());
        loop {
            seen.insert(url.clone());
            let (next, body) = self.exchange(op, &target, Method::GET, url.clone(), None).await?;
            let page: Vec<T> = serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol { op, target: Box::new(target.clone()), reason: format!("the answer is not the expected JSON: {e}") })?;
            let empty = page.is_empty();
            all.extend(page);
            match next.and_then(|n| url.join(&n).ok()) {
                Some(n) if !empty && !seen.contains(&n) => url = n,
                _ => return Ok(all),
            }
        }
    }

    /// One request with a JSON body, read as `T`.
    async fn send<T: serde::de::DeserializeOwned>(&self, op: &'static str, method: Method, url: Url, json: &serde_json::Value) -> Result<T> {
        let target = self.target(url.path().split_once(&format!("repos/{}/", self.repository)).map_or("issues", |(_, p)| p));
        let (_, body) = self.exchange(op, &target, method, url, Some(Bytes::from(json.to_string()))).await?;
        serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol { op, target: Box::new(target), reason: format!("the answer is not the expected JSON: {e}") })
    }

    async fn exchange(&self, op: &'static str, target: &Target, method: Method, url: Url, body: Option<Bytes>) -> Result<(Option<String>, Bytes)> {
        let Some(auth) = self.api.bearer() else {
            let reason = "no GitHub token: set IMGCTL_GITHUB_TOKEN or GITHUB_TOKEN (in a workflow: `GITHUB_TOKEN: ${{ github.token }}` with `permissions: issues: write`)".into();
            return Err(RegistryError::AuthRefused { op, target: Box::new(target.clone()), status: 401, reason });
        };
        let single = method == Method::POST;
        let build = |r: RequestBuilder| {
            let r = github::headers(r)?;
            Ok(match &body {
                Some(b) => r.header(CONTENT_TYPE, "application/json").body(b.clone()),
                None => r,
            })
        };
        let repository = self.repository.as_str();
        let refuse = |status: u16, h: &HeaderMap, b: &[u8]| github::refusal(op, target, status, h, b, |status, message| error(op, target, repository, status, message));
        let call = Call { auth: Some(auth), build: &build, refuse: Some(&refuse), single, ..Call::new(op, target, method, url) };
        self.transport
            .exchange(&call, |resp| async move {
                let next = next_of(resp.headers());
                Ok((next, read_limited(op, target, resp, MAX_LISTING_BYTES).await?))
            })
            .await
    }
}

/// A refusal of the Issues API as an error, with what to do about its cause.
fn error(op: &'static str, target: &Target, repository: &str, status: u16, message: String) -> RegistryError {
    let t = Box::new(target.clone());
    match status {
        401 => RegistryError::AuthRefused { op, target: t, status, reason: format!("GitHub refused the token ('{message}'): set IMGCTL_GITHUB_TOKEN or GITHUB_TOKEN to a valid token") },
        403 => RegistryError::AuthRefused {
            op,
            target: t,
            status,
            reason: format!("GitHub says '{message}': the token may not write the issues of {repository}: give the workflow job `permissions: issues: write` (a personal access token needs the `repo` scope, a fine-grained one \"Issues: Read and write\")"),
        },
        404 => RegistryError::NotFound { op, target: t, detail: format!(": GitHub says '{message}': no repository '{repository}' (or no such issue), or the token may not see it — check --repository / GITHUB_REPOSITORY and the token's access") },
        410 => RegistryError::Http { op, target: t, status, message: format!("{message}: issues are turned off for {repository}; turn them on (Settings → General → Features → Issues) or stop announcing (the workflow input `announce: false`)") },
        422 => RegistryError::Http { op, target: t, status, message: format!("GitHub rejected the request as invalid: {message}") },
        _ => RegistryError::Http { op, target: t, status, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_are_owner_slash_name_and_errors_name_the_endpoint() {
        let opts = ClientOptions::new("api.github.com");
        for bad in ["acme", "acme/fleet/x", "/fleet", "acme/fl eet", "../x/y"] {
            let e = IssuesClient::new(GithubApi::default(), bad, &opts).unwrap_err();
            assert!(e.to_string().contains("OWNER/NAME"), "{bad}: {e}");
        }
        let api = GithubApi { base: "https://ghes.example/api/v3/".into(), token: None };
        let c = IssuesClient::new(api, "acme/fleet", &opts).unwrap();
        assert_eq!(c.url("issues").unwrap().as_str(), "https://ghes.example/api/v3/repos/acme/fleet/issues");
        assert_eq!(c.target("issues/7/comments").to_string(), "ghes.example/api/v3/repos/acme/fleet/issues/7/comments");
        let e = error(CREATE, &c.target("issues"), "acme/fleet", 410, "Issues are disabled for this repo".into());
        assert_eq!(e.to_string().split(';').next().unwrap(), "create an issue: POST ghes.example/api/v3/repos/acme/fleet/issues: HTTP 410: Issues are disabled for this repo: issues are turned off for acme/fleet");
        assert!(!e.is_access());
        let e = error(COMMENT, &c.target("issues/7/comments"), "acme/fleet", 403, "Resource not accessible by integration".into());
        assert!(e.is_access() && e.to_string().contains("issues: write"), "{e}");
        // a secondary rate limit named only by its message is no missing permission
        let body = br#"{"message":"You have exceeded a secondary rate limit"}"#;
        let t = c.target("issues");
        match crate::github::refusal(LIST, &t, 403, &reqwest::header::HeaderMap::new(), body, |status, m| error(LIST, &t, "acme/fleet", status, m)) {
            crate::retry::Failure::Fatal(e) => assert!(e.to_string().contains("run again later"), "{e}"),
            other => panic!("{other:?}"),
        }
    }
}
