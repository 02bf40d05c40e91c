//! Version order per ecosystem: dpkg (deb-version(7): epoch, upstream, revision, `~` before
//! everything), rpm (`rpmvercmp` on epoch, version, release, with `~` and `^`) and apk
//! (apk-tools' Gentoo-style versions: `1.2.3a_rc1_p2-r4`). Written from the documented rules
//! and checked against the reference implementations' own test cases (tests below).

use std::cmp::Ordering;

use crate::Ecosystem;

pub mod apk;
pub mod dpkg;
pub mod rpm;

/// Compares two versions of `ecosystem`.
pub fn compare(ecosystem: Ecosystem, a: &str, b: &str) -> Ordering {
    match ecosystem {
        Ecosystem::Deb => dpkg::compare(a, b),
        Ecosystem::Rpm => rpm::compare_evr(a, b),
        Ecosystem::Apk => apk::compare(a, b),
    }
}

#[cfg(test)]
mod tests;
