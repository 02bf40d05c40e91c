//! `imgctl site --out DIR [--consumers FILE…]`: renders the static fleet site (docs/SITE.md)
//! from one tag listing, the records and SBOMs of the digests it shows, and the manifest;
//! consumers' `usages --output json` reports say which files pin each digest.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use imgctl_engine::Ctx;
use imgctl_engine::site::{Consumer, gather};
use imgctl_registry::Access;
use serde::Serialize;

use crate::commands::status::{candidates, sources};
use crate::commands::tags::select;
use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;
use crate::output::{Report, emit};
use crate::progress::CliProgress;
use crate::{rollout, workspace};

/// Arguments of `site`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to write the site into (made if missing; files of the site are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// `usages --output json` reports of consumer repositories: each digest page lists the
    /// files that pin it.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub consumers: Vec<PathBuf>,
    /// Revision whose builds are pending [default: each promoted channel's branch].
    #[arg(long = "ref", value_name = "REV")]
    pub reference: Option<String>,
    /// The public key (SPKI PEM) records and SBOMs are checked with: pages say `verified`
    /// rather than `signed`.
    #[arg(long, value_name = "PUB")]
    pub verify_key: Option<PathBuf>,
}

/// What `site` wrote.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteReport {
    /// The folder.
    pub out: String,
    /// Files written.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Variants (rows of the fleet page, variant pages).
    pub variants: usize,
    /// Digest pages.
    pub digests: usize,
    /// Bytes of `index.html`.
    pub index_bytes: u64,
    /// Variants the registry could not answer for.
    pub errors: usize,
}

impl Report for SiteReport {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        crate::output::say(
            w,
            &format!(
                "wrote {} files ({} bytes) to {}: {} variants, {} digest pages{}; open {}/index.html",
                self.files,
                self.bytes,
                self.out,
                self.variants,
                self.digests,
                if self.errors > 0 { format!(", {} variants the registry could not answer for", self.errors) } else { String::new() },
                self.out
            ),
        )
    }
}

/// Makes `dir` and checks that files can be written there, before any registry request.
fn writable(dir: &Path) -> Result<(), CliError> {
    let fail = |e: io::Error| CliError::Input(format!("write the site into '{}': {} (give --out a folder you can write)", dir.display(), e.to_string().to_lowercase()));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".imgctl-site-write-check");
    std::fs::write(&probe, b"").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)
}

/// Writes `files` under `dir`.
fn write(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), CliError> {
    for (rel, bytes) in files {
        let path = dir.join(rel);
        let fail = |e: io::Error| CliError::Input(format!("write '{}': {}", path.display(), e.to_string().to_lowercase()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        std::fs::write(&path, bytes).map_err(fail)?;
    }
    Ok(())
}

/// Runs `site`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let fleet = workspace::require(env)?;
    let consumers: Vec<Consumer> = crate::consumers::read_reports(&args.consumers)?
        .into_iter()
        .map(|r| Consumer { at: format!("{}:{}", r.file, r.line), tag: r.tag, digest: r.digest, variant: r.variant })
        .collect();
    let key = args.verify_key.as_deref().map(crate::records::read_public_key).transpose()?;
    writable(&args.out)?;
    let channels = imgctl_core::chain::promotion_order(&fleet.manifest.channels);
    let read = candidates(env, &fleet, &channels, args.reference.as_deref());
    let sources = sources(&read);
    let variants = select(&fleet, &[])?;
    let client = rollout::connect(env, &fleet, Access::Pull)?;
    let mirror_clients = rollout::connect_mirrors(env, &fleet, Access::Pull)?;
    let mirrors = crate::mirrors::mirrors(&mirror_clients, &client);
    let progress = CliProgress::new("site", "read", crate::progress::MIN_VARIANTS);
    let ctx = Ctx { mirrors: &mirrors, ..rollout::ctx(env, &client, &fleet, true, &progress) };
    let host = rollout::registry_host(env, &fleet);
    let started = std::time::Instant::now();
    let data = crate::registry::block_on(gather(&ctx, &variants, &sources, consumers, key.as_ref()))?.map_err(|e| rollout::engine_error_at(&host, e))?;
    let read = started.elapsed();
    if let Some(cache) = client.documents() {
        let (hits, kept) = cache.counts();
        tracing::info!("site: {hits} SBOM documents from the local document cache ({}), {kept} read from the registry", cache.dir().display());
    }
    // the registry is done by now: the pages render on the machine's cores (up to 4)
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    let files = imgctl_site::render(&data, threads);
    let rendered = started.elapsed();
    write(&args.out, &files)?;
    tracing::info!("site: read the registry in {:.2} s, rendered in {:.2} s, wrote in {:.2} s", read.as_secs_f64(), (rendered - read).as_secs_f64(), (started.elapsed() - rendered).as_secs_f64());
    let size = |name: &str| files.iter().find(|(p, _)| p == name).map_or(0, |(_, b)| b.len() as u64);
    let errors = data.status.variants.iter().filter(|v| v.error.is_some()).count();
    let report = SiteReport {
        out: args.out.display().to_string(),
        files: files.len(),
        bytes: files.iter().map(|(_, b)| b.len() as u64).sum(),
        variants: data.status.variants.len(),
        digests: data.digests.len(),
        index_bytes: size("index.html"),
        errors,
    };
    emit(env, &report)?;
    Ok(if errors > 0 { exit::FAILED } else { exit::SUCCESS })
}
