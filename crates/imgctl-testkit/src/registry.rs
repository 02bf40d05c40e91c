//! [`TestRegistry`]: Debian's `docker-registry` serving a temp dir on a free 127.0.0.1 port,
//! with a config written here (never `/etc/docker/registry/config.yml`), optionally behind
//! `auth.htpasswd` (bcrypt) or `auth.token` (a [`TokenServer`]), optionally over TLS
//! (`http.tls`, a [`TestCa`] certificate); killed on drop. [`TestRegistry::builder`] combines these.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use imgctl_registry::{ClientOptions, Credentials, RegistryClient};

use crate::ca::TestCa;
use crate::token_server::TokenServer;

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// Panics with an install hint unless `tool` (a program name or absolute path) can be run.
pub fn require_tool(tool: &str, package: &str) -> PathBuf {
    let found = if tool.contains('/') {
        Path::new(tool).is_file().then(|| PathBuf::from(tool))
    } else {
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(tool)).find(|c| c.is_file()))
    };
    found.unwrap_or_else(|| panic!("{tool} is not installed: these tests need it (install it with `apt-get install {package}`, as scripts/test does)"))
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind a free loopback port").port()
}

/// A running registry; stopped when dropped.
#[derive(Debug)]
pub struct TestRegistry {
    child: Child,
    dir: tempfile::TempDir,
    root: PathBuf,
    port: u16,
    credentials: Option<(String, String)>,
    ca: Option<TestCa>,
}

/// How to start a [`TestRegistry`]: `TestRegistry::builder().tls().token_auth(&server).start()`.
#[derive(Debug, Clone)]
pub struct RegistryBuilder {
    htpasswd: Option<(String, String)>,
    delete: bool,
    tls: Option<Option<TestCa>>,
    token: Option<(String, String, String, std::path::PathBuf)>,
    root: Option<PathBuf>,
}

impl RegistryBuilder {
    /// Behind `auth.htpasswd` accepting `user`/`password`.
    pub fn htpasswd(mut self, user: &str, password: &str) -> RegistryBuilder {
        self.htpasswd = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Deletes disabled: `DELETE` answers 405, like Docker Hub and ghcr.io.
    pub fn without_delete(mut self) -> RegistryBuilder {
        self.delete = false;
        self
    }

    /// Over TLS, with a CA made in the registry's temp dir.
    pub fn tls(mut self) -> RegistryBuilder {
        if self.tls.is_none() {
            self.tls = Some(None);
        }
        self
    }

    /// Over TLS with a certificate of `ca`.
    pub fn tls_with(mut self, ca: &TestCa) -> RegistryBuilder {
        self.tls = Some(Some(ca.clone()));
        self
    }

    /// Behind `auth.token` with `server` (realm, service, issuer; its CA as `rootcertbundle`),
    /// over TLS with a certificate of the same CA.
    pub fn token_auth(self, server: &TokenServer) -> RegistryBuilder {
        let mut b = self.tls_with(server.ca());
        b.token = Some((server.realm(), server.service().to_owned(), server.issuer().to_owned(), server.ca().ca_pem()));
        b
    }

    /// Starts the registry and waits until it answers.
    pub fn start(self) -> TestRegistry {
        TestRegistry::launch(self)
    }
}

impl TestRegistry {
    /// A builder: anonymous, plain HTTP, delete enabled until told otherwise.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder { htpasswd: None, delete: true, tls: None, token: None, root: None }
    }

    /// An anonymous registry (plain HTTP, delete enabled).
    pub fn start() -> TestRegistry {
        TestRegistry::builder().start()
    }

    /// An anonymous registry with deletes disabled: `DELETE` answers 405, like Docker Hub.
    pub fn start_without_delete() -> TestRegistry {
        TestRegistry::builder().without_delete().start()
    }

    /// A second registry process (anonymous, plain HTTP, delete enabled, its own port)
    /// serving this one's storage: what it deletes is gone for this one too (distribution's
    /// filesystem driver keeps no cache unless configured to). The GitHub stand-in deletes
    /// through it.
    pub fn twin_with_delete(&self) -> TestRegistry {
        TestRegistry::launch(RegistryBuilder { root: Some(self.storage_root()), ..TestRegistry::builder() })
    }

    /// The storage root (`rootdirectory` of the filesystem driver).
    pub fn storage_root(&self) -> PathBuf {
        self.root.clone()
    }

    /// A registry behind `auth.htpasswd` accepting `user`/`password` (bcrypt via `htpasswd -B`).
    pub fn start_with_htpasswd(user: &str, password: &str) -> TestRegistry {
        TestRegistry::builder().htpasswd(user, password).start()
    }

    fn launch(b: RegistryBuilder) -> TestRegistry {
        let (credentials, delete) = (b.htpasswd, b.delete);
        let bin = require_tool(REGISTRY_BIN, "docker-registry");
        let dir = tempfile::tempdir().expect("create a temp dir for the registry");
        let port = free_port();
        let root = b.root.clone().unwrap_or_else(|| dir.path().join("data"));
        std::fs::create_dir_all(&root).expect("create the storage dir");
        let ca = b.tls.map(|ca| ca.unwrap_or_else(|| TestCa::create(&dir.path().join("ca"))));
        let tls = ca.as_ref().map_or_else(String::new, |ca| format!("  tls:\n    certificate: {}\n    key: {}\n", ca.server_cert().display(), ca.server_key().display()));
        let mut auth = String::new();
        if let Some((realm, service, issuer, bundle)) = &b.token {
            auth = format!("auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n", bundle.display());
        }
        if let Some((user, password)) = &credentials {
            let htpasswd = require_tool("htpasswd", "apache2-utils");
            let out = Command::new(htpasswd).args(["-Bbn", user, password]).output().expect("run htpasswd");
            assert!(out.status.success(), "htpasswd failed: {}", String::from_utf8_lossy(&out.stderr));
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, &out.stdout).expect("write htpasswd");
            auth = format!("auth:\n  htpasswd:\n    realm: imgctl-test\n    path: {}\n", file.display());
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: {delete}\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n{tls}{auth}",
            root = root.display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write the registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("create the registry log");
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut reg = TestRegistry { child, dir, root, port, credentials, ca };
        reg.wait_ready();
        reg
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited ({status}) while starting:\n{}", self.log());
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 12];
                if s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.") {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "docker-registry did not answer on 127.0.0.1:{} within 20 s:\n{}", self.port, self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the registry logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The credentials an htpasswd registry accepts.
    pub fn credentials(&self) -> Option<Credentials> {
        self.credentials.as_ref().map(|(u, p)| Credentials::new(u.clone(), p.clone()))
    }

    /// The CA of a TLS registry (`None` for plain HTTP).
    pub fn ca(&self) -> Option<&TestCa> {
        self.ca.as_ref()
    }

    /// Client options for `host` (this registry or a proxy in front of it): plain HTTP (or
    /// TLS trusting this registry's CA), with this registry's credentials, fast retries.
    pub fn options_for(&self, host: &str) -> ClientOptions {
        let mut o = ClientOptions::new(host);
        o.insecure = self.ca.is_none();
        o.tls.ca_files.extend(self.ca.as_ref().map(TestCa::ca_pem));
        o.credentials = self.credentials();
        o.retry.base_delay = Duration::from_millis(20);
        o.retry.max_delay = Duration::from_millis(500);
        o
    }

    /// A client talking to this registry directly.
    pub fn client(&self) -> RegistryClient {
        RegistryClient::new(self.options_for(&self.host())).expect("build a registry client")
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
