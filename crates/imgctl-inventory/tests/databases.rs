//! The readers against real databases (tests/fixtures/inventory, see its SOURCES.md): rpm's
//! three backends made from packages built by Debian's rpmbuild (scripts/gen-inventory-fixtures),
//! a Debian dpkg status file, Alpine's apk database; and whole layers (tar, gzip, zstd) with
//! whiteouts stacked.

use std::io::Write;
use std::path::PathBuf;

use imgctl_inventory::layer::{Found, LayerInventory};
use imgctl_inventory::{Compression, Ecosystem, merge, read_layer, rpm};

fn fixture(path: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/inventory").join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// `name epoch:version-release arch` lines, as rpm -qa printed them.
fn expected_rpms() -> Vec<String> {
    String::from_utf8(fixture("rpm/expected.txt")).unwrap().lines().map(|l| l.replace(" 0:", " ")).collect()
}

fn rpm_lines(p: &[imgctl_inventory::Package]) -> Vec<String> {
    let mut v: Vec<String> = p.iter().map(|p| format!("{} {} {}", p.name, p.version, p.arch.as_deref().unwrap_or("-"))).collect();
    v.sort();
    v
}

#[test]
fn rpm_sqlite_ndb_and_berkeley_db_list_exactly_what_rpm_installed() {
    let want = expected_rpms();
    assert_eq!(want.len(), 3);
    assert_eq!(rpm_lines(&rpm::sqlite::read(&fixture("rpm/rpmdb.sqlite")).unwrap()), want, "sqlite");
    assert_eq!(rpm_lines(&rpm::ndb::read(&fixture("rpm/Packages.db")).unwrap()), want, "ndb");
    assert_eq!(rpm_lines(&rpm::bdb::read(&fixture("rpm/Packages")).unwrap()), want, "bdb");
}

#[test]
fn damaged_rpm_databases_are_errors_not_panics() {
    let mut ndb = fixture("rpm/Packages.db");
    let last = ndb.len() - 20;
    ndb[last] ^= 0xff;
    assert!(rpm::ndb::read(&ndb).unwrap_err().contains("checksum"));
    assert!(rpm::ndb::read(b"nope").is_err());
    let bdb = fixture("rpm/Packages");
    assert!(rpm::bdb::read(&bdb[..bdb.len() / 2]).is_err());
    assert!(rpm::bdb::read(&[0u8; 64]).unwrap_err().contains("not a Berkeley DB"));
    assert!(rpm::sqlite::read(b"not sqlite at all").is_err());
    for n in (0..bdb.len()).step_by(997) {
        let mut b = bdb.clone();
        b[n] ^= 0x5a;
        let _ = rpm::bdb::read(&b);
    }
}

#[test]
fn dpkg_status_lists_every_installed_package_of_the_debian_file() {
    let text = String::from_utf8(fixture("dpkg/status")).unwrap();
    let p = imgctl_inventory::dpkg::parse(&text, true);
    let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["base-files", "bash", "ca-certificates", "gcc-12-base", "libc6", "libgcc-s1", "libsqlite3-0", "libssl3", "openssl", "perl-base", "tzdata", "zlib1g"]);
    let zlib = p.iter().find(|p| p.name == "zlib1g").unwrap();
    assert_eq!((zlib.version.as_str(), zlib.source.as_deref(), zlib.arch.as_deref()), ("1:1.2.13.dfsg-1", Some("zlib"), Some("amd64")));
}

#[test]
fn apk_installed_lists_every_package_of_the_alpine_database() {
    let p = imgctl_inventory::apk::parse(&String::from_utf8(fixture("apk/installed")).unwrap());
    assert_eq!(p.len(), 26);
    assert_eq!(p.iter().filter(|p| p.arch.as_deref() == Some("armv7")).count(), 26);
    let ssl = p.iter().find(|p| p.name == "ssl_client").unwrap();
    assert_eq!((ssl.version.as_str(), ssl.source.as_deref()), ("1.33.1-r3", Some("busybox")));
}

fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn layers_in_any_compression_stack_with_their_whiteouts() {
    let sqlite = fixture("rpm/rpmdb.sqlite");
    let status = fixture("dpkg/status");
    let apk = fixture("apk/installed");
    let base = tar(&[("./etc/os-release", b"ID=debian\nVERSION_ID=12\n"), ("var/lib/dpkg/status", &status), ("usr/lib/sysimage/rpm/rpmdb.sqlite", &sqlite), ("opt/a/big", &[7u8; 1000])]);
    let l1 = read_layer("base", gzip(&base).as_slice(), Compression::Sniff).unwrap();
    assert_eq!(l1.found.len(), 3);
    assert!(matches!(l1.found["var/lib/dpkg/status"], Found::Packages(ref p) if p.len() == 12));
    // the second layer (zstd) deletes the rpm database and opt/a, adds apk's database
    let upper = tar(&[("usr/lib/sysimage/rpm/.wh.rpmdb.sqlite", b""), ("opt/.wh.a", b""), ("lib/apk/db/installed", &apk)]);
    let zst = ruzstd::encoding::compress_to_vec(upper.as_slice(), ruzstd::encoding::CompressionLevel::Fastest);
    let l2 = read_layer("upper", zst.as_slice(), Compression::of_media_type("application/vnd.oci.image.layer.v1.tar+zstd")).unwrap();
    assert_eq!(l2.whiteouts, ["usr/lib/sysimage/rpm/rpmdb.sqlite", "opt/a"]);
    assert_eq!(l2.read_bytes, zst.len() as u64);
    let l3 = read_layer("plain", tar(&[("usr/bin/x", b"12345")]).as_slice(), Compression::None).unwrap();
    let inv = merge([&l1, &l2, &l3]);
    assert_eq!(inv.packages.iter().filter(|p| p.ecosystem == Ecosystem::Deb).count(), 12);
    assert_eq!(inv.packages.iter().filter(|p| p.ecosystem == Ecosystem::Apk).count(), 26);
    assert_eq!(inv.packages.iter().filter(|p| p.ecosystem == Ecosystem::Rpm).count(), 0);
    assert_eq!(inv.files, 4);
    assert_eq!(inv.bytes, 24 + status.len() as u64 + apk.len() as u64 + 5);
    assert_eq!(inv.os.unwrap().version_id.as_deref(), Some("12"));
    // without the upper layer the rpm packages are there
    let inv = merge([&l1]);
    assert_eq!(inv.packages.iter().filter(|p| p.ecosystem == Ecosystem::Rpm).count(), 3);
    assert_eq!(inv.databases, ["var/lib/dpkg/status", "usr/lib/sysimage/rpm/rpmdb.sqlite"]);
}

#[test]
fn a_layer_that_is_not_a_tar_is_an_error() {
    let e = read_layer("sha256:x", gzip(b"random bytes, not a tar archive at all, long enough for a header? no").as_slice(), Compression::Gzip);
    assert!(e.is_err() || e.as_ref().is_ok_and(|l: &LayerInventory| l.files.is_empty()));
    let e = read_layer("sha256:y", &[0x1f, 0x8b, 0, 1, 2][..], Compression::Sniff).unwrap_err().to_string();
    assert!(e.starts_with("read layer sha256:y: "), "{e}");
}
