//! Authentication: one `/v2/` ping per client tells anonymous, Basic or Bearer; Basic
//! credentials are verified once, Bearer tokens are fetched (`token.rs`) once per repository
//! scope and access, then reused by every request of that operation. A Bearer realm gets
//! credentials over https only, unless its host is listed insecure (`check_realm`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use tokio::sync::OnceCell;

use crate::Result;
use crate::credentials::{CredentialKind, Credentials};
use crate::error::{RegistryError, Target};
use crate::retry::Failure;
use crate::secret::Secret;
use crate::transport::{Call, Transport, success};

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

/// Authorization for one client: the challenge (asked once), the credentials and the
/// tokens obtained, all through the client's [`Transport`].
#[derive(Debug)]
pub(crate) struct Auth {
    state: AuthState,
    credentials: Option<Credentials>,
}

impl Auth {
    pub(crate) fn new(credentials: Option<Credentials>) -> Auth {
        Auth { state: AuthState::default(), credentials }
    }

    /// True when the registry asks for Bearer tokens (a 401 may mean an expired one).
    pub(crate) fn is_bearer(&self) -> bool {
        matches!(self.state.challenge.get(), Some(Challenge::Bearer { .. }))
    }

    /// Forgets the token of `scopes` (it expired), so the next [`Auth::authorization`] fetches one.
    pub(crate) fn drop_token(&self, scopes: &[(&str, Access)]) {
        self.state.tokens.lock().unwrap_or_else(|p| p.into_inner()).remove(&scope_key(scopes));
    }

    async fn challenge(&self, t: &Transport) -> Result<&Challenge> {
        self.state
            .challenge
            .get_or_try_init(|| async {
                let target = Target::new(&t.registry, "", None);
                let call = Call { takes: success_or_401, ..Call::new("reach", &target, Method::GET, t.base.clone()) };
                let challenge = t
                    .exchange(&call, |resp| async move {
                        if resp.status() != StatusCode::UNAUTHORIZED {
                            return Ok(Challenge::None);
                        }
                        let h = resp.headers().get(reqwest::header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or("");
                        Ok(parse_challenge(h))
                    })
                    .await?;
                if let Challenge::Bearer { realm, .. } = &challenge {
                    check_realm(t, realm, &target)?;
                }
                Ok(challenge)
            })
            .await
    }

    /// The `Authorization` header value for requests touching `scopes`, obtained once.
    pub(crate) async fn authorization(&self, t: &Transport, scopes: &[(&str, Access)]) -> Result<Option<Secret>> {
        let repo = scopes.first().map_or("", |s| s.0);
        let target = Target::new(&t.registry, repo, None);
        let creds = self.credentials.as_ref();
        match self.challenge(t).await? {
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
                self.state
                    .basic_checked
                    .get_or_try_init(|| async {
                        let op = "authenticate to";
                        let refused = |s: u16, _: &reqwest::header::HeaderMap, body: &[u8]| match s {
                            401 | 403 => Failure::Fatal(RegistryError::AuthRefused { op, target: Box::new(target.clone()), status: s, reason: "username or password refused".into() }),
                            _ => Failure::Fatal(crate::answer::error_for(op, &target, s, body)),
                        };
                        let call = Call { auth: Some(header.clone()), refuse: Some(&refused), ..Call::new(op, &target, Method::GET, t.base.clone()) };
                        t.exchange(&call, |_| async { Ok(()) }).await
                    })
                    .await?;
                Ok(Some(header))
            }
            Challenge::Bearer { realm, service } => {
                let scope = scope_key(scopes);
                let cell = self.state.tokens.lock().unwrap_or_else(|p| p.into_inner()).entry(scope.clone()).or_default().clone();
                let token = cell.get_or_try_init(|| crate::token::fetch(t, creds, realm, service.as_deref(), &scope, &target)).await?;
                Ok(Some(token.clone()))
            }
        }
    }
}

fn success_or_401(s: u16) -> bool {
    success(s) || s == 401
}

/// A token realm may be given credentials over https; over plain HTTP only on a host listed
/// insecure (the registry's own when it is). Anything else is refused before any request.
fn check_realm(t: &Transport, realm: &str, target: &Target) -> Result<()> {
    let op = "authenticate to";
    let url = reqwest::Url::parse(realm).map_err(|e| RegistryError::Protocol { op, target: Box::new(target.clone()), reason: format!("token realm '{realm}': {e}") })?;
    if t.allows(&url) {
        return Ok(());
    }
    let host = crate::transport::host_port(&url);
    let reason = format!(
        "the registry sends credentials to the token service {}://{host}, which is plain HTTP on a host not listed with --insecure-registry: refused (a token service that is not the registry is used over https only; list {host} with --insecure-registry only if it is trusted)",
        url.scheme()
    );
    Err(RegistryError::AuthRefused { op, target: Box::new(target.clone()), status: 401, reason })
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
