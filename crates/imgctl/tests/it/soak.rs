//! Seeded fault-injection soak (short profile): random publish / promote / rollback / gc
//! steps through a proxy that fails 20% of requests (429, 5xx, dropped connections, resets
//! mid-body, truncated bodies, slow answers, altered manifests). After every step — re-run without faults when it failed —
//! the registry itself is checked: every channel points at a digest its history explains,
//! nothing a channel needs is gone (its digest, what a rollback would go back to), a rolled-back digest is never re-promoted, and running
//! the step again changes nothing. `IMGCTL_SOAK_SEED` / `IMGCTL_SOAK_STEPS` pick the run
//! (`scripts/soak` runs the long profile).

use std::collections::{BTreeMap, BTreeSet};

use imgctl_registry::Registry;
use imgctl_testkit::{Fault, FaultPlan, Proxy, TestRegistry, block_on};

use crate::fleet::{Fleet, REPO};
use crate::support::Run;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn faults(seed: u64) -> FaultPlan {
    FaultPlan {
        rate: 0.2,
        seed,
        faults: vec![
            Fault::TooManyRequests { retry_after_secs: 0 },
            Fault::Status(500),
            Fault::Status(502),
            Fault::Status(503),
            Fault::Drop,
            Fault::ResetMidBody,
            Fault::Truncate,
            Fault::Slow { millis: 150 },
            Fault::AlterManifest,
        ],
        kinds: Vec::new(),
        max: None,
    }
}

/// Checks the invariants on the registry directly (not through the proxy).
/// `seen` collects every tag ever listed: the whole history, also of digests gc deleted since;
/// `targets` the rollback target of each channel that resolved at the last check.
fn check(f: &Fleet, names: &[String], rejected: &BTreeMap<String, BTreeSet<String>>, seen: &mut BTreeSet<String>, targets: &mut BTreeMap<String, String>, step: &str) {
    let client = f.reg.client();
    let listed = block_on(client.list_tags(REPO)).expect("list tags");
    seen.extend(listed.iter().cloned());
    let tags = &*seen;
    for v in names {
        for channel in ["staging", "latest"] {
            let tag = format!("{v}-{channel}");
            let Ok(d) = block_on(client.resolve(REPO, &tag)) else {
                // a channel that never moved has no tag and no history
                assert!(!tags.iter().any(|t| t.starts_with(&format!("{tag}-2"))), "{step}: {tag} is gone but has history");
                continue;
            };
            let d12 = &d.digest["sha256:".len()..][..12];
            // (time, digest12, rolled back from, release tag), oldest first
            let mut moves: Vec<(&str, &str, Option<&str>, &str)> = tags
                .iter()
                .filter_map(|t| t.strip_prefix(&format!("{tag}-")).map(|rest| (t, rest)))
                .filter_map(|(t, rest)| {
                    let parts: Vec<&str> = rest.split('-').collect();
                    (parts.len() >= 2 && parts[0].len() == 14 && parts[1].len() == 12).then(|| (parts[0], parts[1], parts.get(2).copied(), t.as_str()))
                })
                .collect();
            moves.sort();
            let newest = moves.last().map(|m| m.0).unwrap_or_else(|| panic!("{step}: {tag} has no history"));
            assert!(moves.iter().any(|(t, d, ..)| *t == newest && *d == d12), "{step}: {tag} points at {d12}, which its history does not explain");
            // what a rollback would go back to is protected: once it resolves after a step,
            // it resolves after every later step for as long as it is the target
            match rollback_target(&moves, d12) {
                Some(target) if block_on(client.resolve(REPO, target)).is_ok() => {
                    targets.insert(tag.clone(), target.to_string());
                }
                Some(target) => {
                    assert_ne!(targets.remove(&tag).as_deref(), Some(target), "{step}: deleted {target}, the rollback target of {tag}");
                }
                None => {
                    targets.remove(&tag);
                }
            }
            if channel == "latest" {
                if let Some(bad) = rejected.get(v) {
                    assert!(!bad.contains(&d.digest), "{step}: {tag} was re-promoted to rejected {}", d.digest);
                }
            }
        }
    }
}

/// The release tag of the move a rollback from `current` goes back to (an oracle written
/// apart from imgctl's): the newest earlier move to another digest not rejected — rolled
/// back from and not moved to since.
fn rollback_target<'a>(moves: &[(&str, &str, Option<&str>, &'a str)], current: &str) -> Option<&'a str> {
    let rejected = |d: &str| match moves.iter().rposition(|m| m.2 == Some(d)) {
        None => false,
        Some(at) => !moves[at + 1..].iter().any(|m| m.1 == d),
    };
    let start = moves.iter().rposition(|m| m.1 == current).unwrap_or(moves.len());
    moves[..start].iter().rev().find(|m| m.1 != current && !rejected(m.1)).map(|m| m.3)
}

/// Runs `args`; when faults made it fail, runs it again without faults. Returns the run
/// that counts.
fn run_converging(f: &Fleet, proxy: &Proxy, now: &str, args: &[&str], seed: u64) -> Run {
    let first = f.at(now, args);
    if first.code == 0 {
        return first;
    }
    proxy.clear_faults();
    let again = f.at(now, args);
    proxy.set_faults(faults(seed));
    again
}

#[test]
fn seeded_soak_with_faults_keeps_the_invariants() {
    let seed = env_num("IMGCTL_SOAK_SEED", 7);
    let steps = env_num("IMGCTL_SOAK_STEPS", 24);
    let n = env_num("IMGCTL_SOAK_VARIANTS", 6) as usize;
    let reg = TestRegistry::start();
    let proxy = Proxy::start(&reg.host());
    let mut f = Fleet::many_with_host(reg, proxy.host(), "0s", n);
    let names: Vec<String> = (0..n).map(|k| format!("ubuntu-22.04-helix-v{k}-amd64")).collect();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut rejected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut hour = 0i64;
    let mut built: BTreeSet<String> = BTreeSet::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut targets: BTreeMap<String, String> = BTreeMap::new();
    proxy.set_faults(faults(seed));
    for step in 0..steps {
        hour += 1;
        let now = (chrono::DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z").unwrap() + chrono::TimeDelta::hours(hour)).to_rfc3339();
        let v = names[rng.usize(..n)].clone();
        let op = rng.u8(..10);
        let label;
        let run = match op {
            0..=3 => {
                // a new revision now and then (op 0, or every variant built); else the next
                // variant not built yet at this revision, so promotions move many at once
                let start = rng.usize(..n);
                let unbuilt = (0..n).map(|k| &names[(start + k) % n]).find(|x| !built.contains(*x)).cloned();
                let v = match unbuilt.filter(|_| op != 0) {
                    Some(v) => v,
                    None => {
                        f.change_sources();
                        built.clear();
                        v
                    }
                };
                built.insert(v.clone());
                let (dir, _) = f.build("any", seed * 1_000 + step);
                label = format!("step {step}: publish {v}");
                run_converging(&f, &proxy, &now, &["publish", &v, "--image", dir.to_str().unwrap(), "--output", "json"], seed)
            }
            4..=6 => {
                label = format!("step {step}: promote");
                let r = run_converging(&f, &proxy, &now, &["promote", "--output", "json"], seed);
                // idempotent: the same promote again moves nothing
                proxy.clear_faults();
                let again = f.at(&now, &["promote", "--output", "json"]).json();
                proxy.set_faults(faults(seed));
                assert!(again["results"].as_array().unwrap().iter().all(|r| r["action"] != "moved"), "{label}: re-run moved again: {again:#}");
                r
            }
            7..=8 => {
                label = format!("step {step}: rollback {v}");
                let r = run_converging(&f, &proxy, &now, &["rollback", &v, "--output", "json"], seed);
                if r.code == 0 {
                    let doc = r.json();
                    if doc["results"][0]["action"] == "moved" {
                        rejected.entry(v.clone()).or_default().insert(doc["results"][0]["from"].as_str().unwrap().to_string());
                    }
                }
                r
            }
            _ => {
                label = format!("step {step}: gc");
                run_converging(&f, &proxy, &now, &["gc", "--apply", "--keep", "1", "--older-than", "1h", "--output", "json"], seed)
            }
        };
        // after convergence, only legitimate refusals remain (e.g. nothing to roll back to)
        if run.code != 0 {
            assert_eq!(run.code, 1, "{label}: {}", run.stderr);
            assert!(!run.stdout.contains("\"failed\""), "{label}: still failing without faults: {}", run.stdout);
        }
        proxy.clear_faults();
        check(&f, &names, &rejected, &mut seen, &mut targets, &label);
        proxy.set_faults(faults(seed));
        if (step + 1) % 100 == 0 {
            eprintln!("soak seed {seed}: {} of {steps} steps checked", step + 1);
        }
    }
    let injected = proxy.events().iter().filter(|e| e.fault.is_some()).count();
    assert!(injected > 0, "the soak injected no fault");
    eprintln!("soak seed {seed}: {steps} steps over {n} variants, {injected} faults injected");
}
