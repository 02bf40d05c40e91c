//! `imgctl usages PATH…`: which files use which image — every reference to the
//! manifest's repository in the files under PATH (walked as git would, honouring
//! `.gitignore`), with variant, OS, tag kind, pin and EOL. See `docs/CONSUMERS.md`.

use std::io::{self, Write};
use std::path::PathBuf;

use imgctl_core::Fleet;
use imgctl_core::load::MAX_INPUT_BYTES;
use imgctl_core::refs::{Scanner, Usage, classify};
use imgctl_core::tags::TagIndex;
use serde::Serialize;
use tabled::Tabled;

use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;
use crate::output::{Report, emit, table};
use crate::workspace;

/// Arguments of `usages`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories to scan (directories are walked honouring .gitignore).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Exit 1 when any reference has a finding (unknown tag, removed variant, EOL).
    #[arg(long)]
    pub strict: bool,
    /// Also ask the registry which pinned digests are marked end of life (`mark-eol`) and
    /// name what replaces each (its channel's current digest).
    #[arg(long)]
    pub eol_marks: bool,
}

/// One scanned file with its references.
#[derive(Debug)]
pub struct FileRefs {
    /// The path as walked.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// Its references, in order.
    pub usages: Vec<Usage>,
}

/// Walks `paths` (honouring .gitignore, including hidden directories such as
/// `.github` and `.devcontainer`, never `.git`) and scans every UTF-8 text file.
pub fn scan_paths(env: &Env<'_>, fleet: &Fleet, paths: &[PathBuf]) -> Result<Vec<FileRefs>, CliError> {
    let mut hosts = vec![fleet.manifest.registry.clone()];
    hosts.extend(env.global.registry.clone());
    let scanner = Scanner::new(&fleet.manifest.repository, &hosts);
    let index = TagIndex::new(fleet);
    let today = env.now().date_naive();
    let eol_of = |os: &str| fleet.os.definitions.iter().find(|d| d.id == os).and_then(|d| d.eol);
    // read the manifest's history only when a tag names a variant not in the manifest
    let history = std::cell::OnceCell::new();
    let existed = |name: &str| history.get_or_init(|| variants_in_history(env)).contains(name);
    let mut out = Vec::new();
    for root in paths {
        if !root.exists() {
            return Err(CliError::Input(format!("read '{}': no such file or directory", root.display())));
        }
        let walk = ignore::WalkBuilder::new(root)
            .hidden(false)
            .require_git(false)
            .filter_entry(|e| e.file_name() != ".git")
            .sort_by_file_name(|a, b| a.cmp(b))
            .build();
        for entry in walk {
            let entry = entry.map_err(|e| CliError::Input(format!("walk '{}': {}", root.display(), e.to_string().to_lowercase())))?;
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.path();
            if std::fs::metadata(path).map(|m| m.len() > MAX_INPUT_BYTES as u64).unwrap_or(true) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(path) else { continue };
            if text.contains('\0') {
                continue;
            }
            let usages: Vec<Usage> = scanner.scan(&text).into_iter().map(|f| classify(&index, f, eol_of, today, &existed)).collect();
            if !usages.is_empty() {
                out.push(FileRefs { path: path.to_path_buf(), text, usages });
            }
        }
    }
    Ok(out)
}

/// Every variant the manifest had in its git history (none outside a repository).
fn variants_in_history(env: &Env<'_>) -> std::collections::BTreeSet<String> {
    match crate::rollout::repo(env).and_then(|r| r.variants_in_history().map_err(super::plan::git_error)) {
        Ok(names) => names,
        Err(e) => {
            tracing::info!("no manifest history to tell removed variants from unknown tags: failed to {e}");
            Default::default()
        }
    }
}

/// One reference with its file (SPEC §4.1-style `usages` document entry).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    file: String,
    #[serde(flatten)]
    usage: Usage,
    /// The end-of-life date of the lifecycle mark on the pinned digest (`--eol-marks`).
    #[serde(skip_serializing_if = "Option::is_none")]
    end_of_life_marked: Option<chrono::NaiveDate>,
    /// What replaces a pin to a marked digest: `repo:channel-tag@digest` as it is now; for
    /// a retired variant, `repo:tag` of its replacement (`replacedBy`) on the same channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    replaced_by: Option<String>,
}

/// The `usages` document: `{"references": [...]}`.
#[derive(Debug, Serialize)]
struct Doc {
    references: Vec<Entry>,
}

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "WHERE")]
    at: String,
    #[tabled(rename = "REFERENCE")]
    reference: String,
    #[tabled(rename = "VARIANT")]
    variant: String,
    #[tabled(rename = "OS")]
    os: String,
    #[tabled(rename = "KIND")]
    kind: String,
    #[tabled(rename = "PINNED")]
    pinned: String,
    #[tabled(rename = "FINDINGS")]
    findings: String,
}

impl Report for Doc {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        let rows = self.references.iter().map(|e| Row {
            at: format!("{}:{}:{}", e.file, e.usage.found.line, e.usage.found.column),
            reference: e.usage.found.reference.clone(),
            variant: e.usage.variant.clone().unwrap_or_else(|| "-".into()),
            os: e.usage.os.clone().unwrap_or_else(|| "-".into()),
            kind: crate::output::word(e.usage.kind),
            pinned: if e.usage.pinned { "yes".into() } else { "no".into() },
            findings: match (e.usage.findings.is_empty(), e.usage.eol) {
                (true, _) => "-".into(),
                (false, Some(eol)) => format!("{} (EOL {eol})", e.usage.findings.join(", ")),
                (false, None) => e.usage.findings.join(", "),
            } + &e.usage.did_you_mean.as_ref().map(|t| format!(" (did you mean '{t}'?)")).unwrap_or_default(),
        });
        writeln!(w, "{}", table(rows))?;
        let unpinned = self.references.iter().filter(|e| !e.usage.pinned).count();
        let findings = self.references.iter().filter(|e| !e.usage.findings.is_empty()).count();
        crate::output::say(w, &format!("{} references, {unpinned} not pinned, {findings} with findings", self.references.len()))
    }
}

/// Runs `usages`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let fleet = workspace::require(env)?;
    let files = scan_paths(env, &fleet, &args.paths)?;
    let mut references: Vec<Entry> = files
        .into_iter()
        .flat_map(|f| {
            let file = f.path.display().to_string();
            f.usages.into_iter().map(move |usage| Entry { file: file.clone(), usage, end_of_life_marked: None, replaced_by: None })
        })
        .collect();
    if args.eol_marks {
        mark_eol_pins(env, &fleet, &mut references)?;
    }
    flag_retired(env, &fleet, &mut references);
    let failed = args.strict && references.iter().any(|e| !e.usage.findings.is_empty());
    emit(env, &Doc { references })?;
    Ok(if failed { exit::FAILED } else { exit::SUCCESS })
}

/// Flags references to retired variants, naming what replaces each (`replacedBy`) on the
/// same channel.
fn flag_retired(env: &Env<'_>, fleet: &Fleet, refs: &mut [Entry]) {
    let today = env.now().date_naive();
    for e in refs {
        let Some(v) = e.usage.variant.as_deref().and_then(|v| fleet.variant(v)) else { continue };
        let Some(date) = v.spec.retired else { continue };
        let retired = imgctl_core::eol::retired_reason(date, today);
        match imgctl_core::eol::replacement_tag(fleet, v, e.usage.channel.as_deref()) {
            Some(tag) => {
                let with = format!("{}:{tag}", fleet.manifest.repository);
                e.usage.findings.push(format!("retired: {} is {retired}; replaced by {with}", v.name));
                e.replaced_by = Some(with);
            }
            None => e.usage.findings.push(format!("retired: {} is {retired}; the manifest names no replacement", v.name)),
        }
    }
}

/// Looks up the lifecycle mark of every pinned digest (one referrers read each) and, for a
/// marked one, what its channel points at now (one HEAD per channel tag).
fn mark_eol_pins(env: &Env<'_>, fleet: &Fleet, refs: &mut [Entry]) -> Result<(), CliError> {
    let client = crate::rollout::connect(env, fleet, imgctl_registry::Access::Pull)?;
    let repo = fleet.manifest.repository.clone();
    crate::registry::block_on(async {
        let mut marks = std::collections::BTreeMap::new();
        let mut heads = std::collections::BTreeMap::new();
        for e in refs.iter_mut() {
            let Some(digest) = e.usage.found.digest.clone() else { continue };
            if !marks.contains_key(&digest) {
                let list = imgctl_registry::referrers::list(&client, &repo, &digest).await?;
                marks.insert(digest.clone(), imgctl_engine::records::lifecycle_date(&list));
            }
            let Some(date) = marks[&digest] else { continue };
            e.end_of_life_marked = Some(date);
            let variant = e.usage.variant.as_deref().and_then(|v| fleet.variant(v));
            let channel = e.usage.channel.clone().or_else(|| imgctl_engine::promote::default_channel(fleet));
            let replacement = match (variant, channel.and_then(|c| variant.and_then(|v| fleet.channel_tag(v, &c)))) {
                (Some(_), Some(tag)) => {
                    if !heads.contains_key(&tag) {
                        heads.insert(tag.clone(), imgctl_engine::moves::current(&client, &repo, &tag).await?);
                    }
                    heads[&tag].clone().map(|d| format!("{repo}:{tag}@{d}"))
                }
                _ => None,
            };
            let finding = match &replacement {
                Some(r) => format!("eol-marked: the pinned digest is end of life since {date}; replace with {r}"),
                None => format!("eol-marked: the pinned digest is end of life since {date}"),
            };
            e.usage.findings.push(finding);
            e.replaced_by = replacement;
        }
        Ok::<_, CliError>(())
    })?
}
