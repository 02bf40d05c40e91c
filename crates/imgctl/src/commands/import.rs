//! `imgctl import docker-tools PATH --out-dir DIR`: converts a dotnet/docker-tools
//! (ImageBuilder) manifest into `DIR/manifests/images.yaml` and
//! `DIR/os-definitions/os-definitions.json`, reporting what it found in the source.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use imgctl_core::finding::Finding;
use imgctl_core::import::docker_tools::{Document, parse_document};
use imgctl_core::import::{self, ImportReport, Options, render};
use imgctl_core::paths;
use serde::Serialize;
use tabled::Tabled;

use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;
use crate::output::{Report, emit, table};
use crate::workspace::{io_reason, read_input};

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The format to import from.
    #[command(subcommand)]
    pub from: ImportFrom,
}

/// The formats `import` reads.
#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// A dotnet/docker-tools (ImageBuilder) manifest with its `includes`.
    DockerTools(DockerToolsArgs),
}

/// Arguments of `import docker-tools`.
#[derive(Debug, clap::Args)]
pub struct DockerToolsArgs {
    /// The top manifest (e.g. `manifest.json` with `registry` and `includes`).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Where to write `manifests/images.yaml` and `os-definitions/os-definitions.json`.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Overwrite those files when they exist (without it, nothing is written then).
    #[arg(long)]
    pub force: bool,
}

/// The `import` document: the conversion report and the files written.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportOutput {
    /// What was converted and found.
    #[serde(flatten)]
    pub report: ImportReport,
    /// Files written (none when there was an error).
    pub written: Vec<String>,
    /// Files that existed and were overwritten (`--force`).
    pub overwritten: Vec<String>,
}

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "IMPORTED")]
    what: &'static str,
    #[tabled(rename = "COUNT")]
    count: usize,
}

impl Report for ImportOutput {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        for f in &self.report.findings {
            writeln!(w, "{f}")?;
        }
        let r = &self.report;
        let rows = [
            Row { what: "platforms read", count: r.platforms },
            Row { what: "variants", count: r.variants },
            Row { what: "aliases", count: r.aliases },
            Row { what: "omitArch (cross images)", count: r.omit_arch },
            Row { what: "explicit tags", count: r.explicit_tags },
            Row { what: "OS definitions", count: r.os_definitions },
            Row { what: "warnings", count: r.warnings },
            Row { what: "errors", count: r.errors },
        ];
        writeln!(w, "{}", table(rows))?;
        for file in &self.written {
            let note = if self.overwritten.contains(file) { " (overwritten)" } else { "" };
            writeln!(w, "wrote {file}{note}")?;
        }
        let verdict = if r.ok { "ok" } else { "failed, nothing written" };
        writeln!(w, "import {verdict}: {} from {}", plural(r.variants, "variant"), r.source)
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

/// Runs `import`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    match args.from {
        ImportFrom::DockerTools(a) => docker_tools(a, env),
    }
}

fn docker_tools(args: DockerToolsArgs, env: &mut Env<'_>) -> CmdResult {
    let out_dir = args.out_dir.to_string_lossy();
    let Converted { report, files, .. } = convert_docker_tools(&args.path, &out_dir)?;
    let overwritten: Vec<String> = files.iter().map(|(p, _)| p.clone()).filter(|p| Path::new(p).exists()).collect();
    if !overwritten.is_empty() && !args.force {
        return Err(CliError::Input(format!(
            "import into {out_dir}: these files exist and were left alone (nothing was written; pass --force to overwrite them, or start a new fleet repository with `imgctl init DIR --from-docker-tools {}`): {}",
            args.path.display(),
            overwritten.join(", ")
        )));
    }
    let mut written = Vec::new();
    for (path, text) in &files {
        write_file(path, text)?;
        written.push(path.clone());
    }
    let ok = report.ok;
    emit(env, &ImportOutput { report, written, overwritten })?;
    Ok(if ok { exit::SUCCESS } else { exit::FAILED })
}

/// A docker-tools manifest converted, not written yet.
#[derive(Debug)]
pub struct Converted {
    /// What was converted and found.
    pub report: ImportReport,
    /// `(path, text)` of `OUT_DIR/manifests/images.yaml` and
    /// `OUT_DIR/os-definitions/os-definitions.json`; none when the report has errors.
    pub files: Vec<(String, String)>,
    /// The imported manifest's registry and repository.
    pub registry: String,
    /// See `registry`.
    pub repository: String,
    /// The channels the imported manifest defines (for init's README).
    pub channels: indexmap::IndexMap<String, imgctl_core::manifest::Channel>,
}

/// Converts the docker-tools manifest at `path` for `out_dir`. Writes nothing.
pub fn convert_docker_tools(path: &Path, out_dir: &str) -> Result<Converted, CliError> {
    let source = paths::normalize(&path.to_string_lossy());
    let (top, includes, mut problems) = read_documents(&source)?;
    let out_manifest = paths::join(out_dir, "manifests/images.yaml");
    let out_os = paths::join(out_dir, "os-definitions/os-definitions.json");
    let opts = frame(paths::dir(&source), &out_manifest)?;
    let mut imported = import::convert(&top, &includes, &opts);
    if !problems.is_empty() {
        problems.append(&mut imported.report.findings);
        imported.report.findings = problems;
        imported.report.errors = imported.report.findings.iter().filter(|f| f.is_error()).count();
        imported.report.warnings = imported.report.findings.len() - imported.report.errors;
        imported.report.ok = false;
    }
    let mut files = Vec::new();
    if imported.report.ok {
        let yaml = render::manifest_yaml(&imported.manifest, &source, out_dir).map_err(|e| CliError::Input(format!("render the manifest: {e}")))?;
        let json = render::os_definitions_json(&imported.os).map_err(|e| CliError::Input(format!("render the OS definitions: {e}")))?;
        files = vec![(out_manifest, yaml), (out_os, json)];
    }
    let (registry, repository) = (imported.manifest.registry.clone(), imported.manifest.repository.clone());
    Ok(Converted { report: imported.report, files, registry, repository, channels: imported.manifest.channels })
}

/// Reads the top manifest and its includes. An unreadable top manifest is an error;
/// problems in includes are findings (so all of them are reported at once).
fn read_documents(source: &str) -> Result<(Document, Vec<Document>, Vec<Finding>), CliError> {
    let text = read_input(source)?;
    let top = parse_document(source, &text).map_err(|f| CliError::Input(format!("read {f}")))?;
    let mut includes = Vec::new();
    let mut problems = Vec::new();
    for (i, inc) in top.manifest.includes.iter().enumerate() {
        let path = paths::resolve(source, inc);
        let pos = top.spans.pos(&format!("includes[{i}]"));
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                problems.push(Finding::error("missing-include", source, pos, format!("include '{path}' cannot be read: {}", io_reason(&e))));
                continue;
            }
        };
        match parse_document(&path, &text) {
            Ok(d) => includes.push(d),
            Err(f) => problems.push(f),
        }
    }
    Ok((top, includes, problems))
}

/// Puts the source directory and the output manifest in one frame: as given when both
/// are relative and the output does not climb out of the working directory, else both
/// absolute.
fn frame(source_dir: &str, out_manifest: &str) -> Result<Options, CliError> {
    let relative_ok = !source_dir.starts_with('/') && !out_manifest.starts_with('/') && !out_manifest.starts_with("..");
    if relative_ok {
        let source_dir = if source_dir.is_empty() { ".".to_string() } else { source_dir.to_string() };
        return Ok(Options { source_dir, out_manifest: out_manifest.to_string() });
    }
    let cwd = std::env::current_dir().map_err(|e| CliError::Input(format!("find the working directory: {}", io_reason(&e))))?;
    let cwd = cwd.to_string_lossy();
    let abs = |p: &str| if p.starts_with('/') { paths::normalize(p) } else { paths::join(&cwd, p) };
    Ok(Options { source_dir: abs(source_dir), out_manifest: abs(out_manifest) })
}

/// Writes `text` to `path`, creating its parent directories.
pub fn write_file(path: &str, text: &str) -> Result<(), CliError> {
    let err = |e: io::Error| CliError::Input(format!("write '{path}': {}", io_reason(&e)));
    if let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    std::fs::write(path, text).map_err(err)
}
