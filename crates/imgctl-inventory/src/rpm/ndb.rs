//! rpm's ndb backend (`Packages.db`, rpm's `lib/backend/ndb/rpmpkg.c`), all little-endian: a
//! 32-byte header (`RpmP`, version 0, generation, slot pages, next index), then 16-byte
//! slots (`Slot`, package index, block offset, block count; offset 0 = free) filling the slot
//! pages (4096 bytes), then blobs in 16-byte blocks: `BlbS`, package index, time, length,
//! the header blob, padding, adler32 of all before it, length, `BlbE`.

use super::u32_at;
use crate::Package;

const MAGIC: u32 = u32::from_le_bytes(*b"RpmP");
const SLOT: u32 = u32::from_le_bytes(*b"Slot");
const BLOB_HEAD: u32 = u32::from_le_bytes(*b"BlbS");
const BLOB_TAIL: u32 = u32::from_le_bytes(*b"BlbE");
const PAGE: usize = 4096;
const BLOCK: usize = 16;

/// Adler-32 (RFC 1950).
fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in bytes.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

/// The header blob in the blob at block `blkoff` (`blkcnt` blocks) of package `pkgidx`.
fn blob(db: &[u8], pkgidx: u32, blkoff: u32, blkcnt: u32) -> Result<&[u8], String> {
    let start = blkoff as usize * BLOCK;
    let end = start + blkcnt as usize * BLOCK;
    let area = db.get(start..end).ok_or_else(|| format!("package {pkgidx}'s blob lies past the end of the file"))?;
    let bad = |what: &str| format!("package {pkgidx}'s blob: {what}");
    if u32_at(area, 0, false) != Some(BLOB_HEAD) || u32_at(area, 4, false) != Some(pkgidx) {
        return Err(bad("no blob header"));
    }
    let len = u32_at(area, 12, false).unwrap_or(0) as usize;
    if (16 + len + 12).div_ceil(BLOCK) != blkcnt as usize {
        return Err(bad("its length does not fit its blocks"));
    }
    let tail = area.len() - 12;
    if u32_at(area, tail + 8, false) != Some(BLOB_TAIL) || u32_at(area, tail + 4, false) != Some(len as u32) {
        return Err(bad("no blob trailer"));
    }
    if u32_at(area, tail, false) != Some(adler32(&area[..tail])) {
        return Err(bad("checksum mismatch"));
    }
    Ok(&area[16..16 + len])
}

/// The packages of a `Packages.db` file's bytes.
pub fn read(db: &[u8]) -> Result<Vec<Package>, String> {
    if u32_at(db, 0, false) != Some(MAGIC) {
        return Err("not an ndb package database (no RpmP magic)".into());
    }
    if u32_at(db, 4, false) != Some(0) {
        return Err(format!("ndb version {} (this reader knows version 0)", u32_at(db, 4, false).unwrap_or(0)));
    }
    let pages = u32_at(db, 12, false).unwrap_or(0) as usize;
    let slots_end = pages.checked_mul(PAGE).filter(|&e| e <= db.len()).ok_or("its slot pages lie past the end of the file")?;
    let mut slots = Vec::new();
    for at in (32..slots_end).step_by(16) {
        if u32_at(db, at, false) != Some(SLOT) {
            return Err(format!("slot at byte {at} has no slot magic"));
        }
        let (pkgidx, blkoff, blkcnt) = (u32_at(db, at + 4, false).unwrap_or(0), u32_at(db, at + 8, false).unwrap_or(0), u32_at(db, at + 12, false).unwrap_or(0));
        if blkoff != 0 {
            slots.push((pkgidx, blkoff, blkcnt));
        }
    }
    slots.sort_unstable();
    let blobs = slots.iter().map(|&(i, o, c)| blob(db, i, o, c)).collect::<Result<Vec<_>, _>>()?;
    super::packages(blobs)
}
