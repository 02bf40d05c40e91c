//! Resolving a variant's promotion candidates (SPEC §9): its source ids along the
//! promoting branch's history, newest first, to the builds their immutable tags point at
//! — lazily, one request per candidate looked at, stopping as soon as the core's
//! decision is settled (usually after one or two).

use imgctl_core::history::VariantHistory;
use imgctl_core::manifest::Channel;
use imgctl_core::rollout::{Candidate, Decision, PromoteInput, decide, settled};
use imgctl_registry::{RawManifest, Registry, RegistryError};

use crate::{Ctx, moves};

/// How a candidate is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// GET the manifest (promote: its bytes are what the channel is moved to).
    Get,
    /// HEAD it (status: the digest is enough).
    Head,
}

/// Candidates resolved newest first, with the manifests read (`Read::Get`).
#[derive(Debug, Default)]
pub struct Resolved {
    /// The candidates looked at, newest first.
    pub candidates: Vec<Candidate>,
    /// The manifest of each (with `Read::Get` and a build), in the same order.
    pub manifests: Vec<Option<RawManifest>>,
}

impl Resolved {
    /// The manifest read for `digest`.
    pub fn manifest(&self, digest: &str) -> Option<&RawManifest> {
        self.manifests.iter().flatten().find(|m| m.digest == digest)
    }
}

/// Resolves `ids` (newest first) until `settled` says the prefix decides. A source id
/// with no immutable tag in the listing costs nothing; one whose tag vanished since the
/// listing reads as "no build".
pub async fn resolve<R: Registry>(
    ctx: &Ctx<'_, R>,
    vh: &VariantHistory,
    ids: &[String],
    read: Read,
    settled: impl Fn(&[Candidate]) -> bool,
) -> Result<Resolved, RegistryError> {
    let mut out = Resolved::default();
    for id in ids {
        let (digest, manifest) = match vh.immutable.get(id) {
            None => (None, None),
            Some(tag) => match read {
                Read::Head => (moves::current(ctx.registry, ctx.repo, tag).await?, None),
                Read::Get => match ctx.registry.get_manifest(ctx.repo, tag).await {
                    Ok(m) => (Some(m.digest.clone()), Some(m)),
                    Err(e) if e.is_not_found() => (None, None),
                    Err(e) => return Err(e),
                },
            },
        };
        out.candidates.push(Candidate { source_id: id.clone(), digest });
        out.manifests.push(manifest);
        if settled(&out.candidates) {
            break;
        }
    }
    Ok(out)
}

/// The decision for channel `name` (`c`) of a variant with history `vh`, candidates `ids`
/// and the channel at `current`: candidates read (`read`) newest first until the decision
/// is settled, then decided (`promote` and `status` alike).
#[allow(clippy::too_many_arguments)]
pub async fn decide_channel<R: Registry>(
    ctx: &Ctx<'_, R>,
    vh: &VariantHistory,
    name: &str,
    c: &Channel,
    ids: &[String],
    current: Option<&str>,
    force: bool,
    read: Read,
) -> Result<(Resolved, Decision), RegistryError> {
    let source_name = c.promotes_from.clone().unwrap_or_default();
    let (target, source) = (vh.channel(name), vh.channel(&source_name));
    let base = PromoteInput {
        candidates: &[],
        current,
        target: &target,
        source: &source,
        source_name: &source_name,
        soak: c.soak.unwrap_or_default(),
        new_variants: c.new_variants.unwrap_or_default(),
        force,
        now: ctx.now,
    };
    let resolved = resolve(ctx, vh, ids, read, |cands| settled(&PromoteInput { candidates: cands, ..base.clone() })).await?;
    let decision = decide(&PromoteInput { candidates: &resolved.candidates, ..base.clone() });
    Ok((resolved, decision))
}
