//! `imgctl tags`: every tag name of each variant (base, channels, aliases, immutable).

use std::io::{self, Write};

use imgctl_core::fleet::{Fleet, VariantTags};
use serde::Serialize;
use tabled::Tabled;

use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;
use crate::output::{Report, emit, plural, summary, table};
use crate::workspace;

/// Arguments of `tags`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Variants (base tags); all when none are given.
    #[arg(value_name = "VARIANT")]
    pub variants: Vec<String>,
}

/// One variant's tags (SPEC §4.1 `tags`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagsEntry {
    /// The variant (its base tag).
    pub variant: String,
    /// Its OperatingSystemId.
    pub os: String,
    /// Its source id, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// Its tag names.
    pub tags: VariantTags,
}

/// The `tags` document: a list of entries.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct TagsReport(pub Vec<TagsEntry>);

#[derive(Tabled)]
struct Row<'a> {
    #[tabled(rename = "VARIANT")]
    variant: &'a str,
    #[tabled(rename = "OS")]
    os: &'a str,
    #[tabled(rename = "CHANNELS")]
    channels: String,
    #[tabled(rename = "ALIASES")]
    aliases: String,
    #[tabled(rename = "IMMUTABLE")]
    immutable: &'a str,
}

impl Report for TagsReport {
    fn human(&self, w: &mut dyn Write) -> io::Result<()> {
        let rows = self.0.iter().map(|e| Row {
            variant: &e.variant,
            os: &e.os,
            channels: e.tags.channels.iter().map(|(c, t)| format!("{c}: {t}")).collect::<Vec<_>>().join("\n"),
            aliases: e.tags.aliases.join("\n"),
            immutable: e.tags.immutable.as_deref().unwrap_or("-"),
        });
        writeln!(w, "{}", table(rows))?;
        let channels: usize = self.0.iter().map(|e| e.tags.channels.len()).sum();
        let aliases: usize = self.0.iter().map(|e| e.tags.aliases.len()).sum();
        let immutable = self.0.iter().filter(|e| e.tags.immutable.is_some()).count();
        let total = plural(self.0.len(), "variant", "variants");
        crate::output::say(w, &summary(&total, &[(channels, "channel tags"), (aliases, "alias tags"), (immutable, "immutable tags")]))
    }
}

/// Selects variants by name or any of their tags, in the order given (all when `names` is
/// empty): [`crate::names::variants`].
pub fn select<'f>(fleet: &'f Fleet, names: &[String]) -> Result<Vec<&'f imgctl_core::Variant>, CliError> {
    crate::names::variants(fleet, names)
}

/// Runs `tags`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let fleet = workspace::require(env)?;
    let selected = select(&fleet, &args.variants)?;
    // source ids of the working tree (SPEC §3), when the manifest is in a git repository
    let ids = super::plan::working_tree_ids(env);
    let entries = selected
        .into_iter()
        .map(|v| {
            let source_id = ids.get(&v.name).cloned();
            let tags = fleet.tags(v, source_id.as_deref());
            TagsEntry { variant: v.name.clone(), os: v.os.id.clone(), source_id, tags }
        })
        .collect();
    emit(env, &TagsReport(entries))?;
    Ok(exit::SUCCESS)
}
