//! Announcements (pure): what a rollout's `[ROLLOUT] DATE: N variants` issue and a rollback's
//! comment on its `[ROLLBACK] VARIANT` issue say, read from the moves of a promote or
//! rollback run (its `{"results": […]}`, SPEC §4.1), and which issue or comment a rerun
//! finds instead of making a second one. The engine sends them (`engine::announce`); the
//! format is in docs/OPERATIONS.md.
//!
//! Keys: a rollout issue is the open issue labelled [`ROLLOUT_LABEL`] whose title starts with
//! `[ROLLOUT] DATE:`; its body's table is also its record, read back ([`rollout_rows`]) and
//! merged with a rerun's moves. A rollback comment carries a hidden key (variant, channel,
//! from, to and the workflow run's id, which every re-run attempt of a run shares), so the
//! same rollback announced again finds its comment, while a later rollback between the same
//! digests (another run) gets its own.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The label of rollout issues.
pub const ROLLOUT_LABEL: &str = "imgctl-rollout";
/// The label of rollback issues.
pub const ROLLBACK_LABEL: &str = "imgctl-rollback";
/// The most characters GitHub takes in an issue's or a comment's body.
pub const MAX_BODY_CHARS: usize = 65536;

/// One move of a channel to another digest, as announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    /// The variant.
    pub variant: String,
    /// The channel moved.
    pub channel: String,
    /// The digest before (absent for a channel's first digest).
    pub from: Option<String>,
    /// The digest after.
    pub to: String,
    /// Why, in words (for a rollback: the operator's reason when one was given).
    pub reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultsDoc {
    results: Vec<Row>,
    #[serde(default)]
    dry_run: bool,
}

#[derive(Deserialize)]
struct Row {
    variant: String,
    channel: Option<String>,
    from: Option<String>,
    to: Option<String>,
    action: String,
    reason: Option<String>,
    note: Option<String>,
    mirror: Option<String>,
}

/// The moves of a promote or rollback run's JSON document: its `moved` rows of the primary
/// registry (mirrors follow it), none for a dry run. An error says where the JSON is wrong.
pub fn moves(json: &str) -> Result<Vec<Move>, String> {
    let doc: ResultsDoc = serde_json::from_str(json).map_err(|e| format!("line {} column {}: {e} (expected the `--output json` document of promote or rollback: {{\"results\": [...]}})", e.line(), e.column()))?;
    if doc.dry_run {
        return Ok(Vec::new());
    }
    Ok(doc
        .results
        .into_iter()
        .filter(|r| r.action == "moved" && r.mirror.is_none())
        .filter_map(|r| Some(Move { variant: r.variant, channel: r.channel?, from: r.from.filter(|f| !f.is_empty()), to: r.to?, reason: r.note.or(r.reason).filter(|s| !s.trim().is_empty()) }))
        .collect())
}

/// Where an announcement links to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The fleet site's base URL (`--site-url`): digests link to their pages there.
    pub site: Option<String>,
    /// The workflow run that moved them.
    pub run: Option<String>,
}

impl Links {
    /// The site's page of `digest` (`SITE/digests/sha256-HEX.html`).
    pub fn digest_page(&self, digest: &str) -> Option<String> {
        Some(format!("{}/{}", self.site.as_deref()?.trim_end_matches('/'), crate::site_paths::digest(digest)))
    }

    /// The workflow run's id (`…/actions/runs/ID`), `-` without a run.
    pub fn run_id(&self) -> &str {
        self.run.as_deref().and_then(|r| r.split("/runs/").nth(1)).and_then(|r| r.split('/').next()).filter(|r| !r.is_empty()).unwrap_or("-")
    }

    /// The site's page of `variant` (`SITE/variants/VARIANT.html`).
    pub fn variant_page(&self, variant: &str) -> Option<String> {
        Some(format!("{}/{}", self.site.as_deref()?.trim_end_matches('/'), crate::site_paths::variant(variant)))
    }
}

/// An issue as the announcer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueView {
    /// Its number.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its body.
    pub body: String,
}

/// What was done to announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A new issue.
    Created,
    /// The issue's body (and title) now list the run's moves too.
    Updated,
    /// The issue already said all of it.
    Unchanged,
    /// A comment was added.
    Commented,
    /// The comment was there already.
    AlreadyCommented,
}

/// One announcement made (or found made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Announcement {
    /// `rollout` or `rollback`.
    pub kind: String,
    /// The issue's number.
    pub issue: u64,
    /// The issue's title.
    pub title: String,
    /// What was done.
    pub action: Action,
    /// Where it is (the issue's or the comment's page).
    pub url: String,
    /// Moves announced by this run.
    pub moves: usize,
}

/// `[ROLLOUT] 2026-12-09:` — what every title of that day's rollout starts with.
pub fn rollout_prefix(date: NaiveDate) -> String {
    format!("[ROLLOUT] {}:", date.format("%Y-%m-%d"))
}

/// `[ROLLOUT] 2026-12-09: 14 variants`.
pub fn rollout_title(date: NaiveDate, moves: &[Move]) -> String {
    let n = moves.iter().map(|m| m.variant.as_str()).collect::<BTreeSet<_>>().len();
    format!("{} {n} variant{}", rollout_prefix(date), if n == 1 { "" } else { "s" })
}

/// `&`, `<`, `|` and line breaks made safe in a table cell (no HTML, no cell breaks).
fn cell(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('|', "\\|").replace(['\r', '\n'], " ")
}

fn uncell(text: &str) -> String {
    text.replace("\\|", "|").replace("&lt;", "<").replace("&amp;", "&")
}

fn code(text: &str) -> String {
    format!("`{text}`")
}

const TABLE_HEAD: &str = "| variant | channel | from | to | what changed | reason |\n|---|---|---|---|---|---|\n";

fn row(m: &Move, links: &Links) -> String {
    let changes = links.digest_page(&m.to).map_or_else(|| "—".to_owned(), |u| format!("[changes]({u})"));
    let from = m.from.as_deref().map_or_else(|| "—".to_owned(), code);
    format!("| {} | {} | {from} | {} | {changes} | {} |\n", code(&m.variant), cell(&m.channel), code(&m.to), m.reason.as_deref().map_or_else(|| "—".to_owned(), cell))
}

/// The rollout issue's body: a hidden key, what moved (variant, channel, from → to whole
/// digests, a link to what changed on the fleet site, why), the run. Rows past GitHub's
/// 65,536 characters are counted, not listed.
pub fn rollout_body(date: NaiveDate, moves: &[Move], links: &Links) -> String {
    let day = date.format("%Y-%m-%d");
    let mut head = format!("<!-- imgctl:rollout {day} -->\nWhat imgctl moved on {day} (UTC), one row per channel move; digests are whole.");
    if let Some(site) = &links.site {
        head.push_str(&format!(" The fleet: [{site}]({site})."));
    }
    head.push_str("\n\n");
    head.push_str(TABLE_HEAD);
    let foot = links.run.as_ref().map(|r| format!("\nAnnounced from [the workflow run]({r}).\n")).unwrap_or_default();
    let budget = MAX_BODY_CHARS.saturating_sub(head.chars().count() + foot.chars().count() + 300);
    let (mut rows, mut used, mut shown) = (String::new(), 0, 0);
    for m in moves {
        let r = row(m, links);
        let n = r.chars().count();
        if used + n > budget {
            break;
        }
        rows.push_str(&r);
        used += n;
        shown += 1;
    }
    let mut body = head + &rows;
    if shown < moves.len() {
        body.push_str(&format!("\n…and {} more moves, not listed: GitHub takes at most {MAX_BODY_CHARS} characters in an issue (the run's step summary lists every move).\n", moves.len() - shown));
    }
    body + &foot
}

/// The moves listed in a rollout body's table (what [`rollout_body`] wrote).
pub fn rollout_rows(body: &str) -> Vec<Move> {
    body.lines().filter(|l| l.starts_with("| `")).filter_map(parse_row).collect()
}

fn parse_row(line: &str) -> Option<Move> {
    let mut cells = Vec::new();
    let (mut cur, mut prev) = (String::new(), ' ');
    for c in line.trim().trim_start_matches('|').chars() {
        if c == '|' && prev != '\\' {
            cells.push(cur.trim().to_owned());
            cur.clear();
        } else {
            cur.push(c);
        }
        prev = c;
    }
    let [variant, channel, from, to, _, reason] = <[String; 6]>::try_from(cells).ok()?;
    let uncode = |s: &str| s.strip_prefix('`').and_then(|s| s.strip_suffix('`')).map(str::to_owned);
    let dash = |s: &str| (s != "—").then(|| s.to_owned());
    Some(Move { variant: uncode(&variant)?, channel: uncell(&channel), from: dash(&from).and_then(|f| uncode(&f)), to: uncode(&to)?, reason: dash(&reason).map(|r| uncell(&r)) })
}

/// `old` and then `new`'s moves not in it (the same variant, channel and digest is one move).
pub fn merge(old: Vec<Move>, new: &[Move]) -> Vec<Move> {
    let mut all = old;
    for m in new {
        if !all.iter().any(|o| o.variant == m.variant && o.channel == m.channel && o.to == m.to) {
            all.push(m.clone());
        }
    }
    all
}

/// What to do for a rollout: open its issue, or update (or leave) the one open for the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutStep {
    /// No issue is open for the day: open one.
    Create {
        /// Its title.
        title: String,
        /// Its body.
        body: String,
    },
    /// The day's issue, with its body listing the run's moves too.
    Update {
        /// Its number.
        number: u64,
        /// The new title.
        title: String,
        /// The new body.
        body: String,
    },
    /// The day's issue already lists every move.
    Unchanged {
        /// Its number.
        number: u64,
        /// Its title.
        title: String,
    },
}

/// The step for `moves` on `date`, given the open issues labelled [`ROLLOUT_LABEL`] (the
/// lowest-numbered of the day's, should there be several).
pub fn plan_rollout(date: NaiveDate, open: &[IssueView], moves: &[Move], links: &Links) -> RolloutStep {
    let prefix = rollout_prefix(date);
    let day = open.iter().filter(|i| i.title.starts_with(&prefix)).min_by_key(|i| i.number);
    let Some(issue) = day else {
        return RolloutStep::Create { title: rollout_title(date, moves), body: rollout_body(date, moves, links) };
    };
    let all = merge(rollout_rows(&issue.body), moves);
    let (title, body) = (rollout_title(date, &all), rollout_body(date, &all, links));
    if title == issue.title && body == issue.body {
        RolloutStep::Unchanged { number: issue.number, title }
    } else {
        RolloutStep::Update { number: issue.number, title, body }
    }
}

/// `[ROLLBACK] VARIANT`.
pub fn rollback_title(variant: &str) -> String {
    format!("[ROLLBACK] {variant}")
}

/// The open `[ROLLBACK] VARIANT` issue among those labelled [`ROLLBACK_LABEL`], if any.
pub fn rollback_issue(open: &[IssueView], variant: &str) -> Option<u64> {
    let title = rollback_title(variant);
    open.iter().filter(|i| i.title == title).map(|i| i.number).min()
}

/// The body of a new `[ROLLBACK] VARIANT` issue.
pub fn rollback_issue_body(variant: &str, links: &Links) -> String {
    let mut s = format!("Rollbacks of `{variant}`, one comment each, announced by imgctl. Close this issue when it is dealt with; the next rollback opens a new one.");
    if let Some(page) = links.variant_page(variant) {
        s.push_str(&format!(" Its timeline: [{page}]({page})."));
    }
    s.push('\n');
    s
}

/// The hidden key of a rollback's comment: the same rollback announced again (by any
/// attempt of the same run) finds it.
pub fn rollback_key(m: &Move, links: &Links) -> String {
    format!("<!-- imgctl:rollback {} {} {} {} run {} -->", m.variant, m.channel.replace(' ', "_"), m.from.as_deref().unwrap_or("none"), m.to, links.run_id())
}

/// A rollback's comment: its key, the channel, from and to (whole digests, linked to the
/// site's pages), the reason, when, and the run.
pub fn rollback_comment(m: &Move, at: DateTime<Utc>, links: &Links) -> String {
    let link = |d: &str| links.digest_page(d).map(|u| format!(" ([page]({u}))")).unwrap_or_default();
    let mut s = format!("{}\n**Rolled back** `{}` on channel `{}` at {}.\n\n", rollback_key(m, links), m.variant, cell(&m.channel), at.format("%Y-%m-%d %H:%M UTC"));
    if let Some(from) = &m.from {
        s.push_str(&format!("- from: `{from}`{} (now rejected: promotion does not bring it back)\n", link(from)));
    }
    s.push_str(&format!("- to: `{}`{}\n", m.to, link(&m.to)));
    s.push_str(&format!("- reason: {}\n", m.reason.as_deref().map_or_else(|| "none given".to_owned(), cell)));
    if let Some(run) = &links.run {
        s.push_str(&format!("- run: [the workflow run]({run})\n"));
    }
    s
}

/// Whether one of `comments` is `m`'s (carries its key).
pub fn commented(comments: &[String], m: &Move, links: &Links) -> bool {
    let key = rollback_key(m, links);
    comments.iter().any(|c| c.lines().next() == Some(key.as_str()))
}

#[cfg(test)]
#[path = "announce_tests.rs"]
mod tests;
