//! The source side of changes (docs/CHANGES.md): the engine's
//! [`SourceLookup`](imgctl_engine::changes::SourceLookup) over the manifest's git repository
//! (`imgctl_git::SourceWalk`: the channel's branch walked once per command, first parent
//! only), with the repository's GitHub address for compare URLs.

use std::sync::{Arc, Mutex};

use imgctl_core::{Fleet, Variant};
use imgctl_engine::changes::{MAX_ID_LOOKUPS, SourceLookup};
use imgctl_git::{Repo, SourceWalk};
use imgctl_records::changes::SourceChange;

use crate::env::Env;

/// The git history a command's changes read.
#[derive(Debug)]
pub struct GitSources {
    state: Mutex<(Repo, SourceWalk)>,
    forge: Option<String>,
}

impl SourceLookup for GitSources {
    fn candidates(&self, variant: &Variant) -> Vec<String> {
        let Ok(mut guard) = self.state.lock() else { return Vec::new() };
        let (repo, walk) = &mut *guard;
        walk.candidates(repo, &variant.name, imgctl_git::WalkLimits::default().per_variant.min(MAX_ID_LOOKUPS)).unwrap_or_else(|e| {
            tracing::warn!("read the source ids of {}: {e}", variant.name);
            Vec::new()
        })
    }

    fn source(&self, variant: &Variant, from: Option<&str>, to: Option<&str>) -> SourceChange {
        match self.state.lock() {
            Ok(mut guard) => {
                let (repo, walk) = &mut *guard;
                walk.source_change(repo, &variant.name, from, to, self.forge.as_deref())
            }
            Err(_) => SourceChange { notes: vec!["the git history could not be read (a panic elsewhere)".into()], ..SourceChange::default() },
        }
    }
}

/// The repository's web address for compare URLs: `GITHUB_SERVER_URL/GITHUB_REPOSITORY` in
/// GitHub Actions, else the `origin` remote when it is on GitHub.
pub fn forge(env: &Env<'_>, repo: &Repo) -> Option<String> {
    env.facts.forge.clone().or_else(|| repo.github_origin())
}

/// The source side for moves on `channel`: its promotion branch's history (the branch of
/// the channel or the nearest one up its chain, as promote reads it), else `HEAD`'s. None
/// without a git repository (the changes then say so).
pub fn open(env: &Env<'_>, fleet: &Fleet, channel: &str) -> Option<Arc<GitSources>> {
    let repo = crate::rollout::repo(env).ok()?;
    let rev = crate::rollout::promotion_ref(&repo, fleet, channel, None).unwrap_or_else(|_| "HEAD".into());
    at(env, repo, &rev)
}

/// The source side read along `rev`'s first-parent history (None when it cannot be read:
/// logged, and the changes say the source side is not known).
pub fn open_rev(env: &Env<'_>, rev: &str) -> Option<Arc<GitSources>> {
    at(env, crate::rollout::repo(env).ok()?, rev)
}

fn at(env: &Env<'_>, repo: Repo, rev: &str) -> Option<Arc<GitSources>> {
    let walk = match SourceWalk::new(&repo, rev) {
        Ok(Some(w)) => w,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!("read the history of {rev} for what changed: {e}");
            return None;
        }
    };
    let forge = forge(env, &repo);
    Some(Arc::new(GitSources { state: Mutex::new((repo, walk)), forge }))
}

/// [`open_rev`] when records or the step summary will use it (reading history costs time).
pub fn wanted(env: &Env<'_>, records: bool, rev: impl FnOnce() -> String) -> Option<Arc<GitSources>> {
    (records || env.facts.step_summary.is_some()).then(|| open_rev(env, &rev())).flatten()
}

/// Gives `recorder` (records on) the source side, so each move's record says what changed.
pub fn record_with(recorder: &mut Option<imgctl_engine::records::Recorder>, sources: &Option<Arc<GitSources>>) {
    if let Some(r) = recorder.as_mut() {
        r.sources = sources.clone().map(|s| s as Arc<dyn SourceLookup>);
    }
}

/// The lookup, as the engine takes it.
pub fn lookup(sources: &Option<Arc<GitSources>>) -> Option<&dyn SourceLookup> {
    sources.as_deref().map(|s| s as &dyn SourceLookup)
}
