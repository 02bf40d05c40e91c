//! Retired variants and end-of-life operating systems in the results of `publish` and
//! `promote` (SPEC §9): a retired variant is not built or promoted (its row says so), and a
//! row of a variant whose OS has ended, or ends within `eolWarning`, says that too.

use chrono::NaiveDate;
use imgctl_core::rollout::{Action, ActionResult};
use imgctl_core::{Fleet, Variant};

/// `variants` without the retired ones, and a row for each retired one: `action` with
/// the reason `retired on DATE` (`promote` skips them; `publish` refuses them).
pub fn split_retired<'f>(variants: Vec<&'f Variant>, channel: &str, action: Action, today: NaiveDate) -> (Vec<&'f Variant>, Vec<ActionResult>) {
    let mut rows = Vec::new();
    let active = variants
        .into_iter()
        .filter(|v| {
            let Some(date) = v.spec.retired else { return true };
            let mut reason = imgctl_core::eol::retired_reason(date, today);
            if action == Action::Failed {
                reason.push_str(": a retired variant is not built (remove `retired` from the manifest to build it again)");
            }
            rows.push(ActionResult { reason: Some(reason), ..imgctl_engine::result(v, Some(channel), action) });
            false
        })
        .collect();
    (active, rows)
}

/// Appends `; OS … is end of life since …` (or `reaches end of life on …`) to the reason
/// of every row whose variant's OS has ended or ends within the manifest's `eolWarning`.
pub fn note_eol(fleet: &Fleet, today: NaiveDate, results: &mut [ActionResult]) {
    for r in results {
        let Some(v) = fleet.variant(&r.variant).filter(|v| v.spec.retired.is_none()) else { continue };
        let Some(note) = imgctl_core::eol::os_note(&v.os, today, fleet.manifest.eol_warning()) else { continue };
        r.reason = Some(match r.reason.take() {
            Some(reason) if !reason.is_empty() => format!("{reason}; {note}"),
            _ => note,
        });
    }
}
