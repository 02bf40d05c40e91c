//! `status`: per variant, each channel's digest and since when, the pending promotion
//! and what holds it back, and EOL. ≤ 3 manifest requests per variant (HEAD per
//! channel, HEAD of the pending build) plus one tag listing (SPEC §6).

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
    /// Channel → state.
    pub channels: IndexMap<String, ChannelState>,
    /// The pending promotion, if the promoted channel is not at the revision's build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// Set when the registry could not answer for this variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The `status` document.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// One entry per variant.
    pub variants: Vec<VariantStatus>,
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
    ctx.progress.start(variants.len());
    let mut out: Vec<(usize, VariantStatus)> = futures_util::stream::iter(variants.iter().enumerate())
        .map(|(i, v)| {
            let (history, promoted) = (&history, promoted.as_deref());
            async move {
                let s = one(ctx, v, history, ids, promoted).await;
                ctx.progress.done(&s.variant, s.error.is_some());
                (i, s)
            }
        })
        .buffer_unordered(ctx.concurrency.max(1))
        .collect()
        .await;
    out.sort_by_key(|(i, _)| *i);
    Ok(StatusReport { variants: out.into_iter().map(|(_, s)| s).collect() })
}

async fn one<R: Registry>(ctx: &Ctx<'_, R>, v: &Variant, history: &RepoHistory, ids: PendingIds<'_>, promoted: Option<&str>) -> VariantStatus {
    let mut st = VariantStatus { variant: v.name.clone(), os: v.os.id.clone(), eol: v.os.eol, channels: IndexMap::new(), pending: None, error: None };
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
    let pending = |blocked_by, remaining, reason| Pending { unknown: None, digest: candidate.clone(), source_id: Some(source_id.to_string()), blocked_by, remaining, reason };
    st.pending = match decide_promote(&input) {
        Verdict::UpToDate => None,
        Verdict::Move { .. } => Some(pending(None, None, Some("ready: the next promote moves it".into()))),
        Verdict::Blocked { by, remaining, reason } => Some(pending(Some(by), remaining, Some(reason))),
    };
    st
}
