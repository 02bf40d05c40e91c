//! Findings: problems in the user's files, each with the file, line and column.

use std::fmt;

use serde::Serialize;

use crate::span::Pos;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Reported; does not fail `validate` unless `--strict`.
    Warning,
    /// Fails `validate`.
    Error,
}

/// One problem found in an input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// A stable kebab-case name for the kind of problem (`unknown-os`, `duplicate-tag`, …).
    pub code: &'static str,
    /// The file, as the user named it (relative paths stay relative).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, as a lower-case sentence fragment.
    pub message: String,
}

impl Finding {
    /// An error at `pos` of `file`.
    pub fn error(code: &'static str, file: &str, pos: Pos, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Error,
            code,
            file: file.to_string(),
            line: pos.line,
            column: pos.col,
            message: message.into(),
        }
    }

    /// A warning at `pos` of `file`.
    pub fn warning(code: &'static str, file: &str, pos: Pos, message: impl Into<String>) -> Self {
        Finding { severity: Severity::Warning, ..Finding::error(code, file, pos, message) }
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{}:{}:{}: {sev}: {} [{}]", self.file, self.line, self.column, self.message, self.code)
    }
}

/// Sorts findings by file, line and column, keeping the order of equal ones.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
}
