//! `imgctl announce --results FILE --kind rollout|rollback [--site-url URL]`: tell the fleet
//! repository's issues what a promote or rollback run moved (an addition beyond SPEC §9,
//! which does not name how announcements are made; docs/OPERATIONS.md): the day's
//! `[ROLLOUT] DATE: N variants` issue, or a comment per rollback on `[ROLLBACK] VARIANT`.
//! FILE is the run's `--output json` document. Nothing moved, nothing announced; a rerun
//! finds what it announced before. Runs after the move and never undoes it.

use std::io::{self, Write};
use std::path::PathBuf;

use imgctl_core::announce::{self, Announcement, Links, Move};
use imgctl_registry::issues::IssuesClient;
use serde::Serialize;

use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::output::{Report, emit, say, table};

/// What the run was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A promotion: the day's `[ROLLOUT]` issue.
    Rollout,
    /// A rollback: a comment on the variant's `[ROLLBACK]` issue.
    Rollback,
}

/// Arguments of `announce`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run's `--output json` document (`{"results": [...]}` of promote or rollback).
    #[arg(long, value_name = "FILE")]
    pub results: PathBuf,
    /// What the run was.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// The fleet site's URL (its GitHub Pages address): each digest links to its page there.
    #[arg(long, value_name = "URL")]
    pub site_url: Option<String>,
    /// The GitHub repository whose issues are written [default: GITHUB_REPOSITORY].
    #[arg(long, value_name = "OWNER/NAME", env = "GITHUB_REPOSITORY", hide_env_values = true)]
    pub repository: Option<String>,
    /// Print the announcement's text; send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// A text that a dry run would send.
#[derive(Debug, Serialize)]
struct Text {
    title: String,
    body: String,
}

/// The report: what was announced where.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    kind: Kind,
    repository: String,
    moves: usize,
    announcements: Vec<Announcement>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dry_run: Vec<Text>,
}

#[derive(tabled::Tabled)]
struct Line {
    issue: String,
    action: String,
    title: String,
    url: String,
}

impl Report for Doc {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        if self.moves == 0 {
            return say(w, "nothing moved: nothing announced");
        }
        for t in &self.dry_run {
            writeln!(w, "{}\n\n{}", t.title, t.body)?;
        }
        if !self.dry_run.is_empty() {
            return say(w, &format!("dry run: nothing sent to {}", self.repository));
        }
        let rows = self.announcements.iter().map(|a| Line {
            issue: format!("#{}", a.issue),
            action: crate::output::word(a.action),
            title: a.title.clone(),
            url: a.url.clone(),
        });
        writeln!(w, "{}", table(rows))?;
        say(w, &format!("{} announced in {}", crate::output::plural(self.moves, "move", "moves"), self.repository))
    }
}

/// Runs `announce`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let repository = args.repository.clone().filter(|r| !r.is_empty()).ok_or_else(|| CliError::Usage("announce: name the repository with --repository OWNER/NAME (GitHub Actions sets GITHUB_REPOSITORY)".into()))?;
    if let Some(u) = &args.site_url
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        return Err(CliError::Usage(format!("announce: --site-url '{u}' is not an http(s) URL (e.g. https://OWNER.github.io/REPO/)")));
    }
    let path = args.results.display().to_string();
    let text = std::fs::read_to_string(&args.results).map_err(|e| CliError::Input(format!("read '{path}': {e}")))?;
    let moves = announce::moves(&text).map_err(|e| CliError::Input(format!("read '{path}': {e}")))?;
    let links = Links { site: args.site_url.clone(), run: env.facts.run_url.clone() };
    let now = env.now();
    let mut doc = Doc { kind: args.kind, repository: repository.clone(), moves: moves.len(), announcements: Vec::new(), dry_run: Vec::new() };
    if args.dry_run {
        doc.dry_run = texts(args.kind, &moves, now, &links);
    } else if !moves.is_empty() {
        let client = issues_client(env, &repository)?;
        let done = crate::registry::block_on(async {
            match args.kind {
                Kind::Rollout => imgctl_engine::announce::rollout(&client, now, &moves, &links).await,
                Kind::Rollback => imgctl_engine::announce::rollback(&client, now, &moves, &links).await,
            }
        })?;
        doc.announcements = done.map_err(|e| after_moves(e.into()))?;
    }
    emit(env, &doc)?;
    if !doc.announcements.is_empty() {
        let lines: String = doc.announcements.iter().map(|a| format!("- [{}]({}) (#{}): {}\n", a.title, a.url, a.issue, crate::output::word(a.action))).collect();
        crate::rollout::append_summary(env, &format!("### imgctl announce\n\n{lines}\n"));
    }
    Ok(crate::exit::SUCCESS)
}

/// What a dry run shows: the texts of a first announcement.
fn texts(kind: Kind, moves: &[Move], now: chrono::DateTime<chrono::Utc>, links: &Links) -> Vec<Text> {
    if moves.is_empty() {
        return Vec::new();
    }
    match kind {
        Kind::Rollout => vec![Text { title: announce::rollout_title(now.date_naive(), moves), body: announce::rollout_body(now.date_naive(), moves, links) }],
        Kind::Rollback => moves.iter().map(|m| Text { title: announce::rollback_title(&m.variant), body: announce::rollback_comment(m, now, links) }).collect(),
    }
}

/// The issues client: GitHub's API at `GITHUB_API_URL` with `IMGCTL_GITHUB_TOKEN` /
/// `GITHUB_TOKEN`, the global flags' timeouts, concurrency, CA trust and insecure hosts.
fn issues_client(env: &Env<'_>, repository: &str) -> Result<IssuesClient, CliError> {
    let opts = crate::registry::options(env, "api.github.com");
    Ok(IssuesClient::new(crate::registry::github_api(env, None), repository, &opts)?)
}

/// `e` saying that the moves stay and what a rerun does.
fn after_moves(e: CliError) -> CliError {
    let add = |m: String| format!("{m} (the moves themselves are done and stay; announce again once this is fixed: what was announced already is found, not repeated)");
    match e {
        CliError::Registry(m) => CliError::Registry(add(m)),
        CliError::Failed(m) => CliError::Failed(add(m)),
        other => other,
    }
}
