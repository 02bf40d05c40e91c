//! Printing results: human tables and JSON come from the same serde structs; the
//! format is a printer choice, not a flag threaded through the commands' logic. Human
//! tables fit the output's width (`EnvFacts::width`): long cells wrap, the widest column
//! first; the JSON keeps every text whole.

use std::cell::Cell;
use std::io::{self, Write};

use serde::Serialize;
use tabled::Table;
use tabled::grid::records::vec_records::{Text, VecRecords};
use tabled::grid::records::{ExactRecords, PeekableRecords, Records};
use tabled::settings::object::Columns;
use tabled::settings::{Format, Style};

use crate::env::Env;
use crate::error::CliError;
use crate::global::OutputFormat;

/// The width tables fit when stdout is no terminal and `COLUMNS` is not set: wide enough
/// for a variant name, a channel tag and a reason side by side in CI logs.
pub const DEFAULT_WIDTH: usize = 200;

/// The narrowest width tables are fitted to (a smaller `COLUMNS` is taken as this).
pub const MIN_WIDTH: usize = 40;

thread_local! {
    /// The width of the report being printed (set by [`emit`] around `Report::human`).
    static WIDTH: Cell<usize> = const { Cell::new(DEFAULT_WIDTH) };
}

/// A command's result document.
pub trait Report: Serialize {
    /// Writes the human form.
    fn human(&self, w: &mut dyn Write) -> io::Result<()>;
}

/// Prints `report` in the format the user chose.
pub fn emit<R: Report>(env: &mut Env<'_>, report: &R) -> Result<(), CliError> {
    match env.global.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *env.out, report).map_err(io::Error::other)?;
            writeln!(env.out)?;
        }
        OutputFormat::Human => human(report, env.facts.width, env.out)?,
        OutputFormat::GithubMatrix => {
            return Err(CliError::Usage("use --output github-matrix: only `plan` prints a build matrix".into()));
        }
    }
    Ok(())
}

/// Writes the human form of `report` with its tables fitted to `width` columns.
pub fn human<R: Report + ?Sized>(report: &R, width: usize, w: &mut dyn Write) -> io::Result<()> {
    let before = WIDTH.replace(if width == 0 { DEFAULT_WIDTH } else { width.max(MIN_WIDTH) });
    let result = report.human(w);
    WIDTH.set(before);
    result
}

/// A table in the house style, fitted to the width of the report being printed.
pub fn table<I, T>(rows: I) -> Table
where
    I: IntoIterator<Item = T>,
    T: tabled::Tabled,
{
    let mut t = Table::new(rows);
    t.with(Style::psql());
    fit(&mut t, WIDTH.get());
    t
}

/// Narrows `t` to `width` columns when it is wider. The widest column gives up a column at
/// a time, first down to its longest unbreakable piece (a word, a digest, a name's part
/// between `-`), then below; every cell is then wrapped line by line at spaces (long names
/// after a `-`, `/` or `,`), so no text is lost and digests stay whole while they can.
fn fit(t: &mut Table, width: usize) {
    let total = t.total_width();
    if total <= width {
        return;
    }
    let records = t.get_records();
    let natural = column_widths(records, |l| l.chars().count());
    let floor = column_widths(records, longest_piece);
    let budget = width.saturating_sub(total - natural.iter().sum::<usize>());
    let mut widths = natural.clone();
    let mut excess = widths.iter().sum::<usize>().saturating_sub(budget);
    for min in [&floor[..], &vec![1; widths.len()][..]] {
        while excess > 0 {
            let Some(i) = (0..widths.len()).filter(|&i| widths[i] > min[i].min(natural[i])).max_by_key(|&i| (widths[i], i)) else { break };
            widths[i] -= 1;
            excess -= 1;
        }
    }
    for (col, w) in widths.into_iter().enumerate() {
        if w < natural[col] {
            t.modify(Columns::one(col), Format::content(move |s| wrap_words(s, w)));
        }
    }
}

/// Per column, the largest `measure` of a line of its cells.
fn column_widths(r: &VecRecords<Text<String>>, measure: fn(&str) -> usize) -> Vec<usize> {
    (0..r.count_columns()).map(|c| (0..r.count_rows()).flat_map(|row| r.get_text((row, c).into()).lines().map(measure)).max().unwrap_or(0)).collect()
}

/// The longest piece of `line` that [`wrap_words`] does not break while it fits.
fn longest_piece(line: &str) -> usize {
    line.split(' ').flat_map(|w| w.split_inclusive(BREAKS)).map(|p| p.chars().count()).max().unwrap_or(0)
}

/// Where a word longer than its column may be broken (after the character).
const BREAKS: [char; 3] = ['-', '/', ','];

/// Writes `text` wrapped to the width of the report being printed (summary lines).
pub fn say(w: &mut dyn Write, text: &str) -> io::Result<()> {
    writeln!(w, "{}", wrap_words(text, WIDTH.get()))
}

/// `text` wrapped to `width` columns line by line: at spaces, and a word longer than a
/// line after its last `-`, `/` or `,` that fits (else anywhere).
pub fn wrap_words(text: &str, width: usize) -> String {
    let width = width.max(1);
    let mut out: Vec<String> = Vec::new();
    for line in text.split('\n') {
        let mut cur = String::new();
        for mut word in line.split(' ') {
            loop {
                let (len, wlen) = (cur.chars().count(), word.chars().count());
                let sep = usize::from(len > 0);
                if len + sep + wlen <= width {
                    if sep == 1 {
                        cur.push(' ');
                    }
                    cur.push_str(word);
                    break;
                }
                if len > 0 {
                    out.push(std::mem::take(&mut cur));
                    continue;
                }
                let cut = word.char_indices().nth(width).map_or(word.len(), |(i, _)| i);
                let at = word[..cut].rfind(BREAKS).map(|i| i + 1).unwrap_or(cut);
                out.push(word[..at].to_string());
                word = &word[at..];
            }
        }
        out.push(cur);
    }
    out.join("\n")
}

/// The JSON word of a unit enum value (`Action::Moved` → `moved`), for human tables.
pub fn word<T: Serialize>(value: T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// `1 variant`, `3 variants`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A summary line: `229 variants: 12 moved, 200 unchanged` — the total, then each count
/// that is not zero (all of them when every one is zero).
pub fn summary(total: &str, counts: &[(usize, &str)]) -> String {
    let shown: Vec<String> = counts.iter().filter(|(n, _)| *n > 0).map(|(n, what)| format!("{n} {what}")).collect();
    if shown.is_empty() { total.to_string() } else { format!("{total}: {}", shown.join(", ")) }
}

/// A note for the person at the terminal (stderr), e.g. how a name was read.
#[allow(clippy::print_stderr)]
pub fn note(text: &str) {
    eprintln!("note: {text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(tabled::Tabled)]
    struct Row {
        name: &'static str,
        reason: String,
    }

    struct Doc;

    impl Serialize for Doc {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_unit()
        }
    }

    impl Report for Doc {
        fn human(&self, w: &mut dyn Write) -> io::Result<()> {
            let reason = "the soak of 7d is not over: the build arrived on staging 2d ago and is ready in 5d ".repeat(3);
            writeln!(w, "{}", table([Row { name: "ubuntu-22.04-helix-amd64", reason }]))
        }
    }

    #[test]
    fn tables_fit_the_width_and_keep_every_word() {
        for width in [40, 80, 200] {
            let mut out = Vec::new();
            human(&Doc, width, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(text.lines().all(|l| l.chars().count() <= width), "{width}:\n{text}");
            assert_eq!(text.matches("soak").count(), 3, "{text}");
        }
    }

    #[test]
    fn wrapping_keeps_words_and_breaks_names_after_a_dash() {
        assert_eq!(wrap_words("staging: almalinux-9-helix-amd64-staging\nlatest: x", 20), "staging:\nalmalinux-9-helix-\namd64-staging\nlatest: x");
        assert_eq!(wrap_words("soak not over", 4), "soak\nnot\nover");
        assert_eq!(wrap_words("abcdefgh", 3), "abc\ndef\ngh");
        assert_eq!(wrap_words("short", 80), "short");
    }

    #[test]
    fn summaries_show_what_is_not_zero() {
        assert_eq!(summary("3 variants", &[(2, "moved"), (0, "failed"), (1, "skipped")]), "3 variants: 2 moved, 1 skipped");
        assert_eq!(summary("0 variants", &[(0, "moved")]), "0 variants");
        assert_eq!(plural(1, "variant", "variants"), "1 variant");
    }
}
