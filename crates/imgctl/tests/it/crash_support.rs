//! What the crash-consistency harness (`crash.rs`) works with: a 3-variant fleet (an alias,
//! a multi-arch index) whose primary and mirror are real registries behind counting proxies
//! that can hold one write; snapshots of both registries' storage to restore before every
//! kill; the real binary killed with SIGKILL at a held write or after a random delay; and the
//! registry's state read from the storage directory itself (tags → digests, the records and
//! lifecycle marks each `sha256-<hex>` referrers index lists), independent of imgctl's client.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use imgctl_testkit::{Proxy, TestRegistry, require_tool};
use serde_json::Value;

use crate::fleet::{Fleet, MULTI, REPO};
use crate::support::Run;

pub const MIRROR_REPO: &str = "mirror/build-images";
const WRITES: [&str; 4] = ["PUT", "POST", "PATCH", "DELETE"];

/// `2026-11-02T00:00:00Z` plus `hours`.
pub fn t(hours: i64) -> String {
    (chrono::DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z").unwrap() + chrono::TimeDelta::hours(hours)).to_rfc3339()
}

/// Write requests a proxy saw since its last reset.
pub fn writes(p: &Proxy) -> usize {
    p.events().iter().filter(|e| WRITES.contains(&e.method.as_str())).count()
}

/// The fleet, its primary behind `proxy`, the mirror registry behind `mirror_proxy`.
pub struct World {
    pub f: Fleet,
    pub proxy: Proxy,
    pub mirror: TestRegistry,
    pub mirror_proxy: Proxy,
    /// The manifest as the fleet wrote it (without records or mirrors).
    plain: String,
    config: (bool, bool),
    builds: u64,
}

/// A copy of both registries' storage.
pub struct Snapshot {
    _dir: tempfile::TempDir,
    primary: PathBuf,
    mirror: PathBuf,
}

/// Where a run is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kill {
    /// With the `n`th write request (1-based) to the primary (`mirror`: to the mirror) held.
    Write { mirror: bool, n: usize },
    /// After this long.
    After(Duration),
}

impl World {
    pub fn new() -> World {
        let reg = TestRegistry::start();
        let proxy = Proxy::start(&reg.host());
        let f = Fleet::with_host(reg, proxy.host(), "0s");
        let mirror = TestRegistry::start();
        let mirror_proxy = Proxy::start(&mirror.host());
        let plain = std::fs::read_to_string(f.sb.path().join("manifests/images.yaml")).expect("read the manifest");
        World { f, proxy, mirror, mirror_proxy, plain, config: (false, false), builds: 0 }
    }

    /// Turns records and the mirror on or off (a manifest commit when it changes).
    pub fn configure(&mut self, records: bool, mirror: bool) {
        if self.config == (records, mirror) {
            return;
        }
        let mut text = self.plain.clone();
        if records {
            text.push_str("records: { enabled: true }\n");
        }
        if mirror {
            text.push_str(&format!("mirrors:\n  - registry: \"{}\"\n    repository: {MIRROR_REPO}\n", self.mirror_proxy.host()));
        }
        self.f.edit_manifest(|_| text);
        self.config = (records, mirror);
    }

    fn cmd(&self, now: &str, args: &[&str]) -> Command {
        let insecure = format!("{},{}", self.proxy.host(), self.mirror_proxy.host());
        let mut c = self.f.sb.cmd();
        c.env("IMGCTL_NOW", now).env("IMGCTL_INSECURE_REGISTRIES", insecure).args(args);
        c
    }

    /// Runs imgctl to its end.
    pub fn run(&self, now: &str, args: &[&str]) -> Run {
        Run::from(self.cmd(now, args).output().expect("run imgctl"))
    }

    /// Publishes a new build of every variant (new sources first, except the first time).
    pub fn publish_all(&mut self, now: &str) -> Vec<String> {
        if self.builds > 0 {
            self.f.change_sources();
        }
        self.builds += 1;
        crate::fleet::VARIANTS
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let (dir, digest) = self.f.build(v, self.builds * 100 + i as u64);
                self.run(now, &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
                digest
            })
            .collect()
    }

    /// A layout of a new build of the multi-arch variant (after new sources).
    pub fn new_multi_build(&mut self) -> PathBuf {
        self.f.change_sources();
        self.builds += 1;
        self.f.build(MULTI, self.builds * 100 + 7).0
    }

    pub fn snapshot(&self) -> Snapshot {
        let dir = tempfile::tempdir().expect("snapshot dir");
        let (primary, mirror) = (dir.path().join("primary"), dir.path().join("mirror"));
        copy_tree(&self.f.reg.storage_root(), &primary);
        copy_tree(&self.mirror.storage_root(), &mirror);
        Snapshot { _dir: dir, primary, mirror }
    }

    /// Puts both registries back to `s` (distribution's filesystem driver keeps no cache).
    pub fn restore(&self, s: &Snapshot) {
        for (from, to) in [(&s.primary, self.f.reg.storage_root()), (&s.mirror, self.mirror.storage_root())] {
            std::fs::remove_dir_all(&to).expect("clear the storage");
            copy_tree(from, &to);
        }
    }

    /// Both registries' state.
    pub fn state(&self) -> (RepoState, RepoState) {
        (RepoState::read(&self.f.reg.storage_root(), REPO), RepoState::read(&self.mirror.storage_root(), MIRROR_REPO))
    }

    /// Write requests both proxies saw since their last reset.
    pub fn writes(&self) -> usize {
        writes(&self.proxy) + writes(&self.mirror_proxy)
    }

    pub fn reset_counts(&self) {
        self.proxy.reset();
        self.mirror_proxy.reset();
    }

    /// Runs imgctl and kills it (SIGKILL) at `kill`; true when it was killed (false: it
    /// finished before reaching the kill point).
    pub fn killed(&self, now: &str, args: &[&str], kill: Kill) -> bool {
        let mut cmd = self.cmd(now, args);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        match kill {
            Kill::Write { mirror, n } => {
                let p = if mirror { &self.mirror_proxy } else { &self.proxy };
                p.stall_write(n);
                let mut child = cmd.spawn().expect("start imgctl");
                let held = p.wait_stalled(Duration::from_secs(120), || exited(&mut child));
                let killed = held && kill_now(&mut child);
                let _ = child.wait();
                p.release_stall();
                killed
            }
            Kill::After(d) => {
                let mut child = cmd.spawn().expect("start imgctl");
                let end = Instant::now() + d;
                while Instant::now() < end && !exited(&mut child) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                let killed = kill_now(&mut child);
                let _ = child.wait();
                killed
            }
        }
    }
}

fn exited(child: &mut Child) -> bool {
    child.try_wait().ok().flatten().is_some()
}

/// SIGKILL unless it has exited already; true when it was killed.
fn kill_now(child: &mut Child) -> bool {
    !exited(child) && child.kill().is_ok()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    let out = Command::new("cp").arg("-a").arg(format!("{}/.", from.display())).arg(to).output().expect("run cp");
    assert!(out.status.success(), "cp -a {}: {}", from.display(), String::from_utf8_lossy(&out.stderr));
}

/// One repository as the registry's storage holds it: every tag but the `sha256-<hex>`
/// referrers indexes with its digest, and per referrers index what it lists (records by
/// variant, channel, kind and move time; lifecycle marks by date; an entry whose artifact
/// is gone is `missing`). Index and record digests are left out: a record a later run
/// attached says so in its reason, so its bytes differ from the clean run's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoState {
    pub tags: BTreeMap<String, String>,
    pub records: BTreeMap<String, Vec<String>>,
}

fn v2(root: &Path) -> PathBuf {
    root.join("docker/registry/v2")
}

fn blob(root: &Path, digest: &str) -> Option<Vec<u8>> {
    let hex = digest.strip_prefix("sha256:")?;
    std::fs::read(v2(root).join(format!("blobs/sha256/{}/{hex}/data", &hex[..2]))).ok()
}

/// Digests whose manifest the repository holds (revision links).
pub fn manifests(root: &Path, repo: &str) -> BTreeSet<String> {
    let dir = v2(root).join(format!("repositories/{repo}/_manifests/revisions/sha256"));
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeSet::new() };
    entries.filter_map(|e| e.ok()).filter(|e| e.path().join("link").exists()).map(|e| format!("sha256:{}", e.file_name().to_string_lossy())).collect()
}

impl RepoState {
    pub fn read(root: &Path, repo: &str) -> RepoState {
        let mut s = RepoState::default();
        let held = manifests(root, repo);
        let Ok(entries) = std::fs::read_dir(v2(root).join(format!("repositories/{repo}/_manifests/tags"))) else { return s };
        for e in entries.filter_map(|e| e.ok()) {
            let tag = e.file_name().to_string_lossy().into_owned();
            let Ok(link) = std::fs::read_to_string(e.path().join("current/link")) else { continue };
            let digest = link.trim().to_string();
            if !held.contains(&digest) {
                continue;
            }
            if tag.starts_with("sha256-") && tag.len() == 71 {
                let index: Value = blob(root, &digest).and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
                let mut list: Vec<String> = index["manifests"].as_array().cloned().unwrap_or_default().iter().map(|m| entry(m, &held)).collect();
                list.sort();
                s.records.insert(tag, list);
            } else {
                s.tags.insert(tag, digest);
            }
        }
        s
    }

    /// Differences from `want`, for a failure message.
    pub fn diff(&self, want: &RepoState) -> String {
        let mut out = Vec::new();
        for (t, d) in &want.tags {
            match self.tags.get(t) {
                None => out.push(format!("missing tag {t} ({d})")),
                Some(x) if x != d => out.push(format!("tag {t} at {x}, clean run: {d}")),
                _ => {}
            }
        }
        out.extend(self.tags.keys().filter(|t| !want.tags.contains_key(*t)).map(|t| format!("extra tag {t}")));
        for (t, l) in &want.records {
            if self.records.get(t) != Some(l) {
                out.push(format!("referrers {t}: {:?}, clean run: {l:?}", self.records.get(t)));
            }
        }
        out.extend(self.records.keys().filter(|t| !want.records.contains_key(*t)).map(|t| format!("extra referrers index {t}: {:?}", self.records[t])));
        out.join("\n")
    }
}

fn entry(m: &Value, held: &BTreeSet<String>) -> String {
    let a = &m["annotations"];
    let s = |k: &str| a[k].as_str().unwrap_or("-").to_string();
    let what = if m["artifactType"] == "application/vnd.microsoft.artifact.lifecycle" {
        format!("eol {}", s("vnd.microsoft.artifact.lifecycle.end-of-life.date"))
    } else {
        format!("record {} {} {} {}", s("dev.imgctl.variant"), s("dev.imgctl.channel"), s("dev.imgctl.kind"), s("org.opencontainers.image.created"))
    };
    match m["digest"].as_str() {
        Some(d) if held.contains(d) => what,
        _ => format!("missing {what}"),
    }
}

/// skopeo's view of `repo` on `host` (tags, and the digest of each channel tag), which must
/// agree with the storage's: the harness's reading checked by an independent client.
pub fn cross_check(host: &str, repo: &str, state: &RepoState) {
    use sha2::Digest;
    let skopeo = require_tool("skopeo", "skopeo");
    let out = Command::new(&skopeo).args(["list-tags", "--tls-verify=false", &format!("docker://{host}/{repo}")]).output().expect("run skopeo");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed: BTreeSet<String> = doc["Tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
    let mine: BTreeSet<String> = state.tags.keys().chain(state.records.keys()).cloned().collect();
    assert_eq!(listed, mine, "skopeo list-tags and the storage disagree");
    for (tag, digest) in state.tags.iter().filter(|(t, _)| t.ends_with("-latest")) {
        let raw = Command::new(&skopeo).args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{host}/{repo}:{tag}")]).output().expect("run skopeo");
        assert!(raw.status.success(), "{}", String::from_utf8_lossy(&raw.stderr));
        assert_eq!(&format!("sha256:{}", hex::encode(sha2::Sha256::digest(&raw.stdout))), digest, "{tag}");
    }
}
