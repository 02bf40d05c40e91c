//! `rollback`: move a channel back to the previous distinct non-rejected digest of its
//! history (or `--to`), recording the digest rolled back from as rejected (SPEC §4, §5).
//! 5 manifest requests: HEAD current, GET target, PUT channel, HEAD verify, PUT release.
//! Every kill point is resumed by running it again (docs/HARDENING.md).

use imgctl_core::fleet::Variant;
use imgctl_core::history::{ChannelHistory, digest12};
use imgctl_core::rollout::{Action, ActionResult};
use imgctl_registry::{RawManifest, Registry};

use crate::mirror::Follow;
use crate::moves::{self, Move, MoveOutcome, as_expected};
use crate::{Ctx, EngineError, result};

/// Where to roll back to.
#[derive(Debug, Clone)]
pub enum Target {
    /// The previous distinct, non-rejected digest of the channel's history.
    Previous,
    /// A whole digest (`sha256:` + 64 hex), the `sha256:` + 12 (or more) hex digits that
    /// release tags and tables show, or a tag of the repository.
    To(String),
}

/// The hex digits of `sha256:` + 12 to 63 hex digits: a digest given in short form.
fn digest_prefix(r: &str) -> Option<&str> {
    let hex = r.strip_prefix("sha256:")?;
    (hex.len() >= 12 && hex.len() < 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then_some(hex)
}

/// Rolls `channel` of `v` back, then every mirror after it: the primary's row first,
/// then one row per mirror. Resumable (docs/HARDENING.md): a channel already at the
/// target whose release tag is missing (a run stopped between the two PUTs) gets its
/// alias tags, release tag (with the rejection), record and lifecycle mark; a rollback
/// that has its release tag but not its record or mark gets those.
pub async fn rollback<R: Registry>(ctx: &Ctx<'_, R>, v: &Variant, channel: &str, target: &Target) -> Result<Vec<ActionResult>, EngineError> {
    if !ctx.fleet.manifest.channels.contains_key(channel) {
        return Err(EngineError::Input(format!("find channel '{channel}' in the manifest")));
    }
    let snapshot = ctx.snapshot().await?;
    let history = snapshot.variant(&v.name).channel(channel);
    let channel_tag = ctx.fleet.channel_tag(v, channel).unwrap_or_default();
    let current = moves::current(ctx.registry, ctx.repo, &channel_tag).await?;
    let base = |action| ActionResult { from: current.clone(), ..result(v, Some(channel), action) };
    let Some(current_digest) = current.clone() else {
        return Err(EngineError::Input(format!("roll back '{channel_tag}': the tag does not exist")));
    };
    // not where its newest move put it: an interrupted rollback when the channel is at that
    // rollback's target (resumed below), else a concurrent or manual change
    let explained = as_expected(&history, Some(&current_digest));
    let conflict = || {
        Ok(vec![ActionResult {
            reason: Some("the channel moved since its history was read (a concurrent or manual change); not overwritten".into()),
            ..base(Action::Conflict)
        }])
    };
    let reference = match target {
        Target::To(r) => match digest_prefix(r) {
            // a prefix: the release tag of a move of this variant to that digest
            Some(prefix) => {
                let vh = snapshot.variant(&v.name);
                let found = vh.channels.values().flat_map(|h| h.moves.iter()).find(|m| prefix.starts_with(&m.digest12) || m.digest12.starts_with(prefix));
                match found {
                    Some(m) => m.tag.clone(),
                    None => {
                        return Err(EngineError::Input(format!(
                            "roll back '{channel_tag}' to '{r}': no move of {} names that digest in its history; give the whole digest (sha256: and 64 hex digits) or a tag",
                            v.name
                        )));
                    }
                }
            }
            None => r.clone(),
        },
        Target::Previous => {
            if history.moves.is_empty() {
                return Err(EngineError::Input(format!(
                    "roll back '{channel_tag}': it has no history (no release tags); use --to DIGEST|TAG"
                )));
            }
            if explained && let Some(done) = complete_newest(ctx, v, channel, &history, &current_digest).await? {
                ctx.progress.result(&done);
                let f = Follow::at(v, channel, current_digest.clone(), &history);
                return Ok(with_mirrors(ctx, done, &f).await);
            }
            let from12 = match (explained, history.newest()) {
                (false, Some(newest)) => newest.digest12.clone(),
                _ => digest12(&current_digest).to_string(),
            };
            match history.rollback_target(&from12) {
                Some(m) if explained || m.digest12 == digest12(&current_digest) => m.tag.clone(),
                _ if !explained => return conflict(),
                _ => {
                    return Err(EngineError::Input(format!(
                        "roll back '{channel_tag}': no earlier non-rejected digest in its history; use --to DIGEST|TAG"
                    )));
                }
            }
        }
    };
    let manifest = ctx.registry.get_manifest(ctx.repo, &reference).await.map_err(|e| {
        if e.is_not_found() { EngineError::Input(format!("roll back to '{reference}': not found in {}", ctx.repo)) } else { e.into() }
    })?;
    let wanted = match target {
        Target::To(r) => digest_prefix(r),
        Target::Previous => None,
    };
    if let Some(prefix) = wanted
        && !manifest.digest.starts_with(&format!("sha256:{prefix}"))
    {
        return Err(EngineError::Input(format!("roll back to 'sha256:{prefix}': the release tag {reference} points at {} instead", manifest.digest)));
    }
    if !explained {
        return match history.newest() {
            Some(newest) if manifest.digest == current_digest => resume(ctx, v, channel, &history, &manifest, newest, base(Action::Unchanged)).await,
            _ => conflict(),
        };
    }
    if manifest.digest == current_digest {
        let kind = if ctx.fleet.manifest.channels.get(channel).is_some_and(|c| c.promotes_from.is_some()) { "promote" } else { "publish" };
        let reason = match crate::records::finish(ctx, v, channel, &manifest, &history, kind, None).await? {
            true => "already there; attached the missing record or lifecycle mark",
            false => "already there",
        };
        let r = ActionResult { to: Some(manifest.digest.clone()), reason: Some(reason.into()), ..base(Action::Unchanged) };
        let f = Follow { manifest: Some(&manifest), ..Follow::at(v, channel, current_digest.clone(), &history) };
        return Ok(with_mirrors(ctx, r, &f).await);
    }
    let moved = ActionResult { to: Some(manifest.digest.clone()), ..base(Action::Moved) };
    if ctx.dry_run {
        let r = ActionResult { reason: Some(format!("dry run: would roll back and reject {current_digest}")), ..moved };
        let m = Move { variant: v, channel, manifest: &manifest, time: history.next_time(ctx.move_time()), rolled_back_from: Some(&current_digest), note: None };
        return Ok(with_mirrors(ctx, r, &Follow::moved(&m, Some(current_digest.clone()))).await);
    }
    let note = ctx.note(Some(&current_digest), "rollback", format!("rolled back from {current_digest}, which is rejected"), None);
    let m = Move { variant: v, channel, manifest: &manifest, time: history.next_time(ctx.move_time()), rolled_back_from: Some(&current_digest), note };
    let outcome = moves::apply(ctx.registry, ctx.repo, ctx.fleet, &m).await?;
    let r = match outcome {
        MoveOutcome::Moved => ActionResult { reason: Some(format!("rolled back; sha256:{} is rejected", digest12(&current_digest))), ..moved },
        MoveOutcome::Conflict(now) => ActionResult {
            reason: Some(format!("the channel was changed concurrently (now {}); left as the other writer set it", now.as_deref().unwrap_or("absent"))),
            ..base(Action::Conflict)
        },
    };
    let mut results = [r];
    crate::recheck::recheck(ctx, &snapshot, &mut results).await?;
    let [r] = results;
    ctx.progress.result(&r);
    if r.action != Action::Moved {
        return Ok(vec![r]);
    }
    Ok(with_mirrors(ctx, r, &Follow::moved(&m, Some(current_digest.clone()))).await)
}

/// With records on: when the channel's newest move is a rollback to where it points and
/// that rollback lacks its record or lifecycle mark (a run stopped after its release tag),
/// attaches them and returns the row — instead of rolling back one more step.
async fn complete_newest<R: Registry>(ctx: &Ctx<'_, R>, v: &Variant, channel: &str, history: &ChannelHistory, current: &str) -> Result<Option<ActionResult>, EngineError> {
    let newest_is_rollback = history.newest().is_some_and(|m| m.rolled_back_from.is_some() && m.digest12 == digest12(current));
    if ctx.records.is_none() || ctx.dry_run || !newest_is_rollback {
        return Ok(None);
    }
    let manifest = ctx.registry.get_manifest(ctx.repo, current).await?;
    if !crate::records::finish(ctx, v, channel, &manifest, history, "rollback", None).await? {
        return Ok(None);
    }
    let reason = "the channel's newest move, a rollback, lacked its record or lifecycle mark (an interrupted run): attached them; run again to roll back further";
    Ok(Some(ActionResult { from: Some(current.to_string()), to: Some(current.to_string()), reason: Some(reason.into()), ..result(v, Some(channel), Action::Unchanged) }))
}

/// Finishes a rollback a stopped run made as far as the channel (and maybe some alias
/// tags): alias tags, the release tag rejecting `newest`'s digest, its record and mark.
async fn resume<R: Registry>(
    ctx: &Ctx<'_, R>,
    v: &Variant,
    channel: &str,
    history: &ChannelHistory,
    manifest: &RawManifest,
    newest: &imgctl_core::history::Move,
    row: ActionResult,
) -> Result<Vec<ActionResult>, EngineError> {
    let from = crate::records::whole_digest(ctx.registry, ctx.repo, history, &newest.digest12)
        .await?
        .ok_or_else(|| EngineError::Input(format!("resume the rollback of {}: the release tag {} is gone", v.name, newest.tag)))?;
    let time = history.next_time(ctx.move_time());
    let note = ctx.note(Some(&from), "rollback", format!("rolled back from {from}, which is rejected (recorded by a later run)"), None);
    let m = Move { variant: v, channel, manifest, time, rolled_back_from: Some(&from), note };
    let what = format!("the release tag of an interrupted rollback: sha256:{} is rejected", newest.digest12);
    let reason = if ctx.dry_run { format!("dry run: already there; would record {what}") } else { format!("already there; recorded {what}") };
    if !ctx.dry_run {
        moves::repair(ctx.registry, ctx.repo, ctx.fleet, &m).await?;
    }
    let r = ActionResult { to: Some(manifest.digest.clone()), reason: Some(reason), ..row };
    ctx.progress.result(&r);
    Ok(with_mirrors(ctx, r, &Follow::moved(&m, Some(from.clone()))).await)
}

/// The primary's row `r`, then the rows of the mirrors following `f`.
async fn with_mirrors<R: Registry>(ctx: &Ctx<'_, R>, r: ActionResult, f: &Follow<'_>) -> Vec<ActionResult> {
    let mut rows = vec![r];
    rows.extend(crate::mirror::follow(ctx, f, &Default::default()).await);
    rows
}
