//! Credentials: a username and a [`Secret`], from the caller (env vars read by the CLI) or
//! from Docker's `config.json` (`credHelpers`, `credsStore`, `auths`). This module reads no
//! environment variable: the config directory is passed in.
//!
//! An identity token (what `az acr login` and `docker login` to some registries store: an
//! `auths` entry's `identitytoken`, or a helper answering the username `<token>`) is an
//! OAuth2 refresh token: [`CredentialKind::IdentityToken`], exchanged at the token service.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine;
use serde::Deserialize;

use crate::Result;
use crate::error::RegistryError;
use crate::secret::Secret;

/// What the secret of [`Credentials`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CredentialKind {
    /// A password (or a token used as one): sent as Basic, to the registry or its token service.
    #[default]
    Password,
    /// An OAuth2 refresh token: exchanged for an access token with a `refresh_token` grant.
    IdentityToken,
}

/// The username a credential helper answers (and `IMGCTL_REGISTRY_USERNAME` may hold) when the
/// secret is an identity token.
pub const IDENTITY_TOKEN_USERNAME: &str = "<token>";

/// A username and password (or identity token).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The username.
    pub username: String,
    /// The password or identity token, never shown.
    pub password: Secret,
    /// Which of the two `password` is.
    pub kind: CredentialKind,
}

impl Credentials {
    /// Credentials from a username and password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials::login(username, Secret::new(password))
    }

    /// Credentials as a login gives them: the username `<token>` marks an identity token.
    pub fn login(username: impl Into<String>, secret: Secret) -> Credentials {
        let username = username.into();
        let kind = if username == IDENTITY_TOKEN_USERNAME { CredentialKind::IdentityToken } else { CredentialKind::Password };
        Credentials { username, password: secret, kind }
    }

    /// An identity token (OAuth2 refresh token).
    pub fn identity_token(token: impl Into<String>) -> Credentials {
        Credentials { username: IDENTITY_TOKEN_USERNAME.to_owned(), password: Secret::new(token), kind: CredentialKind::IdentityToken }
    }

    /// The value of a `Basic` `Authorization` header, as a secret.
    pub(crate) fn basic_header(&self) -> Secret {
        let raw = format!("{}:{}", self.username, self.password.expose());
        Secret::new(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw)))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("username", &"<redacted>").field("password", &self.password).field("kind", &self.kind).finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

impl fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthEntry(<redacted>)")
    }
}

/// `https://host/v1/` → `host`: how Docker's `auths` keys compare to a registry host.
fn normalise_key(key: &str) -> &str {
    let k = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

/// Credentials for `registry` from `config_dir/config.json`: a `credHelpers` entry, else the
/// `credsStore`, else an `auths` entry. `Ok(None)` when the file or an entry is absent.
pub fn docker_config_credentials(config_dir: &Path, registry: &str) -> Result<Option<Credentials>> {
    let path = config_dir.join("config.json");
    let err = |reason: String| RegistryError::Credentials { registry: registry.to_owned(), reason };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(format!("read {}: {e}", path.display()))),
    };
    // The error of serde_json names line and column only, never the content.
    let config: DockerConfig = serde_json::from_str(&text).map_err(|e| err(format!("parse {}: {e}", path.display())))?;
    if let Some(helper) = config.cred_helpers.iter().find(|(k, _)| normalise_key(k) == registry).map(|(_, v)| v) {
        return run_helper(helper, registry);
    }
    if let Some(store) = config.creds_store.as_deref().filter(|s| !s.is_empty())
        && let Some(c) = run_helper(store, registry)?
    {
        return Ok(Some(c));
    }
    let Some(entry) = config.auths.iter().find(|(k, _)| normalise_key(k) == registry).map(|(_, v)| v) else {
        return Ok(None);
    };
    // With an identity token, `auth` only holds a placeholder user and no password.
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credentials::identity_token(token)));
    }
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| err(format!("decode the 'auth' entry of {}: not base64", path.display())))?;
        let decoded = String::from_utf8(decoded).map_err(|_| err(format!("decode the 'auth' entry of {}: not UTF-8", path.display())))?;
        let (user, pass) = decoded.split_once(':').ok_or_else(|| err(format!("decode the 'auth' entry of {}: no ':'", path.display())))?;
        return Ok(Some(Credentials::new(user, pass)));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) => Ok(Some(Credentials::new(u.clone(), p.clone()))),
        _ => Ok(None),
    }
}

#[derive(Deserialize)]
struct HelperOutput {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// Runs `docker-credential-<name> get` with the registry host on stdin. A helper that has
/// nothing for the host (non-zero exit saying "not found") gives `Ok(None)`.
fn run_helper(name: &str, registry: &str) -> Result<Option<Credentials>> {
    let program = format!("docker-credential-{name}");
    let err = |reason: String| RegistryError::Credentials { registry: registry.to_owned(), reason };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(format!("run credential helper {program}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(registry.as_bytes()).map_err(|e| err(format!("write to credential helper {program}: {e}")))?;
    }
    let out = child.wait_with_output().map_err(|e| err(format!("run credential helper {program}: {e}")))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout).to_lowercase() + &String::from_utf8_lossy(&out.stderr).to_lowercase();
        if said.contains("not found") {
            return Ok(None);
        }
        return Err(err(format!("credential helper {program} failed ({})", out.status)));
    }
    let parsed: HelperOutput =
        serde_json::from_slice(&out.stdout).map_err(|_| err(format!("parse the output of credential helper {program}: not the expected JSON")))?;
    Ok(Some(Credentials::login(parsed.username, Secret::new(parsed.secret))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auths_entry_base64_and_key_forms() {
        let dir = tempfile::tempdir().unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret:with-colon");
        std::fs::write(dir.path().join("config.json"), format!(r#"{{"auths":{{"https://reg.example:5000/v1/":{{"auth":"{auth}"}}}}}}"#)).unwrap();
        let c = docker_config_credentials(dir.path(), "reg.example:5000").unwrap().unwrap();
        assert_eq!(c.username, "alice");
        assert_eq!(c.password.expose(), "s3cret:with-colon");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(docker_config_credentials(dir.path(), "other").unwrap().is_none());
    }

    #[test]
    fn an_identitytoken_entry_is_an_identity_token_not_its_placeholder_user() {
        let dir = tempfile::tempdir().unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode("00000000-0000-0000-0000-000000000000:");
        std::fs::write(dir.path().join("config.json"), format!(r#"{{"auths":{{"acme.azurecr.io":{{"auth":"{auth}","identitytoken":"rt-Secret-123"}}}}}}"#)).unwrap();
        let c = docker_config_credentials(dir.path(), "acme.azurecr.io").unwrap().unwrap();
        assert_eq!(c.kind, CredentialKind::IdentityToken);
        assert_eq!(c.password.expose(), "rt-Secret-123");
        assert!(!format!("{c:?}").contains("rt-Secret"));
        // an empty identitytoken is no token: the auth entry decides
        std::fs::write(dir.path().join("config.json"), format!(r#"{{"auths":{{"r":{{"auth":"{}","identitytoken":""}}}}}}"#, base64::engine::general_purpose::STANDARD.encode("u:p"))).unwrap();
        assert_eq!(docker_config_credentials(dir.path(), "r").unwrap().unwrap().kind, CredentialKind::Password);
    }

    #[test]
    fn a_helper_answering_the_token_username_gives_an_identity_token() {
        assert_eq!(Credentials::login("<token>", Secret::new("rt")).kind, CredentialKind::IdentityToken);
        assert_eq!(Credentials::login("alice", Secret::new("pw")).kind, CredentialKind::Password);
        // what run_helper does with a helper's answer
        let parsed: HelperOutput = serde_json::from_str(r#"{"ServerURL":"r","Username":"<token>","Secret":"rt"}"#).unwrap();
        assert_eq!(Credentials::login(parsed.username, Secret::new(parsed.secret)).kind, CredentialKind::IdentityToken);
    }

    #[test]
    fn missing_file_is_anonymous_and_bad_json_never_echoes_content() {
        let dir = tempfile::tempdir().unwrap();
        assert!(docker_config_credentials(dir.path(), "r").unwrap().is_none());
        std::fs::write(dir.path().join("config.json"), r#"{"auths": {"r": {"auth": "topsecret"#).unwrap();
        let e = docker_config_credentials(dir.path(), "r").unwrap_err();
        assert!(!e.to_string().contains("topsecret"), "{e}");
    }

    #[test]
    fn missing_helper_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), r#"{"credHelpers": {"r": "imgctl-no-such-helper"}}"#).unwrap();
        let e = docker_config_credentials(dir.path(), "r").unwrap_err();
        assert!(e.to_string().contains("docker-credential-imgctl-no-such-helper"), "{e}");
        assert!(e.is_access());
    }
}
