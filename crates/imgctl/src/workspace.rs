//! Loading the manifest and OS definitions named by `--manifest` from disk.

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
    let manifest_file = paths::normalize(&env.global.manifest.to_string_lossy());
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
