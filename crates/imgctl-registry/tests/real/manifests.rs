//! Retag by digest (2 manifest requests, no blob, same bytes per skopeo), digest verification
//! and error messages.

use imgctl_registry::digest::sha256;
use imgctl_registry::{Access, OCI_INDEX, Registry, RegistryError, retag};
use imgctl_testkit::images::{Flavor, image, index, push_image, push_index};
use imgctl_testkit::{Fault, FaultPlan, PathKind};

use crate::{Setup, skopeo_raw};

async fn assert_retag_costs_two_manifest_requests(s: &Setup, repo: &str, bytes: &[u8], digest: &str) {
    s.ready(repo, Access::Push).await;
    let moved = retag(&s.via, repo, "v1", "latest").await.expect("retag");
    assert_eq!(moved.digest, digest);
    let c = s.proxy.counts();
    assert_eq!(c.get("GET", PathKind::Manifest), 1, "{c:?}");
    assert_eq!(c.get("PUT", PathKind::Manifest), 1, "{c:?}");
    assert_eq!(c.total(), 2, "exactly GET raw + PUT, nothing else: {c:?}");
    assert_eq!(c.blobs(), 0);
    let seen = skopeo_raw(&s.reg.host(), repo, "latest");
    assert_eq!(seen, bytes, "skopeo sees other bytes under the new tag");
    assert_eq!(sha256(&seen), digest);
    assert_eq!(s.direct.resolve(repo, "latest").await.unwrap().digest, digest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retag_single_arch_oci_and_docker_takes_two_manifest_requests() {
    let s = Setup::anonymous();
    for (repo, flavor) in [("team/oci", Flavor::Oci), ("team/docker", Flavor::Docker)] {
        let img = image(flavor, "amd64", 2, 1);
        push_image(&s.direct, repo, "v1", &img).await;
        assert_retag_costs_two_manifest_requests(&s, repo, &img.manifest.bytes, &img.manifest.digest).await;
        let got = s.via.get_manifest(repo, "latest").await.unwrap();
        assert_eq!(got.media_type, img.manifest.media_type);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retag_multi_arch_index_keeps_digest() {
    let s = Setup::anonymous();
    let idx = index(vec![image(Flavor::Oci, "amd64", 1, 2), image(Flavor::Oci, "arm64", 1, 3)]);
    push_index(&s.direct, "multi", "v1", &idx).await;
    assert_retag_costs_two_manifest_requests(&s, "multi", &idx.manifest.bytes, &idx.manifest.digest).await;
    s.proxy.reset();
    let d = s.via.resolve("multi", "latest").await.unwrap();
    let c = s.proxy.counts();
    assert_eq!((c.get("HEAD", PathKind::Manifest), c.total()), (1, 1), "resolve is one HEAD: {c:?}");
    assert_eq!((d.digest.as_str(), d.media_type.as_str(), d.size), (idx.manifest.digest.as_str(), OCI_INDEX, idx.manifest.bytes.len() as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_manifest_bytes_are_detected_and_nothing_is_written() {
    let s = Setup::anonymous();
    let img = image(Flavor::Oci, "amd64", 1, 4);
    push_image(&s.direct, "alt", "v1", &img).await;
    s.ready("alt", Access::Push).await;
    s.proxy.set_faults(FaultPlan::always(Fault::AlterManifest));
    for reference in ["v1", img.manifest.digest.as_str()] {
        let e = s.via.get_manifest("alt", reference).await.unwrap_err();
        assert!(matches!(e, RegistryError::DigestMismatch { .. }), "{e}");
        assert!(e.to_string().contains(&img.manifest.digest), "{e}");
    }
    let e = retag(&s.via, "alt", "v1", "latest").await.unwrap_err();
    assert!(matches!(e, RegistryError::DigestMismatch { .. }), "{e}");
    let c = s.proxy.counts();
    assert_eq!(c.get("PUT", PathKind::Manifest), 0, "{c:?}");
    assert_eq!(c.get("GET", PathKind::Manifest), 3, "a digest mismatch is not retried: {c:?}");
    s.proxy.clear_faults();
    assert!(s.direct.resolve("alt", "latest").await.unwrap_err().is_not_found());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_digest_returned_by_a_put_is_an_error() {
    let s = Setup::anonymous();
    let img = image(Flavor::Oci, "amd64", 1, 5);
    push_image(&s.direct, "w", "v1", &img).await;
    s.ready("w", Access::Push).await;
    s.proxy.set_faults(FaultPlan { kinds: vec![PathKind::Manifest], ..FaultPlan::always(Fault::WrongDigestHeader) });
    let e = s.via.put_manifest("w", "v2", &img.manifest).await.unwrap_err();
    assert!(matches!(e, RegistryError::DigestMismatch { .. }), "{e}");
    assert!(e.to_string().contains(&img.manifest.digest) && e.to_string().contains("w:v2"), "{e}");
    // A HEAD reporting another digest than the one asked for is caught too.
    let e = s.via.resolve("w", &img.manifest.digest).await.unwrap_err();
    assert!(matches!(e, RegistryError::DigestMismatch { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_registry_repository_reference_and_status() {
    let s = Setup::anonymous();
    let e = s.direct.get_manifest("team/missing", "nope").await.unwrap_err();
    let msg = e.to_string();
    assert!(e.is_not_found() && !e.is_access());
    for part in [s.reg.host().as_str(), "team/missing", "nope", "404"] {
        assert!(msg.contains(part), "'{part}' missing from: {msg}");
    }
    let bad = imgctl_registry::RawManifest::from_bytes(&br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{}}"#[..]);
    let e = s.direct.put_manifest("team/x", "t", &bad).await.unwrap_err();
    assert!(matches!(e, RegistryError::Http { status: 400, .. }), "{e}");
    assert!(e.to_string().contains("team/x:t"), "{e}");
}
