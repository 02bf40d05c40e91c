//! The registry error: every message names the registry, repository, reference and (when a
//! response came) the HTTP status; [`RegistryError::is_access`] tells exit code 3 from 1.

use std::fmt;

/// What an operation was aimed at: `registry/repository` and, when there is one, `:tag` or
/// `@sha256:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Registry host[:port].
    pub registry: String,
    /// Repository name (may be empty for registry-wide requests such as the ping).
    pub repository: String,
    /// Tag or digest, when the request has one.
    pub reference: Option<String>,
}

impl Target {
    /// A target with a reference.
    pub fn new(registry: &str, repository: &str, reference: Option<&str>) -> Target {
        Target { registry: registry.to_owned(), repository: repository.to_owned(), reference: reference.map(str::to_owned) }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.registry)?;
        if !self.repository.is_empty() {
            write!(f, "/{}", self.repository)?;
        }
        match &self.reference {
            Some(r) if r.starts_with("sha256:") => write!(f, "@{r}"),
            Some(r) => write!(f, ":{r}"),
            None => Ok(()),
        }
    }
}

/// Why a registry operation failed. Messages read after "failed to …" and never carry
/// credentials.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No connection could be made (refused, DNS, TLS handshake: e.g. a plain-HTTP registry not
    /// listed as insecure).
    #[error("{op} {target}: registry unreachable: {reason}")]
    Unreachable {
        /// The operation, e.g. `get manifest`.
        op: &'static str,
        /// What it was aimed at.
        target: Box<Target>,
        /// Why (transport error chain, no secrets).
        reason: String,
    },
    /// The registry refused the credentials or demands some (401/403).
    #[error("{op} {target}: authentication refused (HTTP {status}): {reason}")]
    AuthRefused {
        /// The operation.
        op: &'static str,
        /// What it was aimed at.
        target: Box<Target>,
        /// HTTP status (401 or 403).
        status: u16,
        /// What the registry said, or what is missing.
        reason: String,
    },
    /// Transient failures (429, 5xx, timeouts, resets) went on past the retry budget.
    #[error("{op} {target}: registry unavailable after {attempts} attempts: {last}")]
    Unavailable {
        /// The operation.
        op: &'static str,
        /// What it was aimed at.
        target: Box<Target>,
        /// Attempts made.
        attempts: u32,
        /// The last failure (`HTTP 503 …` or the transport error).
        last: String,
    },
    /// The request did not finish within its overall deadline (a registry that trickles or
    /// stalls); final, never retried: waiting once more would only double the wait.
    #[error("{op} {target}: no complete answer within {}s, the deadline of one request: the registry is stalled or sends too slowly", after.as_secs_f64())]
    TimedOut {
        /// The operation.
        op: &'static str,
        /// What it was aimed at.
        target: Box<Target>,
        /// The deadline that passed.
        after: std::time::Duration,
    },
    /// The manifest or blob does not exist (404).
    #[error("{op} {target}: not found (HTTP 404){detail}")]
    NotFound {
        /// The operation.
        op: &'static str,
        /// What it was aimed at.
        target: Box<Target>,
        /// The registry's error code, prefixed with `: `, or empty.
        detail: String,
    },
    /// Any other non-success status (never retried).
    #[error("{op} {target}: HTTP {status}: {message}")]
    Http {
        /// The operation.
        op: &'static str,
        /// What it was aimed at.
        target: Box<Target>,
        /// HTTP status.
        status: u16,
        /// The registry's error message.
        message: String,
    },
    /// The registry refuses to move a tag because the repository's tags are immutable:
    /// permanent for this tag (never retried).
    #[error(
        "{op} {target}: the registry refuses to move the tag because the repository has immutable tags (HTTP {status}: {message}); imgctl moves channel tags (e.g. '*-staging', '*-latest') and aliases by design: exclude them from the immutability rule (immutable and release tags never move)"
    )]
    ImmutableTag {
        /// The operation.
        op: &'static str,
        /// What it was aimed at.
        target: Box<Target>,
        /// HTTP status.
        status: u16,
        /// The registry's error message.
        message: String,
    },
    /// The registry's kind cannot delete what gc would delete; nothing was deleted.
    #[error("clean up {registry}/{repository}: cleanup is not supported on this registry: {reason}")]
    CleanupUnsupported {
        /// Registry host.
        registry: String,
        /// Repository.
        repository: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// Bytes did not match the digest they were supposed to have.
    #[error("{op} {target}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The operation.
        op: &'static str,
        /// What it was aimed at.
        target: Box<Target>,
        /// The digest asked for or announced.
        expected: String,
        /// The digest of the bytes (or the one the registry returned).
        actual: String,
    },
    /// The registry answered something that breaks the protocol (missing header, bad JSON).
    #[error("{op} {target}: invalid registry response: {reason}")]
    Protocol {
        /// The operation.
        op: &'static str,
        /// What it was aimed at.
        target: Box<Target>,
        /// What was wrong.
        reason: String,
    },
    /// Credentials could not be read (config.json, credential helper).
    #[error("read credentials for {registry}: {reason}")]
    Credentials {
        /// Registry host.
        registry: String,
        /// What went wrong (never the secret).
        reason: String,
    },
    /// A reference or argument is malformed.
    #[error("parse reference '{reference}': {reason}")]
    InvalidReference {
        /// The text given.
        reference: String,
        /// Why it is not valid.
        reason: String,
    },
    /// Reading a local blob file failed.
    #[error("read blob {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl RegistryError {
    /// True when the registry could not be reached or refused authentication (exit code 3);
    /// false for failures of the operation itself (exit code 1).
    pub fn is_access(&self) -> bool {
        matches!(
            self,
            RegistryError::Unreachable { .. }
                | RegistryError::AuthRefused { .. }
                | RegistryError::Unavailable { .. }
                | RegistryError::TimedOut { .. }
                | RegistryError::Credentials { .. }
        )
    }

    /// True for a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::NotFound { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_registry_repository_reference_and_status() {
        let e = RegistryError::Http {
            op: "put manifest",
            target: Box::new(Target::new("r.example:5000", "team/img", Some("latest"))),
            status: 400,
            message: "MANIFEST_INVALID: manifest invalid".into(),
        };
        assert_eq!(e.to_string(), "put manifest r.example:5000/team/img:latest: HTTP 400: MANIFEST_INVALID: manifest invalid");
        assert!(!e.is_access());
        let d = Target::new("r", "a", Some("sha256:00"));
        assert_eq!(d.to_string(), "r/a@sha256:00");
        let a = RegistryError::AuthRefused { op: "authenticate", target: Box::new(Target::new("r", "a", None)), status: 401, reason: "x".into() };
        assert!(a.is_access());
    }
}
