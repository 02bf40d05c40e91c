//! rpm's version order (`rpmvercmp`, rpm's `rpmio/rpmver.c` documents it): versions split into
//! alphanumeric segments, other characters only separate; a numeric segment beats an
//! alphabetic one; numbers compare as numbers, letters as strings; `~` sorts before anything
//! (even the end), `^` after the end but before anything else. EVRs compare epoch (as a
//! number, absent = 0), then version, then release.

use std::cmp::Ordering;

use super::dpkg::digits;

fn skip_separators(s: &[u8], i: &mut usize) {
    while *i < s.len() && !s[*i].is_ascii_alphanumeric() && s[*i] != b'~' && s[*i] != b'^' {
        *i += 1;
    }
}

/// `rpmvercmp`: compares two version (or release) strings.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b {
        return Ordering::Equal;
    }
    let (mut i, mut j) = (0, 0);
    loop {
        skip_separators(a, &mut i);
        skip_separators(b, &mut j);
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            match (ca, cb) {
                (None, _) => return Ordering::Less,
                (_, None) => return Ordering::Greater,
                (Some(b'^'), Some(b'^')) => {
                    i += 1;
                    j += 1;
                    continue;
                }
                (Some(b'^'), _) => return Ordering::Less,
                _ => return Ordering::Greater,
            }
        }
        let (Some(ca), Some(_)) = (ca, cb) else { break };
        let start = j;
        let o = if ca.is_ascii_digit() {
            let (sa, sb) = (digits(a, &mut i), digits(b, &mut j));
            if j == start {
                // b's segment is alphabetic: a numeric one is newer
                return Ordering::Greater;
            }
            sa.len().cmp(&sb.len()).then_with(|| sa.cmp(sb))
        } else {
            let (sa, sb) = (alpha(a, &mut i), alpha(b, &mut j));
            if j == start {
                return Ordering::Less;
            }
            sa.cmp(sb)
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    match (i < a.len(), j < b.len()) {
        (false, false) => Ordering::Equal,
        (true, _) => Ordering::Greater,
        (false, true) => Ordering::Less,
    }
}

fn alpha<'a>(s: &'a [u8], i: &mut usize) -> &'a [u8] {
    let start = *i;
    while *i < s.len() && s[*i].is_ascii_alphabetic() {
        *i += 1;
    }
    &s[start..*i]
}

/// Splits `[epoch:]version[-release]`.
fn split(evr: &str) -> (u64, &str, Option<&str>) {
    let (epoch, rest) = match evr.split_once(':') {
        Some((e, r)) if e.bytes().all(|b| b.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
        _ => (0, evr),
    };
    match rest.rsplit_once('-') {
        Some((v, r)) => (epoch, v, Some(r)),
        None => (epoch, rest, None),
    }
}

/// Compares two `[epoch:]version-release` strings.
pub fn compare_evr(a: &str, b: &str) -> Ordering {
    let (ea, va, ra) = split(a);
    let (eb, vb, rb) = split(b);
    ea.cmp(&eb).then_with(|| rpmvercmp(va, vb)).then_with(|| match (ra, rb) {
        (Some(ra), Some(rb)) => rpmvercmp(ra, rb),
        _ => Ordering::Equal,
    })
}
