//! `digests/sha256-HEX.html`: one digest — where it is, what changed against the digest
//! before it (from the two SBOMs, and the change summary its move records carry), its package inventory, its promotion records with their signature status, its
//! end-of-life mark, and the consumers that pin it.

use imgctl_engine::site::{DigestFacts, SiteData};
use imgctl_inventory::diff::Change;
use maud::{Markup, html};

use crate::page::{digest_ref, shell, time};

fn changes_table(changes: &[Change]) -> Markup {
    html! {
        div.scroll { table {
            thead { tr { th scope="col" { "Change" } th scope="col" { "Type" } th scope="col" { "Package" } th scope="col" { "From" } th scope="col" { "To" } } }
            tbody {
                @for c in changes {
                    tr {
                        td { (serde_json::to_value(c.change).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()) }
                        td { (c.ecosystem.as_str()) }
                        th scope="row" { (c.name) @if let Some(a) = &c.arch { " (" (a) ")" } }
                        td { (c.from.as_deref().unwrap_or("–")) }
                        td { (c.to.as_deref().unwrap_or("–")) }
                    }
                }
            }
        } }
    }
}

/// `Debian GNU/Linux 12`, else `debian 12`, else `unknown`.
fn os_name(o: Option<&imgctl_inventory::OsRelease>) -> String {
    o.map(|o| o.pretty_name.clone().unwrap_or_else(|| format!("{} {}", o.id, o.version_id.as_deref().unwrap_or_default()))).unwrap_or_else(|| "unknown".into())
}

/// The signature status of a record.
fn signature(r: &imgctl_engine::records::Recorded) -> String {
    match (&r.error, r.verified, r.signed) {
        (Some(e), _, _) => format!("failed: {e}"),
        (None, true, _) => "verified".into(),
        (None, false, true) => "signed (not checked: no --verify-key)".into(),
        (None, false, false) => "unsigned".into(),
    }
}

/// The page of `f`.
pub fn render(data: &SiteData, f: &DigestFacts) -> Markup {
    let pins: Vec<_> = data.consumers.iter().filter(|c| c.digest.as_deref() == Some(f.digest.as_str())).collect();
    let main = html! {
        h1 { "Digest " code { (crate::page::short(&f.digest)) } }
        p { "Whole digest: " code.whole { (f.digest) } }
        h2 { "Where it is" }
        ul {
            @for r in &f.roles {
                li { a href={ "../variants/" (r.variant) ".html" } { (r.variant) } " " (r.channel) ": " (r.role) }
            }
            @if let Some(d) = f.eol_mark { li { span.badge.badge-eol { "EOL" } " marked end of life on " (d) } }
        }
        @if let Some(e) = &f.error { p.error { "Its referrers could not be read: " (e) } }
        h2 { "What changed" }
        @if f.changes.is_empty() { p { "No digest before it is shown on the site." } }
        @for c in &f.changes {
            h3 { "Against " (digest_ref(data, "../", &c.against)) }
            p { "Before it on: " (c.on.join(", ")) }
            @match (&c.diff, &c.unknown) {
                (Some(d), _) => {
                    p { (d.changes.len()) " package changes; files " (format!("{:+}", d.files_delta)) ", bytes " (format!("{:+}", d.bytes_delta)) "." }
                    @if !d.changes.is_empty() { (changes_table(&d.changes)) }
                }
                (None, Some(why)) => { p { "Not known: " (why) "." } }
                (None, None) => {}
            }
        }
        @for (s, c) in f.records.iter().filter_map(|r| r.statement.as_ref()).filter_map(|s| s.changes.as_deref().map(|c| (s, c))) {
            h3 { "Recorded by the " (s.kind) " of " (s.tag) " (from " (digest_ref(data, "../", &c.from)) ")" }
            p {
                @if let Some(pk) = &c.packages { (pk.added) " added, " (pk.removed) " removed, " (pk.upgraded) " upgraded, " (pk.downgraded) " downgraded; " }
                "bytes " (format!("{:+}", c.size.delta))
                @if let (Some(a), Some(b)) = (&c.source.from_source_id, &c.source.to_source_id) { "; source id " code { (a) } " → " code { (b) } }
                @if let Some(os) = c.os.as_ref().filter(|o| o.changed) { "; OS " (os_name(os.from.as_ref())) " → " (os_name(os.to.as_ref())) }
                "."
            }
            @if let Some(pk) = c.packages.as_ref().filter(|p| !p.changes.is_empty()) { (changes_table(&pk.changes)) }
            @for n in &c.source.notes { p.note { (n) } }
        }
        h2 { "Packages" }
        @match (&f.sbom, &f.no_sbom) {
            (Some(s), _) => {
                p { (s.inventory.packages.len()) " packages, from the SBOM " code { (crate::page::short(&s.artifact)) }
                    @if s.image != f.digest { " of image " code { (crate::page::short(&s.image)) } }
                    " (" (if s.verified { "verified" } else if s.signed { "signed" } else { "unsigned" }) ")." }
                @if let Some(why) = &s.inventory.not_inventoried { p { (why) } }
                @if !s.inventory.packages.is_empty() {
                    details {
                        summary { "Package list" }
                        div.scroll { table {
                            thead { tr { th scope="col" { "Package" } th scope="col" { "Version" } th scope="col" { "Type" } } }
                            tbody { @for p in &s.inventory.packages { tr { th scope="row" { (p.name) } td { (p.version) } td { (p.ecosystem.as_str()) } } } }
                        } }
                    }
                }
            }
            (None, Some(why)) => { p { (why) "." } }
            (None, None) => { p { "Not read." } }
        }
        h2 { "Records" }
        @if f.records.is_empty() && f.listed.is_empty() { p { "No promotion record is attached (records are on with the manifest's " code { "records:" } ")." } }
        @else {
            div.scroll { table {
                thead { tr { th scope="col" { "Time" } th scope="col" { "Channel" } th scope="col" { "Kind" } th scope="col" { "From" } th scope="col" { "Why" } th scope="col" { "By" } th scope="col" { "Signature" } } }
                tbody {
                    @for r in &f.records {
                        @if let Some(s) = &r.statement {
                            tr {
                                td { (time(s.time)) }
                                th scope="row" { (s.tag) }
                                td { (s.kind) }
                                td { @if let Some(x) = &s.from { (digest_ref(data, "../", x)) } @else { "–" } }
                                td { @if let Some(n) = &s.note { span.reason { (n) } " (" (s.reason) ")" } @else { (s.reason) } }
                                td { (s.run_url.clone().or_else(|| s.actor.clone()).unwrap_or_else(|| s.tool.clone())) }
                                td { (signature(r)) }
                            }
                        } @else {
                            tr { td { "–" } th scope="row" { code { (crate::page::short(&r.record)) } } td colspan="5" { (signature(r)) } }
                        }
                    }
                    @for l in &f.listed {
                        tr {
                            td { @if let Some(t) = l.time { (time(t)) } @else { "–" } }
                            th scope="row" { (l.variant) " " (l.channel) }
                            td { (l.kind) }
                            td colspan="3" { "from the referrers list (the record itself is not read: " code { "imgctl verify" } " or " code { "history --records" } " show it)" }
                            td { (if l.signed { "signed (not checked)" } else { "unsigned" }) }
                        }
                    }
                }
            } }
        }
        h2 { "Consumers pinning it" }
        @if pins.is_empty() { p { "None in the reports given (" code { "--consumers" } ")." } }
        @else { ul { @for c in pins { li { code { (c.at) } @if let Some(t) = &c.tag { " (" (t) ")" } } } } }
    };
    shell(data, "../", &format!("Digest {}", crate::page::short(&f.digest)), None, main)
}
