//! The local document cache: small blobs read whole into memory (SBOM documents) kept by
//! digest, one file each (`sha256-<hex>`), so a blob read once on this machine is not
//! downloaded again (docs/SITE.md "The document cache").
//!
//! A blob's digest names its bytes, so an entry never goes stale: it is used only when its
//! length is the descriptor's size and its SHA-256 is the digest (a damaged or foreign
//! file is read from the registry again and replaced). Writes go to a temporary file
//! renamed into place, so concurrent runs and a killed one leave whole entries or none. An
//! entry is touched when used; entries unused for [`MAX_AGE`] are removed by the first
//! write of a run, so a cache restored day after day (the site workflow's `actions/cache`)
//! keeps what the site shows and lets the rest go.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};


/// How long an entry nobody used stays.
pub const MAX_AGE: Duration = Duration::from_secs(14 * 24 * 3600);

/// Temporary files older than this are a killed run's and are removed.
const STALE_TEMPORARY: Duration = Duration::from_secs(3600);

/// A cache folder (created on the first write).
#[derive(Debug)]
pub struct DocumentCache {
    dir: PathBuf,
    pruned: AtomicBool,
    hits: AtomicUsize,
    kept: AtomicUsize,
}

impl DocumentCache {
    /// The cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> DocumentCache {
        DocumentCache { dir: dir.into(), pruned: AtomicBool::new(false), hits: AtomicUsize::new(0), kept: AtomicUsize::new(0) }
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many blobs it answered so far, and how many it was given (downloaded ones).
    pub fn counts(&self) -> (usize, usize) {
        (self.hits.load(Ordering::Relaxed), self.kept.load(Ordering::Relaxed))
    }

    /// The entry's file for a `sha256:` digest of 64 lower-case hex digits; None for any
    /// other name (nothing outside the folder is ever touched).
    fn path(&self, digest: &str) -> Option<PathBuf> {
        crate::digest::is_digest(digest).then(|| self.dir.join(format!("sha256-{}", &digest["sha256:".len()..])))
    }

    /// The bytes of blob `digest` of `size` bytes, when an intact entry holds them.
    pub fn get(&self, digest: &str, size: u64) -> Option<Vec<u8>> {
        let path = self.path(digest)?;
        // a plain file of the right length, else it is not read at all (a link is not
        // followed: nothing outside the folder is read or touched)
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if !meta.is_file() || meta.len() != size {
            return None;
        }
        let bytes = std::fs::read(&path).ok()?;
        if bytes.len() as u64 != size || crate::digest::sha256(&bytes) != digest {
            tracing::warn!(path = %path.display(), "the document cache's entry does not match its digest: reading it from the registry again");
            return None;
        }
        // touched: what is used stays (an error here only shortens its life)
        let _ = std::fs::File::options().append(true).open(&path).and_then(|f| f.set_modified(SystemTime::now()));
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(bytes)
    }

    /// Keeps `bytes` (already checked against `digest`). A cache that cannot be written is
    /// logged and otherwise ignored: it only saves requests.
    pub fn put(&self, digest: &str, bytes: &[u8]) {
        let Some(path) = self.path(digest) else { return };
        self.kept.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.write(&path, bytes) {
            tracing::warn!(path = %path.display(), error = %e, "failed to keep a document in the local cache");
        }
        if !self.pruned.swap(true, Ordering::Relaxed) {
            self.prune(SystemTime::now());
        }
    }

    fn write(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!(".tmp-{}-{:016x}", std::process::id(), fastrand::u64(..)));
        std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path)).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    /// Removes entries unused since `now - MAX_AGE` and a killed run's temporary files.
    fn prune(&self, now: SystemTime) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        let mut removed = 0usize;
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let limit = if name.starts_with(".tmp-") {
                STALE_TEMPORARY
            } else if name.starts_with("sha256-") {
                MAX_AGE
            } else {
                continue;
            };
            let old = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > limit));
            if old && std::fs::remove_file(e.path()).is_ok() {
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::debug!(removed, dir = %self.dir.display(), "pruned the document cache");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(b: &[u8]) -> String {
        crate::digest::sha256(b)
    }

    #[test]
    fn an_entry_is_used_only_when_its_bytes_are_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DocumentCache::new(dir.path().join("documents"));
        let doc = br#"{"spdxVersion":"SPDX-2.3"}"#;
        let d = digest(doc);
        assert_eq!(cache.get(&d, doc.len() as u64), None, "empty");
        cache.put(&d, doc);
        assert_eq!(cache.get(&d, doc.len() as u64).as_deref(), Some(&doc[..]));
        assert_eq!(cache.get(&d, doc.len() as u64 + 1), None, "another size is another blob");
        // damaged: same length, other bytes
        let file = dir.path().join("documents").join(format!("sha256-{}", &d[7..]));
        std::fs::write(&file, br#"{"spdxVersion":"SPDX-2.4"}"#).unwrap();
        assert_eq!(cache.get(&d, doc.len() as u64), None, "a damaged entry is not used");
        cache.put(&d, doc);
        assert_eq!(cache.get(&d, doc.len() as u64).as_deref(), Some(&doc[..]), "and is replaced");
        assert_eq!(cache.counts(), (2, 2), "two answers, two documents given");
        // a link in place of an entry is not followed, even to the right bytes
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, doc).unwrap();
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
        assert_eq!(cache.get(&d, doc.len() as u64), None, "a link is not an entry");
    }

    #[test]
    fn names_that_are_not_sha256_digests_touch_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DocumentCache::new(dir.path().join("documents"));
        for bad in ["sha256:../../etc/passwd", "sha512:aa", &format!("sha256:{}", "A".repeat(64)), "sha256:", "x"] {
            cache.put(bad, b"x");
            assert_eq!(cache.get(bad, 1), None, "{bad}");
        }
        assert!(!dir.path().join("documents").exists(), "nothing written");
    }

    #[test]
    fn entries_unused_for_two_weeks_and_stale_temporaries_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DocumentCache::new(dir.path());
        let (old, fresh) = (b"old".as_slice(), b"fresh".as_slice());
        cache.put(&digest(old), old);
        cache.put(&digest(fresh), fresh);
        let tmp = dir.path().join(".tmp-1-00");
        std::fs::write(&tmp, b"half").unwrap();
        let other = dir.path().join("README");
        std::fs::write(&other, b"not ours").unwrap();
        let now = SystemTime::now();
        let set = |p: &Path, age: Duration| std::fs::File::options().append(true).open(p).unwrap().set_modified(now - age).unwrap();
        set(&dir.path().join(format!("sha256-{}", &digest(old)[7..])), MAX_AGE + Duration::from_secs(60));
        set(&tmp, STALE_TEMPORARY + Duration::from_secs(60));
        cache.prune(now);
        assert_eq!(cache.get(&digest(old), 3), None, "unused for two weeks: gone");
        assert!(cache.get(&digest(fresh), 5).is_some(), "recent: kept");
        assert!(!tmp.exists(), "a killed run's temporary file: gone");
        assert!(other.exists(), "files that are not entries are left alone");
    }
}
