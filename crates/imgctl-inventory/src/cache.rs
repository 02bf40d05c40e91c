//! The local layer cache: one JSON file per layer digest (`<algorithm>-<hex>.json`) holding
//! its [`LayerInventory`], so a layer shared by many images is read once. Writes go to a
//! temporary file renamed into place; an unreadable or foreign entry is read again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::InventoryError;
use crate::layer::LayerInventory;

/// Bumped when the cached format or the parsers change what they record.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    digest: String,
    layer: LayerInventory,
}

/// A cache directory.
#[derive(Debug, Clone)]
pub struct LayerCache {
    dir: PathBuf,
}

impl LayerCache {
    /// The cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> LayerCache {
        LayerCache { dir: dir.into() }
    }

    fn path(&self, digest: &str) -> Option<PathBuf> {
        let (algo, hex) = digest.split_once(':')?;
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
        (ok(algo) && ok(hex)).then(|| self.dir.join(format!("{algo}-{hex}.json")))
    }

    /// The cached inventory of layer `digest`, if any.
    pub fn get(&self, digest: &str) -> Option<LayerInventory> {
        let bytes = std::fs::read(self.path(digest)?).ok()?;
        let e: Entry = serde_json::from_slice(&bytes).ok()?;
        (e.format == FORMAT && e.digest == digest).then_some(e.layer)
    }

    /// Stores the inventory of layer `digest`.
    pub fn put(&self, digest: &str, layer: &LayerInventory) -> Result<(), InventoryError> {
        let err = |p: &Path, e: std::io::Error| InventoryError::Cache { path: p.display().to_string(), reason: e.to_string().to_lowercase() };
        let Some(path) = self.path(digest) else {
            return Err(InventoryError::Cache { path: self.dir.display().to_string(), reason: format!("'{digest}' is not a digest") });
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| err(&self.dir, e))?;
        let entry = Entry { format: FORMAT, digest: digest.to_string(), layer: layer.clone() };
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| err(&self.dir, e))?;
        serde_json::to_writer(&mut tmp, &entry).map_err(|e| err(&path, e.into()))?;
        tmp.persist(&path).map_err(|e| err(&path, e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_by_digest_and_ignores_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LayerCache::new(dir.path().join("layers"));
        let d = format!("sha256:{}", "a".repeat(64));
        assert!(cache.get(&d).is_none());
        let layer = LayerInventory { files: [("etc/x".to_string(), 3)].into(), read_bytes: 9, ..LayerInventory::default() };
        cache.put(&d, &layer).unwrap();
        assert_eq!(cache.get(&d), Some(layer.clone()));
        assert!(cache.put("sha256:../../x", &layer).is_err());
        assert!(cache.get(&format!("sha256:{}", "b".repeat(64))).is_none());
    }
}
