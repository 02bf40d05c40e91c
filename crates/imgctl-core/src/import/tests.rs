//! Unit tests of the docker-tools conversion.

use serde_json::json;

use super::docker_tools::{Document, parse_document};
use super::*;
use crate::fleet::Fleet;
use crate::load;
use crate::span::SpanIndex;

fn top() -> Document {
    parse_document("src-root/manifest.json", r#"{ "registry": "mcr.microsoft.com", "includes": ["src/u/manifest.json"] }"#).unwrap()
}

fn include(images: serde_json::Value) -> Document {
    let doc = json!({ "variables": { "v": "43" }, "repos": [ { "name": "acme/prereqs", "images": images } ] });
    parse_document("src-root/src/u/manifest.json", &serde_json::to_string_pretty(&doc).unwrap()).unwrap()
}

fn platform(dir: &str, os_version: &str, arch: Option<(&str, Option<&str>)>, tags: &[&str]) -> serde_json::Value {
    let mut p = json!({ "dockerfile": dir, "os": "linux", "osVersion": os_version, "tags": {} });
    for t in tags {
        p["tags"][*t] = json!({});
    }
    if let Some((a, v)) = arch {
        p["architecture"] = json!(a);
        if let Some(v) = v {
            p["variant"] = json!(v);
        }
    }
    p
}

fn run(images: serde_json::Value) -> Imported {
    convert(&top(), &[include(images)], &Options { source_dir: "src-root".into(), out_manifest: "out/manifests/images.yaml".into() })
}

fn one(images: serde_json::Value) -> crate::manifest::VariantSpec {
    let imp = run(images);
    assert!(imp.report.ok, "{:#?}", imp.report.findings);
    imp.manifest.variants[0].clone()
}

#[test]
fn keeps_the_arch_suffixed_tag_as_base_and_the_others_as_aliases() {
    let v = one(json!([{ "platforms": [platform("src/ubuntu/22.04/helix", "jammy", None, &["ubuntu-22.04-helix", "ubuntu-22.04-helix-amd64"])] }]));
    assert_eq!(v.os, "Linux-Ubuntu-22.04-AMD64");
    assert_eq!(v.qualifiers, ["helix"]);
    assert_eq!(v.aliases, ["ubuntu-22.04-helix"]);
    assert_eq!((v.tag, v.omit_arch), (None, false));
    assert_eq!(v.context, "../../src-root/src/ubuntu/22.04/helix");
}

#[test]
fn maps_architectures_and_variants() {
    let v = one(json!([{ "platforms": [platform("src/debian/12/helix/", "bookworm", Some(("arm", Some("v7"))), &["debian-12-helix-arm32v7"])] }]));
    assert_eq!((v.os.as_str(), v.qualifiers.as_slice()), ("Linux-Debian-12-ARM32", &["helix".to_string()][..]));
    let v = one(json!([{ "platforms": [platform("src/alpine/3.23", "alpine3.23", Some(("arm64", Some("v8"))), &["alpine-3.23-arm64v8"])] }]));
    assert_eq!((v.os.as_str(), v.qualifiers.len()), ("Linux-Alpine-3.23-ARM64", 0));
}

#[test]
fn substitutes_variables_in_tags_and_build_args() {
    let mut p = platform("src/azurelinux/3.0/renovate/amd64", "azurelinux3.0", Some(("amd64", None)), &["azurelinux-3.0-renovate-amd64", "azurelinux-3.0-renovate-$(v)-amd64"]);
    p["buildArgs"] = json!({ "RENOVATE_VERSION": "$(v)" });
    let v = one(json!([{ "platforms": [p] }]));
    assert_eq!(v.qualifiers, ["renovate"]);
    assert_eq!(v.aliases, ["azurelinux-3.0-renovate-43-amd64"]);
    assert_eq!(v.build_args["RENOVATE_VERSION"], "43");
    assert_eq!(platform::substitute("a-$(x)", &IndexMap::new()).unwrap_err(), "'a-$(x)' uses unknown variable 'x' (variables: )");
}

#[test]
fn cross_images_omit_the_arch_and_prefer_the_tag_naming_their_directory() {
    let v = one(json!([{ "platforms": [platform("src/azurelinux/3.0/net9.0/cross/arm64", "azurelinux3.0", None, &["azurelinux-3.0-net9.0-cross-arm64"])] }]));
    assert_eq!((v.qualifiers.join("-"), v.omit_arch, v.tag), ("net9.0-cross-arm64".to_string(), true, None));
    let tags = ["azurelinux-3.0-net8.0-cross-arm-alpine", "azurelinux-3.0-net8.0-cross-arm-musl"];
    let v = one(json!([{ "platforms": [platform("src/azurelinux/3.0/net8.0/cross/arm-musl", "azurelinux3.0", None, &tags)] }]));
    assert_eq!(v.qualifiers, ["net8.0", "cross", "arm", "musl"]);
    assert_eq!(v.aliases, ["azurelinux-3.0-net8.0-cross-arm-alpine"]);
}

#[test]
fn arch_alias_segments_become_explicit_tags() {
    let v = one(json!([{ "platforms": [platform("src/azurelinux/3.0/net9.0/opt", "azurelinux3.0", Some(("arm64", None)), &["azurelinux-3.0-net9.0-opt-arm64"])] }]));
    assert_eq!(v.os, "Linux-AzureLinux-3.0-ARM64");
    assert_eq!(v.qualifiers, ["net9.0", "opt"]);
    assert_eq!(v.tag.as_deref(), Some("azurelinux-3.0-net9.0-opt-arm64"));
}

#[test]
fn a_shared_tag_is_an_alias_of_the_default_arch_variant_built_for_every_platform() {
    let imp = run(json!([{ "sharedTags": { "azurelinux3.0-docker-testrunner": {} }, "platforms": [
        platform("src/azurelinux/3.0/docker-testrunner", "azurelinux3.0", Some(("arm64", Some("v8"))), &["azurelinux-3.0-docker-testrunner-arm64v8"]),
        platform("src/azurelinux/3.0/docker-testrunner", "azurelinux3.0", None, &["azurelinux-3.0-docker-testrunner-amd64"]),
    ] }]));
    assert!(imp.report.ok);
    let amd = &imp.manifest.variants[1];
    assert_eq!(amd.os, "Linux-AzureLinux-3.0-AMD64");
    assert_eq!(amd.aliases, ["azurelinux3.0-docker-testrunner"]);
    assert_eq!(amd.platforms, ["linux/arm64", "linux/amd64"]);
    assert!(imp.manifest.variants[0].aliases.is_empty() && imp.manifest.variants[0].platforms.is_empty());
    assert_eq!(imp.report.aliases, 1);
    let f = &imp.report.findings[0];
    assert_eq!((f.code, f.file.as_str()), ("shared-tag", "src-root/src/u/manifest.json"));
    assert!(f.message.contains("'azurelinux3.0-docker-testrunner'") && f.message.contains("linux/arm64,linux/amd64"), "{}", f.message);
    // one platform: simply its alias, nothing to say
    let imp = run(json!([{ "sharedTags": { "azurelinux3.0-x": {} }, "platforms": [
        platform("src/azurelinux/3.0/x", "azurelinux3.0", None, &["azurelinux-3.0-x-amd64"]),
    ] }]));
    assert_eq!((imp.manifest.variants[0].aliases.as_slice(), imp.report.warnings), (["azurelinux3.0-x".to_string()].as_slice(), 0));
    assert!(imp.manifest.variants[0].platforms.is_empty());
}

#[test]
fn a_shared_tag_no_variant_can_carry_is_reported_each() {
    let imp = run(json!([{ "sharedTags": { "multi-a": {}, "multi-b": {} }, "platforms": [
        platform("src/azurelinux/3.0/one", "azurelinux3.0", None, &["azurelinux-3.0-one-amd64"]),
        platform("src/azurelinux/3.0/two", "azurelinux3.0", Some(("arm64", Some("v8"))), &["azurelinux-3.0-two-arm64v8"]),
    ] }, { "sharedTags": { "azurelinux-3.0-one-amd64": {} }, "platforms": [
        platform("src/azurelinux/3.0/three", "azurelinux3.0", None, &["azurelinux-3.0-three-amd64"]),
    ] }]));
    assert!(imp.report.ok);
    let unmapped: Vec<&str> = imp.report.findings.iter().filter(|f| f.code == "shared-tag-unmapped").map(|f| f.message.as_str()).collect();
    assert_eq!(unmapped.len(), 3, "{unmapped:#?}");
    assert!(unmapped[0].contains("'multi-a'") && unmapped[0].contains("different Dockerfiles"), "{}", unmapped[0]);
    assert!(unmapped[1].contains("'multi-b'"), "{}", unmapped[1]);
    assert!(unmapped[2].contains("'azurelinux-3.0-one-amd64'") && unmapped[2].contains("already a tag of platform 'azurelinux-3.0-one-amd64'"), "{}", unmapped[2]);
    assert!(imp.manifest.variants.iter().all(|v| v.aliases.is_empty()));
}

#[test]
fn an_unknown_os_version_is_an_error_naming_the_file_and_platform() {
    let imp = run(json!([{ "platforms": [platform("src/ubuntu/20.04", "focal", None, &["ubuntu-20.04-amd64"])] }]));
    assert!(!imp.report.ok);
    let f = &imp.report.findings[0];
    assert_eq!((f.code, f.file.as_str()), ("import", "src-root/src/u/manifest.json"));
    assert!(f.line > 1, "{f}");
    assert!(f.message.contains("platform 'ubuntu-20.04-amd64'") && f.message.contains("unknown osVersion 'focal'"), "{}", f.message);
}

#[test]
fn an_os_version_contradicted_by_tag_and_path_is_reported_and_corrected() {
    let imp = run(json!([{ "platforms": [platform("src/ubuntu/22.04/cross/armel-tizen", "bionic", None, &["ubuntu-22.04-cross-armel-tizen"])] }]));
    assert!(imp.report.ok, "{:#?}", imp.report.findings);
    let v = &imp.manifest.variants[0];
    assert_eq!((v.os.as_str(), v.omit_arch), ("Linux-Ubuntu-22.04-AMD64", true));
    let f = &imp.report.findings[0];
    assert_eq!((f.code, f.severity), ("os-version-mismatch", crate::Severity::Warning));
    assert!(f.message.contains("'bionic'") && f.message.contains("Ubuntu 18.04") && f.message.contains("Ubuntu 22.04"), "{}", f.message);
    // a contradiction by only one of them is reported but not acted on
    let imp = run(json!([{ "platforms": [platform("src/ubuntu/24.04/x", "jammy", None, &["ubuntu-22.04-x-amd64"])] }]));
    assert_eq!((imp.report.warnings, imp.manifest.variants[0].os.as_str()), (1, "Linux-Ubuntu-22.04-AMD64"));
}

#[test]
fn more_than_one_repository_is_an_error() {
    let a = include(json!([{ "platforms": [platform("src/fedora/43", "fedora43", None, &["fedora-43-amd64"])] }]));
    let b = parse_document("b.json", r#"{ "repos": [ { "name": "other/repo", "images": [] } ] }"#).unwrap();
    let imp = convert(&top(), &[a, b], &Options { source_dir: ".".into(), out_manifest: "manifests/images.yaml".into() });
    assert_eq!(imp.report.findings.iter().map(|f| f.code).collect::<Vec<_>>(), ["multiple-repositories"]);
}

#[test]
fn the_output_loads_and_renders_the_source_tags() {
    let imp = run(json!([{ "platforms": [
        platform("src/centos-stream/9/amd64", "centos-stream9", None, &["centos-stream9", "centos-stream-9", "centos-stream-9-amd64"]),
        platform("src/ubuntu/24.04", "noble", Some(("arm64", Some("v8"))), &["ubuntu-24.04-arm64", "ubuntu-24.04-arm64v8"]),
    ] }]));
    assert!(imp.report.ok);
    let yaml = render::manifest_yaml(&imp.manifest, "src-root/manifest.json", "out").unwrap();
    assert!(yaml.starts_with("# Generated by `imgctl import docker-tools` from src-root/manifest.json.\n"));
    let parsed = load::parse_manifest("out/manifests/images.yaml", &yaml);
    assert!(parsed.findings.is_empty(), "{:#?}", parsed.findings);
    let os_text = render::os_definitions_json(&imp.os).unwrap();
    let os = load::parse_os_definitions("os.json", &os_text).value.unwrap();
    assert_eq!(os.definitions.len(), 2);
    let (fleet, findings) = Fleet::new(parsed.value.unwrap(), "out/manifests/images.yaml", SpanIndex::default(), os, SpanIndex::default());
    assert!(findings.is_empty());
    let names: Vec<&str> = fleet.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["centos-stream-9-amd64", "ubuntu-24.04-arm64v8"]);
    assert_eq!(fleet.tags(&fleet.variants[1], None).aliases, ["ubuntu-24.04-arm64-staging", "ubuntu-24.04-arm64"]);
}
