//! DSSE envelopes (in-toto's Dead Simple Signing Envelope, v1) signed with ECDSA P-256 over
//! SHA-256 of the pre-authentication encoding (PAE), signatures ASN.1 DER, base64 — the shape
//! `cosign attest --key` writes. PAE is one line of the spec
//! (`"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`), so it is written here rather than
//! taken from a crate (see docs/ARCHITECTURE.md).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use serde::{Deserialize, Serialize};

use crate::RecordError;

/// The payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// DSSE's pre-authentication encoding of `payload` of `payload_type`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// The key's id: `sha256:` of its SPKI DER (empty when unknown).
    #[serde(default)]
    pub keyid: String,
    /// base64 of the DER signature.
    pub sig: String,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// [`PAYLOAD_TYPE`].
    pub payload_type: String,
    /// base64 of the statement bytes.
    pub payload: String,
    /// The signatures (imgctl writes one).
    pub signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    /// The payload's bytes.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, String> {
        STANDARD.decode(&self.payload).map_err(|e| format!("the envelope's payload is not base64: {e}"))
    }
}

/// A signing key (PKCS#8 or SEC1 PEM). Its `Debug` shows only the key id.
pub struct Signer {
    key: SigningKey,
    keyid: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("keyid", &self.keyid).finish_non_exhaustive()
    }
}

fn keyid(v: &VerifyingKey) -> String {
    v.to_public_key_der().map(|d| crate::sha256(d.as_bytes())).unwrap_or_default()
}

impl Signer {
    /// Reads an ECDSA P-256 private key from PEM (`BEGIN PRIVATE KEY` or `BEGIN EC PRIVATE KEY`).
    /// Errors never quote the key.
    pub fn from_pem(pem: &str) -> Result<Signer, RecordError> {
        let bad = |reason: String| RecordError::Key { what: "signing", reason };
        let key = if pem.contains("BEGIN EC PRIVATE KEY") {
            p256::SecretKey::from_sec1_pem(pem).map(SigningKey::from).map_err(|_| bad("not an ECDSA P-256 SEC1 PEM private key".into()))?
        } else if pem.contains("BEGIN PRIVATE KEY") {
            SigningKey::from_pkcs8_pem(pem).map_err(|_| bad("not an unencrypted ECDSA P-256 PKCS#8 PEM private key".into()))?
        } else if pem.contains("ENCRYPTED PRIVATE KEY") {
            return Err(bad("encrypted private keys are not supported; give an unencrypted PKCS#8 or SEC1 PEM key".into()));
        } else {
            return Err(bad("no PEM private key found (expected 'BEGIN PRIVATE KEY' or 'BEGIN EC PRIVATE KEY')".into()));
        };
        let keyid = keyid(key.verifying_key());
        Ok(Signer { key, keyid })
    }

    /// The key id (`sha256:` of the public key's SPKI DER).
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// Wraps `payload` (a statement) in an envelope signed with this key.
    pub fn sign(&self, payload: &[u8]) -> Envelope {
        let sig: Signature = self.key.sign(&pae(PAYLOAD_TYPE, payload));
        Envelope {
            payload_type: PAYLOAD_TYPE.into(),
            payload: STANDARD.encode(payload),
            signatures: vec![EnvelopeSignature { keyid: self.keyid.clone(), sig: STANDARD.encode(sig.to_der().as_bytes()) }],
        }
    }
}

/// A public key (SPKI PEM, `BEGIN PUBLIC KEY`) that verifies envelopes.
#[derive(Debug, Clone)]
pub struct Verifier {
    key: VerifyingKey,
    keyid: String,
}

impl Verifier {
    /// Reads an ECDSA P-256 public key from SPKI PEM.
    pub fn from_pem(pem: &str) -> Result<Verifier, RecordError> {
        let key = VerifyingKey::from_public_key_pem(pem)
            .map_err(|_| RecordError::Key { what: "public", reason: "not an ECDSA P-256 public key in SPKI PEM ('BEGIN PUBLIC KEY')".into() })?;
        let keyid = keyid(&key);
        Ok(Verifier { key, keyid })
    }

    /// The key id.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// Checks that some signature of `env` verifies with this key over PAE(payloadType,
    /// payload); returns the payload.
    pub fn verify(&self, env: &Envelope) -> Result<Vec<u8>, String> {
        if env.payload_type != PAYLOAD_TYPE {
            return Err(format!("payload type is '{}', not '{PAYLOAD_TYPE}'", env.payload_type));
        }
        let payload = env.payload_bytes()?;
        let message = pae(&env.payload_type, &payload);
        if env.signatures.is_empty() {
            return Err("the envelope has no signature".into());
        }
        for s in &env.signatures {
            let Ok(der) = STANDARD.decode(&s.sig) else { continue };
            let Ok(sig) = Signature::from_der(&der) else { continue };
            if self.key.verify(&message, &sig).is_ok() {
                return Ok(payload);
            }
        }
        Err(format!("no signature verifies with the public key {}", self.keyid))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use p256::pkcs8::{EncodePrivateKey, LineEnding};

    /// A fixed test key pair as PEM (private PKCS#8, public SPKI).
    pub fn test_keys(seed: u8) -> (String, String) {
        let key = SigningKey::from_slice(&[seed.max(1); 32]).unwrap();
        let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let public = key.verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
        (private, public)
    }

    #[test]
    fn pae_follows_the_spec_example() {
        // DSSE protocol.md: PAE("http://example.com/HelloWorld", "hello world")
        assert_eq!(pae("http://example.com/HelloWorld", b"hello world"), b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec());
    }

    #[test]
    fn a_signed_envelope_verifies_and_a_changed_payload_or_another_key_does_not() {
        let (private, public) = test_keys(7);
        let signer = Signer::from_pem(&private).unwrap();
        let verifier = Verifier::from_pem(&public).unwrap();
        assert_eq!(signer.keyid(), verifier.keyid());
        let env = signer.sign(b"{\"a\":1}");
        assert_eq!(verifier.verify(&env).unwrap(), b"{\"a\":1}");
        let mut tampered = env.clone();
        tampered.payload = STANDARD.encode(b"{\"a\":2}");
        assert!(verifier.verify(&tampered).unwrap_err().contains("no signature verifies"));
        let (_, other) = test_keys(9);
        assert!(Verifier::from_pem(&other).unwrap().verify(&env).is_err());
    }

    #[test]
    fn bad_keys_are_clear_errors_that_never_quote_the_key() {
        let (private, _) = test_keys(3);
        let broken = private.replace('A', "B");
        let e = Signer::from_pem(&broken).unwrap_err().to_string();
        assert!(e.contains("signing key"), "{e}");
        let body: String = private.lines().nth(1).unwrap().to_string();
        assert!(!e.contains(&body));
        assert!(Signer::from_pem("hello").unwrap_err().to_string().contains("no PEM private key"));
        assert!(Verifier::from_pem(&private).is_err(), "a private key is not a public key");
        assert!(!format!("{:?}", Signer::from_pem(&private).unwrap()).contains(&body));
    }
}
