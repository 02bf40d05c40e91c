//! The GitHub step summary's "What changed" section (docs/CHANGES.md): for every move a
//! `publish`, `promote` or `rollback` made (mirrored moves named beside it), what changed
//! from the digest moved from to the digest moved to — `imgctl_engine::changes::between`,
//! read only when `GITHUB_STEP_SUMMARY` is set (its requests: docs/CHANGES.md).

use imgctl_core::Fleet;
use imgctl_core::rollout::{Action, ActionResult};
use imgctl_engine::changes::{End, SourceLookup, between};
use imgctl_engine::records::Recorder;
use imgctl_records::changes::Changes;
use imgctl_registry::RegistryClient;

use crate::commands::changes::lines;
use crate::commands::diff::Row;
use crate::env::Env;

/// `sha256:9b15c8e0a7d2`.
fn short(d: &str) -> &str {
    d.get(..19).unwrap_or(d)
}

/// The Markdown of one move of `variant` on `channel` (also made on `mirrored`).
pub fn markdown(variant: &str, channel: &str, mirrored: &[&str], c: &Changes) -> String {
    let mut s = format!("#### `{variant}` {channel}: `{}` → `{}`\n\n", short(&c.from), short(&c.to));
    if !mirrored.is_empty() {
        s.push_str(&format!("- mirrored to: {}\n", mirrored.join(", ")));
    }
    for l in lines(c) {
        s.push_str(&format!("- {}\n", l.replace('|', "\\|")));
    }
    if let Some(p) = c.packages.as_ref().filter(|p| !p.changes.is_empty()) {
        s.push_str("\n| change | type | name | from | to |\n|---|---|---|---|---|\n");
        for r in p.changes.iter().map(Row::from) {
            s.push_str(&format!("| {} | {} | `{}` | `{}` | `{}` |\n", r.change, r.kind, r.name, r.from, r.to));
        }
    }
    if let Some(d) = c.source.dockerfile_diff.as_deref().filter(|d| !d.is_empty()) {
        s.push_str(&format!("\n<details><summary>Dockerfile diff</summary>\n\n```diff\n{d}```\n\n</details>\n"));
    }
    for n in &c.source.notes {
        s.push_str(&format!("- note: {n}\n"));
    }
    s.push('\n');
    s
}

/// One move: variant, channel, from, to — and where it was made (None: the primary).
type Key<'r> = (&'r str, &'r str, &'r str, &'r str);

/// Appends the section for the moves among `results` to the step summary (nothing without
/// `GITHUB_STEP_SUMMARY`, in a dry run, or when nothing moved from an earlier digest).
///
/// A move whose record this run wrote reuses what the record read (`recorder.read`), so
/// records and summary together read a move's changes once.
pub fn append(env: &Env<'_>, client: &RegistryClient, fleet: &Fleet, results: &[ActionResult], dry_run: bool, sources: Option<&dyn SourceLookup>, recorder: Option<&Recorder>) {
    if env.facts.step_summary.is_none() || dry_run {
        return;
    }
    let mut moves: Vec<(Key<'_>, Vec<&str>)> = Vec::new();
    for r in results.iter().filter(|r| r.action == Action::Moved) {
        let (Some(channel), Some(from), Some(to)) = (r.channel.as_deref(), r.from.as_deref(), r.to.as_deref()) else { continue };
        if from == to {
            continue;
        }
        let key = (r.variant.as_str(), channel, from, to);
        match moves.iter_mut().find(|(k, _)| *k == key) {
            Some((_, mirrors)) => mirrors.extend(r.mirror.as_deref()),
            None => moves.push((key, r.mirror.as_deref().into_iter().collect())),
        }
    }
    if moves.is_empty() {
        return;
    }
    let mut md = String::from("### What changed\n\n");
    let repo = &fleet.manifest.repository;
    let got = crate::registry::block_on(async {
        let mut out = Vec::new();
        for ((variant, channel, from, to), mirrors) in &moves {
            let Some(v) = fleet.variant(variant) else { continue };
            let recorded = recorder.and_then(|r| r.read.get(variant, channel, from, to));
            let read = match recorded {
                Some(c) => Ok(c),
                None => between(client, repo, v, End::at(from), End::at(to), None, sources).await,
            };
            out.push(match read {
                Ok(c) => markdown(variant, channel, mirrors, &c),
                Err(e) => format!("#### `{variant}` {channel}: `{}` → `{}`\n\n- what changed could not be read: {e}\n\n", short(from), short(to)),
            });
        }
        out
    });
    match got {
        Ok(sections) => md.extend(sections),
        Err(e) => md.push_str(&format!("what changed could not be read: {e}\n\n")),
    }
    crate::rollout::append_summary(env, &md);
}
