//! Printing results: human tables and JSON come from the same serde structs; the
//! format is a printer choice, not a flag threaded through the commands' logic.

use std::io::{self, Write};

use serde::Serialize;
use tabled::Table;
use tabled::settings::Style;

use crate::env::Env;
use crate::error::CliError;
use crate::global::OutputFormat;

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
        OutputFormat::Human => report.human(env.out)?,
        OutputFormat::GithubMatrix => {
            return Err(CliError::Usage("use --output github-matrix: only `plan` prints a build matrix".into()));
        }
    }
    Ok(())
}

/// A table in the house style.
pub fn table<I, T>(rows: I) -> Table
where
    I: IntoIterator<Item = T>,
    T: tabled::Tabled,
{
    let mut t = Table::new(rows);
    t.with(Style::psql());
    t
}

/// The JSON word of a unit enum value (`Action::Moved` → `moved`), for human tables.
pub fn word<T: Serialize>(value: T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}
