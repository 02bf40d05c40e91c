//! `promote`: move each variant's promoted channel (`latest`) to the build of its
//! source id at a revision — only built, soaked, non-rejected digests (SPEC §4, §5).
//! At most 5 manifest requests per variant (SPEC §6).

use futures_util::StreamExt;
use imgctl_core::duration::Duration;
use imgctl_core::fleet::Variant;
use imgctl_core::history::{RepoHistory, digest12};
use imgctl_core::rollout::{Action, ActionResult, BlockedBy, PromoteInput, Verdict, decide_promote};
use imgctl_registry::{RawManifest, Registry, RegistryError};

use crate::mirror::Follow;
use crate::moves::{self, Move, MoveOutcome, as_expected};
use crate::{Ctx, EngineError, SourceIds, result};

/// What to promote.
#[derive(Debug, Clone)]
pub struct PromoteOptions {
    /// The channel to move (one with `promotesFrom`).
    pub channel: String,
    /// Skip soak and rejection.
    pub force: bool,
    /// Do not run the channel's verification gate (only with `force`).
    pub skip_verify: bool,
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
    let mut results: Vec<(usize, ActionResult, Vec<ActionResult>)> = futures_util::stream::iter(variants.iter().enumerate())
        .map(|(i, v)| {
            let (history, source_name) = (&history, source_name.as_str());
            async move {
                let (r, follow) = match one(ctx, v, ids.get(&v.name).map(String::as_str), history, opts, source_name, soak).await {
                    Ok(r) => r,
                    Err(e) => (ActionResult { reason: Some(e.to_string()), ..result(v, Some(&opts.channel), Action::Failed) }, None),
                };
                ctx.progress.result(&r);
                // the mirrors follow where the primary's channel is now
                let mirrored = match follow {
                    Some(f) => crate::mirror::follow(ctx, &f.follow(v, &opts.channel, history), &Default::default()).await,
                    None => Vec::new(),
                };
                (i, r, mirrored)
            }
        })
        .buffer_unordered(ctx.concurrency.max(1))
        .collect()
        .await;
    results.sort_by_key(|(i, ..)| *i);
    let mut mirrored = Vec::new();
    let mut primary: Vec<ActionResult> = results
        .into_iter()
        .map(|(_, r, m)| {
            mirrored.extend(m);
            r
        })
        .collect();
    crate::recheck::recheck(ctx, &history, &mut primary).await?;
    primary.extend(mirrored);
    Ok(primary)
}

/// What the mirrors follow after the primary's step for one variant.
enum Next {
    /// The primary moved (or recorded) now.
    Moved { manifest: RawManifest, time: chrono::DateTime<chrono::Utc>, before: Option<String> },
    /// The primary's channel stays at this digest.
    At(String),
}

impl Next {
    fn follow<'f>(&'f self, v: &'f Variant, channel: &'f str, history: &RepoHistory) -> Follow<'f> {
        match self {
            Next::Moved { manifest, time, before } => {
                Follow::moved(&Move { variant: v, channel, manifest, time: *time, rolled_back_from: None }, before.clone())
            }
            Next::At(d) => Follow::at(v, channel, d.clone(), &history.variant(&v.name).channel(channel)),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn one<R: Registry>(
    ctx: &Ctx<'_, R>,
    v: &Variant,
    source_id: Option<&str>,
    history: &RepoHistory,
    opts: &PromoteOptions,
    source_name: &str,
    soak: Duration,
) -> Result<(ActionResult, Option<Next>), RegistryError> {
    let base = result(v, Some(&opts.channel), Action::Skipped);
    let Some(source_id) = source_id else {
        return Ok((ActionResult { reason: Some("no source id at the revision (variant not in its manifest)".into()), ..base }, None));
    };
    let vh = history.variant(&v.name);
    let target = vh.channel(&opts.channel);
    let source = vh.channel(source_name);
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
    let stays = current.clone().map(Next::At);
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
            Ok((with_from(ActionResult { reason: Some(reason), ..base }), stays))
        }
        Verdict::UpToDate => {
            let manifest = candidate.expect("up to date implies a candidate");
            let recorded = target.explains(digest12(&manifest.digest));
            let mut reason = "already there".to_string();
            let mut next = stays;
            if !recorded && !ctx.dry_run {
                // an interrupted run moved the channel but did not record it: record it now
                let time = target.next_time(ctx.move_time());
                let m = Move { variant: v, channel: &opts.channel, manifest: &manifest, time, rolled_back_from: None };
                moves::repair(ctx.registry, ctx.repo, ctx.fleet, &m).await?;
                reason = "already there; recorded the missing release tag".into();
                next = Some(Next::Moved { manifest: manifest.clone(), time, before: current.clone() });
            }
            Ok((with_from(ActionResult { to: current.clone(), reason: Some(reason), ..result(v, Some(&opts.channel), Action::Unchanged) }), next))
        }
        Verdict::Move { to } => {
            if !as_expected(&target, current.as_deref()) {
                return Ok((
                    with_from(ActionResult {
                        to: Some(to),
                        reason: Some("the channel moved since its history was read (a concurrent or manual change); not overwritten".into()),
                        ..result(v, Some(&opts.channel), Action::Conflict)
                    }),
                    None,
                ));
            }
            let moved = ActionResult { to: Some(to.clone()), ..result(v, Some(&opts.channel), Action::Moved) };
            let gate = crate::verify::gate_for(ctx.fleet, v, &opts.channel).filter(|_| !opts.skip_verify);
            if ctx.dry_run {
                let reason = if gate.is_some() { "dry run: would verify, then move" } else { "dry run: would move" };
                return Ok((with_from(ActionResult { reason: Some(reason.into()), ..moved }), stays));
            }
            if let Some(gate) = gate
                && let Some(skipped) = verify(ctx, gate, v, &opts.channel, &to).await?
            {
                return Ok((with_from(ActionResult { to: Some(to), ..skipped }), stays));
            }
            let manifest = candidate.expect("a move implies a candidate");
            let time = target.next_time(ctx.move_time());
            let m = Move { variant: v, channel: &opts.channel, manifest: &manifest, time, rolled_back_from: None };
            Ok(match moves::apply(ctx.registry, ctx.repo, ctx.fleet, &m).await? {
                MoveOutcome::Moved => (
                    with_from(ActionResult { reason: Some(format!("source id {source_id}")), ..moved }),
                    Some(Next::Moved { manifest: manifest.clone(), time, before: current.clone() }),
                ),
                MoveOutcome::Conflict(now) => (
                    with_from(ActionResult {
                        reason: Some(format!("the channel was changed concurrently (now {}); left as the other writer set it", now.as_deref().unwrap_or("absent"))),
                        ..result(v, Some(&opts.channel), Action::Conflict)
                    }),
                    None,
                ),
            })
        }
    }
}

/// Runs `gate` for the candidate `digest`: `None` when it passed, else the skipped row
/// (the failure recorded in the registry for `status`).
async fn verify<R: Registry>(ctx: &Ctx<'_, R>, gate: &imgctl_core::manifest::Verify, v: &Variant, channel: &str, digest: &str) -> Result<Option<ActionResult>, RegistryError> {
    let skipped = |reason: String| ActionResult { reason: Some(reason), blocked_by: Some(BlockedBy::Verification), ..result(v, Some(channel), Action::Skipped) };
    let Some(runner) = ctx.gate else {
        return Ok(Some(skipped("verification failed: no verifier to run the channel's verify command".into())));
    };
    let outcome = runner.run(gate, v, channel, ctx.repo, digest).await;
    if outcome.passed {
        return Ok(None);
    }
    let tail = crate::verify::last_lines(&outcome.tail, crate::verify::TAIL_LINES);
    let failure = crate::verify::Failure { time: ctx.move_time(), result: outcome.result.clone(), tail: tail.clone() };
    crate::verify::record(ctx.registry, ctx.repo, ctx.fleet, v, channel, digest, &failure).await?;
    Ok(Some(skipped(format!("verification failed: {}: {}", outcome.result, crate::verify::tail_line(&tail)))))
}
