//! `variants/VARIANT.html`: where the variant's channels are, what is pending, and its
//! timeline across channels (publish, promote, forced, rollback, end-of-life events),
//! newest first, each move linking to the digest page that says what changed.

use imgctl_engine::site::{Entry, EntryKind, SiteData};
use imgctl_engine::status::VariantStatus;
use maud::{Markup, html};

use crate::page::{age, digest_ref, pending, shell, time};

/// The word for `k`.
pub fn kind_word(k: EntryKind) -> &'static str {
    match k {
        EntryKind::Publish => "publish",
        EntryKind::Promote => "promote",
        EntryKind::Forced => "forced",
        EntryKind::Rollback => "rollback",
        EntryKind::Eol => "eol",
    }
}

/// One timeline entry.
fn entry(data: &SiteData, e: &Entry) -> Markup {
    html! {
        li data-kind=(kind_word(e.kind)) {
            (time(e.time)) " "
            span.kind { (kind_word(e.kind)) }
            @if let Some(c) = &e.channel { " " span.channel { (c) } }
            @if e.kind != EntryKind::Eol || e.to.is_some() {
                ": "
                @if let Some(f) = &e.from { (digest_ref(data, "../", f)) " → " }
                @if let Some(t) = &e.to { (digest_ref(data, "../", t)) }
            }
            @if let Some(r) = &e.reason {
                " " span class=(if e.kind == EntryKind::Rollback { "reason" } else { "note" }) { (r) }
            }
        }
    }
}

/// The page of `v`.
pub fn render(data: &SiteData, v: &VariantStatus) -> Markup {
    let empty = Vec::new();
    let entries = data.timelines.get(&v.variant).unwrap_or(&empty);
    let feed = crate::page::feed_path(&v.variant);
    let main = html! {
        h1 { (v.variant) (crate::fleet::badges(data, v)) }
        dl.facts {
            dt { "OS" } dd { (v.os) }
            dt { "End of life" } dd { @if let Some(d) = v.eol { (d) } @else { "none given" } }
            @if let Some(r) = v.retired { dt { "Retired" } dd { (r) } }
            @if let Some(by) = &v.replaced_by { dt { "Replaced by" } dd { a href={ (by) ".html" } { (by) } } }
            dt { "Feed" } dd { a href={ "../" (feed) } { "Atom feed of this variant" } }
        }
        h2 { "Channels" }
        div.scroll { table.channels {
            thead { tr { th scope="col" { "Channel" } th scope="col" { "Digest" } th scope="col" { "Since" } th scope="col" { "Pending" } } }
            tbody {
                @for (c, st) in &v.channels {
                    tr {
                        th scope="row" { (c) }
                        td { @if let Some(d) = &st.digest { (digest_ref(data, "../", d)) } @else { "none" } }
                        td { @if let Some(t) = st.since { (time(t)) " (" (age(data.generated, t)) ")" } @else { "–" } }
                        td { @if let Some(p) = &st.pending { (pending(data, "../", p)) } @else if data.promoted.contains(c) { "up to date" } @else { "–" } }
                    }
                }
            }
        } }
        @if let Some(e) = &v.error { p.error { "The registry could not answer for this variant: " (e) } }
        @let users: Vec<_> = data.consumers.iter().filter(|c| c.variant.as_deref() == Some(v.variant.as_str())).collect();
        @if !users.is_empty() {
            h2 { "Consumers" }
            ul.consumers {
                @for c in users {
                    li { code { (c.at) } @if let Some(t) = &c.tag { " " (t) } @if let Some(d) = &c.digest { " pinned to " (digest_ref(data, "../", d)) } @else { " (not pinned)" } }
                }
            }
        }
        h2 { "Timeline" }
        p { (entries.len()) " events, newest first. A digest links to its page when the site shows it (docs/SITE.md)." }
        ol #timeline {
            @for e in entries { (entry(data, e)) }
        }
    };
    shell(data, "../", &v.variant, Some(&feed), main)
}
