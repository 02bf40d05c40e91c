//! Image references in text (SPEC §4 `usages`, `pin`): finds every
//! `[registry/]repository:tag[@sha256:…]` (or `repository@sha256:…`) of the manifest's
//! repository in a file's text, with line and column, classifies its tag through the
//! [`TagIndex`], and rewrites references for `pin` leaving every other byte alone.

use chrono::NaiveDate;
use regex::Regex;
use serde::Serialize;

use crate::tags::{TagIndex, TagKind};

/// A reference found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Found {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// The reference as written.
    pub reference: String,
    /// The registry host, when written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The tag, when written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The pinned digest, when written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Byte range of the reference in the text.
    #[serde(skip)]
    pub span: (usize, usize),
}

/// How a reference's tag reads (SPEC §3 kinds, plus `unknown` and `digest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefKind {
    /// The variant's base tag (not a channel).
    Base,
    /// A channel tag.
    Channel,
    /// An alias tag.
    Alias,
    /// An immutable (source id) tag.
    Immutable,
    /// A release (history) tag.
    Release,
    /// A tag the schema does not read.
    Unknown,
    /// A digest without a tag.
    Digest,
}

/// A reference, classified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Where and what.
    #[serde(flatten)]
    pub found: Found,
    /// The variant (base tag) its tag belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// That variant's OperatingSystemId.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// How the tag reads.
    pub kind: RefKind,
    /// The channel, for channel, alias and release tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// True when a digest pins it.
    pub pinned: bool,
    /// End of life of its OS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eol: Option<NaiveDate>,
    /// What is wrong with it: `unknown-tag`, `removed-variant`, `eol`.
    pub findings: Vec<String>,
    /// For an `unknown-tag`: the closest tag of the manifest's variants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did_you_mean: Option<String>,
}

/// Finds references of one repository.
#[derive(Debug)]
pub struct Scanner {
    re: Regex,
    hosts: Vec<String>,
}

const NAME_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";

impl Scanner {
    /// A scanner for `repository`, accepting the given registry hosts (a reference with
    /// another host is someone else's image; one without a host is counted).
    pub fn new(repository: &str, hosts: &[String]) -> Scanner {
        let pattern = format!(
            r"(?:(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]+)?)/)?{}(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}))?(?:@(?P<digest>sha256:[0-9a-f]{{64}}))?",
            regex::escape(repository)
        );
        Scanner { re: Regex::new(&pattern).expect("escaped repository makes a valid regex"), hosts: hosts.to_vec() }
    }

    /// Every reference in `text` with a tag and/or a digest.
    pub fn scan(&self, text: &str) -> Vec<Found> {
        let mut out = Vec::new();
        let mut line_start = 0;
        for (i, line) in text.split_inclusive('\n').enumerate() {
            for c in self.re.captures_iter(line) {
                let m = c.get(0).expect("whole match");
                let mut before = line[..m.start()].bytes().rev();
                let after = line[m.end()..].bytes().next();
                // a host we could not read is fine when it is a variable: `${REG}/repo:tag`
                let (b1, b2) = (before.next(), before.next());
                let glued = b1.is_some_and(|b| NAME_CHARS.contains(&b)) || (b1 == Some(b'/') && !matches!(b2, Some(b'}' | b')')));
                if glued && c.name("host").is_none() {
                    continue;
                }
                if after.is_some_and(|b| NAME_CHARS.contains(&b) || b == b'/' || b == b'@' || b == b':') {
                    continue;
                }
                let host = c.name("host").map(|h| h.as_str().to_string());
                if host.as_ref().is_some_and(|h| !self.hosts.contains(h)) {
                    continue;
                }
                let (tag, digest) = (c.name("tag").map(|t| t.as_str().to_string()), c.name("digest").map(|d| d.as_str().to_string()));
                if tag.is_none() && digest.is_none() {
                    continue;
                }
                out.push(Found {
                    line: i + 1,
                    column: line[..m.start()].chars().count() + 1,
                    reference: m.as_str().to_string(),
                    host,
                    tag,
                    digest,
                    span: (line_start + m.start(), line_start + m.end()),
                });
            }
            line_start += line.len();
        }
        out
    }
}

/// Classifies `found` through the tag schema; `today` decides EOL. A tag of the schema
/// whose variant is not in the manifest is a `removed-variant` when `existed` says the
/// variant was once (the manifest's history), else an `unknown-tag` like any tag the
/// schema does not read, with the closest tag of the manifest as `did_you_mean`.
pub fn classify(index: &TagIndex<'_>, found: Found, eol_of: impl Fn(&str) -> Option<NaiveDate>, today: NaiveDate, existed: &dyn Fn(&str) -> bool) -> Usage {
    let pinned = found.digest.is_some();
    let mut u = Usage { variant: None, os: None, kind: RefKind::Digest, channel: None, pinned, eol: None, findings: Vec::new(), did_you_mean: None, found };
    let Some(tag) = u.found.tag.clone() else { return u };
    match index.parse(&tag) {
        Ok(p) if p.in_manifest || existed(&p.variant) => {
            u.kind = match p.kind {
                TagKind::Base => RefKind::Base,
                TagKind::Channel => RefKind::Channel,
                TagKind::Alias => RefKind::Alias,
                TagKind::Immutable => RefKind::Immutable,
                TagKind::Release => RefKind::Release,
            };
            if !p.in_manifest {
                u.findings.push("removed-variant".into());
            }
            u.eol = eol_of(&p.os);
            if u.eol.is_some_and(|d| d <= today) {
                u.findings.push("eol".into());
            }
            u.variant = Some(p.variant);
            u.os = Some(p.os);
            u.channel = p.channel;
        }
        _ => {
            u.kind = RefKind::Unknown;
            u.findings.push("unknown-tag".into());
            u.did_you_mean = closest_tag(index.fleet(), &tag);
        }
    }
    u
}

/// The base or channel tag of the manifest's variants closest to `tag`.
pub fn closest_tag(fleet: &crate::Fleet, tag: &str) -> Option<String> {
    let tags: Vec<String> = fleet
        .variants
        .iter()
        .flat_map(|v| std::iter::once(v.name.clone()).chain(fleet.manifest.channels.values().map(move |c| format!("{}{}", v.name, c.suffix))))
        .collect();
    crate::names::closest(tag, tags.iter().map(String::as_str)).map(str::to_string)
}

/// `text` with each `(span, replacement)` applied; spans must not overlap.
pub fn rewrite(text: &str, edits: &[((usize, usize), String)]) -> String {
    let mut edits: Vec<&((usize, usize), String)> = edits.iter().collect();
    edits.sort_by_key(|(s, _)| s.0);
    let (mut out, mut at) = (String::with_capacity(text.len()), 0);
    for ((start, end), new) in edits {
        out.push_str(&text[at..*start]);
        out.push_str(new);
        at = *end;
    }
    out.push_str(&text[at..]);
    out
}

/// The pinned form of a reference: host as written, `tag`, `@digest`.
pub fn pinned(repository: &str, host: Option<&str>, tag: &str, digest: &str) -> String {
    match host {
        Some(h) => format!("{h}/{repository}:{tag}@{digest}"),
        None => format!("{repository}:{tag}@{digest}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn scan(text: &str) -> Vec<Found> {
        Scanner::new("acme/images", &["ghcr.io".into()]).scan(text)
    }

    #[test]
    fn finds_references_with_host_tag_and_digest_and_skips_others() {
        let text = format!(
            "image: ghcr.io/acme/images:ubuntu-22.04-base-amd64\n  FROM acme/images:x@{D} AS b\nnope: docker.io/acme/images:x myacme/images:y acme/images-other:z\n${{REG}}/acme/images:t\nonly acme/images and acme/images:${{TAG}}\nacme/images@{D}\n"
        );
        let f = scan(&text);
        let got: Vec<(usize, usize, &str)> = f.iter().map(|r| (r.line, r.column, r.reference.as_str())).collect();
        let pinned_ref = format!("acme/images:x@{D}");
        let digest_ref = format!("acme/images@{D}");
        assert_eq!(got, vec![(1, 8, "ghcr.io/acme/images:ubuntu-22.04-base-amd64"), (2, 8, pinned_ref.as_str()), (4, 8, "acme/images:t"), (6, 1, digest_ref.as_str())]);
        assert_eq!(f[0].host.as_deref(), Some("ghcr.io"));
        assert_eq!(f[1].digest.as_deref(), Some(D));
        assert_eq!(&text[f[3].span.0..f[3].span.1], digest_ref);
    }

    #[test]
    fn classifies_every_kind_and_flags_unknown_removed_and_eol() {
        let f = crate::testtree::fleet(crate::testtree::MANIFEST);
        let index = TagIndex::new(&f);
        let text = format!(
            "acme/images:ubuntu-22.04-mid-amd64-staging\nacme/images:midway@{D}\nacme/images:ubuntu-22.04-mid-amd64-0123456789ab\nacme/images:ubuntu-22.04-mid-amd64-staging-20260101000000-0123456789ab\nacme/images:ubuntu-22.04-gone-amd64\nacme/images:nightly\nacme/images@{D}\n"
        );
        let eol = NaiveDate::from_ymd_opt(2027, 6, 1).unwrap();
        let today = NaiveDate::from_ymd_opt(2027, 7, 1).unwrap();
        let got: Vec<(RefKind, Option<String>, bool, Vec<String>)> = scan(&text)
            .into_iter()
            .map(|x| classify(&index, x, |os| (os == "Linux-Ubuntu-22.04-AMD64").then_some(eol), today, &|v| v == "ubuntu-22.04-gone-amd64"))
            .map(|u| (u.kind, u.channel, u.pinned, u.findings))
            .collect();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (RefKind::Channel, Some("staging".into()), false, s(&["eol"])),
                (RefKind::Alias, Some("latest".into()), true, s(&["eol"])),
                (RefKind::Immutable, None, false, s(&["eol"])),
                (RefKind::Release, Some("staging".into()), false, s(&["eol"])),
                (RefKind::Channel, Some("latest".into()), false, s(&["removed-variant", "eol"])),
                (RefKind::Unknown, None, false, s(&["unknown-tag"])),
                (RefKind::Digest, None, true, s(&[])),
            ]
        );
    }

    #[test]
    fn a_tag_of_a_variant_that_never_was_is_unknown_with_a_suggestion() {
        let f = crate::testtree::fleet(crate::testtree::MANIFEST);
        let index = TagIndex::new(&f);
        let name = f.variants[0].name.clone();
        let typo = name.strip_suffix("-amd64").expect("an amd64 variant").to_string();
        let text = format!("acme/images:{typo}-staging\nacme/images:ubuntu-22.04-gone-amd64\n");
        let today = NaiveDate::from_ymd_opt(2027, 7, 1).unwrap();
        let got: Vec<Usage> = scan(&text).into_iter().map(|x| classify(&index, x, |_| None, today, &|_| false)).collect();
        assert_eq!(got[0].findings, vec!["unknown-tag".to_string()]);
        assert_eq!(got[0].did_you_mean.as_deref(), Some(format!("{name}-staging").as_str()), "{got:#?}");
        assert_eq!((got[1].kind, got[1].variant.as_deref()), (RefKind::Unknown, None));
    }

    #[test]
    fn rewrite_changes_only_the_spans() {
        let text = "a acme/images:t b\nc acme/images:u\n";
        let f = scan(text);
        let edits: Vec<_> = f.iter().map(|r| (r.span, pinned("acme/images", None, r.tag.as_deref().unwrap(), D))).collect();
        let out = rewrite(text, &edits);
        assert_eq!(out, format!("a acme/images:t@{D} b\nc acme/images:u@{D}\n"));
        let again: Vec<_> = scan(&out).iter().map(|r| (r.span, pinned("acme/images", None, r.tag.as_deref().unwrap(), D))).collect();
        assert_eq!(rewrite(&out, &again), out);
    }
}
