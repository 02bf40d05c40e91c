//! `index.html`: the fleet — one row per variant, a column per channel (digest, age, what
//! is pending there and why), the pending promotion of the consumers' channel, EOL and
//! retired badges, mirrors' drift; a filter box (`site.js`) that hides rows.

use imgctl_core::eol::{EolState, date_state};
use imgctl_engine::site::SiteData;
use imgctl_engine::status::VariantStatus;
use maud::{Markup, html};

use crate::page::{self, age, digest_ref, pending, shell, variant_path};

/// The `EOL`/`retired` badges of `v` and its end-of-life cell.
pub fn badges(data: &SiteData, v: &VariantStatus) -> Markup {
    let state = date_state(v.eol, data.generated.date_naive(), data.eol_warning);
    html! {
        @if v.retired.is_some_and(|d| d <= data.generated.date_naive()) { " " span.badge.badge-retired { "retired" } }
        @else if v.retired.is_some() { " " span.badge.badge-soon { "retiring" } }
        @if matches!(state, EolState::Past(_)) { " " span.badge.badge-eol { "EOL" } }
        @else if matches!(state, EolState::Soon(_)) { " " span.badge.badge-soon { "EOL soon" } }
    }
}

/// How many variants are in each pending state, for the summary line.
fn summary(data: &SiteData) -> String {
    let vs = &data.status.variants;
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for v in vs {
        let state = match (&v.error, v.retired, &v.pending) {
            (Some(_), ..) => "errors",
            (None, Some(_), _) => "retired",
            (None, None, None) => "up to date",
            (None, None, Some(p)) => page::pending_state(p),
        };
        *counts.entry(state).or_default() += 1;
    }
    let drift = vs.iter().filter(|v| !v.drift.is_empty()).count();
    let mut parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    if drift > 0 {
        parts.push(format!("{drift} drifted on a mirror"));
    }
    format!("{} variants: {}", vs.len(), parts.join(", "))
}

/// The page.
pub fn render(data: &SiteData) -> Markup {
    let now = data.generated;
    let total = data.status.variants.len();
    let consumer = data.promoted.last();
    let main = html! {
        h1 { "Fleet " code { (data.repository) } }
        p.summary { (summary(data)) }
        div.filter {
            label for="filter" { "Filter variants" }
            input #filter type="search" aria-controls="fleet" aria-describedby="filter-help" autocomplete="off";
            span #filter-help.help { "Words match the variant, OS and state (e.g. " kbd { "soaking" } ", " kbd { "EOL" } ", " kbd { "rejected" } ")." }
        }
        p #count aria-live="polite" { (total) " of " (total) " variants" }
        div.scroll {
            table #fleet {
                caption { "Where each variant's channels point, and what is pending" }
                thead {
                    tr {
                        th scope="col" { "Variant" }
                        th scope="col" { "OS" }
                        @for c in &data.channels { th scope="col" { (c.name) } }
                        th scope="col" { "Pending" @if let Some(c) = consumer { " (" (c) ")" } }
                        th scope="col" { "End of life" }
                    }
                }
                tbody {
                    @for v in &data.status.variants {
                        tr data-variant=(v.variant) {
                            th scope="row" {
                                a href=(variant_path(&v.variant)) { (v.variant) }
                                (badges(data, v))
                                @for d in &v.drift {
                                    br;
                                    span.drift { "drift: " (d.mirror) " " (d.channel) ": "
                                        @match (&d.error, &d.digest) {
                                            (Some(e), _) => { "unreadable (" (e) ")" }
                                            (None, Some(x)) => { code { (page::short(x)) } }
                                            (None, None) => { "missing" }
                                        }
                                    }
                                }
                            }
                            td { (v.os) }
                            @for c in &data.channels {
                                td {
                                    @match v.channels.get(&c.name) {
                                        Some(st) => {
                                            @if let Some(d) = &st.digest { (digest_ref(data, "", d)) } @else { span.none { "none" } }
                                            @if let Some(t) = st.since { br; span.age { (age(now, t)) } }
                                            @if let Some(p) = st.pending.as_ref().filter(|_| data.promoted.len() > 1) { br; (pending(data, "", p)) }
                                        }
                                        None => { span.none { "none" } }
                                    }
                                }
                            }
                            td {
                                @if let Some(e) = &v.error { span.state.state-error { "error" } " " (e) }
                                @else if let Some(r) = v.retired { "retired " (r) @if let Some(by) = &v.replaced_by { " (replaced by " a href=(variant_path(by)) { (by) } ")" } }
                                @else if let Some(p) = &v.pending { (pending(data, "", p)) }
                                @else { span.state.state-ok { "up to date" } }
                            }
                            td { @if let Some(d) = v.eol { (d) } @else { "–" } }
                        }
                    }
                }
            }
        }
    };
    shell(data, "", "Fleet", Some("feeds/fleet.atom"), main)
}
