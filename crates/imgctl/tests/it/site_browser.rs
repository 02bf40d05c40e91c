//! The fleet site in a real browser: a fleet's weeks of history on the real registry (publish,
//! soaked promotions, a rollback with its reason, a retired variant, one on an ended OS,
//! lifecycle marks, records signed), rendered by `imgctl site --out` and opened from disk in
//! Debian's headless chromium (tests/browser/check-site.mjs). The report it gives is asserted
//! here: no errors, every link resolves, the fleet table and its filter, the rollback's reason,
//! the keyboard path, accessibility basics and contrast, and screenshots that are not blank.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::browser::{Report, arr, check_site, shot, strings};
use crate::fleet::{ARM, Fleet, MULTI, REPO, SINGLE};
use crate::records_support::{enable_records, keys};

const T0: &str = "2026-11-16T09:00:00Z"; // a Monday
const FEDORA: &str = "fedora-43-amd64";
/// Markup in the reason: it must reach the page as text.
const REASON: &str = "glibc 2.35-0ubuntu3.9 breaks <helix> runner's \"dotnet test\" & msbuild";

fn t(hours: i64) -> String {
    (chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::TimeDelta::hours(hours)).to_rfc3339()
}

/// The fleet with Fedora 43 (end of life 2026-12-01) added, records on and signed.
fn fleet() -> (Fleet, String) {
    let f = Fleet::new("72h");
    assert_eq!(crate::retire::with_fedora(&f, "2026-12-01"), FEDORA);
    enable_records(&f, "{ enabled: true, sign: true }");
    let (key, _, _) = keys(&f, "ci");
    (f, key.to_str().unwrap().to_string())
}

/// Four weeks: publish every Monday, promote on Friday (soaked 72h), roll SINGLE back in week 3
/// with a reason, retire MULTI before week 4's builds; then mark what ended. Returns the site's
/// directory and each variant's builds, oldest first.
fn history(f: &mut Fleet, key: &str, now: &str, site: &std::path::Path) -> BTreeMap<&'static str, Vec<String>> {
    let mut builds: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for week in 0..4i64 {
        if week > 0 {
            f.change_sources();
        }
        if week == 3 {
            f.edit_manifest(|m| m.replacen("    platforms: [linux/amd64, linux/arm64]\n", "    platforms: [linux/amd64, linux/arm64]\n    retired: 2026-12-06\n    replacedBy: ubuntu-22.04-helix-amd64\n", 1));
        }
        for (i, v) in [SINGLE, ARM, MULTI, FEDORA].into_iter().enumerate() {
            if week == 3 && v == MULTI {
                continue;
            }
            let (dir, digest) = f.build(v, (week as u64) * 10 + i as u64 + 1);
            f.at(&t(week * 168 + i as i64), &["publish", v, "--image", dir.to_str().unwrap(), "--sign-key", key]).code(0);
            builds.entry(v).or_default().push(digest);
        }
        if week < 3 {
            f.at(&t(week * 168 + 96), &["promote", "--sign-key", key]).code(0);
        }
        if week == 2 {
            let doc = f.at(&t(week * 168 + 120), &["rollback", SINGLE, "--reason", REASON, "--sign-key", key, "--output", "json"]).code(0).json();
            assert_eq!(crate::fleet::result_of(&doc, SINGLE)["action"], "moved", "{doc:#}");
        }
    }
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_deref(), Some(builds[SINGLE][1].as_str()), "the rollback went back a week");
    f.at(now, &["mark-eol"]).code(0);

    // a consumer pins SINGLE's latest build by digest
    f.sb.write("consumer/ci.yml", &format!("image: {}/{REPO}:{SINGLE}-latest@{}\n", f.host, builds[SINGLE][1]));
    let usages = f.at(now, &["usages", "consumer", "--output", "json"]);
    usages.code(0);
    assert_eq!(usages.json()["references"].as_array().map(Vec::len), Some(1), "{}", usages.stdout);
    let consumers = f.sb.write("consumers.json", &usages.stdout);
    f.at(now, &["site", "--out", site.to_str().unwrap(), "--consumers", consumers.to_str().unwrap()]).code(0);
    builds
}

/// Where the test leaves the site, the browser's report and the screenshots, for a person to
/// look at (target/tmp/site-browser).
fn output_dir() -> PathBuf {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("site-browser");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("mkdir the test's output");
    out
}

#[test]
fn the_site_works_in_chromium_from_disk_with_keyboard_and_screen_reader_basics() {
    let started = std::time::Instant::now();
    let (mut f, key) = fleet();
    let out = output_dir();
    let site = out.join("site");
    let now = &t(3 * 168 + 24);
    let builds = history(&mut f, &key, now, &site);
    let variants: Vec<&str> = builds.keys().copied().collect();

    // (a row matches on more than its name: the retired one names its replacement)
    let filters = [("arm64v8", vec![ARM]), ("fedora", vec![FEDORA]), ("multi", vec![MULTI]), ("ubuntu", vec![SINGLE, ARM, MULTI]), ("zz-no-such-variant", vec![])];
    let config = json!({
        "rollback": SINGLE,
        "filters": filters.iter().map(|(q, _)| q).collect::<Vec<_>>(),
        "shots": ["index.html", format!("variants/{SINGLE}.html"), format!("digests/{}.html", builds[SINGLE][1].replacen(':', "-", 1)), "eol.html"],
    });
    let Report { json: r, out } = check_site(&site, &out, config);
    eprintln!("site_browser: {} with playwright-core {}: {} pages, {} links in {} ms (the whole test {:.1?}); output in {}", r["chromium"], r["playwright"], r["pages"].as_object().unwrap().len(), r["links"]["checked"], r["ms"], started.elapsed(), out.display());
    let report = std::fs::read_to_string(out.join("report.json")).expect("the report is kept");
    let ctx = format!("(report: {})", out.join("report.json").display());
    assert!(report.len() > 2, "{ctx}");

    // every part of the check ran (a part that could not, e.g. for a missing element, says why)
    let pages = r["pages"].as_object().unwrap();
    let parts = [("the fleet", &r["fleet"]), ("the keyboard", &r["keyboard"]), ("the rollback", &r["rollback"])];
    for (what, v) in parts.into_iter().chain(pages.iter().map(|(p, v)| (p.as_str(), v))).chain(arr(&r, "/shots").iter().map(|s| ("a screenshot", s))) {
        assert!(v["error"].is_null(), "{what}: {} {ctx}", v["error"]);
    }

    // every page: no console errors, nothing fetched from outside, every link resolves
    assert_eq!(arr(&r, "/errors"), &Vec::<Value>::new(), "console errors, page errors or failed loads {ctx}");
    assert_eq!(arr(&r, "/external"), &Vec::<Value>::new(), "nothing is fetched at view time {ctx}");
    assert_eq!(arr(&r, "/links/broken"), &Vec::<Value>::new(), "links that do not resolve {ctx}");
    assert_eq!(arr(&r, "/links/outside"), &Vec::<Value>::new(), "links are relative {ctx}");
    assert_eq!(arr(&r, "/orphans"), &Vec::<Value>::new(), "every page is reachable from index.html {ctx}");
    // the pages: each variant's, and those of the digests its channels hold and held before
    // (docs/SITE.md: which digests get pages), e.g. each newest build and both sides of the rollback
    let mut want: Vec<String> = vec!["index.html".into(), "eol.html".into()];
    want.extend(variants.iter().map(|v| format!("variants/{v}.html")));
    let page_of = |d: &String| format!("digests/{}.html", d.replacen(':', "-", 1));
    want.extend(builds.values().map(|b| page_of(b.last().unwrap())));
    want.extend([page_of(&builds[SINGLE][1]), page_of(&builds[SINGLE][2])]);
    for p in &want {
        assert!(pages.contains_key(p), "{p} was not reached by the browser {ctx}");
    }
    assert!(r["links"]["checked"].as_u64().unwrap() >= want.len() as u64, "{ctx}");

    // the fleet table: one row per variant; the filter, typed key by key
    let fleet = &r["fleet"];
    assert_eq!(fleet["rows"], variants.len(), "{ctx}");
    let mut rows = strings(fleet, "/variants");
    rows.sort();
    assert_eq!(rows, variants, "one row per variant {ctx}");
    assert_eq!(fleet["count"], format!("{n} of {n} variants", n = variants.len()), "{ctx}");
    assert_eq!((fleet["countLive"].as_str(), fleet["filterType"].as_str()), (Some("polite"), Some("search")), "{ctx}");
    assert!(!fleet["filterLabel"].as_str().unwrap_or_default().is_empty(), "the filter's label has text {ctx}");
    for (got, (query, visible)) in arr(fleet, "/filters").iter().zip(&filters) {
        assert_eq!(got["query"], *query);
        let mut seen = strings(got, "/visible");
        seen.sort();
        assert_eq!(seen, *visible, "rows shown for '{query}' {ctx}");
        assert_eq!(got["hiddenAttr"], variants.len() - visible.len(), "rows hidden with the `hidden` attribute for '{query}' {ctx}");
        assert_eq!(got["count"], format!("{} of {} variants", visible.len(), variants.len()), "#count for '{query}' {ctx}");
    }
    assert_eq!(arr(fleet, "/filters").len(), filters.len());
    assert_eq!(strings(&fleet["cleared"], "/visible").len(), variants.len(), "clearing the filter shows every row {ctx}");
    assert_eq!(fleet["cleared"]["count"], format!("{n} of {n} variants", n = variants.len()), "{ctx}");

    // the rolled-back variant's timeline: the rollback with its reason, as text, below week 4's publish
    let items = arr(&r, "/rollback/items");
    assert_eq!(r["rollback"]["timeline"], true, "variants/{SINGLE}.html has <ol id=timeline> {ctx}");
    let back = items.iter().position(|i| i["kind"] == "rollback").unwrap_or_else(|| panic!("no li[data-kind=rollback] {ctx}"));
    assert_eq!(items[back]["reason"], REASON, "the rollback's .reason {ctx}");
    let links = strings(&items[back], "/digestLinks");
    for d in [&builds[SINGLE][2], &builds[SINGLE][1]] {
        assert!(links.iter().any(|l| l.contains(&d.replacen(':', "-", 1))), "the rollback links from and to: {d} not in {links:?} {ctx}");
    }
    let newest = items.iter().position(|i| strings(i, "/digestLinks").iter().any(|l| l.contains(&builds[SINGLE][3].replacen(':', "-", 1))));
    assert!(newest.is_some_and(|n| n < back), "newest first: week 4's publish ({newest:?}) comes before the rollback ({back}) {ctx}");
    for kind in ["publish", "promote", "rollback", "eol"] {
        assert!(items.iter().any(|i| i["kind"] == kind), "a li[data-kind={kind}] on {SINGLE}'s timeline {ctx}");
    }

    // the keyboard: the skip link first, then the filter before the table; the focus shows
    let kb = &r["keyboard"];
    assert_eq!(kb["skip"], 0, "the first Tab reaches a skip link {ctx}");
    let tabs = arr(kb, "/tabs");
    let filter = kb["filter"].as_i64().unwrap();
    let first_row_link = tabs.iter().position(|t| t["inMain"] == true && t["href"].as_str().is_some_and(|h| h.contains("variants/") || h.contains("digests/")));
    assert!(filter > 0 && first_row_link.is_none_or(|l| (filter as usize) < l), "Tab reaches #filter after the skip link, before the table ({filter}, {first_row_link:?}) {ctx}");
    for t in tabs.iter().filter(|t| !t.is_null()) {
        assert_eq!((t["visible"].as_bool(), t["onScreen"].as_bool()), (Some(true), Some(true)), "the focus is visible (outline or box-shadow) and on screen: {t} {ctx}");
    }
    assert_eq!(kb["afterSkip"]["inMain"], true, "after the skip link, Tab goes on inside <main> {ctx}");

    // every page: one h1, no skipped heading level, th with scope, labelled inputs, lang, contrast
    for (p, a) in pages {
        assert_eq!(a["h1"], 1, "{p}: exactly one h1 {ctx}");
        assert_eq!(arr(a, "/headingSkips"), &Vec::<Value>::new(), "{p}: heading levels {ctx}");
        assert_eq!(arr(a, "/thWithoutScope"), &Vec::<Value>::new(), "{p}: th without scope {ctx}");
        assert_eq!(arr(a, "/unlabeled"), &Vec::<Value>::new(), "{p}: inputs without a label {ctx}");
        assert_eq!(arr(a, "/imagesWithoutAlt"), &Vec::<Value>::new(), "{p} {ctx}");
        assert_eq!(arr(a, "/emptyLinks"), &Vec::<Value>::new(), "{p}: links without text {ctx}");
        assert!(a["lang"].as_str().is_some_and(|l| !l.is_empty()), "{p}: html[lang] {ctx}");
        assert!(a["title"].as_str().is_some_and(|l| !l.is_empty()), "{p}: a <title> {ctx}");
        assert_eq!(a["main"], 1, "{p}: one <main> {ctx}");
        for scheme in ["contrast", "contrastDark"] {
            for part in ["body", "link", "cell", "badge"] {
                assert_eq!(a[scheme][part]["failing"], 0, "{p}: {scheme} of {part} text below 4.5:1: {} {ctx}", a[scheme][part]["failures"]);
            }
        }
    }
    let index = &pages["index.html"];
    assert!(strings(index, "/fleetTh").iter().all(|s| s == "col" || s == "row") && !arr(index, "/fleetTh").is_empty(), "#fleet th scope {ctx}");
    for part in ["body", "link", "cell", "badge"] {
        assert!(index["contrast"][part]["checked"].as_u64().unwrap() > 0, "the fleet page has {part} text to measure {ctx}");
    }

    // screenshots at 1280 and 390 px: the width asked for, not blank; no sideways page scroll
    let shots = arr(&r, "/shots");
    assert_eq!(shots.len(), 8, "{ctx}");
    for s in shots {
        let file = PathBuf::from(s["file"].as_str().unwrap());
        assert!(file.starts_with(&out), "{}", file.display());
        let img = shot(&file);
        eprintln!("site_browser: {} at {}px: {img:?}", s["page"], s["width"]);
        let width = s["width"].as_u64().unwrap() as u32;
        assert!(s["scrollWidth"].as_u64() <= s["innerWidth"].as_u64(), "{} at {width}px scrolls sideways (wide tables scroll in their own box, long digests wrap): {s}", s["page"]);
        assert_eq!(img.width, width, "{}", file.display());
        assert!(img.height >= if width == 1280 { 800 } else { 844 }, "a full page: {img:?} {}", file.display());
        assert!(img.colours >= 16 && img.luma_sd > 10.0 && img.background_share < 0.97, "not blank: {img:?} {}", file.display());
    }
}
