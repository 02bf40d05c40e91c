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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_are_fetched_once_per_scope_and_cover_delete_and_mount() {
    let s = Setup::anonymous();
    s.proxy.require_bearer("ci", PASSWORD);
    let mut opts = s.reg.options_for(&s.proxy.host());
    opts.credentials = Some(Credentials::new("ci", PASSWORD));
    let c = RegistryClient::new(opts.clone()).unwrap();
    c.authenticate("b", Access::Push).await.unwrap();
    let img = image(Flavor::Oci, "amd64", 2, 90);
    push_image(&c, "b", "v1", &img).await;
    imgctl_registry::retag(&c, "b", "v1", "v2").await.unwrap();
    assert_eq!(c.list_tags("b").await.unwrap(), vec!["v1", "v2"]);
    let layer = imgctl_registry::BlobSource::Bytes(img.blobs[1].bytes.clone());
    assert_eq!(c.mount_blob("m", &img.blobs[1].digest, "b", &layer).await.unwrap(), imgctl_registry::MountOutcome::Mounted);
    c.delete_manifest("b", &img.manifest.digest).await.unwrap();
    assert!(c.list_tags("b").await.unwrap().is_empty());
    let tokens = s.proxy.events().iter().filter(|e| e.path.starts_with("/token")).count();
    assert_eq!(tokens, 4, "one token per scope (b:push, b:pull, m:push+b:pull, b:delete), not per request");
    let debug = format!("{c:?}");
    assert!(!debug.contains(PASSWORD) && !debug.contains("tok-"), "secret leaked: {debug}");

    opts.credentials = Some(Credentials::new("ci", "not-the-Secret"));
    let e = RegistryClient::new(opts).unwrap().authenticate("b", Access::Pull).await.unwrap_err();
    assert!(e.is_access() && e.to_string().contains("token service refused"), "{e}");
    assert!(!e.to_string().contains("not-the-Secret"));
}
