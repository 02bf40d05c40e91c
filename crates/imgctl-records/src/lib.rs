//! imgctl's records: what a channel move leaves in the registry besides its tags. An in-toto v1
//! [`statement`] of the move, optionally wrapped in a [`dsse`] envelope signed with an ECDSA
//! P-256 key, and docker-tools' lifecycle (end-of-life) marks, both carried by OCI 1.1
//! [`artifact`] manifests whose `subject` is the digest they describe. Pure: keys come in as
//! PEM text, times as parameters; the engine and registry crates store and fetch the bytes.

pub mod artifact;
pub mod changes;
pub mod dsse;
pub mod sbom;
pub mod statement;

pub use artifact::{Artifact, ArtifactKind, Record};
pub use dsse::{Envelope, Signer, Verifier};
pub use statement::{MoveRecord, Statement};

/// Why a record could not be built, read or verified.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// A PEM key could not be read (the key itself is never part of the message).
    #[error("read the {what} key: {reason}")]
    Key {
        /// `signing` or `public`.
        what: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// Bytes that should be a record are not.
    #[error("parse record {digest}: {reason}")]
    Parse {
        /// The artifact manifest's digest.
        digest: String,
        /// What was wrong.
        reason: String,
    },
    /// A signature did not verify with the public key.
    #[error("verify record {digest}: {reason}")]
    Verify {
        /// The artifact manifest's digest.
        digest: String,
        /// What did not match.
        reason: String,
    },
}

/// `sha256:` + hex of SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}
