//! Carrying out a gc plan the way the registry's kind deletes ([`Registry::delete_rules`]):
//! children of deleted indexes first (ECR: indexes first), every digest through
//! [`Registry::delete_image`] (GHCR: a package version; GAR: its tags, then the digest); a
//! kind that cannot delete a tagged digest (Docker Hub) stops before anything is deleted.
//! The first delete is made alone: a refusal (405, 401/403) stops the run before any other.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use imgctl_core::gc::{self, DigestPlan, GcPlan};
use imgctl_core::rollout::Action;
use imgctl_registry::{Registry, RegistryError, TaggedDelete};

use crate::gc::{Counter, GcLine, GcReport, line};
use crate::{Ctx, EngineError};

/// Why deleting stopped, shared by the concurrent deletes.
#[derive(Default)]
struct Stop {
    stopped: AtomicBool,
    disabled: Mutex<Option<String>>,
    refused: Mutex<Option<RegistryError>>,
}

/// Deletes `plan.delete` (concurrently within each phase); refusals go to `report`.
pub(crate) async fn apply<R: Registry>(ctx: &Ctx<'_, R>, n: &Counter, plan: &GcPlan, report: &mut GcReport) -> Result<Vec<GcLine>, EngineError> {
    let rules = ctx.registry.delete_rules();
    if let TaggedDelete::Unsupported(reason) = &rules.tagged
        && plan.delete.iter().any(|d| !d.tags.is_empty())
    {
        let (registry, repository) = (ctx.fleet.manifest.registry.clone(), ctx.repo.to_owned());
        return Err(RegistryError::CleanupUnsupported { registry, repository, reason: reason.clone() }.into());
    }
    let is_child = |d: &DigestPlan| d.why.iter().any(|w| matches!(w, gc::Why::ChildOfDeleted(_)));
    ctx.progress.start(plan.delete.len());
    let stop = Stop::default();
    let mut out = Vec::new();
    let phases = if rules.parents_first { [false, true] } else { [true, false] };
    for phase in phases {
        let mut batch = plan.delete.iter().filter(|d| is_child(d) == phase);
        if out.is_empty()
            && let Some(first) = batch.next()
        {
            out.push(delete_one(ctx, n, first, &stop).await);
        }
        let stop = &stop;
        let lines: Vec<GcLine> = futures_util::stream::iter(batch).map(|d| delete_one(ctx, n, d, stop)).buffer_unordered(ctx.concurrency.max(1)).collect().await;
        out.extend(lines);
    }
    report.delete_disabled = stop.disabled.into_inner().unwrap_or_else(|p| p.into_inner());
    report.delete_refused = stop.refused.into_inner().unwrap_or_else(|p| p.into_inner());
    out.sort_by(|a, b| a.digest.cmp(&b.digest));
    Ok(out)
}

async fn delete_one<R: Registry>(ctx: &Ctx<'_, R>, n: &Counter, d: &DigestPlan, stop: &Stop) -> GcLine {
    if stop.stopped.load(Ordering::SeqCst) {
        let r = line(d, Action::Failed, "not attempted: the registry refused an earlier delete".into());
        ctx.progress.result(&r.result);
        return r;
    }
    n.delete.fetch_add(1, Ordering::Relaxed);
    let r = match ctx.registry.delete_image(ctx.repo, &d.digest, &d.tags).await {
        Ok(()) => line(d, Action::Deleted, d.reasons.join("; ")),
        Err(e) if e.is_not_found() => line(d, Action::Deleted, "already gone".into()),
        Err(RegistryError::Http { status: 405, target, .. }) => {
            stop.stopped.store(true, Ordering::SeqCst);
            let msg = format!(
                "delete manifests in {}/{}: the registry has deletes disabled (HTTP 405 Method Not Allowed; e.g. Docker Hub, GHCR without --registry-kind ghcr, or distribution without storage.delete.enabled); nothing more was attempted",
                target.registry, target.repository
            );
            stop.disabled.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(msg.clone());
            line(d, Action::Failed, msg)
        }
        Err(e) if e.is_access() => {
            stop.stopped.store(true, Ordering::SeqCst);
            let msg = format!("{e}; nothing more was attempted");
            stop.refused.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
            line(d, Action::Failed, msg)
        }
        Err(e) => line(d, Action::Failed, e.to_string()),
    };
    ctx.progress.result(&r.result);
    r
}
