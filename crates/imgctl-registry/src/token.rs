//! Getting a Bearer token from a registry's token service (distribution's "token
//! authentication specification" and its "OAuth2 token" endpoint): `GET realm?service&scope`
//! with Basic credentials for a password, or `POST realm` with a form-encoded
//! `grant_type=refresh_token` for an identity token (what `az acr login` stores).

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderValue};

use crate::Result;
use crate::answer::{MAX_LISTING_BYTES, read_limited};
use crate::credentials::{CredentialKind, Credentials};
use crate::error::{RegistryError, Target};
use crate::retry::Failure;
use crate::secret::Secret;
use crate::transport::{Call, Transport};

/// The `client_id` imgctl names itself with in OAuth2 requests.
const CLIENT_ID: &str = "imgctl";

/// The body of the OAuth2 `refresh_token` grant: `scope` is the space-separated scope list
/// (one parameter, as docker sends it); the result holds the token, so it is a [`Secret`].
pub(crate) fn refresh_form(service: Option<&str>, scope: &str, refresh_token: &Secret) -> Secret {
    let mut f = form_urlencoded::Serializer::new(String::new());
    f.append_pair("grant_type", "refresh_token");
    if let Some(s) = service {
        f.append_pair("service", s);
    }
    f.append_pair("scope", scope);
    f.append_pair("refresh_token", refresh_token.expose());
    f.append_pair("client_id", CLIENT_ID);
    Secret::new(f.finish())
}

/// How to sign in again when `registry` refused an identity token.
fn sign_in_again(registry: &str) -> String {
    let host = registry.split(':').next().unwrap_or(registry);
    match host.strip_suffix(".azurecr.io") {
        Some(name) => format!("sign in again: `az acr login --name {name}` (or `docker login {registry}`)"),
        None => format!("sign in again: `docker login {registry}`"),
    }
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
}

/// A Bearer token for `scope` (space-separated `repository:NAME:ACTIONS`) from `realm`.
pub(crate) async fn fetch(t: &Transport, creds: Option<&Credentials>, realm: &str, service: Option<&str>, scope: &str, target: &Target) -> Result<Secret> {
    let op = "authenticate to";
    let mut url = reqwest::Url::parse(realm).map_err(|e| RegistryError::Protocol { op, target: Box::new(target.clone()), reason: format!("token realm '{realm}': {e}") })?;
    let refresh = creds.filter(|c| c.kind == CredentialKind::IdentityToken).map(|c| refresh_form(service, scope, &c.password));
    if refresh.is_none() {
        let mut q = url.query_pairs_mut();
        if let Some(s) = service {
            q.append_pair("service", s);
        }
        for s in scope.split(' ') {
            q.append_pair("scope", s);
        }
    }
    let basic = creds.filter(|c| c.kind == CredentialKind::Password).map(|c| c.basic_header());
    let build = |r: reqwest::RequestBuilder| {
        Ok(match &refresh {
            Some(form) => r.header(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded")).body(form.expose().to_owned()),
            None => r,
        })
    };
    let refused = |s: u16, _: &reqwest::header::HeaderMap, body: &[u8]| {
        Failure::Fatal(match s {
            // the OAuth2 endpoint refuses a bad grant with 400 `invalid_grant`
            400 | 401 | 403 if refresh.is_some() => {
                // RFC 6749 §5.2: `invalid_grant` is a bad or expired refresh token; any other
                // `error` (invalid_request, unsupported_grant_type, …) is not fixed by signing in
                let reason = match oauth_error(body).as_deref() {
                    None | Some("invalid_grant") => format!("the token service refused the identity token (it may have expired or been revoked): {}", sign_in_again(&target.registry)),
                    Some(other) => format!("the token service refused the refresh_token request ({other}): it does not take identity tokens this way; sign in with a username and password instead"),
                };
                RegistryError::AuthRefused { op, target: Box::new(target.clone()), status: s, reason }
            }
            401 | 403 => RegistryError::AuthRefused { op, target: Box::new(target.clone()), status: s, reason: "the token service refused the credentials".into() },
            _ => crate::answer::error_for(op, target, s, body),
        })
    };
    let method = if refresh.is_some() { Method::POST } else { Method::GET };
    let call = Call { auth: basic, takes: |s| s == 200, build: &build, refuse: Some(&refused), ..Call::new(op, target, method, url) };
    t.exchange(&call, |resp| async move {
        let body = read_limited(op, target, resp, MAX_LISTING_BYTES).await?;
        let t: TokenAnswer = serde_json::from_slice(&body).map_err(|_| RegistryError::Protocol { op, target: Box::new(target.clone()), reason: "token response is not the expected JSON".into() })?;
        let token = t.access_token.or(t.token).filter(|t| !t.is_empty()).ok_or_else(|| RegistryError::Protocol { op, target: Box::new(target.clone()), reason: "token response has no token".into() })?;
        Ok(Secret::new(format!("Bearer {token}")))
    })
    .await
}

/// The `error` code of an OAuth2 error answer, when it is one (only `[a-z_]`: a code, never
/// anything the server echoed).
fn oauth_error(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: Option<String>,
    }
    let code = serde_json::from_slice::<OAuthError>(body).ok()?.error?;
    (!code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oauth2_error_code_is_read_and_nothing_else() {
        assert_eq!(oauth_error(br#"{"error":"invalid_grant","error_description":"bad"}"#).as_deref(), Some("invalid_grant"));
        assert_eq!(oauth_error(br#"{"error":"unsupported_grant_type"}"#).as_deref(), Some("unsupported_grant_type"));
        assert_eq!(oauth_error(br#"{"error":"Rt-d0nt-echo me"}"#), None);
        assert_eq!(oauth_error(b"not json"), None);
    }

    #[test]
    fn the_refresh_form_is_url_encoded_with_one_scope_parameter() {
        let form = refresh_form(Some("acme.azurecr.io"), "repository:team/a:pull,push repository:team/b:pull", &Secret::new("rt+/=&x"));
        assert_eq!(
            form.expose(),
            "grant_type=refresh_token&service=acme.azurecr.io&scope=repository%3Ateam%2Fa%3Apull%2Cpush+repository%3Ateam%2Fb%3Apull&refresh_token=rt%2B%2F%3D%26x&client_id=imgctl"
        );
        assert!(!format!("{form:?}").contains("rt%2B"));
        let parsed: Vec<(String, String)> = form_urlencoded::parse(form.expose().as_bytes()).into_owned().collect();
        assert!(parsed.contains(&("refresh_token".into(), "rt+/=&x".into())), "{parsed:?}");
        assert!(!refresh_form(None, "s", &Secret::new("t")).expose().contains("service="));
    }

    #[test]
    fn sign_in_advice_names_the_acr_registry() {
        assert_eq!(sign_in_again("acme.azurecr.io"), "sign in again: `az acr login --name acme` (or `docker login acme.azurecr.io`)");
        assert_eq!(sign_in_again("127.0.0.1:5000"), "sign in again: `docker login 127.0.0.1:5000`");
    }
}
