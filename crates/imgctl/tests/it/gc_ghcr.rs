//! `gc` on GHCR: the GitHub packages stand-in (imgctl-testkit `github`) over a real registry
//! whose `DELETE /v2` answers 405, as ghcr.io's does. The plan is the one kind
//! `distribution` makes; `--apply` deletes package versions only (nothing reaches
//! `DELETE /v2`, counted at a proxy), protected digests and index children survive (skopeo),
//! rollback works after it; a read-only token deletes nothing and says which permission is
//! missing; more than 100 versions are paged; a user-owned package is found after the
//! organisation path's 404.

use std::collections::BTreeSet;

use imgctl_testkit::github::{GithubPackages, OwnerKind, TokenRights};
use imgctl_testkit::images::{Flavor, image, push_image};
use imgctl_testkit::{PathKind, Proxy, TestRegistry};
use imgctl_registry::Registry;

use crate::fleet::{Fleet, REPO, SINGLE, VARIANTS};
use crate::gc::{actions, children, history, skopeo_raw, t};
use crate::support::Run;

const ADMIN: &str = "ghs_admin-token-for-tests";
const READER: &str = "ghs_read-only-token-for-tests";

/// A fleet on a registry without deletes, behind a counting proxy, with the stand-in over it.
fn ghcr(owner: OwnerKind) -> (Fleet, Proxy, GithubPackages) {
    let reg = TestRegistry::start_without_delete();
    let proxy = Proxy::start(&reg.host());
    let gh = GithubPackages::start(&reg, REPO, owner, &[(ADMIN, TokenRights::Delete), (READER, TokenRights::Read)]);
    let host = proxy.host();
    (Fleet::with_host(reg, host, "0s"), proxy, gh)
}

/// imgctl with kind ghcr, the stand-in as `GITHUB_API_URL` and `token` (if any) as `GITHUB_TOKEN`.
fn run(f: &Fleet, gh: &GithubPackages, now: &str, token: Option<&str>, args: &[&str]) -> Run {
    let mut c = f.sb.cmd();
    c.env("IMGCTL_NOW", now).env("IMGCTL_INSECURE_REGISTRIES", &f.host).env("IMGCTL_REGISTRY_KIND", "ghcr").env("GITHUB_API_URL", gh.url());
    if let Some(t) = token {
        c.env("GITHUB_TOKEN", t);
    }
    Run::from(c.args(args).output().expect("run imgctl"))
}

/// (digest, action, reason) of every line: what a plan says, whatever the kind.
fn lines(doc: &serde_json::Value) -> BTreeSet<(String, String, String)> {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    doc["results"].as_array().expect("results").iter().map(|r| (s(&r["digest"]), s(&r["action"]), s(&r["reason"]))).collect()
}

fn deletes(gh: &GithubPackages) -> usize {
    gh.requests().iter().filter(|r| r.starts_with("DELETE ")).count()
}

#[test]
fn gc_on_ghcr_deletes_package_versions_only_and_keeps_what_is_protected() {
    let (mut f, proxy, gh) = ghcr(OwnerKind::Organization);
    let builds = history(&mut f);
    let multi = &builds[2];
    let mut expect_gone: BTreeSet<String> = builds.iter().flat_map(|b| b[..2].iter().cloned()).collect();
    expect_gone.extend(multi[..2].iter().flat_map(|d| children(&f, d)));
    let mut expect_kept: BTreeSet<String> = builds.iter().flat_map(|b| b[2..].iter().cloned()).collect();
    expect_kept.extend(multi[2..].iter().flat_map(|d| children(&f, d)));
    let now = t(24 * 40);
    let plan_args = ["gc", "--keep", "1", "--older-than", "7d", "--output", "json"];

    // the plan: the same as kind distribution's, from the version listing instead of a HEAD per tag
    let plan = run(&f, &gh, &now, Some(READER), &plan_args).code(0).json();
    let distribution = f.at(&now, &plan_args).code(0).json();
    assert_eq!(lines(&plan), lines(&distribution), "ghcr plan {plan:#}\ndistribution plan {distribution:#}");
    assert_eq!(actions(&plan, "deleted"), expect_gone, "{plan:#}");
    assert!(gh.requests().iter().any(|r| r.starts_with("GET /orgs/acme/packages/container/build-images/versions?per_page=100")), "{:?}", gh.requests());
    let (head_ghcr, head_dist) = (plan["requests"]["head"].as_u64().unwrap(), distribution["requests"]["head"].as_u64().unwrap());
    assert!(head_ghcr <= head_dist, "ghcr HEADs each digest at most once ({head_ghcr} vs {head_dist})");
    eprintln!("gc plan: ghcr {} + {} API requests, distribution {}", plan["requests"], gh.requests().len(), distribution["requests"]);

    // a read-only token: the first delete is refused, nothing else is tried, exit 3
    let apply = ["gc", "--keep", "1", "--older-than", "7d", "--apply", "--output", "json"];
    let refused = run(&f, &gh, &now, Some(READER), &apply);
    refused.code(3);
    assert!(refused.stderr.contains("delete:packages") && refused.stderr.contains("packages: write") && refused.stderr.contains("HTTP 403"), "{}", refused.stderr);
    assert_eq!(deletes(&gh), 1, "one refused DELETE, then nothing: {:?}", gh.requests());
    assert!(expect_gone.iter().all(|d| skopeo_raw(&f, d).is_some()), "nothing deleted");
    // no token at all: the plan still works (from the tag listing); deleting says what to set
    run(&f, &gh, &now, None, &plan_args).code(0);
    let none = run(&f, &gh, &now, None, &apply);
    none.code(3);
    assert!(none.stderr.contains("IMGCTL_GITHUB_TOKEN or GITHUB_TOKEN"), "{}", none.stderr);
    let bad = run(&f, &gh, &now, Some("ghs_not-a-token"), &apply);
    bad.code(3);
    assert!(bad.stderr.contains("Bad credentials") && bad.stderr.contains("HTTP 401"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("ghs_not-a-token"), "the token is never printed: {}", bad.stderr);

    // an admin token: versions deleted through the API, never DELETE /v2 — past a rate-limit
    // answer (403 with x-ratelimit-remaining: 0), which is retried, not taken for a refusal
    proxy.reset();
    gh.rate_limit_next(1);
    let before = deletes(&gh);
    let lists = |gh: &GithubPackages| gh.requests().iter().filter(|r| r.starts_with("GET /orgs/")).count();
    let lists_before = lists(&gh);
    let applied = run(&f, &gh, &now, Some(ADMIN), &apply).code(0).json();
    assert_eq!(actions(&applied, "deleted"), expect_gone, "{applied:#}");
    assert_eq!(deletes(&gh) - before, expect_gone.len(), "one version DELETE per digest");
    assert_eq!(lists(&gh) - lists_before, 3, "the rate-limited listing, its retry, the re-check listing");
    assert_eq!(proxy.counts().get("DELETE", PathKind::Manifest), 0, "nothing was sent to DELETE /v2");
    assert!(proxy.events().iter().all(|e| e.method != "DELETE"));
    for d in &expect_gone {
        assert!(skopeo_raw(&f, d).is_none(), "{d} should be gone");
    }
    for d in &expect_kept {
        assert!(skopeo_raw(&f, d).is_some(), "{d} must still resolve");
    }
    // rollback still works, and a second gc deletes nothing
    for (i, v) in VARIANTS.iter().enumerate() {
        let doc = f.at(&t(24 * 40 + 1), &["rollback", v, "--output", "json"]).code(0).json();
        assert_eq!(doc["results"][0]["action"], "moved", "{doc:#}");
        assert_eq!(f.skopeo_digest(&format!("{v}-latest")).as_deref(), Some(builds[i][3].as_str()), "{v}");
    }
    let again = run(&f, &gh, &t(24 * 40 + 2), Some(ADMIN), &apply).code(0).json();
    assert!(actions(&again, "deleted").is_empty(), "{again:#}");
}

#[test]
fn gc_on_ghcr_pages_through_more_than_100_versions_of_a_user_package() {
    let (f, _proxy, gh) = ghcr(OwnerKind::User);
    // 110 builds of one variant pushed straight to the registry: immutable tag + staging
    // release tag each, an hour apart; staging at the newest
    let client = f.reg.client();
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
    let mut last = None;
    imgctl_testkit::block_on(async {
        for k in 0..110u64 {
            let img = image(Flavor::Oci, "amd64", 1, 5000 + k);
            let d = img.manifest.digest.clone();
            push_image(&client, REPO, &format!("{SINGLE}-{k:012x}"), &img).await;
            let at = (t0 + chrono::TimeDelta::hours(k as i64)).format("%Y%m%d%H%M%S");
            client.put_manifest(REPO, &format!("{SINGLE}-staging-{at}-{}", &d[7..19]), &img.manifest).await.expect("release tag");
            last = Some(img.manifest);
        }
        client.put_manifest(REPO, &format!("{SINGLE}-staging"), last.as_ref().unwrap()).await.expect("staging");
    });
    let now = "2026-11-21T12:00:00Z";
    let plan_args = ["gc", "--keep", "2", "--older-than", "7d", "--output", "json"];
    let plan = run(&f, &gh, now, Some(ADMIN), &plan_args).code(0).json();
    assert_eq!(lines(&plan), lines(&f.at(now, &plan_args).code(0).json()), "same plan as kind distribution");
    let gone = actions(&plan, "deleted");
    assert!(gone.len() > 100, "{} to delete", gone.len());
    let reqs = gh.requests();
    assert!(reqs.iter().any(|r| r.starts_with("GET /orgs/acme/")), "the organisation path is tried first: {reqs:?}");
    assert!(reqs.iter().any(|r| r.starts_with("GET /users/acme/packages/container/build-images/versions?per_page=100&page=2")), "page 2 followed: {reqs:?}");
    let applied = run(&f, &gh, now, Some(ADMIN), &["gc", "--keep", "2", "--older-than", "7d", "--apply", "--output", "json"]).code(0).json();
    assert_eq!(actions(&applied, "deleted"), gone, "{applied:#}");
    assert!(gone.iter().all(|d| skopeo_raw(&f, d).is_none()));
    assert!(imgctl_testkit::block_on(client.resolve(REPO, &format!("{SINGLE}-staging"))).is_ok(), "staging survives");
}

#[test]
fn an_unknown_package_is_a_clear_error_naming_owner_and_package() {
    let reg = TestRegistry::start_without_delete();
    // the stand-in serves another package of the same owner
    let gh = GithubPackages::start(&reg, "acme/other-images", OwnerKind::Organization, &[(ADMIN, TokenRights::Delete)]);
    let host = reg.host();
    let f = Fleet::with_host(reg, host, "0s");
    let r = run(&f, &gh, "2026-11-21T12:00:00Z", Some(ADMIN), &["gc", "--output", "json"]);
    r.code(1);
    assert!(r.stderr.contains("no container package 'build-images' of organisation or user 'acme'") && r.stderr.contains(&gh.url()), "{}", r.stderr);
    let reqs = gh.requests();
    assert!(reqs[0].starts_with("GET /orgs/acme/packages/container/build-images/versions") && reqs[1].starts_with("GET /users/acme/"), "{reqs:?}");
}
