//! gc of everything imgctl writes, against real registries (read back from their storage and
//! with skopeo): a mirror is collected by the same rules and keeps what the primary keeps;
//! the records of a digest that is gone (left by a killed gc) go; verification records go once
//! their channel reached the digest, and stay while it may still be promoted.

use std::process::Command;

use imgctl_testkit::require_tool;

use crate::crash_support::{MIRROR_REPO, RepoState, World, manifests, t};
use crate::fleet::{Fleet, REPO, SINGLE};
use crate::records_support::referrers;

fn skopeo(args: &[&str]) {
    let out = Command::new(require_tool("skopeo", "skopeo")).args(args).output().expect("run skopeo");
    assert!(out.status.success(), "skopeo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn line<'a>(doc: &'a serde_json::Value, digest: &str, mirror: bool) -> &'a serde_json::Value {
    doc["results"].as_array().unwrap().iter().find(|l| l["digest"] == digest && l.get("mirror").is_some() == mirror).unwrap_or_else(|| panic!("no line for {digest} (mirror: {mirror}): {doc:#}"))
}

#[test]
fn a_mirror_is_collected_like_the_primary_and_keeps_what_the_primary_keeps() {
    let mut w = World::new();
    w.configure(true, true);
    let mut d = Vec::new();
    for k in 0..5 {
        if k > 0 {
            w.f.change_sources();
        }
        let (dir, digest) = w.f.build(SINGLE, 500 + k as u64);
        w.run(&t(2 * k), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
        w.run(&t(2 * k + 1), &["promote", "--variant", SINGLE]).code(0);
        d.push(digest);
    }
    // someone's own tag on the primary only keeps the oldest build there — and so on the mirror
    let (primary, mirror) = (w.f.reg.host(), w.mirror.host());
    skopeo(&["copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", &format!("docker://{primary}/{REPO}@{}", d[0]), &format!("docker://{primary}/{REPO}:kept-by-hand")]);
    let later = t(24 * 60);
    let plan = w.run(&later, &["gc", "--keep", "1", "--older-than", "1h", "--output", "json"]).code(0).json();
    assert_eq!(line(&plan, &d[1], false)["action"], "deleted", "{plan:#}");
    assert_eq!(line(&plan, &d[1], true)["action"], "deleted", "{plan:#}");
    let on_mirror = line(&plan, &d[0], true);
    assert_eq!(on_mirror["action"], "kept");
    assert!(on_mirror["reason"].as_str().unwrap().contains("kept on the primary"), "{on_mirror:#}");
    assert_eq!(on_mirror["mirror"], format!("{}/{MIRROR_REPO}", w.mirror_proxy.host()));
    assert!(manifests(&w.mirror.storage_root(), MIRROR_REPO).contains(&d[1]), "a dry run deletes nothing");

    let applied = w.run(&later, &["gc", "--apply", "--keep", "1", "--older-than", "1h", "--output", "json"]).code(0).json();
    assert_eq!(line(&applied, &d[1], true)["action"], "deleted", "{applied:#}");
    let (p, m) = (RepoState::read(&w.f.reg.storage_root(), REPO), RepoState::read(&w.mirror.storage_root(), MIRROR_REPO));
    assert!(!p.tags.values().any(|x| *x == d[1]) && !m.tags.values().any(|x| *x == d[1]), "{} is gone from both", d[1]);
    assert!(m.tags.values().any(|x| *x == d[0]), "the mirror keeps what the primary keeps");
    // the mirror holds the same tags as the primary, but the hand-made one and the records
    let mut want = p.tags.clone();
    want.remove("kept-by-hand");
    assert_eq!(m.tags, want, "{}", m.diff(&RepoState { tags: want.clone(), ..Default::default() }));
    assert!(referrers(&w.f, &d[1]).is_empty(), "the records of a deleted digest go with it");
    // a third registry client agrees
    let out = Command::new(require_tool("skopeo", "skopeo")).args(["list-tags", "--tls-verify=false", &format!("docker://{mirror}/{MIRROR_REPO}")]).output().unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["Tags"].as_array().unwrap().len(), m.tags.len());
    w.reset_counts();
    let again = w.run(&later, &["gc", "--apply", "--keep", "1", "--older-than", "1h", "--output", "json"]).code(0).json();
    assert_eq!(again["requests"]["delete"], 0, "{again:#}");
    assert_eq!(w.writes(), 0);

    // a killed gc that deleted a digest but not its records: the next gc deletes them
    let records_of = &d[4];
    let artifacts: Vec<String> = referrers(&w.f, records_of).iter().map(|e| e["digest"].as_str().unwrap().to_string()).collect();
    assert!(!artifacts.is_empty());
    skopeo(&["delete", "--tls-verify=false", &format!("docker://{primary}/{REPO}@{records_of}")]);
    let swept = w.run(&later, &["gc", "--apply", "--keep", "1", "--older-than", "1h", "--output", "json"]).code(0).json();
    let index = swept["results"].as_array().unwrap().iter().find(|l| l["tags"][0] == records_of.replacen(':', "-", 1)).unwrap_or_else(|| panic!("{swept:#}"));
    assert_eq!(index["action"], "deleted");
    assert!(index["reason"].as_str().unwrap().contains("which is deleted or gone"), "{index:#}");
    let held = manifests(&w.f.reg.storage_root(), REPO);
    assert!(artifacts.iter().all(|a| !held.contains(a)), "the orphaned record artifacts are gone too");
    assert!(!RepoState::read(&w.f.reg.storage_root(), REPO).records.contains_key(&records_of.replacen(':', "-", 1)));
}

#[test]
fn verification_records_stay_while_they_matter_and_go_once_the_channel_reached_the_digest() {
    let f = Fleet::new("0s");
    let (dir, _) = f.build(SINGLE, 1);
    f.at(&t(0), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    f.at(&t(1), &["promote", "--variant", SINGLE]).code(0);
    let mut f = f;
    f.change_sources();
    let (dir, b) = f.build(SINGLE, 2);
    f.at(&t(2), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    crate::verify_gate::gate(&f, r#"{ command: "exit 3" }"#);
    f.at(&t(3), &["promote", "--variant", SINGLE]);
    let record = format!("{SINGLE}-latest-{}", &b[7..19]);
    let records_repo = format!("{REPO}/verifications");
    let tags = |f: &Fleet| RepoState::read(&f.reg.storage_root(), &records_repo).tags;
    assert!(tags(&f).contains_key(&record), "the failure is recorded: {:?}", tags(&f));
    let plan = f.at(&t(4), &["gc", "--output", "json"]).code(0).json();
    let kept = plan["results"].as_array().unwrap().iter().find(|l| l["tags"][0] == record.as_str()).unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!(kept["action"], "kept");
    assert!(kept["reason"].as_str().unwrap().contains("may still be promoted to latest"), "{kept:#}");
    // the build passes a fixed check and is promoted: its failure record has done its job
    f.edit_manifest(|text| text.replace(", verify: { command: \"exit 3\" }", ""));
    f.at(&t(5), &["promote", "--variant", SINGLE]).code(0);
    let applied = f.at(&t(6), &["gc", "--apply", "--output", "json"]).code(0).json();
    let gone = applied["results"].as_array().unwrap().iter().find(|l| l["tags"][0] == record.as_str()).unwrap_or_else(|| panic!("{applied:#}"));
    assert_eq!(gone["action"], "deleted", "{applied:#}");
    assert!(gone["reason"].as_str().unwrap().contains("latest has been at"), "{gone:#}");
    assert!(tags(&f).is_empty(), "{:?}", tags(&f));
}
