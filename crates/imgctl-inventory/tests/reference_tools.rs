//! The reference implementations themselves as oracles: Debian's `rpm` reads the sqlite and
//! (with its read-only `bdb_ro` backend) the Berkeley DB fixtures and lists what our readers
//! list; `dpkg --compare-versions` and rpm's `rpm.vercmp` order random versions as ours do.
//! (`scripts/test` installs rpm; dpkg is part of every Debian system.)

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::process::Command;

use imgctl_inventory::version::{dpkg, rpm as rpmver};
use proptest::prelude::*;

fn tool(name: &str, apt: &str) -> PathBuf {
    for dir in std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default() {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is not installed: apt-get install {apt} (scripts/test does)");
}

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/inventory").join(path)
}

fn rpm_qa(dbpath: &Path, backend: &str) -> Vec<String> {
    let out = Command::new(tool("rpm", "rpm"))
        .args(["--dbpath", dbpath.to_str().unwrap(), "--define", &format!("_db_backend {backend}"), "-qa", "--qf", "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH}\\n"])
        .output()
        .unwrap();
    assert!(out.status.success(), "rpm -qa: {}", String::from_utf8_lossy(&out.stderr));
    let mut v: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    v.sort();
    v
}

fn ours(packages: Vec<imgctl_inventory::Package>) -> Vec<String> {
    let mut v: Vec<String> = packages
        .iter()
        .map(|p| {
            let evr = if p.version.contains(':') { p.version.clone() } else { format!("0:{}", p.version) };
            format!("{} {evr} {}", p.name, p.arch.as_deref().unwrap_or(""))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn debian_rpm_reads_the_sqlite_and_berkeley_db_fixtures_as_we_do() {
    for (file, backend, read) in [
        ("rpmdb.sqlite", "sqlite", imgctl_inventory::rpm::sqlite::read as fn(&[u8]) -> Result<Vec<imgctl_inventory::Package>, String>),
        ("Packages", "bdb_ro", imgctl_inventory::rpm::bdb::read),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(fixture(&format!("rpm/{file}")), dir.path().join(file)).unwrap();
        let theirs = rpm_qa(dir.path(), backend);
        assert_eq!(theirs.len(), 3, "{file}");
        assert_eq!(ours(read(&std::fs::read(fixture(&format!("rpm/{file}"))).unwrap()).unwrap()), theirs, "{file}");
    }
}

fn dpkg_says(a: &str, b: &str) -> Ordering {
    let dpkg = tool("dpkg", "dpkg");
    let is = |op: &str| Command::new(&dpkg).args(["--compare-versions", a, op, b]).status().unwrap().success();
    if is("lt") {
        Ordering::Less
    } else if is("eq") {
        Ordering::Equal
    } else {
        Ordering::Greater
    }
}

fn rpm_says(a: &str, b: &str) -> Ordering {
    let out = Command::new(tool("rpm", "rpm")).args(["--eval", &format!("%{{lua: print(rpm.vercmp('{a}', '{b}'))}}")]).output().unwrap();
    match String::from_utf8_lossy(&out.stdout).trim() {
        "-1" => Ordering::Less,
        "0" => Ordering::Equal,
        "1" => Ordering::Greater,
        other => panic!("rpm.vercmp('{a}', '{b}') printed '{other}'"),
    }
}

/// dpkg versions: an optional epoch, an upstream part starting with a digit, an optional revision.
fn deb_version() -> impl Strategy<Value = String> {
    ("(|[0-3]:)", "[0-9][0-9a-c.+~]{0,6}", "(|-[0-9a-c.+~]{1,4})").prop_map(|(e, u, r)| format!("{e}{u}{r}"))
}

/// rpm EVRs: an optional epoch, a version and a release of rpm's characters.
fn rpm_evr() -> impl Strategy<Value = String> {
    ("(|[0-3]:)", "[0-9a-c][0-9a-c.~^_]{0,6}", "[0-9a-c][0-9a-c.~^]{0,4}").prop_map(|(e, v, r)| format!("{e}{v}-{r}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn dpkg_orders_versions_as_dpkg_does(a in deb_version(), b in deb_version()) {
        prop_assert_eq!(dpkg::compare(&a, &b), dpkg_says(&a, &b), "{} vs {}", a, b);
    }

    #[test]
    fn rpm_orders_versions_as_rpm_does(a in rpm_evr(), b in rpm_evr()) {
        prop_assert_eq!(rpmver::compare_evr(&a, &b), rpm_says(&a, &b), "{} vs {}", a, b);
    }
}

#[test]
fn the_fixture_script_makes_databases_our_readers_list_exactly() {
    tool("rpmbuild", "rpm");
    tool("db5.3_load", "db5.3-util");
    let out = tempfile::tempdir().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/gen-inventory-fixtures");
    let run = Command::new("bash").arg(&script).arg(out.path()).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let want: Vec<String> = std::fs::read_to_string(out.path().join("expected.txt")).unwrap().lines().map(str::to_string).collect();
    assert_eq!(want.len(), 3);
    let read = |f: &str| std::fs::read(out.path().join(f)).unwrap();
    assert_eq!(ours(imgctl_inventory::rpm::sqlite::read(&read("rpmdb.sqlite")).unwrap()), want, "sqlite");
    assert_eq!(ours(imgctl_inventory::rpm::ndb::read(&read("Packages.db")).unwrap()), want, "ndb");
    assert_eq!(ours(imgctl_inventory::rpm::bdb::read(&read("Packages")).unwrap()), want, "bdb");
    assert_eq!(rpm_qa(out.path(), "bdb_ro"), want, "Debian's rpm reads the Berkeley DB one");
}
