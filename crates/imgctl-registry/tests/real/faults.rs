//! Transient faults (429 + Retry-After, 5xx, dropped connections, resets mid-body) are retried
//! within the budget; 404 and 400 are not; requests in flight stay bounded. Counted at the proxy.

use std::time::Duration;

use futures_util::future::join_all;
use imgctl_registry::{Access, RegistryClient, RegistryError, Registry, retag};
use imgctl_testkit::images::{Flavor, image, index, push_image, push_index};
use imgctl_testkit::{Fault, FaultPlan, PathKind};

use crate::{Setup, skopeo_raw};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_succeed_through_429_5xx_and_dropped_connections() {
    let s = Setup::anonymous();
    s.proxy.set_faults(FaultPlan {
        rate: 0.35,
        seed: 42,
        faults: vec![Fault::TooManyRequests { retry_after_secs: 1 }, Fault::Status(503), Fault::Status(500), Fault::Status(502), Fault::Drop, Fault::ResetMidBody],
        ..FaultPlan::default()
    });
    let img = image(Flavor::Docker, "amd64", 2, 10);
    let idx = index(vec![image(Flavor::Oci, "amd64", 1, 11), image(Flavor::Oci, "arm64", 1, 12)]);
    push_image(&s.via, "f", "single", &img).await;
    push_index(&s.via, "f", "multi", &idx).await;
    for (tag, want) in [("single", &img.manifest), ("multi", &idx.manifest)] {
        assert_eq!(s.via.get_manifest("f", tag).await.unwrap().bytes, want.bytes);
        assert_eq!(s.via.resolve("f", tag).await.unwrap().digest, want.digest);
        retag(&s.via, "f", tag, &format!("{tag}-moved")).await.unwrap();
    }
    assert_eq!(s.via.list_tags("f").await.unwrap(), vec!["multi", "multi-moved", "single", "single-moved"]);
    assert!(s.via.blob_exists("f", &img.blobs[0].digest).await.unwrap());
    let random_faults = s.proxy.events().iter().filter(|e| e.fault.is_some()).count();
    s.proxy.clear_faults();
    assert_eq!(skopeo_raw(&s.reg.host(), "f", "multi-moved"), idx.manifest.bytes);

    // Each kind on its own: the first two attempts get it, the third succeeds.
    for fault in [Fault::TooManyRequests { retry_after_secs: 1 }, Fault::Status(503), Fault::Status(500), Fault::Drop, Fault::ResetMidBody] {
        s.proxy.reset();
        s.proxy.set_faults(FaultPlan { max: Some(2), ..FaultPlan::always(fault.clone()) });
        let got = s.via.get_manifest("f", "multi").await.unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(got.bytes, idx.manifest.bytes);
        let events = s.proxy.events();
        let faulted: Vec<_> = events.iter().map(|e| e.fault.clone()).collect();
        assert_eq!(faulted, vec![Some(fault.clone()), Some(fault.clone()), None], "{fault:?}");
        if let Fault::TooManyRequests { retry_after_secs } = fault {
            // Retry-After is honoured: each retry comes at least that long after the 429.
            for w in events.windows(2) {
                assert!(w[1].at.duration_since(w[0].at) >= Duration::from_secs(retry_after_secs), "retried {:?} after a 429", w[1].at.duration_since(w[0].at));
            }
        }
    }
    let injected = random_faults;
    let events = s.proxy.events();
    assert!(injected >= 5, "the random plan injected only {injected} faults");
    eprintln!("random plan: {injected} faults injected; last check saw {} requests", events.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_and_bad_request_are_not_retried() {
    let s = Setup::anonymous();
    let img = image(Flavor::Oci, "amd64", 1, 20);
    push_image(&s.direct, "n", "v1", &img).await;
    s.ready("n", Access::Push).await;

    assert!(s.via.get_manifest("n", "missing").await.unwrap_err().is_not_found());
    let bad = imgctl_registry::RawManifest::from_bytes(&b"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{}}"[..]);
    let e = s.via.put_manifest("n", "bad", &bad).await.unwrap_err();
    assert!(matches!(e, RegistryError::Http { status: 400, .. }), "{e}");
    let c = s.proxy.counts();
    assert_eq!((c.get("GET", PathKind::Manifest), c.get("PUT", PathKind::Manifest), c.total()), (1, 1, 2), "{c:?}");

    for status in [400u16, 404] {
        s.proxy.reset();
        s.proxy.set_faults(FaultPlan::always(Fault::Status(status)));
        let e = s.via.get_manifest("n", "v1").await.unwrap_err();
        assert!(e.to_string().contains(&status.to_string()), "{e}");
        assert_eq!(s.proxy.counts().total(), 1, "HTTP {status} was retried");
    }
    // While a 503 is retried up to the budget, then reported as unavailable (exit 3).
    s.proxy.reset();
    s.proxy.set_faults(FaultPlan::always(Fault::Status(503)));
    let e = s.via.get_manifest("n", "v1").await.unwrap_err();
    assert!(matches!(e, RegistryError::Unavailable { attempts: 6, .. }) && e.is_access(), "{e}");
    assert_eq!(s.proxy.counts().total(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_are_bounded_and_auth_happens_once() {
    let s = Setup::anonymous();
    let img = image(Flavor::Oci, "amd64", 3, 30);
    push_image(&s.direct, "c", "v1", &img).await;
    let mut opts = s.reg.options_for(&s.proxy.host());
    opts.concurrency = 2;
    let client = RegistryClient::new(opts).unwrap();
    let checks = (0..40).map(|i| {
        let (client, d) = (client.clone(), img.blobs[i % img.blobs.len()].digest.clone());
        async move { client.blob_exists("c", &d).await }
    });
    assert!(join_all(checks).await.into_iter().all(|r| r.unwrap()));
    let c = s.proxy.counts();
    assert!(s.proxy.max_in_flight() <= 2, "{} requests in flight with --concurrency 2", s.proxy.max_in_flight());
    assert_eq!(c.get("HEAD", PathKind::Blob), 40);
    assert_eq!(c.kind(PathKind::Ping), 1, "one auth handshake for the whole operation: {c:?}");
    assert_eq!(client.stats().total(), 41);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answers_past_the_read_timeout_and_truncated_bodies_are_retried() {
    let s = Setup::anonymous();
    let mut opts = s.reg.options_for(&s.proxy.host());
    opts.read_timeout = Duration::from_millis(300);
    let via = RegistryClient::new(opts).unwrap();
    let img = image(Flavor::Oci, "amd64", 1, 77);
    push_image(&s.direct, "t", "v1", &img).await;
    for fault in [Fault::Slow { millis: 1_000 }, Fault::Truncate] {
        s.proxy.reset();
        s.proxy.set_faults(FaultPlan { max: Some(2), kinds: vec![PathKind::Manifest], ..FaultPlan::always(fault.clone()) });
        let got = via.get_manifest("t", "v1").await.unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(got.bytes, img.manifest.bytes, "{fault:?}");
        let manifest_requests = s.proxy.events().iter().filter(|e| e.kind == PathKind::Manifest).count();
        assert_eq!(manifest_requests, 3, "{fault:?}: two faulted attempts, then success");
    }
    s.proxy.clear_faults();
}

/// distribution's filesystem driver answers a manifest PUT with `400 DIGEST_INVALID` when
/// other writers store the same manifest blob at that moment; the bytes are ours and hash to
/// the digest we computed, so the PUT is retried (and lands), while any other 400 is final.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_invalid_answer_to_a_manifest_put_is_retried() {
    let s = Setup::anonymous();
    let img = image(Flavor::Oci, "amd64", 1, 77);
    push_image(&s.via, "f", "base", &img).await;
    let answer = imgctl_testkit::Answer::new("PUT", "/manifests/", 400, r#"{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}"#);
    s.proxy.reset();
    s.proxy.set_faults(FaultPlan { max: Some(1), ..FaultPlan::always(Fault::Answer(answer)) });
    retag(&s.via, "f", "base", "copy").await.expect("retried past DIGEST_INVALID");
    let puts: Vec<_> = s.proxy.events().into_iter().filter(|e| e.method == "PUT").map(|e| e.fault.is_some()).collect();
    assert_eq!(puts, vec![true, false], "one refused PUT, one that landed");
    assert_eq!(skopeo_raw(&s.reg.host(), "f", "copy"), img.manifest.bytes);
    // another 400 stays final
    let other = imgctl_testkit::Answer::new("PUT", "/manifests/", 400, r#"{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}"#);
    s.proxy.reset();
    s.proxy.set_faults(FaultPlan { max: Some(1), ..FaultPlan::always(Fault::Answer(other)) });
    assert!(retag(&s.via, "f", "base", "again").await.is_err());
    assert_eq!(s.proxy.events().iter().filter(|e| e.method == "PUT").count(), 1, "not retried");
}
