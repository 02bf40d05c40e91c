//! apk's version order (apk-tools: `digits{.digits}[letter]{_suffix[N]}[~hash][-rN]`). A
//! version is read into tokens whose kinds follow the grammar's order (first number, dot
//! number, letter, suffix, suffix number, commit hash, revision, end, invalid). Tokens compare
//! by value while their kinds agree: numbers as numbers, except a dot number where either
//! side has a leading zero compares as a string (Gentoo's rule: `1.01 < 1.1`); suffixes
//! `alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p`. Where the kinds part, the
//! version with the earlier kind (more components) is newer — unless its token is a
//! pre-release suffix. A malformed part ends a version as an `invalid` token (after `end`).

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    First,
    Dot,
    Letter,
    Suffix,
    SuffixNo,
    Hash,
    Revision,
    End,
    Invalid,
}

/// Suffix ranks: pre-releases below 0 (no suffix), post-releases above.
const SUFFIXES: [(&str, i8); 9] = [("alpha", -4), ("beta", -3), ("pre", -2), ("rc", -1), ("cvs", 1), ("svn", 2), ("git", 3), ("hg", 4), ("p", 5)];

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    /// The token's text (digits, letter, suffix name or hash).
    text: &'a str,
    suffix: i8,
}

/// Digits compared as a number (without leading zeros: by length, then by digits).
fn numeric(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn run(s: &str, f: impl Fn(u8) -> bool) -> usize {
    s.bytes().take_while(|&c| f(c)).count()
}

/// The tokens of `v`, the last one `End` or `Invalid`.
fn tokens(v: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let invalid = Token { kind: Kind::Invalid, text: "", suffix: 0 };
    let n = run(v, |c| c.is_ascii_digit());
    if n == 0 {
        return vec![invalid];
    }
    out.push(Token { kind: Kind::First, text: &v[..n], suffix: 0 });
    let mut rest = &v[n..];
    let mut last = Kind::First;
    while let Some(&c) = rest.as_bytes().first() {
        let (kind, start, len) = match c {
            b'a'..=b'z' if last <= Kind::Dot => (Kind::Letter, 0, 1),
            b'.' if last <= Kind::Dot => (Kind::Dot, 1, run(&rest[1..], |c| c.is_ascii_digit())),
            b'0'..=b'9' if last == Kind::Suffix => (Kind::SuffixNo, 0, run(rest, |c| c.is_ascii_digit())),
            b'_' if last <= Kind::SuffixNo => (Kind::Suffix, 1, run(&rest[1..], |c| c.is_ascii_lowercase())),
            b'~' if last < Kind::Hash => (Kind::Hash, 1, run(&rest[1..], |c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))),
            b'-' if last < Kind::Revision && rest.starts_with("-r") => (Kind::Revision, 2, run(&rest[2..], |c| c.is_ascii_digit())),
            _ => (Kind::Invalid, 0, 0),
        };
        let text = &rest[start..start + len];
        let suffix = SUFFIXES.iter().find(|(s, _)| *s == text).map(|(_, r)| *r);
        if kind == Kind::Invalid || len == 0 || (kind == Kind::Suffix && suffix.is_none()) {
            out.push(invalid);
            return out;
        }
        out.push(Token { kind, text, suffix: suffix.unwrap_or(0) });
        rest = &rest[start + len..];
        last = kind;
    }
    out.push(Token { kind: Kind::End, text: "", suffix: 0 });
    out
}

fn value_cmp(a: &Token<'_>, b: &Token<'_>) -> Ordering {
    match a.kind {
        Kind::Dot if a.text.starts_with('0') || b.text.starts_with('0') => a.text.cmp(b.text),
        Kind::First | Kind::Dot | Kind::SuffixNo | Kind::Revision => numeric(a.text, b.text),
        Kind::Suffix => a.suffix.cmp(&b.suffix),
        _ => a.text.cmp(b.text),
    }
}

/// Compares two apk versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (tokens(a), tokens(b));
    for (x, y) in ta.iter().zip(&tb) {
        if x.kind != y.kind || x.kind >= Kind::End {
            if x.kind == y.kind {
                return Ordering::Equal;
            }
            if x.kind == Kind::Suffix && x.suffix < 0 {
                return Ordering::Less;
            }
            if y.kind == Kind::Suffix && y.suffix < 0 {
                return Ordering::Greater;
            }
            return y.kind.cmp(&x.kind);
        }
        match value_cmp(x, y) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    Ordering::Equal
}
