//! Authentication: one `/v2/` ping per client tells anonymous, Basic or Bearer; Basic
//! credentials are verified once, Bearer tokens are fetched (`token.rs`) once per repository
//! scope and access, then reused by every request of that operation.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use tokio::sync::OnceCell;

use crate::Result;
use crate::client::{RegistryClient, status_error};
use crate::credentials::CredentialKind;
use crate::error::RegistryError;
use crate::retry::{self, Failure};
use crate::secret::Secret;

/// What an operation needs to do in a repository: the scope a token is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Read manifests, blobs and tags.
    Pull,
    /// Read and write.
    Push,
    /// Read and delete manifests.
    Delete,
}

impl Access {
    fn actions(self) -> &'static str {
        match self {
            Access::Pull => "pull",
            Access::Push => "pull,push",
            Access::Delete => "pull,delete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    None,
    Basic,
    Bearer { realm: String, service: Option<String> },
}

/// Auth state shared by a client's clones.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    challenge: OnceCell<Challenge>,
    basic_checked: OnceCell<()>,
    tokens: Mutex<HashMap<String, Arc<OnceCell<Secret>>>>,
}

/// The token scope of `scopes` (`repository:a/b:pull repository:c:pull,push`): what a token is
/// asked for and the key it is cached under, so a cached token and a dropped one always match.
fn scope_key(scopes: &[(&str, Access)]) -> String {
    scopes.iter().map(|(r, a)| format!("repository:{r}:{}", a.actions())).collect::<Vec<_>>().join(" ")
}

/// Parses a `WWW-Authenticate` header: its scheme and its `key="value"` parameters.
pub(crate) fn parse_challenge(header: &str) -> Challenge {
    let header = header.trim();
    let (scheme, rest) = header.split_once(char::is_whitespace).unwrap_or((header, ""));
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect::<String>().trim().to_lowercase();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect::<String>().trim().to_owned();
        }
        params.insert(key, value);
    }
    if scheme.eq_ignore_ascii_case("bearer")
        && let Some(realm) = params.remove("realm")
    {
        return Challenge::Bearer { realm, service: params.remove("service") };
    }
    if scheme.eq_ignore_ascii_case("basic") { Challenge::Basic } else { Challenge::None }
}

impl RegistryClient {
    async fn challenge(&self) -> Result<&Challenge> {
        self.inner
            .auth
            .challenge
            .get_or_try_init(|| async {
                let target = self.target("", None);
                let url = self.url("")?;
                retry::run(&self.inner.opts.retry, "reach", &target, || async {
                    let _permit = self.permit().await;
                    let resp = self.send("reach", &target, Method::GET, url.clone(), None, |r| r).await?;
                    match resp.status() {
                        s if s.is_success() => Ok(Challenge::None),
                        StatusCode::UNAUTHORIZED => {
                            let h = resp.headers().get(reqwest::header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or("");
                            Ok(parse_challenge(h))
                        }
                        _ => Err(Failure::Fatal(status_error("reach", &target, resp).await)),
                    }
                })
                .await
            })
            .await
    }

    /// The `Authorization` header value for requests touching `scopes`, obtained once.
    pub(crate) async fn authorization(&self, scopes: &[(&str, Access)]) -> Result<Option<Secret>> {
        let repo = scopes.first().map_or("", |s| s.0);
        let target = self.target(repo, None);
        let creds = self.inner.opts.credentials.as_ref();
        match self.challenge().await? {
            Challenge::None => Ok(None),
            Challenge::Basic => {
                let Some(creds) = creds else {
                    return Err(RegistryError::AuthRefused { op: "authenticate to", target: Box::new(target), status: 401, reason: "the registry requires credentials and none were given".into() });
                };
                if creds.kind == CredentialKind::IdentityToken {
                    let reason = "the credentials are an identity token, which only a Bearer token service exchanges, and this registry asks for Basic: sign in with a username and password".into();
                    return Err(RegistryError::AuthRefused { op: "authenticate to", target: Box::new(target), status: 401, reason });
                }
                let header = creds.basic_header();
                self.inner
                    .auth
                    .basic_checked
                    .get_or_try_init(|| async {
                        let url = self.url("")?;
                        retry::run(&self.inner.opts.retry, "authenticate to", &target, || async {
                            let _permit = self.permit().await;
                            let resp = self.send("authenticate to", &target, Method::GET, url.clone(), Some(&header), |r| r).await?;
                            if resp.status().is_success() {
                                return Ok(());
                            }
                            Err(Failure::Fatal(match resp.status().as_u16() {
                                s @ (401 | 403) => RegistryError::AuthRefused { op: "authenticate to", target: Box::new(target.clone()), status: s, reason: "username or password refused".into() },
                                _ => status_error("authenticate to", &target, resp).await,
                            }))
                        })
                        .await
                    })
                    .await?;
                Ok(Some(header))
            }
            Challenge::Bearer { realm, service } => {
                let scope = scope_key(scopes);
                let cell = self.inner.auth.tokens.lock().unwrap_or_else(|p| p.into_inner()).entry(scope.clone()).or_default().clone();
                let token = cell.get_or_try_init(|| self.fetch_token(realm, service.as_deref(), &scope, &target)).await?;
                Ok(Some(token.clone()))
            }
        }
    }

    /// Runs one operation: authorization for `scopes` (cached), then `attempt` under the retry
    /// policy. A 401 with a cached Bearer token (expired) fetches a new one once.
    pub(crate) async fn call<T, F, Fut>(&self, op: &'static str, target: &crate::Target, scopes: &[(&str, Access)], mut attempt: F) -> Result<T>
    where
        F: FnMut(Option<Secret>) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let auth = self.authorization(scopes).await?;
        let first = retry::run(&self.inner.opts.retry, op, target, || attempt(auth.clone())).await;
        let bearer = matches!(self.inner.auth.challenge.get(), Some(Challenge::Bearer { .. }));
        match first {
            Err(RegistryError::AuthRefused { status: 401, .. }) if bearer => {
                let scope = scope_key(scopes);
                self.inner.auth.tokens.lock().unwrap_or_else(|p| p.into_inner()).remove(&scope);
                let auth = self.authorization(scopes).await?;
                retry::run(&self.inner.opts.retry, op, target, || attempt(auth.clone())).await
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(r#"Bearer realm="https://auth.example/token",service="reg.example",scope="repository:a:pull""#),
            Challenge::Bearer { realm: "https://auth.example/token".into(), service: Some("reg.example".into()) }
        );
        assert_eq!(parse_challenge(r#"Basic realm="Registry Realm""#), Challenge::Basic);
        assert_eq!(parse_challenge(""), Challenge::None);
    }
}
