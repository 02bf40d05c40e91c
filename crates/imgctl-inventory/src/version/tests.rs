//! Known cases of the reference implementations (dpkg's `t/dpkg_version.t` and
//! deb-version(7), rpm's `tests/rpmvercmp.at`, apk-tools' `test/unit/version.data`) and
//! properties: reflexive, antisymmetric, transitive. (While writing `apk.rs`, all 788 lines
//! of apk-tools' version.data were checked too; that file is GPL-2.0 and not copied here.)

use std::cmp::Ordering::{self, Equal, Greater, Less};

use proptest::prelude::*;

use super::{apk, dpkg, rpm};

fn check(f: fn(&str, &str) -> Ordering, cases: &[(&str, &str, Ordering)]) {
    for (a, b, want) in cases {
        assert_eq!(f(a, b), *want, "{a} vs {b}");
        assert_eq!(f(b, a), want.reverse(), "{b} vs {a}");
    }
}

#[test]
fn dpkg_known_cases() {
    check(
        dpkg::compare,
        &[
            ("1.0", "1.0", Equal),
            ("0:1.0", "1.0", Equal),
            ("1.0-1", "1.0-01", Equal),
            ("1.0", "1.0-0", Equal),
            ("1:0.1", "2.0", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0~~", "1.0~~a", Less),
            ("1.0~~a", "1.0~", Less),
            ("1.0~", "1.0", Less),
            ("1.0", "1.0a", Less),
            ("1.0-1", "1.0-1+b1", Less),
            ("2.30", "2.4", Greater),
            ("1.2.13.dfsg-1", "1.2.13-1", Greater),
            ("3.0.19-1~deb12u2", "3.0.19-1", Less),
            ("3.0.19-1~deb12u2", "3.0.19-1~deb12u1", Greater),
            ("1.0+a", "1.0.a", Less),
            ("a", "1", Greater),
            ("10", "9", Greater),
        ],
    );
}

#[test]
fn rpm_known_cases() {
    check(
        rpm::rpmvercmp,
        &[
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0.1", Equal),
            ("2.0", "2.0.1", Less),
            ("2.0.1a", "2.0.1", Greater),
            ("5.5p1", "5.5p2", Less),
            ("5.5p10", "5.5p1", Greater),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("xyz.4", "8", Less),
            ("xyz.4", "2", Less),
            ("5.5p2", "5.6p1", Less),
            ("5.6p1", "6.5p1", Less),
            ("6.0.rc1", "6.0", Greater),
            ("10b2", "10a1", Greater),
            ("1.0aa", "1.0a", Greater),
            ("10.0001", "10.1", Equal),
            ("10.0001", "10.0039", Less),
            ("4.999.9", "5.0", Less),
            ("20101121", "20101122", Less),
            ("2_0", "2_0", Equal),
            ("2.0", "2_0", Equal),
            ("a", "a", Equal),
            ("a+", "a+", Equal),
            ("a+", "a_", Equal),
            ("+a", "+a", Equal),
            ("+_", "_+", Equal),
            ("1.0~rc1", "1.0~rc1", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1~git123", "1.0~rc1", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.0^git2", Less),
            ("1.0^git1", "1.01", Less),
            ("1.0^20160101", "1.0.1", Less),
            ("1.0^20160101^git1", "1.0^20160101", Greater),
            ("1.0~rc1^git1", "1.0~rc1", Greater),
            ("1.0^git1~pre", "1.0^git1", Less),
        ],
    );
    check(rpm::compare_evr, &[("2:0.9~rc1-3.el9", "1.2.3-1", Greater), ("1.2.3-1", "1.2.3-2", Less), ("0:1.0-1", "1.0-1", Equal), ("1.0-1.el9", "1.0-1.el10", Less)]);
}

#[test]
fn apk_known_cases() {
    check(
        apk::compare,
        &[
            ("2.34", "0.1.0_alpha", Greater),
            ("0.1.0_alpha", "0.1.0_alpha", Equal),
            ("0.1.0_alpha", "0.1.3_alpha", Less),
            ("0.1.0_alpha2", "0.1.0_alpha", Greater),
            ("0.1.0_alpha_pre2", "0.1.0_alpha", Less),
            ("0.10.0", "0.10.1_rc1", Less),
            ("1.1", "1.1_alpha1", Greater),
            ("1.3_pre1-r1", "1.3.2", Less),
            ("1.0_p10-r0", "1.0_p9-r0", Greater),
            ("3.1_p16", "3.1_p17", Less),
            ("1.06-r6", "006", Less),
            ("0.01", "0.06", Less),
            ("2.10.1", "02.08.01b", Greater),
            ("1.2.07.8", "1.2.12.04", Less),
            ("0.20070118", "0.20070207_rc1", Less),
            ("1.0.0_pre20191002222144-r0", "1.0.0_pre20210530193627-r0", Less),
            ("1.0", "1.0bc", Less),
            ("23_foo", "4_beta", Greater),
            ("0.1.1_alpha", "0.1.1_beta", Less),
            ("0.1.1_beta", "0.1.1_pre", Less),
            ("0.1.1_pre", "0.1.1_rc", Less),
            ("0.1.1_rc", "0.1.1", Less),
            ("0.1.1", "0.1.1_cvs", Less),
            ("0.1.1_cvs", "0.1.1_svn", Less),
            ("0.1.1_svn", "0.1.1_git", Less),
            ("0.1.1_git", "0.1.1_hg", Less),
            ("0.1.1_hg", "0.1.1_p", Less),
            ("1.0-r1", "1.0", Greater),
            ("1.0-r1", "1.0-r2", Less),
            ("1.0a", "1.0", Greater),
            ("1.0a", "1.0b", Less),
            ("1.01", "1.1", Less),
            ("1.2.3", "1.2", Greater),
            ("6.1_pre1", "6.1", Less),
            ("6.0_pre1", "6.0", Less),
            ("0.1.0_rc", "0.1.0", Less),
            ("8.2.0", "8.2.001", Less),
            ("8.2.0015", "8.2.002", Less),
            ("1.0~1234", "1.0~2345", Less),
            ("1.0~1234-r1", "1.0~1234-r0", Greater),
            ("0.1_foobar", "0.1", Less),
            ("6.1_pre1", "6.0", Greater),
            ("1.2.2-r3", "1.2.2-r10", Less),
            ("10.3.1_git20210424-r2", "10.3.1-r2", Greater),
            ("1.1.1k-r0", "1.1.1l-r0", Less),
            ("1.0.0", "1.0", Greater),
            ("1.0_alpha_p1", "1.0_alpha", Greater),
        ],
    );
}

/// Versions built from each ecosystem's alphabet (digits weighted so numbers appear).
fn version(alphabet: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(alphabet.chars().collect::<Vec<_>>()), 1..10).prop_map(|v| v.into_iter().collect())
}

fn apk_version() -> impl Strategy<Value = String> {
    (1u32..30, proptest::collection::vec(0u32..12, 0..3), proptest::option::of(proptest::sample::select(vec!['a', 'b', 'z'])), proptest::collection::vec((proptest::sample::select(vec!["alpha", "beta", "pre", "rc", "cvs", "git", "p"]), proptest::option::of(0u32..5)), 0..2), proptest::option::of(0u32..12))
        .prop_map(|(first, dots, letter, suffixes, rev)| {
            let mut s = first.to_string();
            for d in dots {
                s += &format!(".{d}");
            }
            if let Some(l) = letter {
                s.push(l);
            }
            for (name, n) in suffixes {
                s += &format!("_{name}{}", n.map(|n| n.to_string()).unwrap_or_default());
            }
            if let Some(r) = rev {
                s += &format!("-r{r}");
            }
            s
        })
}

fn total_order(f: fn(&str, &str) -> Ordering, a: &str, b: &str, c: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(f(a, a), Equal);
    prop_assert_eq!(f(a, b), f(b, a).reverse());
    if f(a, b) != Greater && f(b, c) != Greater {
        prop_assert_ne!(f(a, c), Greater, "{} <= {} <= {} but {} > {}", a, b, c, a, c);
    }
    Ok(())
}

proptest! {
    #[test]
    fn dpkg_is_a_total_order(a in version("0129.~+ab-:"), b in version("0129.~+ab-:"), c in version("0129.~+ab-:")) {
        total_order(dpkg::compare, &a, &b, &c)?;
    }

    #[test]
    fn dpkg_tilde_sorts_before_the_end_and_epochs_dominate(v in version("0123.ab+"), e in 1u32..5) {
        prop_assert_eq!(dpkg::compare(&format!("{v}~x"), &v), Less);
        prop_assert_eq!(dpkg::compare(&format!("{e}:{v}"), &format!("9{v}")), Greater);
    }

    #[test]
    fn rpm_is_a_total_order_on_alphanumeric_versions(a in version("0129.~^ab"), b in version("0129.~^ab"), c in version("0129.~^ab")) {
        total_order(rpm::rpmvercmp, &a, &b, &c)?;
    }

    #[test]
    fn rpm_tilde_sorts_before_and_caret_after_the_end(v in version("0123.ab")) {
        prop_assert_eq!(rpm::rpmvercmp(&format!("{v}~rc1"), &v), Less);
        prop_assert_eq!(rpm::rpmvercmp(&format!("{v}^git1"), &v), Greater);
    }

    #[test]
    fn apk_is_a_total_order(a in apk_version(), b in apk_version(), c in apk_version()) {
        total_order(apk::compare, &a, &b, &c)?;
    }

    #[test]
    fn apk_pre_release_suffixes_sort_before_the_release_and_revisions_after(v in apk_version().prop_filter("no suffix or revision", |v| !v.contains('_') && !v.contains('-'))) {
        prop_assert_eq!(apk::compare(&format!("{v}_rc1"), &v), Less);
        prop_assert_eq!(apk::compare(&format!("{v}_p1"), &v), Greater);
        prop_assert_eq!(apk::compare(&format!("{v}-r1"), &v), Greater);
    }
}

