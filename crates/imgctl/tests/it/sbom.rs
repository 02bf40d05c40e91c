//! SBOMs end to end: builds whose layers carry real package databases (tests/fixtures/inventory:
//! Debian's dpkg status, Alpine's apk database, rpm's sqlite, ndb and Berkeley DB made by
//! Debian's rpm), stacked with whiteouts and opaque directories, published by the real binary
//! to the real registry; `imgctl sbom` lists exactly the packages that survive, the referrer
//! is cross-read with skopeo, a signed SBOM verifies, layers shared by two images are read
//! once (the local cache), `--no-sbom` attaches none; `--format cyclonedx` gives the same
//! packages as a CycloneDX document the `cyclonedx-bom` crate reads back and validates.

use std::path::PathBuf;

use imgctl_testkit::images::{LAYER_GZIP, LAYER_TAR, TestImage, gzip, image_of_layers, index, tar_layer};
use imgctl_testkit::layout;
use serde_json::Value;

use crate::fleet::{ARM, Fleet, MULTI, REPO, SINGLE};
use crate::records_support::{keys, referrers};
use crate::support::fixture;

const T0: &str = "2026-11-02T09:00:00Z";

pub(crate) fn db(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("inventory/{name}"))).unwrap_or_else(|e| panic!("read fixture {name}: {e}"))
}

/// Paragraphs of the Debian status file, as distroless `status.d/` files (no Status field).
fn status_d(package: &str) -> Vec<u8> {
    let text = String::from_utf8(db("dpkg/status")).unwrap();
    let para = text.split("\n\n").find(|p| p.starts_with(&format!("Package: {package}\n"))).unwrap();
    para.lines().filter(|l| !l.starts_with("Status:")).collect::<Vec<_>>().join("\n").into_bytes()
}

pub(crate) fn write(f: &Fleet, name: &str, image: &TestImage) -> PathBuf {
    let dir = f.sb.path().join(format!("out/{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    layout::write_image(&dir, image);
    dir
}

fn names(doc: &Value, purl_type: &str) -> Vec<String> {
    let mut v: Vec<String> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["externalRefs"][0]["referenceLocator"].as_str().is_some_and(|l| l.starts_with(&format!("pkg:{purl_type}/"))))
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn fixture_lines(path: &str, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8(db(path)).unwrap().lines().filter_map(|l| l.strip_prefix(prefix).map(|n| n.split_whitespace().next().unwrap().to_string())).collect();
    v.sort();
    v
}

/// Runs imgctl with the layer cache in the sandbox.
fn run(f: &Fleet, args: &[&str]) -> crate::support::Run {
    let out = f.sb.cmd().env("IMGCTL_NOW", T0).env("IMGCTL_INSECURE_REGISTRIES", &f.host).env("XDG_CACHE_HOME", f.sb.path().join("cache")).args(args).output().unwrap();
    crate::support::Run::from(out)
}

fn sbom_docs(f: &Fleet, digest: &str) -> Vec<Value> {
    referrers(f, digest).into_iter().filter(|e| e["annotations"]["dev.imgctl.predicate-type"] == "https://spdx.dev/Document").collect()
}

/// `sbom ARGS --format cyclonedx`: a CycloneDX 1.5 document that the `cyclonedx-bom` crate
/// parses back and validates, holding exactly the SPDX document's packages (purls, versions).
fn same_as_cyclonedx(f: &Fleet, args: &[&str]) -> Value {
    use cyclonedx_bom::prelude::{Bom, Validate};
    let cdx = run(f, &[&["sbom"], args, &["--format", "cyclonedx", "--output", "json"]].concat()).code(0).json();
    let spdx = run(f, &[&["sbom"], args, &["--output", "json"]].concat()).code(0).json();
    assert_eq!((cdx["bomFormat"].as_str(), cdx["specVersion"].as_str()), (Some("CycloneDX"), Some("1.5")));
    let bom = Bom::parse_from_json_v1_5(cdx.to_string().as_bytes()).expect("a CycloneDX 1.5 document");
    let checked = bom.validate();
    assert!(checked.passed(), "{checked:?}");
    let subject = bom.metadata.as_ref().and_then(|m| m.component.as_ref()).expect("the image");
    let mut from_cdx: Vec<(String, Option<String>)> =
        bom.components.as_ref().unwrap().0.iter().chain([subject]).map(|c| (c.purl.as_ref().map(|p| p.to_string()).unwrap_or_else(|| format!("os:{}", c.name)), c.version.as_ref().map(|v| v.to_string()))).collect();
    let mut from_spdx: Vec<(String, Option<String>)> = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["externalRefs"][0]["referenceLocator"].as_str().map(str::to_string).unwrap_or_else(|| format!("os:{}", p["name"].as_str().unwrap())), p["versionInfo"].as_str().map(str::to_string)))
        .collect();
    from_cdx.sort();
    from_spdx.sort();
    assert_eq!(from_cdx, from_spdx, "the same packages, purls and versions as the SPDX document");
    cdx
}

#[test]
fn publish_attaches_the_sbom_of_exactly_the_packages_left_after_whiteouts() {
    let mut f = Fleet::new("0s");
    let (key, _, public) = keys(&f, "sbom");
    let host = f.host.clone();
    let reference = |tag: &str| format!("{host}/{REPO}:{tag}");

    // Debian: dpkg status + two distroless status.d files + an rpm sqlite database in the base
    // (gzip); the upper layer (plain tar) deletes one status.d file and the rpm database
    let base = tar_layer(&[
        ("etc/os-release", &db("dpkg/os-release")),
        ("var/lib/dpkg/status", &db("dpkg/status")),
        ("var/lib/dpkg/status.d/libc6", &status_d("libc6")),
        ("var/lib/dpkg/status.d/zlib1g", &status_d("zlib1g")),
        ("usr/lib/sysimage/rpm/rpmdb.sqlite", &db("rpm/rpmdb.sqlite")),
    ]);
    let upper = tar_layer(&[("var/lib/dpkg/status.d/.wh.libc6", b""), ("usr/lib/sysimage/rpm/.wh.rpmdb.sqlite", b""), ("usr/local/bin/tool", b"#!/bin/sh\n")]);
    let debian = image_of_layers("amd64", vec![(gzip(&base), LAYER_GZIP), (upper, LAYER_TAR)], 1);
    let dir = write(&f, "debian", &debian);
    run(&f, &["publish", SINGLE, "--image", dir.to_str().unwrap(), "--sign-key", key.to_str().unwrap(), "-v"]).code(0);
    let doc = run(&f, &["sbom", &reference(&format!("{SINGLE}-staging")), "--key", public.to_str().unwrap(), "--output", "json"]).code(0).json();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let mut want = fixture_lines("dpkg/status", "Package: ");
    assert_eq!(want.len(), 12);
    assert!(want.contains(&"zlib1g".to_string()));
    assert_eq!(names(&doc, "deb"), want, "status + status.d/zlib1g (the same package twice is listed once); status.d/libc6 is whited out");
    assert!(names(&doc, "rpm").is_empty(), "the rpm database was deleted by the upper layer");
    let zlib = doc["packages"].as_array().unwrap().iter().find(|p| p["name"] == "zlib1g").unwrap();
    assert_eq!(zlib["externalRefs"][0]["referenceLocator"], "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib");
    let os = doc["packages"].as_array().unwrap().iter().find(|p| p["primaryPackagePurpose"] == "OPERATING-SYSTEM").unwrap();
    assert_eq!((os["name"].as_str(), os["versionInfo"].as_str()), (Some("debian"), Some("12")));
    let cdx = same_as_cyclonedx(&f, &[&reference(&format!("{SINGLE}-staging"))]);
    assert_eq!(cdx["metadata"]["component"]["version"], debian.manifest.digest, "the BOM is about the build");
    assert_eq!(cdx["components"][0]["type"], "operating-system");
    // the referrer, as skopeo reads it: a signed in-toto statement about the build's digest
    let entries = sbom_docs(&f, &debian.manifest.digest);
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(entries[0]["artifactType"], "application/vnd.dsse.envelope.v1+json");
    assert_eq!(entries[0]["annotations"]["dev.imgctl.inventory.packages"], "12");
    // the table for people
    let human = run(&f, &["sbom", &reference(&format!("{SINGLE}-staging")), "--key", public.to_str().unwrap()]).code(0).stdout.clone();
    assert!(human.contains("signed, verified") && human.contains("Debian GNU/Linux 12") && human.contains("zlib1g") && human.contains("12 packages"), "{human}");
    want.clear();
    // republishing attaches no second SBOM
    run(&f, &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    assert_eq!(sbom_docs(&f, &debian.manifest.digest).len(), 1);

    // Alpine: apk's database in the base; an opaque directory in the upper layer hides it and a
    // later layer writes it back
    let apk = db("apk/installed");
    let alpine = image_of_layers(
        "arm64",
        vec![
            (gzip(&tar_layer(&[("etc/os-release", &db("apk/os-release")), ("lib/apk/db/installed", &apk), ("lib/apk/db/lock", b"")])), LAYER_GZIP),
            (tar_layer(&[("lib/apk/db/.wh..wh..opq", b"")]), LAYER_TAR),
            (gzip(&tar_layer(&[("lib/apk/db/installed", &apk)])), LAYER_GZIP),
        ],
        2,
    );
    let dir = write(&f, "alpine", &alpine);
    run(&f, &["publish", ARM, "--image", dir.to_str().unwrap()]).code(0);
    let doc = run(&f, &["sbom", &reference(&format!("{ARM}-staging")), "--output", "json"]).code(0).json();
    assert_eq!(names(&doc, "apk"), fixture_lines("apk/installed", "P:"));
    assert_eq!(names(&doc, "apk").len(), 26);
    // unsigned without a key: not signed, and `--key` then fails (exit 1)
    assert_eq!(sbom_docs(&f, &alpine.manifest.digest)[0]["artifactType"], "application/vnd.in-toto+json");
    run(&f, &["sbom", &reference(&format!("{ARM}-staging")), "--key", public.to_str().unwrap()]).code(1);

    // a multi-arch index: both children share a base layer; amd64 carries rpm's ndb database,
    // arm64 the Berkeley DB one; the shared layer is read once (the second image takes it from
    // the local cache)
    let shared = gzip(&tar_layer(&[("etc/os-release", b"ID=opensuse-leap\nVERSION_ID=\"15.6\"\n"), ("usr/share/doc/README", b"shared base")]));
    let amd = image_of_layers("amd64", vec![(shared.clone(), LAYER_GZIP), (gzip(&tar_layer(&[("usr/lib/sysimage/rpm/Packages.db", &db("rpm/Packages.db"))])), LAYER_GZIP)], 3);
    let arm = image_of_layers("arm64", vec![(shared, LAYER_GZIP), (gzip(&tar_layer(&[("var/lib/rpm/Packages", &db("rpm/Packages"))])), LAYER_GZIP)], 4);
    let idx = index(vec![amd.clone(), arm.clone()]);
    let dir = f.sb.path().join("out/multi");
    std::fs::create_dir_all(&dir).unwrap();
    layout::write_index(&dir, &idx);
    let published = run(&f, &["publish", MULTI, "--image", dir.to_str().unwrap(), "-v"]).code(0).stderr.clone();
    assert!(published.contains(&format!("sbom of {}: 3 packages, attached, read 2 layers", amd.manifest.digest)), "{published}");
    assert!(published.contains(&format!("sbom of {}: 3 packages, attached, read 1 layers", arm.manifest.digest)), "{published}");
    let rpms = fixture_lines("rpm/expected.txt", "");
    for platform in ["linux/amd64", "linux/arm64"] {
        let doc = run(&f, &["sbom", &reference(&format!("{MULTI}-staging")), "--platform", platform, "--output", "json"]).code(0).json();
        assert_eq!(names(&doc, "rpm"), rpms, "{platform}");
        let tools = doc["packages"].as_array().unwrap().iter().find(|p| p["name"] == "imgctl-tools").unwrap();
        assert_eq!(tools["externalRefs"][0]["referenceLocator"], format!("pkg:rpm/opensuse-leap/imgctl-tools@0.9~rc1-3.el9?arch=noarch&distro=opensuse-leap-15.6&epoch=2"));
    }
    let e = run(&f, &["sbom", &reference(&format!("{MULTI}-staging"))]).code(2).stderr.clone();
    assert!(e.contains("--platform") && e.contains("linux/amd64, linux/arm64"), "{e}");
    same_as_cyclonedx(&f, &[&reference(&format!("{MULTI}-staging")), "--platform", "linux/arm64"]);

    // --no-sbom: a build without one; `sbom` says so (exit 1)
    let bare = image_of_layers("amd64", vec![(tar_layer(&[("etc/os-release", b"ID=debian\n")]), LAYER_TAR)], 5);
    let dir = write(&f, "bare", &bare);
    f.change_sources();
    run(&f, &["publish", SINGLE, "--image", dir.to_str().unwrap(), "--no-sbom"]).code(0);
    let e = run(&f, &["sbom", &reference(&format!("{SINGLE}-staging"))]).code(1).stderr.clone();
    assert!(e.contains("none is attached"), "{e}");
}

/// The Debian status file with `edit` applied to its paragraphs (name → new version, or
/// None to drop it) and `extra` paragraphs appended.
pub(crate) fn status_edited(edit: &[(&str, Option<&str>)], extra: &str) -> Vec<u8> {
    let text = String::from_utf8(db("dpkg/status")).unwrap();
    let mut out: Vec<String> = Vec::new();
    for para in text.trim_end().split("\n\n") {
        let name = para.lines().next().unwrap().trim_start_matches("Package: ");
        match edit.iter().find(|(n, _)| *n == name) {
            Some((_, None)) => {}
            Some((_, Some(v))) => out.push(para.lines().map(|l| if l.starts_with("Version: ") { format!("Version: {v}") } else { l.to_string() }).collect::<Vec<_>>().join("\n")),
            None => out.push(para.to_string()),
        }
    }
    out.push(extra.trim_end().to_string());
    (out.join("\n\n") + "\n").into_bytes()
}

#[test]
fn diff_lists_exactly_the_packages_changed_between_two_builds() {
    let mut f = Fleet::new("0s");
    let base = gzip(&tar_layer(&[("etc/os-release", &db("dpkg/os-release")), ("var/lib/dpkg/status", &db("dpkg/status")), ("usr/bin/a", b"12345")]));
    let a = image_of_layers("amd64", vec![(base.clone(), LAYER_GZIP)], 10);
    // the second build upgrades libssl3, downgrades bash, removes tzdata, adds one package,
    // and deletes a file: its status file is rewritten in an upper layer, as dpkg does
    let status = status_edited(&[("libssl3", Some("3.0.19-1~deb12u3")), ("bash", Some("5.2.15-2")), ("tzdata", None)], "Package: imgctl-new\nStatus: install ok installed\nVersion: 1.0~rc1-1\nArchitecture: amd64\n");
    let upper = tar_layer(&[("var/lib/dpkg/status", &status), ("usr/bin/.wh.a", b"")]);
    let b = image_of_layers("amd64", vec![(base, LAYER_GZIP), (upper, LAYER_TAR)], 11);
    let dir_a = write(&f, "a", &a);
    run(&f, &["publish", SINGLE, "--image", dir_a.to_str().unwrap()]).code(0);
    f.change_sources();
    let dir_b = write(&f, "b", &b);
    // the second build has no SBOM: diff reads its layers from the registry
    run(&f, &["publish", SINGLE, "--image", dir_b.to_str().unwrap(), "--no-sbom"]).code(0);
    let at = |d: &str| format!("{}/{REPO}@{d}", f.host);
    let doc = run(&f, &["diff", &at(&a.manifest.digest), &at(&b.manifest.digest), "--output", "json"]).code(0).json();
    assert_eq!((doc["from"]["inventoryFrom"].as_str(), doc["to"]["inventoryFrom"].as_str()), (Some("sbom"), Some("layers")), "{doc:#}");
    let changes: Vec<(String, String, String, String)> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["change"].as_str().unwrap().into(), c["name"].as_str().unwrap().into(), c["from"].as_str().unwrap_or("-").into(), c["to"].as_str().unwrap_or("-").into()))
        .collect();
    let want = [
        ("downgraded", "bash", "5.2.15-2+b8", "5.2.15-2"),
        ("added", "imgctl-new", "-", "1.0~rc1-1"),
        ("upgraded", "libssl3", "3.0.19-1~deb12u2", "3.0.19-1~deb12u3"),
        ("removed", "tzdata", "2025b-0+deb12u2", "-"),
    ];
    assert_eq!(changes, want.map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string())));
    assert_eq!(doc["filesDelta"], -1);
    let human = run(&f, &["diff", &at(&b.manifest.digest), &at(&b.manifest.digest)]).code(0).stdout.clone();
    assert!(human.contains("no package changed"), "{human}");
}

#[test]
fn a_windows_image_is_said_to_be_not_inventoried_rather_than_empty() {
    let f = Fleet::new("0s");
    let foreign = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    let win = image_of_layers("amd64", vec![(imgctl_testkit::images::random_bytes(7, 4096), foreign), (gzip(&tar_layer(&[("Files/app.exe", b"MZ")])), LAYER_GZIP)], 20);
    let dir = write(&f, "windows", &win);
    run(&f, &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    let reference = format!("{}/{REPO}:{SINGLE}-staging", f.host);
    let human = run(&f, &["sbom", &reference]).code(0).stdout.clone();
    assert!(human.contains("not inventoried: a Windows image"), "{human}");
    let doc = run(&f, &["sbom", &reference, "--output", "json"]).code(0).json();
    assert_eq!(doc["packages"].as_array().unwrap().len(), 1, "only the image itself: {doc:#}");
    assert!(doc["packages"][0]["comment"].as_str().unwrap().contains("not inventoried"), "{doc:#}");
}
