//! End of life and retirement (SPEC §9): how close a variant's OS is to its end of life,
//! the words promote/publish/status use for it, what a retired variant says and what
//! replaces it. Pure: "today" is a parameter.

use chrono::NaiveDate;
use serde::Serialize;

use crate::duration::Duration;
use crate::fleet::{Fleet, Variant};
use crate::osdefs::OsDefinition;

/// Where an OS stands relative to its end of life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EolState {
    /// No end of life in sight (none given, or further away than the warning period).
    Supported,
    /// Ends within the warning period (`eolWarning`), on this date.
    Soon(NaiveDate),
    /// Ended on this date (today or earlier).
    Past(NaiveDate),
}

/// The state of `os` on `today`, warning `warning` ahead of its end of life.
pub fn state(os: &OsDefinition, today: NaiveDate, warning: Duration) -> EolState {
    date_state(os.eol, today, warning)
}

/// The state of an end of life on `eol` (none: supported) on `today`, warning `warning` ahead.
pub fn date_state(eol: Option<NaiveDate>, today: NaiveDate, warning: Duration) -> EolState {
    let Some(eol) = eol else { return EolState::Supported };
    if eol <= today {
        EolState::Past(eol)
    } else if eol.signed_duration_since(today).num_seconds() <= i64::try_from(warning.as_secs()).unwrap_or(i64::MAX) {
        EolState::Soon(eol)
    } else {
        EolState::Supported
    }
}

/// The fragment promote and publish add to a variant's reason when its OS has ended or
/// ends soon: `OS Linux-Fedora-43-AMD64 is end of life since 2026-12-09` /
/// `OS Linux-Fedora-43-AMD64 reaches end of life on 2026-12-09 (in 5d)`.
pub fn os_note(os: &OsDefinition, today: NaiveDate, warning: Duration) -> Option<String> {
    match state(os, today, warning) {
        EolState::Supported => None,
        EolState::Past(d) => Some(format!("OS {} is end of life since {d}", os.id)),
        EolState::Soon(d) => Some(format!("OS {} reaches end of life on {d} (in {})", os.id, days(today, d))),
    }
}

/// `5d`: the whole days from `today` to `date`.
fn days(today: NaiveDate, date: NaiveDate) -> Duration {
    Duration(u64::try_from(date.signed_duration_since(today).num_days()).unwrap_or(0) * 86_400)
}

/// What a retired variant's rows say: `retired on 2026-12-01`, or for a date still ahead
/// `retired: end of life on 2027-01-15`.
pub fn retired_reason(date: NaiveDate, today: NaiveDate) -> String {
    if date <= today { format!("retired on {date}") } else { format!("retired: end of life on {date}") }
}

/// The tag of `v`'s replacement (`replacedBy`) that takes the place of a reference to `v`
/// on `channel` (its channel tag), or of its base tag when no channel is named. `None`
/// when `v` names no replacement, or one the manifest does not have.
pub fn replacement_tag(fleet: &Fleet, v: &Variant, channel: Option<&str>) -> Option<String> {
    let with = fleet.variant(v.spec.replaced_by.as_deref()?)?;
    match channel {
        Some(c) => fleet.channel_tag(with, c),
        None => Some(with.name.clone()),
    }
}

/// How many variants are retired, on an ended OS, or on one ending within the warning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EolCounts {
    /// Variants with `retired`.
    pub retired: usize,
    /// Variants (not retired) whose OS is past its end of life.
    pub eol: usize,
    /// Variants (not retired) whose OS ends within `eolWarning`.
    pub eol_soon: usize,
}

/// Counts `variants` on `today`.
pub fn count<'v>(fleet: &Fleet, variants: impl IntoIterator<Item = &'v Variant>, today: NaiveDate) -> EolCounts {
    let mut c = EolCounts::default();
    for v in variants {
        if v.spec.retired.is_some() {
            c.retired += 1;
            continue;
        }
        match state(&v.os, today, fleet.manifest.eol_warning()) {
            EolState::Supported => {}
            EolState::Soon(_) => c.eol_soon += 1,
            EolState::Past(_) => c.eol += 1,
        }
    }
    c
}

/// Appends `; OS … is end of life since …` (or `reaches end of life on …`) to the reason
/// of every row whose variant's OS has ended or ends within the manifest's `eolWarning`
/// (`publish` and `promote` report it, SPEC §9).
pub fn note_eol(fleet: &Fleet, today: NaiveDate, results: &mut [crate::results::ActionResult]) {
    for r in results {
        let Some(v) = fleet.variant(&r.variant).filter(|v| v.spec.retired.is_none()) else { continue };
        let Some(note) = os_note(&v.os, today, fleet.manifest.eol_warning()) else { continue };
        r.reason = Some(match r.reason.take() {
            Some(reason) if !reason.is_empty() => format!("{reason}; {note}"),
            _ => note,
        });
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    fn fedora(eol: Option<&str>) -> OsDefinition {
        OsDefinition {
            id: "Linux-Fedora-43-AMD64".into(),
            family: "Linux".into(),
            distro: "Fedora".into(),
            slug: "fedora".into(),
            version: "43".into(),
            codename: None,
            arch: "AMD64".into(),
            rid: None,
            eol: eol.map(|d| d.parse().unwrap()),
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    const MONTH: Duration = Duration(30 * 86_400);

    #[test]
    fn fedora_43_warns_five_days_ahead_and_is_past_on_its_day() {
        let os = fedora(Some("2026-12-09"));
        assert_eq!(state(&os, day("2026-12-04"), MONTH), EolState::Soon(day("2026-12-09")));
        assert_eq!(os_note(&os, day("2026-12-04"), MONTH).unwrap(), "OS Linux-Fedora-43-AMD64 reaches end of life on 2026-12-09 (in 5d)");
        assert_eq!(state(&os, day("2026-11-09"), MONTH), EolState::Soon(day("2026-12-09")), "exactly 30 days ahead warns");
        assert_eq!(state(&os, day("2026-11-08"), MONTH), EolState::Supported);
        assert_eq!(state(&os, day("2026-12-04"), Duration(4 * 86_400)), EolState::Supported, "a shorter eolWarning is quiet");
        assert_eq!(state(&os, day("2026-12-09"), MONTH), EolState::Past(day("2026-12-09")));
        assert_eq!(os_note(&os, day("2026-12-10"), MONTH).unwrap(), "OS Linux-Fedora-43-AMD64 is end of life since 2026-12-09");
        assert_eq!(state(&fedora(None), day("2030-01-01"), MONTH), EolState::Supported);
        assert_eq!(os_note(&fedora(None), day("2030-01-01"), MONTH), None);
    }

    #[test]
    fn a_retirement_reads_true_before_and_after_its_date() {
        assert_eq!(retired_reason(day("2026-12-01"), day("2026-12-04")), "retired on 2026-12-01");
        assert_eq!(retired_reason(day("2026-12-04"), day("2026-12-04")), "retired on 2026-12-04");
        assert_eq!(retired_reason(day("2027-01-15"), day("2026-12-04")), "retired: end of life on 2027-01-15");
    }
}

#[cfg(test)]
#[path = "eol_tests.rs"]
mod fleet_tests;
