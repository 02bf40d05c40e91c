//! Reading an image to publish: an OCI image layout directory or `.tar` (as
//! `docker buildx build --output type=oci` writes), single-arch or multi-arch.
//! Every path stays inside the layout; blobs are streamed from disk, never loaded whole.

use std::fs;
use std::path::{Component, Path, PathBuf};

use imgctl_registry::{RawManifest, digest};
use serde::Deserialize;

/// Largest manifest or index accepted from a layout (OCI registries cap at 4 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// Why a layout could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// A file of the layout could not be read.
    #[error("read '{path}': {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The layout is not what the OCI image layout spec describes.
    #[error("read OCI layout '{path}': {reason}")]
    Invalid {
        /// The layout.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A blob to push: its digest, size and file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `sha256:…`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Where it is on disk.
    pub path: PathBuf,
}

/// An image read from a layout: what to push, children first.
#[derive(Debug)]
pub struct LayoutImage {
    /// Config and layer blobs of every manifest (deduplicated).
    pub blobs: Vec<Blob>,
    /// Child manifests of an index (pushed by digest before the index).
    pub children: Vec<RawManifest>,
    /// The top manifest (image manifest or index).
    pub top: RawManifest,
    /// Keeps an unpacked tarball alive.
    _unpacked: Option<tempfile::TempDir>,
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    digest: String,
    size: u64,
}

#[derive(Deserialize)]
struct Listing {
    #[serde(default)]
    manifests: Vec<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    config: Option<Descriptor>,
}

/// Reads the image in `path` (a layout directory or a tarball of one).
pub fn read(path: &Path) -> Result<LayoutImage, LayoutError> {
    let meta = fs::metadata(path).map_err(|e| io(path, &e))?;
    if meta.is_dir() {
        return read_dir(path, None);
    }
    let dir = tempfile::tempdir().map_err(|e| io(path, &e))?;
    unpack(path, dir.path())?;
    let root = dir.path().to_path_buf();
    read_dir(&root, Some(dir)).map_err(|e| match e {
        LayoutError::Invalid { reason, .. } => LayoutError::Invalid { path: path.display().to_string(), reason },
        other => other,
    })
}

fn io(path: &Path, e: &std::io::Error) -> LayoutError {
    LayoutError::Io { path: path.display().to_string(), reason: e.to_string().to_lowercase() }
}

fn invalid(path: &Path, reason: impl Into<String>) -> LayoutError {
    LayoutError::Invalid { path: path.display().to_string(), reason: reason.into() }
}

/// Unpacks a tarball, refusing entries that escape the directory and links.
fn unpack(tarball: &Path, into: &Path) -> Result<(), LayoutError> {
    let file = fs::File::open(tarball).map_err(|e| io(tarball, &e))?;
    let mut archive = tar::Archive::new(file);
    for entry in archive.entries().map_err(|e| io(tarball, &e))? {
        let mut entry = entry.map_err(|e| io(tarball, &e))?;
        let name = entry.path().map_err(|e| io(tarball, &e))?.into_owned();
        if name.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
            return Err(invalid(tarball, format!("entry '{}' escapes the layout", name.display())));
        }
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            return Err(invalid(tarball, format!("entry '{}' is a link or special file", name.display())));
        }
        entry.unpack_in(into).map_err(|e| io(tarball, &e))?;
    }
    Ok(())
}

/// The file of blob `digest` in the layout at `root`, checked to be a regular file
/// inside it.
fn blob_path(root: &Path, d: &str) -> Result<PathBuf, LayoutError> {
    let hex = d.strip_prefix("sha256:").filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    let Some(hex) = hex else {
        return Err(invalid(root, format!("digest '{d}' is not a sha256 digest")));
    };
    let path = root.join("blobs/sha256").join(hex);
    let meta = fs::symlink_metadata(&path).map_err(|e| io(&path, &e))?;
    if !meta.is_file() {
        return Err(invalid(root, format!("blob {d} is not a regular file (links are refused)")));
    }
    Ok(path)
}

fn read_small(path: &Path, what: &str) -> Result<Vec<u8>, LayoutError> {
    let meta = fs::symlink_metadata(path).map_err(|e| io(path, &e))?;
    if !meta.is_file() {
        return Err(invalid(path, format!("{what} is not a regular file")));
    }
    if meta.len() > MAX_MANIFEST_BYTES {
        return Err(invalid(path, format!("{what} is larger than {MAX_MANIFEST_BYTES} bytes")));
    }
    fs::read(path).map_err(|e| io(path, &e))
}

/// Reads a manifest blob, verifying digest and size.
fn manifest(root: &Path, d: &Descriptor) -> Result<RawManifest, LayoutError> {
    let path = blob_path(root, &d.digest)?;
    let bytes = read_small(&path, "manifest")?;
    let actual = digest::sha256(&bytes);
    if actual != d.digest || bytes.len() as u64 != d.size {
        return Err(invalid(root, format!("manifest blob {} does not match its descriptor (digest {actual}, size {})", d.digest, bytes.len())));
    }
    let mut m = RawManifest::from_bytes(bytes);
    if let Some(mt) = &d.media_type {
        if !m.bytes.is_empty() && serde_json::from_slice::<serde_json::Value>(&m.bytes).ok().and_then(|v| v.get("mediaType").cloned()).is_none() {
            m.media_type = mt.clone();
        }
    }
    Ok(m)
}

fn read_dir(root: &Path, unpacked: Option<tempfile::TempDir>) -> Result<LayoutImage, LayoutError> {
    let index_path = root.join("index.json");
    let index_bytes = read_small(&index_path, "index.json")?;
    let listing: Listing = serde_json::from_slice(&index_bytes).map_err(|e| invalid(root, format!("index.json: {e}")))?;
    let top = match listing.manifests.as_slice() {
        [] => return Err(invalid(root, "index.json lists no manifest")),
        [one] => manifest(root, one)?,
        _ => RawManifest::from_bytes(index_bytes.clone()),
    };
    let mut image = LayoutImage { blobs: Vec::new(), children: Vec::new(), top, _unpacked: None };
    let top_listing: Listing = serde_json::from_slice(&image.top.bytes).map_err(|e| invalid(root, format!("manifest: {e}")))?;
    let mut manifests = vec![top_listing];
    if image.top.is_index() {
        let children = std::mem::take(&mut manifests[0].manifests);
        manifests.clear();
        for child in &children {
            let m = manifest(root, child)?;
            if m.is_index() {
                return Err(invalid(root, "nested indexes are not supported"));
            }
            manifests.push(serde_json::from_slice(&m.bytes).map_err(|e| invalid(root, format!("manifest {}: {e}", child.digest)))?);
            image.children.push(m);
        }
    }
    for m in manifests {
        for d in m.config.iter().chain(m.layers.iter()) {
            if image.blobs.iter().any(|b| b.digest == d.digest) {
                continue;
            }
            let path = blob_path(root, &d.digest)?;
            image.blobs.push(Blob { digest: d.digest.clone(), size: d.size, path });
        }
    }
    image._unpacked = unpacked;
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tarball(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut b = tar::Builder::new(file.reopen().unwrap());
        for (name, kind, data, link) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            if let Some(l) = link {
                h.set_link_name(l).unwrap();
            }
            // write the raw name so `..` survives (set_path would refuse it)
            let bytes = name.as_bytes();
            h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.finish().unwrap();
        file
    }

    #[test]
    fn refuses_tar_entries_that_escape_or_link() {
        let escape = tarball(&[("../evil", tar::EntryType::Regular, b"x", None)]);
        let e = read(escape.path()).unwrap_err().to_string();
        assert!(e.contains("escapes the layout"), "{e}");
        let link = tarball(&[("index.json", tar::EntryType::Symlink, b"", Some("/etc/passwd"))]);
        let e = read(link.path()).unwrap_err().to_string();
        assert!(e.contains("link or special file"), "{e}");
    }

    #[test]
    fn refuses_blob_symlinks_and_bad_digests() {
        let dir = tempfile::tempdir().unwrap();
        let hex = "a".repeat(64);
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("blobs/sha256").join(&hex)).unwrap();
        let index = format!(r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{hex}","size":10}}]}}"#);
        std::fs::write(dir.path().join("index.json"), index).unwrap();
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        std::fs::write(dir.path().join("index.json"), r#"{"manifests":[{"digest":"sha256:../../etc/passwd","size":1}]}"#).unwrap();
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a sha256 digest"), "{e}");
    }

    #[test]
    fn refuses_a_manifest_that_does_not_match_its_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#;
        let hex = "b".repeat(64);
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        std::fs::write(dir.path().join("blobs/sha256").join(&hex), body).unwrap();
        std::fs::write(dir.path().join("index.json"), format!(r#"{{"manifests":[{{"digest":"sha256:{hex}","size":{}}}]}}"#, body.len())).unwrap();
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("does not match its descriptor"), "{e}");
    }
}
