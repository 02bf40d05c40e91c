//! Channel schedules (SPEC §9 `schedule`): a five-field cron expression in UTC, as GitHub
//! Actions reads `on.schedule[].cron`. When a pending build goes out, how long a
//! schedule's longest interval is (to warn about a soak that makes every build wait a
//! whole extra run), and whether a workflow's cron is the same schedule.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};

use crate::duration::Duration;

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    text: String,
    cron: Cron,
}

/// How many runs are compared when two schedules are checked for sameness or an interval
/// is measured: two years of a weekly schedule, four weeks of an hourly one.
const SAMPLE: usize = 104;

impl Schedule {
    /// Parses `text` (minute hour day-of-month month day-of-week, UTC).
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let parser = CronParser::builder().seconds(Seconds::Disallowed).build();
        let cron = parser.parse(text.trim()).map_err(|e| format!("invalid cron expression {text:?}: {e} (write five fields, e.g. '17 6 * * 3' for Wednesdays 06:17 UTC)"))?;
        Ok(Schedule { text: text.trim().to_string(), cron })
    }

    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first run at or after `t`.
    pub fn next_at_or_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&t, true).ok()
    }

    /// `n` runs from `t` on.
    fn runs(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        self.cron.iter_from(t, croner::Direction::Forward).take(n).collect()
    }

    /// The longest time between two consecutive runs (measured over the runs of two years
    /// of a weekly schedule from a fixed start, so the answer does not depend on today).
    pub fn longest_interval(&self) -> Duration {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap_or_default();
        let runs = self.runs(start, SAMPLE);
        let longest = runs.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(TimeDelta::zero());
        Duration(longest.num_seconds().max(0) as u64)
    }

    /// True when `other` runs at exactly the same times (compared over a sample of runs).
    pub fn same_as(&self, other: &Schedule) -> bool {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap_or_default();
        self.runs(start, SAMPLE) == other.runs(start, SAMPLE)
    }
}

/// When a build ready at `ready` (or now, if that is later) goes out: the first run of
/// `schedule` at or after it.
pub fn goes_out(schedule: &Schedule, ready: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let from = ready.map_or(now, |r| r.max(now));
    schedule.next_at_or_after(from)
}

/// When a build ready at `ready` goes out on channel `c`: the first run of its `schedule`
/// at or after that (or now); `None` when the channel has no (valid) schedule.
pub fn goes_out_on(c: &crate::manifest::Channel, ready: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    goes_out(&Schedule::parse(c.schedule.as_deref()?).ok()?, ready, now)
}

/// `2026-12-09 06:17Z`.
pub fn short_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%MZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_weekly_schedule_says_when_a_pending_build_goes_out() {
        let s = Schedule::parse("17 6 * * 3").unwrap();
        // 2026-12-04 is a Friday; ready Monday 12-07 10:00 → Wednesday 12-09 06:17
        let out = goes_out(&s, Some(at("2026-12-07T10:00:00Z")), at("2026-12-04T19:00:00Z")).unwrap();
        assert_eq!(short_time(out), "2026-12-09 06:17Z");
        // ready after Wednesday's run → the next week's
        let out = goes_out(&s, Some(at("2026-12-09T07:00:00Z")), at("2026-12-04T19:00:00Z")).unwrap();
        assert_eq!(short_time(out), "2026-12-16 06:17Z");
        assert_eq!(s.longest_interval(), Duration(7 * 86_400));
    }

    #[test]
    fn sameness_and_errors() {
        let a = Schedule::parse("17 6 * * 3").unwrap();
        assert!(a.same_as(&Schedule::parse("17 6 * * WED").unwrap()));
        assert!(!a.same_as(&Schedule::parse("17 6 * * 4").unwrap()));
        let e = Schedule::parse("17 6 * *").unwrap_err();
        assert!(e.contains("five fields"), "{e}");
        assert!(Schedule::parse("0 17 6 * * 3").is_err(), "seconds are not cron as GitHub reads it");
        // twice a week: the longest gap counts
        assert_eq!(Schedule::parse("0 6 * * 1,3").unwrap().longest_interval(), Duration(5 * 86_400));
    }
}
