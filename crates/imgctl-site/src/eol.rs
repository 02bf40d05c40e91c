//! `eol.html`: the end-of-life calendar — every variant's OS end of life and retirement,
//! by date, each saying whether it has passed, falls within `eolWarning` or lies ahead.

use chrono::NaiveDate;
use imgctl_engine::site::SiteData;
use maud::{Markup, html};
use serde::Serialize;

use crate::page::{shell, variant_path};

/// One date of the calendar (also `fleet.json`'s `eol`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EolDate {
    /// The day.
    pub date: NaiveDate,
    /// The variant.
    pub variant: String,
    /// `os` (its OS's end of life) or `retired`.
    pub kind: &'static str,
    /// `past`, `soon` (within `eolWarning`) or `ahead`.
    pub state: &'static str,
    /// The OS, for `os`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
}

/// Every date, earliest first.
pub fn dates(data: &SiteData) -> Vec<EolDate> {
    let today = data.generated.date_naive();
    let state = |d: NaiveDate| match imgctl_core::eol::date_state(Some(d), today, data.eol_warning) {
        imgctl_core::eol::EolState::Past(_) => "past",
        imgctl_core::eol::EolState::Soon(_) => "soon",
        imgctl_core::eol::EolState::Supported => "ahead",
    };
    let mut out = Vec::new();
    for v in &data.status.variants {
        if let Some(d) = v.eol {
            out.push(EolDate { date: d, variant: v.variant.clone(), kind: "os", state: state(d), os: Some(v.os.clone()) });
        }
        if let Some(d) = v.retired {
            out.push(EolDate { date: d, variant: v.variant.clone(), kind: "retired", state: state(d), os: None });
        }
    }
    out.sort();
    out
}

/// The page.
pub fn render(data: &SiteData) -> Markup {
    let all = dates(data);
    let mut years: Vec<i32> = all.iter().map(|d| chrono::Datelike::year(&d.date)).collect();
    years.dedup();
    let main = html! {
        h1 { "End-of-life calendar" }
        p { "When each variant's OS reaches its end of life, and when retired variants stop. " (all.iter().filter(|d| d.state == "past").count()) " dates have passed; " (all.iter().filter(|d| d.state == "soon").count()) " fall within the warning period (" (data.eol_warning) ")." }
        @if all.is_empty() { p { "No variant has an end-of-life date." } }
        @for y in &years {
            h2 { (y) }
            div.scroll { table {
                thead { tr { th scope="col" { "Date" } th scope="col" { "Variant" } th scope="col" { "What" } th scope="col" { "State" } } }
                tbody {
                    @for d in all.iter().filter(|d| chrono::Datelike::year(&d.date) == *y) {
                        tr data-state=(d.state) {
                            td { (d.date) }
                            th scope="row" { a href=(variant_path(&d.variant)) { (d.variant) } }
                            td { @if let Some(os) = &d.os { "OS " (os) " ends" } @else { "retired" } }
                            td { @match d.state { "past" => { span.badge.badge-eol { "EOL" } " passed" }, "soon" => { span.badge.badge-soon { "soon" } }, _ => { "ahead" } } }
                        }
                    }
                }
            } }
        }
    };
    shell(data, "", "End-of-life calendar", None, main)
}
