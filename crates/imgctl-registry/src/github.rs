//! GitHub's REST API conventions, shared by the GHCR kind (packages API) and the issues
//! client ([`crate::issues`]): the version and media-type headers, the token, what a rate
//! limit looks like, and the `{"message", "errors", "documentation_url"}` error body
//! ("Troubleshooting the REST API", API version 2022-11-28).

use reqwest::RequestBuilder;
use reqwest::header::{ACCEPT, HeaderMap};

use crate::error::{RegistryError, Target};
use crate::retry::Failure;
use crate::secret::Secret;

/// The REST API version every request asks for.
pub(crate) const API_VERSION: &str = "2022-11-28";

/// Where GitHub's REST API is and the token for it.
#[derive(Debug, Clone)]
pub struct GithubApi {
    /// Base URL (`GITHUB_API_URL`; `https://api.github.com` by default, GHES elsewhere).
    pub base: String,
    /// `IMGCTL_GITHUB_TOKEN`, else `GITHUB_TOKEN` (GHCR: else the registry password).
    pub token: Option<Secret>,
}

impl Default for GithubApi {
    fn default() -> GithubApi {
        GithubApi { base: "https://api.github.com".into(), token: None }
    }
}

impl GithubApi {
    /// `Bearer <token>`, when there is a token.
    pub(crate) fn bearer(&self) -> Option<Secret> {
        self.token.as_ref().filter(|t| !t.is_empty()).map(|t| Secret::new(format!("Bearer {}", t.expose())))
    }
}

/// Adds GitHub's `Accept` and API-version headers.
pub(crate) fn headers(r: RequestBuilder) -> Result<RequestBuilder, RegistryError> {
    Ok(r.header(ACCEPT, "application/vnd.github+json").header("x-github-api-version", API_VERSION))
}

/// GitHub's rate-limit answers are 403 (or 429) with `x-ratelimit-remaining: 0` (primary
/// limit) or a `retry-after` (secondary limits) — "Rate limits for the REST API": retried,
/// never mistaken for missing permissions.
pub(crate) fn rate_limited(h: &HeaderMap) -> bool {
    h.get("x-ratelimit-remaining").is_some_and(|v| v.as_bytes() == b"0") || h.contains_key(reqwest::header::RETRY_AFTER)
}

#[derive(serde::Deserialize)]
struct ApiError {
    message: Option<String>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

/// The error body's `message`, with each of its `errors` (`resource.field code: message`),
/// else `HTTP <status>`.
pub(crate) fn message(status: u16, body: &[u8]) -> String {
    let Ok(e) = serde_json::from_slice::<ApiError>(body) else { return format!("HTTP {status}") };
    let mut m = e.message.unwrap_or_else(|| format!("HTTP {status}"));
    let details: Vec<String> = e
        .errors
        .iter()
        .map(|d| {
            let s = |k: &str| d.get(k).and_then(serde_json::Value::as_str).unwrap_or_default();
            if let Some(text) = d.as_str() {
                return text.to_owned();
            }
            let what = [s("resource"), s("field")].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(".");
            let tail = if s("message").is_empty() { String::new() } else { format!(": {}", s("message")) };
            format!("{what} {}{tail}", s("code")).trim().to_owned()
        })
        .collect();
    if !details.is_empty() {
        m.push_str(&format!(" ({})", details.join("; ")));
    }
    m
}

/// A refusal of `op` on `target` as a [`Failure`]: rate limits by header are transient and
/// retried; one that only its message names is an [`RegistryError::Unavailable`] (not a
/// missing permission); anything else is `error(status, message)`.
pub(crate) fn refusal(op: &'static str, target: &Target, status: u16, h: &HeaderMap, body: &[u8], error: impl FnOnce(u16, String) -> RegistryError) -> Failure {
    if matches!(status, 403 | 429) && rate_limited(h) {
        return Failure::Transient { reason: format!("GitHub API rate limit exceeded (HTTP {status})"), retry_after: crate::retry::retry_after(h) };
    }
    let message = message(status, body);
    Failure::Fatal(rate_limit_message(op, target, status, &message).unwrap_or_else(|| error(status, message)))
}

/// A secondary rate limit may come without the headers [`rate_limited`] reads: its message
/// says so, and it is not a missing permission.
fn rate_limit_message(op: &'static str, target: &Target, status: u16, message: &str) -> Option<RegistryError> {
    (matches!(status, 403 | 429) && message.to_ascii_lowercase().contains("rate limit"))
        .then(|| RegistryError::Unavailable { op, target: Box::new(target.clone()), attempts: 1, last: format!("GitHub's rate limit (HTTP {status}: '{message}'); run again later") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_answers_are_told_from_permission_refusals() {
        let mut h = HeaderMap::new();
        assert!(!rate_limited(&h), "a bare 403 is a refusal");
        h.insert("x-ratelimit-remaining", "12".parse().unwrap());
        assert!(!rate_limited(&h));
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        assert!(rate_limited(&h));
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "60".parse().unwrap());
        assert!(rate_limited(&h), "a secondary rate limit");
    }

    #[test]
    fn error_bodies_give_their_message_and_validation_errors() {
        assert_eq!(message(404, br#"{"message":"Not Found","documentation_url":"x","status":"404"}"#), "Not Found");
        let v = br#"{"message":"Validation Failed","errors":[{"resource":"Issue","field":"title","code":"missing_field"},{"resource":"Issue","field":"body","code":"custom","message":"body is too long"}],"documentation_url":"x"}"#;
        assert_eq!(message(422, v), "Validation Failed (Issue.title missing_field; Issue.body custom: body is too long)");
        assert_eq!(message(422, br#"{"message":"Validation Failed","errors":["a plain one"]}"#), "Validation Failed (a plain one)");
        assert_eq!(message(502, b"<html>bad gateway</html>"), "HTTP 502");
    }
}
