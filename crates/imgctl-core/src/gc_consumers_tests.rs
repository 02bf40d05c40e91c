//! Property and worked tests of what gc keeps for others: pinned consumers (digests and
//! tags they use) are never deleted, and a digest's records (its `sha256-<hex>` referrers
//! index and the artifacts it lists) go with it and stay with it.

use super::*;
use crate::gc::{Pins, plan_with};

/// Every digest the inventory knows (tagged, or a child).
fn known(inv: &Inventory) -> Vec<String> {
    let set: BTreeSet<String> = inv.tags.values().chain(inv.children.values().flatten()).cloned().collect();
    set.into_iter().collect()
}

fn check_consumers(inv: &Inventory, o: &GcOptions, pins: &Pins) -> Result<(), TestCaseError> {
    let f = fleet(MANIFEST);
    let index = TagIndex::new(&f);
    let p = plan_with(&index, inv, o, pins);
    for (d, at) in &pins.digests {
        prop_assert!(!p.deletes(d), "pinned {d} ({at:?}) planned for deletion");
        if known(inv).contains(d) {
            let kept = p.keep.iter().find(|k| &k.digest == d).expect("a pinned digest is in the plan");
            prop_assert!(kept.reasons.iter().any(|r| r.contains(&at[0])), "the plan names where it is pinned: {:?}", kept.reasons);
        }
    }
    for (t, at) in &pins.tags {
        if let Some(d) = inv.tags.get(t) {
            prop_assert!(!p.deletes(d), "{d} behind the consumer's tag {t} ({at:?}) planned for deletion");
        }
    }
    for (tag, idx) in &inv.tags {
        let Some(hex) = tag.strip_prefix("sha256-") else { continue };
        let subject = format!("sha256:{hex}");
        let subject_goes = p.deletes(&subject) || !known(inv).contains(&subject);
        let kids = inv.children.get(idx).cloned().unwrap_or_default();
        if subject_goes {
            prop_assert!(p.deletes(idx), "records index of deleted {subject} kept");
            prop_assert!(kids.iter().all(|k| p.deletes(k)), "a record of deleted {subject} kept");
        } else {
            prop_assert!(!p.deletes(idx) && kids.iter().all(|k| !p.deletes(k)), "a record of live {subject} planned for deletion");
        }
    }
    // and with no pins the same holds for records, pins only ever keep more
    let bare = plan(&index, inv, o);
    for d in &p.delete {
        prop_assert!(bare.deletes(&d.digest), "pins made {} deletable", d.digest);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn pinned_consumers_and_records_of_live_digests_are_never_deleted(
        ops in proptest::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 0..50),
        picks in proptest::collection::vec(any::<u16>(), 0..6),
        keep in 0usize..3,
        window_h in 0u64..100,
        later_h in 0i64..400,
    ) {
        let s = simulate_with(&ops, false, true);
        let o = GcOptions { keep, older_than: Duration(window_h * 3600), now: s.time() + TimeDelta::hours(later_h) };
        // consumers use images, not records: pick among the images' digests and tags
        let records: BTreeSet<&String> = s.inv.tags.iter().filter(|(t, _)| t.starts_with("sha256-")).flat_map(|(_, i)| std::iter::once(i).chain(s.inv.children.get(i).into_iter().flatten())).collect();
        let digests: Vec<String> = known(&s.inv).into_iter().filter(|d| !records.contains(d)).collect();
        let tags: Vec<&String> = s.inv.tags.keys().filter(|t| !t.starts_with("sha256-")).collect();
        let mut pins = Pins::default();
        for (i, pick) in picks.iter().enumerate() {
            let at = format!("consumer/ci.yml:{}", i + 1);
            if pick % 2 == 0 && !digests.is_empty() {
                pins.digests.entry(digests[usize::from(*pick) % digests.len()].clone()).or_default().push(at);
            } else if !tags.is_empty() {
                pins.tags.entry(tags[usize::from(*pick) % tags.len()].clone()).or_default().push(at);
            }
        }
        // a pin to a digest the repository does not have protects nothing and breaks nothing
        pins.digests.entry(digest(4242)).or_default().push("elsewhere/Dockerfile:1".into());
        check_consumers(&s.inv, &o, &pins)?;
        check(&s.inv, &o)?;
    }
}

#[test]
fn a_pinned_old_build_stays_and_the_plan_says_where_it_is_pinned() {
    let f = fleet(MANIFEST);
    let index = TagIndex::new(&f);
    let mut s = Sim { records: true, ..Sim::default() };
    for _ in 0..6 {
        s.publish(BASE, false, false, None);
        s.promote(BASE);
        s.now += 24 * 30;
    }
    let o = GcOptions { keep: 1, older_than: Duration(3600), now: s.time() };
    let bare = plan(&index, &s.inv, &o);
    let oldest = s.builds[BASE][0].clone();
    assert!(bare.deletes(&oldest), "the rules alone delete the oldest build");
    assert!(bare.deletes(&s.inv.tags[&oldest.replacen(':', "-", 1)]), "and its records with it");
    let pins = Pins { digests: [(oldest.clone(), vec!["app/Dockerfile:3".to_string()])].into(), ..Pins::default() };
    let p = plan_with(&index, &s.inv, &o, &pins);
    let kept = p.keep.iter().find(|k| k.digest == oldest).expect("kept");
    assert_eq!(kept.reasons, vec!["pinned by a consumer at app/Dockerfile:3".to_string()]);
    let records = p.keep.iter().find(|k| k.digest == s.inv.tags[&oldest.replacen(':', "-", 1)]).expect("its records stay");
    assert!(records.reasons[0].starts_with("records of sha256:"), "{:?}", records.reasons);
}
