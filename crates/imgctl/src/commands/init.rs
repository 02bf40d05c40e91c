//! `imgctl init [DIR]`: scaffolds a fleet repository — manifest, OS definitions, an example
//! variant's Dockerfile (or `import docker-tools` of an existing manifest), callers of
//! imgctl's reusable workflows pinned to this imgctl's version, the consumers' Renovate preset
//! and a README. Refuses to touch existing files unless `--force` (docs/ADOPTING.md). The
//! registry is the global `--registry` (default `ghcr.io`, or the imported manifest's).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use imgctl_core::scaffold::{self, Options};
use serde::Serialize;

use crate::commands::import::{Converted, convert_docker_tools, write_file};
use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;
use crate::output::{Report, emit};

/// Where imgctl's action and reusable workflows live, unless `--imgctl-repository` says.
pub const IMGCTL_REPOSITORY: &str = "imgctl-dev/imgctl";

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The fleet repository to scaffold (created if missing).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Repository of the images, e.g. `acme/build-images` (required unless --from-docker-tools).
    #[arg(long, value_name = "NAME")]
    pub repository: Option<String>,
    /// OperatingSystemIds of the variants to start with, from the built-in catalogue [default: Linux-Ubuntu-24.04-AMD64].
    #[arg(long, value_name = "ID", num_args = 1.., conflicts_with = "from_docker_tools")]
    pub os: Vec<String>,
    /// Import this dotnet/docker-tools manifest instead of writing an example variant.
    #[arg(long, value_name = "PATH")]
    pub from_docker_tools: Option<PathBuf>,
    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,
    /// Where imgctl's action and reusable workflows are (`OWNER/NAME` on GitHub).
    #[arg(long, value_name = "OWNER/NAME", default_value = IMGCTL_REPOSITORY)]
    pub imgctl_repository: String,
}

/// The `init` document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitReport {
    /// The directory scaffolded.
    pub dir: String,
    /// Files written, relative to `dir`.
    pub written: Vec<String>,
    /// Files that were there and were overwritten (`--force`).
    pub overwritten: Vec<String>,
    /// The imgctl version the workflows pin.
    pub imgctl_version: String,
}

impl Report for InitReport {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        for f in &self.written {
            let note = if self.overwritten.contains(f) { " (overwritten)" } else { "" };
            writeln!(w, "wrote {f}{note}")?;
        }
        writeln!(w, "scaffolded {} ({} files, workflows pinned to imgctl v{})", self.dir, self.written.len(), self.imgctl_version)?;
        writeln!(w, "next: cd {} && imgctl validate && git add -A && git commit -m 'CI images' (docs/ADOPTING.md)", self.dir)
    }
}

/// Runs `init`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let dir = args.dir.to_string_lossy().into_owned();
    // the global --registry (or IMGCTL_REGISTRY) names the registry the scaffold targets
    let registry_flag = env.global.registry.clone();
    let version = env!("CARGO_PKG_VERSION").to_string();
    let mut files: Vec<(String, String)> = Vec::new();
    let mut channels = scaffold::channels();
    let (registry, repository) = match &args.from_docker_tools {
        Some(path) => {
            let Converted { report, files: imported, registry, repository, channels: theirs } = convert_docker_tools(path, &dir)?;
            channels = theirs;
            if !report.ok {
                let first = report.findings.iter().find(|f| f.is_error()).map(ToString::to_string).unwrap_or_default();
                return Err(CliError::Input(format!("import {}: {} errors, nothing written; first: {first} (see `imgctl import docker-tools`)", path.display(), report.errors)));
            }
            files.extend(imported.into_iter().map(|(p, t)| (relative(&dir, &p), t)));
            (registry_flag.clone().unwrap_or(registry), args.repository.clone().unwrap_or(repository))
        }
        None => {
            let repository = args.repository.clone().ok_or_else(|| CliError::Usage("scaffold a fleet: pass --repository NAME (e.g. acme/build-images), or --from-docker-tools PATH".into()))?;
            (registry_flag.clone().unwrap_or_else(|| "ghcr.io".into()), repository)
        }
    };
    let o = Options { registry, repository, os: args.os.clone(), imgctl_version: version.clone(), imgctl_repository: args.imgctl_repository.clone() };
    if args.from_docker_tools.is_none() {
        files.extend(scaffold::fleet(&o).map_err(CliError::Usage)?.into_iter().map(|f| (f.path, f.text)));
    }
    files.extend(scaffold::repository_files(&o, &channels).into_iter().map(|f| (f.path, f.text)));
    let existing: Vec<String> = files.iter().map(|(p, _)| p.clone()).filter(|p| Path::new(&dir).join(p).exists()).collect();
    if !existing.is_empty() && !args.force {
        return Err(CliError::Input(format!("scaffold {dir}: these files exist and were left alone (nothing was written; pass --force to overwrite): {}", existing.join(", "))));
    }
    for (p, text) in &files {
        write_file(&Path::new(&dir).join(p).to_string_lossy(), text)?;
    }
    emit(env, &InitReport { dir, written: files.into_iter().map(|(p, _)| p).collect(), overwritten: existing, imgctl_version: version })?;
    Ok(exit::SUCCESS)
}

/// `path` relative to `dir` (the importer names files under the output directory).
fn relative(dir: &str, path: &str) -> String {
    let d = imgctl_core::paths::normalize(dir);
    let p = imgctl_core::paths::normalize(path);
    if d.is_empty() || d == "." {
        return p;
    }
    p.strip_prefix(&format!("{d}/")).map_or(p.clone(), str::to_string)
}
