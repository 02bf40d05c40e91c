//! After a run's moves, one more tag listing (one request per command) shows moves
//! that others recorded meanwhile; a channel we moved that someone else also moved is
//! looked at once more (HEAD), and if it no longer points where we put it, our result
//! becomes a conflict. This narrows the window a registry without compare-and-swap
//! leaves open to the few milliseconds between a writer's check and its PUT.

use imgctl_core::history::{RepoHistory, digest12};
use imgctl_core::rollout::{Action, ActionResult};
use imgctl_registry::Registry;

use crate::{Ctx, EngineError, moves};

/// Turns `moved` results that were overwritten concurrently into conflicts.
pub async fn recheck<R: Registry>(ctx: &Ctx<'_, R>, before: &RepoHistory, results: &mut [ActionResult]) -> Result<(), EngineError> {
    if ctx.dry_run || !results.iter().any(|r| r.action == Action::Moved) {
        return Ok(());
    }
    let after = ctx.snapshot().await?;
    for r in results.iter_mut().filter(|r| r.action == Action::Moved) {
        let (Some(channel), Some(to)) = (r.channel.clone(), r.to.clone()) else { continue };
        let old = before.variant(&r.variant).channel(&channel);
        let new = after.variant(&r.variant).channel(&channel);
        let foreign = new.moves.iter().any(|m| m.digest12 != digest12(&to) && !old.moves.iter().any(|o| o.tag == m.tag));
        if !foreign {
            continue;
        }
        let Some(v) = ctx.fleet.variant(&r.variant) else { continue };
        let tag = ctx.fleet.channel_tag(v, &channel).unwrap_or_default();
        let now = moves::current(ctx.registry, ctx.repo, &tag).await?;
        if now.as_deref() != Some(to.as_str()) {
            r.action = Action::Conflict;
            r.reason = Some(format!(
                "moved, then overwritten by a concurrent move to {}; left as the other writer set it",
                now.as_deref().unwrap_or("nothing")
            ));
        }
    }
    Ok(())
}
