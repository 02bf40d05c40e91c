//! After a run's moves, one more tag listing (one request per command) shows moves
//! that other writers recorded meanwhile. Registries have no compare-and-swap, so two
//! writers can both pass their pre-PUT check within a few milliseconds of each other;
//! every move of ours that raced with another writer's move of the same channel is
//! reported as a conflict, saying where the channel ended up (one HEAD each). A short
//! settle time first lets a racing writer's release tag land.

use std::time::Duration;

use imgctl_core::history::{RepoHistory, digest12};
use imgctl_core::rollout::{Action, ActionResult};
use imgctl_registry::Registry;

use crate::{Ctx, EngineError, moves};

/// How long to let racing writers record their moves before the re-check listing.
pub const SETTLE: Duration = Duration::from_millis(50);

/// Turns `moved` results that raced with a concurrent move into conflicts.
pub async fn recheck<R: Registry>(ctx: &Ctx<'_, R>, before: &RepoHistory, results: &mut [ActionResult]) -> Result<(), EngineError> {
    if ctx.dry_run || !results.iter().any(|r| r.action == Action::Moved) {
        return Ok(());
    }
    tokio::time::sleep(SETTLE).await;
    let after = ctx.snapshot().await?;
    for r in results.iter_mut().filter(|r| r.action == Action::Moved) {
        let (Some(channel), Some(to)) = (r.channel.clone(), r.to.clone()) else { continue };
        let old = before.variant(&r.variant).channel(&channel);
        let new = after.variant(&r.variant).channel(&channel);
        let Some(other) = new.moves.iter().find(|m| m.digest12 != digest12(&to) && !old.moves.iter().any(|o| o.tag == m.tag)) else {
            continue;
        };
        let Some(v) = ctx.fleet.variant(&r.variant) else { continue };
        let tag = ctx.fleet.channel_tag(v, &channel).unwrap_or_default();
        let now = moves::current(ctx.registry, ctx.repo, &tag).await?;
        r.action = Action::Conflict;
        r.reason = Some(if now.as_deref() == Some(to.as_str()) {
            format!("raced with a concurrent move to sha256:{} ({}); the channel ended at ours", other.digest12, other.tag)
        } else {
            format!("moved, then overwritten by a concurrent move to {}; left as the other writer set it", now.as_deref().unwrap_or("nothing"))
        });
    }
    Ok(())
}
