//! Against distribution with `auth: token` over TLS and the test kit's token server: a
//! password (GET with Basic) and an identity token (OAuth2 `refresh_token` POST) both get
//! tokens distribution itself verifies, once per scope; refusals are access errors that
//! never show the secret; an untrusted certificate says how to trust its CA.

use imgctl_registry::{Access, ClientOptions, Credentials, Registry, RegistryClient, TlsTrust};
use imgctl_testkit::images::{Flavor, image, push_image};
use imgctl_testkit::{TestRegistry, TokenServer};

const PASSWORD: &str = "tok-Pa55-secret";

fn setup() -> (TokenServer, TestRegistry) {
    let ts = TokenServer::start();
    ts.user("ci", PASSWORD, &["pull", "push", "delete"]).user("reader", PASSWORD, &["pull"]);
    let reg = TestRegistry::builder().token_auth(&ts).start();
    (ts, reg)
}

fn client(reg: &TestRegistry, creds: Credentials) -> RegistryClient {
    let mut o = reg.options_for(&reg.host());
    o.credentials = Some(creds);
    RegistryClient::new(o).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_and_identity_token_get_tokens_distribution_accepts_once_per_scope() {
    let (ts, reg) = setup();
    let c = client(&reg, Credentials::new("ci", PASSWORD));
    let img = image(Flavor::Oci, "amd64", 2, 90);
    push_image(&c, "team/a", "v1", &img).await;
    assert_eq!(c.get_manifest("team/a", "v1").await.unwrap().digest, img.manifest.digest);
    let counts = ts.counts();
    assert!(counts.keys().all(|(g, _)| *g == "basic"), "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "one token per scope: {counts:?}");

    ts.reset_counts();
    let rt = ts.refresh_token_for("ci");
    let c = client(&reg, Credentials::identity_token(rt.clone()));
    assert_eq!(c.get_manifest("team/a", "v1").await.unwrap().digest, img.manifest.digest);
    assert_eq!(c.list_tags("team/a").await.unwrap(), vec!["v1"]);
    let counts = ts.counts();
    assert_eq!(counts.get(&("refresh_token", "repository:team/a:pull".into())), Some(&1), "{counts:?}");
    assert_eq!(counts.len(), 1, "{counts:?}");

    // a read-only user's token does not cover a push: refused, an access error
    let r = client(&reg, Credentials::new("reader", PASSWORD));
    assert_eq!(r.list_tags("team/a").await.unwrap(), vec!["v1"]);
    let e = r.put_manifest("team/a", "v2", &c.get_manifest("team/a", "v1").await.unwrap()).await.unwrap_err();
    assert!(e.is_access(), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_password_and_refresh_token_are_access_errors_without_the_secret() {
    let (_ts, reg) = setup();
    let e = client(&reg, Credentials::new("ci", "wrong-Secret-pw")).authenticate("team/a", Access::Pull).await.unwrap_err();
    assert!(e.is_access() && e.to_string().contains("refused"), "{e}");
    assert!(!format!("{e} {e:?}").contains("wrong-Secret-pw"));
    let e = client(&reg, Credentials::identity_token("rt-Not-Known-77")).authenticate("team/a", Access::Pull).await.unwrap_err();
    let msg = e.to_string();
    assert!(e.is_access() && msg.contains("identity token") && msg.contains("docker login"), "{msg}");
    assert!(!format!("{e} {e:?}").contains("rt-Not-Known-77"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_says_how_to_trust_the_ca_and_an_extra_ca_is_trusted() {
    let reg = TestRegistry::builder().tls().start();
    let mut o = ClientOptions::new(reg.host());
    o.retry.max_attempts = 1;
    let e = RegistryClient::new(o.clone()).unwrap().authenticate("a", Access::Pull).await.unwrap_err();
    let msg = e.to_string();
    assert!(e.is_access(), "{msg}");
    assert!(msg.contains("certificate") && msg.contains("SSL_CERT_FILE") && !msg.contains("insecure-registry"), "{msg}");
    o.tls = TlsTrust { ca_files: vec![reg.ca().unwrap().ca_pem()], ..TlsTrust::default() };
    RegistryClient::new(o).unwrap().authenticate("a", Access::Pull).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_token_at_a_basic_only_registry_says_why_and_anonymous_is_refused_by_token_auth() {
    let reg = TestRegistry::start_with_htpasswd("ci", PASSWORD);
    let e = client(&reg, Credentials::identity_token("rt-Basic-only-1")).authenticate("a", Access::Pull).await.unwrap_err();
    let msg = e.to_string();
    assert!(e.is_access() && msg.contains("identity token") && msg.contains("Basic"), "{msg}");
    assert!(!format!("{e:?}").contains("rt-Basic-only-1"));
    let (ts, reg) = setup();
    let mut o = reg.options_for(&reg.host());
    o.credentials = None;
    let e = RegistryClient::new(o).unwrap().authenticate("team/a", Access::Pull).await.unwrap_err();
    assert!(e.is_access(), "{e}");
    assert_eq!(ts.counts().len(), 1, "one anonymous token request, refused: {:?}", ts.counts());
}
