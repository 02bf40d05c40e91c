//! `imgctl diff REF REF`: what changed between two images — packages added, removed,
//! upgraded and downgraded (each ecosystem's version order), the OS release, files and bytes
//! (docs/CHANGES.md). Each side's inventory comes from its SBOM referrer when it has one,
//! else from its layers, streamed from the registry once (the local layer cache spares
//! layers read before).

use std::io::{self, Write};

use imgctl_engine::sbom::{self, Layers};
use imgctl_inventory::Inventory;
use imgctl_inventory::diff::{Change, Diff, diff};
use imgctl_registry::{Access, Registry};
use serde::Serialize;
use tabled::Tabled;

use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;
use crate::output::{Report, emit, table, word};
use crate::registry;

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first image: `host[:port]/repo:tag` or `host[:port]/repo@sha256:…`.
    #[arg(value_name = "REF")]
    pub from: String,
    /// The second image.
    #[arg(value_name = "REF")]
    pub to: String,
    /// For multi-arch indexes: the platform (`os/arch`) to compare.
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
}

/// One side of the comparison.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Side {
    /// REF as given.
    pub reference: String,
    /// The image manifest compared.
    pub digest: String,
    /// Where its inventory came from: `sbom` (its referrer) or `layers` (read now).
    pub inventory_from: &'static str,
    /// Packages in it.
    pub packages: usize,
    /// Why it could not be inventoried (Windows images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_inventoried: Option<String>,
}

/// The `diff` document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffReport {
    /// The first image.
    pub from: Side,
    /// The second image.
    pub to: Side,
    /// What changed.
    #[serde(flatten)]
    pub diff: Diff,
}

/// A package change as a table row (`diff`, `changes`).
#[derive(Tabled)]
pub(crate) struct Row {
    #[tabled(rename = "CHANGE")]
    pub(crate) change: String,
    #[tabled(rename = "TYPE")]
    pub(crate) kind: &'static str,
    #[tabled(rename = "NAME")]
    pub(crate) name: String,
    #[tabled(rename = "FROM")]
    pub(crate) from: String,
    #[tabled(rename = "TO")]
    pub(crate) to: String,
}

impl From<&Change> for Row {
    fn from(c: &Change) -> Row {
        Row { change: word(c.change), kind: c.ecosystem.as_str(), name: c.name.clone(), from: c.from.clone().unwrap_or_else(|| "-".into()), to: c.to.clone().unwrap_or_else(|| "-".into()) }
    }
}

/// An OS release for people: its pretty name, else `id version`, else `unknown`.
pub(crate) fn os(o: Option<&imgctl_inventory::OsRelease>) -> String {
    o.map(|o| o.pretty_name.clone().unwrap_or_else(|| format!("{} {}", o.id, o.version_id.as_deref().unwrap_or_default()))).unwrap_or_else(|| "unknown".into())
}

impl Report for DiffReport {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        for (label, s) in [("from", &self.from), ("to", &self.to)] {
            writeln!(w, "{label}: {} ({}; {} packages, inventory from its {})", s.reference, s.digest, s.packages, s.inventory_from)?;
            if let Some(why) = &s.not_inventoried {
                writeln!(w, "  not inventoried: {why}")?;
            }
        }
        if self.diff.os_from != self.diff.os_to {
            writeln!(w, "os: {} → {}", os(self.diff.os_from.as_ref()), os(self.diff.os_to.as_ref()))?;
        }
        writeln!(w, "files {:+}, bytes {:+}", self.diff.files_delta, self.diff.bytes_delta)?;
        if self.diff.changes.is_empty() {
            return writeln!(w, "no package changed");
        }
        writeln!(w, "{}", table(self.diff.changes.iter().map(Row::from)))
    }
}

/// The inventory of `reference`: its SBOM, else its layers.
async fn side(env: &Env<'_>, reference: &str, platform: Option<&str>) -> Result<(Side, Inventory), CliError> {
    let (host, repo, tag) = crate::commands::inspect::parse_reference(reference)?;
    let client = registry::connect(env, &host, &repo, Access::Pull, None).await?;
    let digest = crate::commands::sbom::image_digest(&client, &repo, &tag, platform).await?;
    let (inv, from) = match sbom::read(&client, &repo, &digest, None).await.map_err(crate::rollout::engine_error)? {
        Some(s) => (s.inventory, "sbom"),
        None => {
            let m = client.get_manifest(&repo, &digest).await?;
            let opts = crate::commands::sbom::options(env, &host, &repo, &crate::records::SignArgs { sign_key: None })?;
            let (inv, _) = sbom::inventory(&client, &m, Layers { blobs: &[], repo: &repo }, &opts).await.map_err(crate::rollout::engine_error)?;
            (inv, "layers")
        }
    };
    let s = Side { reference: reference.to_string(), digest, inventory_from: from, packages: inv.packages.len(), not_inventoried: inv.not_inventoried.clone() };
    Ok((s, inv))
}

/// Runs `diff`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let report = registry::block_on(async {
        let (from, a) = side(env, &args.from, args.platform.as_deref()).await?;
        let (to, b) = side(env, &args.to, args.platform.as_deref()).await?;
        Ok::<_, CliError>(DiffReport { from, to, diff: diff(&a, &b) })
    })??;
    emit(env, &report)?;
    Ok(exit::SUCCESS)
}
