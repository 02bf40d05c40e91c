//! `imgctl sbom REF`: the SBOM `publish` attached to an image (docs/CHANGES.md) — the SPDX
//! 2.3 document itself with `--output json` (or, `--format cyclonedx`, a CycloneDX 1.5 document
//! of the same inventory), a package table for people. Also the SBOM options `publish` passes
//! to the engine (layer cache, subject name, signer).

use std::io::{self, Write};
use std::sync::Arc;

use imgctl_engine::sbom::{self, ReadSbom, SbomOptions};
use imgctl_inventory::cache::LayerCache;
use imgctl_inventory::spdx;
use imgctl_registry::{Access, Registry};
use serde::{Serialize, Serializer};
use tabled::Tabled;

use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;
use crate::output::{Report, emit, table};
use crate::registry;

/// Document formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// SPDX 2.3 JSON (what publish attaches).
    Spdx,
    /// CycloneDX 1.5 JSON, made from the same inventory.
    Cyclonedx,
}

/// Arguments of `sbom`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `host[:port]/repo:tag` or `host[:port]/repo@sha256:…`.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// The document format.
    #[arg(long, value_enum, default_value = "spdx")]
    pub format: Format,
    /// For a multi-arch index: the platform (`os/arch`) whose SBOM to show.
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// The ECDSA P-256 public key (SPKI PEM) a signed SBOM is checked with.
    #[arg(long, value_name = "PUB")]
    pub key: Option<std::path::PathBuf>,
}

/// The SBOM of one image: JSON is the SPDX document, human is a table.
#[derive(Debug)]
pub struct SbomReport {
    /// REF as given.
    pub reference: String,
    /// The image manifest the SBOM is about.
    pub digest: String,
    /// What was read.
    pub sbom: ReadSbom,
    /// The CycloneDX document, with `--format cyclonedx`.
    pub cyclonedx: Option<serde_json::Value>,
}

impl Serialize for SbomReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.cyclonedx.as_ref().unwrap_or(&self.sbom.document).serialize(s)
    }
}

/// The CycloneDX document of what was read: the same inventory, subject, time and tool as the
/// SPDX document.
fn cyclonedx(read: &ReadSbom, digest: &str) -> Result<serde_json::Value, CliError> {
    let subject = spdx::subject(&read.spdx, digest).map_err(|e| CliError::Failed(e.to_string()))?;
    let bom = imgctl_inventory::cyclonedx::bom(&read.inventory, &subject).map_err(|e| CliError::Failed(e.to_string()))?;
    imgctl_inventory::cyclonedx::json(bom).map_err(|e| CliError::Failed(e.to_string()))
}

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "TYPE")]
    kind: &'static str,
    #[tabled(rename = "NAME")]
    name: String,
    #[tabled(rename = "VERSION")]
    version: String,
    #[tabled(rename = "ARCH")]
    arch: String,
}

impl Report for SbomReport {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        let inv = &self.sbom.inventory;
        writeln!(w, "{} ({})", self.reference, self.digest)?;
        let signed = match (self.sbom.signed, self.sbom.verified) {
            (true, true) => "signed, verified",
            (true, false) => "signed, not verified",
            _ => "not signed",
        };
        writeln!(w, "sbom {} ({signed})", self.sbom.artifact)?;
        if let Some(why) = &inv.not_inventoried {
            return writeln!(w, "not inventoried: {why}");
        }
        if let Some(os) = &inv.os {
            writeln!(w, "os: {}", os.pretty_name.clone().unwrap_or_else(|| format!("{} {}", os.id, os.version_id.as_deref().unwrap_or_default())))?;
        }
        writeln!(w, "{} files, {} bytes, {} packages", inv.files, inv.bytes, inv.packages.len())?;
        let rows = inv.packages.iter().map(|p| Row { kind: p.ecosystem.as_str(), name: p.name.clone(), version: p.version.clone(), arch: p.arch.clone().unwrap_or_else(|| "-".into()) });
        writeln!(w, "{}", table(rows))
    }
}

/// The SBOM options of `publish`: the layer cache from the environment, the subject name
/// `host/repository`, the signer when a key is given.
pub fn options(env: &Env<'_>, host: &str, repository: &str, sign: &crate::records::SignArgs) -> Result<SbomOptions, CliError> {
    let signer = match sign.sign_key.as_deref().filter(|k| !k.trim().is_empty()) {
        Some(k) => Some(Arc::new(crate::records::read_signer(k)?)),
        None => None,
    };
    Ok(SbomOptions { cache: env.facts.layer_cache.clone().map(LayerCache::new), repository: format!("{host}/{repository}"), tool: format!("imgctl-{}", env!("CARGO_PKG_VERSION")), signer })
}

/// The image manifest of `digest` to read the SBOM of: itself, or an index's child.
pub(crate) async fn image_digest<R: Registry>(client: &R, repo: &str, reference: &str, platform: Option<&str>) -> Result<String, CliError> {
    let m = client.get_manifest(repo, reference).await?;
    let Some(idx) = m.index().map_err(CliError::Failed)? else { return Ok(m.digest) };
    let entries: Vec<(String, String)> = idx.manifests.iter().map(|e| (e.platform.as_ref().map(|p| format!("{}/{}", p.os, p.architecture)).unwrap_or_else(|| "-".into()), e.digest.clone())).collect();
    let chosen = match platform {
        Some(p) => entries.iter().find(|(name, _)| name == p),
        None if entries.len() == 1 => entries.first(),
        None => None,
    };
    let platforms: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    chosen.map(|(_, d)| d.clone()).ok_or_else(|| CliError::Usage(format!("pick the image of index {reference}: name one of its platforms with --platform ({})", platforms.join(", "))))
}

/// Runs `sbom`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let (host, repo, reference) = crate::commands::inspect::parse_reference(&args.reference)?;
    let key = args.key.as_deref().map(crate::records::read_public_key).transpose()?;
    let report = registry::block_on(async {
        let client = registry::connect(env, &host, &repo, Access::Pull, None).await?;
        let digest = image_digest(&client, &repo, &reference, args.platform.as_deref()).await?;
        let read = sbom::read(&client, &repo, &digest, key.as_ref()).await.map_err(crate::rollout::engine_error)?;
        let sbom = read.ok_or_else(|| CliError::Input(format!("find the SBOM of {} ({digest}): none is attached (publish attaches one unless --no-sbom)", args.reference)))?;
        let cyclonedx = if args.format == Format::Cyclonedx { Some(cyclonedx(&sbom, &digest)?) } else { None };
        Ok::<_, CliError>(SbomReport { reference: args.reference.clone(), digest, sbom, cyclonedx })
    })??;
    let unverified = key.is_some() && !report.sbom.verified;
    emit(env, &report)?;
    Ok(if unverified { exit::FAILED } else { exit::SUCCESS })
}
