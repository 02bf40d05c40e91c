//! The real binary against the test kit's hostile stand-in (`imgctl_testkit::Hostile`) in
//! front of the real registry: a mirror copy of a blob longer than its descriptor is refused
//! (the mirror gets nothing, a rerun repairs it); a trickling registry fails `inspect`,
//! `status` and `promote` at `--request-timeout` with exit 3; a plain-HTTP realm on another
//! host gets no credentials (exit 3); endless and malformed manifests are clear errors (exit
//! 1). Deadlines are short and given on the command line; nothing is timed. The real
//! registry (read with skopeo) never changes.

use std::time::Duration;

use imgctl_testkit::images::{Flavor, image, index, push_image, push_index};
use imgctl_testkit::{Hostile, Hostility, PathKind, TestRegistry, block_on};

use crate::fleet::{Fleet, REPO, SINGLE, VARIANTS};
use crate::support::{Run, Sandbox, TEST_PASSWORD};

const MIRROR_REPO: &str = "mirror/build-images";

fn t(hours: i64) -> String {
    (chrono::DateTime::parse_from_rfc3339("2026-11-02T09:00:00Z").unwrap() + chrono::TimeDelta::hours(hours)).to_rfc3339()
}

/// The tags of `repo` on `host` as skopeo (another client) lists them; empty when none.
fn tags(host: &str, repo: &str) -> Vec<String> {
    let out = std::process::Command::new(imgctl_testkit::require_tool("skopeo", "skopeo"))
        .args(["list-tags", "--tls-verify=false", &format!("docker://{host}/{repo}")])
        .output()
        .expect("run skopeo");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut t: Vec<String> = doc["Tags"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect();
    t.sort();
    t
}

#[test]
fn a_mirror_copy_of_an_overlong_blob_is_refused_and_a_trickling_primary_fails_at_the_deadline() {
    let reg = TestRegistry::start();
    let h = Hostile::start(&reg.host());
    let f = Fleet::with_host(reg, h.host(), "0s");
    for (i, v) in VARIANTS.iter().enumerate() {
        let (dir, _) = f.build(v, 310 + i as u64);
        f.at(&t(0), &["publish", v, "--image", dir.to_str().unwrap()]).code(0);
    }
    let mirror = TestRegistry::start();
    f.edit_manifest(|text| text + &format!("mirrors:\n  - registry: \"{}\"\n    repository: {MIRROR_REPO}\n", mirror.host()));
    let insecure = format!("{},{}", h.host(), mirror.host());
    let run = |now: &str, args: &[&str]| Run::from(f.sb.cmd().env("IMGCTL_NOW", now).env("IMGCTL_INSECURE_REGISTRIES", &insecure).args(args).output().unwrap());
    let primary = tags(&f.reg.host(), REPO);
    let published = h.writes().len();

    // blobs copied from the primary come 1 MiB longer than their descriptors say
    h.set(Hostility::Overrun { extra: 1 << 20, announce: false });
    let r = run(&t(1), &["promote", "--output", "json"]);
    r.code(1);
    let doc = r.json();
    let mirror_rows: Vec<_> = doc["results"].as_array().unwrap().iter().filter(|r| r.get("mirror").is_some()).collect();
    assert_eq!(mirror_rows.len(), VARIANTS.len(), "{doc:#}");
    for row in &mirror_rows {
        let reason = row["reason"].as_str().unwrap_or_default();
        assert!(row["action"] == "failed" && reason.contains("longer") && reason.contains("descriptor's size") && reason.contains(&h.host()), "{row:#}");
    }
    assert!(tags(&mirror.host(), MIRROR_REPO).is_empty(), "the mirror got no tag");
    let moved = &h.writes()[published..];
    assert!(moved.iter().all(|w| w.method == "PUT" && w.path.contains("/manifests/")), "only the primary's own channels move: {moved:?}");
    // a rerun against a well-behaved primary completes the mirror
    h.set(Hostility::None);
    run(&t(2), &["promote", "--output", "json"]).code(0);
    for v in VARIANTS {
        assert!(tags(&mirror.host(), MIRROR_REPO).contains(&format!("{v}-latest")), "{v}");
    }

    // a primary that trickles its tag list and manifests: status and promote stop at the deadline
    let before = tags(&f.reg.host(), REPO);
    assert_ne!(before, primary, "the first promote moved the primary's channels");
    h.set(Hostility::Trickle { kinds: vec![PathKind::TagsList, PathKind::Manifest], every: Duration::from_millis(500) });
    for args in [vec!["status", "--request-timeout", "1s"], vec!["promote", "--request-timeout", "1s"], vec!["history", SINGLE, "--request-timeout", "1s"]] {
        let r = run(&t(3), &args);
        r.code(3);
        assert!(r.stderr.contains(&format!("{}/{REPO}", h.host())) && r.stderr.contains("no complete answer within 1s") && r.stderr.contains("--request-timeout"), "{args:?}: {}", r.stderr);
    }
    h.set(Hostility::None);
    assert_eq!(tags(&f.reg.host(), REPO), before, "nothing changed in the registry");
}

#[test]
fn inspect_fails_clearly_on_a_trickle_a_plain_http_realm_and_endless_or_malformed_manifests() {
    let reg = TestRegistry::start();
    let idx = index(vec![image(Flavor::Oci, "amd64", 1, 41), image(Flavor::Oci, "arm64", 1, 42)]);
    block_on(async {
        push_image(&reg.client(), "team/one", "v1", &image(Flavor::Oci, "amd64", 1, 40)).await;
        push_index(&reg.client(), "team/multi", "v1", &idx).await;
    });
    let h = Hostile::start(&reg.host());
    let s = Sandbox::new();
    let inspect = |reference: &str, extra: &[&str], env: &[(&str, &str)]| {
        let mut c = s.cmd();
        c.env("IMGCTL_INSECURE_REGISTRIES", h.host()).arg("inspect").arg(format!("{}/{reference}", h.host())).args(extra);
        for (k, v) in env {
            c.env(k, v);
        }
        Run::from(c.output().expect("run imgctl"))
    };
    inspect("team/one:v1", &[], &[]).code(0);

    h.set(Hostility::Trickle { kinds: vec![PathKind::Manifest], every: Duration::from_millis(500) });
    let r = inspect("team/one:v1", &["--request-timeout", "1s"], &[]);
    r.code(3);
    assert!(r.stderr.contains(&format!("get manifest {}/team/one:v1: no complete answer within 1s", h.host())), "{}", r.stderr);
    let r = inspect("team/one:v1", &[], &[("IMGCTL_REQUEST_TIMEOUT", "800ms")]);
    r.code(3);
    assert!(r.stderr.contains("within 0.8s"), "{}", r.stderr);

    h.set(Hostility::PlainRealm);
    let r = inspect("team/one:v1", &[], &[("IMGCTL_REGISTRY_USERNAME", "ci-bot"), ("IMGCTL_REGISTRY_PASSWORD", TEST_PASSWORD)]);
    r.code(3);
    assert!(r.stderr.contains(&format!("http://{}", h.catcher())) && r.stderr.contains("plain HTTP") && r.stderr.contains("--insecure-registry"), "{}", r.stderr);
    assert!(h.caught().is_empty(), "the other host got nothing: {:?}", h.caught());

    h.set(Hostility::Endless { kinds: vec![PathKind::Manifest] });
    let r = inspect("team/one:v1", &[], &[]);
    r.code(1);
    assert!(r.stderr.contains(&format!("get manifest {}/team/one:v1", h.host())) && r.stderr.contains("larger than 4194304 bytes"), "{}", r.stderr);

    for body in [&br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":"nope"}"#[..], b"\x00 not json \xff"] {
        h.set(Hostility::Malformed { body: body.to_vec(), media_type: "application/vnd.oci.image.index.v1+json".into() });
        let r = inspect("team/multi:v1", &[], &[]);
        r.code(1);
        assert!(r.stderr.contains(&format!("read {}/team/multi:v1", h.host())) && r.stderr.contains("as an image index"), "{}", r.stderr);
    }
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(tags(&reg.host(), "team/multi"), ["v1"]);
}
