//! Global flags: one flattened struct, valid before or after the subcommand.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use imgctl_core::kind::{ALL_KINDS, RegistryKind};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Tables for people.
    #[default]
    Human,
    /// The stable JSON documents of SPEC §4.1.
    Json,
    /// A GitHub Actions `strategy.matrix` document (`plan` only).
    GithubMatrix,
}

/// Flags every subcommand accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The image manifest.
    #[arg(long, global = true, env = "IMGCTL_MANIFEST", default_value = "manifests/images.yaml", value_name = "PATH")]
    pub manifest: PathBuf,
    /// Registry host[:port], overriding the manifest's.
    #[arg(long, global = true, env = "IMGCTL_REGISTRY", value_name = "HOST[:PORT]")]
    pub registry: Option<String>,
    /// Output format.
    #[arg(long, global = true, env = "IMGCTL_OUTPUT", value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// More log lines on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// A registry that speaks plain HTTP (repeatable; the only way to use HTTP).
    #[arg(long = "insecure-registry", global = true, env = "IMGCTL_INSECURE_REGISTRIES", value_delimiter = ',', value_name = "HOST:PORT")]
    pub insecure_registries: Vec<String>,
    /// The registry's kind (how it deletes, which refusals it knows), overriding the
    /// manifest's `registryKind` and what the host name says.
    #[arg(long, global = true, env = "IMGCTL_REGISTRY_KIND", value_name = "KIND", value_parser = kind_parser())]
    pub registry_kind: Option<RegistryKind>,
    /// Registry requests in flight at once.
    #[arg(long, global = true, env = "IMGCTL_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

fn kind_parser() -> impl clap::builder::TypedValueParser<Value = RegistryKind> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(ALL_KINDS.map(RegistryKind::name)).map(|s| s.parse::<RegistryKind>().unwrap_or_default())
}
