//! Retiring a variant, end-of-life OSes, the platform guard and forced moves in history,
//! against the real registry (skopeo checks what moved and what did not).

use imgctl_testkit::images::{Flavor, image, index, push_image};
use imgctl_testkit::{PathKind, Proxy, TestRegistry, block_on, layout};

use crate::fleet::{ARM, Fleet, MULTI, REPO, SINGLE, git, result_of};

const T0: &str = "2026-11-02T09:00:00Z";

fn t(hours: i64) -> String {
    (chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::TimeDelta::hours(hours)).to_rfc3339()
}

/// `retired: 2026-11-20` and `replacedBy: ARM` for SINGLE.
fn retire_single(f: &Fleet) {
    f.edit_manifest(|m| {
        m.replacen("    aliases: [ubuntu-22.04-helix]\n", "    aliases: [ubuntu-22.04-helix]\n    retired: 2026-11-20\n    replacedBy: ubuntu-22.04-helix-arm64v8\n", 1)
    });
}

#[test]
fn a_retired_variant_stays_listed_is_neither_built_nor_promoted_and_keeps_its_channels() {
    let mut f = Fleet::new("0s");
    let mut builds = Vec::new();
    for (n, seed) in [(0i64, 1u64), (24, 2)] {
        if n > 0 {
            f.change_sources();
        }
        let (dir, digest) = f.build(SINGLE, seed);
        f.at(&t(n), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
        let (arm, _) = f.build(ARM, seed + 100);
        f.at(&t(n), &["publish", ARM, "--image", arm.to_str().unwrap()]).code(0);
        f.at(&t(n + 1), &["promote"]).code(0);
        builds.push(digest);
    }
    f.change_sources();
    retire_single(&f);
    let now = "2026-12-04T06:00:00Z";

    // plan: not built, and not "removed" either
    let plan = f.at(now, &["plan", "--since", "HEAD~2", "--ref", "HEAD", "--output", "json"]).code(0).json();
    let planned: Vec<&str> = plan["variants"].as_array().unwrap().iter().map(|e| e["variant"].as_str().unwrap()).collect();
    assert!(!planned.contains(&SINGLE) && planned.contains(&ARM), "{plan:#}");
    assert_eq!(plan["removed"], serde_json::json!([]), "{plan:#}");

    // publish refuses it, exit 1, nothing pushed
    let (dir, new) = f.build(SINGLE, 3);
    let r = f.at(now, &["publish", SINGLE, "--image", dir.to_str().unwrap(), "--output", "json"]);
    r.code(1);
    let row = result_of(&r.json(), SINGLE).clone();
    assert_eq!(row["action"], "failed");
    assert_eq!(row["reason"], "retired on 2026-11-20: a retired variant is not built (remove `retired` from the manifest to build it again)");
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-staging")).as_deref(), Some(builds[1].as_str()));
    let _ = new;

    // promote skips it with the reason, and moves the others
    let doc = f.at(now, &["promote", "--output", "json"]).code(0).json();
    let row = result_of(&doc, SINGLE);
    assert_eq!((row["action"].as_str(), row["reason"].as_str()), (Some("skipped"), Some("retired on 2026-11-20")), "{doc:#}");
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_deref(), Some(builds[1].as_str()));

    // status shows it retired, with its replacement, and counts it
    let st = f.at(now, &["status", "--output", "json"]).code(0).json();
    let v = st["variants"].as_array().unwrap().iter().find(|v| v["variant"] == SINGLE).unwrap();
    assert_eq!((v["retired"].as_str(), v["replacedBy"].as_str()), (Some("2026-11-20"), Some(ARM)), "{st:#}");
    assert!(v.get("pending").is_none(), "nothing is pending for a retired variant: {v:#}");
    assert_eq!(v["channels"]["latest"]["digest"], builds[1].as_str());
    assert_eq!(st["lifecycle"]["retired"], 1, "{st:#}");
    let human = f.at(now, &["status", SINGLE]).code(0).stdout.clone();
    assert!(human.contains(&format!("retired on 2026-11-20 (replaced by {ARM})")), "{human}");
    assert!(human.contains("1 variant: 1 retired"), "a retired variant is not 'up to date': {human}");

    // history and rollback still work for it
    let h = f.at(now, &["history", SINGLE, "--output", "json"]).code(0).json();
    assert_eq!(h["entries"].as_array().unwrap().len(), 2, "{h:#}");
    f.at(now, &["rollback", SINGLE]).code(0);
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_deref(), Some(builds[0].as_str()));

    // mark-eol marks what its channels hold, on the retirement date
    let doc = f.at(now, &["mark-eol", "--variant", SINGLE, "--output", "json"]).code(0).json();
    let marked: Vec<&serde_json::Value> = doc["results"].as_array().unwrap().iter().filter(|r| r["action"] == "moved").collect();
    let on = |d: &str| marked.iter().find(|r| r["to"] == d).map(|r| r["reason"].as_str().unwrap().to_string());
    assert_eq!(on(&builds[0]).as_deref(), Some("marked end of life 2026-11-20: on the latest channel of a variant retired on 2026-11-20"), "{doc:#}");
    assert_eq!(on(&builds[1]).as_deref(), Some("marked end of life 2026-11-20: on the staging channel of a variant retired on 2026-11-20"), "{doc:#}");
    let eol = "vnd.microsoft.artifact.lifecycle.end-of-life.date";
    let marks = crate::records_support::referrers(&f, &builds[0]);
    assert_eq!(marks[0]["annotations"][eol], "2026-11-20", "{marks:#?}");

    // usages tells consumers what replaces it
    f.sb.write("consumer/ci.yml", &format!("image: {}/{REPO}:{SINGLE}-latest\n", f.host));
    let u = f.at(now, &["usages", "consumer", "--output", "json"]).code(0).json();
    let r = &u["references"][0];
    assert_eq!(r["replacedBy"], format!("{REPO}:{ARM}-latest"), "{u:#}");
    assert!(r["findings"].as_array().unwrap().iter().any(|x| x == &serde_json::json!(format!("retired: {SINGLE} is retired on 2026-11-20; replaced by {REPO}:{ARM}-latest"))), "{u:#}");

    // gc keeps its channel tags' digests, however old
    let gc = f.at("2027-06-01T00:00:00Z", &["gc", "--keep", "0", "--older-than", "1d", "--output", "json"]).code(0).json();
    for d in [&builds[0], &builds[1]] {
        let row = gc["results"].as_array().unwrap().iter().find(|r| r["digest"] == d.as_str()).unwrap_or_else(|| panic!("{gc:#}"));
        assert_eq!(row["action"], "kept", "{row:#}");
        assert!(row["reason"].as_str().unwrap().contains(&format!("channel tag {SINGLE}")), "{row:#}");
    }
}

#[test]
fn validate_since_names_a_variant_deleted_without_retirement() {
    let f = Fleet::new("0s");
    let line = std::fs::read_to_string(f.sb.path().join("manifests/images.yaml")).unwrap().lines().position(|l| l.contains("qualifiers: [multi]")).unwrap();
    let path = f.sb.path().join("manifests/images.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let without = text.replace("  - os: Linux-Ubuntu-22.04-AMD64\n    qualifiers: [multi]\n    context: ../src/multi\n    platforms: [linux/amd64, linux/arm64]\n", "");
    std::fs::write(&path, &without).unwrap();
    let r = f.at(T0, &["validate", "--since", "HEAD", "--output", "json"]);
    r.code(1);
    let doc = r.json();
    let found = doc["findings"].as_array().unwrap().iter().find(|x| x["code"] == "removed-variant").unwrap_or_else(|| panic!("{doc:#}"));
    // the `- os:` line before `qualifiers: [multi]` (1-based: position of qualifiers)
    assert_eq!(
        found["message"],
        format!("variant '{MULTI}' (manifests/images.yaml:{line} at HEAD) was deleted without being retired: put it back with `retired: YYYY-MM-DD` (and `replacedBy: VARIANT`), and delete it in a later change")
    );
    // without --since nothing is compared
    f.at(T0, &["validate"]).code(0);
    // retired first (committed), then deleted: fine
    std::fs::write(&path, text.replace("    platforms: [linux/amd64, linux/arm64]\n", "    platforms: [linux/amd64, linux/arm64]\n    retired: 2026-11-01\n")).unwrap();
    f.at(T0, &["validate", "--since", "HEAD"]).code(0);
    git(f.sb.path(), &["commit", "-qam", "retire multi"]);
    std::fs::write(&path, &without).unwrap();
    f.at(T0, &["validate", "--since", "HEAD"]).code(0);
}

/// Adds Fedora 43 (end of life `eol`, e.g. 2026-12-09) and a variant on it: `fedora-43-amd64`.
pub fn with_fedora(f: &Fleet, eol: &str) -> &'static str {
    let os_path = f.sb.path().join("os-definitions/os-definitions.json");
    let os = std::fs::read_to_string(&os_path).unwrap().replacen(
        "{ \"definitions\": [\n",
        &format!("{{ \"definitions\": [\n  {{ \"id\": \"Linux-Fedora-43-AMD64\", \"family\": \"Linux\", \"distro\": \"Fedora\", \"slug\": \"fedora\", \"version\": \"43\", \"arch\": \"AMD64\", \"eol\": \"{eol}\" }},\n"),
        1,
    );
    std::fs::write(&os_path, os).unwrap();
    git(f.sb.path(), &["add", "-A"]);
    f.edit_manifest(|m| format!("{m}  - os: Linux-Fedora-43-AMD64\n    context: ../src/helix\n"));
    "fedora-43-amd64"
}

/// Runs `imgctl ARGS… --output json` at `now` with a GitHub step summary file; exit 0.
fn with_summary(f: &Fleet, now: &str, summary: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = f.sb.cmd().env("IMGCTL_NOW", now).env("IMGCTL_INSECURE_REGISTRIES", &f.host).env("GITHUB_STEP_SUMMARY", summary).args(args).args(["--output", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn an_ending_os_is_warned_about_ahead_and_named_by_publish_promote_and_status() {
    let f = Fleet::new("0s");
    let fedora = with_fedora(&f, "2026-12-09");
    // five days ahead: a warning, also under --strict; quiet 31 days ahead
    let v = f.at("2026-12-04T06:00:00Z", &["validate", "--output", "json"]).code(0).json();
    let w: Vec<&serde_json::Value> = v["findings"].as_array().unwrap().iter().filter(|x| x["code"] == "eol-soon").collect();
    assert_eq!(w.len(), 1, "{v:#}");
    assert_eq!(w[0]["severity"], "warning");
    assert_eq!(
        w[0]["message"],
        "'Linux-Fedora-43-AMD64' reaches end of life on 2026-12-09, in 5 day(s) (eolWarning 30d): move its variants to a newer OS, or retire them (retired: DATE)"
    );
    f.at("2026-12-04T06:00:00Z", &["validate", "--strict"]).code(0);
    let quiet = f.at("2026-11-08T06:00:00Z", &["validate", "--output", "json"]).code(0).json();
    assert_eq!(quiet["warnings"], 0, "{quiet:#}");
    // past it: --strict fails
    f.at("2026-12-10T06:00:00Z", &["validate", "--strict"]).code(1);

    // publish names it (result and step summary)
    let summary = f.sb.path().join("summary.md");
    let (dir, _) = f.build(SINGLE, 1);
    let doc = with_summary(&f, "2026-12-04T06:00:00Z", &summary, &["publish", fedora, "--image", dir.to_str().unwrap()]);
    let reason = result_of(&doc, fedora)["reason"].as_str().unwrap().to_string();
    assert!(reason.starts_with(&format!("published {fedora}-")), "{reason}");
    assert!(reason.ends_with("; OS Linux-Fedora-43-AMD64 reaches end of life on 2026-12-09 (in 5d)"), "{reason}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("OS Linux-Fedora-43-AMD64 reaches end of life on 2026-12-09 (in 5d)"), "{md}");
    // an ubuntu variant on a supported OS says nothing of the kind
    let (dir, _) = f.build(SINGLE, 2);
    let doc = f.at("2026-12-04T06:00:00Z", &["publish", SINGLE, "--image", dir.to_str().unwrap(), "--output", "json"]).code(0).json();
    assert!(!result_of(&doc, SINGLE)["reason"].as_str().unwrap().contains("end of life"), "{doc:#}");

    // promote after the date names it as ended (result and step summary)
    let doc = with_summary(&f, "2026-12-10T06:00:00Z", &summary, &["promote", "--variant", fedora]);
    let row = result_of(&doc, fedora);
    assert_eq!(row["action"], "moved", "{doc:#}");
    assert!(row["reason"].as_str().unwrap().ends_with("; OS Linux-Fedora-43-AMD64 is end of life since 2026-12-09"), "{doc:#}");
    assert!(std::fs::read_to_string(&summary).unwrap().contains("is end of life since 2026-12-09"));

    // status counts it
    let st = f.at("2026-12-10T06:00:00Z", &["status", "--output", "json"]).code(0).json();
    assert_eq!(st["lifecycle"], serde_json::json!({"retired": 0, "eol": 1, "eolSoon": 0}), "{st:#}");
    let st = f.at("2026-12-04T06:00:00Z", &["status", "--output", "json"]).code(0).json();
    assert_eq!(st["lifecycle"]["eolSoon"], 1, "{st:#}");
    let human = f.at("2026-12-04T06:00:00Z", &["status"]).code(0).stdout.clone();
    assert!(human.contains("2026-12-09 (soon)") && human.contains("4 variants: ") && human.contains(", 1 reaching end of life within 30d"), "{human}");
}

#[test]
fn publish_refuses_an_image_of_another_platform_and_pushes_nothing() {
    let reg = TestRegistry::start();
    let proxy = Proxy::start(&reg.host());
    let f = Fleet::with_host(reg, proxy.host(), "0s");
    let uploads = |p: &Proxy| {
        let c = p.counts();
        c.get("POST", PathKind::BlobUpload) + c.get("PATCH", PathKind::BlobUpload) + c.get("PUT", PathKind::BlobUpload) + c.get("PUT", PathKind::Manifest)
    };
    // an arm64 layout for the amd64 variant
    let dir = f.sb.path().join("out/arm-for-amd");
    std::fs::create_dir_all(&dir).unwrap();
    layout::write_image(&dir, &image(Flavor::Oci, "arm64", 2, 7));
    proxy.reset();
    let r = f.at(T0, &["publish", SINGLE, "--image", dir.to_str().unwrap(), "--output", "json"]);
    r.code(1);
    let row = result_of(&r.json(), SINGLE).clone();
    assert_eq!(row["action"], "failed");
    assert_eq!(row["reason"], format!("image platform linux/arm64 does not match variant {SINGLE} (Linux-Ubuntu-22.04-AMD64: expected linux/amd64); nothing was pushed"));
    assert_eq!(uploads(&proxy), 0, "nothing pushed: {:?}", proxy.counts());
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-staging")), None);

    // the same image already in another repository of the registry (a remote SRC)
    let img = image(Flavor::Oci, "arm64", 2, 8);
    block_on(push_image(&f.reg.client(), "ci/scratch", "arm-build", &img));
    proxy.reset();
    let r = f.at(T0, &["publish", SINGLE, "--image", &format!("{}/ci/scratch:arm-build", proxy.host()), "--output", "json"]);
    r.code(1);
    assert_eq!(result_of(&r.json(), SINGLE)["reason"], format!("image platform linux/arm64 does not match variant {SINGLE} (Linux-Ubuntu-22.04-AMD64: expected linux/amd64); nothing was pushed"));
    assert_eq!(uploads(&proxy), 0, "nothing pushed: {:?}", proxy.counts());
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-staging")), None);

    // an index lacking one of the multi-arch variant's platforms
    let dir = f.sb.path().join("out/multi-arm-only");
    std::fs::create_dir_all(&dir).unwrap();
    layout::write_index(&dir, &index(vec![image(Flavor::Oci, "arm64", 1, 9)]));
    let r = f.at(T0, &["publish", MULTI, "--image", dir.to_str().unwrap(), "--output", "json"]);
    r.code(1);
    assert_eq!(
        result_of(&r.json(), MULTI)["reason"],
        format!("image index platforms [linux/arm64] lack linux/amd64 of variant {MULTI} (Linux-Ubuntu-22.04-AMD64: expected linux/amd64, linux/arm64); nothing was pushed")
    );
    assert_eq!(f.skopeo_digest(&format!("{MULTI}-staging")), None);

    // the right platform goes through
    let (dir, digest) = f.build(SINGLE, 10);
    f.at(T0, &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-staging")).as_deref(), Some(digest.as_str()));
}

#[test]
fn history_marks_a_forced_promotion() {
    let mut f = Fleet::new("72h");
    let (dir, d1) = f.build(SINGLE, 1);
    f.at(&t(0), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    f.at(&t(73), &["promote", "--variant", SINGLE]).code(0); // soaked
    f.change_sources();
    let (dir, d2) = f.build(SINGLE, 2);
    f.at(&t(80), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    f.at(&t(81), &["promote", "--variant", SINGLE, "--force"]).code(0); // 1h of 72h: forced
    f.at(&t(82), &["rollback", SINGLE]).code(0);
    let h = f.at(&t(83), &["history", SINGLE, "--output", "json"]).code(0).json();
    let entries = h["entries"].as_array().unwrap();
    let got: Vec<(&str, &str, bool)> = entries.iter().map(|e| (e["kind"].as_str().unwrap(), e["digest"].as_str().unwrap(), e["forced"].as_bool().unwrap())).collect();
    assert_eq!(got, vec![("rollback", d1.as_str(), false), ("promote", d2.as_str(), true), ("promote", d1.as_str(), false)], "{h:#}");
    // the §4.1 fields are all still there
    for k in ["time", "digest", "kind", "tag", "rejected"] {
        assert!(entries.iter().all(|e| e.get(k).is_some()), "{k}: {h:#}");
    }
    let human = f.at(&t(83), &["history", SINGLE]).code(0).stdout.clone();
    assert!(human.contains("FORCED") && human.lines().filter(|l| l.contains("forced")).count() == 1, "{human}");
    // staging's history has no forced move
    let s = f.at(&t(83), &["history", SINGLE, "--channel", "staging", "--output", "json"]).code(0).json();
    assert!(s["entries"].as_array().unwrap().iter().all(|e| e["forced"] == false), "{s:#}");
}

#[test]
fn with_records_the_record_says_whether_a_move_was_forced() {
    let mut f = Fleet::new("1h");
    crate::records_support::enable_records(&f, "{ enabled: true }");
    let (dir, _) = f.build(SINGLE, 1);
    f.at(&t(0), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    f.at(&t(2), &["promote", "--variant", SINGLE]).code(0);
    f.change_sources();
    let (dir, _) = f.build(SINGLE, 2);
    f.at(&t(3), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
    // --force on a build that has soaked anyway: no rule was skipped, but --force was given
    f.at(&t(5), &["promote", "--variant", SINGLE, "--force"]).code(0);
    let forced = |doc: serde_json::Value| doc["entries"].as_array().unwrap().iter().map(|e| e["forced"].as_bool().unwrap()).collect::<Vec<_>>();
    assert_eq!(forced(f.at(&t(6), &["history", SINGLE, "--output", "json"]).code(0).json()), vec![false, false], "the histories: no rule was skipped");
    let with = f.at(&t(6), &["history", SINGLE, "--records", "--output", "json"]).code(0).json();
    assert_eq!(with["entries"][0]["record"]["statement"]["kind"], "forced-promote", "{with:#}");
    assert_eq!(forced(with), vec![true, false], "the record: --force was given");
}

/// Retirement over simulated weeks with a 72h soak: before `retired:` is in the manifest the
/// variant's weekly builds roll out; once it is (dated ahead, 2026-11-20), the next Wednesdays
/// skip it saying when it ends, then that it ended, while its channels stay where they were;
/// mark-eol before the date marks with the date ahead (docker-tools' mark carries a date).
#[test]
fn a_variant_retired_ahead_of_its_date_stops_rolling_out_and_keeps_its_channels_over_the_weeks() {
    let mut f = Fleet::new("72h");
    let wednesday = |w: i64| (chrono::DateTime::parse_from_rfc3339("2026-11-04T06:17:00Z").unwrap() + chrono::TimeDelta::weeks(w)).to_rfc3339();
    let monday = |w: i64| (chrono::DateTime::parse_from_rfc3339("2026-11-02T10:00:00Z").unwrap() + chrono::TimeDelta::weeks(w)).to_rfc3339();
    let mut builds = Vec::new();
    for w in 0..2 {
        if w > 0 {
            f.change_sources();
        }
        let (dir, d) = f.build(SINGLE, 300 + w as u64);
        f.at(&monday(w), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(0);
        builds.push(d);
    }
    // week 2: last week's build has soaked and goes out
    let doc = f.at(&wednesday(2), &["promote", "--variant", SINGLE, "--output", "json"]).code(0).json();
    assert_eq!(doc["results"][0]["to"], builds[1].as_str(), "{doc:#}");
    // retired ahead of its date (2026-11-20), a new build exists on main: not built, not promoted
    retire_single(&f);
    f.change_sources();
    let (dir, _) = f.build(SINGLE, 399);
    f.at(&monday(2), &["publish", SINGLE, "--image", dir.to_str().unwrap()]).code(1);
    let before = f.at(&wednesday(2), &["promote", "--variant", SINGLE, "--output", "json"]).code(0).json();
    assert_eq!((before["results"][0]["action"].as_str(), before["results"][0]["reason"].as_str()), (Some("skipped"), Some("retired: end of life on 2026-11-20")), "{before:#}");
    let marks = f.at(&wednesday(2), &["mark-eol", "--variant", SINGLE, "--output", "json"]).code(0).json();
    assert!(marks["results"].as_array().unwrap().iter().any(|r| r["to"] == builds[1].as_str() && r["reason"].as_str().unwrap().starts_with("marked end of life 2026-11-20")), "{marks:#}");
    let after = f.at(&wednesday(3), &["promote", "--variant", SINGLE, "--output", "json"]).code(0).json();
    assert_eq!(after["results"][0]["reason"], "retired on 2026-11-20", "{after:#}");
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_ref(), Some(&builds[1]), "latest stays where it was");
    let st = f.at(&wednesday(3), &["status", SINGLE, "--output", "json"]).code(0).json();
    assert!(st["variants"][0].get("pending").is_none() && st["variants"][0]["retired"] == "2026-11-20", "{st:#}");
}
