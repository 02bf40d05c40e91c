//! rpm's header blob, as the databases store it (rpm's `lib/header.c`, "header blob"): a
//! big-endian count of index entries and of data bytes, the entries (tag, type, offset,
//! count; 16 bytes each), then the data store. Tags from `rpmtag.h`.

use crate::{Ecosystem, Package};

use super::u32_at;

const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const LICENSE: u32 = 1014;
const ARCH: u32 = 1022;
const SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// rpm's own limits on a header (`hdrchkTags`, `hdrchkData`).
const MAX_TAGS: u32 = 0xffff;
const MAX_DATA: u32 = 256 << 20;

/// The index and data store of a header blob.
struct Blob<'a> {
    index: &'a [u8],
    data: &'a [u8],
}

impl<'a> Blob<'a> {
    fn parse(b: &'a [u8]) -> Result<Blob<'a>, String> {
        let (Some(il), Some(dl)) = (u32_at(b, 0, true), u32_at(b, 4, true)) else { return Err("shorter than its 8-byte preamble".into()) };
        if il > MAX_TAGS || dl > MAX_DATA {
            return Err(format!("{il} tags and {dl} data bytes are beyond rpm's limits"));
        }
        let index_end = 8 + il as usize * 16;
        let end = index_end + dl as usize;
        if b.len() < end {
            return Err(format!("{} bytes, its index says {end}", b.len()));
        }
        Ok(Blob { index: &b[8..index_end], data: &b[index_end..end] })
    }

    /// (type, offset, count) of `tag`.
    fn entry(&self, tag: u32) -> Option<(u32, usize, u32)> {
        self.index.chunks_exact(16).find(|e| u32_at(e, 0, true) == Some(tag)).map(|e| (u32_at(e, 4, true).unwrap_or(0), u32_at(e, 8, true).unwrap_or(0) as usize, u32_at(e, 12, true).unwrap_or(0)))
    }

    fn string(&self, tag: u32) -> Result<Option<String>, String> {
        let Some((kind, off, _)) = self.entry(tag) else { return Ok(None) };
        if !matches!(kind, TYPE_STRING | TYPE_I18NSTRING | TYPE_STRING_ARRAY) {
            return Err(format!("tag {tag} has type {kind}, not a string"));
        }
        let rest = self.data.get(off..).ok_or_else(|| format!("tag {tag} points past the data"))?;
        let len = rest.iter().position(|&c| c == 0).ok_or_else(|| format!("tag {tag}'s string is not terminated"))?;
        Ok(Some(String::from_utf8_lossy(&rest[..len]).into_owned()))
    }

    fn int32(&self, tag: u32) -> Result<Option<u32>, String> {
        let Some((kind, off, _)) = self.entry(tag) else { return Ok(None) };
        if kind != TYPE_INT32 {
            return Err(format!("tag {tag} has type {kind}, not int32"));
        }
        u32_at(self.data, off, true).map(Some).ok_or_else(|| format!("tag {tag} points past the data"))
    }
}

/// The source package's name from `SOURCERPM` (`bash-5.1.8-6.el9.src.rpm` → `bash`).
fn source_name(srpm: &str) -> Option<String> {
    let base = srpm.strip_suffix(".src.rpm").or_else(|| srpm.strip_suffix(".nosrc.rpm"))?;
    let (nv, _release) = base.rsplit_once('-')?;
    let (name, _version) = nv.rsplit_once('-')?;
    Some(name.to_string())
}

/// The package a header blob describes.
pub fn package(blob: &[u8]) -> Result<Package, String> {
    let h = Blob::parse(blob)?;
    let name = h.string(NAME)?.ok_or("it has no name")?;
    let version = h.string(VERSION)?.ok_or("it has no version")?;
    let release = h.string(RELEASE)?.unwrap_or_default();
    let epoch = h.int32(EPOCH)?;
    let mut evr = match epoch {
        Some(e) => format!("{e}:{version}"),
        None => version,
    };
    if !release.is_empty() {
        evr = format!("{evr}-{release}");
    }
    let source = h.string(SOURCERPM)?.and_then(|s| source_name(&s)).filter(|s| *s != name);
    Ok(Package { ecosystem: Ecosystem::Rpm, name, version: evr, arch: h.string(ARCH)?, source, license: h.string(LICENSE)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header blob with string tags and an epoch.
    pub(crate) fn blob(strings: &[(u32, &str)], epoch: Option<u32>) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, s) in strings {
            index.extend([tag.to_be_bytes(), TYPE_STRING.to_be_bytes(), (data.len() as u32).to_be_bytes(), 1u32.to_be_bytes()].concat());
            data.extend(s.as_bytes());
            data.push(0);
        }
        if let Some(e) = epoch {
            while data.len() % 4 != 0 {
                data.push(0);
            }
            index.extend([EPOCH.to_be_bytes(), TYPE_INT32.to_be_bytes(), (data.len() as u32).to_be_bytes(), 1u32.to_be_bytes()].concat());
            data.extend(e.to_be_bytes());
        }
        let n = (index.len() / 16) as u32;
        [n.to_be_bytes().to_vec(), (data.len() as u32).to_be_bytes().to_vec(), index, data].concat()
    }

    #[test]
    fn reads_name_epoch_version_release_arch_and_source() {
        let b = blob(&[(NAME, "bash"), (VERSION, "5.1.8"), (RELEASE, "6.el9"), (ARCH, "x86_64"), (SOURCERPM, "bash-5.1.8-6.el9.src.rpm"), (LICENSE, "GPLv3+")], Some(1));
        let p = package(&b).unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str(), p.arch.as_deref(), p.source, p.license.as_deref()), ("bash", "1:5.1.8-6.el9", Some("x86_64"), None, Some("GPLv3+")));
        let b = blob(&[(NAME, "libgcc"), (VERSION, "11"), (RELEASE, "1"), (SOURCERPM, "gcc-11-1.src.rpm")], None);
        assert_eq!(package(&b).unwrap().source.as_deref(), Some("gcc"));
    }

    #[test]
    fn refuses_truncated_and_oversized_blobs() {
        let b = blob(&[(NAME, "x"), (VERSION, "1")], None);
        assert!(package(&b[..b.len() - 3]).unwrap_err().contains("its index says"));
        assert!(package(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).unwrap_err().contains("beyond rpm's limits"));
        assert!(package(&[0, 0]).unwrap_err().contains("preamble"));
        assert!(package(&blob(&[(VERSION, "1")], None)).unwrap_err().contains("no name"));
    }
}
