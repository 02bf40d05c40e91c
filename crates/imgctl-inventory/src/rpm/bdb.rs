//! rpm's Berkeley DB backend (`Packages`, rpm < 4.16): a Berkeley DB hash database whose
//! values are header blobs keyed by package number. Read page by page (Berkeley DB's
//! on-disk format, `dbinc/db_page.h`): the metadata page gives the byte order (by its magic)
//! and page size; hash pages hold key/value item pairs, a value is inline (`H_KEYDATA`) or on
//! a chain of overflow pages (`H_OFFPAGE`). Checksummed or encrypted databases are refused.

use super::u32_at;
use crate::Package;

const HASH_MAGIC: u32 = 0x0006_1561;
const PAGE_HEADER: usize = 26;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

struct Db<'a> {
    bytes: &'a [u8],
    page_size: usize,
    be: bool,
}

impl<'a> Db<'a> {
    fn page(&self, n: u32) -> Result<&'a [u8], String> {
        let start = n as usize * self.page_size;
        self.bytes.get(start..start + self.page_size).ok_or_else(|| format!("page {n} lies past the end of the file"))
    }

    fn u16_at(&self, b: &[u8], at: usize) -> usize {
        let x = [b.get(at).copied().unwrap_or(0), b.get(at + 1).copied().unwrap_or(0)];
        usize::from(if self.be { u16::from_be_bytes(x) } else { u16::from_le_bytes(x) })
    }

    /// The value stored on the overflow chain starting at page `pgno`, `len` bytes.
    fn overflow(&self, mut pgno: u32, len: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(len);
        let mut hops = 0;
        while pgno != 0 && out.len() < len {
            let p = self.page(pgno)?;
            if p[25] != P_OVERFLOW {
                return Err(format!("page {pgno} should be an overflow page"));
            }
            // on overflow pages the "free offset" field holds the bytes of data on the page
            let n = self.u16_at(p, 22);
            out.extend_from_slice(p.get(PAGE_HEADER..PAGE_HEADER + n).ok_or_else(|| format!("overflow page {pgno} claims {n} bytes"))?);
            pgno = u32_at(p, 16, self.be).unwrap_or(0);
            hops += 1;
            if hops > self.bytes.len() / self.page_size {
                return Err("an overflow chain loops".into());
            }
        }
        if out.len() != len {
            return Err(format!("an overflow chain holds {} bytes, not {len}", out.len()));
        }
        Ok(out)
    }
}

/// The packages of a Berkeley DB `Packages` file's bytes.
pub fn read(bytes: &[u8]) -> Result<Vec<Package>, String> {
    let (be, page_size) = match (u32_at(bytes, 12, false), u32_at(bytes, 12, true)) {
        (Some(HASH_MAGIC), _) => (false, u32_at(bytes, 20, false)),
        (_, Some(HASH_MAGIC)) => (true, u32_at(bytes, 20, true)),
        _ => return Err("not a Berkeley DB hash database".into()),
    };
    let page_size = page_size.filter(|s| (512..=65536).contains(s) && s.is_power_of_two()).ok_or("its page size is not one Berkeley DB writes")? as usize;
    if bytes.get(24).is_some_and(|&e| e != 0) || bytes.get(26).is_some_and(|&f| f & 1 != 0) {
        return Err("encrypted or checksummed Berkeley DB databases are not read".into());
    }
    let db = Db { bytes, page_size, be };
    let mut values: Vec<(u32, Vec<u8>)> = Vec::new();
    for n in 1..(bytes.len() / page_size) as u32 {
        let p = db.page(n)?;
        if p[25] != P_HASH && p[25] != P_HASH_UNSORTED {
            continue;
        }
        let entries = db.u16_at(p, 20);
        let offsets: Vec<usize> = (0..entries).map(|i| db.u16_at(p, PAGE_HEADER + 2 * i)).collect();
        // item i spans from its offset to the previous item's (items grow down from the end)
        let item = |i: usize| -> Result<&[u8], String> {
            let end = if i == 0 { page_size } else { offsets[i - 1] };
            p.get(offsets[i]..end).filter(|b| !b.is_empty()).ok_or_else(|| format!("page {n} item {i} is out of bounds"))
        };
        for pair in (0..entries).step_by(2).filter(|i| i + 1 < entries) {
            let key = item(pair)?;
            let value = item(pair + 1)?;
            let key_no = if key[0] == H_KEYDATA { u32_at(key, 1, be).unwrap_or(0) } else { 0 };
            let data = match value[0] {
                H_KEYDATA => value[1..].to_vec(),
                H_OFFPAGE => db.overflow(u32_at(value, 4, be).unwrap_or(0), u32_at(value, 8, be).unwrap_or(0) as usize)?,
                other => return Err(format!("page {n}: item type {other} is not a package")),
            };
            // rpm's record 0 holds a counter, not a package
            if key_no != 0 {
                values.push((key_no, data));
            }
        }
    }
    values.sort_by_key(|(k, _)| *k);
    super::packages(values.iter().map(|(_, v)| v.as_slice()))
}
