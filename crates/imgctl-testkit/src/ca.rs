//! [`TestCa`]: a certificate authority made by the harness (`rcgen`, ECDSA P-256) that signs
//! a server certificate for `127.0.0.1`/`localhost` (the registry's and the token server's)
//! and a token-signing certificate (the JWTs' `x5c`), all written as PEM files into a dir.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// The files of a harness-made CA.
#[derive(Debug, Clone)]
pub struct TestCa {
    dir: PathBuf,
    /// The token-signing certificate, DER (for a JWT header's `x5c`).
    pub(crate) signing_der: Vec<u8>,
    /// The token-signing key, PKCS#8 PEM.
    pub(crate) signing_key_pem: String,
}

impl TestCa {
    /// Makes a CA and its certificates in `dir` (`ca.pem`, `server.pem`, `server-key.pem`,
    /// `signing.pem`).
    pub fn create(dir: &Path) -> TestCa {
        std::fs::create_dir_all(dir).expect("create the CA dir");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "imgctl test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_key = KeyPair::generate().expect("generate the CA key");
        let ca_cert = params.self_signed(&ca_key).expect("self-sign the CA");
        let issuer = Issuer::new(params, ca_key);

        let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("server params");
        server.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        server.use_authority_key_identifier_extension = true;
        server.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().expect("generate the server key");
        let server_cert = server.signed_by(&server_key, &issuer).expect("sign the server certificate");

        let mut signing = CertificateParams::new(Vec::<String>::new()).expect("signing params");
        signing.distinguished_name.push(DnType::CommonName, "imgctl test token signer");
        signing.use_authority_key_identifier_extension = true;
        signing.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let signing_key = KeyPair::generate().expect("generate the token-signing key");
        let signing_cert = signing.signed_by(&signing_key, &issuer).expect("sign the token-signing certificate");

        let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("write {name}: {e}"));
        write("ca.pem", &ca_cert.pem());
        write("server.pem", &server_cert.pem());
        write("server-key.pem", &server_key.serialize_pem());
        write("signing.pem", &signing_cert.pem());
        TestCa { dir: dir.to_owned(), signing_der: signing_cert.der().to_vec(), signing_key_pem: signing_key.serialize_pem() }
    }

    /// The CA certificate (PEM): what a client must trust.
    pub fn ca_pem(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The server certificate (PEM), valid for `127.0.0.1` and `localhost`.
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    /// The server key (PKCS#8 PEM).
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server-key.pem")
    }

    /// A directory laid out as `skopeo --cert-dir` and docker's `certs.d/<host>/` expect:
    /// `ca.crt` (a copy of the CA), created under `parent/name`.
    pub fn cert_dir(&self, parent: &Path, name: &str) -> PathBuf {
        let d = parent.join(name);
        std::fs::create_dir_all(&d).expect("create the cert dir");
        std::fs::copy(self.ca_pem(), d.join("ca.crt")).expect("copy ca.crt");
        d
    }
}
