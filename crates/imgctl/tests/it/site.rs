//! `imgctl site` end to end: a small fleet with weeks of history on the real registry
//! (publish, scheduled and forced promotions, a rollback, a retired variant, a consumer's
//! usages report) rendered by the real binary; every link of every page resolves to a file
//! it wrote, nothing is absolute or fetched, the feeds read back with `feed-rs` (a parser
//! independent of the writer), `fleet.json` agrees with `status`; the document cache spares a
//! second run every document and keeps only whole entries through SIGKILL at any moment; bad
//! input is a clear error.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::Digest;

use imgctl_testkit::images::{LAYER_GZIP, gzip, image_of_layers, tar_layer};
use imgctl_testkit::{Proxy, TestRegistry};

use crate::fleet::{ARM, Fleet, MULTI, REPO, SINGLE};

const T0: &str = "2026-11-02T09:00:00Z";
/// The operator's words for the rollback (markup in it must come out as text).
const REASON: &str = "tests fail on <arm64> & libicu 74";
const REASON_HTML: &str = "tests fail on &lt;arm64&gt; &amp; libicu 74";

fn t(hours: i64) -> String {
    (chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::TimeDelta::hours(hours)).to_rfc3339()
}

/// Every file under `dir`, relative.
fn files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else { out.insert(p.strip_prefix(dir).unwrap().to_path_buf()); }
        }
    }
    out
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// Checks every `href`/`src` of every page: relative, and naming a file that was written.
fn links_resolve(dir: &Path) -> usize {
    let re = regex::Regex::new(r#"(?:href|src)="([^"]*)""#).unwrap();
    let mut n = 0;
    for rel in files(dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "html")) {
        let text = read(dir, rel.to_str().unwrap());
        assert!(!text.contains("http://") && !text.contains("https://"), "{}: an absolute URL", rel.display());
        assert!(text.contains("<html lang=\"en\">") && text.matches("<h1").count() == 1, "{}: lang and one h1", rel.display());
        for c in re.captures_iter(&text) {
            let link = &c[1];
            let target = link.split('#').next().unwrap();
            assert!(!link.starts_with('/') && !link.contains("://"), "{}: link {link} is not relative", rel.display());
            if target.is_empty() {
                continue;
            }
            let resolved = dir.join(rel.parent().unwrap()).join(target);
            assert!(resolved.is_file(), "{}: link {link} names no written file", rel.display());
            n += 1;
        }
    }
    n
}

/// Build `n` of SINGLE: a Debian image whose dpkg database (tests/fixtures/inventory) has
/// zlib1g at `1:1.2.13.dfsg-n`, and from build 3 one package more — so its SBOMs differ.
fn debian_build(f: &Fleet, n: u64) -> PathBuf {
    let fixture = |name: &str| std::fs::read(crate::support::fixture(&format!("inventory/dpkg/{name}"))).unwrap();
    let mut status = String::from_utf8(fixture("status")).unwrap().replace("Version: 1:1.2.13.dfsg-1\n", &format!("Version: 1:1.2.13.dfsg-{n}\n"));
    if n >= 3 {
        status.push_str("\nPackage: site-probe\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\nDescription: added in build 3\n");
    }
    let layer = tar_layer(&[("etc/os-release", &fixture("os-release")), ("var/lib/dpkg/status", status.as_bytes())]);
    let image = image_of_layers("amd64", vec![(gzip(&layer), LAYER_GZIP)], n);
    let dir = f.sb.path().join(format!("out/debian-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    imgctl_testkit::layout::write_image(&dir, &image);
    dir
}

/// The fleet with history: weekly builds, a forced promotion, a rollback, a retired variant.
fn fleet_with_history(mut f: Fleet) -> (Fleet, String, String) {
    crate::records_support::enable_records(&f, "{ enabled: true }");
    let publish = |f: &Fleet, at: &str, seed: u64| {
        for v in [SINGLE, ARM, MULTI] {
            let dir = match v {
                SINGLE => debian_build(f, seed),
                _ => f.build(v, seed + if v == ARM { 100 } else { 200 }).0,
            };
            f.at(at, &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
        }
    };
    publish(&f, &t(0), 1);
    f.at(&t(73), &["promote"]).code(0); // week 1 goes out
    f.change_sources();
    publish(&f, &t(168), 2);
    f.at(&t(169), &["promote", "--variant", SINGLE, "--force"]).code(0); // 1h of 72h: forced
    f.at(&t(241), &["promote"]).code(0); // the others, soaked
    f.change_sources();
    publish(&f, &t(336), 3);
    f.at(&t(410), &["promote"]).code(0); // week 3 goes out
    f.at(&t(412), &["rollback", SINGLE, "--reason", REASON]).code(0);
    // ARM retired since 2026-11-15 (written in after the weeks above; "now" is after it)
    f.edit_manifest(|m| m.replacen("    platforms: [linux/arm64]\n", "    platforms: [linux/arm64]\n    retired: 2026-11-15\n", 1));
    let latest = f.skopeo_digest(&format!("{SINGLE}-latest")).unwrap();
    f.sb.write("consumer/.github/workflows/ci.yml", &format!("jobs:\n  build:\n    container: {REPO}:{SINGLE}-latest@{latest}\n"));
    let report = f.at(&t(413), &["usages", "consumer", "--output", "json"]);
    report.code(0);
    f.sb.write("reports/consumer.json", &report.stdout);
    (f, t(414), latest)
}

#[test]
fn the_site_shows_the_fleet_its_timelines_digests_feeds_and_fleet_json() {
    let (f, now, latest) = fleet_with_history(Fleet::new("72h"));
    let out = f.sb.path().join("public");
    let run = f.at(&now, &["site", "--out", out.to_str().unwrap(), "--consumers", "reports/consumer.json", "--output", "json"]);
    let report = run.code(0).json();
    assert_eq!(report["variants"], 3, "{report:#}");

    // the fleet page: one row per variant, the filter, the retired badge
    let index = read(&out, "index.html");
    let rows: Vec<&str> = index.match_indices("<tr data-variant=\"").map(|(i, _)| index[i + 18..].split('"').next().unwrap()).collect();
    assert_eq!(rows, vec![SINGLE, ARM, MULTI], "one row per variant");
    for part in ["<label for=\"filter\">", "<input id=\"filter\" type=\"search\"", "<table id=\"fleet\">", "<th scope=\"col\">", "id=\"count\" aria-live=\"polite\">3 of 3 variants"] {
        assert!(index.contains(part), "index.html lacks {part}");
    }
    let arm_row = index.split(&format!("<tr data-variant=\"{ARM}\">")).nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(arm_row.contains("class=\"badge badge-retired\">retired<"), "{arm_row}");
    let n = links_resolve(&out);
    assert!(n > 20, "{n} links checked");

    // the variant page: the rollback with its reason, the forced move, newest first
    let page = read(&out, &format!("variants/{SINGLE}.html"));
    let kinds: Vec<&str> = page.match_indices("<li data-kind=\"").map(|(i, _)| page[i + 15..].split('"').next().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"rollback"), "{kinds:?}");
    assert!(kinds.contains(&"forced") && kinds.contains(&"publish") && kinds.contains(&"promote"), "{kinds:?}");
    let rollback = page.split("<li data-kind=\"rollback\">").nth(1).unwrap().split("</li>").next().unwrap();
    assert!(rollback.contains(&format!("class=\"reason\">{REASON_HTML}<")), "the rollback's reason (its record's note), escaped: {rollback}");
    assert!(rollback.contains(&format!("../digests/{}.html", latest.replace(':', "-"))), "links to the digest rolled back to: {rollback}");
    assert!(page.contains(&format!("<code>consumer/.github/workflows/ci.yml:3</code> {SINGLE}-latest pinned to ")), "the variant's consumers");

    // the digest page: the consumer pinning it, its records, what changed
    let digest = read(&out, &format!("digests/{}.html", latest.replace(':', "-")));
    assert!(digest.contains("consumer/.github/workflows/ci.yml:3"), "the consumer that pins it");
    assert!(digest.contains(">rollback<") && digest.contains(">unsigned<"), "its records and their signature status");
    assert!(digest.contains("<h3>Against "), "what changed against the digest before it");
    // staging's build 3 against build 2: zlib1g upgraded, one package added (from their SBOMs)
    let staging = f.skopeo_digest(&format!("{SINGLE}-staging")).unwrap();
    let page = read(&out, &format!("digests/{}.html", staging.replace(':', "-")));
    let changes = page.split("<h2>What changed</h2>").nth(1).unwrap().split("<h2>Packages</h2>").next().unwrap();
    assert!(changes.contains("<td>upgraded</td><td>deb</td><th scope=\"row\">zlib1g (amd64)</th><td>1:1.2.13.dfsg-2</td><td>1:1.2.13.dfsg-3</td>"), "{changes}");
    assert!(changes.contains("<td>added</td><td>deb</td><th scope=\"row\">site-probe (amd64)</th>"), "{changes}");
    assert!(page.contains("13 packages, from the SBOM"), "its inventory");
    // and the change summary its publish record carries (`imgctl changes`)
    assert!(page.contains(&format!("Recorded by the publish of {SINGLE}-staging (from ")) && page.contains("<p>1 added, 0 removed, 1 upgraded, 0 downgraded; bytes +"), "the record's changes");

    // fleet.json: the same digests as status
    let fleet: Value = serde_json::from_str(&read(&out, "fleet.json")).unwrap();
    let status = f.at(&now, &["status", "--output", "json"]).code(0).json();
    for s in status["variants"].as_array().unwrap() {
        let v = fleet["variants"].as_array().unwrap().iter().find(|v| v["variant"] == s["variant"]).unwrap();
        for c in ["staging", "latest"] {
            assert_eq!(v["channels"][c]["digest"], s["channels"][c]["digest"], "{} {c}", s["variant"]);
        }
        assert_eq!(v["pending"], s["pending"], "{}", s["variant"]);
    }
    let single = fleet["variants"].as_array().unwrap().iter().find(|v| v["variant"] == SINGLE).unwrap();
    assert_eq!(single["history"][0]["kind"], "rollback", "{single:#}");
    assert_eq!(single["history"][0]["reason"], REASON, "{single:#}");
    assert!(fleet["eol"].as_array().unwrap().iter().any(|e| e["variant"] == ARM && e["kind"] == "retired" && e["state"] == "past"), "{:#}", fleet["eol"]);

    // the feeds read back with feed-rs
    let parse = |rel: &str| feed_rs::parser::parse(read(&out, rel).as_bytes()).unwrap_or_else(|e| panic!("{rel} is not a feed: {e}"));
    let all = parse("feeds/fleet.atom");
    assert_eq!(all.feed_type, feed_rs::model::FeedType::Atom);
    let moves: usize = fleet["variants"].as_array().unwrap().iter().map(|v| v["history"].as_array().unwrap().len()).sum();
    assert_eq!(all.entries.len(), moves, "every event of the fleet (fewer than the cap)");
    let ids: BTreeSet<&str> = all.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), all.entries.len(), "entry ids are unique");
    let single_feed = parse(&format!("feeds/{SINGLE}.atom"));
    let first = &single_feed.entries[0];
    assert!(first.title.as_ref().unwrap().content.starts_with(&format!("{SINGLE}: rollback latest")), "{:?}", first.title);
    assert!(first.summary.as_ref().unwrap().content.contains(&format!("Reason: {REASON}")), "{:?}", first.summary);
    assert_eq!(single_feed.entries.len(), single["history"].as_array().unwrap().len());
}

#[test]
fn the_site_reads_no_more_than_status_plus_the_digests_it_shows() {
    let reg = TestRegistry::start();
    let proxy = Proxy::start(&reg.host());
    let (f, now, _) = fleet_with_history(Fleet::with_host(reg, proxy.host(), "72h"));
    proxy.reset();
    f.at(&now, &["status", "--output", "json"]).code(0);
    let status: Vec<(String, String)> = proxy.events().into_iter().map(|e| (e.method, e.path)).collect();
    proxy.reset();
    // a machine that has read nothing yet: an empty document cache
    let out = f.sb.path().join("public");
    let cache = f.sb.path().join("site-cache");
    let site = |out: &Path| {
        let args = ["site", "--out", out.to_str().unwrap(), "--output", "json", "-v"];
        let run = f.sb.cmd().env("IMGCTL_NOW", &now).env("IMGCTL_INSECURE_REGISTRIES", &f.host).env("XDG_CACHE_HOME", &cache).args(args).output().unwrap();
        let run = crate::support::Run::from(run);
        run.code(0);
        run.stderr
    };
    site(&out);
    let mut extra: Vec<(String, String)> = proxy.events().into_iter().map(|e| (e.method, e.path)).collect();
    // every request status makes, the site makes (the same engine code over one listing)
    for r in &status {
        let i = extra.iter().position(|e| e == r).unwrap_or_else(|| panic!("status made {r:?}, the site did not"));
        extra.remove(i);
    }
    assert_eq!(status.iter().filter(|(_, p)| p.ends_with("/tags/list") || p.contains("/tags/list?")).count(), 1, "status lists the tags once");
    // the rest reads the shown digests: referrers (the tag-schema index or the API), records
    // and SBOM artifacts by digest, SBOM documents; nothing else (no release tag per move)
    let referrers = regex::Regex::new(r"/manifests/sha256-([0-9a-f]{64})$|/referrers/sha256:([0-9a-f]{64})$").unwrap();
    let by_digest = regex::Regex::new(r"/(manifests|blobs)/sha256:[0-9a-f]{64}$").unwrap();
    let mut listed = Vec::new();
    for (method, path) in &extra {
        assert!(method == "GET", "{method} {path}: the site only reads what status does not");
        match referrers.captures(path) {
            Some(c) => listed.push(c.get(1).or(c.get(2)).unwrap().as_str().to_string()),
            None => assert!(by_digest.is_match(path), "{method} {path} is not a read of a shown digest"),
        }
    }
    let pages: BTreeSet<String> = files(&out.join("digests")).iter().map(|p| p.to_str().unwrap().trim_start_matches("sha256-").trim_end_matches(".html").to_string()).collect();
    let subjects: BTreeSet<String> = listed.iter().cloned().collect();
    assert!(pages.is_subset(&subjects), "every digest page's referrers were read");
    let api = extra.iter().filter(|(_, p)| p.contains("/referrers/")).count();
    assert_eq!(api, 1, "one probe of the referrers API (distribution 2.8 has none: 404)");
    assert_eq!(listed.len() - api, subjects.len(), "then each digest's tag-schema index is read once");
    // no artifact manifest is read: a record comes embedded in its list entry (docs/RECORDS.md);
    // an SBOM costs one request, its document, which its list entry names (docs/CHANGES.md),
    // each document once
    let (mut artifacts, mut documents, mut records) = (BTreeSet::new(), BTreeSet::new(), 0);
    for s in &subjects {
        for e in crate::records_support::referrers(&f, &format!("sha256:{s}")) {
            artifacts.insert(format!("/manifests/{}", e["digest"].as_str().unwrap()));
            if e["annotations"]["dev.imgctl.predicate-type"] == "https://spdx.dev/Document" {
                documents.insert(format!("/blobs/{}", e["annotations"]["dev.imgctl.document.digest"].as_str().expect("the entry names its document")));
            } else if e["annotations"]["dev.imgctl.kind"].is_string() {
                assert!(e["data"].is_string(), "a record's entry embeds it: {e}");
                records += 1;
            }
        }
    }
    assert!(!documents.is_empty() && records > 0, "the fleet's builds have SBOMs and records");
    let blobs: Vec<&String> = extra.iter().map(|(_, p)| p).filter(|p| p.contains("/blobs/")).collect();
    for (_, p) in &extra {
        assert!(!artifacts.iter().any(|a| p.ends_with(a.as_str())), "{p}: an artifact manifest was read; its list entry has what the site shows");
    }
    assert!(!blobs.is_empty() && blobs.iter().all(|b| documents.iter().any(|d| b.ends_with(d.as_str()))), "the only blobs read are SBOM documents: {blobs:?}");
    assert_eq!(blobs.iter().collect::<BTreeSet<_>>().len(), blobs.len(), "each document read once");
    // the only manifest read by digest: a shown index, to find its image's SBOM
    let indexes: Vec<&String> = extra.iter().map(|(_, p)| p).filter(|p| p.contains("/manifests/sha256:")).collect();
    assert!(indexes.iter().all(|p| pages.iter().any(|h| p.ends_with(h.as_str()))), "{indexes:?}");
    assert_eq!(indexes.iter().collect::<BTreeSet<_>>().len(), indexes.len(), "each index read once");
    assert_eq!(extra.len(), api + subjects.len() + blobs.len() + indexes.len(), "a list per subject, a document per SBOM, nothing more: {extra:?}");
    eprintln!("status: {} requests; site: {} more for {} digest pages ({} subjects listed)", status.len(), extra.len(), pages.len(), subjects.len());

    // the next run (the site workflow's next day, its cache restored) reads no document again:
    // a blob's digest names its bytes; the pages come out the same
    let kept = cache.join("imgctl/documents");
    assert_eq!(std::fs::read_dir(&kept).unwrap().count(), documents_read(&blobs), "each document read is kept, by digest");
    proxy.reset();
    let again = f.sb.path().join("public-again");
    let log = site(&again);
    let said = format!("{} SBOM documents from the local document cache ({}), 0 read from the registry", documents_read(&blobs), kept.display());
    assert!(log.contains(&said), "the log says where the documents came from: {said}\n{log}");
    let second: Vec<String> = proxy.events().into_iter().map(|e| e.path).collect();
    assert!(!second.iter().any(|p| p.contains("/blobs/")), "no document read again: {second:?}");
    assert_eq!(second.len(), status.len() + extra.len() - blobs.len(), "the same requests less the documents");
    assert_same_site(&out, &again);
    // a damaged entry (same length, other bytes) is not believed: that document alone is read
    // again, and the entry mended
    let entry = std::fs::read_dir(&kept).unwrap().next().unwrap().unwrap().path();
    let good = std::fs::read(&entry).unwrap();
    let mut bad = good.clone();
    let i = bad.iter().position(|b| b.is_ascii_digit()).unwrap();
    bad[i] = if bad[i] == b'9' { b'8' } else { bad[i] + 1 };
    std::fs::write(&entry, &bad).unwrap();
    proxy.reset();
    let third = f.sb.path().join("public-third");
    site(&third);
    let blobs3: Vec<String> = proxy.events().into_iter().map(|e| e.path).filter(|p| p.contains("/blobs/")).collect();
    let name = entry.file_name().unwrap().to_str().unwrap().replace("sha256-", "sha256:");
    assert_eq!(blobs3.len(), 1, "only the damaged document is read again: {blobs3:?}");
    assert!(blobs3[0].ends_with(&name), "{blobs3:?} vs {name}");
    assert_eq!(std::fs::read(&entry).unwrap(), good, "the entry is mended");
    assert_same_site(&out, &third);
}

/// How many different documents `blobs` (request paths) read.
fn documents_read(blobs: &[&String]) -> usize {
    blobs.iter().collect::<BTreeSet<_>>().len()
}

/// `a` and `b` hold the same files with the same bytes.
fn assert_same_site(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    assert_eq!(fa, fb, "the same files");
    for rel in &fa {
        assert!(std::fs::read(a.join(rel)).unwrap() == std::fs::read(b.join(rel)).unwrap(), "{} differs", rel.display());
    }
}

#[test]
fn bad_site_input_is_a_clear_error() {
    let f = Fleet::new("0s");
    let (dir, _) = f.build(SINGLE, 1);
    f.at(&t(0), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    // --out under a file
    f.sb.write("file.txt", "not a folder\n");
    let r = f.at(&t(1), &["site", "--out", "file.txt/site"]);
    r.code(1);
    assert!(r.stderr.contains("file.txt/site") && r.stderr.contains("--out"), "{}", r.stderr);
    // a consumers report broken on its third line
    f.sb.write("report.json", "{\n  \"references\": [\n    {\"file\": 3}\n  ]\n}\n");
    let r = f.at(&t(1), &["site", "--out", "out", "--consumers", "report.json"]);
    r.code(1);
    assert!(r.stderr.contains("report.json") && r.stderr.contains("line 3") && r.stderr.contains("usages"), "{}", r.stderr);
    assert!(!f.sb.path().join("out/index.html").exists(), "nothing written before the input is read");
    // a flag without its value is a usage error
    f.at(&t(1), &["site"]).code(2);
}

#[test]
fn a_site_killed_while_it_keeps_documents_leaves_only_whole_entries_and_the_rerun_reads_the_rest() {
    let reg = TestRegistry::start();
    let proxy = Proxy::start(&reg.host());
    let (f, now, _) = fleet_with_history(Fleet::with_host(reg, proxy.host(), "72h"));
    let cache = f.sb.path().join("kill-cache");
    let kept = cache.join("imgctl/documents");
    let cmd = |out: &Path| {
        let mut c = f.sb.cmd();
        c.env("IMGCTL_NOW", &now).env("IMGCTL_INSECURE_REGISTRIES", &f.host).env("XDG_CACHE_HOME", &cache);
        c.args(["site", "--out", out.to_str().unwrap(), "--output", "json"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        c
    };
    // the clean run's pages and documents (its own cache, removed after)
    let reference = f.sb.path().join("reference");
    let started = std::time::Instant::now();
    assert!(cmd(&reference).status().unwrap().success());
    let whole_run = started.elapsed();
    let documents = std::fs::read_dir(&kept).unwrap().count();
    std::fs::remove_dir_all(&cache).unwrap();
    // SIGKILL at moments spread over a run's length, the cache kept from kill to kill
    let mut killed = 0;
    for k in 1..=6u32 {
        let mut child = cmd(&f.sb.path().join(format!("killed-{k}"))).spawn().unwrap();
        std::thread::sleep(whole_run * k / 7);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        // whatever the moment: every entry is a whole document under its own digest
        for e in std::fs::read_dir(&kept).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(hex) = name.strip_prefix("sha256-") {
                assert_eq!(hex::encode(sha2::Sha256::digest(std::fs::read(e.path()).unwrap())), hex, "{name} after kill {k}");
            }
        }
    }
    assert!(killed > 0, "at least one run was killed before it finished");
    // the rerun reads only the documents the killed runs did not keep, and renders the same site
    let had = std::fs::read_dir(&kept).map(|d| d.filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().starts_with("sha256-"))).count()).unwrap_or(0);
    proxy.reset();
    let rerun = f.sb.path().join("rerun");
    assert!(cmd(&rerun).status().unwrap().success());
    let read = proxy.events().into_iter().filter(|e| e.path.contains("/blobs/")).count();
    assert_eq!(read, documents - had, "{had} of {documents} documents were kept before the rerun");
    assert_same_site(&reference, &rerun);
    eprintln!("{killed} of 6 runs killed; {had} of {documents} documents kept by them");
}
