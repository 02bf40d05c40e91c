//! One module per subcommand: each has an `Args` struct and a `run` function.

use clap::Subcommand;

use crate::env::Env;
use crate::error::CmdResult;

pub mod parse_tag;
pub mod tags;
pub mod validate;

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the manifest, OS definitions and tag schema (no registry needed).
    Validate(validate::Args),
    /// List every tag name of each variant.
    Tags(tags::Args),
    /// Read tags back to OperatingSystemId, qualifiers, arch and kind.
    ParseTag(parse_tag::Args),
}

/// Runs `cmd`.
pub fn run(cmd: Command, env: &mut Env<'_>) -> CmdResult {
    match cmd {
        Command::Validate(a) => validate::run(a, env),
        Command::Tags(a) => tags::run(a, env),
        Command::ParseTag(a) => parse_tag::run(a, env),
    }
}
