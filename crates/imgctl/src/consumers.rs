//! What consumers use, for `gc --protect-usages PATH…` (scanned here, like `usages`) and
//! `gc --protect-from FILE…` (`usages --output json` reports made elsewhere): every pinned
//! digest and every tag named, each with the `file:line` places that use it.

use std::path::PathBuf;

use imgctl_core::Fleet;
use imgctl_core::gc::Pins;
use serde::Deserialize;

use crate::env::Env;
use crate::error::CliError;

/// One reference of a `usages --output json` report (the fields gc and site need).
#[derive(Debug, Deserialize)]
pub struct Reference {
    /// The file that names it.
    pub file: String,
    /// Its line there.
    pub line: usize,
    /// The tag named.
    #[serde(default)]
    pub tag: Option<String>,
    /// The digest pinned.
    #[serde(default)]
    pub digest: Option<String>,
    /// The variant its tag belongs to.
    #[serde(default)]
    pub variant: Option<String>,
}

/// A `usages --output json` report.
#[derive(Debug, Deserialize)]
struct UsagesDoc {
    references: Vec<Reference>,
}

fn add(pins: &mut Pins, r: Reference) {
    let at = format!("{}:{}", r.file, r.line);
    match (r.digest, r.tag) {
        (Some(d), _) => pins.digests.entry(d).or_default().push(at),
        (None, Some(t)) => pins.tags.entry(t).or_default().push(at),
        (None, None) => {}
    }
}

/// The pins of `scan` (paths scanned now) and `reports` (usages JSON files).
pub fn pins(env: &Env<'_>, fleet: &Fleet, scan: &[PathBuf], reports: &[PathBuf]) -> Result<Pins, CliError> {
    let mut pins = Pins::default();
    if !scan.is_empty() {
        for f in crate::commands::usages::scan_paths(env, fleet, scan)? {
            let file = f.path.display().to_string();
            for u in f.usages {
                add(&mut pins, Reference { file: file.clone(), line: u.found.line, tag: u.found.tag, digest: u.found.digest, variant: u.variant });
            }
        }
    }
    for r in read_reports(reports)? {
        add(&mut pins, r);
    }
    let n = pins.digests.values().chain(pins.tags.values()).map(Vec::len).sum::<usize>();
    if n > 0 {
        tracing::info!("gc keeps what {n} consumer references use ({} digests, {} tags)", pins.digests.len(), pins.tags.len());
    }
    Ok(pins)
}

/// The references of `usages --output json` reports; a report that cannot be read or is not
/// one is an error naming the file (and the line where it stops being one).
pub fn read_reports(reports: &[PathBuf]) -> Result<Vec<Reference>, CliError> {
    let mut out = Vec::new();
    for path in reports {
        let text = std::fs::read_to_string(path).map_err(|e| CliError::Input(format!("read usages report '{}': {}", path.display(), e.to_string().to_lowercase())))?;
        let doc: UsagesDoc = serde_json::from_str(&text).map_err(|e| {
            CliError::Input(format!("read usages report '{}' at line {}: not a `usages --output json` document ({e}); make it with `imgctl usages PATH… --output json`", path.display(), e.line()))
        })?;
        out.extend(doc.references);
    }
    Ok(out)
}
