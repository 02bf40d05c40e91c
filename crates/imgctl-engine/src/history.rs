//! `history`: a channel's moves from the one tag listing (which moves there were, and
//! when), each move's whole digest from a HEAD of its release tag — concurrent, bounded by
//! the concurrency limit. A release tag names only 12 hex digits of its digest; no other
//! tool can resolve those, so the whole digest is read from the registry.

use futures_util::StreamExt;
use imgctl_core::fleet::{Fleet, Variant};
use imgctl_core::history::{Move, VariantHistory, digest12};
use imgctl_registry::Registry;

use crate::{Ctx, EngineError};

/// One move with the whole digest its release tag points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedMove {
    /// The move as the release tag names it.
    pub mv: Move,
    /// `sha256:` + 64 hex: what the release tag points at.
    pub digest: String,
    /// The move went past a rule scheduled promotion keeps (soak, rejection), read from
    /// the histories in the listing (`imgctl_core::forced`, docs/HISTORY.md).
    pub forced: bool,
}

/// The moves of `channel` of `v`, oldest first, each with its whole digest. A release tag
/// deleted since the listing (a gc racing) is left out, with a warning.
pub async fn resolved_moves<R: Registry>(ctx: &Ctx<'_, R>, v: &Variant, channel: &str) -> Result<Vec<ResolvedMove>, EngineError> {
    let history = ctx.snapshot().await?;
    let got: Vec<Result<Option<ResolvedMove>, EngineError>> = futures_util::stream::iter(moves_of(ctx.fleet, &history.variant(&v.name), channel))
        .map(|(mv, forced)| async move {
            match ctx.registry.resolve(ctx.repo, &mv.tag).await {
                Ok(d) if digest12(&d.digest) == mv.digest12 => Ok(Some(ResolvedMove { digest: d.digest, mv, forced })),
                Ok(d) => Err(EngineError::Input(format!(
                    "read release tag {}: it names sha256:{} but points at {} (the tag was overwritten by hand; release tags never move)",
                    mv.tag, mv.digest12, d.digest
                ))),
                Err(e) if e.is_not_found() => {
                    tracing::warn!("release tag {} was deleted since the listing; left out", mv.tag);
                    Ok(None)
                }
                Err(e) => Err(e.into()),
            }
        })
        .buffered(ctx.concurrency.max(1))
        .collect()
        .await;
    let mut out = Vec::with_capacity(got.len());
    for g in got {
        out.extend(g?);
    }
    Ok(out)
}

/// The moves of `channel` in `vh` (one listing), oldest first, each with whether it was
/// forced (promote's rules replayed over the channel's and its source's histories).
pub fn moves_of(fleet: &Fleet, vh: &VariantHistory, channel: &str) -> Vec<(Move, bool)> {
    let target = vh.channel(channel);
    let rules = fleet.manifest.channels.get(channel);
    let source = rules.and_then(|c| c.promotes_from.as_deref()).map(|s| vh.channel(s));
    let soak = rules.and_then(|c| c.soak).unwrap_or_default();
    let new_immediate = rules.and_then(|c| c.new_variants).unwrap_or_default() == imgctl_core::manifest::NewVariants::Immediate;
    let forced = imgctl_core::forced::forced(&target, imgctl_core::forced::Rules { source: source.as_ref(), soak, new_immediate });
    target.moves.into_iter().zip(forced).collect()
}

/// The whole digest of `prefix` (`sha256:` and at least 12 hex digits) among `moves`.
pub fn complete_digest<'m>(moves: &'m [ResolvedMove], prefix: &str) -> Option<&'m str> {
    moves.iter().map(|m| m.digest.as_str()).find(|d| d.starts_with(prefix))
}
