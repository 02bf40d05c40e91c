//! What every page shares: the document shell (lang, skip link, navigation, one `<main>`),
//! relative links to digest and variant pages, short digests, ages and pending states.

use chrono::{DateTime, Utc};
use imgctl_core::results::BlockedBy;
use imgctl_engine::site::SiteData;
use imgctl_engine::status::Pending;
use maud::{DOCTYPE, Markup, html};

/// A page's place in the site: `""` for pages at the root, `"../"` one folder down.
pub type Root = &'static str;

/// The whole document around `main` (which holds the page's one `<h1>`).
pub fn shell(data: &SiteData, root: Root, title: &str, feed: Option<&str>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · imgctl fleet" }
                link rel="stylesheet" href={ (root) "site.css" };
                @if let Some(f) = feed {
                    link rel="alternate" type="application/atom+xml" title={ (title) " (Atom)" } href={ (root) (f) };
                }
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    nav aria-label="Site" {
                        ul {
                            li { a href={ (root) "index.html" } { "Fleet" } }
                            li { a href={ (root) "eol.html" } { "EOL calendar" } }
                            li { a href={ (root) "fleet.json" } { "fleet.json" } }
                            li { a href={ (root) "feeds/fleet.atom" } { "Atom feed" } }
                        }
                    }
                }
                main #main tabindex="-1" { (main) }
                footer {
                    p { "Read from " code { (data.repository) } " at " (time(data.generated)) " by imgctl. Every link is relative; nothing is fetched." }
                }
                script src={ (root) "site.js" } {}
            }
        }
    }
}

/// `<time>` of `t`, readable.
pub fn time(t: DateTime<Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) { (t.format("%Y-%m-%d %H:%MZ")) } }
}

/// `sha256:` + 12 hex digits.
pub fn short(d: &str) -> &str {
    d.get(..19).unwrap_or(d)
}

pub use imgctl_core::site_paths::{digest as digest_path, feed as feed_path, variant as variant_path};

/// A digest, linked to its page when the site has one.
pub fn digest_ref(data: &SiteData, root: Root, d: &str) -> Markup {
    html! {
        @if data.digests.contains_key(d) {
            a href={ (root) (digest_path(d)) } { code title=(d) { (short(d)) } }
        } @else {
            code title=(d) { (short(d)) }
        }
    }
}

/// `3d4h ago`.
pub fn age(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let secs = u64::try_from(now.signed_duration_since(t).num_seconds()).unwrap_or(0);
    if secs < 60 { "just now".into() } else { format!("{} ago", imgctl_core::duration::Duration(secs - secs % 60)) }
}

/// One word for a pending build's state.
pub fn pending_state(p: &Pending) -> &'static str {
    match (p.unknown.is_some(), p.blocked_by) {
        (true, _) => "unknown",
        (false, None) => "ready",
        (false, Some(BlockedBy::Soak)) => "soaking",
        (false, Some(BlockedBy::Rejected)) => "rejected",
        (false, Some(BlockedBy::MissingBuild)) => "missing build",
        (false, Some(BlockedBy::Verification)) => "verification failed",
    }
}

/// A pending build: its state, digest, why, when it is ready and when it goes out.
pub fn pending(data: &SiteData, root: Root, p: &Pending) -> Markup {
    let state = pending_state(p);
    // the reason often starts with the state ("rejected: …"), which the badge already says
    let why = p.unknown.as_ref().or(p.reason.as_ref()).map(|w| w.strip_prefix(state).and_then(|r| r.strip_prefix(": ")).unwrap_or(w));
    html! {
        span class={ "state state-" (state.replace(' ', "-")) } { (state) }
        @if let Some(d) = &p.digest { " " (digest_ref(data, root, d)) }
        @if let Some(why) = why { " " span.why { (why) } }
        // the soak's reason already says when it is ready
        @if let Some(t) = p.ready_at.filter(|_| !why.is_some_and(|w| w.contains("(ready "))) { " · ready " (time(t)) }
        @if let Some(t) = p.next_promotion { " · goes out " (time(t)) }
        @if let Some(m) = &p.moves_to { " · the next run moves to " (digest_ref(data, root, &m.digest)) " meanwhile" }
    }
}
