//! The registry client against the real `docker-registry` 2.8.2, with request counts taken at
//! a proxy in front of it and `skopeo` as the independent witness.

#![allow(clippy::print_stderr)] // the tests print measured figures (tag listing time, faults injected)

mod auth;
mod blobs;
mod faults;
mod hostile;
mod issues;
mod limits;
mod manifests;
mod referrers;
mod tags;
mod token_tls;

use std::process::Command;

use imgctl_registry::{Access, RegistryClient};
use imgctl_testkit::{Proxy, TestRegistry, require_tool};

/// A registry, a proxy in front of it, a direct client and a client through the proxy.
#[derive(Debug)]
pub struct Setup {
    pub reg: TestRegistry,
    pub proxy: Proxy,
    pub direct: RegistryClient,
    pub via: RegistryClient,
}

impl Setup {
    pub fn anonymous() -> Setup {
        Setup::around(TestRegistry::start())
    }

    pub fn around(reg: TestRegistry) -> Setup {
        let proxy = Proxy::start(&reg.host());
        let direct = reg.client();
        let via = RegistryClient::new(reg.options_for(&proxy.host())).expect("client via proxy");
        Setup { reg, proxy, direct, via }
    }

    /// Authenticates the proxied client for `repo`, then forgets the requests that took.
    pub async fn ready(&self, repo: &str, access: Access) {
        self.via.authenticate(repo, access).await.expect("authenticate");
        self.proxy.reset();
    }
}

/// A registry stand-in on a free loopback port for what the real registry cannot do: each
/// connection's first request (its text) and the socket go to `answer`. Returns `host:port`.
pub async fn raw_server<F, Fut>(answer: F) -> String
where
    F: Fn(String, tokio::net::TcpStream) -> Fut + Send + Copy + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                answer(String::from_utf8_lossy(&buf[..n]).into_owned(), sock).await;
            });
        }
    });
    addr
}

/// `skopeo inspect --raw` of `host/repo:reference`: the manifest bytes as another client sees them.
pub fn skopeo_raw(host: &str, repo: &str, reference: &str) -> Vec<u8> {
    let skopeo = require_tool("skopeo", "skopeo");
    let sep = if reference.starts_with("sha256:") { "@" } else { ":" };
    let out = Command::new(skopeo)
        .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{host}/{repo}{sep}{reference}")])
        .output()
        .expect("run skopeo");
    assert!(out.status.success(), "skopeo failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}
