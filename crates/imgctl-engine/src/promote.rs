//! `promote`: move each variant's promoted channel (`latest`) to the build of its
//! source id at a revision — only built, soaked, non-rejected digests (SPEC §4, §5).
//! At most 5 manifest requests per variant (SPEC §6).

use futures_util::StreamExt;
use imgctl_core::duration::Duration;
use imgctl_core::fleet::Variant;
use imgctl_core::history::{ChannelHistory, RepoHistory, digest12};
use imgctl_core::rollout::{Action, ActionResult, BlockedBy, PromoteInput, Verdict, decide_promote};
use imgctl_registry::{Registry, RegistryError};

use crate::moves::{self, Move, MoveOutcome, as_expected};
use crate::{Ctx, EngineError, SourceIds, result};

/// What to promote.
#[derive(Debug, Clone)]
pub struct PromoteOptions {
    /// The channel to move (one with `promotesFrom`).
    pub channel: String,
    /// Skip soak and rejection.
    pub force: bool,
}

/// The channel `promote` moves by default: the one that promotes from another.
pub fn default_channel(fleet: &imgctl_core::Fleet) -> Option<String> {
    fleet.manifest.channels.iter().find(|(_, c)| c.promotes_from.is_some()).map(|(n, _)| n.clone())
}

/// Promotes `variants` (source ids from the revision in `ids`).
pub async fn promote<R: Registry>(
    ctx: &Ctx<'_, R>,
    variants: &[&Variant],
    ids: &SourceIds,
    opts: &PromoteOptions,
) -> Result<Vec<ActionResult>, EngineError> {
    let channel = ctx
        .fleet
        .manifest
        .channels
        .get(&opts.channel)
        .ok_or_else(|| EngineError::Input(format!("find channel '{}' in the manifest", opts.channel)))?;
    let source_name = channel
        .promotes_from
        .clone()
        .ok_or_else(|| EngineError::Input(format!("promote to channel '{}': it has no promotesFrom", opts.channel)))?;
    let soak = channel.soak.unwrap_or_default();
    let history = ctx.snapshot().await?;
    ctx.progress.start(variants.len());
    let mut results: Vec<(usize, ActionResult)> = futures_util::stream::iter(variants.iter().enumerate())
        .map(|(i, v)| {
            let (history, source_name) = (&history, source_name.as_str());
            async move {
                let r = match one(ctx, v, ids.get(&v.name).map(String::as_str), history, opts, source_name, soak).await {
                    Ok(r) => r,
                    Err(e) => ActionResult { reason: Some(e.to_string()), ..result(v, Some(&opts.channel), Action::Failed) },
                };
                ctx.progress.result(&r);
                (i, r)
            }
        })
        .buffer_unordered(ctx.concurrency.max(1))
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);
    let mut results: Vec<ActionResult> = results.into_iter().map(|(_, r)| r).collect();
    crate::recheck::recheck(ctx, &history, &mut results).await?;
    Ok(results)
}

async fn one<R: Registry>(
    ctx: &Ctx<'_, R>,
    v: &Variant,
    source_id: Option<&str>,
    history: &RepoHistory,
    opts: &PromoteOptions,
    source_name: &str,
    soak: Duration,
) -> Result<ActionResult, RegistryError> {
    let base = result(v, Some(&opts.channel), Action::Skipped);
    let Some(source_id) = source_id else {
        return Ok(ActionResult { reason: Some("no source id at the revision (variant not in its manifest)".into()), ..base });
    };
    let vh = history.variant(&v.name);
    let target = vh.channel(&opts.channel);
    let source = vh.channel(source_name);
    // the build: its immutable tag is in the listing, or there is none (no request)
    // the build (its immutable tag is in the listing, or there is none) and where the
    // channel points now, read together
    let channel_tag = ctx.fleet.channel_tag(v, &opts.channel).unwrap_or_default();
    let build = async {
        match vh.immutable.get(source_id) {
            Some(tag) => ctx.registry.get_manifest(ctx.repo, tag).await.map(Some),
            None => Ok(None),
        }
    };
    let (candidate, current) = futures_util::future::join(build, moves::current(ctx.registry, ctx.repo, &channel_tag)).await;
    let (candidate, current) = (candidate?, current?);
    let with_from = |r: ActionResult| ActionResult { from: current.clone(), ..r };
    let input = PromoteInput {
        candidate: candidate.as_ref().map(|m| m.digest.as_str()),
        source_id,
        current: current.as_deref(),
        target: &target,
        source: &source,
        source_name,
        soak,
        force: opts.force,
        now: ctx.now,
    };
    match decide_promote(&input) {
        Verdict::Blocked { reason, by, .. } => {
            // the build is in no column of a skipped line: name it once, in the reason
            let reason = match (&candidate, by) {
                (Some(m), BlockedBy::Rejected) => format!("build sha256:{} {reason}", digest12(&m.digest)),
                _ => reason,
            };
            Ok(with_from(ActionResult { reason: Some(reason), ..base }))
        }
        Verdict::UpToDate => {
            let manifest = candidate.as_ref().expect("up to date implies a candidate");
            let recorded = target.explains(digest12(&manifest.digest));
            let mut reason = "already there".to_string();
            if !recorded && !ctx.dry_run {
                // an interrupted run moved the channel but did not record it: record it now
                let note = ctx.note(None, "promote", format!("source id {source_id} (recorded by a later run)"), Some(source_id));
                let m = Move { variant: v, channel: &opts.channel, manifest, time: target.next_time(ctx.move_time()), rolled_back_from: None, note };
                moves::repair(ctx.registry, ctx.repo, ctx.fleet, &m).await?;
                reason = "already there; recorded the missing release tag".into();
            } else if crate::records::finish(ctx, v, &opts.channel, manifest, &target, "promote", Some(source_id)).await? {
                reason = "already there; attached the missing record".into();
            }
            Ok(with_from(ActionResult { to: current.clone(), reason: Some(reason), ..result(v, Some(&opts.channel), Action::Unchanged) }))
        }
        Verdict::Move { to } => {
            if !as_expected(&target, current.as_deref()) {
                return Ok(with_from(ActionResult {
                    to: Some(to),
                    reason: Some("the channel moved since its history was read (a concurrent or manual change); not overwritten".into()),
                    ..result(v, Some(&opts.channel), Action::Conflict)
                }));
            }
            let moved = ActionResult { to: Some(to.clone()), ..result(v, Some(&opts.channel), Action::Moved) };
            if ctx.dry_run {
                return Ok(with_from(ActionResult { reason: Some("dry run: would move".into()), ..moved }));
            }
            let manifest = candidate.as_ref().expect("a move implies a candidate");
            let note = ctx.note(current.as_deref(), if opts.force { "forced-promote" } else { "promote" }, why_promoted(ctx, &source, source_name, soak, &to, opts.force), Some(source_id));
            let m = Move { variant: v, channel: &opts.channel, manifest, time: target.next_time(ctx.move_time()), rolled_back_from: None, note };
            Ok(with_from(match moves::apply(ctx.registry, ctx.repo, ctx.fleet, &m).await? {
                MoveOutcome::Moved => ActionResult { reason: Some(format!("source id {source_id}")), ..moved },
                MoveOutcome::Conflict(now) => ActionResult {
                    reason: Some(format!("the channel was changed concurrently (now {}); left as the other writer set it", now.as_deref().unwrap_or("absent"))),
                    ..result(v, Some(&opts.channel), Action::Conflict)
                },
            }))
        }
    }
}

/// Why a promotion moved, for its record: forced, or how long it soaked on the source.
fn why_promoted<R: Registry>(ctx: &Ctx<'_, R>, source: &ChannelHistory, source_name: &str, soak: Duration, to: &str, force: bool) -> String {
    if force {
        return "forced (--force): soak and rejection checks skipped".into();
    }
    match source.first_arrival(digest12(to)) {
        Some(t) => format!("soak of {soak} met: on {source_name} for {}; not rejected", Duration((ctx.now - t).num_seconds().max(0) as u64)),
        None => format!("soak of {soak} met; not rejected"),
    }
}
