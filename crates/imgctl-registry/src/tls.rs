//! TLS trust: the CA certificates a client trusts beyond the system store (`SSL_CERT_FILE`,
//! `SSL_CERT_DIR`, docker's `certs.d/<host[:port]>/*.crt`), and what a certificate failure
//! says. The CLI gathers the paths; this module reads only the files it is given.
//!
//! Why not leave it to reqwest: reqwest 0.13's `rustls` feature verifies with
//! `rustls-platform-verifier`, which on Linux loads `rustls-native-certs`; that crate reads
//! `SSL_CERT_FILE`/`SSL_CERT_DIR` *instead of* the system store, so a private CA given there
//! would make public registries untrusted, and `certs.d` is not read at all. With any extra
//! CA the client therefore trusts exactly: the system store (from its standard directories,
//! as `openssl-probe` lists them) plus the extra CAs.

use std::path::{Path, PathBuf};

use reqwest::Certificate;

/// Where extra CA certificates come from (all optional; empty = the system store only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsTrust {
    /// PEM files of CA certificates (e.g. `SSL_CERT_FILE`).
    pub ca_files: Vec<PathBuf>,
    /// Directories whose every file holding PEM certificates is trusted (e.g. `SSL_CERT_DIR`).
    pub ca_dirs: Vec<PathBuf>,
    /// Roots of docker's per-registry convention (`/etc/docker/certs.d`, `$DOCKER_CONFIG/certs.d`):
    /// every `*.crt` in `<root>/<host[:port]>/` is trusted for that registry only.
    pub certs_d: Vec<PathBuf>,
}

/// The roots a client for `registry` trusts: `None` when no extra CA applies (reqwest's
/// platform verifier then decides, as it always did), else the system store plus the extra CAs.
pub(crate) fn roots(trust: &TlsTrust, registry: &str) -> Result<Option<Vec<Certificate>>, String> {
    let extra = extra_roots(trust, registry)?;
    if extra.is_empty() {
        return Ok(None);
    }
    Ok(Some(system_roots().into_iter().chain(extra).collect()))
}

/// The extra roots for `registry`; an unreadable or certificate-less file given explicitly
/// is an error (a missing `certs.d` entry is not).
fn extra_roots(trust: &TlsTrust, registry: &str) -> Result<Vec<Certificate>, String> {
    let mut certs = Vec::new();
    for f in &trust.ca_files {
        certs.extend(read_pem(f)?);
    }
    for d in &trust.ca_dirs {
        for f in files_in(d, |_| true).map_err(|e| format!("read CA directory {}: {e}", d.display()))? {
            // c_rehash links and non-certificate files sit beside the certificates: skip what holds none.
            certs.extend(read_pem(&f).unwrap_or_default());
        }
    }
    for root in &trust.certs_d {
        let dir = root.join(registry);
        if !dir.is_dir() {
            continue;
        }
        for f in files_in(&dir, |p| p.extension().is_some_and(|e| e == "crt")).map_err(|e| format!("read {}: {e}", dir.display()))? {
            certs.extend(read_pem(&f)?);
        }
    }
    Ok(certs)
}

/// The system store, read from its standard directories (never from environment variables).
fn system_roots() -> Vec<Certificate> {
    openssl_probe::candidate_cert_dirs()
        .flat_map(|dir| rustls_native_certs::load_certs_from_paths(None, Some(dir)).certs)
        .filter_map(|der| Certificate::from_der(&der).ok())
        .collect()
}

fn files_in(dir: &Path, keep: impl Fn(&Path) -> bool) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file() && keep(p)).collect();
    files.sort();
    Ok(files)
}

fn read_pem(path: &Path) -> Result<Vec<Certificate>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("read CA file {}: {e}", path.display()))?;
    let certs = Certificate::from_pem_bundle(&bytes).map_err(|e| format!("parse CA file {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("parse CA file {}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

/// What went wrong with TLS, judged from a transport error's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsProblem {
    /// The certificate is signed by a CA this client does not trust (or is otherwise refused).
    Certificate,
    /// The certificate has expired (or is not valid yet).
    Expired,
    /// The certificate does not name the host connected to.
    WrongName,
    /// The server answered TLS with plain HTTP.
    PlainHttp,
}

/// Classifies a transport error chain (rustls' messages, as reqwest passes them on).
pub(crate) fn tls_problem(reason: &str) -> Option<TlsProblem> {
    let r = reason.to_lowercase();
    let certificate = r.contains("invalid peer certificate") || r.contains("certificate");
    if certificate && (r.contains("expired") || r.contains("notvalidyet")) {
        Some(TlsProblem::Expired)
    } else if certificate && (r.contains("notvalidforname") || r.contains("not valid for name")) {
        Some(TlsProblem::WrongName)
    } else if r.contains("invalid peer certificate") || (r.contains("certificate") && r.contains("unknownissuer")) {
        Some(TlsProblem::Certificate)
    } else if r.contains("corrupt message") || r.contains("invalidcontenttype") || r.contains("wrong version number") {
        Some(TlsProblem::PlainHttp)
    } else {
        None
    }
}

/// The advice that goes with a TLS problem for `registry`.
pub(crate) fn advice(problem: TlsProblem, registry: &str) -> String {
    match problem {
        TlsProblem::Certificate => format!(
            " (the registry's TLS certificate is not trusted: trust the CA that signed it with SSL_CERT_FILE=/path/ca.pem or SSL_CERT_DIR, \
             add it to the system store (update-ca-certificates), or put it in /etc/docker/certs.d/{registry}/ca.crt or $DOCKER_CONFIG/certs.d/{registry}/ca.crt)"
        ),
        TlsProblem::Expired => " (the registry's TLS certificate has expired or is not valid yet: it must be renewed on the server, or this machine's clock is wrong; trusting a CA does not help)".to_owned(),
        TlsProblem::WrongName => format!(" (the registry's TLS certificate does not name '{registry}': use the host name the certificate was issued for, or reissue it with that name)"),
        TlsProblem::PlainHttp => " (it speaks plain HTTP: if that is intended, list it with --insecure-registry or IMGCTL_INSECURE_REGISTRIES)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_failures_and_plain_http_are_told_apart() {
        let unknown = "error sending request: client error (Connect): invalid peer certificate: UnknownIssuer";
        assert_eq!(tls_problem(unknown), Some(TlsProblem::Certificate));
        assert_eq!(tls_problem("invalid peer certificate: Expired"), Some(TlsProblem::Expired));
        assert_eq!(tls_problem("invalid peer certificate: NotValidForName"), Some(TlsProblem::WrongName));
        assert!(advice(TlsProblem::Expired, "r").contains("renewed") && !advice(TlsProblem::Expired, "r").contains("SSL_CERT_FILE"));
        assert!(advice(TlsProblem::WrongName, "r:5000").contains("does not name 'r:5000'"));
        assert_eq!(tls_problem("received corrupt message of type InvalidContentType"), Some(TlsProblem::PlainHttp));
        assert_eq!(tls_problem("connection refused"), None);
        let a = advice(TlsProblem::Certificate, "r:5000");
        assert!(a.contains("SSL_CERT_FILE") && a.contains("certs.d/r:5000/ca.crt") && !a.contains("insecure"), "{a}");
        assert!(advice(TlsProblem::PlainHttp, "r").contains("--insecure-registry"));
    }

    #[test]
    fn missing_certs_d_entries_are_no_error_but_a_bad_ca_file_is() {
        let dir = tempfile::tempdir().unwrap();
        let trust = TlsTrust { certs_d: vec![dir.path().to_owned()], ..TlsTrust::default() };
        assert!(extra_roots(&trust, "r:5000").unwrap().is_empty());
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "not a certificate").unwrap();
        let trust = TlsTrust { ca_files: vec![bad], ..TlsTrust::default() };
        assert!(extra_roots(&trust, "r").unwrap_err().contains("no PEM certificate"));
        let trust = TlsTrust { ca_files: vec![dir.path().join("absent.pem")], ..TlsTrust::default() };
        assert!(extra_roots(&trust, "r").unwrap_err().contains("absent.pem"));
    }

    #[test]
    fn an_extra_ca_adds_to_the_system_store_and_none_leaves_the_default() {
        assert_eq!(roots(&TlsTrust::default(), "r").unwrap().map(|r| r.len()), None);
        // This machine has Debian's ca-certificates: the store is read from its directories,
        // and an extra CA comes on top of it (so public registries stay trusted).
        let system = system_roots().len();
        assert!(system > 10, "{system}");
        let dir = tempfile::tempdir().unwrap();
        let one = std::fs::read_dir("/etc/ssl/certs").unwrap().filter_map(|e| e.ok().map(|e| e.path())).find(|p| p.extension().is_some_and(|e| e == "pem")).unwrap();
        let extra = dir.path().join("corp-ca.pem");
        std::fs::copy(one, &extra).unwrap();
        let trust = TlsTrust { ca_files: vec![extra], ..TlsTrust::default() };
        assert_eq!(roots(&trust, "r").unwrap().map(|r| r.len()), Some(system + 1));
    }
}
