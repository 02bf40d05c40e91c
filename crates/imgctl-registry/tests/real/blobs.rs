//! Blobs: HEAD check, streamed push from a file, cross-repository mount (201 and the 202
//! fallback), and delete by digest.

use imgctl_registry::digest::sha256;
use imgctl_registry::{Access, BlobSource, MountOutcome, Registry, RegistryError};
use imgctl_testkit::PathKind;
use imgctl_testkit::images::{Flavor, image, push_image, random_bytes};

use crate::Setup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_from_file_then_mount_or_upload() {
    let s = Setup::anonymous();
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(50, 300_000);
    let digest = sha256(&data);
    let path = dir.path().join("layer");
    std::fs::write(&path, &data).unwrap();
    let src = BlobSource::File(path);
    s.ready("src", Access::Push).await;

    assert!(!s.via.blob_exists("src", &digest).await.unwrap());
    s.via.push_blob("src", &digest, &src).await.unwrap();
    assert!(s.via.blob_exists("src", &digest).await.unwrap());
    let c = s.proxy.counts();
    assert_eq!((c.get("POST", PathKind::BlobUpload), c.get("PUT", PathKind::BlobUpload)), (1, 1), "{c:?}");

    s.proxy.reset();
    assert_eq!(s.via.mount_blob("dst", &digest, "src", &src).await.unwrap(), MountOutcome::Mounted);
    let c = s.proxy.counts();
    assert_eq!((c.get("POST", PathKind::BlobUpload), c.get("PUT", PathKind::BlobUpload)), (1, 0), "a mount uploads nothing: {c:?}");
    assert!(s.direct.blob_exists("dst", &digest).await.unwrap());

    // The source repository lacks it: the registry answers 202 and the blob is uploaded.
    let other = random_bytes(51, 1000);
    let od = sha256(&other);
    let outcome = s.via.mount_blob("dst", &od, "src", &BlobSource::Bytes(other.into())).await.unwrap();
    assert_eq!(outcome, MountOutcome::Uploaded);
    assert!(s.direct.blob_exists("dst", &od).await.unwrap());

    // A wrong digest is refused by the registry and reported.
    let e = s.via.push_blob("dst", &sha256(b"other"), &BlobSource::Bytes(b"not it".to_vec().into())).await.unwrap_err();
    assert!(matches!(e, RegistryError::Http { status: 400, .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_by_digest_removes_every_tag_of_it() {
    let s = Setup::anonymous();
    let img = image(Flavor::Oci, "amd64", 1, 60);
    let keep = image(Flavor::Oci, "amd64", 1, 61);
    push_image(&s.direct, "d", "a", &img).await;
    push_image(&s.direct, "d", "b", &img).await;
    push_image(&s.direct, "d", "keep", &keep).await;
    s.ready("d", Access::Delete).await;
    s.via.delete_manifest("d", &img.manifest.digest).await.unwrap();
    let c = s.proxy.counts();
    assert_eq!((c.get("DELETE", PathKind::Manifest), c.total()), (1, 1), "{c:?}");
    assert_eq!(s.direct.list_tags("d").await.unwrap(), vec!["keep"]);
    assert!(s.direct.resolve("d", "a").await.unwrap_err().is_not_found());
    let e = s.via.delete_manifest("d", "keep").await.unwrap_err();
    assert!(matches!(e, RegistryError::InvalidReference { .. }), "{e}");
    assert!(s.via.delete_manifest("d", &img.manifest.digest).await.unwrap_err().is_not_found());
}
