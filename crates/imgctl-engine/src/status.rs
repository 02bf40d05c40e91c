//! `status`: per variant, each channel's digest and since when, the pending promotion
//! and what holds it back, EOL, and the mirrors that drifted. ≤ 3 manifest requests per
//! variant (HEAD per channel, HEAD of the pending build) plus one tag listing (SPEC §6);
//! with mirrors a HEAD per channel per mirror; with a verification gate one listing of
//! the failure records and a GET per variant that has one for its pending build.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use imgctl_core::duration::Duration;
use imgctl_core::fleet::Variant;
use imgctl_core::history::{RepoHistory, digest12};
use imgctl_core::rollout::{BlockedBy, PromoteInput, Verdict, decide_promote};
use imgctl_registry::Registry;
use indexmap::IndexMap;
use serde::Serialize;

use crate::{Ctx, EngineError, SourceIds, moves};

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
}

/// The promotion waiting for a variant, or why it could not be computed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// Set when pending promotions were not computed (no promotion branch, the variant is
    /// not in the manifest there, no promoted channel): why. Then no other field is set.
    /// An absent `pending` means "computed: nothing pending".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
    /// The build's digest (absent when there is no build).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The source id at the revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// What holds it back (absent: it would be promoted now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<BlockedBy>,
    /// Soak time left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<Duration>,
    /// In words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With `blockedBy: verification`: the recorded failure (time, result, output's tail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<crate::verify::Failure>,
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
    /// The pending promotion, if the promoted channel is not at the revision's build.
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

/// The source ids pending promotions are computed from, or why there are none.
#[derive(Debug, Clone, Copy)]
pub enum PendingIds<'a> {
    /// The source ids at the promotion revision (e.g. `production`).
    At {
        /// The revision, as the user knows it.
        rev: &'a str,
        /// Source id by variant.
        ids: &'a SourceIds,
    },
    /// Not computed: why (shown as `unknown (…)`).
    Unknown(&'a str),
}

/// Status of `variants`, with their pending promotions computed from `ids`.
pub async fn status<R: Registry>(ctx: &Ctx<'_, R>, variants: &[&Variant], ids: PendingIds<'_>) -> Result<StatusReport, EngineError> {
    let history = ctx.snapshot().await?;
    let promoted = crate::promote::default_channel(ctx.fleet);
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
            let (history, promoted, records) = (&history, promoted.as_deref(), &records);
            async move {
                let mut s = one(ctx, v, history, ids, promoted, records).await;
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

async fn one<R: Registry>(ctx: &Ctx<'_, R>, v: &Variant, history: &RepoHistory, ids: PendingIds<'_>, promoted: Option<&str>, records: &HashSet<String>) -> VariantStatus {
    let (retired, replaced_by) = (v.spec.retired, v.spec.replaced_by.clone());
    let mut st = VariantStatus { variant: v.name.clone(), os: v.os.id.clone(), eol: v.os.eol, retired, replaced_by, channels: IndexMap::new(), pending: None, error: None, drift: Vec::new() };
    let vh = history.variant(&v.name);
    for name in ctx.fleet.manifest.channels.keys() {
        let tag = ctx.fleet.channel_tag(v, name).unwrap_or_default();
        match moves::current(ctx.registry, ctx.repo, &tag).await {
            Ok(digest) => {
                let since = digest.as_deref().and_then(|d| vh.channel(name).moves.iter().rev().find(|m| m.digest12 == digest12(d)).map(|m| m.time));
                st.channels.insert(name.clone(), ChannelState { digest, since });
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
    let unknown = |why: String| Some(Pending { unknown: Some(why), ..Pending::default() });
    let Some(channel) = promoted else {
        st.pending = unknown("no channel has promotesFrom: nothing is promoted".into());
        return st;
    };
    let source_id = match ids {
        PendingIds::Unknown(why) => {
            st.pending = unknown(why.to_string());
            return st;
        }
        PendingIds::At { rev, ids } => match ids.get(&v.name) {
            Some(id) => id.as_str(),
            None => {
                st.pending = unknown(format!("not in the manifest at {rev}"));
                return st;
            }
        },
    };
    let c = &ctx.fleet.manifest.channels[channel];
    let source_name = c.promotes_from.clone().unwrap_or_default();
    let candidate = match vh.immutable.get(source_id) {
        Some(tag) => match moves::current(ctx.registry, ctx.repo, tag).await {
            Ok(d) => d,
            Err(e) => {
                st.error = Some(e.to_string());
                return st;
            }
        },
        None => None,
    };
    let (target, source) = (vh.channel(channel), vh.channel(&source_name));
    let current = st.channels.get(channel).and_then(|s| s.digest.clone());
    let input = PromoteInput {
        candidate: candidate.as_deref(),
        source_id,
        current: current.as_deref(),
        target: &target,
        source: &source,
        source_name: &source_name,
        soak: c.soak.unwrap_or_default(),
        force: false,
        now: ctx.now,
    };
    let pending = |blocked_by, remaining, reason| Pending {
        unknown: None,
        digest: candidate.clone(),
        source_id: Some(source_id.to_string()),
        blocked_by,
        remaining,
        reason,
        verification: None,
    };
    st.pending = match decide_promote(&input) {
        Verdict::UpToDate => None,
        Verdict::Move { to } => {
            // ready, unless the gate failed for this very build
            let failure = match crate::verify::gate_for(ctx.fleet, v, channel) {
                Some(_) => crate::verify::failure(ctx.registry, ctx.repo, ctx.fleet, records, v, channel, &to).await.unwrap_or_else(|e| {
                    tracing::warn!("verification record of {} not read: {e}", v.name);
                    None
                }),
                None => None,
            };
            Some(match failure {
                Some(f) => Pending {
                    reason: Some(format!("verification failed at {}: {}: {}", f.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), f.result, crate::verify::tail_line(&f.tail))),
                    verification: Some(f),
                    ..pending(Some(BlockedBy::Verification), None, None)
                },
                None => pending(None, None, Some("ready: the next promote moves it".into())),
            })
        }
        Verdict::Blocked { by, remaining, reason } => Some(pending(Some(by), remaining, Some(reason))),
    };
    st
}
