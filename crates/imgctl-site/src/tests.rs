//! Rendering a fixed model: every link of every page names a file of the site, values are
//! escaped, feeds read back with `feed-rs` (a parser independent of the writer) and are
//! capped, `fleet.json` is snapshotted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeZone, Utc};
use imgctl_engine::site::{ChannelInfo, Consumer, DigestFacts, Entry, EntryKind, SiteData};
use imgctl_engine::status::{ChannelState, Pending, StatusReport, VariantStatus};
use imgctl_core::results::BlockedBy;

fn d(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

fn at(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap() + chrono::TimeDelta::hours(h)
}

fn variant(name: &str, staging: u8, latest: u8, pending: Option<Pending>) -> VariantStatus {
    let ch = |n: u8, h| ChannelState { digest: Some(d(n)), since: Some(at(h)), pending: None };
    let mut channels = indexmap::IndexMap::new();
    channels.insert("staging".to_string(), ch(staging, 100));
    channels.insert("latest".to_string(), ChannelState { pending: pending.clone(), ..ch(latest, 30) });
    VariantStatus { variant: name.into(), os: "Linux-Ubuntu-22.04-AMD64".into(), eol: Some(chrono::NaiveDate::from_ymd_opt(2027, 6, 1).unwrap()), retired: None, replaced_by: None, channels, pending, error: None, drift: Vec::new() }
}

fn mv(h: i64, channel: &str, kind: EntryKind, from: Option<u8>, to: u8, reason: Option<&str>) -> Entry {
    Entry { time: at(h), channel: Some(channel.into()), kind, to: Some(d(to)), from: from.map(d), reason: reason.map(str::to_string), tag: Some(format!("v-{channel}-{h}")) }
}

fn record(kind: &str, to: u8, note: Option<&str>) -> imgctl_engine::records::Recorded {
    let statement = serde_json::from_value(serde_json::json!({
        "variant": "a-amd64", "os": "Linux-Ubuntu-22.04-AMD64", "repository": "r.example/acme/images", "channel": "latest",
        "tag": "a-amd64-latest", "from": d(3), "to": d(to), "kind": kind, "time": at(40), "reason": "rolled back from it", "note": note, "tool": "imgctl 0.1.0"
    }))
    .unwrap();
    imgctl_engine::records::Recorded { record: d(99), statement: Some(statement), signed: true, verified: false, error: None }
}

/// Two variants: `a-amd64` rolled back (latest at 1, 3 rejected), `b-amd64` soaking.
pub fn model() -> SiteData {
    let soaking = Pending { digest: Some(d(5)), blocked_by: Some(BlockedBy::Soak), ready_at: Some(at(172)), reason: Some("soaking: 1d of 3d on staging".into()), ..Pending::default() };
    let rejected = Pending { digest: Some(d(3)), blocked_by: Some(BlockedBy::Rejected), reason: Some("rejected: the channel was rolled back from it".into()), ..Pending::default() };
    let mut b = variant("b-amd64", 5, 4, Some(soaking));
    b.retired = Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
    b.drift = vec![imgctl_engine::status::Drift { mirror: "mirror.example/acme/images".into(), channel: "latest".into(), digest: Some(d(9)), expected: Some(d(4)), error: None }];
    let status = StatusReport { variants: vec![variant("a-amd64", 3, 1, Some(rejected)), b], lifecycle: Default::default() };
    let timelines = BTreeMap::from([
        ("a-amd64".to_string(), vec![
            mv(40, "latest", EntryKind::Rollback, Some(3), 1, Some("<b>broke</b> the build & more")),
            mv(30, "latest", EntryKind::Forced, Some(1), 3, None),
            mv(20, "staging", EntryKind::Publish, Some(1), 3, None),
            Entry { time: at(10), channel: None, kind: EntryKind::Eol, to: None, from: None, reason: Some("variant retired".into()), tag: None },
            mv(0, "staging", EntryKind::Publish, None, 1, None),
        ]),
        ("b-amd64".to_string(), (0..150).map(|i| mv(150 - i, "staging", EntryKind::Publish, Some(6), 7, None)).collect()),
    ]);
    let facts = |n: u8, role: &'static str| DigestFacts {
        digest: d(n),
        roles: vec![imgctl_engine::site::Role { variant: "a-amd64".into(), channel: "latest".into(), role }],
        records: if n == 1 { vec![record("rollback", 1, Some("<b>broke</b> the build & more"))] } else { Vec::new() },
        listed: if n == 3 { vec![imgctl_engine::records::Listed { record: d(98), time: Some(at(20)), variant: "a-amd64".into(), channel: "staging".into(), kind: "publish".into(), signed: false }] } else { Vec::new() },
        eol_mark: None,
        sbom: None,
        no_sbom: Some("no SBOM is attached".into()),
        changes: Vec::new(),
        error: None,
    };
    SiteData {
        generated: at(200),
        repository: "r.example/acme/images".into(),
        channels: vec![
            ChannelInfo { name: "staging".into(), promotes_from: None, soak: None, schedule: None },
            ChannelInfo { name: "latest".into(), promotes_from: Some("staging".into()), soak: Some(imgctl_core::duration::Duration(259_200)), schedule: None },
        ],
        promoted: vec!["latest".into()],
        eol_warning: imgctl_core::duration::Duration(30 * 86_400),
        status,
        timelines,
        digests: BTreeMap::from([(d(1), facts(1, "current")), (d(3), facts(3, "previous"))]),
        consumers: vec![Consumer { at: "ci/<x>.yml:3".into(), tag: Some("a-amd64-latest".into()), digest: Some(d(1)), variant: Some("a-amd64".into()) }],
    }
}

fn files() -> BTreeMap<String, String> {
    crate::render(&model(), 3).into_iter().map(|(p, b)| (p, String::from_utf8(b).unwrap())).collect()
}

#[test]
fn every_link_of_every_page_names_a_file_of_the_site() {
    let files = files();
    let re = regex_lite(&files);
    assert!(re > 30, "{re} links checked");
    for p in ["index.html", "eol.html", "fleet.json", "site.css", "site.js", "feeds/fleet.atom", "feeds/a-amd64.atom", "variants/b-amd64.html"] {
        assert!(files.contains_key(p), "{p} missing: {:?}", files.keys());
    }
}

/// Checks the `href="…"`/`src="…"` of every HTML page; returns how many.
fn regex_lite(files: &BTreeMap<String, String>) -> usize {
    let mut n = 0;
    for (path, text) in files.iter().filter(|(p, _)| p.ends_with(".html")) {
        assert_eq!(text.matches("<h1").count(), 1, "{path}: one h1");
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        for attr in ["href=\"", "src=\""] {
            for chunk in text.split(attr).skip(1) {
                let link = chunk.split('"').next().unwrap();
                assert!(!link.contains("://") && !link.starts_with('/'), "{path}: {link} is not relative");
                let target = link.split('#').next().unwrap();
                if target.is_empty() {
                    continue;
                }
                let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
                for seg in target.split('/') {
                    if seg == ".." { parts.pop(); } else { parts.push(seg); }
                }
                assert!(files.contains_key(&parts.join("/")), "{path}: {link} names no file");
                n += 1;
            }
        }
    }
    n
}

#[test]
fn values_are_escaped_and_the_rollback_reason_is_on_the_variant_page() {
    let files = files();
    let page = &files["variants/a-amd64.html"];
    assert!(page.contains("<span class=\"reason\">&lt;b&gt;broke&lt;/b&gt; the build &amp; more</span>"), "{page}");
    assert!(!page.contains("<b>broke"), "markup from a reason is never markup");
    assert!(page.contains("<h2>Consumers</h2>") && page.contains("<code>ci/&lt;x&gt;.yml:3</code> a-amd64-latest pinned to "), "the variant's consumers");
    let digest = &files[&crate::digest_path(&d(1))];
    assert!(digest.contains("ci/&lt;x&gt;.yml:3") && digest.contains("signed (not checked"), "{digest}");
    let previous = &files[&crate::digest_path(&d(3))];
    assert!(previous.contains("<th scope=\"row\">a-amd64 staging</th><td>publish</td>") && previous.contains("<td>unsigned</td>"), "a record from the referrers list: {previous}");
    let index = &files["index.html"];
    assert!(index.contains("<tr data-variant=\"a-amd64\">") && index.contains("<tr data-variant=\"b-amd64\">"));
    assert!(index.contains(">retired</span>"), "the retired badge");
    assert!(index.contains("rejected</span>") && !index.contains("rejected</span> <a href=\"digests/sha256-0303030303030303030303030303030303030303030303030303030303030303.html\"><code title=\"sha256:0303030303030303030303030303030303030303030303030303030303030303\">sha256:030303030303</code></a> <span class=\"why\">rejected:"), "the state is not said twice");
}

#[test]
fn pending_states_drift_and_the_eol_calendar_are_shown() {
    let files = files();
    let index = &files["index.html"];
    let b = index.split("<tr data-variant=\"b-amd64\">").nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(b.contains("drift: mirror.example/acme/images latest: <code>sha256:090909090909</code>"), "{b}");
    let a = &files["variants/b-amd64.html"];
    assert!(a.contains("soaking</span>") && a.contains("1d of 3d on staging") && a.contains("ready <time datetime=\"2026-11-09T13:00:00Z\">"), "the soak and its ready time");
    let eol = &files["eol.html"];
    assert!(eol.contains("<h1>End-of-life calendar</h1>") && eol.contains("<h2>2026</h2>") && eol.contains("<h2>2027</h2>"), "{eol}");
    assert!(eol.contains("<tr data-state=\"past\"><td>2026-11-01</td><th scope=\"row\"><a href=\"variants/b-amd64.html\">b-amd64</a></th><td>retired</td>"), "{eol}");
}

#[test]
fn the_feeds_read_back_with_feed_rs_and_are_capped() {
    let files = files();
    let fleet = feed_rs::parser::parse(files["feeds/fleet.atom"].as_bytes()).unwrap();
    assert_eq!(fleet.entries.len(), 155, "5 + 150 events (under the fleet cap of {})", crate::FLEET_ENTRIES);
    let b = feed_rs::parser::parse(files["feeds/b-amd64.atom"].as_bytes()).unwrap();
    assert_eq!(b.entries.len(), crate::VARIANT_ENTRIES, "a variant's feed holds its newest {}", crate::VARIANT_ENTRIES);
    let a = feed_rs::parser::parse(files["feeds/a-amd64.atom"].as_bytes()).unwrap();
    let ids: BTreeSet<&str> = a.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), 5, "unique ids");
    let first = &a.entries[0];
    assert_eq!(first.title.as_ref().unwrap().content, "a-amd64: rollback latest to sha256:010101010101");
    assert!(first.summary.as_ref().unwrap().content.ends_with("Reason: <b>broke</b> the build & more"), "{:?}", first.summary);
    assert_eq!(first.links.iter().map(|l| l.href.as_str()).collect::<Vec<_>>(), vec!["../variants/a-amd64.html", &format!("../{}", crate::digest_path(&d(1)))]);
}

#[test]
fn fleet_json_is_stable() {
    let files = files();
    let mut doc: serde_json::Value = serde_json::from_str(&files["fleet.json"]).unwrap();
    // the long history of b is the same entry 150 times: keep two
    doc["variants"][1]["history"].as_array_mut().unwrap().truncate(2);
    insta::assert_json_snapshot!("fleet_json", doc);
}

#[test]
fn any_number_of_threads_renders_the_same_files_in_the_same_order() {
    let m = model();
    let one = crate::render(&m, 1);
    for threads in [2, 3, 8] {
        assert!(crate::render(&m, threads) == one, "{threads} threads");
    }
}
