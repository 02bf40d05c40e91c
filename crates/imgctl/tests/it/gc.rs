//! `gc` end to end against the real registry, cross-checked with skopeo: a generated
//! history (six builds of three variants, one a multi-arch index, promoted, then rolled
//! back) is cleaned; everything protected — children of kept indexes included — still
//! resolves, everything planned is gone, rollback still works, a second run deletes
//! nothing; and a registry with deletes disabled gives a clear error.

use std::collections::BTreeSet;
use std::process::Command;

use imgctl_registry::Registry;
use imgctl_testkit::{TestRegistry, require_tool};

use crate::fleet::{Fleet, REPO, SINGLE, VARIANTS};

const T0: &str = "2026-09-01T09:00:00Z";

pub(crate) fn t(hours: u32) -> String {
    (chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::TimeDelta::hours(i64::from(hours))).to_rfc3339()
}

/// Whether `digest` resolves in the repository, as skopeo sees it; its raw manifest.
pub(crate) fn skopeo_raw(f: &Fleet, digest: &str) -> Option<serde_json::Value> {
    let skopeo = require_tool("skopeo", "skopeo");
    let out = Command::new(skopeo)
        .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{}/{REPO}@{digest}", f.reg.host())])
        .output()
        .expect("run skopeo");
    out.status.success().then(|| serde_json::from_slice(&out.stdout).expect("manifest JSON"))
}

pub(crate) fn children(f: &Fleet, index: &str) -> Vec<String> {
    let raw = skopeo_raw(f, index).expect("index resolves");
    raw["manifests"].as_array().expect("an index").iter().map(|m| m["digest"].as_str().unwrap().to_string()).collect()
}

pub(crate) fn tags(f: &Fleet) -> Vec<String> {
    imgctl_testkit::block_on(f.reg.client().list_tags(REPO)).expect("list tags")
}

pub(crate) fn actions(doc: &serde_json::Value, action: &str) -> BTreeSet<String> {
    doc["results"].as_array().unwrap().iter().filter(|r| r["action"] == action).map(|r| r["digest"].as_str().unwrap().to_string()).collect()
}

/// Six builds of every variant, each published then promoted (soak 0); then `latest`
/// of every variant is rolled back once. Returns builds[variant][n].
pub(crate) fn history(f: &mut Fleet) -> Vec<Vec<String>> {
    let mut builds = vec![Vec::new(); VARIANTS.len()];
    for n in 0..6u32 {
        if n > 0 {
            f.change_sources();
        }
        for (i, v) in VARIANTS.iter().enumerate() {
            let (dir, d) = f.build(v, u64::from(n) * 10 + i as u64);
            f.at(&t(n * 24), &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
            builds[i].push(d);
        }
        f.at(&t(n * 24 + 1), &["promote"]).code(0);
    }
    for v in VARIANTS {
        f.at(&t(200), &["rollback", v]).code(0);
    }
    builds
}

#[test]
#[allow(clippy::print_stderr)] // prints the request figures quoted in docs/GC.md
fn gc_deletes_only_what_nothing_protects_and_rollback_still_works() {
    let mut f = Fleet::new("0s");
    let mut builds = history(&mut f);
    // within the retention window (gc runs at t(960), --older-than 7d), four more builds of
    // one variant reach staging: build 6 is protected by nothing but its young release tag
    for n in 6..10u32 {
        f.change_sources();
        let (dir, d) = f.build(SINGLE, u64::from(n) * 10);
        f.at(&t(24 * 38 + n), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
        builds[0].push(d);
    }
    let multi = &builds[2];
    // what the rules say (docs/GC.md), worked out by hand: staging is at build 5 (build 9
    // for the first variant: 9, 8, 7 newest, 6 in the window) and would roll back to 4
    // then 3; latest is at 4 (5 rejected), would roll back to 3 then 2, and its 3 newest
    // digests are 4, 5, 3; --keep 1 keeps the newest build. So builds 2.. stay, builds 0
    // and 1 go — for the index, with its children.
    let mut expect_gone: BTreeSet<String> = builds.iter().flat_map(|b| b[..2].iter().cloned()).collect();
    expect_gone.extend(multi[..2].iter().flat_map(|d| children(&f, d)));
    let mut expect_kept: BTreeSet<String> = builds.iter().flat_map(|b| b[2..].iter().cloned()).collect();
    expect_kept.extend(multi[2..].iter().flat_map(|d| children(&f, d)));
    assert!(expect_gone.is_disjoint(&expect_kept), "test builds share children");
    let channel_tags: Vec<String> = VARIANTS.iter().flat_map(|v| [format!("{v}-staging"), format!("{v}-latest")]).chain(["ubuntu-22.04-helix-latest".into(), "ubuntu-22.04-helix-staging".into()]).collect();
    let before: Vec<Option<String>> = channel_tags.iter().map(|t| f.skopeo_digest(t)).collect();
    let tags_before = tags(&f).len();
    let now = t(24 * 40);
    let args = ["gc", "--keep", "1", "--older-than", "7d", "--output", "json"];

    // dry run: the plan, nothing deleted
    let plan = f.at(&now, &args).code(0).json();
    assert_eq!(plan["dryRun"], true);
    assert_eq!(actions(&plan, "deleted"), expect_gone, "{plan:#}");
    assert!(expect_kept.is_subset(&actions(&plan, "kept")), "{plan:#}");
    assert!(expect_gone.iter().all(|d| skopeo_raw(&f, d).is_some()));
    let requests = &plan["requests"];
    eprintln!("gc plan of {tags_before} tags: {requests}");
    assert_eq!(requests["list"], 1);
    assert!(requests["head"].as_u64().unwrap() < tags_before as u64 / 2, "release tags are not HEADed one by one: {requests}");
    let in_window = plan["results"].as_array().unwrap().iter().find(|r| r["digest"] == builds[0][6].as_str()).unwrap();
    assert!(in_window["reason"].as_str().unwrap().contains("within the retention window"), "{in_window:#}");
    let kept_multi = plan["results"].as_array().unwrap().iter().find(|r| r["digest"] == multi[2].as_str()).unwrap();
    assert!(kept_multi["reason"].as_str().unwrap().contains("rollback target #2"), "{kept_multi:#}");

    // apply
    let applied = f.at(&now, &["gc", "--keep", "1", "--older-than", "7d", "--apply", "--output", "json"]).code(0).json();
    assert_eq!(applied["dryRun"], false);
    assert_eq!(actions(&applied, "deleted"), expect_gone, "{applied:#}");
    assert_eq!(applied["requests"]["list"], 2, "one listing to plan, one to re-check");
    assert_eq!(applied["requests"]["delete"], expect_gone.len() as u64, "one DELETE per planned digest");
    eprintln!("gc --apply: {}", applied["requests"]);
    for d in &expect_gone {
        assert!(skopeo_raw(&f, d).is_none(), "{d} should be gone");
    }
    for d in &expect_kept {
        assert!(skopeo_raw(&f, d).is_some(), "{d} must still resolve");
    }
    let after: Vec<Option<String>> = channel_tags.iter().map(|t| f.skopeo_digest(t)).collect();
    assert_eq!(before, after, "channel and alias tags untouched");
    // release tags of deleted digests went with them; every other tag stayed
    let gone12: Vec<&str> = expect_gone.iter().map(|d| &d[7..19]).collect();
    let left = tags(&f);
    assert!(left.iter().all(|t| gone12.iter().all(|g| !t.contains(g))), "{left:?}");
    assert!(left.len() < tags_before);

    // rollback still works: latest (at build 4, 5 rejected) goes back to build 3
    for (i, v) in VARIANTS.iter().enumerate() {
        let doc = f.at(&t(24 * 40 + 1), &["rollback", v, "--output", "json"]).code(0).json();
        assert_eq!(doc["results"][0]["action"], "moved", "{doc:#}");
        assert_eq!(f.skopeo_digest(&format!("{v}-latest")).as_deref(), Some(builds[i][3].as_str()), "{v}");
    }
    assert!(children(&f, &multi[3]).iter().all(|c| skopeo_raw(&f, c).is_some()));

    // a second gc deletes nothing
    let again = f.at(&t(24 * 40 + 2), &["gc", "--keep", "1", "--older-than", "7d", "--apply", "--output", "json"]).code(0).json();
    assert!(actions(&again, "deleted").is_empty(), "{again:#}");
    assert_eq!(again["requests"]["delete"], 0);
    // the human form says what goes, counts what stays per reason, and --verbose says why each stays
    let human = f.at(&t(24 * 40 + 2), &["gc", "--keep", "1", "--older-than", "7d"]);
    human.code(0);
    assert!(human.stdout.starts_with("nothing to delete\nkept 24 digests: ") && human.stdout.contains(" 6 on a channel,") && human.stdout.contains("0 to delete"), "{}", human.stdout);
    let verbose = f.at(&t(24 * 40 + 2), &["gc", "--keep", "1", "--older-than", "7d", "--verbose"]);
    verbose.code(0);
    assert!(verbose.stdout.contains("channel tag ubuntu-22.04-helix-amd64-latest") && verbose.stdout.contains("0 to delete"), "{}", verbose.stdout);
}

#[test]
fn a_registry_with_deletes_disabled_is_a_clear_error() {
    let reg = TestRegistry::start_without_delete();
    let host = reg.host();
    let mut f = Fleet::with_host(reg, host.clone(), "0s");
    let mut digests = Vec::new();
    for n in 0..5u32 {
        if n > 0 {
            f.change_sources();
        }
        let (dir, d) = f.build(SINGLE, u64::from(n) + 1);
        f.at(&t(n), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
        digests.push(d);
    }
    let r = f.at(&t(1000), &["gc", "--keep", "0", "--older-than", "0s", "--apply", "--output", "json"]);
    r.code(1);
    assert!(r.stderr.contains("deletes disabled") && r.stderr.contains("HTTP 405") && r.stderr.contains(&format!("{host}/{REPO}")), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let doc = r.json();
    assert!(!actions(&doc, "failed").is_empty(), "{doc:#}");
    assert!(actions(&doc, "deleted").is_empty(), "{doc:#}");
    for d in &digests {
        assert!(skopeo_raw(&f, d).is_some(), "nothing deleted");
    }
}

#[test]
fn a_bounded_gc_shows_progress_in_ci_logs_and_leaves_the_rest_for_the_next_run() {
    let mut f = Fleet::new("0s");
    let builds = history(&mut f);
    let now = t(24 * 40);
    let plan = f.at(&now, &["gc", "--keep", "1", "--older-than", "7d", "--output", "json"]).code(0).json();
    let planned = actions(&plan, "deleted");
    assert!(planned.len() > 4, "{plan:#}");
    // a bounded run: at most 3 deletions (the index of MULTI counts with its children), exit 0
    let first = f.at(&now, &["gc", "--keep", "1", "--older-than", "7d", "--apply", "--max-deletes", "3", "--output", "json"]);
    first.code(0);
    let doc = first.json();
    let deleted = actions(&doc, "deleted");
    assert!(!deleted.is_empty() && deleted.len() <= 3, "{doc:#}");
    assert_eq!(doc["remainingDeletes"].as_u64().unwrap() as usize, planned.len() - deleted.len(), "{doc:#}");
    let deferred: Vec<_> = doc["results"].as_array().unwrap().iter().filter(|r| r["reason"].as_str().unwrap_or("").contains("--max-deletes 3 reached")).collect();
    assert_eq!(deferred.len(), planned.len() - deleted.len(), "{doc:#}");
    assert!(deferred.iter().all(|r| r["action"] == "kept"));
    for d in &deleted {
        assert!(skopeo_raw(&f, d).is_none(), "{d} deleted");
    }
    for d in planned.difference(&deleted) {
        assert!(skopeo_raw(&f, d).is_some(), "{d} left for the next run");
    }
    // an index is never deleted without its children, nor children without their index
    for idx in &builds[2][..2] {
        let kids = children_of_plan(&plan, idx);
        assert!(kids.iter().all(|k| deleted.contains(k) == deleted.contains(idx)), "index {idx} and its children go together: {doc:#}");
    }
    // stderr is not a terminal here: plain progress lines, one at the start and one per
    // digest at this size (every twentieth of the work or every 5 s on large runs)
    let lines: Vec<&str> = first.stderr.lines().filter(|l| l.starts_with("gc: ")).collect();
    assert_eq!(lines.first().copied(), Some(format!("gc: {} to go", deleted.len()).as_str()), "{}", first.stderr);
    assert!(lines.last().unwrap().starts_with(&format!("gc: deleted {n}/{n} (0 failed", n = deleted.len())), "{}", first.stderr);
    assert_eq!(lines.len(), deleted.len() + 1, "{}", first.stderr);
    // the human summary says how many are left
    let human = f.at(&now, &["gc", "--keep", "1", "--older-than", "7d", "--max-deletes", "1"]);
    human.code(0);
    assert!(human.stdout.contains("--max-deletes reached:") && human.stdout.contains("more digest"), "{}", human.stdout);
    // the next unbounded run deletes the rest, and then there is nothing left to do
    let rest = f.at(&now, &["gc", "--keep", "1", "--older-than", "7d", "--apply", "--output", "json"]).code(0).json();
    assert_eq!(actions(&rest, "deleted"), planned.difference(&deleted).cloned().collect(), "{rest:#}");
    assert_eq!(rest["remainingDeletes"], 0);
}

/// The digests the plan deletes as children of `index`.
fn children_of_plan(plan: &serde_json::Value, index: &str) -> BTreeSet<String> {
    let short = &index[..19];
    plan["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["reason"].as_str().unwrap_or("").contains(&format!("child of deleted index {short}")))
        .map(|r| r["digest"].as_str().unwrap().to_string())
        .collect()
}
