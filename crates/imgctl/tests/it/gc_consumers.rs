//! `gc --protect-usages` and `--protect-from` against the real registry (skopeo checks what
//! is left): digests consumers pin stay whatever their age and the plan names file:line;
//! a deleted digest's records (its `sha256-<hex>` index and artifacts) go with it, a kept
//! digest's stay.

use crate::fleet::{ARM, Fleet, REPO};
use crate::records_support::{enable_records, referrers, skopeo_raw};

const T0: &str = "2026-09-01T09:00:00Z";

fn t(hours: u32) -> String {
    (chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::TimeDelta::hours(i64::from(hours))).to_rfc3339()
}

fn kept_reason(doc: &serde_json::Value, digest: &str) -> String {
    let line = doc["results"].as_array().unwrap().iter().find(|r| r["digest"] == digest).unwrap_or_else(|| panic!("{digest} not in {doc:#}"));
    assert_eq!(line["action"], "kept", "{line:#}");
    line["reason"].as_str().unwrap().to_string()
}

#[test]
fn pinned_digests_stay_and_records_go_with_their_digest() {
    let mut f = Fleet::new("0s");
    enable_records(&f, "{ enabled: true }");
    let mut d = Vec::new();
    for n in 0..6u32 {
        if n > 0 {
            f.change_sources();
        }
        let (dir, digest) = f.build(ARM, 70 + u64::from(n));
        f.at(&t(n * 24), &["publish", ARM, "--image", dir.to_str().unwrap()]).code(0);
        f.at(&t(n * 24 + 1), &["promote", "--variant", ARM]).code(0);
        d.push(digest);
    }
    let now = t(6 * 24);
    let rules = ["gc", "--keep", "1", "--older-than", "1h", "--output", "json"];
    // the rules alone delete the three oldest builds
    let bare = f.at(&now, &rules).code(0).json();
    let planned: Vec<&str> = bare["results"].as_array().unwrap().iter().filter(|r| r["action"] == "deleted").map(|r| r["digest"].as_str().unwrap()).collect();
    for old in &d[..3] {
        assert!(planned.contains(&old.as_str()), "{old} not planned: {bare:#}");
    }
    // a consumer here pins the oldest; another repository's usages report pins the second
    f.sb.write("consumer/.github/workflows/ci.yml", &format!("jobs:\n  build:\n    container: {REPO}:{ARM}-latest@{}\n", d[0]));
    f.sb.write("elsewhere/Dockerfile", &format!("FROM {REPO}:{ARM}-latest@{}\n", d[1]));
    let report = f.at(&now, &["usages", "elsewhere", "--output", "json"]);
    report.code(0);
    f.sb.write("reports/other-repo.json", &report.stdout);

    let mut args: Vec<&str> = rules.to_vec();
    args.extend(["--protect-usages", "consumer", "--protect-from", "reports/other-repo.json"]);
    let plan = f.at(&now, &args).code(0).json();
    assert_eq!(kept_reason(&plan, &d[0]), "pinned by a consumer at consumer/.github/workflows/ci.yml:3");
    assert_eq!(kept_reason(&plan, &d[1]), "pinned by a consumer at elsewhere/Dockerfile:1");
    let mut human_args: Vec<&str> = args.iter().copied().filter(|a| *a != "--output" && *a != "json").collect();
    let human = f.at(&now, &human_args);
    human.code(0);
    assert!(human.stdout.contains(", 2 used by consumers,"), "{}", human.stdout);
    human_args.push("--verbose");
    let human = f.at(&now, &human_args);
    human.code(0);
    assert!(human.stdout.contains("consumer/.github/workflows/ci.yml:3"), "{}", human.stdout);

    args.push("--apply");
    f.at(&now, &args).code(0);
    assert!(skopeo_raw(&f, &d[0]).is_some() && skopeo_raw(&f, &d[1]).is_some(), "pinned digests stay");
    assert!(skopeo_raw(&f, &d[2]).is_none(), "the unpinned old build is deleted");
    // records: d2's index and artifacts are gone with it; the kept digests' records stay
    assert!(skopeo_raw(&f, &d[2].replacen(':', "-", 1)).is_none(), "d2's referrers index is deleted with it");
    for keep in [&d[0], &d[1], &d[5]] {
        let list = referrers(&f, keep);
        assert_eq!(list.len(), 2, "publish and promote records of {keep} stay: {list:#?}");
        for e in list {
            assert!(skopeo_raw(&f, e["digest"].as_str().unwrap()).is_some(), "a record of live {keep} was deleted");
        }
    }
    // a second run deletes nothing
    let again = f.at(&now, &args).code(0).json();
    assert!(again["results"].as_array().unwrap().iter().all(|r| r["action"] == "kept"), "{again:#}");
}

#[test]
fn a_bad_usages_report_is_a_clear_error() {
    let f = Fleet::new("0s");
    f.sb.write("report.json", "{\"not\": \"a report\"}");
    let r = f.at(&t(0), &["gc", "--protect-from", "report.json"]);
    r.code(1);
    assert!(r.stderr.contains("report.json") && r.stderr.contains("usages --output json"), "{}", r.stderr);
}
