//! SBOMs on mirrors (docs/MIRRORS.md, docs/CHANGES.md): when a mirror gets a build, it gets
//! the build's SBOM referrer too — the artifact manifest byte for byte (so its digest, and a
//! signature over its statement, are the same) and its blobs, attached to the same subject
//! through the mirror's referrers (API, else the `sha256-<hex>` index). Per image manifest:
//! one referrers listing on the primary and one on the mirror; the copy only when the
//! mirror lacks it.

use imgctl_records::artifact::Artifact;
use imgctl_registry::referrers::{self, Attachment};
use imgctl_registry::{RawManifest, Registry, RegistryError};
use serde_json::Value;

use crate::Ctx;
use crate::mirror::{LocalBlobs, Mirror, copy_blob};

fn sboms(entries: &[Value]) -> Vec<&Value> {
    entries.iter().filter(|e| crate::sbom::is_sbom_entry(e)).collect()
}

/// The image manifests of `build` (itself, or an index's children).
fn images(build: &RawManifest) -> Result<Vec<String>, RegistryError> {
    let Some(idx) = build.index().map_err(|reason| RegistryError::InvalidReference { reference: build.digest.clone(), reason })? else {
        return Ok(vec![build.digest.clone()]);
    };
    Ok(idx.manifests.iter().map(|m| m.digest.clone()).collect())
}

/// Copies the SBOM referrers of `build`'s image manifests from the primary to mirror `m`
/// where the mirror lacks them. Returns how many were attached.
pub async fn copy<R: Registry>(ctx: &Ctx<'_, R>, m: &Mirror<'_, R>, build: &RawManifest) -> Result<usize, RegistryError> {
    let mut attached = 0;
    for subject in images(build)? {
        let primary = referrers::list(ctx.registry, ctx.repo, &subject).await?;
        let wanted = sboms(&primary);
        if wanted.is_empty() {
            continue;
        }
        let there = referrers::list(m.registry, &m.repo, &subject).await?;
        for entry in wanted {
            let Some(digest) = entry.get("digest").and_then(Value::as_str) else { continue };
            if there.iter().any(|e| e.get("digest").and_then(Value::as_str) == Some(digest)) {
                continue;
            }
            let manifest = ctx.registry.get_manifest(ctx.repo, digest).await?;
            let artifact = Artifact::parse(&manifest.bytes).map_err(|e| RegistryError::InvalidReference { reference: digest.to_string(), reason: e.to_string() })?;
            for b in std::iter::once(&artifact.config).chain(&artifact.layers) {
                copy_blob(ctx, m, &b.digest, b.size, &LocalBlobs::new()).await?;
            }
            let a = Attachment { manifest, blobs: Vec::new(), entry: entry.clone() };
            referrers::attach(m.registry, &m.repo, &subject, &a, ctx.records.map_or(crate::records::SETTLE, |r| r.settle)).await?;
            attached += 1;
        }
    }
    Ok(attached)
}
