//! The client against the test kit's hostile stand-in in front of the real registry: a blob
//! longer than its descriptor (announced or not) or endless is cut at the descriptor's size
//! and nothing of it stays on disk; a trickling answer fails at the request's deadline (short
//! deadlines here, never timed assertions); a plain-HTTP realm on another host and a redirect
//! to another host get no credentials; the real registry sees no write.

use std::time::Duration;

use imgctl_registry::{ClientOptions, Credentials, RegistryClient, RegistryError, Registry};
use imgctl_testkit::images::{Flavor, image, image_with_layer, push_image, random_bytes};
use imgctl_testkit::{Hostile, Hostility, PathKind, TestRegistry};

const PASSWORD: &str = "Hostile-d0nt-l3ak";

fn client(h: &Hostile, tune: impl FnOnce(&mut ClientOptions)) -> RegistryClient {
    let mut o = ClientOptions::new(h.host()).insecure_if_listed(&[h.host()]);
    o.retry.base_delay = Duration::from_millis(10);
    o.retry.max_delay = Duration::from_millis(50);
    tune(&mut o);
    RegistryClient::new(o).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_longer_than_its_descriptor_or_endless_is_cut_off_and_nothing_kept() {
    let reg = TestRegistry::start();
    let img = image_with_layer("amd64", random_bytes(5, 256 << 10), 5);
    push_image(&reg.client(), "h/blob", "v1", &img).await;
    let layer = &img.blobs[1];
    let size = layer.bytes.len() as u64;
    let h = Hostile::start(&reg.host());
    let c = client(&h, |_| {});
    let dir = tempfile::tempdir().unwrap();
    let into = dir.path().join("blob");

    assert_eq!(c.fetch_blob("h/blob", &layer.digest, size, &into).await.unwrap(), size, "a well-behaved answer is taken");
    assert_eq!(std::fs::read(&into).unwrap(), layer.bytes);
    for mode in [
        Hostility::Overrun { extra: 1, announce: false },
        Hostility::Overrun { extra: 64 << 20, announce: true },
        Hostility::Overrun { extra: 64 << 20, announce: false },
        Hostility::Endless { kinds: vec![PathKind::Blob] },
    ] {
        h.set(mode.clone());
        let e = c.fetch_blob("h/blob", &layer.digest, size, &into).await.unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("longer") && msg.contains(&format!("size of {size} bytes")) && msg.contains(&h.host()) && msg.contains("h/blob@sha256:"), "{mode:?}: {msg}");
        assert!(!into.exists(), "{mode:?}: nothing of a refused blob stays on disk");
    }
    // a descriptor smaller than the real blob is refused the same way (one byte more is an error)
    h.set(Hostility::None);
    let e = c.fetch_blob("h/blob", &layer.digest, size - 1, &into).await.unwrap_err();
    assert!(e.to_string().contains("longer"), "{e}");
    assert!(!into.exists());
    assert!(h.writes().is_empty(), "{:?}", h.writes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_answer_fails_at_the_deadline_naming_what_was_asked() {
    let reg = TestRegistry::start();
    let img = image(Flavor::Oci, "amd64", 1, 6);
    push_image(&reg.client(), "h/slow", "v1", &img).await;
    let h = Hostile::start(&reg.host());
    let c = client(&h, |o| {
        o.deadlines.request = Duration::from_millis(800);
        o.deadlines.blob_bytes_per_sec = u64::MAX;
    });
    c.resolve("h/slow", "v1").await.unwrap();
    h.set(Hostility::Trickle { kinds: vec![PathKind::Manifest, PathKind::Blob, PathKind::TagsList], every: Duration::from_millis(300) });
    let before = h.seen().len();
    let e = c.get_manifest("h/slow", "v1").await.unwrap_err();
    assert!(matches!(e, RegistryError::TimedOut { .. }) && e.is_access(), "{e}");
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("get manifest {}/h/slow:v1: no complete answer within 0.8s", h.host())), "{msg}");
    assert_eq!(h.seen().len() - before, 1, "a missed deadline is not retried");
    let e = c.list_tags("h/slow").await.unwrap_err();
    assert!(matches!(e, RegistryError::TimedOut { .. }), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let into = dir.path().join("blob");
    let e = c.fetch_blob("h/slow", &img.blobs[1].digest, img.blobs[1].bytes.len() as u64, &into).await.unwrap_err();
    assert!(matches!(e, RegistryError::TimedOut { .. }) && e.to_string().contains("fetch blob"), "{e}");
    assert!(!into.exists());
    assert!(h.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_realm_on_another_host_gets_no_credentials_unless_listed() {
    let reg = TestRegistry::start();
    push_image(&reg.client(), "h/realm", "v1", &image(Flavor::Oci, "amd64", 1, 7)).await;
    let h = Hostile::start(&reg.host());
    h.set(Hostility::PlainRealm);
    let creds = |o: &mut ClientOptions| o.credentials = Some(Credentials::new("ci", PASSWORD));
    let e = client(&h, creds).get_manifest("h/realm", "v1").await.unwrap_err();
    let msg = e.to_string();
    assert!(e.is_access() && msg.contains(&format!("http://{}", h.catcher())) && msg.contains("plain HTTP") && msg.contains("--insecure-registry"), "{msg}");
    assert!(!msg.contains(PASSWORD));
    assert!(h.caught().is_empty(), "nothing reached the other host: {:?}", h.caught());
    // anonymous too: a token from a plain-HTTP service could be anyone's
    assert!(client(&h, |_| {}).get_manifest("h/realm", "v1").await.unwrap_err().is_access());
    assert!(h.caught().is_empty());

    // listed insecure, the realm is the user's choice: it gets the exchange
    let listed = client(&h, |o| {
        creds(o);
        o.insecure_hosts.push(h.catcher());
    });
    listed.get_manifest("h/realm", "v1").await.unwrap();
    assert!(h.caught().iter().any(|s| s.path.starts_with("/token") && s.authorization), "{:?}", h.caught());
    assert!(h.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_credentials_never_follow_a_redirect_to_another_host() {
    let reg = TestRegistry::start();
    push_image(&reg.client(), "h/redir", "v1", &image(Flavor::Oci, "amd64", 1, 8)).await;
    let h = Hostile::start(&reg.host());
    h.set(Hostility::BasicThenRedirect);
    let creds = |o: &mut ClientOptions| o.credentials = Some(Credentials::new("ci", PASSWORD));
    let e = client(&h, creds).get_manifest("h/redir", "v1").await.unwrap_err();
    assert!(e.to_string().contains(&format!("redirected to http://{}", h.catcher())) && e.to_string().contains("refused"), "{e}");
    assert!(h.caught().is_empty(), "{:?}", h.caught());
    assert!(h.seen().iter().any(|s| s.path.contains("/manifests/") && s.authorization), "the registry itself got the credentials");

    // with the other host listed insecure the redirect is followed, without the credentials
    let listed = client(&h, |o| {
        creds(o);
        o.insecure_hosts.push(h.catcher());
    });
    let _ = listed.get_manifest("h/redir", "v1").await;
    let caught = h.caught();
    assert!(!caught.is_empty() && caught.iter().all(|s| !s.authorization), "{caught:?}");
}
