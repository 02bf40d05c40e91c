//! Promotion records end to end against the real registry (distribution 2.8: no referrers
//! API, so the `sha256-<hex>` tag schema), read back with skopeo: publish, promote and
//! rollback attach signed statements to the digest moved to; `verify` checks them with the
//! public key; a tampered record fails; `records.sign` without a key moves nothing; keys
//! never reach output.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use imgctl_registry::{RawManifest, Registry};
use imgctl_testkit::block_on;
use serde_json::{Value, json};

use crate::fleet::{ARM, Fleet, REPO, SINGLE};
use crate::records_support::{enable_records, keys, moves, pem_body, referrers, skopeo_raw, statements};

const T0: &str = "2026-11-02T09:00:00Z";

fn t(hours: u32) -> String {
    (chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::TimeDelta::hours(i64::from(hours))).to_rfc3339()
}

#[test]
fn moves_attach_signed_records_that_verify_and_a_tampered_one_fails() {
    let mut f = Fleet::new("0s");
    enable_records(&f, "{ enabled: true, sign: true }");
    let (key, sec1, public) = keys(&f, "signer");
    let (_, _, other_public) = keys(&f, "other");
    let secret_lines = pem_body(&key);
    let key_arg = key.to_str().unwrap();

    // sign: true and no key: refused before anything moves (usage error)
    let (dir1, d1) = f.build(SINGLE, 1);
    let r = f.at(&t(0), &["publish", SINGLE, "--image", dir1.to_str().unwrap()]);
    r.code(2);
    assert!(r.stderr.contains("--sign-key") && r.stderr.contains("records.sign"), "{}", r.stderr);
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-staging")), None);

    // publish (PKCS#8 key from the flag), promote (SEC1 key from the environment), a second build, rollback
    f.at(&t(0), &["publish", SINGLE, "--image", dir1.to_str().unwrap(), "--sign-key", key_arg, "-vv"]).code(0);
    let sec1_run = f.sb.cmd().env("IMGCTL_NOW", t(1)).env("IMGCTL_INSECURE_REGISTRIES", &f.host).env("IMGCTL_SIGNING_KEY", &sec1)
        .env("GITHUB_ACTOR", "ci-bot")
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_REPOSITORY", "acme/images")
        .env("GITHUB_RUN_ID", "4242")
        .args(["promote", "--variant", SINGLE, "-vv"])
        .output()
        .unwrap();
    let sec1_run = crate::support::Run::from(sec1_run);
    sec1_run.code(0);
    f.change_sources();
    let (dir2, d2) = f.build(SINGLE, 2);
    f.at(&t(2), &["publish", SINGLE, "--image", dir2.to_str().unwrap(), "--sign-key", key_arg]).code(0);
    f.at(&t(3), &["promote", "--variant", SINGLE, "--sign-key", key_arg]).code(0);
    let why = "  tests of grpc fail: clang 19 miscompiles them (#4711)  ";
    let back = f.at(&t(4), &["rollback", SINGLE, "--reason", why, "--sign-key", key_arg, "--output", "json", "-vv"]).code(0).json();
    assert_eq!(back["results"][0]["action"], "moved", "{back:#}");
    assert_eq!(back["results"][0]["note"], why.trim(), "the operator's reason is in the report: {back:#}");
    for out in [&sec1_run.stdout, &sec1_run.stderr] {
        assert!(secret_lines.iter().all(|l| !out.contains(l.as_str())), "a key reached the output:\n{out}");
    }

    // d1's referrers index (tag schema) lists a record per move to it: who, from where, to where
    let staging = format!("{SINGLE}-staging");
    let latest = format!("{SINGLE}-latest");
    assert_eq!(
        moves(&f, &d1),
        vec![
            ("latest".into(), "promote".into(), None, d1.clone()),
            ("latest".into(), "rollback".into(), Some(d2.clone()), d1.clone()),
            ("staging".into(), "publish".into(), None, d1.clone()),
        ]
    );
    assert_eq!(moves(&f, &d2), vec![("latest".into(), "promote".into(), Some(d1.clone()), d2.clone()), ("staging".into(), "publish".into(), Some(d1.clone()), d2.clone())]);
    for (artifact, statement) in statements(&f, &d1) {
        assert_eq!(artifact["subject"]["digest"], d1.as_str(), "the artifact's subject is the digest moved to");
        assert_eq!(artifact["artifactType"], "application/vnd.dsse.envelope.v1+json");
        assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
        assert_eq!(statement["subject"][0]["digest"]["sha256"], d1.trim_start_matches("sha256:"));
        let p = &statement["predicate"];
        assert!(p["tag"] == staging.as_str() || p["tag"] == latest.as_str(), "{p:#}");
        assert!(p["actor"].is_string() || p["runUrl"].is_string() || p["tool"].as_str().unwrap().starts_with("imgctl "), "{p:#}");
        assert!(p["commit"].as_str().is_some_and(|c| c.len() == 40), "the manifest revision's commit: {p:#}");
        assert!(p["releaseTag"].as_str().is_some_and(|t| t.starts_with(SINGLE)), "{p:#}");
    }
    // who: the promote ran "in GitHub Actions"
    let promoted: Vec<Value> = statements(&f, &d1).into_iter().map(|(_, s)| s).filter(|s| s["predicate"]["kind"] == "promote").collect();
    assert_eq!(promoted[0]["predicate"]["actor"], "ci-bot");
    assert_eq!(promoted[0]["predicate"]["runUrl"], "https://github.example/acme/images/actions/runs/4242");
    assert!(promoted[0]["predicate"]["reason"].as_str().unwrap().contains("; soak of 0s met: on staging for "), "{:#}", promoted[0]);
    // the digest rolled back from carries docker-tools' lifecycle mark
    let marks: Vec<Value> = referrers(&f, &d2).into_iter().filter(|e| e["artifactType"] == "application/vnd.microsoft.artifact.lifecycle").collect();
    assert_eq!(marks.len(), 1, "{marks:#?}");
    assert_eq!(marks[0]["annotations"]["vnd.microsoft.artifact.lifecycle.end-of-life.date"], "2026-11-02");

    // history --records and inspect --records show them
    let hist = f.at(&t(5), &["history", SINGLE, "--records", "--output", "json"]).code(0).json();
    let entries = hist["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{hist:#}");
    for e in entries {
        assert_eq!(e["record"]["statement"]["kind"], e["kind"], "{hist:#}");
        assert_eq!(e["record"]["statement"]["releaseTag"], e["tag"], "{hist:#}");
        assert_eq!(e["record"]["signed"], true);
    }
    assert_eq!(entries[0]["record"]["statement"]["from"], d2.as_str(), "the rollback's record says where from");
    assert_eq!(entries[0]["record"]["statement"]["note"], why.trim(), "the rollback's record keeps the operator's reason: {hist:#}");
    assert!(entries[1]["record"]["statement"].get("note").is_none(), "no note on a move without one: {hist:#}");
    let shown = f.at(&t(5), &["history", SINGLE, "--records"]);
    let shown = &shown.code(0).stdout;
    assert!(shown.contains("NOTE") && shown.contains("clang 19 miscompiles"), "{shown}");
    let plain = f.at(&t(5), &["history", SINGLE, "--output", "json"]).code(0).json();
    assert!(plain["entries"][0].get("record").is_none(), "records only when asked for");
    let ins = f.at(&t(5), &["inspect", &format!("{}/{REPO}@{d2}", f.host), "--records", "--output", "json"]).code(0).json();
    assert_eq!(ins["records"].as_array().unwrap().len(), 2, "{ins:#}");
    assert_eq!(ins["endOfLife"], "2026-11-02");

    // --help never shows the key the environment holds
    let pem_text = std::fs::read_to_string(&key).unwrap();
    let help = f.sb.cmd().env("IMGCTL_SIGNING_KEY", &pem_text).args(["promote", "--help"]).output().unwrap();
    let help = crate::support::Run::from(help);
    assert!(help.stdout.contains("--sign-key") && secret_lines.iter().all(|l| !help.stdout.contains(l.as_str())), "{}", help.stdout);
    // a bad key file is a clear error that quotes none of it
    f.sb.write("keys/broken.pem", &pem_text.replace('M', "x"));
    let broken = f.at(&t(5), &["rollback", SINGLE, "--sign-key", "keys/broken.pem"]);
    broken.code(1);
    assert!(broken.stderr.contains("signing key"), "{}", broken.stderr);
    assert!(secret_lines.iter().all(|l| !broken.stderr.contains(l.as_str()) && !broken.stderr.contains(&l.replace('M', "x"))));

    // verify: every record of d1 checks out with the public key, and says who moved it where
    let reference = format!("{}/{REPO}@{d1}", f.host);
    let doc = f.at(&t(5), &["verify", &reference, "--key", public.to_str().unwrap(), "--output", "json"]).code(0).json();
    let records = doc["records"].as_array().unwrap();
    assert_eq!(records.len(), 3, "{doc:#}");
    assert!(records.iter().all(|r| r["verified"] == true), "{doc:#}");
    let human = f.at(&t(5), &["verify", &format!("{}/{REPO}:{latest}", f.host), "--key", public.to_str().unwrap()]);
    human.code(0);
    assert!(human.stdout.contains("rollback") && human.stdout.contains("3 records, 3 verified"), "{}", human.stdout);
    // another key: exit 1, each record named
    let wrong = f.at(&t(5), &["verify", &reference, "--key", other_public.to_str().unwrap()]);
    wrong.code(1);
    assert!(wrong.stderr.contains("does not verify"), "{}", wrong.stderr);
    // d2 is marked end of life: verify says so
    let doc2 = f.at(&t(5), &["verify", &format!("{}/{REPO}@{d2}", f.host), "--key", public.to_str().unwrap(), "--output", "json"]).code(0).json();
    assert_eq!(doc2["endOfLife"], "2026-11-02");

    // tamper: rewrite one record's statement (keeping its signature) and swap it into the index
    tamper_one(&f, &d1);
    let bad = f.at(&t(6), &["verify", &reference, "--key", public.to_str().unwrap(), "--output", "json"]);
    bad.code(1);
    let doc = bad.json();
    let failed: Vec<&Value> = doc["records"].as_array().unwrap().iter().filter(|r| r["verified"] == false).collect();
    assert_eq!(failed.len(), 1, "{doc:#}");
    assert!(failed[0]["error"].as_str().unwrap().contains("no signature verifies"), "{doc:#}");
    assert!(bad.stderr.contains("does not verify"), "{}", bad.stderr);
}

/// Replaces the first record of `digest` with a copy whose statement names another actor,
/// its signature unchanged, written with the test kit's own client.
fn tamper_one(f: &Fleet, digest: &str) {
    let client = f.reg.client();
    let index_tag = digest.replacen(':', "-", 1);
    let mut index = skopeo_raw(f, &index_tag).unwrap();
    let first = index["manifests"][0]["digest"].as_str().unwrap().to_string();
    let mut artifact = skopeo_raw(f, &first).unwrap();
    let mut envelope: Value = serde_json::from_slice(&STANDARD.decode(artifact["layers"][0]["data"].as_str().unwrap()).unwrap()).unwrap();
    let mut statement: Value = serde_json::from_slice(&STANDARD.decode(envelope["payload"].as_str().unwrap()).unwrap()).unwrap();
    statement["predicate"]["actor"] = json!("mallory");
    envelope["payload"] = json!(STANDARD.encode(serde_json::to_vec(&statement).unwrap()));
    let layer = serde_json::to_vec(&envelope).unwrap();
    let layer_digest = imgctl_records::sha256(&layer);
    artifact["layers"][0] = json!({"mediaType": "application/vnd.dsse.envelope.v1+json", "digest": layer_digest, "size": layer.len(), "data": STANDARD.encode(&layer)});
    let m = RawManifest::from_bytes(serde_json::to_vec(&artifact).unwrap());
    block_on(async {
        client.push_blob(REPO, &layer_digest, &imgctl_registry::BlobSource::Bytes(layer.into())).await.unwrap();
        client.put_manifest(REPO, &m.digest, &m).await.unwrap();
        index["manifests"][0]["digest"] = json!(m.digest);
        index["manifests"][0]["size"] = json!(m.bytes.len());
        client.put_manifest(REPO, &index_tag, &RawManifest::from_bytes(serde_json::to_vec(&index).unwrap())).await.unwrap();
    });
}

#[test]
fn concurrent_moves_to_one_digest_never_lose_a_record() {
    // four variants built from the same layout share one digest; every round runs its
    // moves as concurrent processes, all writing the same sha256-<hex> index
    let n = 4;
    let mut f = Fleet::many("0s", n);
    enable_records(&f, "{ enabled: true }");
    let names: Vec<String> = (0..n).map(|k| format!("ubuntu-22.04-helix-v{k}-amd64")).collect();
    let (dir, d1) = f.build(&names[0], 1);
    let concurrently = |f: &Fleet, now: &str, runs: Vec<Vec<String>>| {
        let children: Vec<_> = runs
            .iter()
            .map(|args| f.sb.cmd().env("IMGCTL_NOW", now).env("IMGCTL_INSECURE_REGISTRIES", &f.host).args(args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap())
            .collect();
        for c in children {
            crate::support::Run::from(c.wait_with_output().unwrap()).code(0);
        }
    };
    let publish = |v: &String, dir: &std::path::Path| vec!["publish".to_string(), v.clone(), "--image".into(), dir.to_str().unwrap().into()];
    let promote = |v: &String| vec!["promote".to_string(), "--variant".into(), v.clone()];
    let rollback = |v: &String| vec!["rollback".to_string(), v.clone()];
    concurrently(&f, &t(0), names.iter().map(|v| publish(v, &dir)).collect());
    concurrently(&f, &t(1), names.iter().map(promote).collect());
    f.change_sources();
    let (dir2, d2) = f.build(&names[0], 2);
    concurrently(&f, &t(2), names[..2].iter().map(|v| publish(v, &dir2)).collect());
    // staging publishes of two variants race with latest promotes of the other two, to one digest
    concurrently(&f, &t(3), names[..2].iter().map(promote).chain(names[2..].iter().map(|v| publish(v, &dir2))).collect());
    // promotes to d2 race with rollbacks to d1 (and their lifecycle marks on d2)
    concurrently(&f, &t(4), names[2..].iter().map(promote).chain(names[..2].iter().map(rollback)).collect());
    concurrently(&f, &t(5), names[2..].iter().map(rollback).collect());

    let count = |d: &str, channel: &str, kind: &str| moves(&f, d).iter().filter(|m| m.0 == channel && m.1 == kind).count();
    for (channel, kind) in [("staging", "publish"), ("latest", "promote"), ("latest", "rollback")] {
        assert_eq!(count(&d1, channel, kind), n, "{channel} {kind}: {:#?}", moves(&f, &d1));
    }
    for (channel, kind) in [("staging", "publish"), ("latest", "promote")] {
        assert_eq!(count(&d2, channel, kind), n, "{channel} {kind}: {:#?}", moves(&f, &d2));
    }
    assert!(referrers(&f, &d2).iter().any(|e| e["artifactType"] == "application/vnd.microsoft.artifact.lifecycle"), "rolled back from: marked");
}

#[test]
fn records_off_cost_nothing_and_records_on_cost_a_few_requests_per_move() {
    use imgctl_testkit::{PathKind, Proxy, TestRegistry};
    let reg = TestRegistry::start();
    let proxy = Proxy::start(&reg.host());
    let mut f = Fleet::with_host(reg, proxy.host(), "0s");
    let (dir, _) = f.build(ARM, 60);
    f.at(&t(0), &["publish", ARM, "--image", dir.to_str().unwrap()]).code(0);
    proxy.reset();
    f.at(&t(1), &["promote", "--variant", ARM]).code(0);
    let off = proxy.counts();
    // records off: SPEC §6's budget, unchanged: GET build, HEAD channel, PUT channel, HEAD verify, PUT release
    assert_eq!(off.kind(PathKind::Manifest), 5, "{off:?}");
    assert_eq!(off.blobs() + off.kind(PathKind::Other), 0, "{off:?}");

    enable_records(&f, "{ enabled: true }");
    f.change_sources();
    let (dir, _) = f.build(ARM, 61);
    f.at(&t(2), &["publish", ARM, "--image", dir.to_str().unwrap()]).code(0);
    proxy.reset();
    f.at(&t(3), &["promote", "--variant", ARM]).code(0);
    let on = proxy.counts();
    let extra_manifest = on.kind(PathKind::Manifest) - off.kind(PathKind::Manifest);
    let extra_blob = on.blobs();
    // the record: PUT artifact; GET index, HEAD index, PUT index, GET index (check after);
    // its `changes` (docs/CHANGES.md): GET of both builds, both referrers indexes (none
    // here: these test builds have no SBOM), HEAD of the earlier build's immutable tag
    assert_eq!(extra_manifest, 5 + 5, "{on:?}");
    assert_eq!(on.kind(PathKind::Other), 2, "the referrers API asked once per build (distribution has none): {on:?}");
    // the blobs: HEAD config (present), HEAD envelope, POST + PUT its upload
    assert_eq!(extra_blob, 4, "{on:?}");
    eprintln!("records on: +{extra_manifest} manifest and +{extra_blob} blob requests per move ({} in all vs {})", on.total(), off.total());

    // records on and a step summary: the summary's "What changed" reuses what the record read
    f.change_sources();
    let (dir, _) = f.build(ARM, 62);
    f.at(&t(4), &["publish", ARM, "--image", dir.to_str().unwrap()]).code(0);
    let summary = f.sb.path().join("summary.md");
    proxy.reset();
    crate::changes::run_env(&f, &t(5), Some(&summary), &["promote", "--variant", ARM]).code(0);
    let both = proxy.counts();
    assert_eq!(both.total(), on.total(), "the step summary reads nothing the records read: {both:?} vs {on:?}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("### What changed") && md.contains(&format!("#### `{ARM}` latest")), "{md}");
}

#[test]
fn a_move_left_without_its_record_gets_it_from_the_next_run() {
    // moves made before records were on stand for a run that wrote the release tag and
    // stopped before the record: re-running attaches it, once
    let f = Fleet::new("0s");
    let (dir, d1) = f.build(ARM, 80);
    f.at(&t(0), &["publish", ARM, "--image", dir.to_str().unwrap()]).code(0);
    f.at(&t(1), &["promote", "--variant", ARM]).code(0);
    assert!(referrers(&f, &d1).is_empty());
    enable_records(&f, "{ enabled: true }");
    let again = f.at(&t(2), &["publish", ARM, "--image", dir.to_str().unwrap(), "--output", "json"]).code(0).json();
    assert_eq!(again["results"][0]["action"], "unchanged");
    assert!(again["results"][0]["reason"].as_str().unwrap().contains("attached the missing record"), "{again:#}");
    let doc = f.at(&t(2), &["promote", "--variant", ARM, "--output", "json"]).code(0).json();
    assert!(doc["results"][0]["reason"].as_str().unwrap().contains("attached the missing record"), "{doc:#}");
    assert_eq!(moves(&f, &d1), vec![("latest".into(), "promote".into(), None, d1.clone()), ("staging".into(), "publish".into(), None, d1.clone())]);
    // the statement keeps the move's own time (from its release tag)
    let times: Vec<String> = statements(&f, &d1).iter().map(|(_, s)| s["predicate"]["time"].as_str().unwrap().to_string()).collect();
    assert!(times.iter().all(|x| x.starts_with("2026-11-02T09") || x.starts_with("2026-11-02T10")), "{times:?}");
    // and only once
    let third = f.at(&t(3), &["promote", "--variant", ARM, "--output", "json"]).code(0).json();
    assert_eq!(third["results"][0]["reason"], "already there", "{third:#}");
    assert_eq!(referrers(&f, &d1).len(), 2);
}
