//! `promote`: move each variant's promoted channels to the newest soaked, non-rejected
//! build along the promoting branch's history (SPEC §4, §5, §9). With rings, every
//! channel of the chain in order, each judged on what its source held before the run
//! (one tag listing for all), so a build never skips a ring in one run. Per variant and
//! channel: HEAD current, GET of each candidate looked at (usually one: the tip's), PUT
//! channel, PUT release tag, HEAD verify (SPEC §6; docs/HISTORY.md).

use futures_util::StreamExt;
use imgctl_core::fleet::Variant;
use imgctl_core::history::{RepoHistory, digest12};
use imgctl_core::manifest::Channel;
use imgctl_core::tags::TagIndex;
use imgctl_core::rollout::{Action, ActionResult, BlockedBy, Decision, Verdict, Waiting, Why, why_text};
use imgctl_registry::{RawManifest, Registry, RegistryError};

use crate::candidates::{self, Read};
use crate::mirror::Follow;
use crate::moves::{self, Move, MoveOutcome, as_expected};
use crate::{Ctx, EngineError, Lineage, result};

/// How to promote.
#[derive(Debug, Clone, Default)]
pub struct PromoteOptions {
    /// Skip soak and rejection: move to the tip's build.
    pub force: bool,
    /// Do not run the channel's verification gate (only with `force`).
    pub skip_verify: bool,
}

/// One channel to advance: the variants and their candidates (source ids along the
/// channel's promoting branch, newest first).
#[derive(Debug, Clone)]
pub struct Step<'a> {
    /// The channel (one with `promotesFrom`).
    pub channel: String,
    /// The fleet at the channel's revision (its variants' tags and histories).
    pub fleet: &'a imgctl_core::Fleet,
    /// The variants to promote on it.
    pub variants: Vec<&'a Variant>,
    /// Their candidates.
    pub lineage: &'a Lineage,
}

/// The channel `promote` moves by default when there is one chain: the first with
/// `promotesFrom` (rings: see [`imgctl_core::chain`]).
pub fn default_channel(fleet: &imgctl_core::Fleet) -> Option<String> {
    fleet.manifest.channels.iter().find(|(_, c)| c.promotes_from.is_some()).map(|(n, _)| n.clone())
}

/// Advances `steps` in order (chain order for rings), all judged on one tag listing.
pub async fn promote<R: Registry>(ctx: &Ctx<'_, R>, steps: &[Step<'_>], opts: &PromoteOptions) -> Result<Vec<ActionResult>, EngineError> {
    let tags = ctx.list_tags().await?;
    let histories: Vec<RepoHistory> = steps.iter().map(|s| RepoHistory::from_tags(s.fleet, &TagIndex::new(s.fleet), &tags)).collect();
    if histories.iter().all(|h| h.variants.is_empty()) {
        // nothing of the fleet at all: a wrong registry or repository, not "all skipped"
        return Err(EngineError::Unpublished { repo: ctx.repo.to_string(), tags: tags.len() });
    }
    ctx.progress.start(steps.iter().map(|s| s.variants.len()).sum());
    let mut out = Vec::new();
    let mut mirrored = Vec::new();
    for (step, history) in steps.iter().zip(histories) {
        let ctx = &ctx.with_fleet(step.fleet);
        let channel = channel_of(ctx, &step.channel)?;
        let mut results: Vec<(usize, ActionResult, Vec<ActionResult>)> = futures_util::stream::iter(step.variants.iter().enumerate())
            .map(|(i, v)| {
                let history = &history;
                async move {
                    let (r, follow) = match one(ctx, v, step, channel, history, opts).await {
                        Ok(r) => r,
                        Err(e) => (ActionResult { reason: Some(e.to_string()), ..result(v, Some(&step.channel), Action::Failed) }, None),
                    };
                    ctx.progress.result(&r);
                    // the mirrors follow where the primary's channel is now
                    let mirrored = match follow {
                        Some(f) => crate::mirror::follow(ctx, &f.follow(v, &step.channel, history), &Default::default()).await,
                        None => Vec::new(),
                    };
                    (i, r, mirrored)
                }
            })
            .buffer_unordered(ctx.concurrency.max(1))
            .collect()
            .await;
        results.sort_by_key(|(i, ..)| *i);
        let mut primary = Vec::new();
        for (_, r, m) in results {
            primary.push(r);
            mirrored.extend(m);
        }
        crate::recheck::recheck(ctx, &history, &mut primary).await?;
        out.extend(primary);
    }
    out.extend(mirrored);
    imgctl_core::eol::note_eol(ctx.fleet, ctx.now.date_naive(), &mut out);
    Ok(out)
}

/// The manifest's definition of `name`, checked to promote from another channel.
fn channel_of<'f, R: Registry>(ctx: &Ctx<'f, R>, name: &str) -> Result<&'f Channel, EngineError> {
    let c = ctx.fleet.manifest.channels.get(name).ok_or_else(|| EngineError::Input(format!("find channel '{name}' in the manifest")))?;
    if c.promotes_from.is_none() {
        return Err(EngineError::Input(format!("promote to channel '{name}': it has no promotesFrom")));
    }
    Ok(c)
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
                Follow::moved(&Move { variant: v, channel, manifest, time: *time, rolled_back_from: None, note: None }, before.clone())
            }
            Next::At(d) => Follow::at(v, channel, d.clone(), &history.variant(&v.name).channel(channel)),
        }
    }
}

type Row = (ActionResult, Option<Next>);

async fn one<R: Registry>(ctx: &Ctx<'_, R>, v: &Variant, step: &Step<'_>, c: &Channel, history: &RepoHistory, opts: &PromoteOptions) -> Result<Row, RegistryError> {
    let name = step.channel.as_str();
    let skipped = result(v, Some(name), Action::Skipped);
    // a retired variant is not promoted (SPEC §9): its row says so
    if let Some(date) = v.spec.retired {
        return Ok((ActionResult { reason: Some(imgctl_core::eol::retired_reason(date, ctx.now.date_naive())), ..skipped }, None));
    }
    let Some(ids) = step.lineage.get(&v.name).filter(|l| !l.is_empty()) else {
        return Ok((ActionResult { reason: Some("no source id at the revision (variant not in its manifest)".into()), ..skipped }, None));
    };
    let source_name = c.promotes_from.clone().unwrap_or_default();
    let vh = history.variant(&v.name);
    let target = vh.channel(name);
    let channel_tag = ctx.fleet.channel_tag(v, name).unwrap_or_default();
    let current = moves::current(ctx.registry, ctx.repo, &channel_tag).await?;
    let (resolved, Decision { verdict, newest }) = candidates::decide_channel(ctx, &vh, name, c, ids, current.as_deref(), opts.force, Read::Get).await?;
    let stays = current.clone().map(Next::At);
    let with_from = |r: ActionResult| ActionResult { from: current.clone(), ..r };
    match verdict {
        Verdict::Blocked(p) => Ok((with_from(ActionResult { reason: Some(skip_reason(ctx, v, c, &p)), ..skipped }), stays)),
        Verdict::UpToDate => {
            let Some(manifest) = current.as_deref().and_then(|d| resolved.manifest(d)).cloned() else {
                return Ok((with_from(ActionResult { to: current.clone(), reason: Some("already there".into()), ..result(v, Some(name), Action::Unchanged) }), stays));
            };
            let source_id = resolved.candidates[0].source_id.clone();
            let recorded = target.explains(digest12(&manifest.digest));
            let mut reason = "already there".to_string();
            let mut next = stays;
            if !recorded && !ctx.dry_run {
                // an interrupted run moved the channel but did not record it: record it now
                let time = target.next_time(ctx.move_time());
                let note = ctx.note(None, "promote", format!("source id {source_id} (recorded by a later run)"), Some(&source_id));
                let m = Move { variant: v, channel: name, manifest: &manifest, time, rolled_back_from: None, note };
                moves::repair(ctx.registry, ctx.repo, ctx.fleet, &m).await?;
                reason = "already there; recorded the missing release tag".into();
                next = Some(Next::Moved { manifest: manifest.clone(), time, before: current.clone() });
            } else if crate::records::finish(ctx, v, name, &manifest, &target, "promote", Some(&source_id)).await? {
                reason = "already there; attached the missing record".into();
            }
            Ok((with_from(ActionResult { to: current.clone(), reason: Some(reason), ..result(v, Some(name), Action::Unchanged) }), next))
        }
        Verdict::Move { to, source_id, why } => {
            let moved = ActionResult { to: Some(to.clone()), ..result(v, Some(name), Action::Moved) };
            if !as_expected(&target, current.as_deref()) {
                // at an earlier build of its own history with no move recorded: most likely a
                // rollback stopped before its release tag, which its rerun finishes
                let earlier = current.as_deref().is_some_and(|d| target.first_arrival(digest12(d)).is_some());
                let reason = if earlier {
                    format!("the channel is back at an earlier build with no move recorded (an interrupted rollback: rerun `imgctl rollback {} --channel {name}` to finish it; or a manual change); not overwritten", v.name)
                } else {
                    "the channel moved since its history was read (a concurrent or manual change); not overwritten".to_string()
                };
                return Ok((with_from(ActionResult { reason: Some(reason), action: Action::Conflict, ..moved }), None));
            }
            let why_text = why_text(why, &source_id, &source_name, c.soak.unwrap_or_default(), newest.as_ref());
            let gate = crate::verify::gate_for(ctx.fleet, v, name).filter(|_| !opts.skip_verify);
            if ctx.dry_run {
                let what = if gate.is_some() { "would verify, then move" } else { "would move" };
                return Ok((with_from(ActionResult { reason: Some(format!("dry run: {what}: {why_text}")), ..moved }), stays));
            }
            if let Some(gate) = gate
                && let Some(skipped) = crate::verify::run_gate(ctx, gate, v, name, &to).await
            {
                return Ok((with_from(ActionResult { to: Some(to), ..skipped }), stays));
            }
            let Some(manifest) = resolved.manifest(&to).cloned() else {
                return Ok((with_from(ActionResult { reason: Some(format!("read the build {to}: it vanished while promoting")), action: Action::Failed, ..moved }), stays));
            };
            let time = target.next_time(ctx.move_time());
            let kind = if why == Why::Forced { "forced-promote" } else { "promote" };
            let note = ctx.note(current.as_deref(), kind, why_text.clone(), Some(&source_id));
            let m = Move { variant: v, channel: name, manifest: &manifest, time, rolled_back_from: None, note };
            Ok(match moves::apply(ctx.registry, ctx.repo, ctx.fleet, &m).await? {
                MoveOutcome::Moved => (with_from(ActionResult { reason: Some(why_text), ..moved }), Some(Next::Moved { manifest, time, before: current.clone() })),
                MoveOutcome::Conflict(now) => {
                    let reason = format!("the channel was changed concurrently (now {}); left as the other writer set it", now.as_deref().unwrap_or("absent"));
                    (with_from(ActionResult { reason: Some(reason), action: Action::Conflict, ..moved }), None)
                }
            })
        }
    }
}

/// The reason of a skipped line: what holds the newest build back, named once, with when
/// it goes out on a scheduled channel.
fn skip_reason<R: Registry>(ctx: &Ctx<'_, R>, v: &Variant, c: &Channel, p: &Waiting) -> String {
    let Some(d) = &p.digest else { return p.reason.clone() };
    let build = format!("build sha256:{} (source id {})", digest12(d), p.source_id);
    let mut s = match p.blocked_by {
        Some(BlockedBy::Rejected) => format!("{build} {} (promote --variant {} --force)", p.reason, v.name),
        _ => format!("{build} {}", p.reason),
    };
    if let Some(out) = p.ready_at.and_then(|ready| imgctl_core::schedule::goes_out_on(c, Some(ready), ctx.now)) {
        s.push_str(&format!("; next promotion {}", imgctl_core::schedule::short_time(out)));
    }
    s
}

#[cfg(test)]
#[path = "promote_tests.rs"]
mod tests;
