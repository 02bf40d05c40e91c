//! The rollout calendar against the real registry (SPEC §9): eight weeks of a change every
//! Monday with a 72h soak and a Wednesday 06:17 promotion (latest moves every week, to the
//! newest soaked build), three rings, a new variant, a hotfix. Channels are checked with
//! skopeo; requests are counted at the proxy.

use imgctl_testkit::{PathKind, Proxy, TestRegistry};

use crate::fleet::{ARM, Fleet, MULTI, SINGLE, VARIANTS, git, result_of};

/// Monday 10:00 of week `w` (2026-11-02 is a Monday).
fn monday(w: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-02T10:00:00Z").unwrap().with_timezone(&chrono::Utc) + chrono::TimeDelta::weeks(w)
}

fn rfc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339()
}

/// Commits a change of every variant's source on `main` only (production stays).
fn change_on_main(f: &Fleet, n: i64) {
    f.sb.write("src/helix/Dockerfile", &format!("FROM ubuntu:22.04\nRUN echo week {n}\n"));
    f.sb.write("src/multi/Dockerfile", &format!("FROM ubuntu:22.04\nRUN echo multi week {n}\n"));
    git(f.sb.path(), &["commit", "-qam", &format!("week {n}")]);
}

fn publish(f: &Fleet, v: &str, seed: u64, now: &str) -> String {
    let (dir, digest) = f.build(v, seed);
    let doc = f.at(now, &["publish", v, "--image", dir.to_str().unwrap(), "--output", "json"]).code(0).json();
    assert_eq!(doc["results"][0]["action"], "moved", "{doc:#}");
    digest
}

#[test]
fn eight_weeks_of_monday_changes_move_latest_every_wednesday_to_the_newest_soaked_build() {
    let reg = TestRegistry::start();
    let proxy = Proxy::start(&reg.host());
    let f = Fleet::with_host(reg, proxy.host(), "72h");
    f.edit_manifest(|m| m.replace("soak: 72h }", "soak: 72h, schedule: '17 6 * * 3' }"));
    let mut builds: Vec<String> = Vec::new();
    for w in 0..8 {
        change_on_main(&f, w);
        let built = publish(&f, SINGLE, 500 + w as u64, &rfc(monday(w)));
        for (k, v) in [ARM, MULTI].iter().enumerate() {
            publish(&f, v, 600 + 10 * w as u64 + k as u64, &rfc(monday(w)));
        }
        builds.push(built);
        // Wednesday 06:17: production ← main, then the scheduled promotion
        git(f.sb.path(), &["branch", "-f", "production", "main"]);
        let wednesday = monday(w) + chrono::TimeDelta::minutes(44 * 60 + 17);
        proxy.reset();
        let doc = f.at(&rfc(wednesday), &["promote", "--output", "json"]).code(0).json();
        let r = result_of(&doc, SINGLE);
        let reason = r["reason"].as_str().unwrap();
        let ready = (monday(w) + chrono::TimeDelta::hours(72)).format("%Y-%m-%d %H:%MZ").to_string();
        if w == 0 {
            // the first build has soaked 1d20h17m of 3d: it waits, saying until when
            assert_eq!(r["action"], "skipped", "{doc:#}");
            assert!(reason.contains("on staging for 1d20h17m of 3d: 1d3h43m left") && reason.contains(&format!("(ready {ready})")), "{reason}");
            assert!(reason.contains("next promotion 2026-11-11 06:17Z"), "{reason}");
            assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")), None);
        } else {
            // last week's build has soaked 9 days: it moves, this week's waits
            assert_eq!((r["action"].as_str(), r["to"].as_str()), (Some("moved"), Some(builds[w as usize - 1].as_str())), "week {w}: {doc:#}");
            assert!(reason.contains("soak of 3d met: on staging for 8d20h17m") && reason.contains(&format!("(ready {ready})")), "{reason}");
            assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_ref(), Some(&builds[w as usize - 1]), "week {w}: skopeo sees latest moved");
            for v in [ARM, MULTI] {
                assert_eq!(result_of(&doc, v)["action"], "moved", "week {w}: {doc:#}");
            }
            // SPEC §6 per variant: HEAD current, GET of the waiting tip, GET of the build
            // moved to, PUT channel, PUT release tag, HEAD verify — one request more than
            // a tip that moves itself, for the newer build passed over (plus one PUT for
            // the alias `ubuntu-22.04-helix-latest`)
            let c = proxy.counts();
            assert_eq!(c.get("GET", PathKind::Manifest), 2 * 3, "week {w}: {c:?}");
            assert_eq!(c.kind(PathKind::Manifest), 6 * 3 + 1, "week {w}: {c:?}");
            assert_eq!(c.kind(PathKind::TagsList), 2, "one listing, one re-check: {c:?}");
        }
        // status: the waiting build's absolute ready time and when the schedule takes it out
        let st = f.at(&rfc(wednesday + chrono::TimeDelta::minutes(1)), &["status", SINGLE, "--output", "json"]).code(0).json();
        let p = &st["variants"][0]["pending"];
        assert_eq!((p["blockedBy"].as_str(), p["digest"].as_str()), (Some("soak"), Some(builds[w as usize].as_str())), "{st:#}");
        assert_eq!(p["readyAt"], format!("{}", (monday(w) + chrono::TimeDelta::hours(72)).format("%Y-%m-%dT%H:%M:%SZ")), "{st:#}");
        assert_eq!(p["nextPromotion"], format!("{}", (monday(w) + chrono::TimeDelta::minutes(9 * 24 * 60 - 3 * 60 - 43)).format("%Y-%m-%dT%H:%M:%SZ")), "{st:#}");
    }
}

#[test]
fn three_rings_publish_promote_twice_rollback_status_and_history() {
    let mut f = Fleet::new("24h");
    f.edit_manifest(|m| {
        let latest = m.lines().find(|l| l.trim_start().starts_with("latest:")).unwrap().to_string();
        m.replace(&latest, "  canary: { suffix: \"-canary\", newVariants: soak, promotesFrom: staging, soak: 24h }\n  latest: { suffix: \"-latest\", branch: production, newVariants: soak, promotesFrom: canary, soak: 24h }")
    });
    let t = |h: i64| rfc(monday(0) + chrono::TimeDelta::hours(h));
    let a = publish(&f, SINGLE, 700, &t(0));
    // day 1: canary takes A; latest judges canary as it was before the run (empty)
    let doc = f.at(&t(25), &["promote", "--output", "json"]).code(0).json();
    let rows: Vec<(&str, &str)> = doc["results"].as_array().unwrap().iter().filter(|r| r["variant"] == SINGLE).map(|r| (r["channel"].as_str().unwrap(), r["action"].as_str().unwrap())).collect();
    assert_eq!(rows, [("canary", "moved"), ("latest", "skipped")], "chain order, no ring skipped: {doc:#}");
    // day 2: A has been on canary a day: latest takes it
    let doc = f.at(&t(50), &["promote", "--output", "json"]).code(0).json();
    assert_eq!(doc["results"].as_array().unwrap().iter().find(|r| r["variant"] == SINGLE && r["channel"] == "latest").unwrap()["action"], "moved", "{doc:#}");
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_ref(), Some(&a));
    // build B: canary first, latest a day later
    f.change_sources();
    let b = publish(&f, SINGLE, 701, &t(51));
    f.at(&t(76), &["promote"]).code(0);
    assert_eq!((f.skopeo_digest(&format!("{SINGLE}-canary")), f.skopeo_digest(&format!("{SINGLE}-latest"))), (Some(b.clone()), Some(a.clone())));
    f.at(&t(101), &["promote"]).code(0);
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_ref(), Some(&b));
    // rollback without --channel acts on the consumers' channel, and says so
    let doc = f.at(&t(102), &["rollback", SINGLE, "--output", "json"]).code(0).json();
    assert_eq!((doc["results"][0]["channel"].as_str(), doc["results"][0]["to"].as_str()), (Some("latest"), Some(a.as_str())), "{doc:#}");
    assert!(doc["results"][0]["reason"].as_str().unwrap().contains("latest: the channel consumers use (the promotion chain's end"), "{doc:#}");
    assert_eq!((f.skopeo_digest(&format!("{SINGLE}-canary")), f.skopeo_digest(&format!("{SINGLE}-latest"))), (Some(b.clone()), Some(a.clone())));
    // status: pending per channel (canary at its newest, latest held back by the rejection)
    let st = f.at(&t(103), &["status", SINGLE, "--output", "json"]).code(0).json();
    let v = &st["variants"][0];
    assert!(v["channels"]["canary"].get("pending").is_none(), "{st:#}");
    assert_eq!(v["channels"]["latest"]["pending"]["blockedBy"], "rejected", "{st:#}");
    assert_eq!(v["pending"], v["channels"]["latest"]["pending"], "top-level pending is the consumers' channel: {st:#}");
    let human = f.at(&t(103), &["status", SINGLE]).code(0).stdout.clone();
    assert!(human.contains("canary: up to date") && human.contains("latest: sha256:"), "{human}");
    // history defaults to the consumers' channel; --channel canary shows the ring's own
    let h = f.at(&t(104), &["history", SINGLE, "--output", "json"]).code(0).json();
    assert_eq!(h["channel"], "latest");
    let kinds: Vec<&str> = h["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["rollback", "promote", "promote"], "{h:#}");
    let h = f.at(&t(104), &["history", SINGLE, "--channel", "canary", "--output", "json"]).code(0).json();
    assert_eq!(h["entries"][0]["digest"], b.as_str(), "{h:#}");
    // a mistyped channel lists the channels
    let r = f.at(&t(104), &["history", SINGLE, "--channel", "canery"]);
    r.code(1);
    assert!(r.stderr.contains("staging, canary, latest"), "{}", r.stderr);
}

#[test]
fn a_new_variant_reaches_latest_at_the_next_promotion_and_one_not_on_production_is_named_truly() {
    let f = Fleet::new("72h");
    f.edit_manifest(|m| m.replace("newVariants: soak", "newVariants: immediate"));
    // a variant added on main only
    let path = f.sb.path().join("manifests/images.yaml");
    let text = std::fs::read_to_string(&path).unwrap() + "  - os: Linux-Ubuntu-22.04-AMD64\n    qualifiers: [helix, extra]\n    context: ../src/helix\n";
    std::fs::write(&path, text).unwrap();
    git(f.sb.path(), &["commit", "-qam", "a new variant"]);
    const NEW: &str = "ubuntu-22.04-helix-extra-amd64";
    let d = publish(&f, NEW, 800, &rfc(monday(0)));
    let r = f.at(&rfc(monday(0) + chrono::TimeDelta::hours(1)), &["promote", "--variant", NEW, "--force"]);
    r.code(1);
    let short = git(f.sb.path(), &["rev-parse", "--short=7", "production"]);
    assert!(r.stderr.contains(&format!("'{NEW}': it is not in the manifest at production ({short})")) && r.stderr.contains("merge it there, or pass --ref main"), "{}", r.stderr);
    // merged: the next promotion moves it an hour after its first build, no soak
    git(f.sb.path(), &["branch", "-f", "production", "main"]);
    let doc = f.at(&rfc(monday(0) + chrono::TimeDelta::hours(1)), &["promote", "--output", "json"]).code(0).json();
    let row = result_of(&doc, NEW);
    assert_eq!((row["action"].as_str(), row["to"].as_str()), (Some("moved"), Some(d.as_str())), "{doc:#}");
    assert!(row["reason"].as_str().unwrap().contains("new variant: first build on staging, soak waived (newVariants: immediate)"), "{doc:#}");
    assert_eq!(f.skopeo_digest(&format!("{NEW}-latest")).as_ref(), Some(&d));
    // from then on it is like any variant: its next build waits for the soak
    change_on_main(&f, 1);
    git(f.sb.path(), &["branch", "-f", "production", "main"]);
    publish(&f, NEW, 801, &rfc(monday(0) + chrono::TimeDelta::hours(2)));
    let doc = f.at(&rfc(monday(0) + chrono::TimeDelta::hours(3)), &["promote", "--variant", NEW, "--output", "json"]).code(0).json();
    assert_eq!(result_of(&doc, NEW)["action"], "skipped", "{doc:#}");
    assert!(result_of(&doc, NEW)["reason"].as_str().unwrap().contains("2d23h left"), "{doc:#}");
}

#[test]
fn a_hotfix_ships_from_main_with_force_and_a_force_that_moves_nothing_fails() {
    let f = Fleet::new("72h");
    let t = |h: i64| rfc(monday(0) + chrono::TimeDelta::hours(h));
    let a = publish(&f, SINGLE, 900, &t(0));
    f.at(&t(73), &["promote", "--variant", SINGLE]).code(0);
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_ref(), Some(&a));
    // the fix lands on main and is published; production has not moved
    change_on_main(&f, 9);
    let b = publish(&f, SINGLE, 901, &t(74));
    let doc = f.at(&t(75), &["promote", "--variant", SINGLE, "--force", "--ref", "main", "--output", "json"]).code(0).json();
    assert_eq!((doc["results"][0]["action"].as_str(), doc["results"][0]["to"].as_str()), (Some("moved"), Some(b.as_str())), "{doc:#}");
    assert!(doc["results"][0]["reason"].as_str().unwrap().contains("forced (--force)"), "{doc:#}");
    assert_eq!(f.skopeo_digest(&format!("{SINGLE}-latest")).as_ref(), Some(&b));
    // run again: already there, still a success
    f.at(&t(76), &["promote", "--variant", SINGLE, "--force", "--ref", "main"]).code(0);
    // a variant whose fix was not published: the forced run moves nothing and fails
    let r = f.at(&t(76), &["promote", "--variant", ARM, "--force", "--ref", "main", "--output", "json"]);
    r.code(1);
    let doc = r.json();
    assert_eq!(doc["results"][0]["action"], "skipped", "{doc:#}");
    assert!(doc["results"][0]["reason"].as_str().unwrap().contains("no build for source id"), "{doc:#}");
    // production fast-forwards; the weekly run finds latest where the hotfix put it
    git(f.sb.path(), &["branch", "-f", "production", "main"]);
    let doc = f.at(&t(80), &["promote", "--output", "json"]).code(0).json();
    assert_eq!(result_of(&doc, SINGLE)["action"], "unchanged", "{doc:#}");
    for v in VARIANTS {
        let _ = result_of(&doc, v);
    }
}
