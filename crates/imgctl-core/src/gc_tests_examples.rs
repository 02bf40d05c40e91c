//! Worked examples of gc planning (old builds, rejection records, orphan and foreign tags)
//! and the property test of `--max-deletes`: a bounded run deletes whole groups (an index
//! with its children) and defers the rest.

use super::*;

#[test]
fn a_worked_example_deletes_only_old_unprotected_builds() {
    let f = fleet(MANIFEST);
    let index = TagIndex::new(&f);
    let mut s = Sim::default();
    for i in 0..6 {
        s.publish(BASE, i == 1, false, None);
        s.now += 24;
        s.promote(BASE);
        s.now += 24;
    }
    s.rollback(&index, BASE);
    let builds = s.builds[BASE].clone();
    let o = GcOptions { keep: 1, older_than: Duration(0), now: s.time() + TimeDelta::days(30) };
    let p = plan(&index, &s.inv, &o);
    // builds 0..=5; latest rolled back from 5 to 4: 5 stays (staging), 4 (latest), 3
    // (rollback target #1), 2 (rollback target #2); build 1 (an index, with its
    // children) and build 0 go
    let deleted: BTreeSet<&str> = p.delete.iter().map(|d| d.digest.as_str()).collect();
    for (i, d) in builds.iter().enumerate() {
        assert_eq!(deleted.contains(d.as_str()), i <= 1, "build {i}: {p:#?}");
    }
    let two = p.keep.iter().find(|k| k.digest == builds[2]).unwrap();
    assert!(two.why.contains(&Why::RollbackTarget(BASE.into(), "latest".into(), 2)), "{two:#?}");
    let kids = &s.inv.children[&builds[1]];
    assert!(kids.iter().all(|k| p.delete.iter().any(|d| &d.digest == k && d.why.iter().any(|w| matches!(w, Why::ChildOfDeleted(_))))));
    // children are deleted before their index (only the index's tags can find them)
    let pos = |d: &str| p.delete.iter().position(|x| x.digest == d).unwrap();
    assert!(kids.iter().all(|k| pos(k) < pos(&builds[1])));
    let kept5 = p.keep.iter().find(|k| k.digest == builds[5]).unwrap();
    assert!(kept5.reasons.iter().any(|r| r.contains("channel tag ubuntu-22.04-base-amd64-staging")), "{kept5:#?}");
    check(&s.inv, &o).unwrap();
}

#[test]
fn a_rejection_record_stays_while_the_rejected_digest_does() {
    let f = fleet(MANIFEST);
    let index = TagIndex::new(&f);
    let mut s = Sim::default();
    // a, x; rollback to a (x rejected); then b, c, d
    for i in 0..5 {
        s.publish(MID, false, false, None);
        s.promote(MID);
        if i == 1 {
            s.rollback(&index, MID);
        }
    }
    let (a, x) = (s.builds[MID][0].clone(), s.builds[MID][1].clone());
    let later = s.time() + TimeDelta::days(1);
    // --keep 4 keeps d, c, b and x: the rollback tag on `a` recording x's rejection stays
    let o = GcOptions { keep: 4, older_than: Duration(0), now: later };
    let p = plan(&index, &s.inv, &o);
    let kept_a = p.keep.iter().find(|k| k.digest == a).unwrap_or_else(|| panic!("{p:#?}"));
    assert!(kept_a.why.iter().any(|w| matches!(w, Why::RecordsRejection(_, from) if *from == digest12(&x))), "{kept_a:#?}");
    check(&s.inv, &o).unwrap();
    // --keep 3: x goes, and with it the need to remember its rejection
    let o = GcOptions { keep: 3, ..o };
    let p = plan(&index, &s.inv, &o);
    assert!(p.deletes(&x) && p.deletes(&a), "{p:#?}");
    check(&s.inv, &o).unwrap();
}

#[test]
fn orphan_and_foreign_tags_follow_the_same_rules() {
    let f = fleet(MANIFEST);
    let index = TagIndex::new(&f);
    let mut s = Sim::default();
    for _ in 0..5 {
        s.publish(GONE, false, false, None);
        s.now += 100;
    }
    s.inv.tags.insert("buildcache".into(), s.builds[GONE][0].clone());
    let o = GcOptions { keep: 0, older_than: Duration(3600), now: s.time() + TimeDelta::days(60) };
    let p = plan(&index, &s.inv, &o);
    assert_eq!(p.orphan_variants, vec![GONE.to_string()]);
    let b = &s.builds[GONE];
    assert!(!p.deletes(&b[0]), "foreign tag protects");
    assert!(p.deletes(&b[1]));
    assert!(!p.deletes(&b[4]) && !p.deletes(&b[3]) && !p.deletes(&b[2]), "3 newest digests of an orphan's channel stay");
    check(&s.inv, &o).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// `--max-deletes N`: at most N deletions, nothing lost or invented, a deleted index always
    /// with every child deleted with it, and the deferred rest is what a later run deletes.
    #[test]
    fn a_bounded_run_deletes_whole_groups_and_defers_the_rest(
        ops in proptest::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 0..60),
        max in 0usize..12,
    ) {
        let s = simulate(&ops, false);
        let f = fleet(MANIFEST);
        let index = TagIndex::new(&f);
        let o = GcOptions { keep: 0, older_than: Duration(0), now: s.time() + TimeDelta::days(60) };
        let full = plan(&index, &s.inv, &o);
        let mut bounded = full.clone();
        let left = bounded.limit(max);
        prop_assert!(bounded.delete.len() <= max);
        prop_assert_eq!(bounded.delete.len() + left, full.delete.len());
        prop_assert_eq!(bounded.keep.len(), full.keep.len() + left);
        let taken: BTreeSet<&str> = bounded.delete.iter().map(|d| d.digest.as_str()).collect();
        for d in &full.delete {
            for w in &d.why {
                if let Why::ChildOfDeleted(parent) = w {
                    // a child goes exactly when (one of) its deleted indexes goes
                    if taken.contains(parent.as_str()) {
                        prop_assert!(taken.contains(d.digest.as_str()), "index {} taken without its child {}", parent, d.digest);
                    }
                }
            }
        }
        let deferred: Vec<_> = bounded.keep.iter().filter(|k| k.why == vec![Why::Deferred(max)]).collect();
        prop_assert_eq!(deferred.len(), left);
        // children still come before their indexes
        let pos = |d: &str| bounded.delete.iter().position(|x| x.digest == d);
        for d in &bounded.delete {
            for w in &d.why {
                if let Why::ChildOfDeleted(p) = w && let (Some(c), Some(i)) = (pos(&d.digest), pos(p)) {
                    prop_assert!(c < i);
                }
            }
        }
        if max >= full.delete.len() {
            prop_assert_eq!(left, 0);
        }
    }
}
