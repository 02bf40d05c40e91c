//! Auth against an htpasswd (bcrypt) registry: right credentials work with one handshake,
//! wrong or missing ones fail fast as access errors that never show the password; plain HTTP
//! is refused unless the host is listed as insecure.

use imgctl_registry::{Access, ClientOptions, Credentials, Registry, RegistryClient};
use imgctl_testkit::images::{Flavor, image, push_image};
use imgctl_testkit::{PathKind, TestRegistry};

use crate::Setup;

const PASSWORD: &str = "pa55-Very-Secret-word";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn htpasswd_credentials_work_with_one_handshake() {
    let s = Setup::around(TestRegistry::start_with_htpasswd("ci", PASSWORD));
    let img = image(Flavor::Oci, "amd64", 2, 70);
    s.via.authenticate("secure", Access::Push).await.unwrap();
    push_image(&s.via, "secure", "v1", &img).await;
    assert_eq!(s.via.get_manifest("secure", "v1").await.unwrap().digest, img.manifest.digest);
    assert_eq!(s.via.list_tags("secure").await.unwrap(), vec!["v1"]);
    let c = s.proxy.counts();
    assert_eq!(c.kind(PathKind::Ping), 2, "one challenge + one credential check for all operations: {c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_credentials_fail_fast_without_showing_the_password() {
    let reg = TestRegistry::start_with_htpasswd("ci", PASSWORD);
    let proxy = imgctl_testkit::Proxy::start(&reg.host());
    let mut opts = reg.options_for(&proxy.host());
    opts.credentials = Some(Credentials::new("ci", "wrong-Secret-guess"));
    let client = RegistryClient::new(opts.clone()).unwrap();
    let e = client.authenticate("secure", Access::Pull).await.unwrap_err();
    assert!(e.is_access(), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("authentication refused") && msg.contains("401") && msg.contains(&reg.host()[..9]), "{msg}");
    for shown in [msg.clone(), format!("{e:?}"), format!("{opts:?}"), format!("{client:?}")] {
        assert!(!shown.contains("wrong-Secret-guess") && !shown.contains(PASSWORD), "secret leaked: {shown}");
    }
    assert_eq!(proxy.counts().total(), 2, "ping + one refused check, no retry of a 401");
    // Operations after a refusal fail the same way, without a late surprise.
    assert!(client.get_manifest("secure", "v1").await.unwrap_err().is_access());

    opts.credentials = None;
    let e = RegistryClient::new(opts).unwrap().authenticate("secure", Access::Pull).await.unwrap_err();
    assert!(e.is_access() && e.to_string().contains("requires credentials"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_refused_unless_listed_insecure() {
    let reg = TestRegistry::start();
    let proxy = imgctl_testkit::Proxy::start(&reg.host());
    let https = RegistryClient::new(ClientOptions::new(proxy.host())).unwrap();
    let e = https.resolve("r", "v1").await.unwrap_err();
    assert!(e.is_access(), "{e}");
    assert!(e.to_string().contains("--insecure-registry"), "{e}");
    assert_eq!(proxy.counts().total(), 0, "no plain-HTTP request was made");

    let listed = ClientOptions::new(proxy.host()).insecure_if_listed(&[proxy.host()]);
    let client = RegistryClient::new(listed).unwrap();
    let img = image(Flavor::Oci, "amd64", 1, 80);
    push_image(&client, "r", "v1", &img).await;
    assert_eq!(client.resolve("r", "v1").await.unwrap().digest, img.manifest.digest);
}
