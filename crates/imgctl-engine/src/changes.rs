//! What changed in a move from build A to build B (SPEC §9, docs/CHANGES.md): [`between`]
//! reads both manifests (sizes), both builds' SBOM referrers (packages, OS) — never a layer —
//! and each build's source id from its immutable tag; the source side (commits, files, the
//! Dockerfile's diff, own change or rebuilt for its base) comes from a [`SourceLookup`] the
//! caller implements over git (the engine reads no git). Cost: docs/CHANGES.md.

use imgctl_core::fleet::{Fleet, Variant};
use imgctl_core::history::VariantHistory;
use imgctl_inventory::Inventory;
use imgctl_records::changes::{Changes, OsChange, Packages, SizeChange, SourceChange};
use imgctl_registry::{RawManifest, Registry};
use serde::Deserialize;

use crate::EngineError;
use crate::platform::{self, Platform};

/// HEADs of immutable tags spent at most finding the source ids of two builds.
pub const MAX_ID_LOOKUPS: usize = 16;

/// The source side of builds, read from the manifest's git history (implemented by the
/// CLI over `imgctl-git`; the engine reads no git).
pub trait SourceLookup: Send + Sync + std::fmt::Debug {
    /// `variant`'s distinct source ids along the history the lookup reads, newest first
    /// (where the source id of a digest is looked for).
    fn candidates(&self, variant: &Variant) -> Vec<String>;
    /// The source side of a move of `variant` from source id `from` to `to` (commits, compare
    /// URL, files, the Dockerfile's diff, causes; notes for whatever is not known).
    fn source(&self, variant: &Variant, from: Option<&str>, to: Option<&str>) -> SourceChange;
}

/// One end of a move: a reference in the repository (a digest or a tag) and its source id
/// when the caller knows it.
#[derive(Debug, Clone, Copy)]
pub struct End<'a> {
    /// `sha256:…` or a tag.
    pub reference: &'a str,
    /// The build's source id, when known (else looked up by immutable tags).
    pub source_id: Option<&'a str>,
}

impl<'a> End<'a> {
    /// The end at `reference`, its source id unknown.
    pub fn at(reference: &'a str) -> End<'a> {
        End { reference, source_id: None }
    }
}

#[derive(Deserialize)]
struct Layer {
    #[serde(default)]
    size: u64,
}

#[derive(Deserialize)]
struct Image {
    #[serde(default)]
    layers: Vec<Layer>,
}

fn input(e: impl std::fmt::Display) -> EngineError {
    EngineError::Input(e.to_string())
}

/// The manifest `reference` names in `repo` (a clear error when there is none).
async fn get<R: Registry>(registry: &R, repo: &str, reference: &str) -> Result<RawManifest, EngineError> {
    registry.get_manifest(repo, reference).await.map_err(|e| if e.is_not_found() { input(format!("find '{reference}' in {repo}: no such tag or digest")) } else { e.into() })
}

/// The platform to compare when a side is an index: the variant's first platform both have,
/// else the first image platform both have.
fn pick_platform(v: &Variant, a: &RawManifest, b: &RawManifest) -> Result<Option<Platform>, EngineError> {
    let platforms = |m: &RawManifest| -> Result<Option<Vec<Platform>>, EngineError> {
        let Some(idx) = m.index().map_err(input)? else { return Ok(None) };
        Ok(Some(idx.manifests.iter().filter_map(|e| e.platform.as_ref()).map(|p| Platform::parse(&format!("{}/{}", p.os, p.architecture))).filter(|p| p.os != "unknown").collect()))
    };
    let (pa, pb) = (platforms(a)?, platforms(b)?);
    if pa.is_none() && pb.is_none() {
        return Ok(None);
    }
    let both = |p: &Platform| [&pa, &pb].iter().all(|side| side.as_ref().is_none_or(|list| list.iter().any(|q| q.satisfies(p))));
    let found = pb.iter().chain(pa.iter()).flatten().cloned().collect::<Vec<_>>();
    Ok(platform::expected(v).into_iter().chain(found).find(both))
}

/// The image manifest of `m` for `platform` (itself when it is not an index).
async fn image<R: Registry>(registry: &R, repo: &str, m: RawManifest, platform: Option<&Platform>) -> Result<RawManifest, EngineError> {
    let Some(idx) = m.index().map_err(input)? else { return Ok(m) };
    let child = platform
        .and_then(|want| platform::child(&idx, want))
        .ok_or_else(|| input(format!("compare index {}: it has no image for {}", m.digest, platform.map_or("any platform".into(), |p| p.to_string()))))?;
    get(registry, repo, &child.digest).await
}

fn layer_bytes(m: &RawManifest) -> u64 {
    serde_json::from_slice::<Image>(&m.bytes).map(|i| i.layers.iter().map(|l| l.size).sum()).unwrap_or_default()
}

/// The inventory of image `m` from its SBOM, or why there is none.
async fn inventory<R: Registry>(registry: &R, repo: &str, m: &RawManifest) -> Result<Result<Inventory, String>, EngineError> {
    Ok(match crate::sbom::read(registry, repo, &m.digest, None).await? {
        Some(s) => match &s.inventory.not_inventoried {
            Some(why) => Err(format!("{} is not inventoried: {why}", m.digest)),
            None => Ok(s.inventory),
        },
        None => Err(format!("{} has no SBOM (published with --no-sbom, or before imgctl attached SBOMs)", m.digest)),
    })
}

/// The source ids of the builds `digests` (top-level digests), known or found by HEADs of
/// the variant's immutable tags for `candidates` (newest first, at most [`MAX_ID_LOOKUPS`]).
async fn source_ids<R: Registry>(registry: &R, repo: &str, v: &Variant, digests: [&str; 2], known: [Option<&str>; 2], candidates: &[String]) -> [Option<String>; 2] {
    let mut out = known.map(|k| k.map(str::to_string));
    for id in candidates.iter().take(MAX_ID_LOOKUPS) {
        if out.iter().all(Option::is_some) {
            break;
        }
        if out.iter().any(|o| o.as_deref() == Some(id.as_str())) {
            continue;
        }
        match registry.resolve(repo, &Fleet::immutable_tag(v, id)).await {
            Ok(d) => {
                for (slot, digest) in out.iter_mut().zip(digests) {
                    if slot.is_none() && d.digest == digest {
                        *slot = Some(id.clone());
                    }
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => tracing::warn!("read the source id of {id}: {e}"),
        }
    }
    out
}

/// What changed from `from` to `to`, builds of `v` in `repo`. `listed` is the variant's
/// history from a tag listing when the caller has one: candidate source ids without an
/// immutable tag there cost nothing, and without `sources` its immutable tags are the
/// candidates. Requests: a GET of each manifest (and of each index's image for the platform
/// compared), each image's referrers listing and, where there is an SBOM, its artifact
/// manifest and document; a HEAD per immutable tag looked at for a source id not given
/// (usually one per build). No layer is read.
pub async fn between<R: Registry>(
    registry: &R,
    repo: &str,
    v: &Variant,
    from: End<'_>,
    to: End<'_>,
    listed: Option<&VariantHistory>,
    sources: Option<&dyn SourceLookup>,
) -> Result<Changes, EngineError> {
    let (a, b) = (get(registry, repo, from.reference).await?, get(registry, repo, to.reference).await?);
    let (top_a, top_b) = (a.digest.clone(), b.digest.clone());
    let platform = pick_platform(v, &a, &b)?;
    let (ia, ib) = (image(registry, repo, a, platform.as_ref()).await?, image(registry, repo, b, platform.as_ref()).await?);
    let (inv_a, inv_b) = (inventory(registry, repo, &ia).await?, inventory(registry, repo, &ib).await?);
    let os = match (&inv_a, &inv_b) {
        (Ok(x), Ok(y)) => Some(OsChange { changed: x.os != y.os, from: x.os.clone(), to: y.os.clone() }),
        _ => None,
    };
    let (packages, not_inventoried) = match (&inv_a, &inv_b) {
        (Ok(x), Ok(y)) => (Some(Packages::of(imgctl_inventory::diff::diff(x, y).changes)), None),
        (x, y) => (None, Some([x.as_ref().err(), y.as_ref().err()].into_iter().flatten().cloned().collect::<Vec<_>>().join("; "))),
    };
    let candidates: Vec<String> = match (sources, listed) {
        (Some(s), Some(l)) => s.candidates(v).into_iter().filter(|id| l.immutable.contains_key(id)).collect(),
        (Some(s), None) => s.candidates(v),
        (None, Some(l)) => l.immutable.keys().cloned().collect(),
        (None, None) => Vec::new(),
    };
    let ids = source_ids(registry, repo, v, [&top_a, &top_b], [from.source_id, to.source_id], &candidates).await;
    let mut source = match sources {
        Some(s) => s.source(v, ids[0].as_deref(), ids[1].as_deref()),
        None => SourceChange {
            from_source_id: ids[0].clone(),
            to_source_id: ids[1].clone(),
            notes: vec!["no git repository of the manifest: commits, files and the Dockerfile's diff are not known".into()],
            ..SourceChange::default()
        },
    };
    for (id, digest) in ids.iter().zip([&top_a, &top_b]) {
        if id.is_none() {
            source.notes.push(format!("the source id of {digest} is not known: no immutable tag of {} among the {} source ids looked at points at it", v.name, candidates.len().min(MAX_ID_LOOKUPS)));
        }
    }
    Ok(Changes {
        from: top_a,
        to: top_b,
        platform: platform.map(|p| p.to_string()),
        packages,
        not_inventoried,
        os,
        size: SizeChange::of(layer_bytes(&ia), layer_bytes(&ib)),
        source,
    })
}
