//! What changed in a move, end to end (docs/CHANGES.md): two builds with real package
//! databases (tests/fixtures/inventory) published by the real binary from a git fleet where
//! the second commit changes the Dockerfile; `imgctl changes` lists exactly the package added,
//! the commits, the files, the Dockerfile's diff and "its own change"; a child variant built
//! FROM it is "rebuilt for its base" and, published without SBOM, "not inventoried"; the
//! promotion record and the step summary carry the changes; a mirror gets the SBOM; and
//! `changes` costs a handful of requests and no layer read (counted at a proxy).

use imgctl_testkit::images::{LAYER_GZIP, LAYER_TAR, TestImage, gzip, image_of_layers, tar_layer};
use imgctl_testkit::{PathKind, Proxy, TestRegistry, require_tool};
use serde_json::{Value, json};

use crate::fleet::{Fleet, MULTI, REPO, SINGLE, git};
use crate::records_support::enable_records;
use crate::sbom::{db, status_edited, write};
use crate::support::Run;

const T0: &str = "2026-11-02T09:00:00Z";
const T1: &str = "2026-11-02T10:00:00Z";
const T2: &str = "2026-11-02T11:00:00Z";
const T3: &str = "2026-11-02T12:00:00Z";
const NEW: &str = "Package: imgctl-new\nStatus: install ok installed\nVersion: 1.0~rc1-1\nArchitecture: amd64\n";
const DOCKERFILE_B: &str = "FROM ubuntu:22.04\nRUN echo build 0\nRUN apt-get install -y imgctl-new\n";

pub(crate) fn run_env(f: &Fleet, now: &str, summary: Option<&std::path::Path>, args: &[&str]) -> Run {
    let mut c = f.sb.cmd();
    c.env("IMGCTL_NOW", now).env("IMGCTL_INSECURE_REGISTRIES", &f.host).env("XDG_CACHE_HOME", f.sb.path().join("cache"));
    if let Some(s) = summary {
        c.env("GITHUB_STEP_SUMMARY", s);
    }
    Run::from(c.args(args).output().unwrap())
}

fn run(f: &Fleet, now: &str, args: &[&str]) -> Run {
    run_env(f, now, None, args)
}

/// The first build: Debian's dpkg status in one gzip layer.
fn build_a() -> (Vec<u8>, TestImage) {
    let base = gzip(&tar_layer(&[("etc/os-release", &db("dpkg/os-release")), ("var/lib/dpkg/status", &db("dpkg/status"))]));
    (base.clone(), image_of_layers("amd64", vec![(base, LAYER_GZIP)], 30))
}

/// The second: the same base, and an upper layer whose status file adds one package.
fn build_b(base: Vec<u8>) -> TestImage {
    let upper = tar_layer(&[("var/lib/dpkg/status", &status_edited(&[], NEW))]);
    image_of_layers("amd64", vec![(base, LAYER_GZIP), (upper, LAYER_TAR)], 31)
}

fn head(f: &Fleet) -> String {
    let out = std::process::Command::new("git").args(["rev-parse", "HEAD"]).current_dir(f.sb.path()).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn source_id(f: &Fleet, variant: &str) -> String {
    let doc = run(f, T0, &["tags", variant, "--output", "json"]).code(0).json();
    doc[0]["sourceId"].as_str().unwrap().to_string()
}

fn changes_of(doc: &Value) -> Vec<(String, String)> {
    doc["packages"]["changes"].as_array().unwrap().iter().map(|c| (c["change"].as_str().unwrap().into(), c["name"].as_str().unwrap().into())).collect()
}

fn commit_all(f: &Fleet, message: &str) {
    git(f.sb.path(), &["add", "-A"]);
    git(f.sb.path(), &["commit", "-qm", message]);
    git(f.sb.path(), &["branch", "-f", "production", "HEAD"]);
}

#[test]
fn changes_say_what_packages_commits_files_and_dockerfile_lines_changed_and_why() {
    let f = Fleet::new("0s");
    let initial = head(&f);
    enable_records(&f, "{enabled: true}");
    git(f.sb.path(), &["remote", "add", "origin", "git@github.com:acme/fleet.git"]);
    // the multi-arch variant builds FROM the single one: its child
    f.sb.write("src/multi/Dockerfile", &format!("FROM {}/{REPO}:{SINGLE}-staging\nRUN echo multi 0\n", f.host));
    commit_all(&f, "multi builds on helix");
    let multi_commit = head(&f);
    let (id_a, multi_a) = (source_id(&f, SINGLE), source_id(&f, MULTI));
    let (base, a) = build_a();
    run(&f, T0, &["publish", SINGLE, "--image", write(&f, "a", &a).to_str().unwrap()]).code(0);
    let (dir, _) = f.build(MULTI, 1);
    run(&f, T0, &["publish", MULTI, "--image", dir.to_str().unwrap(), "--no-sbom"]).code(0);
    run(&f, T0, &["promote"]).code(0);

    // the second commit adds a package in the Dockerfile; both variants are built again
    f.sb.write("src/helix/Dockerfile", DOCKERFILE_B);
    commit_all(&f, "install imgctl-new");
    let c2 = head(&f);
    let (id_b, multi_b) = (source_id(&f, SINGLE), source_id(&f, MULTI));
    assert!(id_a != id_b && multi_a != multi_b);
    let b = build_b(base);
    let publish_summary = f.sb.path().join("publish-summary.md");
    run_env(&f, T1, Some(&publish_summary), &["publish", SINGLE, "--image", write(&f, "b", &b).to_str().unwrap()]).code(0);
    let (dir, _) = f.build(MULTI, 2);
    run(&f, T1, &["publish", MULTI, "--image", dir.to_str().unwrap(), "--no-sbom"]).code(0);

    // the staging channel's last move: exactly the package the Dockerfile added
    let doc = run(&f, T1, &["changes", SINGLE, "--channel", "staging", "--output", "json"]).code(0).json();
    assert_eq!((doc["from"].as_str(), doc["to"].as_str()), (Some(a.manifest.digest.as_str()), Some(b.manifest.digest.as_str())), "{doc:#}");
    assert_eq!(changes_of(&doc), [("added".to_string(), "imgctl-new".to_string())]);
    assert_eq!(doc["packages"]["changes"][0]["to"], "1.0~rc1-1");
    assert_eq!([&doc["packages"]["added"], &doc["packages"]["removed"], &doc["packages"]["upgraded"], &doc["packages"]["downgraded"]], [1, 0, 0, 0]);
    assert_eq!((doc["os"]["changed"].as_bool(), doc["os"]["to"]["id"].as_str()), (Some(false), Some("debian")));
    let upper = b.blobs[2].bytes.len() as i64;
    assert_eq!(doc["size"]["delta"].as_i64(), Some(upper), "the size grew by the upper layer: {doc:#}");
    let s = &doc["source"];
    assert_eq!((s["fromSourceId"].as_str(), s["toSourceId"].as_str()), (Some(id_a.as_str()), Some(id_b.as_str())));
    assert_eq!((s["fromCommit"].as_str(), s["toCommit"].as_str()), (Some(initial.as_str()), Some(c2.as_str())), "A's id was introduced by the first commit");
    assert_eq!(s["compareUrl"], format!("https://github.com/acme/fleet/compare/{initial}...{c2}"));
    assert_eq!(s["files"], json!(["src/helix/Dockerfile"]));
    assert_eq!(s["dockerfile"], "src/helix/Dockerfile");
    assert!(s["dockerfileDiff"].as_str().unwrap().contains("\n+RUN apt-get install -y imgctl-new\n"), "{s:#}");
    assert_eq!(s["causes"], json!(["own-change"]));
    assert!(s.get("notes").is_none(), "everything is known: {s:#}");
    let human = run(&f, T1, &["changes", SINGLE, "--channel", "staging"]).code(0).stdout.clone();
    for want in ["why: its own change", "added", "imgctl-new", "Dockerfile diff:", "+RUN apt-get install -y imgctl-new", "files changed in its context (1): src/helix/Dockerfile", "os: Debian GNU/Linux 12"] {
        assert!(human.contains(want), "{want} in:\n{human}");
    }

    // the child: its own context is unchanged, its parent's source id changed
    let doc = run(&f, T1, &["changes", MULTI, "--channel", "staging", "--output", "json"]).code(0).json();
    let s = &doc["source"];
    assert_eq!(s["causes"], json!(["rebuilt-for-base"]), "{doc:#}");
    assert_eq!(s["parents"], json!([{"variant": SINGLE, "from": id_a, "to": id_b}]));
    assert_eq!((s["fromCommit"].as_str(), s["toCommit"].as_str()), (Some(multi_commit.as_str()), Some(c2.as_str())));
    assert_eq!((s["files"].clone(), s["dockerfileDiff"].as_str()), (json!([]), Some("")));
    assert!(doc.get("packages").is_none() && doc["notInventoried"].as_str().unwrap().contains("has no SBOM"), "not an empty list: {doc:#}");
    assert_eq!(doc["platform"], "linux/amd64");
    let human = run(&f, T1, &["changes", MULTI, "--channel", "staging"]).code(0).stdout.clone();
    assert!(human.contains("why: rebuilt for its base") && human.contains("packages: not inventoried") && human.contains(&format!("parent {SINGLE}: {id_a} → {id_b}")), "{human}");

    // --from/--to: an immutable tag and a digest, the other way round
    let doc = run(&f, T1, &["changes", SINGLE, "--from", &format!("{SINGLE}-{id_b}"), "--to", &a.manifest.digest, "--output", "json"]).code(0).json();
    assert_eq!(changes_of(&doc), [("removed".to_string(), "imgctl-new".to_string())]);
    assert_eq!((doc["source"]["fromSourceId"].as_str(), doc["source"]["toSourceId"].as_str()), (Some(id_b.as_str()), Some(id_a.as_str())));
    assert_eq!(doc["source"]["causes"], json!(["own-change"]));
    // --from alone: to the channel's newest move; the 12 digits tables show name a move's digest
    let doc = run(&f, T1, &["changes", SINGLE, "--channel", "staging", "--from", &a.manifest.digest[..19], "--output", "json"]).code(0).json();
    assert_eq!((doc["from"].as_str(), doc["to"].as_str()), (Some(a.manifest.digest.as_str()), Some(b.manifest.digest.as_str())), "{doc:#}");

    // unknown names: did-you-mean, exit 1 (as for every VARIANT and tag)
    let e = run(&f, T1, &["changes", "ubuntu-22.04-helx-amd64"]).code(1).stderr.clone();
    assert!(e.contains(&format!("did you mean '{SINGLE}'")), "{e}");
    let e = run(&f, T1, &["changes", SINGLE, "--from", &format!("{SINGLE}-stagng"), "--to", &format!("{SINGLE}-staging")]).code(1).stderr.clone();
    assert!(e.contains(&format!("did you mean '{SINGLE}-staging'")), "{e}");
    let e = run(&f, T1, &["changes", SINGLE, "--from", &format!("sha256:{}", "0".repeat(64)), "--to", &b.manifest.digest]).code(1).stderr.clone();
    assert!(e.contains("no such tag or digest"), "{e}");
    let e = run(&f, T1, &["changes", SINGLE, "--channel", "latest"]).code(1).stderr.clone();
    assert!(e.contains("only ever been at") && e.contains("--from"), "{e}");
    run(&f, T1, &["changes", SINGLE, "--channel", "nightly"]).code(1);

    // the publish's step summary has the section
    let md = std::fs::read_to_string(&publish_summary).unwrap();
    assert!(md.contains("### What changed") && md.contains(&format!("#### `{SINGLE}` staging")) && md.contains("| added | deb | `imgctl-new` |"), "{md}");

    // promote: the record of the move says what changed; the step summary too
    let summary = f.sb.path().join("promote-summary.md");
    run_env(&f, T2, Some(&summary), &["promote"]).code(0);
    let h = run(&f, T2, &["history", SINGLE, "--records", "--output", "json"]).code(0).json();
    let ch = &h["entries"][0]["record"]["statement"]["changes"];
    assert_eq!((ch["from"].as_str(), ch["to"].as_str()), (Some(a.manifest.digest.as_str()), Some(b.manifest.digest.as_str())), "{h:#}");
    assert_eq!(ch["packages"]["added"], 1);
    assert_eq!(ch["packages"]["changes"][0]["name"], "imgctl-new");
    assert_eq!((ch["source"]["toCommit"].as_str(), ch["source"]["causes"].clone()), (Some(c2.as_str()), json!(["own-change"])));
    assert!(h["entries"][1]["record"]["statement"].get("changes").is_none(), "a first move has nothing to compare with: {h:#}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains(&format!("#### `{SINGLE}` latest")) && md.contains("why: its own change"), "{md}");
    assert!(md.contains(&format!("#### `{MULTI}` latest")) && md.contains("why: rebuilt for its base") && md.contains("not inventoried"), "{md}");
    assert!(md.contains("+RUN apt-get install -y imgctl-new"), "{md}");

    // rollback: the package goes again
    let summary = f.sb.path().join("rollback-summary.md");
    run_env(&f, T3, Some(&summary), &["rollback", SINGLE]).code(0);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("### What changed") && md.contains("| removed | deb | `imgctl-new` |"), "{md}");
}

#[test]
fn changes_cost_a_handful_of_requests_and_no_layer_read() {
    let reg = TestRegistry::start();
    let proxy = Proxy::start(&reg.host());
    let mut f = Fleet::with_host(reg, proxy.host(), "0s");
    let (base, a) = build_a();
    run(&f, T0, &["publish", SINGLE, "--image", write(&f, "a", &a).to_str().unwrap()]).code(0);
    f.sb.write("src/helix/Dockerfile", DOCKERFILE_B);
    commit_all(&f, "install imgctl-new");
    let b = build_b(base);
    run(&f, T1, &["publish", SINGLE, "--image", write(&f, "b", &b).to_str().unwrap()]).code(0);
    // main moves on: a newer source id with no build yet costs no request (not in the listing)
    f.change_sources();
    proxy.reset();
    let doc = run(&f, T1, &["changes", SINGLE, "--channel", "staging", "--output", "json"]).code(0).json();
    assert_eq!(changes_of(&doc), [("added".to_string(), "imgctl-new".to_string())]);
    let (c, events) = (proxy.counts(), proxy.events());
    let layers: Vec<&str> = a.blobs[1..].iter().chain(&b.blobs[1..]).map(|l| l.digest.as_str()).collect();
    let layer_reads = events.iter().filter(|e| e.kind == PathKind::Blob && layers.iter().any(|d| e.path.contains(d))).count();
    assert_eq!(layer_reads, 0, "no layer is read: {events:#?}");
    assert_eq!(c.kind(PathKind::TagsList), 1, "{c:?}");
    // ping, listing; per build: GET manifest, referrers (the API's 404, then the sha256-<hex>
    // index: distribution 2.8 has no referrers API), SBOM document (a blob the index's entry
    // names: no SBOM artifact GET); a HEAD of each build's immutable tag (its source id)
    assert_eq!(c.get("HEAD", PathKind::Manifest), 2, "{c:?}");
    assert_eq!(c.get("GET", PathKind::Blob), 2, "the two SBOM documents: {c:?}");
    assert!(c.total() <= 12, "a handful of requests: {c:?}");
    eprintln!("changes: {} requests ({c:?}), 0 layer reads; the two builds' layers: {} bytes", c.total(), a.blobs[1..].iter().chain(&b.blobs[1..]).map(|l| l.bytes.len()).sum::<usize>());
    // the nearest peer: `imgctl diff` of the same pair (SBOMs too, no source side)
    proxy.reset();
    let at = |d: &str| format!("{}/{REPO}@{d}", f.host);
    run(&f, T1, &["diff", &at(&a.manifest.digest), &at(&b.manifest.digest)]).code(0);
    eprintln!("diff: {} requests ({:?})", proxy.counts().total(), proxy.counts());
}

#[test]
fn a_mirror_gets_the_builds_sbom_referrer() {
    let f = Fleet::new("0s");
    let other = TestRegistry::start();
    f.edit_manifest(|text| text + &format!("mirrors:\n  - registry: \"{}\"\n    repository: mirror/build-images\n", other.host()));
    let (_, a) = build_a();
    let insecure = format!("{},{}", f.host, other.host());
    let mut cmd = f.sb.cmd();
    cmd.env("IMGCTL_NOW", T0).env("IMGCTL_INSECURE_REGISTRIES", &insecure).env("XDG_CACHE_HOME", f.sb.path().join("cache"));
    let r = Run::from(cmd.args(["publish", SINGLE, "--image", write(&f, "a", &a).to_str().unwrap(), "--output", "json"]).output().unwrap());
    let doc = r.code(0).json();
    assert!(doc["results"].as_array().unwrap().iter().all(|r| r["action"] == "moved"), "{doc:#}");
    // skopeo reads the mirror's referrers index: the SBOM artifact, the same bytes as the primary's
    let skopeo = require_tool("skopeo", "skopeo");
    let raw = |host: &str, repo: &str, reference: &str| -> Value {
        let o = std::process::Command::new(&skopeo).args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{host}/{repo}:{reference}")]).output().unwrap();
        assert!(o.status.success(), "skopeo {reference}: {}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let tag = a.manifest.digest.replacen(':', "-", 1);
    let sbom_of = |index: Value| index["manifests"].as_array().unwrap().iter().find(|e| e["annotations"]["dev.imgctl.predicate-type"] == "https://spdx.dev/Document").cloned();
    let (primary, mirror) = (sbom_of(raw(&f.reg.host(), REPO, &tag)).expect("the primary's SBOM"), sbom_of(raw(&other.host(), "mirror/build-images", &tag)).expect("the mirror's SBOM"));
    assert_eq!(primary["digest"], mirror["digest"], "{mirror:#}");
    assert_eq!(mirror["annotations"]["dev.imgctl.inventory.packages"], "12");
    // and imgctl reads it there
    let mut c = f.sb.cmd();
    let r = Run::from(c.env("IMGCTL_INSECURE_REGISTRIES", &insecure).args(["sbom", &format!("{}/mirror/build-images:{SINGLE}-staging", other.host())]).output().unwrap());
    assert!(r.code(0).stdout.contains("12 packages"), "{}", r.stdout);
    // the next build's move, mirrored: the step summary's section names the mirror
    f.sb.write("src/helix/Dockerfile", DOCKERFILE_B);
    commit_all(&f, "install imgctl-new");
    let (base, _) = build_a();
    let b = build_b(base);
    let summary = f.sb.path().join("summary.md");
    let mut c = f.sb.cmd();
    c.env("IMGCTL_NOW", T1).env("IMGCTL_INSECURE_REGISTRIES", &insecure).env("GITHUB_STEP_SUMMARY", &summary);
    Run::from(c.args(["publish", SINGLE, "--image", write(&f, "b", &b).to_str().unwrap()]).output().unwrap()).code(0);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains(&format!("- mirrored to: {}/mirror/build-images", other.host())) && md.contains("| added | deb | `imgctl-new` |"), "{md}");
    let mirror_b = sbom_of(raw(&other.host(), "mirror/build-images", &b.manifest.digest.replacen(':', "-", 1)));
    assert!(mirror_b.is_some(), "the second build's SBOM is on the mirror too");
}
