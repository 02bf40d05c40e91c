//! `fleet.json`: the site's data as a stable document for tools (docs/SITE.md): each
//! variant's `status` entry (channels with digest, since and pending; pending, drift, EOL,
//! retired) plus its history and pages, the channels, and the EOL calendar. Field names are
//! camelCase and never renamed; fields may be added.

use imgctl_engine::site::{Entry, SiteData};
use imgctl_engine::status::VariantStatus;
use serde::Serialize;

use crate::eol::EolDate;
use crate::page::variant_path;

/// One variant: its `status` entry, history (newest first) and pages.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Variant<'a> {
    #[serde(flatten)]
    status: &'a VariantStatus,
    history: &'a [Entry],
    page: String,
    feed: String,
}

/// The document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Doc<'a> {
    /// Bumped only when a field changes meaning.
    schema_version: u32,
    generated: String,
    repository: &'a str,
    channels: &'a [imgctl_engine::site::ChannelInfo],
    variants: Vec<Variant<'a>>,
    lifecycle: &'a imgctl_core::eol::EolCounts,
    eol: Vec<EolDate>,
}

/// `fleet.json`'s bytes.
pub fn render(data: &SiteData) -> Vec<u8> {
    let empty = Vec::new();
    let doc = Doc {
        schema_version: 1,
        generated: data.generated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        repository: &data.repository,
        channels: &data.channels,
        variants: data
            .status
            .variants
            .iter()
            .map(|v| Variant { status: v, history: data.timelines.get(&v.variant).unwrap_or(&empty), page: variant_path(&v.variant), feed: crate::page::feed_path(&v.variant) })
            .collect(),
        lifecycle: &data.status.lifecycle,
        eol: crate::eol::dates(data),
    };
    let mut out = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    out.push(b'\n');
    out
}
