//! `mark-eol` and `usages --eol-marks` against the real registry (skopeo reads the marks):
//! a rejected digest and a long-superseded one get docker-tools' lifecycle referrer, a
//! second run changes nothing, a dry run writes nothing, current digests are never marked,
//! and a consumer pinned to a marked digest is told what replaces it.

use serde_json::Value;

use crate::fleet::{Fleet, REPO, SINGLE};
use crate::records_support::referrers;

const T0: &str = "2026-11-02T09:00:00Z";
const LIFECYCLE: &str = "application/vnd.microsoft.artifact.lifecycle";
const EOL: &str = "vnd.microsoft.artifact.lifecycle.end-of-life.date";

fn t(hours: u32) -> String {
    (chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::TimeDelta::hours(i64::from(hours))).to_rfc3339()
}

fn marks(f: &Fleet, digest: &str) -> Vec<Value> {
    referrers(f, digest).into_iter().filter(|e| e["artifactType"] == LIFECYCLE).collect()
}

#[test]
fn rejected_and_long_superseded_digests_are_marked_and_pins_to_them_are_flagged() {
    let mut f = Fleet::new("0s");
    let mut d = Vec::new();
    for (n, seed) in [(0u32, 1u64), (24, 2), (48, 3)] {
        if n > 0 {
            f.change_sources();
        }
        let (dir, digest) = f.build(SINGLE, seed);
        f.at(&t(n), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
        f.at(&t(n + 1), &["promote", "--variant", SINGLE]).code(0);
        d.push(digest);
    }
    f.at(&t(50), &["rollback", SINGLE]).code(0); // latest: d[1]; d[2] rejected
    f.change_sources();
    let (dir, d4) = f.build(SINGLE, 4);
    f.at(&t(51), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0); // staging: d4

    // a dry run says what it would mark and writes nothing
    let dry = f.at(&t(400), &["mark-eol", "--dry-run", "--output", "json"]).code(0).json();
    assert_eq!(dry["results"].as_array().unwrap().len(), 2, "{dry:#}");
    assert!(marks(&f, &d[0]).is_empty() && marks(&f, &d[2]).is_empty());
    // people read marks, not moves
    let human = f.at(&t(400), &["mark-eol", "--dry-run"]).code(0).stdout.clone();
    assert!(human.ends_with("dry run (nothing changed): 1 variant: 2 to mark\n") && !human.contains("moved"), "{human}");

    let doc = f.at(&t(400), &["mark-eol", "--output", "json"]).code(0).json();
    let marked: Vec<&str> = doc["results"].as_array().unwrap().iter().filter(|r| r["action"] == "moved").map(|r| r["to"].as_str().unwrap()).collect();
    assert_eq!(marked.len(), 2, "{doc:#}");
    assert!(marked.contains(&d[0].as_str()) && marked.contains(&d[2].as_str()), "{doc:#}");
    // rejected: end of life the day of the rollback; superseded: when it left every channel (t25) + 7d
    assert_eq!(marks(&f, &d[2])[0]["annotations"][EOL], "2026-11-04");
    assert_eq!(marks(&f, &d[0])[0]["annotations"][EOL], "2026-11-10");
    // docker-tools' shape, read straight from the registry: an OCI artifact whose subject is the digest
    let artifact = crate::records_support::skopeo_raw(&f, marks(&f, &d[0])[0]["digest"].as_str().unwrap()).unwrap();
    assert_eq!(artifact["artifactType"], LIFECYCLE);
    assert_eq!(artifact["subject"]["digest"], d[0].as_str());
    assert_eq!(artifact["annotations"][EOL], "2026-11-10");
    // what channels point at is never marked
    assert!(marks(&f, &d[1]).is_empty() && marks(&f, &d4).is_empty());
    // idempotent
    let again = f.at(&t(401), &["mark-eol", "--output", "json"]).code(0).json();
    assert!(again["results"].as_array().unwrap().iter().all(|r| r["action"] == "unchanged"), "{again:#}");
    let human = f.at(&t(401), &["mark-eol"]).code(0).stdout.clone();
    assert!(human.ends_with("1 variant: 2 already marked\n"), "{human}");
    assert_eq!(marks(&f, &d[0]).len(), 1);

    // a consumer pinned to marked digests is told what replaces them
    f.sb.write("consumer/ci.yml", &format!("a: {REPO}:{SINGLE}-latest@{}\nb: {REPO}:{SINGLE}-staging@{}\nc: {REPO}:{SINGLE}-latest@{}\n", d[0], d[2], d[1]));
    let u = f.at(&t(402), &["usages", "consumer", "--eol-marks", "--output", "json"]).code(0).json();
    let refs = u["references"].as_array().unwrap();
    assert_eq!(refs[0]["endOfLifeMarked"], "2026-11-10", "{u:#}");
    assert_eq!(refs[0]["replacedBy"], format!("{REPO}:{SINGLE}-latest@{}", d[1]));
    assert!(refs[0]["findings"].as_array().unwrap().iter().any(|x| x.as_str().unwrap().starts_with("eol-marked")), "{u:#}");
    assert_eq!(refs[1]["replacedBy"], format!("{REPO}:{SINGLE}-staging@{d4}"));
    assert!(refs[2].get("endOfLifeMarked").is_none(), "the current digest is not flagged: {u:#}");
    let strict = f.at(&t(402), &["usages", "consumer", "--eol-marks", "--strict"]);
    strict.code(1);
    assert!(strict.stdout.contains("eol-marked"), "{}", strict.stdout);
    // without --eol-marks, usages stays offline and says nothing of marks
    let offline = f.at(&t(402), &["usages", "consumer", "--output", "json"]).code(0).json();
    assert!(offline["references"][0].get("endOfLifeMarked").is_none());
}
