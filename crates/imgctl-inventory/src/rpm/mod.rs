//! rpm's package database in its three backends: sqlite (`rpmdb.sqlite`, rpm ≥ 4.16),
//! ndb (`Packages.db`, openSUSE) and Berkeley DB hash (`Packages`, rpm < 4.16). Each holds
//! one header blob per package ([`header`]); `gpg-pubkey` entries (imported keys, not
//! packages) are left out.

pub mod bdb;
pub mod header;
pub mod ndb;
pub mod sqlite;

use crate::Package;

/// The packages of `blobs` (header blobs), skipping imported keys.
pub(crate) fn packages<'a>(blobs: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<Package>, String> {
    let mut out = Vec::new();
    for (n, blob) in blobs.into_iter().enumerate() {
        let p = header::package(blob).map_err(|e| format!("header {}: {e}", n + 1))?;
        if p.name != "gpg-pubkey" {
            out.push(p);
        }
    }
    Ok(out)
}

/// A little-endian or big-endian u32 at `at` (None past the end).
pub(crate) fn u32_at(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian { u32::from_be_bytes(bytes) } else { u32::from_le_bytes(bytes) })
}
