//! What `status` says is pending on one promoted channel of one variant: the newest build
//! of the promoting branch that the channel is not at, what holds it back and when it is
//! ready (absolute), when the channel's schedule takes it out, and the older soaked build
//! the next run moves to meanwhile (SPEC §9). Same decision as `promote` (core
//! `rollout::decide`), with HEADs instead of GETs.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use imgctl_core::duration::Duration;
use imgctl_core::fleet::Variant;
use imgctl_core::history::VariantHistory;
use imgctl_core::manifest::Channel;
use imgctl_core::rollout::{BlockedBy, Decision, Verdict, Why, why_text};
use imgctl_core::schedule::goes_out_on as goes_out;
use imgctl_registry::{Registry, RegistryError};
use serde::Serialize;

use crate::candidates::{self, Read};
use crate::Ctx;

/// The promotion waiting on a channel, or why it could not be computed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// Set when pending promotions were not computed (no promotion branch, the variant is
    /// not in the manifest there, no promoted channel): why. Then no other field is set.
    /// An absent `pending` means "computed: nothing pending".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
    /// The newest build's digest (absent when there is no build).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Its source id at the revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// What holds it back (absent: the next promotion moves it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<BlockedBy>,
    /// Soak time left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<Duration>,
    /// When its soak is over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<DateTime<Utc>>,
    /// When the channel's `schedule` next runs after it is ready: when it goes out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_promotion: Option<DateTime<Utc>>,
    /// An older, soaked build the next promotion moves to while this one waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moves_to: Option<MovesTo>,
    /// In words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With `blockedBy: verification`: the recorded failure (time, result, output's tail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<crate::verify::Failure>,
}

/// The build the next promotion moves to, when it is not the newest.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MovesTo {
    /// Its digest.
    pub digest: String,
    /// Its source id.
    pub source_id: String,
    /// Why it may move.
    pub reason: String,
}

impl Pending {
    /// Not computed, for `why`.
    pub fn unknown(why: impl Into<String>) -> Pending {
        Pending { unknown: Some(why.into()), ..Pending::default() }
    }
}

/// What is pending on channel `name` (`c`) for `v` whose candidates are `ids`; `None`
/// when the channel is at the newest build.
#[allow(clippy::too_many_arguments)]
pub async fn pending<R: Registry>(
    ctx: &Ctx<'_, R>,
    v: &Variant,
    vh: &VariantHistory,
    name: &str,
    c: &Channel,
    ids: &[String],
    current: Option<&str>,
    records: &HashSet<String>,
) -> Result<Option<Pending>, RegistryError> {
    let source_name = c.promotes_from.clone().unwrap_or_default();
    let soak = c.soak.unwrap_or_default();
    let (_, Decision { verdict, newest }) = candidates::decide_channel(ctx, vh, name, c, ids, current, false, Read::Head).await?;
    let of = |p: &imgctl_core::rollout::Waiting| Pending {
        digest: p.digest.clone(),
        source_id: Some(p.source_id.clone()).filter(|s| !s.is_empty()),
        blocked_by: p.blocked_by,
        remaining: p.remaining,
        ready_at: p.ready_at,
        next_promotion: p.ready_at.and_then(|r| goes_out(c, Some(r), ctx.now)),
        reason: Some(p.reason.clone()),
        ..Pending::default()
    };
    Ok(match verdict {
        Verdict::UpToDate => None,
        Verdict::Blocked(p) => Some(of(&p)),
        Verdict::Move { to, source_id, why } => {
            let reason = match why {
                Why::Soaked { on_source } => format!("soaked {on_source} of {soak} on {source_name}"),
                Why::NewVariant => "a new variant: soak waived".to_string(),
                Why::Forced => why_text(why, &source_id, &source_name, soak, None),
            };
            let failure = match crate::verify::gate_for(ctx.fleet, v, name) {
                Some(_) => crate::verify::failure(ctx.registry, ctx.repo, ctx.fleet, records, v, name, &to).await.unwrap_or_else(|e| {
                    tracing::warn!("verification record of {} not read: {e}", v.name);
                    None
                }),
                None => None,
            };
            let ready = |p: Pending| Pending { next_promotion: goes_out(c, None, ctx.now), ..p };
            match (failure, newest) {
                (Some(f), _) => Some(Pending {
                    digest: Some(to),
                    source_id: Some(source_id),
                    blocked_by: Some(BlockedBy::Verification),
                    reason: Some(format!("verification failed at {}: {}: {}", f.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), f.result, crate::verify::tail_line(&f.tail))),
                    verification: Some(f),
                    ..Pending::default()
                }),
                // the newest waits; an older soaked build goes out at the next run
                (None, Some(n)) => Some(Pending { moves_to: Some(MovesTo { digest: to, source_id, reason }), ..of(&n) }),
                (None, None) => Some(ready(Pending { digest: Some(to), source_id: Some(source_id), reason: Some(format!("ready: the next promote moves it ({reason})")), ..Pending::default() })),
            }
        }
    })
}
