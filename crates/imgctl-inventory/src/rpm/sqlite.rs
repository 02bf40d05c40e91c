//! rpm's sqlite backend (`rpmdb.sqlite`, rpm's `lib/backend/sqlite.c`): table `Packages`
//! (`hnum` INTEGER PRIMARY KEY, `blob` BLOB) holds the header blobs. Read with SQLite itself
//! (rusqlite, bundled) from a private temporary copy, opened read-only and immutable.

use std::io::Write;

use rusqlite::{Connection, OpenFlags};

use crate::Package;

/// The packages of an `rpmdb.sqlite` file's bytes.
pub fn read(bytes: &[u8]) -> Result<Vec<Package>, String> {
    let mut file = tempfile::NamedTempFile::new().map_err(|e| format!("write a temporary copy: {e}"))?;
    file.write_all(bytes).and_then(|()| file.flush()).map_err(|e| format!("write a temporary copy: {e}"))?;
    let uri = format!("file:{}?immutable=1", file.path().display());
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let db = Connection::open_with_flags(uri, flags).map_err(|e| format!("not an sqlite database: {e}"))?;
    let mut stmt = db.prepare("SELECT blob FROM Packages ORDER BY hnum").map_err(|e| format!("no Packages table: {e}"))?;
    let blobs: Vec<Vec<u8>> = stmt.query_map([], |r| r.get(0)).and_then(Iterator::collect).map_err(|e| format!("read the Packages table: {e}"))?;
    super::packages(blobs.iter().map(Vec::as_slice))
}
