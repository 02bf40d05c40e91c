//! [`TestRegistry`]: Debian's `docker-registry` serving a temp dir on a free 127.0.0.1 port,
//! with a config written here (never `/etc/docker/registry/config.yml`), optionally behind
//! `auth.htpasswd` (bcrypt); killed on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use imgctl_registry::{ClientOptions, Credentials, RegistryClient};

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
    port: u16,
    credentials: Option<(String, String)>,
}

impl TestRegistry {
    /// An anonymous registry (plain HTTP, delete enabled).
    pub fn start() -> TestRegistry {
        TestRegistry::launch(None, true)
    }

    /// An anonymous registry with deletes disabled: `DELETE` answers 405, like Docker Hub.
    pub fn start_without_delete() -> TestRegistry {
        TestRegistry::launch(None, false)
    }

    /// A registry behind `auth.htpasswd` accepting `user`/`password` (bcrypt via `htpasswd -B`).
    pub fn start_with_htpasswd(user: &str, password: &str) -> TestRegistry {
        TestRegistry::launch(Some((user.to_owned(), password.to_owned())), true)
    }

    fn launch(credentials: Option<(String, String)>, delete: bool) -> TestRegistry {
        let bin = require_tool(REGISTRY_BIN, "docker-registry");
        let dir = tempfile::tempdir().expect("create a temp dir for the registry");
        let port = free_port();
        let root = dir.path().join("data");
        std::fs::create_dir_all(&root).expect("create the storage dir");
        let mut auth = String::new();
        if let Some((user, password)) = &credentials {
            let htpasswd = require_tool("htpasswd", "apache2-utils");
            let out = Command::new(htpasswd).args(["-Bbn", user, password]).output().expect("run htpasswd");
            assert!(out.status.success(), "htpasswd failed: {}", String::from_utf8_lossy(&out.stderr));
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, &out.stdout).expect("write htpasswd");
            auth = format!("auth:\n  htpasswd:\n    realm: imgctl-test\n    path: {}\n", file.display());
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: {delete}\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
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
        let mut reg = TestRegistry { child, dir, port, credentials };
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

    /// Client options for `host` (this registry or a proxy in front of it): plain HTTP, with
    /// this registry's credentials, fast retries.
    pub fn options_for(&self, host: &str) -> ClientOptions {
        let mut o = ClientOptions::new(host);
        o.insecure = true;
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
