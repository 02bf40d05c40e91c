//! A wrong repository is an error, not success (issue 21): promote and status against a
//! repository that does not exist, or that holds no tag of the fleet, exit 1 naming the
//! registry and repository and what to check (registry, repository, credentials; publish
//! first) — they used to report every variant skipped and exit 0. Real registry.

use crate::fleet::{Fleet, REPO, SINGLE};

const NOW: &str = "2026-11-21T12:00:00Z";

fn assert_hint(run: &crate::support::Run, f: &Fleet, repo: &str, why: &str) {
    run.code(1);
    let want = format!("error: failed to find a tag of the fleet in repository '{repo}' on registry '{}': {why}", f.host);
    // distribution 2.8.2 lists an unknown repository as empty; registries that answer 404 say "does not exist"
    assert!(run.stderr.contains(&want), "want {want}\n{}", run.stderr);
    assert!(run.stderr.contains("check the registry") && run.stderr.contains("the credentials") && run.stderr.contains("publish first (`imgctl publish`)"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "no report on a misconfiguration: {}", run.stdout);
}

#[test]
fn a_repository_that_does_not_exist_fails_promote_and_status() {
    let f = Fleet::new("0s");
    for args in [&["promote"][..], &["promote", "--dry-run"], &["status"]] {
        let run = f.at(NOW, args);
        assert_hint(&run, &f, REPO, "the repository does not exist or has no tags");
    }
}

#[test]
fn a_misspelled_repository_fails_after_publishing_to_the_real_one() {
    let f = Fleet::new("0s");
    let (dir, _) = f.build(SINGLE, 1);
    f.at(NOW, &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    f.at(NOW, &["status"]).code(0);
    f.at(NOW, &["promote", "--dry-run"]).code(0);
    f.edit_manifest(|m| m.replace(&format!("repository: {REPO}"), &format!("repository: {REPO}z")));
    let run = f.at(NOW, &["promote"]);
    assert_hint(&run, &f, &format!("{REPO}z"), "the repository does not exist or has no tags");
}

#[test]
fn a_repository_without_a_tag_of_the_fleet_fails() {
    let f = Fleet::new("0s");
    let (dir, _) = f.build(SINGLE, 2);
    f.at(NOW, &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    // the manifest now names other variants: the repository's tags belong to none of them
    f.edit_manifest(|m| m.replace("[helix]", "[helux]").replace("[multi]", "[multo]").replace("[ubuntu-22.04-helix]", "[ubuntu-22.04-helux]"));
    let run = f.at(NOW, &["status"]);
    run.code(1);
    assert!(run.stderr.contains("tag(s), none of this fleet's variants"), "{}", run.stderr);
    assert_hint(&run, &f, REPO, &format!("the repository has {} tag(s), none of this fleet's variants", tag_count(&f)));
}

fn tag_count(f: &Fleet) -> usize {
    crate::gc::tags(f).len()
}
