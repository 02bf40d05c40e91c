//! `imgctl import docker-tools` on the real dotnet-buildtools-prereqs fixture: the
//! imported manifest reproduces every real tag, parses each back to the OperatingSystemId
//! its platform implies, validates, and is byte for byte the shipped sample.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::support::{Sandbox, fixture, repo_root};

const FIXTURE: &str = "tests/fixtures/dotnet-buildtools-prereqs";

/// A real platform of the fixture: its tags and what its fields say.
struct RealPlatform {
    tags: Vec<String>,
    os: String,
    os_version: String,
    architecture: Option<String>,
    variant: Option<String>,
}

/// Every platform of the fixture, read straight from its JSON (variables substituted).
fn real_platforms() -> Vec<RealPlatform> {
    let root = fixture("dotnet-buildtools-prereqs");
    let read = |p: &Path| -> Value { serde_json::from_str(&std::fs::read_to_string(p).expect("read fixture")).expect("fixture JSON") };
    let top = read(&root.join("manifest.json"));
    let mut out = Vec::new();
    for inc in top["includes"].as_array().expect("includes") {
        let doc = read(&root.join(inc.as_str().expect("include path")));
        let vars = doc["variables"].as_object().cloned().unwrap_or_default();
        let subst = |s: &str| vars.iter().fold(s.to_string(), |acc, (k, v)| acc.replace(&format!("$({k})"), v.as_str().expect("string variable")));
        for repo in doc["repos"].as_array().expect("repos") {
            for image in repo["images"].as_array().expect("images") {
                for p in image["platforms"].as_array().expect("platforms") {
                    let s = |k: &str| p[k].as_str().map(str::to_string);
                    out.push(RealPlatform {
                        tags: p["tags"].as_object().expect("tags").keys().map(|t| subst(t)).collect(),
                        os: s("os").expect("os"),
                        os_version: s("osVersion").expect("osVersion"),
                        architecture: s("architecture"),
                        variant: s("variant"),
                    });
                }
            }
        }
    }
    out
}

/// The OperatingSystemId the docker-tools fields imply (the catalogue of docs/IMPORT.md,
/// written out independently of the importer).
fn expected_os(p: &RealPlatform) -> String {
    let codenames = [
        ("bionic", "Ubuntu", "18.04"),
        ("jammy", "Ubuntu", "22.04"),
        ("noble", "Ubuntu", "24.04"),
        ("resolute", "Ubuntu", "26.04"),
        ("bookworm", "Debian", "12"),
        ("trixie", "Debian", "13"),
        ("leap16.0", "openSUSE", "16.0"),
    ];
    let prefixes = [
        ("almalinux", "AlmaLinux"),
        ("alpine-", "Alpine"),
        ("alpine", "Alpine"),
        ("azurelinux", "AzureLinux"),
        ("centos-stream", "CentOSStream"),
        ("fedora-", "Fedora"),
        ("fedora", "Fedora"),
        ("nanoserver-", "NanoServer"),
        ("windowsservercore-", "WindowsServerCore"),
    ];
    let v = p.os_version.as_str();
    let (distro, version) = codenames
        .iter()
        .find(|c| c.0 == v)
        .map(|c| (c.1, c.2.to_string()))
        .or_else(|| prefixes.iter().find_map(|(pre, d)| v.strip_prefix(pre).map(|rest| (*d, rest.to_string()))))
        .unwrap_or_else(|| panic!("osVersion {v} not in the catalogue"));
    let family = if p.os == "windows" { "Windows" } else { "Linux" };
    let arch = match (p.architecture.as_deref().unwrap_or("amd64"), p.variant.as_deref()) {
        ("amd64", None) => "AMD64",
        ("arm64", _) => "ARM64",
        ("arm", Some("v7")) => "ARM32",
        other => panic!("unexpected architecture {other:?}"),
    };
    format!("{family}-{distro}-{version}-{arch}")
}

/// A sandbox holding the fixture at the same relative place as the repository, with
/// the import run there exactly as the shipped sample was made; returns its report.
fn imported() -> (Sandbox, Value) {
    let sb = Sandbox::new();
    imgctl_testkit::repo::copy_dir(&fixture("dotnet-buildtools-prereqs"), &sb.path().join(FIXTURE));
    let report = sb.run(&["--output", "json", "import", "docker-tools", &format!("{FIXTURE}/manifest.json"), "--out-dir", "."]).code(0).json();
    (sb, report)
}

#[test]
fn reports_what_it_imported_and_the_tizen_inconsistency() {
    let (_sb, report) = imported();
    assert_eq!(report["ok"], true);
    assert_eq!((report["platforms"].as_u64(), report["variants"].as_u64()), (Some(229), Some(229)));
    // every real tag but the 229 base tags, and the one shared tag
    assert_eq!(report["aliases"].as_u64(), Some(261 - 229 + 1));
    assert_eq!(report["written"], serde_json::json!(["manifests/images.yaml", "os-definitions/os-definitions.json"]));
    let findings = report["findings"].as_array().expect("findings");
    let mismatches: Vec<&Value> = findings.iter().filter(|f| f["code"] == "os-version-mismatch").collect();
    assert_eq!(mismatches.len(), 1, "{findings:#?}");
    let m = mismatches[0];
    assert_eq!(m["file"], format!("{FIXTURE}/src/ubuntu/manifest.json"));
    assert_eq!(m["severity"], "warning");
    let msg = m["message"].as_str().expect("message");
    assert!(msg.contains("ubuntu-22.04-cross-armel-tizen") && msg.contains("'bionic'") && msg.contains("imported as Ubuntu 22.04"), "{msg}");
    let shared: Vec<&Value> = findings.iter().filter(|f| f["message"].as_str().is_some_and(|s| s.contains("shared tag"))).collect();
    assert_eq!(shared.len(), 1, "{findings:#?}");
    assert_eq!(shared[0]["code"], "shared-tag", "mapped, not dropped: {findings:#?}");
    assert_eq!(shared[0]["line"], 23);
    assert!(findings.iter().all(|f| f["severity"] == "warning"), "{findings:#?}");
}

#[test]
fn tags_reproduce_every_real_tag() {
    let (sb, _) = imported();
    let listed = sb.run(&["--output", "json", "tags"]).code(0).json();
    let mut have = BTreeSet::new();
    for entry in listed.as_array().expect("tags document") {
        let t = &entry["tags"];
        have.insert(t["base"].as_str().expect("base").to_string());
        have.insert(t["channels"]["latest"].as_str().expect("latest channel").to_string());
        for a in t["aliases"].as_array().expect("aliases") {
            have.insert(a.as_str().expect("alias").to_string());
        }
    }
    let real: Vec<String> = real_platforms().into_iter().flat_map(|p| p.tags).collect();
    assert_eq!(real.len(), 261);
    // the shared tag (one name for the amd64 and arm64 platforms) is an alias of the amd64
    // variant, which builds both platforms into one index, as docker-tools did
    let testrunner = listed.as_array().unwrap().iter().find(|e| e["variant"] == "azurelinux-3.0-docker-testrunner-amd64").expect("testrunner");
    assert!(testrunner["tags"]["aliases"].as_array().unwrap().iter().any(|a| a == "azurelinux3.0-docker-testrunner"), "{testrunner:#}");
    assert!(have.contains("azurelinux3.0-docker-testrunner"));
    let plan_entry = sb.run(&["parse-tag", "azurelinux3.0-docker-testrunner", "--output", "json"]).code(0).json();
    assert_eq!(plan_entry[0]["variant"], "azurelinux-3.0-docker-testrunner-amd64", "{plan_entry:#}");
    let missing: Vec<&String> = real.iter().filter(|t| !have.contains(*t)).collect();
    assert!(missing.is_empty(), "tags not reproduced: {missing:?}");
    assert_eq!(listed.as_array().map(Vec::len), Some(229));
}

#[test]
fn parse_tag_reads_every_real_tag_back_to_its_platforms_os() {
    let (sb, _) = imported();
    let platforms = real_platforms();
    let mut expected: Vec<(String, String)> = Vec::new();
    for p in &platforms {
        let mut os = expected_os(p);
        // the one inconsistency of the source, reported by the import (see above):
        // osVersion says bionic, its tag, path and FROM say 22.04
        if p.tags == ["ubuntu-22.04-cross-armel-tizen"] {
            assert_eq!(os, "Linux-Ubuntu-18.04-AMD64");
            os = "Linux-Ubuntu-22.04-AMD64".to_string();
        }
        expected.extend(p.tags.iter().map(|t| (t.clone(), os.clone())));
    }
    assert_eq!(expected.len(), 261);
    let mut args = vec!["--output", "json", "parse-tag"];
    args.extend(expected.iter().map(|(t, _)| t.as_str()));
    let parsed = sb.run(&args).code(0).json();
    let parsed = parsed.as_array().expect("parse-tag document");
    assert_eq!(parsed.len(), expected.len());
    for (got, (tag, os)) in parsed.iter().zip(&expected) {
        assert_eq!(got["tag"], tag.as_str());
        assert_eq!(got["os"], os.as_str(), "{tag}: {got:#}");
        assert_eq!(got["channel"], "latest", "{tag}: {got:#}");
        assert!(got["kind"] == "channel" || got["kind"] == "alias", "{tag}: {got:#}");
    }
}

#[test]
fn the_imported_manifest_validates() {
    let (sb, _) = imported();
    let out = sb.run(&["--output", "json", "validate"]).code(0).json();
    assert_eq!((out["ok"].as_bool(), out["variants"].as_u64(), out["errors"].as_u64()), (Some(true), Some(229), Some(0)));
}

#[test]
fn the_shipped_sample_is_the_import_of_the_fixture() {
    let (sb, _) = imported();
    for file in ["manifests/images.yaml", "os-definitions/os-definitions.json"] {
        let shipped = std::fs::read_to_string(repo_root().join(file)).expect("read shipped sample");
        let fresh = std::fs::read_to_string(sb.path().join(file)).expect("read re-import");
        assert!(shipped == fresh, "{file} is stale: re-run `imgctl import docker-tools {FIXTURE}/manifest.json --out-dir . --force` at the repository root");
    }
}

#[test]
fn the_shipped_sample_validates_from_the_repository_root() {
    let sb = Sandbox::new();
    let out = sb.cmd().current_dir(repo_root()).args(["--output", "json", "validate"]).output().expect("run imgctl");
    let run = crate::support::Run::from(out);
    run.code(0);
    assert_eq!(run.json()["variants"].as_u64(), Some(229));
}

#[test]
fn an_unknown_os_version_fails_and_writes_nothing() {
    let sb = Sandbox::new();
    sb.write("dt/manifest.json", r#"{ "registry": "r.example", "includes": ["src/x/manifest.json"] }"#);
    sb.write("dt/src/x/manifest.json", "{ \"repos\": [ { \"name\": \"a/b\", \"images\": [ { \"platforms\": [\n  { \"dockerfile\": \"src/x\", \"os\": \"linux\", \"osVersion\": \"focal\", \"tags\": { \"ubuntu-20.04-amd64\": {} } } ] } ] } ] }\n");
    let run = sb.run(&["import", "docker-tools", "dt/manifest.json", "--out-dir", "out"]);
    run.code(1);
    assert!(run.stdout.contains("dt/src/x/manifest.json:2:") && run.stdout.contains("unknown osVersion 'focal'"), "{}", run.stdout);
    assert!(!sb.path().join("out").exists());
}

#[test]
fn json_syntax_errors_name_the_file_and_line() {
    let sb = Sandbox::new();
    sb.write("dt/manifest.json", r#"{ "registry": "r.example", "includes": ["a.json", "missing.json"] }"#);
    sb.write("dt/a.json", "{\n  \"repos\": [\n    ,\n  ]\n}\n");
    let run = sb.run(&["--output", "json", "import", "docker-tools", "dt/manifest.json", "--out-dir", "out"]);
    run.code(1);
    let findings = run.json()["findings"].as_array().cloned().expect("findings");
    let where_: Vec<(String, u64, String)> = findings
        .iter()
        .map(|f| (f["file"].as_str().unwrap_or_default().to_string(), f["line"].as_u64().unwrap_or(0), f["code"].as_str().unwrap_or_default().to_string()))
        .collect();
    assert!(where_.contains(&("dt/a.json".to_string(), 3, "syntax".to_string())), "{where_:?}");
    assert!(where_.iter().any(|(f, _, c)| f == "dt/manifest.json" && c == "missing-include"), "{where_:?}");
    assert!(!sb.path().join("out").exists());
    let run = sb.run(&["import", "docker-tools", "dt/nope.json", "--out-dir", "out"]);
    run.code(1);
    assert!(run.stderr.contains("dt/nope.json") && run.stderr.contains("no such file or directory"), "{}", run.stderr);
}

#[test]
fn import_refuses_to_overwrite_without_force_naming_the_files() {
    let sb = Sandbox::new();
    imgctl_testkit::repo::copy_dir(&fixture("dotnet-buildtools-prereqs"), &sb.path().join(FIXTURE));
    // a fleet scaffolded by init: its manifest is there
    sb.run(&["init", ".", "--repository", "acme/images"]).code(0);
    let before = std::fs::read_to_string(sb.path().join("manifests/images.yaml")).unwrap();
    let r = sb.run(&["import", "docker-tools", &format!("{FIXTURE}/manifest.json"), "--out-dir", "."]);
    r.code(1);
    assert!(r.stderr.contains("these files exist and were left alone (nothing was written; pass --force")
        && r.stderr.contains("manifests/images.yaml, os-definitions/os-definitions.json")
        && r.stderr.contains("imgctl init DIR --from-docker-tools"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(sb.path().join("manifests/images.yaml")).unwrap(), before, "nothing written");
    // only one of the two exists: still nothing written
    std::fs::remove_file(sb.path().join("os-definitions/os-definitions.json")).unwrap();
    let r = sb.run(&["import", "docker-tools", &format!("{FIXTURE}/manifest.json"), "--out-dir", "."]);
    r.code(1);
    assert!(r.stderr.contains("left alone") && !r.stderr.contains("os-definitions.json"), "{}", r.stderr);
    assert!(!sb.path().join("os-definitions/os-definitions.json").exists(), "nothing written");
    // --force overwrites and says so
    let doc = sb.run(&["--output", "json", "import", "docker-tools", &format!("{FIXTURE}/manifest.json"), "--out-dir", ".", "--force"]).code(0).json();
    assert_eq!(doc["overwritten"], serde_json::json!(["manifests/images.yaml"]));
    let human = sb.run(&["import", "docker-tools", &format!("{FIXTURE}/manifest.json"), "--out-dir", ".", "--force"]);
    assert!(human.code(0).stdout.contains("wrote manifests/images.yaml (overwritten)"), "{}", human.stdout);
}

#[test]
fn init_from_docker_tools_writes_a_readme_that_names_the_imported_channels() {
    let sb = Sandbox::new();
    let work = sb.path().join("dt");
    imgctl_testkit::repo::copy_dir(&fixture("dotnet-buildtools-prereqs"), &work);
    let out = sb.cmd().current_dir(&work).args(["init", ".", "--from-docker-tools", "manifest.json"]).output().unwrap();
    crate::support::Run::from(out).code(0);
    let readme = std::fs::read_to_string(work.join("README.md")).unwrap();
    assert!(readme.contains("- `latest` — `<variant>` (the base tag itself: the suffix is empty): moved by `promote` to what has been on `staging` for 3d (branch `production`)"), "{readme}");
    assert!(!readme.contains("-latest"), "the imported latest channel has no suffix: {readme}");
}
