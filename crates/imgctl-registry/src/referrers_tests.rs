//! Tests of attaching and listing referrers over the in-memory registry (tag schema) and a
//! registry with the referrers API (distribution-spec v1.1 "Listing Referrers": 200 with an
//! image index; `OCI-Subject` on the PUT of a manifest with a subject).

use std::sync::Mutex;

use super::*;
use crate::fake::FakeRegistry;
use crate::{BlobSource, Descriptor, MountOutcome};

const REPO: &str = "r/x";

fn attachment(n: u8, subject: &str) -> Attachment {
    let body = json!({"schemaVersion": 2, "mediaType": crate::OCI_MANIFEST, "artifactType": "application/x-test", "subject": {"digest": subject}, "n": n});
    let manifest = RawManifest::from_bytes(serde_json::to_vec(&body).unwrap());
    let entry = json!({"mediaType": crate::OCI_MANIFEST, "digest": manifest.digest, "size": manifest.bytes.len(), "artifactType": "application/x-test"});
    Attachment { manifest, blobs: vec![(sha256(b"{}"), bytes::Bytes::from_static(b"{}"))], entry }
}

#[test]
fn tags_and_subjects_of_the_tag_schema() {
    let d = format!("sha256:{}", "ab".repeat(32));
    assert_eq!(tag_of(&d), format!("sha256-{}", "ab".repeat(32)));
    assert_eq!(subject_of(&tag_of(&d)).as_deref(), Some(d.as_str()));
    assert_eq!(subject_of("sha256-abc"), None);
    assert_eq!(subject_of(&format!("sha256-{}.sig", "ab".repeat(32))), None, "cosign's tags are not referrers indexes");
}

#[tokio::test]
async fn the_tag_schema_index_gains_each_attachment_once() {
    let r = FakeRegistry::new();
    let subject = r.insert(REPO, "v-latest", br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#.to_vec());
    let (a, b) = (attachment(1, &subject), attachment(2, &subject));
    assert_eq!(attach(&r, REPO, &subject, &a, Duration::ZERO).await.unwrap(), Indexed::ByTagSchema(1));
    assert_eq!(attach(&r, REPO, &subject, &b, Duration::ZERO).await.unwrap(), Indexed::ByTagSchema(1));
    assert_eq!(attach(&r, REPO, &subject, &a, Duration::ZERO).await.unwrap(), Indexed::Already, "re-attaching adds nothing");
    let listed: Vec<String> = list(&r, REPO, &subject).await.unwrap().iter().map(|e| e["digest"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed, vec![a.manifest.digest.clone(), b.manifest.digest.clone()]);
    let index = r.get_manifest(REPO, &tag_of(&subject)).await.unwrap();
    assert_eq!(index.media_type, OCI_INDEX);
    assert!(r.get_manifest(REPO, &a.manifest.digest).await.is_ok(), "the artifact is stored by digest");
    assert!(r.blob_exists(REPO, &sha256(b"{}")).await.unwrap());
    // a digest with nothing attached lists nothing (the missing tag is not an error)
    assert!(list(&r, REPO, &format!("sha256:{}", "0".repeat(64))).await.unwrap().is_empty());
}

/// A registry with the referrers API: it indexes what is PUT with a subject and answers
/// the referrers endpoint itself; the tag schema is never touched.
#[derive(Default)]
struct WithApi {
    inner: FakeRegistry,
    lists: Mutex<Vec<(String, Value)>>,
}

impl Registry for WithApi {
    async fn resolve(&self, repo: &str, reference: &str) -> Result<Descriptor> {
        self.inner.resolve(repo, reference).await
    }
    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<RawManifest> {
        self.inner.get_manifest(repo, reference).await
    }
    async fn put_manifest(&self, repo: &str, tag: &str, manifest: &RawManifest) -> Result<Descriptor> {
        self.inner.put_manifest(repo, tag, manifest).await
    }
    async fn list_tags(&self, repo: &str) -> Result<Vec<String>> {
        self.inner.list_tags(repo).await
    }
    async fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool> {
        self.inner.blob_exists(repo, digest).await
    }
    async fn push_blob(&self, repo: &str, digest: &str, source: &BlobSource) -> Result<()> {
        self.inner.push_blob(repo, digest, source).await
    }
    async fn mount_blob(&self, repo: &str, digest: &str, from_repo: &str, source: &BlobSource) -> Result<MountOutcome> {
        self.inner.mount_blob(repo, digest, from_repo, source).await
    }
    async fn delete_manifest(&self, repo: &str, digest: &str) -> Result<()> {
        self.inner.delete_manifest(repo, digest).await
    }
    async fn put_referrer(&self, repo: &str, manifest: &RawManifest) -> Result<bool> {
        self.inner.put_manifest(repo, &manifest.digest, manifest).await?;
        let v: Value = serde_json::from_slice(&manifest.bytes).unwrap();
        let subject = v["subject"]["digest"].as_str().unwrap().to_string();
        self.lists.lock().unwrap().push((subject, json!({"digest": manifest.digest, "artifactType": v["artifactType"]})));
        Ok(true)
    }
    async fn referrers_api(&self, _repo: &str, digest: &str) -> Result<Option<RawManifest>> {
        let list: Vec<Value> = self.lists.lock().unwrap().iter().filter(|(s, _)| s == digest).map(|(_, e)| e.clone()).collect();
        Ok(Some(RawManifest::from_bytes(serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list})).unwrap())))
    }
}

#[tokio::test]
async fn a_registry_with_the_referrers_api_keeps_the_list_and_no_index_tag_is_written() {
    let r = WithApi::default();
    let subject = r.inner.insert(REPO, "v-latest", br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#.to_vec());
    let a = attachment(1, &subject);
    assert_eq!(attach(&r, REPO, &subject, &a, Duration::ZERO).await.unwrap(), Indexed::ByRegistry);
    let listed = list(&r, REPO, &subject).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["digest"], a.manifest.digest.as_str());
    assert!(r.inner.tag(REPO, &tag_of(&subject)).is_none(), "no sha256-<hex> tag where the registry indexes referrers");
}
