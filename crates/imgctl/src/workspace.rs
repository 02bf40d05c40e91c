//! Finding the manifest (`--manifest`, else upward from the working folder as git and
//! cargo find theirs) and loading it and its OS definitions from disk.

use std::path::{Path, PathBuf};

use imgctl_core::finding::{self, Finding};
use imgctl_core::fleet::Fleet;
use imgctl_core::load::{self, MAX_INPUT_BYTES};
use imgctl_core::paths;

use crate::env::Env;
use crate::error::CliError;

/// The fleet (when both files parsed) and every finding from reading them.
#[derive(Debug)]
pub struct Loaded {
    /// The resolved fleet, if both files parsed.
    pub fleet: Option<Fleet>,
    /// Problems found while reading.
    pub findings: Vec<Finding>,
}

/// Where a fleet keeps its manifest, relative to the repository's root.
pub const DEFAULT_MANIFEST: &str = "manifests/images.yaml";

/// `manifests/images.yaml` in `cwd` or the nearest folder above it, stopping at the git
/// repository's root (the first folder with a `.git`); relative to `cwd`
/// (`../../manifests/images.yaml`) so messages name it as the user would.
pub fn locate(cwd: &Path) -> Option<PathBuf> {
    let mut up = PathBuf::new();
    for dir in cwd.ancestors() {
        if dir.join(DEFAULT_MANIFEST).is_file() {
            return Some(up.join(DEFAULT_MANIFEST));
        }
        if dir.join(".git").exists() {
            return None;
        }
        up.push("..");
    }
    None
}

/// The manifest a command uses: `--manifest` (or `IMGCTL_MANIFEST`), else the one
/// [`locate`] finds from `cwd`, else [`DEFAULT_MANIFEST`] (which then fails to read with a
/// hint).
pub fn manifest_path(flag: Option<&Path>, cwd: Option<&Path>) -> PathBuf {
    match flag {
        Some(p) => p.to_path_buf(),
        None => cwd.and_then(locate).unwrap_or_else(|| PathBuf::from(DEFAULT_MANIFEST)),
    }
}

/// The manifest's path, checked to exist; a missing one fails with what to do.
pub fn manifest_file(env: &Env<'_>) -> Result<String, CliError> {
    let path = &env.global.manifest;
    let file = paths::normalize(&path.to_string_lossy());
    if path.exists() {
        return Ok(file);
    }
    Err(CliError::Input(match env.global.manifest_flag {
        Some(_) => format!("read '{file}': no such file or directory (pass --manifest PATH to the fleet's manifest, or run `imgctl init` to start a fleet)"),
        None => format!(
            "find the manifest: no {DEFAULT_MANIFEST} in this folder or any folder above it up to the repository's root (run `imgctl init` to start a fleet here, or pass --manifest PATH)"
        ),
    }))
}

/// Reads a text input file, refusing huge ones.
pub fn read_input(path: &str) -> Result<String, CliError> {
    let meta = std::fs::metadata(path).map_err(|e| CliError::Input(format!("read '{path}': {}", io_reason(&e))))?;
    if meta.len() > MAX_INPUT_BYTES as u64 {
        return Err(CliError::Input(format!("read '{path}': file is larger than {MAX_INPUT_BYTES} bytes")));
    }
    std::fs::read_to_string(path).map_err(|e| CliError::Input(format!("read '{path}': {}", io_reason(&e))))
}

/// An io::Error as a lower-case fragment.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::InvalidData => "not UTF-8 text".into(),
        _ => e.to_string().to_lowercase(),
    }
}

/// Reads `--manifest` and the OS definitions it names. Unreadable files are errors;
/// problems inside them are findings.
pub fn load(env: &Env<'_>) -> Result<Loaded, CliError> {
    let manifest_file = manifest_file(env)?;
    let text = read_input(&manifest_file)?;
    let parsed = load::parse_manifest(&manifest_file, &text);
    let mut findings = parsed.findings;
    let Some(manifest) = parsed.value else {
        return Ok(Loaded { fleet: None, findings });
    };
    let os_file = paths::resolve(&manifest_file, &manifest.os_definitions);
    let os_text = match read_input(&os_file) {
        Ok(t) => t,
        Err(e) => {
            let pos = parsed.spans.pos("osDefinitions");
            findings.push(Finding::error("missing-os-definitions", &manifest_file, pos, format!("cannot {e}")));
            return Ok(Loaded { fleet: None, findings });
        }
    };
    let os = load::parse_os_definitions(&os_file, &os_text);
    findings.extend(os.findings);
    let Some(defs) = os.value else {
        return Ok(Loaded { fleet: None, findings });
    };
    let (fleet, more) = Fleet::new(manifest, &manifest_file, parsed.spans, defs, os.spans);
    findings.extend(more);
    Ok(Loaded { fleet: Some(fleet), findings })
}

/// Loads the fleet for a command that needs a valid one: any error finding stops it
/// (listed on stderr through the log, exit 1).
pub fn require(env: &Env<'_>) -> Result<Fleet, CliError> {
    let mut loaded = load(env)?;
    finding::sort(&mut loaded.findings);
    let errors: Vec<&Finding> = loaded.findings.iter().filter(|f| f.is_error()).collect();
    match (loaded.fleet, errors.first()) {
        (Some(fleet), None) => Ok(fleet),
        (_, Some(first)) => {
            for f in &errors {
                tracing::error!("{f}");
            }
            Err(CliError::Input(format!("load the manifest: {} error(s), first: {first} (run `imgctl validate` for all)", errors.len())))
        }
        (None, None) => Err(CliError::Input("load the manifest".into())),
    }
}
