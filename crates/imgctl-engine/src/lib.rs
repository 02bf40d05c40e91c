//! imgctl's engine: the lifecycle operations (publish, promote, rollback, status,
//! history, gc) carried out against a [`Registry`], with the decisions taken by the
//! pure core. No terminal I/O, no environment: callers pass everything in and get
//! report structs back; progress goes through [`Progress`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use imgctl_core::fleet::{Fleet, Variant};
use imgctl_core::history::RepoHistory;
use imgctl_core::rollout::{Action, ActionResult};
use imgctl_core::tags::TagIndex;
use imgctl_registry::{Registry, RegistryError};

mod candidates;
pub mod announce;
pub mod changes;
pub mod gc;
mod gc_delete;
mod gc_others;
pub mod history;
pub mod layout;
pub mod lifecycle;
pub mod mirror;
mod mirror_sbom;
mod pending;
pub mod platform;
pub mod moves;
pub mod promote;
pub mod publish;
pub mod recheck;
pub mod records;
pub mod rollback;
pub mod sbom;
pub mod site;
mod site_digests;
pub mod status;
pub mod verify;

/// Why an operation could not run at all (per-variant failures are reported in results).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The registry failed in a way that stops the whole command.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Bad input (unknown variant or channel, unreadable image, …).
    #[error("{0}")]
    Input(String),
    /// The repository does not exist or holds no tag of the fleet: promote and status read
    /// nothing there, so the registry, repository or credentials are wrong (or nothing was
    /// published yet).
    #[error("find a tag of the fleet in repository '{repo}': {}", unpublished_reason(*.tags))]
    Unpublished {
        /// The repository.
        repo: String,
        /// How many tags it has (none of them of the fleet).
        tags: usize,
    },
}

/// Why [`EngineError::Unpublished`]: `the repository does not exist or has no tags`, `the repository has 3 tag(s), none of this fleet's variants`.
pub fn unpublished_reason(tags: usize) -> String {
    match tags {
        // a listing cannot tell them apart: the client reads a 404 as no tags, and
        // distribution lists an unknown repository as empty
        0 => "the repository does not exist or has no tags".into(),
        n => format!("the repository has {n} tag(s), none of this fleet's variants"),
    }
}

/// Reports progress of long operations (a bar on a terminal, lines in CI).
pub trait Progress: Send + Sync {
    /// The operation will touch `total` variants.
    fn start(&self, total: usize);
    /// One item (a variant, or a digest gc deletes) is done; `failed` when it failed or met
    /// a conflict.
    fn done(&self, item: &str, failed: bool);

    /// One result line is done.
    fn result(&self, r: &ActionResult) {
        self.done(&r.variant, matches!(r.action, Action::Failed | Action::Conflict));
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: usize) {}
    fn done(&self, _: &str, _: bool) {}
}

/// What every operation works on.
pub struct Ctx<'a, R: Registry> {
    /// The registry client.
    pub registry: &'a R,
    /// The manifest's repository (`team/images`).
    pub repo: &'a str,
    /// The fleet (manifest at the relevant revision).
    pub fleet: &'a Fleet,
    /// When the command started (the real time, or `IMGCTL_NOW`).
    pub now: DateTime<Utc>,
    /// The monotonic instant matching `now`; `None` for a frozen clock (`IMGCTL_NOW`).
    pub started: Option<std::time::Instant>,
    /// Variants in flight at once.
    pub concurrency: usize,
    /// Plan only, change nothing.
    pub dry_run: bool,
    /// Progress sink.
    pub progress: &'a dyn Progress,
    /// Mirrors every move is repeated on, after the primary (SPEC §8).
    pub mirrors: &'a [mirror::Mirror<'a, R>],
    /// The verification gate `promote` runs (None: no verifier, e.g. `--skip-verify`).
    pub gate: Option<&'a verify::Gate<'a>>,
    /// Promotion records: attached to every move's digest when set (manifest `records:`).
    pub records: Option<&'a records::Recorder>,
}

impl<R: Registry> std::fmt::Debug for Ctx<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("repo", &self.repo).field("dry_run", &self.dry_run).finish_non_exhaustive()
    }
}

impl<'a, R: Registry> Ctx<'a, R> {
    /// The note of a move for its record (None with records off).
    pub fn note(&self, from: Option<&str>, kind: &'static str, reason: impl Into<String>, source_id: Option<&str>) -> Option<records::Note<'a>> {
        self.records.map(|recorder| records::Note { recorder, from: from.map(str::to_string), kind, reason: reason.into(), source_id: source_id.map(str::to_string) })
    }

    /// The same context over another fleet (a promotion step at another revision).
    pub fn with_fleet(&self, fleet: &'a Fleet) -> Ctx<'a, R> {
        Ctx {
            registry: self.registry,
            repo: self.repo,
            fleet,
            now: self.now,
            started: self.started,
            concurrency: self.concurrency,
            dry_run: self.dry_run,
            progress: self.progress,
            mirrors: self.mirrors,
            gate: self.gate,
            records: self.records,
        }
    }

    /// The time to record a move made now: `now` plus the time the command has run, so a
    /// long run (or a race with another writer that started later) records moves in the
    /// order they happened.
    pub fn move_time(&self) -> DateTime<Utc> {
        match self.started {
            Some(t) => self.now + chrono::TimeDelta::from_std(t.elapsed()).unwrap_or_default(),
            None => self.now,
        }
    }

    /// The repository's tags (none when the repository does not exist yet).
    pub async fn list_tags(&self) -> Result<Vec<String>, EngineError> {
        match self.registry.list_tags(self.repo).await {
            Ok(t) => Ok(t),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// [`Self::snapshot`] for the commands that read what was published (promote,
    /// status): a repository that does not exist or has no tag of the fleet is an error
    /// ([`EngineError::Unpublished`]) rather than every variant skipped.
    pub async fn published_snapshot(&self) -> Result<RepoHistory, EngineError> {
        let tags = self.list_tags().await?;
        let index = TagIndex::new(self.fleet);
        let history = RepoHistory::from_tags(self.fleet, &index, &tags);
        if history.variants.is_empty() {
            return Err(EngineError::Unpublished { repo: self.repo.to_string(), tags: tags.len() });
        }
        Ok(history)
    }

    /// Lists the repository's tags once and sorts them into histories.
    pub async fn snapshot(&self) -> Result<RepoHistory, EngineError> {
        let tags = self.list_tags().await?;
        let index = TagIndex::new(self.fleet);
        Ok(RepoHistory::from_tags(self.fleet, &index, &tags))
    }
}

/// Source ids by variant name, as computed for one revision.
pub type SourceIds = HashMap<String, String>;

/// Each variant's source ids along a promoting branch's first-parent history, newest (the
/// tip's) first: the builds a promotion may pick from (SPEC §9).
pub type Lineage = HashMap<String, Vec<String>>;

/// A result line for `v`.
pub fn result(v: &Variant, channel: Option<&str>, action: Action) -> ActionResult {
    ActionResult { variant: v.name.clone(), channel: channel.map(str::to_string), from: None, to: None, action, reason: None, uploaded_bytes: None, mirror: None, blocked_by: None, note: None }
}

/// Whether a registry error should stop the whole command (unreachable, auth).
pub fn is_fatal(e: &RegistryError) -> bool {
    e.is_access()
}
