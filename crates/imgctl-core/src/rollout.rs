//! Rollout decisions (SPEC §4 `promote`, §5, §9): given what the registry said, what
//! should happen to one variant's channel. Pure; the engine does the I/O.
//!
//! Promotion picks the **newest soaked build** of the promoting branch's first-parent
//! history, never only the tip's: the candidates are the builds of the variant's source
//! ids along that history, newest first, back to the one the channel holds. The first
//! candidate that is built, has been on the source channel for the soak (or is a new
//! variant's, with `newVariants: immediate`) and is not rejected is moved to; a newer one
//! that is not ready yet stays pending with its absolute ready time.

use chrono::{DateTime, Utc};
use crate::duration::Duration;
use crate::history::{ChannelHistory, digest12};
use crate::manifest::NewVariants;

pub use crate::results::{Action, ActionResult, BlockedBy};

/// One build along the promoting branch's history: a source id and, when resolved, the
/// digest of its immutable tag (`None`: no build of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The source id.
    pub source_id: String,
    /// Digest of `{base}-{sourceId}`; `None` when it was never built.
    pub digest: Option<String>,
}

/// Why a promotion moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The build has been on the source channel for at least the soak.
    Soaked {
        /// How long it has been there.
        on_source: Duration,
    },
    /// The channel never held the variant (`newVariants: immediate`).
    NewVariant,
    /// `--force`.
    Forced,
}

/// The verdict for one variant's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Move the channel to `to`, the build of `source_id`.
    Move {
        /// Digest to move to.
        to: String,
        /// Its source id.
        source_id: String,
        /// Why it may move.
        why: Why,
    },
    /// The channel is already at the newest candidate.
    UpToDate,
    /// Nothing may move; the newest candidate says why.
    Blocked(Waiting),
}

/// A build the channel is not at yet, and what holds it back (absent `blocked_by`: ready).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// Its digest (absent: not built).
    pub digest: Option<String>,
    /// Its source id.
    pub source_id: String,
    /// What holds it back; `None` when the next promotion moves it.
    pub blocked_by: Option<BlockedBy>,
    /// Soak left.
    pub remaining: Option<Duration>,
    /// When its soak is over (absolute; absent when it never reached the source channel).
    pub ready_at: Option<DateTime<Utc>>,
    /// In words.
    pub reason: String,
}

/// The decision for one variant's channel: the verdict, and the newest candidate when the
/// verdict does not move to it and the channel is not at it (it is still pending after
/// this run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What to do now.
    pub verdict: Verdict,
    /// The newest build, still waiting after the verdict.
    pub newest: Option<Waiting>,
}

/// What promotion knows about one variant's channel.
#[derive(Debug, Clone)]
pub struct PromoteInput<'a> {
    /// Builds along the promoting branch's history, newest first (the tip's first). The
    /// engine resolves them lazily: a prefix is enough once [`settled`] says so.
    pub candidates: &'a [Candidate],
    /// Digest the target channel points at now.
    pub current: Option<&'a str>,
    /// History of the target channel.
    pub target: &'a ChannelHistory,
    /// History of the channel it promotes from, as it was before this run.
    pub source: &'a ChannelHistory,
    /// Name of the source channel, for messages.
    pub source_name: &'a str,
    /// Required time on the source channel.
    pub soak: Duration,
    /// How a variant the channel never held is treated.
    pub new_variants: NewVariants,
    /// Skip soak and rejection: move to the newest candidate's build.
    pub force: bool,
    /// Now.
    pub now: DateTime<Utc>,
}

/// How one candidate stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Judgement {
    /// The channel is at it.
    Held,
    /// It may be moved to.
    Eligible(Why),
    /// It may not (yet).
    Waiting(Waiting),
}

impl PromoteInput<'_> {
    /// True when the channel never held this variant.
    pub fn is_new_variant(&self) -> bool {
        self.current.is_none() && self.target.moves.is_empty()
    }

    fn judge(&self, c: &Candidate) -> Judgement {
        let waiting = |by, remaining, ready_at, reason: String| {
            Judgement::Waiting(Waiting { digest: c.digest.clone(), source_id: c.source_id.clone(), blocked_by: Some(by), remaining, ready_at, reason })
        };
        let Some(digest) = c.digest.as_deref() else {
            return waiting(BlockedBy::MissingBuild, None, None, format!("no build for source id {} (no immutable tag; publish it first)", c.source_id));
        };
        if self.current == Some(digest) {
            return Judgement::Held;
        }
        if self.force {
            return Judgement::Eligible(Why::Forced);
        }
        let d12 = digest12(digest);
        if self.target.is_rejected(d12) || self.source.is_rejected(d12) {
            return waiting(BlockedBy::Rejected, None, None, "rejected: the channel was rolled back from it; only a forced promotion moves to it".into());
        }
        let Some(since) = self.source.first_arrival(d12) else {
            return waiting(BlockedBy::Soak, Some(self.soak), None, format!("never on {} (soak {} has not started)", self.source_name, self.soak));
        };
        if self.is_new_variant() && self.new_variants == NewVariants::Immediate {
            return Judgement::Eligible(Why::NewVariant);
        }
        let soaked = Duration(self.now.signed_duration_since(since).num_seconds().max(0) as u64);
        if soaked < self.soak {
            let left = Duration(self.soak.as_secs() - soaked.as_secs());
            let ready = since + self.soak.to_chrono();
            return waiting(
                BlockedBy::Soak,
                Some(left),
                Some(ready),
                format!("on {} for {soaked} of {}: {left} left (ready {})", self.source_name, self.soak, crate::schedule::short_time(ready)),
            );
        }
        Judgement::Eligible(Why::Soaked { on_source: soaked })
    }
}

/// True when the resolved prefix `candidates` decides: a candidate in it is held or
/// eligible, so older ones cannot change the verdict (with `--force` the tip decides).
pub fn settled(i: &PromoteInput<'_>) -> bool {
    if i.force {
        return !i.candidates.is_empty();
    }
    i.candidates.iter().any(|c| !matches!(i.judge(c), Judgement::Waiting(_)))
}

/// Decides one variant's channel (see the module docs). Candidates beyond the first held
/// or eligible one are never looked at.
pub fn decide(i: &PromoteInput<'_>) -> Decision {
    let Some(tip) = i.candidates.first() else {
        let reason = "no build of this variant on the promoting branch's history".to_string();
        let pending = Waiting { digest: None, source_id: String::new(), blocked_by: Some(BlockedBy::MissingBuild), remaining: None, ready_at: None, reason };
        return Decision { verdict: Verdict::Blocked(pending), newest: None };
    };
    let newest = match i.judge(tip) {
        Judgement::Held => return Decision { verdict: Verdict::UpToDate, newest: None },
        Judgement::Eligible(why) => {
            let to = tip.digest.clone().unwrap_or_default();
            return Decision { verdict: Verdict::Move { to, source_id: tip.source_id.clone(), why }, newest: None };
        }
        Judgement::Waiting(p) => p,
    };
    if i.force {
        return Decision { verdict: Verdict::Blocked(newest), newest: None };
    }
    for c in &i.candidates[1..] {
        match i.judge(c) {
            Judgement::Held => break,
            Judgement::Eligible(why) => {
                let to = c.digest.clone().unwrap_or_default();
                return Decision { verdict: Verdict::Move { to, source_id: c.source_id.clone(), why }, newest: Some(newest) };
            }
            Judgement::Waiting(_) => {}
        }
    }
    Decision { verdict: Verdict::Blocked(newest), newest: None }
}

/// The reason a move gives, for its result line and record.
pub fn why_text(why: Why, source_id: &str, source_name: &str, soak: Duration, newest: Option<&Waiting>) -> String {
    let mut s = match why {
        Why::Forced => format!("source id {source_id}; forced (--force): soak and rejection checks skipped"),
        Why::NewVariant => format!("source id {source_id}; new variant: first build on {source_name}, soak waived (newVariants: immediate)"),
        Why::Soaked { on_source } => format!("source id {source_id}; soak of {soak} met: on {source_name} for {on_source}"),
    };
    if let Some(n) = newest {
        s.push_str(&format!("; newer build {} waits: {}", n.source_id, n.reason));
    }
    s
}

#[cfg(test)]
#[path = "rollout_tests.rs"]
mod tests;
