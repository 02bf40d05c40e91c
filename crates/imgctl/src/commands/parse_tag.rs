//! `imgctl parse-tag`: tags read back to OperatingSystemId, qualifiers, arch, kind.

use std::io::{self, Write};

use imgctl_core::tags::{ParsedTag, TagIndex};
use serde::Serialize;
use tabled::Tabled;

use crate::env::Env;
use crate::error::CmdResult;
use crate::exit;
use crate::output::{Report, emit, table};
use crate::workspace;

/// Arguments of `parse-tag`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tags to read back.
    #[arg(value_name = "TAG", required = true)]
    pub tags: Vec<String>,
}

/// One entry of the `parse-tag` document: a reading, or why there is none.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Entry {
    /// The tag belongs to the schema.
    Parsed(Box<ParsedTag>),
    /// It does not: `{"tag", "error"}`.
    Failed {
        /// The tag as given.
        tag: String,
        /// Why it could not be read.
        error: String,
    },
}

/// The `parse-tag` document.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct ParseReport(pub Vec<Entry>);

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "TAG")]
    tag: String,
    #[tabled(rename = "OS")]
    os: String,
    #[tabled(rename = "QUALIFIERS")]
    qualifiers: String,
    #[tabled(rename = "ARCH")]
    arch: String,
    #[tabled(rename = "KIND")]
    kind: String,
    #[tabled(rename = "DETAILS")]
    details: String,
}

fn details(p: &ParsedTag) -> String {
    let mut parts = vec![format!("variant={}", p.variant)];
    if let Some(c) = &p.channel {
        parts.push(format!("channel={c}"));
    }
    if let Some(a) = &p.alias {
        parts.push(format!("alias={a}"));
    }
    if let Some(s) = &p.source_id {
        parts.push(format!("sourceId={s}"));
    }
    if let Some(t) = &p.time {
        parts.push(format!("time={}", t.format("%Y-%m-%dT%H:%M:%SZ")));
    }
    if let Some(d) = &p.digest_prefix {
        parts.push(format!("digest={d}"));
    }
    if let Some(d) = &p.rolled_back_from {
        parts.push(format!("rolledBackFrom={d}"));
    }
    if !p.in_manifest {
        parts.push("not in manifest".into());
    }
    parts.join(" ")
}

impl Report for ParseReport {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        let rows = self.0.iter().map(|e| match e {
            Entry::Parsed(p) => Row {
                tag: p.tag.clone(),
                os: p.os.clone(),
                qualifiers: p.qualifiers.join(","),
                arch: p.arch.clone(),
                kind: crate::output::word(p.kind),
                details: details(p),
            },
            Entry::Failed { tag, error } => Row {
                tag: tag.clone(),
                os: "-".into(),
                qualifiers: "-".into(),
                arch: "-".into(),
                kind: "error".into(),
                details: error.clone(),
            },
        });
        writeln!(w, "{}", table(rows))?;
        let read: Vec<&ParsedTag> = self.0.iter().filter_map(|e| if let Entry::Parsed(p) = e { Some(&**p) } else { None }).collect();
        let outside = read.iter().filter(|p| !p.in_manifest).count();
        let total = crate::output::plural(self.0.len(), "tag", "tags");
        let counts = [(read.len() - outside, "of variants in the manifest"), (outside, "of variants not in the manifest"), (self.0.len() - read.len(), "not of the schema")];
        crate::output::say(w, &crate::output::summary(&total, &counts))
    }
}

/// Runs `parse-tag`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let fleet = workspace::require(env)?;
    let index = TagIndex::new(&fleet);
    let entries: Vec<Entry> = args
        .tags
        .iter()
        .map(|t| match index.parse(t) {
            Ok(p) => Entry::Parsed(Box::new(p)),
            Err(e) => Entry::Failed { tag: t.clone(), error: e.to_string() },
        })
        .collect();
    let failed = entries.iter().filter(|e| matches!(e, Entry::Failed { .. })).count();
    emit(env, &ParseReport(entries))?;
    if failed > 0 {
        tracing::error!("{failed} tag(s) do not belong to the schema");
        return Ok(exit::FAILED);
    }
    Ok(exit::SUCCESS)
}
