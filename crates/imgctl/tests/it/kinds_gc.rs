//! Other kinds' delete rules at the test proxy, over the real registry: Docker Hub cannot
//! delete a tagged digest through its registry API (refused before anything is deleted), GAR
//! untags first (`DELETE …/manifests/<tag>`, answered 202 by the proxy as GAR does; 2.8
//! cannot untag), ECR deletes an index before its children (`ImageReferencedByManifestList`
//! otherwise) while distribution deletes children first.

use std::collections::BTreeSet;

use imgctl_testkit::{Answer, Event, Fault, FaultPlan, Proxy, TestRegistry};

use crate::fleet::{Fleet, MULTI, REPO, SINGLE};
use crate::gc::{actions, children, skopeo_raw, t};

/// `builds` builds of `variant` published an hour apart; their digests.
fn published(variant: &str, builds: u32) -> (Fleet, Proxy, Vec<String>) {
    let reg = TestRegistry::start();
    let proxy = Proxy::start(&reg.host());
    let mut f = Fleet::with_host(reg, proxy.host(), "0s");
    let mut digests = Vec::new();
    for n in 0..builds {
        if n > 0 {
            f.change_sources();
        }
        let (dir, d) = f.build(variant, 100 + u64::from(n));
        f.at(&t(n), &["publish", variant, "--image", dir.to_str().unwrap()]).code(0);
        digests.push(d);
    }
    (f, proxy, digests)
}

const GC: [&str; 7] = ["gc", "--keep", "1", "--older-than", "0s", "--apply", "--output"];

fn deletes(proxy: &Proxy) -> Vec<Event> {
    proxy.events().into_iter().filter(|e| e.method == "DELETE").collect()
}

/// Where in `events` the DELETE of `reference` is.
fn position(events: &[Event], reference: &str) -> usize {
    let path = format!("/v2/{REPO}/manifests/{reference}");
    events.iter().position(|e| e.path == path).unwrap_or_else(|| panic!("no DELETE of {reference}: {events:#?}"))
}

#[test]
fn docker_hub_refuses_cleanup_before_deleting_anything() {
    let (f, proxy, digests) = published(SINGLE, 5);
    let plan = f.at(&t(100), &["--registry-kind", "dockerhub", "gc", "--keep", "1", "--older-than", "0s", "--output", "json"]).code(0).json();
    assert!(!actions(&plan, "deleted").is_empty(), "the plan works on Docker Hub: {plan:#}");
    proxy.reset();
    let r = f.at(&t(100), &["--registry-kind", "dockerhub", "gc", "--keep", "1", "--older-than", "0s", "--apply"]);
    r.code(1);
    assert!(r.stderr.contains("cleanup is not supported on this registry") && r.stderr.contains("hub.docker.com"), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("{}/{REPO}", f.host)), "names registry and repository: {}", r.stderr);
    assert!(deletes(&proxy).is_empty(), "nothing was deleted");
    assert!(digests.iter().all(|d| skopeo_raw(&f, d).is_some()));
}

#[test]
fn gar_deletes_every_tag_of_a_digest_before_the_digest() {
    let (f, proxy, _) = published(SINGLE, 5);
    // GAR answers a tag DELETE with 202 (untag); distribution 2.8 cannot untag, so the proxy does
    let untag = Answer { unless_contains: "sha256:".into(), ..Answer::new("DELETE", "/manifests/", 202, "") };
    proxy.set_faults(FaultPlan::always(Fault::Answer(untag)));
    proxy.reset();
    let mut args = GC.to_vec();
    args.extend(["json", "--registry-kind", "gar"]);
    let doc = f.at(&t(100), &args).code(0).json();
    let gone = actions(&doc, "deleted");
    assert!(!gone.is_empty(), "{doc:#}");
    let events = deletes(&proxy);
    let mut untagged = 0;
    for line in doc["results"].as_array().unwrap().iter().filter(|r| r["action"] == "deleted") {
        let digest = line["digest"].as_str().unwrap();
        let at = position(&events, digest);
        let tags: Vec<&str> = line["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert!(!tags.is_empty(), "{line:#}");
        for tag in tags {
            assert!(position(&events, tag) < at, "{tag} is untagged before {digest} is deleted");
            untagged += 1;
        }
        assert!(skopeo_raw(&f, digest).is_none(), "{digest} is gone");
    }
    assert_eq!(events.len(), untagged + gone.len(), "one DELETE per tag and one per digest: {events:#?}");
}

#[test]
fn ecr_deletes_an_index_before_its_children_and_distribution_after_them() {
    let (f, proxy, builds) = published(MULTI, 6);
    let kids: Vec<BTreeSet<String>> = builds.iter().map(|d| children(&f, d).into_iter().collect()).collect();
    proxy.reset();
    let mut args = GC.to_vec();
    args.extend(["json", "--registry-kind", "ecr"]);
    let doc = f.at(&t(100), &args).code(0).json();
    let gone = actions(&doc, "deleted");
    let deleted_indexes: Vec<usize> = (0..builds.len()).filter(|i| gone.contains(&builds[*i])).collect();
    assert!(!deleted_indexes.is_empty(), "{doc:#}");
    let events = deletes(&proxy);
    for &i in &deleted_indexes {
        let parent = position(&events, &builds[i]);
        for kid in &kids[i] {
            assert!(gone.contains(kid), "children of a deleted index go too");
            assert!(parent < position(&events, kid), "ECR: the index {} before its child {kid}", builds[i]);
        }
    }
    // distribution (the default): children first
    let (f, proxy, builds) = published(MULTI, 6);
    let kids: Vec<BTreeSet<String>> = builds.iter().map(|d| children(&f, d).into_iter().collect()).collect();
    proxy.reset();
    let mut args = GC.to_vec();
    args.push("json");
    let gone = actions(&f.at(&t(100), &args).code(0).json(), "deleted");
    let events = deletes(&proxy);
    for i in (0..builds.len()).filter(|i| gone.contains(&builds[*i])) {
        let parent = position(&events, &builds[i]);
        assert!(kids[i].iter().all(|k| position(&events, k) < parent), "distribution: children before the index");
    }
}
