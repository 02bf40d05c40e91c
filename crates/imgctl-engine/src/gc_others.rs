//! gc of everything else imgctl writes (docs/GC.md): after the primary repository, its
//! verification records (`{repository}/verifications`, planned by
//! `imgctl_core::gc::plan_records`: one listing, one HEAD per record, one DELETE per record
//! that goes), then every mirror, collected by the same rules from its own tags plus what the
//! primary keeps (what the primary protects, each mirror protects). A mirror's failure is its
//! own `failed` line (with `mirror` set) and never stops the run.

use std::collections::{BTreeMap, BTreeSet};

use imgctl_core::gc::{self, DigestPlan};
use imgctl_core::rollout::Action;
use imgctl_core::tags::TagIndex;
use imgctl_registry::Registry;

use crate::gc::{GcArgs, GcReport, line};
use crate::{Ctx, EngineError};

/// Collects the verification records of `ctx.repo` against its tags `tags` (tag → digest)
/// and the digests `gone` (deleted by this gc); lines go to `report`.
pub(crate) async fn verifications<R: Registry>(ctx: &Ctx<'_, R>, tags: &BTreeMap<String, String>, gone: &BTreeSet<String>, report: &mut GcReport) -> Result<(), EngineError> {
    let repo = crate::verify::records_repo(ctx.repo);
    let listed = match ctx.registry.list_tags(&repo).await {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    report.requests.list += 1;
    let index = TagIndex::new(ctx.fleet);
    for p in gc::plan_records(ctx.fleet, &index, tags, gone, &listed) {
        report.requests.head += 1;
        let digest = match ctx.registry.resolve(&repo, &p.tag).await {
            Ok(d) => d.digest,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        let d = DigestPlan { digest: digest.clone(), variants: p.variant.into_iter().collect(), tags: vec![p.tag.clone()], reasons: vec![p.reason.clone()], why: Vec::new() };
        let l = match (p.delete, ctx.dry_run) {
            (false, _) => line(&d, Action::Kept, p.reason),
            (true, true) => line(&d, Action::Deleted, format!("dry run: would delete: {}", p.reason)),
            (true, false) => {
                report.requests.delete += 1;
                match ctx.registry.delete_image(&repo, &digest, &d.tags).await {
                    Ok(()) => line(&d, Action::Deleted, p.reason),
                    Err(e) if e.is_not_found() => line(&d, Action::Deleted, "already gone".into()),
                    Err(e) => line(&d, Action::Failed, e.to_string()),
                }
            }
        };
        report.results.push(l);
    }
    Ok(())
}

/// Collects every mirror of `ctx` like the primary, also keeping the digests the primary
/// keeps (`kept`); its lines (and request counts) go to `report`.
pub(crate) async fn mirrors<R: Registry>(ctx: &Ctx<'_, R>, args: GcArgs, pins: &gc::Pins, kept: &BTreeSet<String>, report: &mut GcReport) {
    for m in ctx.mirrors {
        let failed = |reason: String| {
            let mut l = line(&DigestPlan { digest: "-".into(), variants: Vec::new(), tags: Vec::new(), reasons: Vec::new(), why: Vec::new() }, Action::Failed, reason);
            l.result.mirror = Some(m.name.clone());
            l
        };
        if let Some(why) = m.down() {
            report.results.push(failed(format!("mirror unreachable earlier in this run: {why}")));
            continue;
        }
        let mctx = Ctx { registry: m.registry, repo: &m.repo, mirrors: &[], ..*ctx };
        let mpins = gc::Pins { primary: kept.clone(), ..pins.clone() };
        match crate::gc::collect(&mctx, args, &mpins).await {
            Ok(c) => {
                let r = c.report;
                report.results.extend(r.results.into_iter().map(|mut l| {
                    l.result.mirror = Some(m.name.clone());
                    l
                }));
                let (q, mq) = (&mut report.requests, &r.requests);
                (q.list, q.head, q.get, q.delete) = (q.list + mq.list, q.head + mq.head, q.get + mq.get, q.delete + mq.delete);
                report.remaining_deletes += r.remaining_deletes;
            }
            Err(e) => {
                if let EngineError::Registry(re) = &e {
                    m.set_down(&re.to_string());
                }
                report.results.push(failed(e.to_string()));
            }
        }
    }
}
