//! An in-memory [`Registry`] for unit tests of logic built on the trait (rollout, gc). It
//! behaves like distribution 2.8: tags move freely, deleting a digest removes all its tags.
//! It is never a stand-in where the real registry is asked for.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use bytes::Bytes;

use crate::digest::{is_digest, sha256};
use crate::error::{RegistryError, Target};
use crate::{BlobSource, Descriptor, MountOutcome, RawManifest, Registry, Result};

#[derive(Debug, Default)]
struct Repo {
    manifests: HashMap<String, RawManifest>,
    tags: BTreeMap<String, String>,
    blobs: HashSet<String>,
}

/// The fake registry. Every call is recorded as `"op repo reference"` in [`FakeRegistry::calls`].
#[derive(Debug, Default)]
pub struct FakeRegistry {
    repos: Mutex<HashMap<String, Repo>>,
    calls: Mutex<Vec<String>>,
    fail: Mutex<HashMap<String, String>>,
}

const HOST: &str = "fake.invalid";

impl FakeRegistry {
    /// An empty fake.
    pub fn new() -> FakeRegistry {
        FakeRegistry::default()
    }

    /// Stores `bytes` as a manifest under `tag` (setup helper, not recorded); returns its digest.
    pub fn insert(&self, repo: &str, tag: &str, bytes: impl Into<Bytes>) -> String {
        let m = RawManifest::from_bytes(bytes);
        let digest = m.digest.clone();
        let mut repos = self.lock_repos();
        let r = repos.entry(repo.to_owned()).or_default();
        r.tags.insert(tag.to_owned(), digest.clone());
        r.manifests.insert(digest.clone(), m);
        digest
    }

    /// Makes every later call of operation `op` (e.g. `"put_manifest"`) fail with a 500.
    pub fn fail_on(&self, op: &str, message: &str) {
        self.fail.lock().unwrap_or_else(|p| p.into_inner()).insert(op.to_owned(), message.to_owned());
    }

    /// The calls made so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The digest `tag` points at, if any (inspection helper, not recorded).
    pub fn tag(&self, repo: &str, tag: &str) -> Option<String> {
        self.lock_repos().get(repo).and_then(|r| r.tags.get(tag).cloned())
    }

    fn lock_repos(&self) -> std::sync::MutexGuard<'_, HashMap<String, Repo>> {
        self.repos.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, op: &'static str, repo: &str, reference: &str) -> Result<()> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{op} {repo} {reference}"));
        if let Some(msg) = self.fail.lock().unwrap_or_else(|p| p.into_inner()).get(op) {
            return Err(RegistryError::Http { op, target: Box::new(Target::new(HOST, repo, Some(reference))), status: 500, message: msg.clone() });
        }
        Ok(())
    }

    fn find(&self, op: &'static str, repo: &str, reference: &str) -> Result<RawManifest> {
        let repos = self.lock_repos();
        let r = repos.get(repo);
        let digest = if is_digest(reference) { Some(reference.to_owned()) } else { r.and_then(|r| r.tags.get(reference).cloned()) };
        digest
            .and_then(|d| r.and_then(|r| r.manifests.get(&d).cloned()))
            .ok_or_else(|| RegistryError::NotFound { op, target: Box::new(Target::new(HOST, repo, Some(reference))), detail: ": MANIFEST_UNKNOWN: manifest unknown".into() })
    }
}

impl Registry for FakeRegistry {
    async fn resolve(&self, repo: &str, reference: &str) -> Result<Descriptor> {
        self.record("resolve", repo, reference)?;
        self.find("resolve", repo, reference).map(|m| m.descriptor())
    }

    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<RawManifest> {
        self.record("get_manifest", repo, reference)?;
        self.find("get_manifest", repo, reference)
    }

    async fn put_manifest(&self, repo: &str, tag: &str, manifest: &RawManifest) -> Result<Descriptor> {
        self.record("put_manifest", repo, tag)?;
        let digest = sha256(&manifest.bytes);
        let mut repos = self.lock_repos();
        let r = repos.entry(repo.to_owned()).or_default();
        let stored = RawManifest { bytes: manifest.bytes.clone(), media_type: manifest.media_type.clone(), digest: digest.clone() };
        let d = stored.descriptor();
        r.manifests.insert(digest.clone(), stored);
        if !is_digest(tag) {
            r.tags.insert(tag.to_owned(), digest);
        }
        Ok(d)
    }

    async fn list_tags(&self, repo: &str) -> Result<Vec<String>> {
        self.record("list_tags", repo, "")?;
        Ok(self.lock_repos().get(repo).map(|r| r.tags.keys().cloned().collect()).unwrap_or_default())
    }

    async fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool> {
        self.record("blob_exists", repo, digest)?;
        Ok(self.lock_repos().get(repo).is_some_and(|r| r.blobs.contains(digest)))
    }

    async fn push_blob(&self, repo: &str, digest: &str, _source: &BlobSource) -> Result<()> {
        self.record("push_blob", repo, digest)?;
        self.lock_repos().entry(repo.to_owned()).or_default().blobs.insert(digest.to_owned());
        Ok(())
    }

    async fn mount_blob(&self, repo: &str, digest: &str, from_repo: &str, _source: &BlobSource) -> Result<MountOutcome> {
        self.record("mount_blob", repo, digest)?;
        let mut repos = self.lock_repos();
        let mounted = repos.get(from_repo).is_some_and(|r| r.blobs.contains(digest));
        repos.entry(repo.to_owned()).or_default().blobs.insert(digest.to_owned());
        Ok(if mounted { MountOutcome::Mounted } else { MountOutcome::Uploaded })
    }

    async fn delete_manifest(&self, repo: &str, digest: &str) -> Result<()> {
        self.record("delete_manifest", repo, digest)?;
        let mut repos = self.lock_repos();
        if let Some(r) = repos.get_mut(repo)
            && r.manifests.remove(digest).is_some()
        {
            r.tags.retain(|_, d| d != digest);
            return Ok(());
        }
        Err(RegistryError::NotFound { op: "delete_manifest", target: Box::new(Target::new(HOST, repo, Some(digest))), detail: String::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retag;

    #[tokio::test]
    async fn retag_preserves_bytes_and_delete_removes_every_tag() {
        let f = FakeRegistry::new();
        let d = f.insert("a", "v1", &br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#[..]);
        let moved = retag(&f, "a", "v1", "latest").await.unwrap();
        assert_eq!(moved.digest, d);
        assert_eq!(moved.media_type, crate::OCI_INDEX);
        assert_eq!(f.calls(), vec!["get_manifest a v1", "put_manifest a latest"]);
        assert_eq!(f.list_tags("a").await.unwrap(), vec!["latest", "v1"]);
        f.delete_manifest("a", &d).await.unwrap();
        assert!(f.list_tags("a").await.unwrap().is_empty());
        assert!(f.get_manifest("a", "v1").await.unwrap_err().is_not_found());
        f.fail_on("put_manifest", "boom");
        assert!(f.put_manifest("a", "x", &RawManifest::from_bytes(&b"{}"[..])).await.is_err());
    }
}
