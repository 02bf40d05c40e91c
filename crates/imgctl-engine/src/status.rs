//! `status`: per variant, each channel's digest and since when, the pending promotion
//! and what holds it back, EOL, and the mirrors that drifted. ≤ 3 manifest requests per
//! variant (HEAD per channel, HEAD of the pending build) plus one tag listing (SPEC §6);
//! with mirrors a HEAD per channel per mirror; with a verification gate one listing of
//! the failure records and a GET per variant that has one for its pending build.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use imgctl_core::fleet::Variant;
use imgctl_core::history::{RepoHistory, digest12};
use imgctl_registry::Registry;
use indexmap::IndexMap;
use serde::Serialize;

pub use crate::pending::{MovesTo, Pending};
use crate::pending::pending;
use crate::{Ctx, EngineError, Lineage, moves};

/// One channel of one variant.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ChannelState {
    /// Where the channel tag points (absent: no such tag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Since when it points there (from the release tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// For a promoted channel: the build waiting for it (absent: computed, nothing pending).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

/// A mirror whose channel is not where the primary's is (or could not be read).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// `host[:port]/repository` of the mirror.
    pub mirror: String,
    /// The channel.
    pub channel: String,
    /// Where the mirror's channel points (absent: no such tag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Where the primary's points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// Set when the mirror could not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One variant's status (SPEC §4.1 `status`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VariantStatus {
    /// The variant.
    pub variant: String,
    /// Its OperatingSystemId.
    pub os: String,
    /// End of life of its OS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eol: Option<NaiveDate>,
    /// Set when the variant is retired (`retired: DATE`): it is no longer built or
    /// promoted, so nothing is pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired: Option<NaiveDate>,
    /// The variant that replaces it (`replacedBy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// Channel → state.
    pub channels: IndexMap<String, ChannelState>,
    /// The pending promotion of the consumers' channel (the promotion chain's end), if it
    /// is not at the newest build; every promoted channel's is under `channels`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// Set when the registry could not answer for this variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Mirrors whose channels differ from the primary's (SPEC §8); `promote` and
    /// `publish` repair them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Drift>,
}

/// The `status` document.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// One entry per variant.
    pub variants: Vec<VariantStatus>,
    /// How many of them are retired, on an ended OS, or on one ending within `eolWarning`.
    pub lifecycle: imgctl_core::eol::EolCounts,
}

/// Where one promoted channel's candidates come from, or why there are none.
#[derive(Debug, Clone, Copy)]
pub struct PendingSource<'a> {
    /// The promoted channel.
    pub channel: &'a str,
    /// The revision (as the user knows it) and the candidates along its history; or why
    /// they could not be read (shown as `unknown (…)`).
    pub at: Result<(&'a str, &'a Lineage), &'a str>,
}

/// Status of `variants`, with the pending promotions of each promoted channel in
/// `sources` (chain order).
pub async fn status<R: Registry>(ctx: &Ctx<'_, R>, variants: &[&Variant], sources: &[PendingSource<'_>]) -> Result<StatusReport, EngineError> {
    let history = ctx.published_snapshot().await?;
    status_of(ctx, &history, variants, sources).await
}

/// [`status`] over `history`, the one tag listing read already (the site reads it once for
/// status and the timelines).
pub async fn status_of<R: Registry>(ctx: &Ctx<'_, R>, history: &RepoHistory, variants: &[&Variant], sources: &[PendingSource<'_>]) -> Result<StatusReport, EngineError> {
    let consumer = imgctl_core::chain::consumer_channel(&ctx.fleet.manifest.channels);
    let gated = ctx.fleet.manifest.channels.values().any(|c| c.verify.is_some());
    let records = match gated {
        true => crate::verify::recorded(ctx.registry, ctx.repo).await.unwrap_or_else(|e| {
            tracing::warn!("verification records not read: {e}");
            Default::default()
        }),
        false => Default::default(),
    };
    ctx.progress.start(variants.len());
    let mut out: Vec<(usize, VariantStatus)> = futures_util::stream::iter(variants.iter().enumerate())
        .map(|(i, v)| {
            let (consumer, records) = (consumer.as_deref(), &records);
            async move {
                let mut s = one(ctx, v, history, sources, consumer, records).await;
                if s.error.is_none() {
                    s.drift = drift(ctx, v, &s.channels).await;
                }
                ctx.progress.done(&s.variant, s.error.is_some());
                (i, s)
            }
        })
        .buffer_unordered(ctx.concurrency.max(1))
        .collect()
        .await;
    out.sort_by_key(|(i, _)| *i);
    let lifecycle = imgctl_core::eol::count(ctx.fleet, variants.iter().copied(), ctx.now.date_naive());
    Ok(StatusReport { variants: out.into_iter().map(|(_, s)| s).collect(), lifecycle })
}

/// Where each mirror's channels differ from the primary's `channels` (one HEAD each).
async fn drift<R: Registry>(ctx: &Ctx<'_, R>, v: &Variant, channels: &IndexMap<String, ChannelState>) -> Vec<Drift> {
    let mut out = Vec::new();
    for m in ctx.mirrors {
        for (name, primary) in channels {
            let d = |digest, error| Drift { mirror: m.name.clone(), channel: name.clone(), digest, expected: primary.digest.clone(), error };
            if let Some(why) = m.down() {
                out.push(d(None, Some(format!("mirror unreachable earlier in this run: {why}"))));
                break;
            }
            let tag = ctx.fleet.channel_tag(v, name).unwrap_or_default();
            match moves::current(m.registry, &m.repo, &tag).await {
                Ok(digest) if digest == primary.digest => {}
                Ok(digest) => out.push(d(digest, None)),
                Err(e) => {
                    if crate::is_fatal(&e) || matches!(e, imgctl_registry::RegistryError::Unavailable { .. }) {
                        m.set_down(&e.to_string());
                    }
                    out.push(d(None, Some(e.to_string())));
                    break;
                }
            }
        }
    }
    out
}

async fn one<R: Registry>(ctx: &Ctx<'_, R>, v: &Variant, history: &RepoHistory, sources: &[PendingSource<'_>], consumer: Option<&str>, records: &HashSet<String>) -> VariantStatus {
    let (retired, replaced_by) = (v.spec.retired, v.spec.replaced_by.clone());
    let mut st = VariantStatus { variant: v.name.clone(), os: v.os.id.clone(), eol: v.os.eol, retired, replaced_by, channels: IndexMap::new(), pending: None, error: None, drift: Vec::new() };
    let vh = history.variant(&v.name);
    for name in ctx.fleet.manifest.channels.keys() {
        let tag = ctx.fleet.channel_tag(v, name).unwrap_or_default();
        match moves::current(ctx.registry, ctx.repo, &tag).await {
            Ok(digest) => {
                let since = digest.as_deref().and_then(|d| vh.channel(name).moves.iter().rev().find(|m| m.digest12 == digest12(d)).map(|m| m.time));
                st.channels.insert(name.clone(), ChannelState { digest, since, pending: None });
            }
            Err(e) => {
                st.error = Some(e.to_string());
                return st;
            }
        }
    }
    if st.retired.is_some() {
        // not promoted any more: nothing is pending
        return st;
    }
    if sources.is_empty() {
        st.pending = Some(Pending::unknown("no channel has promotesFrom: nothing is promoted"));
        return st;
    }
    for src in sources {
        let Some(c) = ctx.fleet.manifest.channels.get(src.channel) else { continue };
        let p = match src.at {
            Err(why) => Some(Pending::unknown(why)),
            Ok((rev, lineage)) => match lineage.get(&v.name).filter(|l| !l.is_empty()) {
                None => Some(Pending::unknown(format!("not in the manifest at {rev}"))),
                Some(ids) => {
                    let current = st.channels.get(src.channel).and_then(|s| s.digest.clone());
                    match pending(ctx, v, &vh, src.channel, c, ids, current.as_deref(), records).await {
                        Ok(p) => p,
                        Err(e) => {
                            st.error = Some(e.to_string());
                            return st;
                        }
                    }
                }
            },
        };
        if Some(src.channel) == consumer {
            st.pending = p.clone();
        }
        if let Some(state) = st.channels.get_mut(src.channel) {
            state.pending = p;
        }
    }
    st
}
