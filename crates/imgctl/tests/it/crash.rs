//! Crash consistency (issue 20, docs/HARDENING.md): every mutating command — publish,
//! promote, rollback, gc --apply, mark-eol; records off and on; with a mirror — is killed
//! (SIGKILL, the real binary) with each write request held at the proxy and at random
//! moments, from the same registry state each time; then run once more. Checked against a
//! clean run's registry (read from the storage, cross-checked with skopeo): the rerun
//! converges to it (tags → digests, records and lifecycle marks, neither lost nor
//! duplicated), nothing the clean run keeps was deleted by the killed run, and a third run
//! writes nothing (0 PUT/POST/PATCH/DELETE at either proxy).
//!
//! CI runs a seeded sample: one kill per scenario, at a held write or a random moment;
//! `scripts/soak` sets `IMGCTL_CRASH_FIXED` (held writes per scenario, picked at random among
//! all of them) and `IMGCTL_CRASH_RANDOM` (random moments per scenario). `IMGCTL_CRASH_SEED`
//! picks the sample.

use std::time::Instant;

use crate::crash_support::{Kill, Snapshot, World, cross_check, manifests, t, writes};
use crate::fleet::{MULTI, REPO, SINGLE};
use crate::records_support::referrers;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One command under test, in one configuration.
struct Scenario {
    name: String,
    args: Vec<String>,
    now: String,
    records: bool,
    mirror: bool,
    /// Cross-check the clean run's registry with skopeo.
    check: bool,
}

#[derive(Default)]
struct Tally {
    held: usize,
    random: usize,
    unreached: usize,
    failures: Vec<String>,
}

/// Kills `sc` at the sampled points and checks each rerun; returns the tally.
fn exercise(w: &mut World, base: &Snapshot, sc: &Scenario, rng: &mut fastrand::Rng, sample: Option<(usize, usize)>) -> Tally {
    // the default sample: one kill per scenario, at a held write or a random moment
    let (fixed, random) = sample.unwrap_or(if rng.bool() { (1, 0) } else { (0, 1) });
    let args: Vec<&str> = sc.args.iter().map(String::as_str).collect();
    w.configure(sc.records, sc.mirror);
    w.restore(base);
    let before = manifests(&w.f.reg.storage_root(), REPO);
    w.reset_counts();
    let scenario_started = Instant::now();
    let started = Instant::now();
    let clean = w.run(&sc.now, &args);
    let took = started.elapsed();
    let (pw, mw) = (writes(&w.proxy), writes(&w.mirror_proxy));
    assert!(pw > 0, "{}: the clean run wrote nothing:\n{}\n{}", sc.name, clean.stdout, clean.stderr);
    let want = w.state();
    // what the clean run keeps of what was there: no kill may lose any of it
    let kept: std::collections::BTreeSet<String> = manifests(&w.f.reg.storage_root(), REPO).intersection(&before).cloned().collect();
    // the storage reading agrees with skopeo (once per command: skopeo costs ~0.3 s a call)
    if sc.check {
        cross_check(&w.f.reg.host(), REPO, &want.0);
        if sc.mirror {
            cross_check(&w.mirror.host(), crate::crash_support::MIRROR_REPO, &want.1);
        }
    }
    let mut points: Vec<Kill> = (1..=pw).map(|n| Kill::Write { mirror: false, n }).chain((1..=mw).map(|n| Kill::Write { mirror: true, n })).collect();
    rng.shuffle(&mut points);
    points.truncate(fixed);
    points.extend((0..random).map(|_| Kill::After(took.mul_f64(rng.f64()))));
    let mut tally = Tally::default();
    for mut kill in points {
        w.restore(base);
        // a random moment past the run's end (it ran faster this time): earlier, up to 4 times
        let mut killed = w.killed(&sc.now, &args, kill);
        let mut tries = 1;
        while !killed {
            tally.unreached += 1;
            match kill {
                Kill::After(d) if tries < 4 => kill = Kill::After(d / 2),
                _ => break,
            }
            tries += 1;
            w.restore(base);
            killed = w.killed(&sc.now, &args, kill);
        }
        if !killed {
            continue;
        }
        match kill {
            Kill::Write { .. } => tally.held += 1,
            Kill::After(_) => tally.random += 1,
        }
        let label = format!("{}: killed at {kill:?}", sc.name);
        let lost: Vec<String> = kept.difference(&manifests(&w.f.reg.storage_root(), REPO)).cloned().collect();
        if !lost.is_empty() {
            tally.failures.push(format!("{label}: deleted what the clean run keeps: {lost:?}"));
        }
        let rerun = w.run(&sc.now, &args);
        let got = w.state();
        if rerun.code != clean.code || got != want {
            tally.failures.push(format!(
                "{label}: not converged in one rerun (exit {} vs {}):\n{}\n{}\n{}",
                rerun.code,
                clean.code,
                got.0.diff(&want.0),
                got.1.diff(&want.1),
                rerun.stdout
            ));
            continue;
        }
        w.reset_counts();
        let third = w.run(&sc.now, &args);
        let wrote: Vec<String> =
            w.proxy.events().into_iter().chain(w.mirror_proxy.events()).filter(|e| e.method != "GET" && e.method != "HEAD").map(|e| format!("{} {}", e.method, e.path)).collect();
        if third.code != clean.code || !wrote.is_empty() {
            tally.failures.push(format!("{label}: the third run (exit {}) wrote {wrote:?}", third.code));
        }
    }
    let kills = tally.held + tally.random;
    eprintln!(
        "crash: {}: {kills} kills ({} at a held write of {pw}+{mw}, {} at random moments within {took:.1?}), {} converged in one rerun{} [{:.1?}]",
        sc.name,
        tally.held,
        tally.random,
        kills - tally.failures.len().min(kills),
        if tally.unreached > 0 { format!(" ({} runs ended before their kill point)", tally.unreached) } else { String::new() },
        scenario_started.elapsed()
    );
    tally
}

fn scenario(name: &str, args: &[&str], now: &str, records: bool, mirror: bool) -> Scenario {
    let config = match (records, mirror) {
        (false, false) => "records off",
        (true, false) => "records on",
        (false, true) => "records off, mirror",
        (true, true) => "records on, mirror",
    };
    Scenario { name: format!("{name} ({config})"), args: args.iter().map(|a| a.to_string()).collect(), now: now.to_string(), records, mirror, check: mirror || name == "mark-eol" }
}

#[test]
fn every_kill_of_every_mutating_command_converges_in_one_rerun() {
    let seed = env_num("IMGCTL_CRASH_SEED", 20) as u64;
    let sample = std::env::var("IMGCTL_CRASH_FIXED").is_ok().then(|| (env_num("IMGCTL_CRASH_FIXED", 1), env_num("IMGCTL_CRASH_RANDOM", 1)));
    let mut rng = fastrand::Rng::with_seed(seed);
    let setup = Instant::now();
    let mut w = World::new();
    // the history: builds A..D published and promoted, E published; records on, mirrored;
    // then the multi-arch variant rolled back (records off: its rejected digest is unmarked)
    w.configure(true, true);
    let mut builds = Vec::new();
    for k in 0..4 {
        builds.push(w.publish_all(&t(2 * k)));
        w.run(&t(2 * k + 1), &["promote"]).code(0);
    }
    builds.push(w.publish_all(&t(8)));
    w.configure(false, true);
    w.run(&t(9), &["rollback", MULTI]).code(0);
    let base = w.snapshot();
    eprintln!("crash: the history took {:.1?}", setup.elapsed());
    let c_single = builds[2][0].clone();
    let later = t(8 + 24 * 30);
    let configs = [(false, false), (true, false), (true, true)];
    let mut scenarios = Vec::new();
    for (r, m) in configs {
        scenarios.push(scenario("promote", &["promote"], &t(10), r, m));
        scenarios.push(scenario("rollback --to", &["rollback", SINGLE, "--to", &c_single], &t(10), r, m));
    }
    scenarios.push(scenario("gc --apply", &["gc", "--apply", "--keep", "1", "--older-than", "1h"], &later, true, true));
    scenarios.push(scenario("mark-eol", &["mark-eol"], &later, false, false));
    let mut tallies: Vec<(String, Tally)> = scenarios.iter().map(|sc| (sc.name.clone(), exercise(&mut w, &base, sc, &mut rng, sample))).collect();
    // publish last: its build needs new sources (a git commit the other scenarios must not see)
    let dir = w.new_multi_build();
    for (r, m) in configs {
        let sc = scenario("publish", &["publish", MULTI, "--image", dir.to_str().unwrap()], &t(10), r, m);
        tallies.push((sc.name.clone(), exercise(&mut w, &base, &sc, &mut rng, sample)));
    }
    let failures: Vec<&String> = tallies.iter().flat_map(|(_, t)| &t.failures).collect();
    let kills: usize = tallies.iter().map(|(_, t)| t.held + t.random).sum();
    eprintln!("crash: seed {seed}: {kills} kills over {} scenarios, {} converged", tallies.len(), kills - failures.len());
    assert!(kills >= tallies.len(), "too few kills reached their point");
    assert!(failures.is_empty(), "{} of {kills} kills did not converge:\n{}", failures.len(), failures.iter().map(|f| f.as_str()).collect::<Vec<_>>().join("\n\n"));
}

/// The writes of a clean run of `args` from `base`, and the 1-based number of the first
/// whose path contains `needle` (a PUT).
fn write_number(w: &World, base: &Snapshot, now: &str, args: &[&str], needle: &str) -> usize {
    w.restore(base);
    w.reset_counts();
    w.run(now, args).code(0);
    let writes: Vec<String> = w.proxy.events().into_iter().filter(|e| e.method != "GET" && e.method != "HEAD").map(|e| format!("{} {}", e.method, e.path)).collect();
    writes.iter().position(|p| p.starts_with("PUT") && p.contains(needle)).unwrap_or_else(|| panic!("no write to {needle}: {writes:#?}")) + 1
}

/// Two builds of every variant, both promoted; records on.
fn two_promotions() -> (World, Snapshot, Vec<Vec<String>>) {
    let mut w = World::new();
    w.configure(true, false);
    let mut builds = Vec::new();
    for k in 0..2 {
        builds.push(w.publish_all(&t(2 * k)));
        w.run(&t(2 * k + 1), &["promote"]).code(0);
    }
    let base = w.snapshot();
    (w, base, builds)
}

#[test]
fn a_rollback_killed_between_its_channel_and_its_release_tag_is_finished_by_the_rerun() {
    let (w, base, b) = two_promotions();
    let (a, bad) = (&b[0][0], &b[1][0]);
    let release = format!("{SINGLE}-latest-20261102040000");
    for args in [vec!["rollback", SINGLE], vec!["rollback", SINGLE, "--to", a.as_str()]] {
        let n = write_number(&w, &base, &t(4), &args, &release);
        w.restore(&base);
        assert!(w.killed(&t(4), &args, Kill::Write { mirror: false, n }), "{args:?}: killed at the release tag");
        // the channel and its alias are at the target; no release tag records it
        assert_eq!(w.f.skopeo_digest(&format!("{SINGLE}-latest")).as_deref(), Some(a.as_str()));
        assert!(!w.state().0.tags.keys().any(|t| t.starts_with(&release)), "{args:?}");
        // meanwhile promote does not overwrite it, and says how to finish it
        let p = w.run(&t(4), &["promote", "--variant", SINGLE, "--dry-run", "--output", "json"]).json();
        assert_eq!(p["results"][0]["action"], "conflict", "{p:#}");
        assert!(p["results"][0]["reason"].as_str().unwrap().contains(&format!("an interrupted rollback: rerun `imgctl rollback {SINGLE} --channel latest` to finish it")), "{p:#}");
        // the rerun finishes it, rejection, alias, record and mark included
        let doc = w.run(&t(4), &[&args[..], &["--output", "json"]].concat()).code(0).json();
        let r = &doc["results"][0];
        assert_eq!(r["action"], "unchanged", "{doc:#}");
        assert!(r["reason"].as_str().unwrap().contains("recorded the release tag of an interrupted rollback"), "{doc:#}");
        let tag = format!("{release}-{}-{}", &a[7..19], &bad[7..19]);
        assert_eq!(w.f.skopeo_digest(&tag).as_deref(), Some(a.as_str()), "{args:?}: the rollback's release tag names the rejected digest");
        assert_eq!(w.f.skopeo_digest("ubuntu-22.04-helix-latest").as_deref(), Some(a.as_str()), "the alias followed");
        let rec = referrers(&w.f, a);
        assert!(rec.iter().any(|e| e["annotations"]["dev.imgctl.kind"] == "rollback"), "{rec:#?}");
        assert!(referrers(&w.f, bad).iter().any(|e| e["artifactType"] == "application/vnd.microsoft.artifact.lifecycle"), "the rejected digest is marked");
        // rejected: a promote leaves it (no conflict any more), a forced promote moves to it
        let p = w.run(&t(5), &["promote", "--variant", SINGLE, "--output", "json"]).json();
        assert_eq!(p["results"][0]["action"], "skipped", "{p:#}");
        assert!(p["results"][0]["reason"].as_str().unwrap().contains("rejected"), "{p:#}");
        let forced = w.run(&t(6), &["promote", "--variant", SINGLE, "--force", "--output", "json"]).code(0).json();
        assert_eq!(forced["results"][0]["action"], "moved", "{forced:#}");
    }
}

#[test]
fn a_rollback_killed_before_its_record_or_mark_gets_them_from_the_rerun_or_mark_eol() {
    let (w, base, b) = two_promotions();
    let (a, bad) = (&b[0][0], &b[1][0]);
    let to = ["rollback", SINGLE, "--to", a.as_str()];
    // killed right after the release tag: no record, no mark
    let release = format!("{SINGLE}-latest-20261102040000-{}-{}", &a[7..19], &bad[7..19]);
    let n = write_number(&w, &base, &t(4), &to, &release);
    for args in [&to[..], &["rollback", SINGLE]] {
        w.restore(&base);
        assert!(w.killed(&t(4), &to, Kill::Write { mirror: false, n: n + 1 }));
        assert!(w.state().0.tags.contains_key(&release));
        let doc = w.run(&t(4), &[args, &["--output", "json"]].concat()).code(0).json();
        assert_eq!(doc["results"][0]["action"], "unchanged", "{args:?}: {doc:#}");
        assert!(referrers(&w.f, a).iter().any(|e| e["annotations"]["dev.imgctl.kind"] == "rollback"), "{args:?}");
        assert!(referrers(&w.f, bad).iter().any(|e| e["artifactType"] == "application/vnd.microsoft.artifact.lifecycle"), "{args:?}");
        w.reset_counts();
        w.run(&t(4), &to).code(0);
        assert_eq!(w.writes(), 0, "a third run writes nothing");
    }
    // killed before the mark's index update: mark-eol adds the mark (the rollback's day),
    // although staging still points at the rejected digest
    let mark = write_number(&w, &base, &t(4), &to, &format!("sha256-{}", &bad[7..]));
    w.restore(&base);
    assert!(w.killed(&t(4), &to, Kill::Write { mirror: false, n: mark }));
    assert!(!referrers(&w.f, bad).iter().any(|e| e["artifactType"] == "application/vnd.microsoft.artifact.lifecycle"));
    let doc = w.run(&t(5), &["mark-eol", "--output", "json"]).code(0).json();
    let row = doc["results"].as_array().unwrap().iter().find(|r| r["to"] == bad.as_str()).unwrap_or_else(|| panic!("{doc:#}"));
    assert_eq!(row["action"], "moved", "{doc:#}");
    let marks: Vec<_> = referrers(&w.f, bad).into_iter().filter(|e| e["artifactType"] == "application/vnd.microsoft.artifact.lifecycle").collect();
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0]["annotations"]["vnd.microsoft.artifact.lifecycle.end-of-life.date"], "2026-11-02");
}
