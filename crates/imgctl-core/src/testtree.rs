//! Test helpers: an in-memory [`SourceTree`] and a small fleet whose variants build on
//! each other.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::fleet::Fleet;
use crate::load::{parse_manifest, parse_os_definitions};
use crate::source::{EntryKind, SourceTree};

/// Files in memory; a directory's tree id is a hash of every file under it.
#[derive(Debug, Clone, Default)]
pub struct MemTree {
    pub files: BTreeMap<String, String>,
}

impl MemTree {
    pub fn with(files: &[(&str, &str)]) -> MemTree {
        MemTree { files: files.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect() }
    }

    pub fn set(&mut self, path: &str, text: &str) {
        self.files.insert(path.to_string(), text.to_string());
    }

    fn under<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = (&'a String, &'a String)> + 'a {
        self.files.iter().filter(move |(p, _)| dir.is_empty() || dir == "." || p.starts_with(&format!("{dir}/")))
    }
}

impl SourceTree for MemTree {
    fn kind(&self, path: &str) -> Option<EntryKind> {
        if self.files.contains_key(path) {
            Some(EntryKind::File)
        } else if self.under(path).next().is_some() {
            Some(EntryKind::Dir)
        } else {
            None
        }
    }

    fn read(&self, path: &str) -> Option<String> {
        self.files.get(path).cloned()
    }

    fn tree_id(&self, dir: &str) -> Option<String> {
        self.filtered_tree_id(dir, &|_| true)
    }

    fn filtered_tree_id(&self, dir: &str, keep: &dyn Fn(&str) -> bool) -> Option<String> {
        let mut h = Sha256::new();
        let mut any = false;
        for (p, t) in self.under(dir) {
            any = true;
            let rel = if dir.is_empty() || dir == "." { p.as_str() } else { &p[dir.len() + 1..] };
            if keep(rel) {
                h.update(format!("{}:{p}{}:{t}", p.len(), t.len()).as_bytes());
            }
        }
        any.then(|| hex::encode(h.finalize())[..40].to_string())
    }
}

pub const OS_JSON: &str = r#"{ "definitions": [
  { "id": "Linux-Ubuntu-22.04-AMD64", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu", "version": "22.04", "arch": "AMD64" },
  { "id": "Linux-Ubuntu-22.04-ARM64", "family": "Linux", "distro": "Ubuntu", "slug": "ubuntu", "version": "22.04", "arch": "ARM64" } ] }"#;

/// `base` ← `mid` ← `leaf`, and `other` on its own (names: `ubuntu-22.04-{q}-amd64`).
pub const MANIFEST: &str = "version: 1
registry: ghcr.io
repository: acme/images
osDefinitions: os.json
tagSchema:
  arch: { AMD64: amd64, ARM64: arm64v8 }
  defaultArch: AMD64
channels:
  staging: { suffix: -staging }
  latest: { suffix: '' }
variants:
  - os: Linux-Ubuntu-22.04-AMD64
    qualifiers: [base]
    context: src/base
  - os: Linux-Ubuntu-22.04-AMD64
    qualifiers: [mid]
    context: src/mid
    aliases: [midway]
  - os: Linux-Ubuntu-22.04-AMD64
    qualifiers: [leaf]
    context: src/leaf
    buildArgs: { TAG: midway-staging }
  - os: Linux-Ubuntu-22.04-ARM64
    qualifiers: [other]
    context: src/other
";

pub fn files() -> MemTree {
    MemTree::with(&[
        ("src/base/Dockerfile", "FROM ubuntu:22.04\n"),
        ("src/base/setup.sh", "echo base\n"),
        ("src/mid/Dockerfile", "ARG REG=ghcr.io\n# the base image\nFROM --platform=linux/amd64 \\\n  ${REG}/acme/images:ubuntu-22.04-base-amd64-staging AS b\nFROM b\n"),
        ("src/leaf/Dockerfile", "ARG TAG=unused\nFROM acme/images:ubuntu-22.04-base-amd64-0123456789ab AS build\nFROM docker.io/acme/images:not-ours\nFROM ghcr.io/acme/images:${TAG}\nCOPY --from=build / /\n"),
        ("src/other/Dockerfile", "FROM alpine\n"),
    ])
}

pub fn fleet(manifest: &str) -> Fleet {
    let m = parse_manifest("images.yaml", manifest);
    assert!(m.findings.is_empty(), "{:?}", m.findings);
    let o = parse_os_definitions("os.json", OS_JSON);
    let (fleet, findings) = Fleet::new(m.value.expect("manifest"), "images.yaml", m.spans, o.value.expect("os"), o.spans);
    assert!(findings.is_empty(), "{findings:?}");
    fleet
}
