//! Syndication to mirrors (issue 16) against three real registries on loopback (the
//! primary, an anonymous mirror behind the counting/faulting proxy, an htpasswd mirror):
//! publish, promote and rollback leave identical digests and tags everywhere (skopeo); a
//! mirror switched off mid-run fails only its rows and a re-run repairs it; drift made by
//! hand with skopeo is reported by `status` and repaired by `promote`.

use std::collections::BTreeSet;
use std::process::Command;

use imgctl_testkit::{Fault, FaultPlan, PathKind, Proxy, TestRegistry, require_tool};

use crate::fleet::{ARM, Fleet, MULTI, REPO, SINGLE, VARIANTS};
use crate::support::{Run, TEST_PASSWORD};

const USER: &str = "ci-bot";
const MIRROR_REPO: &str = "mirror/build-images";

fn t(hours: i64) -> String {
    (chrono::DateTime::parse_from_rfc3339("2026-11-02T09:00:00Z").unwrap() + chrono::TimeDelta::hours(hours)).to_rfc3339()
}

/// A fleet with two mirrors: `a` (reached through `proxy`) and the htpasswd `b`.
pub struct Mirrored {
    pub f: Fleet,
    pub a: TestRegistry,
    pub proxy: Proxy,
    pub b: TestRegistry,
}

impl Mirrored {
    pub fn new(f: Fleet) -> Mirrored {
        let a = TestRegistry::start();
        let proxy = Proxy::start(&a.host());
        let b = TestRegistry::start_with_htpasswd(USER, TEST_PASSWORD);
        let auth = crate::inspect::b64(format!("{USER}:{TEST_PASSWORD}").as_bytes());
        f.sb.write("home/.docker/config.json", &format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, b.host()));
        f.edit_manifest(|text| {
            text + &format!("mirrors:\n  - registry: \"{}\"\n    repository: {MIRROR_REPO}\n  - registry: \"{}\"\n    repository: {MIRROR_REPO}\n    registryKind: distribution\n", proxy.host(), b.host())
        });
        Mirrored { f, a, proxy, b }
    }

    /// Runs imgctl at `now` with all three registries marked insecure.
    pub fn at(&self, now: &str, args: &[&str]) -> Run {
        let insecure = format!("{},{},{}", self.f.host, self.proxy.host(), self.b.host());
        let out = self.f.sb.cmd().env("IMGCTL_NOW", now).env("IMGCTL_INSECURE_REGISTRIES", insecure).args(args).output().expect("run imgctl");
        Run::from(out)
    }

    /// (host, repository, skopeo credentials) of the primary and both mirrors.
    fn places(&self) -> [(String, &'static str, Option<String>); 3] {
        [(self.f.reg.host(), REPO, None), (self.a.host(), MIRROR_REPO, None), (self.b.host(), MIRROR_REPO, Some(format!("{USER}:{TEST_PASSWORD}")))]
    }

    /// The digest of `tag` in each place, as skopeo sees it.
    pub fn digests(&self, tag: &str) -> Vec<Option<String>> {
        self.places().iter().map(|(h, r, c)| skopeo_digest(h, r, c.as_deref(), tag)).collect()
    }

    /// Asserts `tag` is at `digest` in all three places.
    #[track_caller]
    pub fn everywhere(&self, tag: &str, digest: &str) {
        assert_eq!(self.digests(tag), vec![Some(digest.to_string()); 3], "{tag}");
    }

    /// The tags of each place.
    fn tags(&self) -> Vec<BTreeSet<String>> {
        self.places().iter().map(|(h, r, c)| skopeo_tags(h, r, c.as_deref())).collect()
    }
}

fn skopeo(args: &[&str], creds: Option<&str>) -> std::process::Output {
    let mut c = Command::new(require_tool("skopeo", "skopeo"));
    c.args(args);
    if let Some(cr) = creds {
        c.args(["--creds", cr]);
    }
    c.output().expect("run skopeo")
}

fn skopeo_digest(host: &str, repo: &str, creds: Option<&str>, tag: &str) -> Option<String> {
    use sha2::Digest;
    let out = skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{host}/{repo}:{tag}")], creds);
    out.status.success().then(|| format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout))))
}

fn skopeo_tags(host: &str, repo: &str, creds: Option<&str>) -> BTreeSet<String> {
    let out = skopeo(&["list-tags", "--tls-verify=false", &format!("docker://{host}/{repo}")], creds);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["Tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect()
}

/// The rows of `variant`: the primary's and one per mirror.
fn rows<'a>(doc: &'a serde_json::Value, variant: &str) -> Vec<&'a serde_json::Value> {
    doc["results"].as_array().unwrap().iter().filter(|r| r["variant"] == variant).collect()
}

#[test]
fn publish_promote_and_rollback_leave_identical_digests_on_the_primary_and_both_mirrors() {
    let mut m = Mirrored::new(Fleet::new("0s"));
    let mut first = Vec::new();
    for (i, v) in VARIANTS.iter().enumerate() {
        let (dir, d) = m.f.build(v, 80 + i as u64);
        let doc = m.at(&t(0), &["publish", v, "--image", dir.to_str().unwrap(), "--output", "json"]).code(0).json();
        let r = rows(&doc, v);
        assert_eq!(r.len(), 3, "{doc:#}");
        assert!(r.iter().all(|r| r["action"] == "moved" && r["to"] == d.as_str()), "{doc:#}");
        assert_eq!(r[1]["mirror"], format!("{}/{MIRROR_REPO}", m.proxy.host()));
        assert_eq!(r[2]["mirror"], format!("{}/{MIRROR_REPO}", m.b.host()));
        m.everywhere(&format!("{v}-staging"), &d);
        first.push(d);
    }
    // republishing moves nothing anywhere and uploads nothing
    let (dir, _) = m.f.build(SINGLE, 80);
    let doc = m.at(&t(1), &["publish", SINGLE, "--image", dir.to_str().unwrap(), "--output", "json"]).code(0).json();
    assert!(rows(&doc, SINGLE).iter().all(|r| r["action"] == "unchanged" && r["uploadedBytes"] == 0), "{doc:#}");

    let doc = m.at(&t(2), &["promote", "--output", "json"]).code(0).json();
    for (v, d) in VARIANTS.iter().zip(&first) {
        assert!(rows(&doc, v).iter().all(|r| r["action"] == "moved"), "{doc:#}");
        m.everywhere(&format!("{v}-latest"), d);
    }
    m.everywhere("ubuntu-22.04-helix-latest", &first[0]);

    // build 2, promoted, then rolled back: the mirrors follow every move
    m.f.change_sources();
    let mut second = Vec::new();
    for (i, v) in VARIANTS.iter().enumerate() {
        let (dir, d) = m.f.build(v, 90 + i as u64);
        m.at(&t(3), &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
        second.push(d);
    }
    m.at(&t(4), &["promote"]).code(0);
    for (v, d) in VARIANTS.iter().zip(&second) {
        m.everywhere(&format!("{v}-latest"), d);
    }
    let doc = m.at(&t(5), &["rollback", MULTI, "--output", "json"]).code(0).json();
    assert!(rows(&doc, MULTI).iter().all(|r| r["action"] == "moved" && r["to"] == first[2].as_str()), "{doc:#}");
    m.everywhere(&format!("{MULTI}-latest"), &first[2]);
    // the same tags (channels, immutable, release tags with the rollback's) in all three
    let tags = m.tags();
    assert_eq!(tags[0], tags[1]);
    assert_eq!(tags[0], tags[2]);
    assert!(tags[0].iter().any(|t| t.starts_with(&format!("{MULTI}-latest-20261102140000-"))), "{tags:?}");
    // history and status read the primary; no drift
    let status = m.at(&t(6), &["status", "--output", "json"]).code(0).json();
    assert!(status["variants"].as_array().unwrap().iter().all(|v| v.get("drift").is_none()), "{status:#}");
    let human = m.at(&t(6), &["status", SINGLE]);
    assert!(human.code(0).stdout.contains("mirrors: 2 in step"), "{}", human.stdout);
}

#[test]
fn a_mirror_switched_off_mid_run_fails_only_its_rows_and_a_rerun_repairs_it() {
    const N: usize = 12;
    let m = Mirrored::new(Fleet::many("0s", N));
    let names: Vec<String> = (0..N).map(|k| format!("ubuntu-22.04-helix-v{k}-amd64")).collect();
    let mut digests = Vec::new();
    for (k, v) in names.iter().enumerate() {
        let (dir, d) = m.f.build("any", 500 + k as u64);
        m.at(&t(0), &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
        digests.push(d);
    }
    // the proxy starts refusing mirror a's connections once the promote is under way
    m.proxy.reset();
    let run = std::thread::scope(|s| {
        let h = s.spawn(|| m.at(&t(1), &["promote", "--output", "json"]));
        while m.proxy.counts().get("PUT", PathKind::Manifest) < 3 && !h.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        m.proxy.set_faults(FaultPlan::always(Fault::Drop));
        h.join().unwrap()
    });
    let doc = run.code(1).json();
    let a = format!("{}/{MIRROR_REPO}", m.proxy.host());
    let failed: Vec<&serde_json::Value> = doc["results"].as_array().unwrap().iter().filter(|r| r["action"] == "failed").collect();
    assert!(!failed.is_empty(), "{doc:#}");
    assert!(failed.iter().all(|r| r["mirror"] == a.as_str()), "only mirror a's rows fail: {doc:#}");
    for (v, d) in names.iter().zip(&digests) {
        let r = rows(&doc, v);
        assert_eq!(r[0]["action"], "moved", "the primary is never blocked: {doc:#}");
        assert_eq!(r[2]["action"], "moved", "mirror b is not blocked: {doc:#}");
        assert_eq!(skopeo_digest(&m.f.reg.host(), REPO, None, &format!("{v}-latest")).as_deref(), Some(d.as_str()));
    }
    // a's back: the re-run repairs what it missed and moves nothing else
    m.proxy.clear_faults();
    let doc = m.at(&t(2), &["promote", "--output", "json"]).code(0).json();
    for (v, d) in names.iter().zip(&digests) {
        let r = rows(&doc, v);
        assert_eq!(r[0]["action"], "unchanged", "{doc:#}");
        assert_eq!(r[2]["action"], "unchanged", "{doc:#}");
        m.everywhere(&format!("{v}-latest"), d);
    }
    assert!(doc["results"].as_array().unwrap().iter().any(|r| r["mirror"] == a.as_str() && r["action"] == "moved"), "{doc:#}");
    let tags = m.tags();
    assert_eq!(tags[0], tags[1], "release tags repaired too");
    // a third run has nothing to do
    let doc = m.at(&t(3), &["promote", "--output", "json"]).code(0).json();
    assert!(doc["results"].as_array().unwrap().iter().all(|r| r["action"] == "unchanged"), "{doc:#}");
}

#[test]
fn drift_made_by_hand_is_reported_by_status_and_repaired_by_promote() {
    let m = Mirrored::new(Fleet::new("0s"));
    let mut built = Vec::new();
    for (i, v) in [SINGLE, ARM].iter().enumerate() {
        let (dir, d) = m.f.build(v, 95 + i as u64);
        m.at(&t(0), &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
        built.push(d);
    }
    m.at(&t(1), &["promote", "--variant", SINGLE, "--variant", ARM]).code(0);
    // someone copies ARM's build onto mirror b's SINGLE-latest
    let creds = format!("{USER}:{TEST_PASSWORD}");
    let out = Command::new(require_tool("skopeo", "skopeo"))
        .args(["copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--dest-creds", &creds])
        .arg(format!("docker://{}/{REPO}:{ARM}-latest", m.f.reg.host()))
        .arg(format!("docker://{}/{MIRROR_REPO}:{SINGLE}-latest", m.b.host()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let drifted = skopeo_digest(&m.b.host(), MIRROR_REPO, Some(&creds), &format!("{SINGLE}-latest")).unwrap();
    assert_ne!(drifted, built[0]);

    let status = m.at(&t(2), &["status", SINGLE, "--output", "json"]).code(0).json();
    let drift = &status["variants"][0]["drift"];
    assert_eq!(drift.as_array().unwrap().len(), 1, "{status:#}");
    assert_eq!(drift[0]["mirror"], format!("{}/{MIRROR_REPO}", m.b.host()));
    assert_eq!(drift[0]["channel"], "latest");
    assert_eq!(drift[0]["digest"], drifted.as_str());
    assert_eq!(drift[0]["expected"], built[0].as_str());
    let human = m.at(&t(2), &["status", SINGLE]);
    assert!(human.code(0).stdout.contains(&format!("drift: {}/{MIRROR_REPO} latest: {}", m.b.host(), &drifted[..19])), "{}", human.stdout);

    let dry = m.at(&t(3), &["promote", "--dry-run"]);
    dry.code(0);
    assert!(dry.stdout.contains(&format!("latest @ {}/{MIRROR_REPO}", m.b.host())) && dry.stdout.contains("dry run: would repair drift"), "{}", dry.stdout);
    let doc = m.at(&t(3), &["promote", "--output", "json"]).code(0).json();
    let r = rows(&doc, SINGLE);
    assert_eq!(r[0]["action"], "unchanged", "{doc:#}");
    assert_eq!(r[1]["action"], "unchanged", "{doc:#}");
    assert_eq!(r[2]["action"], "moved", "{doc:#}");
    assert!(r[2]["reason"].as_str().unwrap().starts_with("repaired drift"), "{doc:#}");
    m.everywhere(&format!("{SINGLE}-latest"), &built[0]);
    let status = m.at(&t(4), &["status", SINGLE, "--output", "json"]).code(0).json();
    assert!(status["variants"][0].get("drift").is_none(), "{status:#}");
}

#[test]
fn a_mirror_added_later_gets_the_content_streamed_or_mounted_and_its_digests_are_identical() {
    let f = Fleet::new("0s");
    let mut built = Vec::new();
    for (i, v) in VARIANTS.iter().enumerate() {
        let (dir, d) = f.build(v, 110 + i as u64);
        f.at(&t(0), &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
        built.push(d);
    }
    // now two mirrors: another registry, and another repository of the primary's registry
    let other = TestRegistry::start();
    f.edit_manifest(|text| text + &format!("mirrors:\n  - registry: \"{}\"\n    repository: {MIRROR_REPO}\n  - registry: \"{}\"\n    repository: same/build-images\n", other.host(), f.host));
    let insecure = format!("{},{}", f.host, other.host());
    let run = |now: &str, args: &[&str]| Run::from(f.sb.cmd().env("IMGCTL_NOW", now).env("IMGCTL_INSECURE_REGISTRIES", &insecure).args(args).output().unwrap());

    let doc = run(&t(1), &["promote", "--output", "json"]).code(0).json();
    for (v, d) in VARIANTS.iter().zip(&built) {
        let r = rows(&doc, v);
        assert!(r.iter().all(|r| r["action"] == "moved"), "{doc:#}");
        assert!(r[1]["uploadedBytes"].as_u64().unwrap() > 0, "streamed from the primary: {doc:#}");
        assert!(r[2].get("uploadedBytes").is_none(), "mounted, nothing uploaded: {doc:#}");
        let tag = format!("{v}-latest");
        assert_eq!(skopeo_digest(&other.host(), MIRROR_REPO, None, &tag).as_deref(), Some(d.as_str()));
        assert_eq!(skopeo_digest(&f.reg.host(), "same/build-images", None, &tag).as_deref(), Some(d.as_str()));
    }
    // the index's children came along: an arm64 child is there by digest
    let out = skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{}/{MIRROR_REPO}:{MULTI}-latest", other.host())], None);
    let index: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for child in index["manifests"].as_array().unwrap() {
        let d = child["digest"].as_str().unwrap();
        assert!(skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{}/{MIRROR_REPO}@{d}", other.host())], None).status.success(), "{d}");
    }
    // promote follows the channel it moves; staging is reported as drift until the next publish
    let status = run(&t(2), &["status", SINGLE, "--output", "json"]).code(0).json();
    let drift = status["variants"][0]["drift"].as_array().unwrap().clone();
    assert_eq!(drift.len(), 2, "{status:#}");
    assert!(drift.iter().all(|d| d["channel"] == "staging" && d.get("digest").is_none() && d["expected"] == built[0].as_str()), "{status:#}");
    let (dir, _) = f.build(SINGLE, 110);
    let doc = run(&t(3), &["publish", SINGLE, "--image", dir.to_str().unwrap(), "--output", "json"]).code(0).json();
    assert_eq!(rows(&doc, SINGLE)[1]["action"], "moved", "{doc:#}");
    let status = run(&t(4), &["status", SINGLE, "--output", "json"]).code(0).json();
    assert!(status["variants"][0].get("drift").is_none(), "{status:#}");
}

#[test]
fn requests_per_variant_per_mirror_as_counted_at_the_proxy() {
    const N: u64 = 10;
    let m = Mirrored::new(Fleet::many("0s", N as usize));
    let names: Vec<String> = (0..N).map(|k| format!("ubuntu-22.04-helix-v{k}-amd64")).collect();
    m.proxy.reset();
    for (k, v) in names.iter().enumerate() {
        let (dir, _) = m.f.build("any", 700 + k as u64);
        m.at(&t(0), &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
    }
    let publish = m.proxy.counts();
    m.proxy.reset();
    m.at(&t(1), &["promote"]).code(0);
    let promote = m.proxy.counts();
    m.proxy.reset();
    m.at(&t(2), &["status"]).code(0);
    let status = m.proxy.counts();
    m.proxy.reset();
    m.at(&t(3), &["promote"]).code(0);
    let again = m.proxy.counts();
    let per = |c: &imgctl_testkit::Counts, k: PathKind| c.kind(k) as f64 / N as f64;
    eprintln!(
        "requests per variant at one mirror: publish {:.1} manifest + {:.1} blob + {:.1} listing; promote {:.1} manifest + {:.1} listing; status {:.1} manifest; promote again {:.1} manifest",
        per(&publish, PathKind::Manifest),
        publish.blobs() as f64 / N as f64,
        per(&publish, PathKind::TagsList),
        per(&promote, PathKind::Manifest),
        per(&promote, PathKind::TagsList),
        per(&status, PathKind::Manifest),
        per(&again, PathKind::Manifest),
    );
    // publish on a mirror: HEAD + PUT immutable, HEAD channel, PUT channel, HEAD verify, PUT release
    assert_eq!(publish.kind(PathKind::Manifest), 6 * N, "{publish:?}");
    // promote on a mirror: HEAD channel, HEAD by digest, PUT channel, HEAD verify, PUT release
    assert_eq!(promote.kind(PathKind::Manifest), 5 * N, "{promote:?}");
    assert_eq!(promote.blobs(), 0, "no layer moves on a promote: {promote:?}");
    assert_eq!(promote.kind(PathKind::TagsList), 0, "nothing to list when every channel moves: {promote:?}");
    // status: a HEAD per channel; an idempotent re-run: a HEAD per variant plus one listing
    assert_eq!(status.kind(PathKind::Manifest), 2 * N, "{status:?}");
    assert_eq!(again.kind(PathKind::Manifest), N, "{again:?}");
    assert_eq!(again.get("PUT", PathKind::Manifest), 0, "no redundant PUTs: {again:?}");
    assert_eq!(again.kind(PathKind::TagsList), 1, "{again:?}");
}

#[test]
fn validate_rejects_an_unknown_registry_kind_and_a_mirror_that_is_the_primary() {
    let f = Fleet::new("0s");
    f.edit_manifest(|text| {
        text + &format!("mirrors:\n  - registry: \"{}\"\n    repository: {REPO}\n  - registry: r.example\n    repository: x\n    registryKind: artifactory\n", f.host)
    });
    let r = f.at(&t(0), &["validate"]);
    r.code(1);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("is the primary repository or listed twice"), "{all}");
    assert!(all.contains("registryKind 'artifactory' is not one of distribution, ghcr"), "{all}");
    assert!(all.contains("images.yaml:"), "findings name the file and line: {all}");
}
