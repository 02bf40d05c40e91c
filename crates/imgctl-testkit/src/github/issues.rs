//! [`GithubIssues`]: a stand-in for GitHub's Issues and Issue-comments REST API (the
//! announcements' `[ROLLOUT]` issues and `[ROLLBACK]` comments), in memory, on loopback.
//!
//! It follows GitHub's REST documentation (API version 2022-11-28, "REST API endpoints for
//! issues" and "REST API endpoints for issue comments"):
//! - "List repository issues" — `GET /repos/{owner}/{repo}/issues`: `state` (`open` by
//!   default, `closed`, `all`), `labels` (comma-separated names; an issue must have every
//!   one), `creator` (a login), newest first (`sort=created`, `direction=desc` by default),
//!   `per_page` (default 30, at most 100) and `page` (1-based) with a `Link` header naming
//!   `rel="next"` and `rel="last"` while more pages follow ("Using pagination in the REST
//!   API"); 200 with an array of issue objects;
//! - "Create an issue" — `POST /repos/{owner}/{repo}/issues` with `title` (required), `body`,
//!   `labels` (names; unknown ones are created); 201 with the issue and a `Location` header;
//! - "Get an issue" — `GET /repos/{owner}/{repo}/issues/{issue_number}`;
//! - "Update an issue" — `PATCH /repos/{owner}/{repo}/issues/{issue_number}` with any of
//!   `title`, `body`, `state` (`open`/`closed`), `state_reason`, `labels` (replaces them); 200;
//! - "List issue comments" — `GET /repos/{owner}/{repo}/issues/{issue_number}/comments`,
//!   oldest first, paged as above;
//! - "Create an issue comment" — `POST /repos/{owner}/{repo}/issues/{issue_number}/comments`
//!   with `body` (required); 201 with the comment and a `Location` header;
//! - the issue object (`id`, `node_id`, `url`, `repository_url`, `comments_url`, `html_url`,
//!   `number`, `state`, `state_reason`, `title`, `body`, `user`, `labels` as objects with
//!   `name`, `comments` as a count, `created_at`, `updated_at`, `closed_at`, …) and the
//!   comment object (`id`, `node_id`, `url`, `html_url`, `body`, `user`, `created_at`,
//!   `updated_at`, `issue_url`, `author_association`);
//! - errors ("Troubleshooting the REST API", each endpoint's status codes) as
//!   `{"message", "documentation_url", "status"}`: 401 without a token ("Requires
//!   authentication") or with an unknown one ("Bad credentials"); 403 "Resource not accessible
//!   by integration" for a token without `issues: write` that writes; 404 "Not Found" for an
//!   unknown repository or issue; 410 "Issues are disabled for this repo"; 400 "Problems
//!   parsing JSON"; 422 "Validation Failed" with `errors: [{"resource", "field", "code"}]`
//!   (`missing_field`, `invalid`, or `custom` with a `message`, e.g. a body over 65536
//!   characters); rate limits as the packages stand-in answers them (403 with
//!   `x-ratelimit-remaining: 0` and `retry-after`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::Value;

use super::issue_answers::{comment_json, created, error, invalid, issue_json, page, too_long};
use super::{Body, json as answer};

/// What a token may do with issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueRights {
    /// Read issues only (a workflow's `GITHUB_TOKEN` with `issues: read`, or none granted).
    Read,
    /// Read and write (`issues: write`).
    Write,
}

/// The most characters GitHub takes in an issue's or a comment's body.
pub const MAX_BODY_CHARS: usize = 65536;

/// The login the stand-in's tokens act as (GitHub Actions' `GITHUB_TOKEN` does).
pub const LOGIN: &str = "github-actions[bot]";

#[derive(Debug, Clone)]
pub(super) struct Comment {
    pub(super) id: u64,
    pub(super) body: String,
    pub(super) user: String,
    pub(super) at: String,
}

#[derive(Debug, Clone)]
pub(super) struct Issue {
    pub(super) number: u64,
    pub(super) title: String,
    pub(super) body: Option<String>,
    pub(super) state: String,
    pub(super) state_reason: Option<String>,
    pub(super) labels: Vec<String>,
    pub(super) user: String,
    pub(super) created_at: String,
    pub(super) updated_at: String,
    pub(super) closed_at: Option<String>,
    pub(super) comments: Vec<Comment>,
}

impl Issue {
    fn new(number: u64, title: &str, body: Option<String>, labels: Vec<String>, user: &str) -> Issue {
        let at = now();
        Issue { number, title: title.into(), body, state: "open".into(), state_reason: None, labels, user: user.into(), created_at: at.clone(), updated_at: at, closed_at: None, comments: Vec::new() }
    }
}

#[derive(Debug)]
pub(super) struct State {
    pub(super) own: String,
    pub(super) repository: String,
    pub(super) tokens: BTreeMap<String, IssueRights>,
    pub(super) issues: Mutex<Vec<Issue>>,
    pub(super) next_comment: AtomicUsize,
    pub(super) requests: Mutex<Vec<String>>,
    pub(super) rate_limited: AtomicUsize,
    pub(super) disabled: AtomicBool,
}

/// A running stand-in for one repository's issues; stops when dropped.
#[derive(Debug)]
pub struct GithubIssues {
    state: Arc<State>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for GithubIssues {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl GithubIssues {
    /// Serves the issues of `repository` (`owner/name`) to `tokens`.
    pub fn start(repository: &str, tokens: &[(&str, IssueRights)]) -> GithubIssues {
        assert!(repository.split('/').count() == 2, "repository is owner/name");
        let (listener, port) = crate::serve::bind("GitHub issues stand-in");
        let state = Arc::new(State {
            own: format!("127.0.0.1:{port}"),
            repository: repository.to_owned(),
            tokens: tokens.iter().map(|(t, r)| (t.to_string(), *r)).collect(),
            issues: Mutex::new(Vec::new()),
            next_comment: AtomicUsize::new(1000),
            requests: Mutex::new(Vec::new()),
            rate_limited: AtomicUsize::new(0),
            disabled: AtomicBool::new(false),
        });
        let runtime = crate::serve::serve("GitHub issues stand-in", 1, listener, state.clone(), handle);
        GithubIssues { state, runtime: Some(runtime) }
    }

    /// The API base URL (what `GITHUB_API_URL` would be).
    pub fn url(&self) -> String {
        format!("http://{}", self.state.own)
    }

    /// `METHOD path?query` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().expect("requests lock").clone()
    }

    /// Turns the repository's issues off (every issue endpoint answers 410) or on again.
    pub fn set_issues_enabled(&self, enabled: bool) {
        self.state.disabled.store(!enabled, Ordering::SeqCst);
    }

    /// Answers the next `n` requests as GitHub does past its rate limit.
    pub fn rate_limit_next(&self, n: usize) {
        self.state.rate_limited.store(n, Ordering::SeqCst);
    }

    /// Opens an issue as someone else would (a person, another tool); returns its number.
    pub fn open_issue(&self, user: &str, title: &str, body: &str, labels: &[&str]) -> u64 {
        let mut issues = self.state.issues.lock().expect("issues lock");
        let issue = Issue::new(issues.len() as u64 + 1, title, Some(body.into()), labels.iter().map(|l| l.to_string()).collect(), user);
        issues.push(issue);
        issues.len() as u64
    }

    /// Every issue as the API shows it (with its comments' objects under `"comment_list"`),
    /// by number.
    pub fn issues(&self) -> Vec<Value> {
        let issues = self.state.issues.lock().expect("issues lock").clone();
        issues
            .iter()
            .map(|i| {
                let mut v = issue_json(&self.state, i);
                v["comment_list"] = Value::Array(i.comments.iter().map(|c| comment_json(&self.state, i.number, c)).collect());
                v
            })
            .collect()
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(super) fn query<'a>(q: &'a str, key: &str) -> Option<&'a str> {
    q.split('&').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

fn decoded(s: &str) -> String {
    form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

async fn handle(st: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let method = req.method().as_str().to_owned();
    let full = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    st.requests.lock().expect("requests lock").push(format!("{method} {full}"));
    let (path, q) = full.split_once('?').unwrap_or((&full, ""));
    if st.rate_limited.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
        let mut r = error(403, "API rate limit exceeded for installation.", "overview/rate-limits-for-the-rest-api", None);
        r.headers_mut().insert("x-ratelimit-remaining", "0".parse().expect("a header value"));
        r.headers_mut().insert("retry-after", "1".parse().expect("a header value"));
        return Ok(r);
    }
    let token = req.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("token ")));
    let rights = match token.map(|t| st.tokens.get(t)) {
        None => return Ok(error(401, "Requires authentication", "issues/issues", None)),
        Some(None) => return Ok(error(401, "Bad credentials", "issues/issues", None)),
        Some(Some(r)) => *r,
    };
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let rest = match segments.as_slice() {
        ["repos", owner, name, "issues", rest @ ..] if format!("{owner}/{name}") == st.repository => rest.to_vec(),
        _ => return Ok(error(404, "Not Found", "issues/issues#list-repository-issues", None)),
    };
    if st.disabled.load(Ordering::SeqCst) {
        return Ok(error(410, "Issues are disabled for this repo", "issues/issues", None));
    }
    let writes = method != "GET";
    if writes && rights != IssueRights::Write {
        let doc = if rest.last() == Some(&"comments") { "issues/comments#create-an-issue-comment" } else { "issues/issues#create-an-issue" };
        return Ok(error(403, "Resource not accessible by integration", doc, None));
    }
    let input: Value = if writes {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Ok(error(400, "Problems parsing JSON", "issues/issues", None)),
        }
    } else {
        Value::Null
    };
    let base = format!("http://{}/repos/{}/issues", st.own, st.repository);
    let mut issues = st.issues.lock().expect("issues lock");
    let number = rest.first().map(|n| n.parse::<u64>());
    Ok(match (method.as_str(), rest.as_slice(), number) {
        ("GET", [], _) => {
            let state = query(q, "state").unwrap_or("open");
            if !["open", "closed", "all"].contains(&state) {
                return Ok(invalid("Issue", "state", "invalid", "issues/issues#list-repository-issues"));
            }
            let labels: Vec<String> = query(q, "labels").map(decoded).map(|l| l.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
            let creator = query(q, "creator").map(decoded);
            let items = issues
                .iter()
                .rev()
                .filter(|i| state == "all" || i.state == state)
                .filter(|i| labels.iter().all(|l| i.labels.iter().any(|h| h.eq_ignore_ascii_case(l))))
                .filter(|i| creator.as_ref().is_none_or(|c| &i.user == c))
                .map(|i| issue_json(&st, i))
                .collect();
            page(items, q, &base)
        }
        ("POST", [], _) => {
            let Some(title) = input["title"].as_str().filter(|t| !t.trim().is_empty()) else {
                return Ok(invalid("Issue", "title", "missing_field", "issues/issues#create-an-issue"));
            };
            let body = input["body"].as_str().map(str::to_owned);
            if body.as_ref().is_some_and(|b| b.chars().count() > MAX_BODY_CHARS) {
                return Ok(too_long("Issue", "issues/issues#create-an-issue"));
            }
            let Some(labels) = labels_of(&input) else { return Ok(invalid("Issue", "labels", "invalid", "issues/issues#create-an-issue")) };
            let issue = Issue::new(issues.len() as u64 + 1, title, body, labels.unwrap_or_default(), LOGIN);
            let v = issue_json(&st, &issue);
            issues.push(issue);
            created(v)
        }
        (m, [_, tail @ ..], Some(Ok(n))) if tail.len() <= 1 && (tail.is_empty() || tail[0] == "comments") => {
            let Some(issue) = issues.iter_mut().find(|i| i.number == n) else {
                return Ok(error(404, "Not Found", "issues/issues#get-an-issue", None));
            };
            match (m, tail.is_empty()) {
                ("GET", true) => answer(200, issue_json(&st, issue)),
                ("PATCH", true) => match update(issue, &input) {
                    Ok(()) => answer(200, issue_json(&st, issue)),
                    Err(r) => *r,
                },
                ("GET", false) => page(issue.comments.iter().map(|c| comment_json(&st, n, c)).collect(), q, &format!("{base}/{n}/comments")),
                ("POST", false) => {
                    let Some(text) = input["body"].as_str().filter(|b| !b.is_empty()) else {
                        return Ok(invalid("IssueComment", "body", "missing_field", "issues/comments#create-an-issue-comment"));
                    };
                    if text.chars().count() > MAX_BODY_CHARS {
                        return Ok(too_long("IssueComment", "issues/comments#create-an-issue-comment"));
                    }
                    let id = st.next_comment.fetch_add(1, Ordering::SeqCst) as u64;
                    let c = Comment { id, body: text.into(), user: LOGIN.into(), at: now() };
                    issue.updated_at = c.at.clone();
                    issue.comments.push(c.clone());
                    created(comment_json(&st, n, &c))
                }
                _ => error(404, "Not Found", "issues/issues", None),
            }
        }
        _ => error(404, "Not Found", "issues/issues", None),
    })
}

/// `labels` of a create or update: names (or objects with a `name`); `None` when malformed,
/// `Some(None)` when absent.
fn labels_of(input: &Value) -> Option<Option<Vec<String>>> {
    match &input["labels"] {
        Value::Null => Some(None),
        Value::Array(a) => a.iter().map(|l| l.as_str().or_else(|| l["name"].as_str()).map(str::to_owned)).collect::<Option<Vec<_>>>().map(Some),
        _ => None,
    }
}

/// Applies a PATCH ("Update an issue"); a 422 answer when a field is invalid.
fn update(issue: &mut Issue, input: &Value) -> Result<(), Box<Response<Body>>> {
    const DOC: &str = "issues/issues#update-an-issue";
    if let Some(t) = input.get("title").filter(|t| !t.is_null()) {
        match t.as_str().filter(|t| !t.trim().is_empty()) {
            Some(t) => issue.title = t.into(),
            None => return Err(Box::new(invalid("Issue", "title", "invalid", DOC))),
        }
    }
    if let Some(b) = input.get("body") {
        let b = b.as_str().map(str::to_owned);
        if b.as_ref().is_some_and(|b| b.chars().count() > MAX_BODY_CHARS) {
            return Err(Box::new(too_long("Issue", DOC)));
        }
        issue.body = b;
    }
    match labels_of(input) {
        None => return Err(Box::new(invalid("Issue", "labels", "invalid", DOC))),
        Some(Some(l)) => issue.labels = l,
        Some(None) => {}
    }
    let at = now();
    if let Some(s) = input.get("state").filter(|s| !s.is_null()) {
        match s.as_str() {
            Some("open") => (issue.state, issue.state_reason, issue.closed_at) = ("open".into(), Some("reopened".into()), None),
            Some("closed") => {
                let reason = input["state_reason"].as_str().unwrap_or("completed").to_owned();
                (issue.state, issue.state_reason, issue.closed_at) = ("closed".into(), Some(reason), Some(at.clone()));
            }
            _ => return Err(Box::new(invalid("Issue", "state", "invalid", DOC))),
        }
    }
    issue.updated_at = at;
    Ok(())
}
