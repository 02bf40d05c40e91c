//! `imgctl pin PATH… [--channel C] [--write]`: rewrite every reference to
//! `[host/]repository:tag@sha256:…` with the digest its tag (or channel C's tag of the
//! same variant) points at now; a unified diff unless `--write`. Only the reference text
//! changes. See `docs/CONSUMERS.md`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;

use imgctl_core::Fleet;
use imgctl_core::refs::{RefKind, Usage, pinned, rewrite};
use imgctl_registry::{Access, Registry};
use serde::Serialize;

use crate::commands::usages::scan_paths;
use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;
use crate::output::{Report, emit};
use crate::rollout;
use crate::workspace;

/// Arguments of `pin`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories (walked honouring .gitignore).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Pin to this channel's current digest (rewriting the tag to that channel's tag)
    /// [default: what each reference's own tag points at now].
    #[arg(long, value_name = "C")]
    pub channel: Option<String>,
    /// Write the files; without it, print a unified diff and change nothing.
    #[arg(long)]
    pub write: bool,
}

/// One reference's fate.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Pin {
    line: usize,
    column: usize,
    from: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FilePins {
    file: String,
    changed: bool,
    references: Vec<Pin>,
    #[serde(skip)]
    diff: String,
}

/// The `pin` document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    files: Vec<FilePins>,
    written: bool,
}

impl Report for Doc {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        for f in &self.files {
            if !self.written {
                w.write_all(f.diff.as_bytes())?;
            }
            for p in f.references.iter().filter(|p| p.skipped.is_some()) {
                writeln!(w, "{}:{}:{}: not pinned: {} ({})", f.file, p.line, p.column, p.from, p.skipped.as_deref().unwrap_or_default())?;
            }
        }
        let changed = self.files.iter().filter(|f| f.changed).count();
        let refs: usize = self.files.iter().map(|f| f.references.iter().filter(|p| p.to.is_some()).count()).sum();
        let outcome = match (changed, self.written) {
            (0, _) => "nothing to change".to_string(),
            (n, true) => format!("{} written", crate::output::plural(n, "file", "files")),
            (n, false) => format!("{} would change (pass --write)", crate::output::plural(n, "file", "files")),
        };
        crate::output::say(w, &format!("{} pinned in {}; {outcome}", crate::output::plural(refs, "reference", "references"), crate::output::plural(self.files.len(), "file", "files")))
    }
}

/// The tag to pin `u` to, or why it is left alone.
fn target_tag(fleet: &Fleet, u: &Usage, channel: Option<&str>) -> Result<String, String> {
    let tag = u.found.tag.clone().ok_or("a digest without a tag: nothing to follow")?;
    if u.kind == RefKind::Unknown {
        return Err("tag not of the tag schema".into());
    }
    let v = u.variant.as_deref().and_then(|n| fleet.variant(n)).ok_or("variant no longer in the manifest")?;
    let Some(c) = channel else { return Ok(tag) };
    let suffix = |name: &str| fleet.manifest.channels.get(name).map(|c| c.suffix.clone()).unwrap_or_default();
    match u.kind {
        RefKind::Alias => {
            let old = suffix(u.channel.as_deref().unwrap_or_default());
            Ok(format!("{}{}", tag.strip_suffix(old.as_str()).unwrap_or(&tag), suffix(c)))
        }
        _ => fleet.channel_tag(v, c).ok_or_else(|| format!("unknown channel '{c}'")),
    }
}

/// The name a diff header gives `path` after `a/` and `b/`: relative to the working folder
/// when it is inside it, else without its leading `/` (never `a//…`).
fn diff_name(path: &std::path::Path, cwd: Option<&std::path::Path>) -> String {
    let rel = cwd.and_then(|c| path.strip_prefix(c).ok()).unwrap_or(path);
    rel.display().to_string().trim_start_matches('/').to_string()
}

/// Runs `pin`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let fleet = workspace::require(env)?;
    if let Some(c) = &args.channel {
        crate::names::channel(&fleet, c).map_err(|e| CliError::Usage(e.to_string()))?;
    }
    let files = scan_paths(env, &fleet, &args.paths)?;
    let mut wanted: BTreeMap<String, Option<Result<String, String>>> = BTreeMap::new();
    for u in files.iter().flat_map(|f| &f.usages) {
        if let Ok(t) = target_tag(&fleet, u, args.channel.as_deref()) {
            wanted.insert(t, None);
        }
    }
    let client = rollout::connect(env, &fleet, Access::Pull)?;
    let repo = fleet.manifest.repository.clone();
    let resolved = crate::registry::block_on(async {
        for (tag, slot) in wanted.iter_mut() {
            *slot = Some(match client.resolve(&repo, tag).await {
                Ok(d) => Ok(d.digest),
                Err(e) if e.is_not_found() => Err(format!("{tag} does not exist in the registry")),
                Err(e) if e.is_access() => return Err(CliError::from(e)),
                Err(e) => Err(e.to_string()),
            });
        }
        Ok(wanted)
    })??;
    let mut missing = false;
    let mut out = Vec::new();
    for f in files {
        let file = f.path.display().to_string();
        let mut edits = Vec::new();
        let mut pins = Vec::new();
        for u in &f.usages {
            let mut p = Pin { line: u.found.line, column: u.found.column, from: u.found.reference.clone(), to: None, skipped: None };
            match target_tag(&fleet, u, args.channel.as_deref()).and_then(|t| match resolved.get(&t).cloned().flatten() {
                Some(Ok(d)) => Ok((t, d)),
                Some(Err(e)) => {
                    missing = true;
                    Err(e)
                }
                None => Err("not resolved".into()),
            }) {
                Ok((t, d)) => {
                    let new = pinned(&repo, u.found.host.as_deref(), &t, &d);
                    edits.push((u.found.span, new.clone()));
                    p.to = Some(new);
                }
                Err(why) => p.skipped = Some(why),
            }
            pins.push(p);
        }
        let new = rewrite(&f.text, &edits);
        let changed = new != f.text;
        let diff = if changed {
            let name = diff_name(&f.path, env.facts.cwd.as_deref());
            similar::TextDiff::from_lines(&f.text, &new).unified_diff().context_radius(2).header(&format!("a/{name}"), &format!("b/{name}")).to_string()
        } else {
            String::new()
        };
        if changed && args.write {
            std::fs::write(&f.path, &new).map_err(|e| CliError::Input(format!("write '{file}': {}", workspace::io_reason(&e))))?;
        }
        out.push(FilePins { file, changed, references: pins, diff });
    }
    emit(env, &Doc { files: out, written: args.write })?;
    Ok(if missing { exit::FAILED } else { exit::SUCCESS })
}
