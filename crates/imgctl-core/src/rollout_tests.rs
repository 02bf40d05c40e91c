//! Tests of the rollout decision: unit cases, and a year of weekly promotions simulated
//! over many variants with random change days, soaks and rollbacks (proptest).

use chrono::{TimeDelta, TimeZone};
use proptest::prelude::*;

use super::*;
use crate::history::{Move, MoveKind};

const D1: &str = "sha256:1111111111110000000000000000000000000000000000000000000000000000";
const D2: &str = "sha256:2222222222220000000000000000000000000000000000000000000000000000";
const D3: &str = "sha256:3333333333330000000000000000000000000000000000000000000000000000";

fn at(h: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(h * 3600, 0).unwrap()
}

fn mv(h: i64, d: &str, from: Option<&str>) -> Move {
    Move { time: at(h), digest12: digest12(d).into(), tag: format!("t{h}"), kind: MoveKind::Publish, rolled_back_from: from.map(|f| digest12(f).into()) }
}

fn c(id: &str, d: Option<&str>) -> Candidate {
    Candidate { source_id: id.into(), digest: d.map(Into::into) }
}

fn input<'a>(candidates: &'a [Candidate], current: Option<&'a str>, target: &'a ChannelHistory, source: &'a ChannelHistory, now_h: i64) -> PromoteInput<'a> {
    PromoteInput { candidates, current, target, source, source_name: "staging", soak: Duration(72 * 3600), new_variants: NewVariants::Soak, force: false, now: at(now_h) }
}

#[test]
fn soak_gates_and_reports_time_left_and_the_ready_time() {
    let staging = ChannelHistory { moves: vec![mv(0, D1, None)] };
    let latest = ChannelHistory::default();
    let cands = [c("a", Some(D1))];
    match decide(&input(&cands, None, &latest, &staging, 70)).verdict {
        Verdict::Blocked(p) => {
            assert_eq!((p.blocked_by, p.remaining, p.ready_at), (Some(BlockedBy::Soak), Some(Duration(2 * 3600)), Some(at(72))));
            assert!(p.reason.contains("(ready 1970-01-04 00:00Z)"), "{}", p.reason);
        }
        v => panic!("{v:?}"),
    }
    assert!(matches!(decide(&input(&cands, None, &latest, &staging, 72)).verdict, Verdict::Move { .. }));
}

#[test]
fn the_newest_soaked_build_moves_when_the_tip_is_not_soaked_yet() {
    // the week's build (D2) is 44h on staging; last week's (D1) 212h: D1 moves, D2 waits
    let staging = ChannelHistory { moves: vec![mv(0, D3, None), mv(100, D1, None), mv(268, D2, None)] };
    let latest = ChannelHistory { moves: vec![mv(80, D3, None)] };
    let cands = [c("two", Some(D2)), c("one", Some(D1)), c("three", Some(D3))];
    let i = input(&cands, Some(D3), &latest, &staging, 312);
    let d = decide(&i);
    assert_eq!(d.verdict, Verdict::Move { to: D1.into(), source_id: "one".into(), why: Why::Soaked { on_source: Duration(212 * 3600) } });
    let newest = d.newest.expect("the tip still waits");
    assert_eq!((newest.source_id.as_str(), newest.blocked_by), ("two", Some(BlockedBy::Soak)));
    assert!(settled(&PromoteInput { candidates: &cands[..2], ..i.clone() }));
    assert!(!settled(&PromoteInput { candidates: &cands[..1], ..i }));
}

#[test]
fn rejected_is_skipped_for_an_older_build_and_forced_moves_the_tip_only() {
    let staging = ChannelHistory { moves: vec![mv(0, D1, None), mv(1, D2, None)] };
    let latest = ChannelHistory { moves: vec![mv(100, D1, None), mv(101, D2, None), mv(102, D1, Some(D2))] };
    let cands = [c("two", Some(D2)), c("one", Some(D1))];
    let i = input(&cands, Some(D1), &latest, &staging, 200);
    match decide(&i).verdict {
        Verdict::Blocked(p) => assert_eq!(p.blocked_by, Some(BlockedBy::Rejected)),
        v => panic!("{v:?}"),
    }
    let forced = PromoteInput { force: true, ..i };
    assert_eq!(decide(&forced).verdict, Verdict::Move { to: D2.into(), source_id: "two".into(), why: Why::Forced });
    // forced with no build of the tip: blocked, never an older build
    let cands = [c("three", None), c("two", Some(D2))];
    assert!(matches!(decide(&PromoteInput { candidates: &cands, ..forced }).verdict, Verdict::Blocked(Waiting { blocked_by: Some(BlockedBy::MissingBuild), .. })));
}

#[test]
fn missing_build_up_to_date_and_new_variants() {
    let h = ChannelHistory::default();
    let none = [c("a", None)];
    assert!(matches!(decide(&input(&none, None, &h, &h, 0)).verdict, Verdict::Blocked(Waiting { blocked_by: Some(BlockedBy::MissingBuild), .. })));
    let one = [c("a", Some(D1))];
    assert_eq!(decide(&input(&one, Some(D1), &h, &h, 0)).verdict, Verdict::UpToDate);
    // a new variant: an hour on staging is enough with `immediate`, never without staging
    let staging = ChannelHistory { moves: vec![mv(0, D1, None)] };
    let i = PromoteInput { new_variants: NewVariants::Immediate, ..input(&one, None, &h, &staging, 1) };
    assert!(matches!(decide(&i).verdict, Verdict::Move { why: Why::NewVariant, .. }));
    assert!(matches!(decide(&PromoteInput { source: &h, ..i.clone() }).verdict, Verdict::Blocked(_)));
    assert!(matches!(decide(&PromoteInput { new_variants: NewVariants::Soak, ..i }).verdict, Verdict::Blocked(_)));
}

/// One variant of the simulated fleet.
#[derive(Debug, Clone)]
struct Sim {
    /// Offset of its change in the week, in minutes from Monday 00:00.
    change_at: i64,
    /// Changes in a week with this chance (percent).
    change_pct: u8,
    soak_h: u64,
}

fn sim_strategy() -> impl Strategy<Value = (Vec<Sim>, Vec<(u8, u8)>, u64)> {
    let variant = (0i64..7 * 24 * 60, prop_oneof![Just(100u8), 20u8..100], prop_oneof![Just(0u64), Just(24), Just(72), Just(120), Just(160)])
        .prop_map(|(change_at, change_pct, soak_h)| Sim { change_at, change_pct, soak_h });
    (proptest::collection::vec(variant, 1..10), proptest::collection::vec((0u8..100, 0u8..100), 52), any::<u64>())
}

fn digest_of(v: usize, n: usize) -> String {
    format!("sha256:{v:06x}{n:06x}{}", "0".repeat(52))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A year of weekly promotions (Wednesdays 06:17), each variant changing on its own day
    /// (or at random), with random soaks and rollbacks: every week a variant whose newest
    /// soaked, non-rejected build differs from the channel moves to it; nothing unsoaked or
    /// rejected is ever promoted; a variant changing every week (soak under six days)
    /// moves every week; a prefix that `settled` accepts decides like the whole list.
    #[test]
    fn a_year_of_weekly_promotions_never_stalls((fleet, weeks, seed) in sim_strategy()) {
        let start = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
        let promote_at = TimeDelta::minutes(2 * 24 * 60 + 6 * 60 + 17);
        for (vi, v) in fleet.iter().enumerate() {
            let mut staging = ChannelHistory::default();
            let mut latest = ChannelHistory::default();
            // production's first-parent history: (time it reached production, source id, digest), oldest first
            let mut main: Vec<(DateTime<Utc>, String, String)> = Vec::new();
            let mut production: Vec<(String, String)>;
            let mut current: Option<String> = None;
            let mut builds = 0usize;
            let soak = Duration(v.soak_h * 3600);
            for (w, (roll, chance)) in weeks.iter().enumerate() {
                let week = start + TimeDelta::weeks(w as i64);
                let changes = w == 0 || *chance < v.change_pct || v.change_pct == 100;
                let change_time = week + TimeDelta::minutes(v.change_at);
                let now = week + promote_at;
                // Monday..Sunday: a change before Wednesday's run is published before it
                let publish = |t: DateTime<Utc>, staging: &mut ChannelHistory, main: &mut Vec<_>, builds: &mut usize| {
                    *builds += 1;
                    let d = digest_of(vi, *builds);
                    staging.moves.push(Move { time: t, digest12: digest12(&d).into(), tag: format!("s{builds}"), kind: MoveKind::Publish, rolled_back_from: None });
                    main.push((t, format!("{vi:04x}{builds:08x}"), d));
                };
                if changes && change_time < now {
                    publish(change_time, &mut staging, &mut main, &mut builds);
                }
                // production ← main, then promote
                production = main.iter().map(|(_, id, d)| (id.clone(), d.clone())).collect();
                let candidates: Vec<Candidate> = production.iter().rev().map(|(id, d)| Candidate { source_id: id.clone(), digest: Some(d.clone()) }).collect();
                let i = PromoteInput { candidates: &candidates, current: current.as_deref(), target: &latest, source: &staging, source_name: "staging", soak, new_variants: NewVariants::Soak, force: false, now };
                let d = decide(&i);
                // the oracle: the newest candidate newer than the held one that is soaked and not rejected
                let held = candidates.iter().position(|c| c.digest.as_deref() == current.as_deref()).unwrap_or(candidates.len());
                let expected = candidates[..held].iter().find(|c| {
                    let d12 = digest12(c.digest.as_deref().unwrap());
                    let soaked = staging.first_arrival(d12).is_some_and(|t| now - t >= soak.to_chrono());
                    soaked && !latest.is_rejected(d12) && !staging.is_rejected(d12)
                });
                match (&d.verdict, expected) {
                    (Verdict::Move { to, .. }, Some(e)) => prop_assert_eq!(Some(to.as_str()), e.digest.as_deref()),
                    (Verdict::Move { to, .. }, None) => prop_assert!(false, "week {w}: moved to {to} with nothing eligible"),
                    (_, Some(e)) => prop_assert!(false, "week {w}: {:?} although {:?} is soaked and not rejected", d.verdict, e),
                    (_, None) => {}
                }
                // a settled prefix decides the same
                let n = (1..=candidates.len()).find(|n| settled(&PromoteInput { candidates: &candidates[..*n], ..i.clone() })).unwrap_or(candidates.len());
                prop_assert_eq!(&decide(&PromoteInput { candidates: &candidates[..n], ..i.clone() }), &d);
                if v.change_pct == 100 && v.soak_h < 6 * 24 && w >= 2 {
                    prop_assert!(matches!(d.verdict, Verdict::Move { .. }), "week {w}: a variant changing every week did not move: {:?}", d.verdict);
                }
                if let Verdict::Move { to, .. } = &d.verdict {
                    latest.moves.push(Move { time: now, digest12: digest12(to).into(), tag: format!("l{w}"), kind: MoveKind::Promote, rolled_back_from: None });
                    current = Some(to.clone());
                }
                // sometimes the week's promotion is rolled back on Thursday
                if *roll < 8 && (seed >> (w % 64)) & 1 == 1 {
                    if let Some(cur) = current.clone() {
                        if let Some(back) = latest.rollback_target(digest12(&cur)).cloned() {
                            let full = production.iter().map(|(_, d)| d).find(|d| digest12(d) == back.digest12).cloned();
                            latest.moves.push(Move { time: now + TimeDelta::days(1), digest12: back.digest12.clone(), tag: format!("r{w}"), kind: MoveKind::Rollback, rolled_back_from: Some(digest12(&cur).into()) });
                            current = full;
                        }
                    }
                }
                if changes && change_time >= now {
                    publish(change_time, &mut staging, &mut main, &mut builds);
                }
            }
            // nothing ever promoted was unsoaked or rejected at its promotion
            for m in latest.moves.iter().filter(|m| m.kind == MoveKind::Promote) {
                let arrived = staging.first_arrival(&m.digest12).expect("promoted builds were on staging");
                prop_assert!(m.time - arrived >= soak.to_chrono());
            }
        }
    }
}
