//! SBOMs (docs/CHANGES.md): at publish, every image manifest of the build is inventoried
//! (`imgctl-inventory`: each layer read once, or taken from the local layer cache by digest)
//! and its SPDX document attached as a referrer — an in-toto statement with predicate type
//! `https://spdx.dev/Document`, signed with the records key when there is one — through the
//! same referrers machinery as records. `imgctl sbom` reads it back with [`read`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use imgctl_inventory::cache::LayerCache;
use imgctl_inventory::layer::{self, LayerInventory};
use imgctl_inventory::{Compression, Inventory, spdx};
use imgctl_records::artifact::{Artifact, Descriptor};
use imgctl_records::sbom::{self as records_sbom, Attestation, OS_ANNOTATION, PACKAGES_ANNOTATION};
use imgctl_records::{Signer, Verifier};
use imgctl_registry::referrers::{self, Attachment};
use imgctl_registry::{BlobSource, RawManifest, Registry, RegistryError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::EngineError;

/// How `publish` makes SBOMs.
#[derive(Debug, Clone)]
pub struct SbomOptions {
    /// The local layer cache (None: every layer is read).
    pub cache: Option<LayerCache>,
    /// `registry/repository`, the statement's subject name.
    pub repository: String,
    /// `imgctl-<version>`, the document's creator.
    pub tool: String,
    /// Signs the statement (the records key; with records on, their signer is used too).
    pub signer: Option<std::sync::Arc<Signer>>,
}

/// What the SBOM step did for one image manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SbomResult {
    /// The image manifest.
    pub digest: String,
    /// Packages listed.
    pub packages: usize,
    /// Why it was not inventoried (Windows foreign layers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_inventoried: Option<String>,
    /// False when the image already had an SBOM.
    pub attached: bool,
    /// Layers read (not from the cache).
    pub layers_read: usize,
    /// Compressed bytes read.
    pub bytes_read: u64,
}

#[derive(Deserialize)]
struct LayerRef {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    /// The descriptor's size: a download stops there.
    #[serde(default)]
    size: u64,
}

#[derive(Deserialize)]
struct ImageRefs {
    #[serde(default)]
    layers: Vec<LayerRef>,
}

/// Where the layers of the build are.
#[derive(Debug, Clone, Copy)]
pub struct Layers<'a> {
    /// Blobs of a layout (files) or of a reference (fetched from `repo`).
    pub blobs: &'a [(String, u64, BlobSource)],
    /// The repository to fetch blobs from when they are not files.
    pub repo: &'a str,
}

fn input(e: impl std::fmt::Display) -> EngineError {
    EngineError::Input(e.to_string())
}

/// Reads one layer: the cache, else the file or a fetched copy, in a blocking task.
async fn read_layer<R: Registry>(registry: &R, layers: Layers<'_>, l: &LayerRef, opts: &SbomOptions, stats: &mut SbomResult) -> Result<LayerInventory, EngineError> {
    if let Some(hit) = opts.cache.as_ref().and_then(|c| c.get(&l.digest)) {
        return Ok(hit);
    }
    let mut _tmp = None;
    let path: PathBuf = match layers.blobs.iter().find(|(d, ..)| *d == l.digest).map(|(.., s)| s) {
        Some(BlobSource::File(p)) => p.clone(),
        _ => {
            let t = tempfile::NamedTempFile::new().map_err(|e| input(format!("make a temporary file for layer {}: {e}", l.digest)))?;
            registry.fetch_blob(layers.repo, &l.digest, l.size, t.path()).await?;
            let p = t.path().to_path_buf();
            _tmp = Some(t);
            p
        }
    };
    let (digest, compression) = (l.digest.clone(), Compression::of_media_type(&l.media_type));
    let read = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(|e| format!("read layer {digest}: {e}"))?;
        imgctl_inventory::read_layer(&digest, file, compression).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| input(format!("read layer {}: {e}", l.digest)))?
    .map_err(EngineError::Input)?;
    stats.layers_read += 1;
    stats.bytes_read += read.read_bytes;
    if let Some(c) = &opts.cache {
        if let Err(e) = c.put(&l.digest, &read) {
            tracing::warn!("{e}");
        }
    }
    Ok(read)
}

/// The inventory of image manifest `m` (layers bottom first).
pub async fn inventory<R: Registry>(registry: &R, m: &RawManifest, layers: Layers<'_>, opts: &SbomOptions) -> Result<(Inventory, SbomResult), EngineError> {
    let refs: ImageRefs = serde_json::from_slice(&m.bytes).map_err(|e| input(format!("read manifest {}: {e}", m.digest)))?;
    let mut stats = SbomResult { digest: m.digest.clone(), packages: 0, not_inventoried: None, attached: false, layers_read: 0, bytes_read: 0 };
    if refs.layers.iter().any(|l| layer::is_foreign(&l.media_type)) {
        let inv = Inventory { not_inventoried: Some("a Windows image: its foreign layers are not distributed with it and not read".into()), ..Inventory::default() };
        stats.not_inventoried = inv.not_inventoried.clone();
        return Ok((inv, stats));
    }
    let mut read = Vec::with_capacity(refs.layers.len());
    for l in &refs.layers {
        read.push(read_layer(registry, layers, l, opts, &mut stats).await?);
    }
    let inv = imgctl_inventory::merge(&read);
    stats.packages = inv.packages.len();
    Ok((inv, stats))
}

/// Whether a referrers-list entry is an SBOM.
pub(crate) fn is_sbom_entry(e: &Value) -> bool {
    let ann: BTreeMap<String, String> = e.get("annotations").and_then(|a| serde_json::from_value(a.clone()).ok()).unwrap_or_default();
    records_sbom::is_sbom(&ann)
}

/// Attaches the SBOM of `inv` to image manifest `m` in `repo` unless it has one (one
/// referrers read when it has). True when attached.
#[allow(clippy::too_many_arguments)]
pub async fn attach<R: Registry>(registry: &R, repo: &str, m: &RawManifest, inv: &Inventory, signer: Option<&Signer>, opts: &SbomOptions, created: chrono::DateTime<chrono::Utc>, settle: std::time::Duration) -> Result<bool, RegistryError> {
    if referrers::list(registry, repo, &m.digest).await?.iter().any(is_sbom_entry) {
        return Ok(false);
    }
    let doc = spdx::document(inv, &spdx::Subject { repository: &opts.repository, digest: &m.digest, created, tool: &opts.tool });
    let statement = Attestation::spdx(&opts.repository, &m.digest, serde_json::to_value(&doc).unwrap_or_default());
    let envelope = signer.map(|k| k.sign(&statement.to_bytes()));
    let mut summary = BTreeMap::from([(PACKAGES_ANNOTATION.to_string(), inv.packages.len().to_string())]);
    if let Some(os) = &inv.os {
        summary.insert(OS_ANNOTATION.into(), format!("{} {}", os.id, os.version_id.as_deref().unwrap_or_default()).trim().to_string());
    }
    let subject = Descriptor { digest: m.digest.clone(), size: m.bytes.len() as u64, ..Descriptor::of(&m.media_type, b"", false) };
    let built = records_sbom::artifact(&statement, envelope.as_ref(), subject, created, summary);
    let a = Attachment {
        manifest: RawManifest::from_bytes(built.manifest),
        blobs: built.blobs.into_iter().map(|(d, b)| (d, b.into())).collect(),
        entry: serde_json::to_value(&built.entry).unwrap_or_default(),
    };
    referrers::attach(registry, repo, &m.digest, &a, settle).await?;
    Ok(true)
}

/// The SBOM step of `publish` for the build `top` (an image or an index and its `children`):
/// inventories and attaches each image manifest. Problems are logged, never fatal: the build
/// is published either way.
pub async fn at_publish<R: Registry>(ctx: &crate::Ctx<'_, R>, top: &RawManifest, children: &[RawManifest], layers: Layers<'_>, opts: &SbomOptions) -> Vec<SbomResult> {
    let images: Vec<&RawManifest> = if top.is_index() { children.iter().collect() } else { vec![top] };
    let signer = opts.signer.as_deref().or_else(|| ctx.records.and_then(|r| r.signer.as_ref()));
    let settle = ctx.records.map_or(crate::records::SETTLE, |r| r.settle);
    let mut out = Vec::new();
    for m in images {
        let result = async {
            let (inv, mut stats) = inventory(ctx.registry, m, layers, opts).await?;
            stats.attached = attach(ctx.registry, ctx.repo, m, &inv, signer, opts, ctx.move_time(), settle).await?;
            Ok::<_, EngineError>(stats)
        };
        match result.await {
            Ok(s) => {
                tracing::info!(
                    "sbom of {}: {} packages, {}, read {} layers ({} bytes; the others from the layer cache)",
                    s.digest,
                    s.packages,
                    if s.attached { "attached" } else { "already attached" },
                    s.layers_read,
                    s.bytes_read
                );
                out.push(s);
            }
            Err(e) => tracing::warn!("no SBOM attached to {}: {e}", m.digest),
        }
    }
    out
}

/// An SBOM read back from the registry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadSbom {
    /// The artifact manifest's digest.
    pub artifact: String,
    /// Signed (a DSSE envelope).
    pub signed: bool,
    /// Verified with the key given (false without a key).
    pub verified: bool,
    /// The SPDX document.
    pub document: Value,
    /// The inventory the document describes.
    pub inventory: Inventory,
    /// The document, parsed.
    #[serde(skip)]
    pub spdx: spdx::Document,
}

/// The SBOM attached to `digest` in `repo` (None when there is none), checked with `key`.
pub async fn read<R: Registry>(registry: &R, repo: &str, digest: &str, key: Option<&Verifier>) -> Result<Option<ReadSbom>, EngineError> {
    let entries = referrers::list(registry, repo, digest).await?;
    read_listed(registry, repo, digest, &entries, key).await
}

/// [`read`] from `entries`, the referrers list of `digest` read already: one blob GET when
/// the list's entry names the document (its annotations, docs/CHANGES.md), else the artifact
/// manifest and the blob; nothing when it has no SBOM.
pub async fn read_listed<R: Registry>(registry: &R, repo: &str, digest: &str, entries: &[Value], key: Option<&Verifier>) -> Result<Option<ReadSbom>, EngineError> {
    let Some(entry) = entries.iter().rfind(|e| is_sbom_entry(e) && e.get("digest").and_then(Value::as_str).is_some()) else {
        return Ok(None);
    };
    let artifact = entry.get("digest").and_then(Value::as_str).unwrap_or_default();
    let ann: BTreeMap<String, String> = entry.get("annotations").and_then(|a| serde_json::from_value(a.clone()).ok()).unwrap_or_default();
    let layer = match records_sbom::document_of(entry.get("artifactType").and_then(Value::as_str), &ann) {
        Some(named) => named,
        None => {
            let bytes = registry.get_manifest(repo, artifact).await?.bytes;
            let a = Artifact::parse(&bytes).map_err(input)?;
            a.layers.into_iter().next().ok_or_else(|| input(format!("read SBOM {artifact}: it has no layer")))?
        }
    };
    let content = registry.fetch_blob_bytes(repo, &layer.digest, layer.size).await?;
    if imgctl_records::sha256(&content) != layer.digest {
        return Err(input(format!("read SBOM {artifact}: its document does not match its digest {}", layer.digest)));
    }
    let (statement, envelope) = records_sbom::read(&layer.media_type, &content, digest).map_err(input)?;
    let verified = match (key, &envelope) {
        (Some(k), Some(env)) => k.verify(env).is_ok(),
        _ => false,
    };
    let doc = <spdx::Document as serde::Deserialize>::deserialize(&statement.predicate).map_err(|e| input(format!("read SBOM {artifact}: not an SPDX 2.3 document: {e}")))?;
    Ok(Some(ReadSbom { artifact: artifact.to_string(), signed: envelope.is_some(), verified, inventory: spdx::read(&doc), document: statement.predicate, spdx: doc }))
}
