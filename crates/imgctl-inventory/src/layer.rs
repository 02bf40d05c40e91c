//! One layer, one pass: decompress (gzip, zstd or none, by media type and magic bytes), walk
//! the tar, record every file's size, every whiteout, and parse the package databases and
//! `os-release` it carries. The result depends on the layer alone, so it is cached by digest.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use serde::{Deserialize, Serialize};

use crate::{InventoryError, OsRelease, Package, apk, dpkg, osrelease, rpm};

/// How a layer is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (`…tar+gzip`, `…tar.gzip`).
    Gzip,
    /// zstd (`…tar+zstd`).
    Zstd,
    /// Decide by the stream's first bytes.
    Sniff,
}

impl Compression {
    /// The compression a layer media type names (`Sniff` when it names none).
    pub fn of_media_type(media_type: &str) -> Compression {
        if media_type.ends_with("+gzip") || media_type.ends_with(".gzip") {
            Compression::Gzip
        } else if media_type.ends_with("+zstd") {
            Compression::Zstd
        } else {
            Compression::Sniff
        }
    }
}

/// Whether a layer media type is a Windows foreign layer (not distributable, not read).
pub fn is_foreign(media_type: &str) -> bool {
    media_type.contains(".foreign.") || media_type.contains("nondistributable")
}

/// What a layer carries that an inventory needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerInventory {
    /// Files (not directories) by path: regular files with their size, links with 0.
    pub files: BTreeMap<String, u64>,
    /// Paths this layer deletes from the layers below (`.wh.NAME`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub whiteouts: Vec<String>,
    /// Directories whose lower content this layer hides (`.wh..wh..opq`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opaque: Vec<String>,
    /// Package databases and `os-release` files found, parsed, by path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub found: BTreeMap<String, Found>,
    /// Compressed bytes read.
    pub read_bytes: u64,
}

/// A parsed file of interest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Found {
    /// An `os-release` file.
    OsRelease(OsRelease),
    /// A package database and its packages (in the database's order).
    Packages(Vec<Package>),
    /// A database that could not be parsed, and why.
    Unreadable(String),
}

/// What kind of file a path inside an image is, for the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    OsRelease,
    DpkgStatus,
    DpkgStatusD,
    Apk,
    RpmSqlite,
    RpmNdb,
    RpmBdb,
}

/// Where rpm keeps its database (`/var/lib/rpm` is a link to the second on newer systems).
pub(crate) const RPM_DIRS: [&str; 2] = ["var/lib/rpm/", "usr/lib/sysimage/rpm/"];

pub(crate) fn kind(path: &str) -> Option<Kind> {
    match path {
        "etc/os-release" | "usr/lib/os-release" => return Some(Kind::OsRelease),
        "var/lib/dpkg/status" => return Some(Kind::DpkgStatus),
        "lib/apk/db/installed" => return Some(Kind::Apk),
        _ => {}
    }
    if let Some(name) = path.strip_prefix("var/lib/dpkg/status.d/") {
        // distroless: one control file per package; `*.md5sums` are file lists
        return (!name.contains('/') && !name.is_empty() && !name.ends_with(".md5sums")).then_some(Kind::DpkgStatusD);
    }
    let name = RPM_DIRS.iter().find_map(|d| path.strip_prefix(d))?;
    match name {
        "rpmdb.sqlite" => Some(Kind::RpmSqlite),
        "Packages.db" => Some(Kind::RpmNdb),
        "Packages" => Some(Kind::RpmBdb),
        _ => None,
    }
}

/// A path from a tar entry, normalised: no leading `./` or `/`, no trailing `/`.
pub(crate) fn normalise(raw: &str) -> String {
    let mut p = raw;
    loop {
        if let Some(r) = p.strip_prefix("./") {
            p = r;
        } else if let Some(r) = p.strip_prefix('/') {
            p = r;
        } else {
            break;
        }
    }
    p.trim_end_matches('/').to_string()
}

/// Counts the bytes read from the compressed stream.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Largest database read into memory (rpm databases of big images are tens of MiB).
const MAX_DB_BYTES: u64 = 512 << 20;

/// Reads one layer stream. `name` (its digest) only names it in errors.
pub fn read_layer<R: Read>(name: &str, stream: R, compression: Compression) -> Result<LayerInventory, InventoryError> {
    let err = |reason: String| InventoryError::Layer { layer: name.to_string(), reason };
    let mut counting = Counting { inner: stream, count: 0 };
    let mut out = LayerInventory::default();
    {
        let mut buffered = BufReader::with_capacity(256 << 10, &mut counting);
        let compression = match compression {
            Compression::Sniff => {
                let head = buffered.fill_buf().map_err(|e| err(e.to_string()))?;
                if head.starts_with(&[0x1f, 0x8b]) {
                    Compression::Gzip
                } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
                    Compression::Zstd
                } else {
                    Compression::None
                }
            }
            c => c,
        };
        let tar_stream: Box<dyn Read + '_> = match compression {
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            Compression::Zstd => Box::new(ruzstd::decoding::StreamingDecoder::new(buffered).map_err(|e| err(format!("not a zstd stream: {e}")))?),
            Compression::None | Compression::Sniff => Box::new(buffered),
        };
        walk(tar_stream, &mut out).map_err(err)?;
    }
    out.read_bytes = counting.count;
    Ok(out)
}

fn walk(stream: impl Read, out: &mut LayerInventory) -> Result<(), String> {
    let mut archive = tar::Archive::new(stream);
    let entries = archive.entries().map_err(|e| format!("not a tar archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a tar archive: {e}"))?;
        let raw = entry.path_bytes();
        let path = normalise(&String::from_utf8_lossy(&raw));
        let (dir, base) = match path.rsplit_once('/') {
            Some((d, b)) => (d, b),
            None => ("", path.as_str()),
        };
        if base == ".wh..wh..opq" {
            out.opaque.push(dir.to_string());
            continue;
        }
        if let Some(hidden) = base.strip_prefix(".wh.") {
            out.whiteouts.push(if dir.is_empty() { hidden.to_string() } else { format!("{dir}/{hidden}") });
            continue;
        }
        let kind_of_entry = entry.header().entry_type();
        if kind_of_entry.is_dir() || path.is_empty() {
            continue;
        }
        if kind_of_entry.is_pax_global_extensions() || kind_of_entry.is_pax_local_extensions() || kind_of_entry.is_gnu_longname() || kind_of_entry.is_gnu_longlink() {
            continue;
        }
        let size = if kind_of_entry.is_file() { entry.size() } else { 0 };
        if kind_of_entry.is_file() {
            if let Some(k) = kind(&path) {
                let found = if size > MAX_DB_BYTES {
                    Found::Unreadable(format!("{size} bytes, more than the {MAX_DB_BYTES} read"))
                } else {
                    let mut bytes = Vec::with_capacity(size as usize);
                    entry.read_to_end(&mut bytes).map_err(|e| format!("read '{path}': {e}"))?;
                    parse(k, &path, &bytes)
                };
                out.found.insert(path.clone(), found);
            }
        }
        out.files.insert(path, size);
    }
    Ok(())
}

/// Parses the file of kind `k` at `path`.
pub(crate) fn parse(k: Kind, path: &str, bytes: &[u8]) -> Found {
    let packages = match k {
        Kind::OsRelease => return Found::OsRelease(osrelease::parse(&String::from_utf8_lossy(bytes))),
        Kind::DpkgStatus => Ok(dpkg::parse(&String::from_utf8_lossy(bytes), true)),
        Kind::DpkgStatusD => Ok(dpkg::parse(&String::from_utf8_lossy(bytes), false)),
        Kind::Apk => Ok(apk::parse(&String::from_utf8_lossy(bytes))),
        Kind::RpmSqlite => rpm::sqlite::read(bytes),
        Kind::RpmNdb => rpm::ndb::read(bytes),
        Kind::RpmBdb => rpm::bdb::read(bytes),
    };
    match packages {
        Ok(p) => Found::Packages(p),
        Err(reason) => Found::Unreadable(format!("{path}: {reason}")),
    }
}
