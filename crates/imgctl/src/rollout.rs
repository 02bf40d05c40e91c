//! What the mutating commands share: connecting to the registry for the manifest's
//! repository, loading the fleet and source ids at a revision, the per-variant result
//! table (human, JSON and the GitHub step summary) and progress.

use std::io::{self, Write};

use imgctl_core::Fleet;
use imgctl_core::rollout::{Action, ActionResult};
use imgctl_engine::{Ctx, EngineError, Progress, SourceIds};
use imgctl_git::Repo;
use imgctl_registry::{Access, RegistryClient};
use serde::Serialize;
use tabled::Tabled;

use crate::commands::plan::git_error;
use crate::env::Env;
use crate::error::CliError;
use crate::exit;
use crate::output::{Report, emit, table};

/// The registry host: `--registry`, else the manifest's.
pub fn registry_host(env: &Env<'_>, fleet: &Fleet) -> String {
    env.global.registry.clone().unwrap_or_else(|| fleet.manifest.registry.clone())
}

/// Connects to the fleet's registry, authenticated for its repository up front.
pub fn connect(env: &Env<'_>, fleet: &Fleet, access: Access) -> Result<RegistryClient, CliError> {
    let host = registry_host(env, fleet);
    crate::registry::block_on(crate::registry::connect(env, &host, &fleet.manifest.repository, access, fleet.manifest.registry_kind))?
}

/// The git repository holding `--manifest`.
pub fn repo(env: &Env<'_>) -> Result<Repo, CliError> {
    crate::workspace::manifest_file(env)?;
    Repo::open_for(&env.global.manifest).map_err(git_error)
}

/// The fleet and source ids at `rev` (the working tree when `None`).
pub fn snapshot(repo: &Repo, rev: Option<&str>) -> Result<(Fleet, SourceIds), CliError> {
    let snap = match rev {
        Some(r) => repo.snapshot_at(r),
        None => repo.snapshot_worktree(),
    }
    .map_err(git_error)?
    .ok_or_else(|| CliError::Input(format!("read the manifest at {}: it does not exist there", rev.unwrap_or("the working tree"))))?;
    let ids = snap.fleet.variants.iter().filter_map(|v| snap.ids.ids.get(&v.name).map(|id| (v.name.clone(), id.clone()))).collect();
    Ok((snap.fleet, ids))
}

/// Resolves the revision a promoted channel follows: `rev`, else the channel's branch
/// (or the nearest one up its chain, SPEC §9): the local branch or `origin/<branch>`,
/// whichever is newer when one contains the other (the local one where they diverged).
pub fn promotion_ref(repo: &Repo, fleet: &Fleet, channel: &str, rev: Option<&str>) -> Result<String, CliError> {
    if let Some(r) = rev {
        return Ok(r.to_string());
    }
    let branch = imgctl_core::chain::promotion_branch(&fleet.manifest.channels, channel).ok_or_else(|| {
        CliError::Usage(format!("choose a revision: channel '{channel}' (and the channels it promotes from) names no branch, so pass --ref REV"))
    })?;
    let remote = format!("origin/{branch}");
    match (repo.resolve(&branch).ok(), repo.resolve(&remote).ok()) {
        // a CI checkout's local branch lags behind origin after a push: the newer one, when
        // one contains the other; where they diverged, the local branch
        (Some(local), Some(origin)) if local != origin && repo.is_ancestor(&local, &origin).unwrap_or(false) => Ok(remote),
        (Some(_), _) => Ok(branch),
        (None, Some(_)) => Ok(remote),
        (None, None) => Err(CliError::Input(format!("resolve the '{channel}' channel's branch: neither '{branch}' nor '{remote}' exists (fetch it, or pass --ref REV)"))),
    }
}

/// The fleet at `rev` and each variant's source ids along its first-parent history
/// (the builds a promotion may pick from, SPEC §9).
pub fn lineage(repo: &Repo, rev: &str) -> Result<imgctl_git::Lineage, CliError> {
    repo.lineage(rev, imgctl_git::WalkLimits::default())
        .map_err(git_error)?
        .ok_or_else(|| CliError::Input(format!("read the manifest at {rev}: it does not exist there")))
}

/// `production (3f9a0c1)`: a revision and its short commit, for messages.
pub fn rev_label(repo: &Repo, rev: &str) -> String {
    match repo.resolve(rev) {
        Ok(c) if !rev.starts_with(&c[..7.min(c.len())]) => format!("{rev} ({})", &c[..7.min(c.len())]),
        _ => rev.to_string(),
    }
}

/// A variant and one of its channels, as `rollback` and `history` take them.
#[derive(Debug, Clone, clap::Args)]
pub struct VariantChannel {
    /// The variant (its base tag).
    #[arg(value_name = "VARIANT")]
    pub variant: String,
    /// Channel [default: the channel consumers use: the end of the promotion chain, e.g. latest].
    #[arg(long, value_name = "C")]
    pub channel: Option<String>,
}

/// The variant `name` names (its base tag or any tag of it), or a clear error.
pub fn find_variant<'f>(fleet: &'f Fleet, name: &str) -> Result<&'f imgctl_core::Variant, CliError> {
    crate::names::variant(fleet, name)
}

/// `channel`, or the channel consumers use (the end of the promotion chain, e.g.
/// `latest`); checked to exist.
pub fn channel_or_promoted(fleet: &Fleet, channel: Option<String>) -> Result<String, CliError> {
    let channel = match channel {
        Some(c) => c,
        None => imgctl_core::chain::consumer_channel(&fleet.manifest.channels).ok_or_else(|| CliError::Input("find a channel with promotesFrom (pass --channel)".into()))?,
    };
    crate::names::channel(fleet, &channel)
}

/// Maps an engine error to the CLI's.
pub fn engine_error(e: EngineError) -> CliError {
    match e {
        EngineError::Registry(r) => r.into(),
        EngineError::Input(s) => CliError::Input(s),
        e @ EngineError::Unpublished { .. } => CliError::Failed(e.to_string()),
    }
}

/// [`engine_error`] naming the registry `host` and what to check when the repository
/// holds nothing of the fleet (promote, status).
pub fn engine_error_at(host: &str, e: EngineError) -> CliError {
    match e {
        EngineError::Unpublished { repo, tags } => CliError::Failed(format!(
            "find a tag of the fleet in repository '{repo}' on registry '{host}': {} — check the registry (manifest `registry`, --registry), the repository (manifest `repository`) and the credentials; a new fleet must publish first (`imgctl publish`)",
            imgctl_engine::unpublished_reason(tags)
        )),
        e => engine_error(e),
    }
}

/// The document of `publish`, `promote`, `rollback` and `gc` (SPEC §4.1).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultsReport {
    /// One line per variant (and channel).
    pub results: Vec<ActionResult>,
    /// True when nothing was changed (`--dry-run`).
    pub dry_run: bool,
    /// A `--force` run: a variant it could not move fails the run (SPEC §9).
    #[serde(skip)]
    pub forced: bool,
}

/// `sha256:9b15c8e0a7d2` for display.
pub fn short(d: &Option<String>) -> String {
    d.as_deref().map(|d| d.get(..19).unwrap_or(d).to_string()).unwrap_or_else(|| "-".into())
}

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "VARIANT")]
    variant: String,
    #[tabled(rename = "CHANNEL")]
    channel: String,
    #[tabled(rename = "FROM")]
    from: String,
    #[tabled(rename = "TO")]
    to: String,
    #[tabled(rename = "ACTION")]
    action: String,
    #[tabled(rename = "REASON")]
    reason: String,
}

impl ResultsReport {
    fn rows(&self) -> impl Iterator<Item = Row> + '_ {
        self.results.iter().map(|r| Row {
            variant: r.variant.clone(),
            channel: match (&r.channel, &r.mirror) {
                (c, Some(m)) => format!("{} @ {m}", c.as_deref().unwrap_or("-")),
                (Some(c), None) => c.clone(),
                (None, None) => "-".into(),
            },
            from: short(&r.from),
            to: short(&r.to),
            action: crate::output::word(r.action),
            reason: match (&r.reason, &r.note) {
                (Some(why), Some(note)) => format!("{why} (\"{note}\")"),
                (why, note) => why.clone().or_else(|| note.clone()).unwrap_or_default(),
            },
        })
    }

    /// 1 when any variant (or mirror) failed, met a conflict, or failed its verification.
    pub fn exit_code(&self) -> u8 {
        let bad = |r: &ActionResult| {
            matches!(r.action, Action::Failed | Action::Conflict)
                || r.blocked_by == Some(imgctl_core::rollout::BlockedBy::Verification)
                || (self.forced && r.action == Action::Skipped && r.mirror.is_none())
        };
        if self.results.iter().any(bad) { exit::FAILED } else { exit::SUCCESS }
    }

    /// The Markdown form for the GitHub step summary.
    pub fn markdown(&self, title: &str) -> String {
        self.markdown_with(title, MOVES)
    }

    /// Rows with `words.action` for a move.
    fn worded_rows<'a>(&'a self, words: Words<'a>) -> impl Iterator<Item = Row> + 'a {
        let moved = crate::output::word(Action::Moved);
        self.rows().map(move |r| if r.action == moved { Row { action: words.action.to_string(), ..r } } else { r })
    }

    /// [`Self::markdown`] with `words.action` for a move (`mark-eol`: `marked`).
    pub fn markdown_with(&self, title: &str, words: Words<'_>) -> String {
        let mut s = format!("### imgctl {title}{}\n\n| variant | channel | from | to | action | reason |\n|---|---|---|---|---|---|\n", if self.dry_run { " (dry run)" } else { "" });
        for r in self.worded_rows(words) {
            s.push_str(&format!("| `{}` | {} | `{}` | `{}` | **{}** | {} |\n", r.variant, r.channel, r.from, r.to, r.action, r.reason.replace('|', "\\|")));
        }
        s.push('\n');
        s
    }
}

/// The words a results table uses for a move and for nothing to do (`mark-eol` marks).
#[derive(Debug, Clone, Copy)]
pub struct Words<'a> {
    /// The ACTION cell of a move.
    pub action: &'a str,
    /// A move in the summary line.
    pub moved: &'a str,
    /// Nothing to do in the summary line.
    pub unchanged: &'a str,
}

/// The words of publish, promote and rollback.
pub const MOVES: Words<'static> = Words { action: "moved", moved: "moved", unchanged: "unchanged" };

impl ResultsReport {
    /// The human form: the table, then `229 variants: 12 moved, 200 unchanged, 17 skipped`
    /// (mirrors' rows counted apart).
    pub fn human_with(&self, w: &mut dyn Write, words: Words<'_>) -> io::Result<()> {
        writeln!(w, "{}", table(self.worded_rows(words)))?;
        let line = |rows: &[&ActionResult], what: &str| {
            let count = |a| rows.iter().filter(|r| r.action == a).count();
            let variants = rows.iter().map(|r| r.variant.as_str()).collect::<std::collections::BTreeSet<_>>().len();
            crate::output::summary(
                &crate::output::plural(variants, &format!("{what}variant"), &format!("{what}variants")),
                &[
                    (count(Action::Moved), words.moved),
                    (count(Action::Unchanged), words.unchanged),
                    (count(Action::Skipped), "skipped"),
                    (count(Action::Conflict), "conflict"),
                    (count(Action::Failed), "failed"),
                ],
            )
        };
        let (primary, mirrors): (Vec<&ActionResult>, Vec<&ActionResult>) = self.results.iter().partition(|r| r.mirror.is_none());
        let mut text = format!("{}{}", if self.dry_run { "dry run (nothing changed): " } else { "" }, line(&primary, ""));
        if !mirrors.is_empty() {
            text.push_str(&format!("; mirrors: {}", line(&mirrors, "mirrored ")));
        }
        crate::output::say(w, &text)
    }
}

impl Report for ResultsReport {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        self.human_with(w, MOVES)
    }
}

/// Prints `report`, appends it to `GITHUB_STEP_SUMMARY` when set, and returns the exit code.
pub fn finish(env: &mut Env<'_>, title: &str, report: &ResultsReport) -> Result<u8, CliError> {
    emit(env, report)?;
    append_summary(env, &report.markdown(title));
    Ok(report.exit_code())
}

/// Appends Markdown to the GitHub step summary, if there is one (failures are logged).
pub fn append_summary(env: &Env<'_>, markdown: &str) {
    let Some(path) = &env.facts.step_summary else { return };
    let result = std::fs::OpenOptions::new().create(true).append(true).open(path).and_then(|mut f| f.write_all(markdown.as_bytes()));
    if let Err(e) = result {
        tracing::warn!("could not append to GITHUB_STEP_SUMMARY '{}': {e}", path.display());
    }
}

/// The engine context for a command.
pub fn ctx<'a>(env: &Env<'_>, client: &'a RegistryClient, fleet: &'a Fleet, dry_run: bool, progress: &'a dyn Progress) -> Ctx<'a, RegistryClient> {
    Ctx {
        registry: client,
        repo: &fleet.manifest.repository,
        fleet,
        now: env.now(),
        started: env.facts.now.is_none().then(std::time::Instant::now),
        concurrency: usize::from(env.global.concurrency),
        dry_run,
        progress,
        mirrors: &[],
        gate: None,
        records: None,
    }
}

/// Clients for the fleet's mirrors (none usable is not an error: their rows fail).
pub fn connect_mirrors(env: &Env<'_>, fleet: &Fleet, access: Access) -> Result<Vec<crate::mirrors::MirrorClient>, CliError> {
    let host = registry_host(env, fleet);
    crate::registry::block_on(crate::mirrors::connect(env, fleet, &host, access))
}
