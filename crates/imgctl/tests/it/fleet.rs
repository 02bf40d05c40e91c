//! A small fleet in a git repository, wired to a real test registry: the setting of
//! the rollout tests (publish, promote, rollback, status, history, gc).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use imgctl_testkit::images::{Flavor, TestImage, TestIndex, image, index};
use imgctl_testkit::{TestRegistry, layout, require_tool};
use sha2::Digest;

use crate::support::{Run, Sandbox};

pub const SINGLE: &str = "ubuntu-22.04-helix-amd64";
pub const ARM: &str = "ubuntu-22.04-helix-arm64v8";
pub const MULTI: &str = "ubuntu-22.04-multi-amd64";
pub const VARIANTS: [&str; 3] = [SINGLE, ARM, MULTI];
pub const REPO: &str = "acme/build-images";

const OS: &str = r#"{ "definitions": [
  { "id": "Linux-Ubuntu-22.04-AMD64", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu", "version": "22.04", "arch": "AMD64", "eol": "2027-06-01" },
  { "id": "Linux-Ubuntu-22.04-ARM64", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu", "version": "22.04", "arch": "ARM64", "eol": "2027-06-01" } ] }
"#;

/// The three variants of the standard test fleet (one with an alias, one multi-arch).
const THREE: &str = "  - os: Linux-Ubuntu-22.04-AMD64\n    qualifiers: [helix]\n    context: ../src/helix\n    aliases: [ubuntu-22.04-helix]\n  - os: Linux-Ubuntu-22.04-ARM64\n    qualifiers: [helix]\n    context: ../src/helix\n    platforms: [linux/arm64]\n  - os: Linux-Ubuntu-22.04-AMD64\n    qualifiers: [multi]\n    context: ../src/multi\n    platforms: [linux/amd64, linux/arm64]\n";

/// A git repository holding a 3-variant manifest, plus the registry it publishes to.
pub struct Fleet {
    pub sb: Sandbox,
    pub reg: TestRegistry,
    /// The host imgctl talks to (the registry, or a proxy in front of it).
    pub host: String,
    builds: u64,
}

pub use imgctl_testkit::repo::git;

impl Fleet {
    /// A fleet whose `latest` channel soaks for `soak`, published to a fresh registry.
    pub fn new(soak: &str) -> Fleet {
        let reg = TestRegistry::start();
        let host = reg.host();
        Fleet::with_host(reg, host, soak)
    }

    /// Like [`Fleet::new`], talking to `host` (e.g. a proxy in front of `reg`).
    pub fn with_host(reg: TestRegistry, host: String, soak: &str) -> Fleet {
        Fleet::with_variants(reg, host, soak, THREE)
    }

    /// A fleet of `n` AMD64 variants `ubuntu-22.04-helix-vK-amd64` sharing one context.
    pub fn many(soak: &str, n: usize) -> Fleet {
        let reg = TestRegistry::start();
        let host = reg.host();
        Fleet::many_with_host(reg, host, soak, n)
    }

    /// [`Fleet::many`] talking to `host` (e.g. a proxy in front of `reg`).
    pub fn many_with_host(reg: TestRegistry, host: String, soak: &str, n: usize) -> Fleet {
        let variants: String = (0..n).map(|k| format!("  - os: Linux-Ubuntu-22.04-AMD64\n    qualifiers: [helix, v{k}]\n    context: ../src/helix\n")).collect();
        Fleet::with_variants(reg, host, soak, &variants)
    }

    fn with_variants(reg: TestRegistry, host: String, soak: &str, variants: &str) -> Fleet {
        let sb = Sandbox::new();
        sb.write("os-definitions/os-definitions.json", OS);
        sb.write(
            "manifests/images.yaml",
            &format!(
                "version: 1\nregistry: \"{host}\"\nrepository: {REPO}\nosDefinitions: ../os-definitions/os-definitions.json\ntagSchema:\n  arch: {{ AMD64: amd64, ARM64: arm64v8 }}\n  defaultArch: AMD64\nchannels:\n  staging: {{ suffix: \"-staging\", branch: main }}\n  latest: {{ suffix: \"-latest\", branch: production, newVariants: soak, promotesFrom: staging, soak: {soak} }}\nvariants:\n{variants}"
            ),
        );
        sb.write("src/helix/Dockerfile", "FROM ubuntu:22.04\nRUN echo build 0\n");
        sb.write("src/multi/Dockerfile", "FROM ubuntu:22.04\nRUN echo multi 0\n");
        git(sb.path(), &["init", "-q"]);
        git(sb.path(), &["add", "-A"]);
        git(sb.path(), &["commit", "-qm", "initial fleet"]);
        git(sb.path(), &["branch", "production"]);
        Fleet { sb, reg, host, builds: 0 }
    }

    /// Rewrites the manifest with `edit`, commits on `main` and fast-forwards `production`.
    pub fn edit_manifest(&self, edit: impl FnOnce(String) -> String) {
        let path = self.sb.path().join("manifests/images.yaml");
        let text = edit(std::fs::read_to_string(&path).expect("read the manifest"));
        std::fs::write(&path, text).expect("write the manifest");
        git(self.sb.path(), &["commit", "-qam", "edit the manifest"]);
        git(self.sb.path(), &["branch", "-f", "production", "HEAD"]);
    }

    /// Changes every variant's source on `main`, commits, and fast-forwards `production`.
    pub fn change_sources(&mut self) {
        self.builds += 1;
        let n = self.builds;
        self.sb.write("src/helix/Dockerfile", &format!("FROM ubuntu:22.04\nRUN echo build {n}\n"));
        self.sb.write("src/multi/Dockerfile", &format!("FROM ubuntu:22.04\nRUN echo multi {n}\n"));
        git(self.sb.path(), &["commit", "-qam", &format!("build {n}")]);
        git(self.sb.path(), &["branch", "-f", "production", "HEAD"]);
    }

    /// Writes an OCI layout for `variant` (seeded, so each build differs) and returns it
    /// with the digest of its top manifest.
    pub fn build(&self, variant: &str, seed: u64) -> (PathBuf, String) {
        let dir = self.sb.path().join(format!("out/{variant}-{seed}"));
        std::fs::create_dir_all(&dir).expect("mkdir layout");
        let digest = if variant == MULTI {
            let idx: TestIndex = index(vec![image(Flavor::Oci, "amd64", 2, seed), image(Flavor::Oci, "arm64", 2, seed + 1000)]);
            layout::write_index(&dir, &idx);
            idx.manifest.digest
        } else {
            let arch = if variant == ARM { "arm64" } else { "amd64" };
            let img: TestImage = image(Flavor::Oci, arch, 2, seed);
            layout::write_image(&dir, &img);
            img.manifest.digest
        };
        (dir, digest)
    }

    /// Runs imgctl at time `now` (RFC 3339) with the registry marked insecure.
    pub fn at(&self, now: &str, args: &[&str]) -> Run {
        let out = self.sb.cmd().env("IMGCTL_NOW", now).env("IMGCTL_INSECURE_REGISTRIES", &self.host).args(args).output().expect("run imgctl");
        Run::from(out)
    }

    /// The digest `tag` points at, as `skopeo` (an independent client) sees it.
    pub fn skopeo_digest(&self, tag: &str) -> Option<String> {
        let skopeo = require_tool("skopeo", "skopeo");
        let out = Command::new(skopeo)
            .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{}/{REPO}:{tag}", self.reg.host())])
            .output()
            .expect("run skopeo");
        out.status.success().then(|| format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout))))
    }
}

/// `results[i]` of a JSON report, by variant.
pub fn result_of<'a>(doc: &'a serde_json::Value, variant: &str) -> &'a serde_json::Value {
    doc["results"].as_array().expect("results").iter().find(|r| r["variant"] == variant).unwrap_or_else(|| panic!("no result for {variant} in {doc:#}"))
}
