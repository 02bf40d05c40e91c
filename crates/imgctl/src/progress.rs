//! Progress of long operations: a bar on a terminal; on any other stderr (CI logs) plain
//! lines — one when the work starts, then every twentieth of it or every few seconds,
//! whichever comes first, and one at the end — once the work has at least `min_items`
//! items (a promote of three variants needs no progress lines; every gc delete is worth one).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use imgctl_engine::Progress;
use indicatif::{ProgressBar, ProgressStyle};

/// Variants a promote or status must touch before plain progress lines are worth printing.
pub const MIN_VARIANTS: usize = 20;

/// Longest quiet time between two plain lines while work goes on.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// Progress of one command: `gc: deleted 120/14400 (3 failed, 42s)`.
pub struct CliProgress {
    bar: Option<ProgressBar>,
    label: &'static str,
    verb: &'static str,
    min_items: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    done: usize,
    failed: usize,
    total: usize,
    started: Instant,
    last_line: Instant,
    last_done: usize,
}

impl std::fmt::Debug for CliProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CliProgress").field("label", &self.label).finish_non_exhaustive()
    }
}

impl CliProgress {
    /// Progress for the operation `label`, whose items are `verb` when done (`deleted`,
    /// `done`); plain lines only for work of at least `min_items` items.
    pub fn new(label: &'static str, verb: &'static str, min_items: usize) -> CliProgress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(0);
            b.set_style(ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "));
            b.set_prefix(label);
            b
        });
        let now = Instant::now();
        CliProgress { bar, label, verb, min_items, state: Mutex::new(State { done: 0, failed: 0, total: 0, started: now, last_line: now, last_done: 0 }) }
    }

    fn line(&self, s: &State) {
        let secs = s.started.elapsed().as_secs();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}: {} {}/{} ({} failed, {secs}s)", self.label, self.verb, s.done, s.total, s.failed);
    }
}

/// Whether a plain line is due after `s.done` items.
fn due(s: &State, now: Instant) -> bool {
    let step = s.total.div_ceil(20).max(1);
    s.done >= s.total || s.done - s.last_done >= step || now.duration_since(s.last_line) >= LINE_EVERY
}

impl Progress for CliProgress {
    fn start(&self, total: usize) {
        let Ok(mut s) = self.state.lock() else { return };
        let now = Instant::now();
        *s = State { done: 0, failed: 0, total, started: now, last_line: now, last_done: 0 };
        match &self.bar {
            Some(b) => b.set_length(total as u64),
            None if total > 0 && total >= self.min_items => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{}: {total} to go", self.label);
            }
            None => {}
        }
    }

    fn done(&self, item: &str, failed: bool) {
        let Ok(mut s) = self.state.lock() else { return };
        s.done += 1;
        s.failed += usize::from(failed);
        match &self.bar {
            Some(b) => {
                b.inc(1);
                b.set_message(item.to_string());
                if s.done >= s.total {
                    b.finish_and_clear();
                }
            }
            None => {
                let now = Instant::now();
                if s.total >= self.min_items && due(&s, now) {
                    self.line(&s);
                    s.last_line = now;
                    s.last_done = s.done;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_every_twentieth_every_few_seconds_and_at_the_end() {
        let t = Instant::now();
        let mut s = State { done: 0, failed: 0, total: 14_400, started: t, last_line: t, last_done: 0 };
        s.done = 719;
        assert!(!due(&s, t));
        s.done = 720;
        assert!(due(&s, t), "a twentieth");
        s.done = 1;
        assert!(due(&s, t + LINE_EVERY), "a few seconds");
        s.done = 14_400;
        s.last_done = 14_399;
        assert!(due(&s, t), "the end");
        let small = State { done: 1, failed: 0, total: 3, started: t, last_line: t, last_done: 0 };
        assert!(due(&small, t), "few items: a line each");
    }
}
