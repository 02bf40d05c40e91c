//! The Atom feeds (RFC 4287, written with `atom_syndication`): `feeds/fleet.atom` (the
//! newest events of every variant) and `feeds/VARIANT.atom` (one variant's) — moves,
//! rollbacks with their reason, end-of-life events. Links are relative to the feed (readers
//! resolve them against its URL).

use atom_syndication::{Feed, Link, Person, Text};
use imgctl_engine::site::{Entry, EntryKind, SiteData};

use crate::page::{digest_path, short, variant_path};
use crate::variant::kind_word;

/// Entries of the fleet's feed (newest first; older events stay on the variant pages).
pub const FLEET_ENTRIES: usize = 200;
/// Entries of a variant's feed.
pub const VARIANT_ENTRIES: usize = 100;

fn text(s: String) -> Text {
    Text::plain(s)
}

fn link(href: String, rel: &str) -> Link {
    let mut l = Link::default();
    l.set_href(href);
    l.set_rel(rel);
    l.set_mime_type(Some("text/html".to_string()));
    l
}

/// The entry of `e` of `variant`.
fn entry(data: &SiteData, variant: &str, e: &Entry) -> atom_syndication::Entry {
    let mut a = atom_syndication::Entry::default();
    let what = match (e.kind, &e.channel, &e.to) {
        (EntryKind::Eol, _, _) => e.reason.clone().unwrap_or_else(|| "end of life".into()),
        (k, Some(c), Some(to)) => format!("{} {c} to {}", kind_word(k), short(to)),
        (k, ..) => kind_word(k).to_string(),
    };
    a.set_title(text(format!("{variant}: {what}")));
    let id = match &e.tag {
        Some(tag) => format!("urn:imgctl:{}:{tag}", data.repository),
        None => format!("urn:imgctl:{}:eol:{variant}:{}:{}", data.repository, e.time.date_naive(), e.to.as_deref().map(short).unwrap_or("variant")),
    };
    a.set_id(id);
    a.set_updated(e.time.fixed_offset());
    let mut summary = String::new();
    if let (Some(c), Some(to)) = (&e.channel, &e.to) {
        summary.push_str(&format!("{variant} {c}: {} {} → {to}", kind_word(e.kind), e.from.as_deref().unwrap_or("(nothing)")));
    }
    if let Some(r) = &e.reason {
        summary.push_str(if summary.is_empty() { "" } else { ". Reason: " });
        summary.push_str(r);
    }
    a.set_summary(Some(text(summary)));
    let mut links = vec![link(format!("../{}", variant_path(variant)), "alternate")];
    if let Some(to) = e.to.as_ref().filter(|d| data.digests.contains_key(*d)) {
        links.push(link(format!("../{}", digest_path(to)), "related"));
    }
    a.set_links(links);
    a
}

fn feed(data: &SiteData, title: String, id: String, self_href: String, alternate: String, entries: Vec<atom_syndication::Entry>) -> Vec<u8> {
    let mut f = Feed::default();
    f.set_title(text(title));
    f.set_id(id);
    f.set_updated(entries.first().map(|e| *e.updated()).unwrap_or_else(|| data.generated.fixed_offset()));
    let mut author = Person::default();
    author.set_name("imgctl");
    f.set_authors(vec![author]);
    f.set_links(vec![link(self_href, "self"), link(alternate, "alternate")]);
    f.set_entries(entries);
    let mut out = f.to_string().into_bytes();
    out.push(b'\n');
    out
}

/// `feeds/fleet.atom`.
pub fn fleet(data: &SiteData) -> Vec<u8> {
    let mut all: Vec<(&str, &Entry)> = data.timelines.iter().flat_map(|(v, es)| es.iter().map(move |e| (v.as_str(), e))).collect();
    all.sort_by(|a, b| (b.1.time, b.0).cmp(&(a.1.time, a.0)));
    let entries = all.into_iter().take(FLEET_ENTRIES).map(|(v, e)| entry(data, v, e)).collect();
    feed(data, format!("Fleet {}", data.repository), format!("urn:imgctl:{}:fleet", data.repository), "fleet.atom".into(), "../index.html".into(), entries)
}

/// `feeds/VARIANT.atom`.
pub fn variant(data: &SiteData, v: &str) -> Vec<u8> {
    let entries = data.timelines.get(v).map(|es| es.iter().take(VARIANT_ENTRIES).map(|e| entry(data, v, e)).collect()).unwrap_or_default();
    feed(data, format!("{v} ({})", data.repository), format!("urn:imgctl:{}:variant:{v}", data.repository), format!("{v}.atom"), format!("../{}", variant_path(v)), entries)
}
