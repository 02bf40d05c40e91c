//! `publish` inputs and guards against the real registry: an OCI tarball, an image already
//! in another repository of the registry (blobs mounted, not uploaded), the refusal to
//! repoint an immutable tag, and the GitHub step summary.

use imgctl_testkit::images::{Flavor, image, push_image};
use imgctl_testkit::{PathKind, Proxy, TestRegistry, block_on, layout};

use crate::fleet::{ARM, Fleet, SINGLE};
use crate::fleet::git;

const T0: &str = "2026-11-02T09:00:00Z";

#[test]
fn publishes_an_oci_tarball() {
    let f = Fleet::new("0s");
    let (dir, digest) = f.build(SINGLE, 7);
    let tar = f.sb.path().join("image.tar");
    layout::tar_layout(&dir, &tar);
    let doc = f.at(T0, &["publish", SINGLE, "--image", tar.to_str().unwrap(), "--output", "json"]).code(0).json();
    assert_eq!(doc["results"][0]["action"], "moved", "{doc:#}");
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-staging")).as_deref(), Some(digest.as_str()));
}

#[test]
fn publishes_from_another_repository_by_mounting_blobs() {
    let reg = TestRegistry::start();
    let proxy = Proxy::start(&reg.host());
    let f = Fleet::with_host(reg, proxy.host(), "0s");
    let img = image(Flavor::Oci, "amd64", 2, 99);
    block_on(push_image(&f.reg.client(), "ci/scratch", "build-123", &img));
    proxy.reset();
    let src = format!("{}/ci/scratch:build-123", proxy.host());
    let doc = f.at(T0, &["publish", SINGLE, "--image", &src, "--output", "json"]).code(0).json();
    assert_eq!(doc["results"][0]["action"], "moved", "{doc:#}");
    assert_eq!(doc["results"][0]["uploadedBytes"], 0, "blobs are mounted, not uploaded: {doc:#}");
    let c = proxy.counts();
    assert_eq!(c.get("PATCH", PathKind::BlobUpload) + c.get("PUT", PathKind::BlobUpload), 0, "no blob upload: {c:?}");
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-staging")).as_deref(), Some(img.manifest.digest.as_str()));
}

#[test]
fn a_rebuild_of_a_source_already_built_keeps_that_build_and_moves_staging_to_it() {
    let mut f = Fleet::new("0s");
    let (first, d1) = f.build(ARM, 1);
    f.at(T0, &["publish", ARM, "--image", first.to_str().unwrap()]).code(0);
    // main moves on (staging at the next build), then comes back to the first source
    // (a hotfix branch merged back): CI rebuilds it, and the rebuild differs
    f.change_sources();
    let (next, d2) = f.build(ARM, 2);
    f.at("2026-11-01T11:00:00Z", &["publish", ARM, "--image", next.to_str().unwrap()]).code(0);
    f.sb.write("src/helix/Dockerfile", "FROM ubuntu:22.04\nRUN echo build 0\n");
    f.sb.write("src/multi/Dockerfile", "FROM ubuntu:22.04\nRUN echo multi 0\n");
    git(f.sb.path(), &["commit", "-qam", "back to the first source"]);
    let (rebuild, d3) = f.build(ARM, 3);
    let doc = f.at("2026-11-01T12:00:00Z", &["publish", ARM, "--image", rebuild.to_str().unwrap(), "--output", "json"]).code(0).json();
    let r = &doc["results"][0];
    assert_eq!((r["action"].as_str(), r["from"].as_str(), r["to"].as_str()), (Some("moved"), Some(d2.as_str()), Some(d1.as_str())), "{doc:#}");
    let reason = r["reason"].as_str().unwrap();
    assert!(reason.contains(&format!("was already built as {d1}")) && reason.contains(&format!("this build {d3} was not pushed")), "{reason}");
    assert_eq!(f.skopeo_digest(&format!("{ARM}-staging")).as_deref(), Some(d1.as_str()), "staging is at the kept build");
    // --force overwrites the immutable tag with the rebuild
    f.at("2026-11-02T10:00:00Z", &["publish", ARM, "--image", rebuild.to_str().unwrap(), "--force"]).code(0);
    assert_eq!(f.skopeo_digest(&format!("{ARM}-staging")).as_deref(), Some(d3.as_str()));
}

#[test]
fn appends_a_markdown_report_to_the_step_summary() {
    let f = Fleet::new("0s");
    let (dir, _) = f.build(SINGLE, 4);
    let summary = f.sb.path().join("summary.md");
    let out = f
        .sb
        .cmd()
        .env("IMGCTL_NOW", T0)
        .env("IMGCTL_INSECURE_REGISTRIES", &f.host)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["publish", SINGLE, "--image", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("### imgctl publish") && md.contains(&format!("| `{SINGLE}` | staging |")) && md.contains("**moved**"), "{md}");
}
