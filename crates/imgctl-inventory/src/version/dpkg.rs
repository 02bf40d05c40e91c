//! dpkg's version order (deb-version(7)): `[epoch:]upstream[-revision]`; epochs compare as
//! numbers; upstream and revision alternate non-digit runs (letters before non-letters, `~`
//! before everything, even the end) and digit runs (as numbers).

use std::cmp::Ordering;

/// Splits `[epoch:]upstream[-revision]`.
fn split(v: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => (e.parse().unwrap_or(u64::MAX), r),
        _ => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((u, r)) => (epoch, u, r),
        None => (epoch, rest, ""),
    }
}

/// The weight of a character in a non-digit run (`None`: the end of the run).
fn weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// Compares one part (upstream or revision).
fn part(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // the non-digit run, character by character
        loop {
            let ca = a.get(i).copied().filter(|c| !c.is_ascii_digit());
            let cb = b.get(j).copied().filter(|c| !c.is_ascii_digit());
            if ca.is_none() && cb.is_none() {
                break;
            }
            let o = weight(ca).cmp(&weight(cb));
            if o != Ordering::Equal {
                return o;
            }
            i += usize::from(ca.is_some());
            j += usize::from(cb.is_some());
        }
        // the digit run, as a number
        let da = digits(a, &mut i);
        let db = digits(b, &mut j);
        let o = da.len().cmp(&db.len()).then_with(|| da.cmp(db));
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// The digit run at `*i` without leading zeros; advances `*i` past it.
pub(crate) fn digits<'a>(s: &'a [u8], i: &mut usize) -> &'a [u8] {
    let start = *i;
    while *i < s.len() && s[*i].is_ascii_digit() {
        *i += 1;
    }
    let run = &s[start..*i];
    let zeros = run.iter().take_while(|&&c| c == b'0').count();
    &run[zeros..]
}

/// Compares two dpkg versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb).then_with(|| part(ua.as_bytes(), ub.as_bytes())).then_with(|| part(ra.as_bytes(), rb.as_bytes()))
}
