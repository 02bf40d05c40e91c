//! One module per subcommand: each has an `Args` struct and a `run` function.

use clap::Subcommand;

use crate::env::Env;
use crate::error::CmdResult;

pub mod announce;
pub mod changes;
pub mod completions;
pub mod diff;
pub mod gc;
pub mod history;
pub mod import;
pub mod init;
pub mod inspect;
pub mod man;
pub mod mark_eol;
pub mod parse_tag;
pub mod pin;
pub mod plan;
pub mod promote;
pub mod publish;
pub mod rollback;
pub mod sbom;
pub mod site;
pub mod status;
pub mod tags;
pub mod usages;
pub mod validate;
pub mod verify;

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the manifest, OS definitions and tag schema (no registry needed).
    Validate(validate::Args),
    /// List every tag name of each variant.
    Tags(tags::Args),
    /// Read tags back to OperatingSystemId, qualifiers, arch and kind.
    ParseTag(parse_tag::Args),
    /// Variants to build between two git revisions, parents first (levels).
    Plan(plan::Args),
    /// Convert another tool's image manifest into manifests/images.yaml and OS definitions.
    Import(import::Args),
    /// Digest, media type, size and (for an index) platforms of an image reference.
    Inspect(inspect::Args),
    /// Push a build as its immutable tag and move the staging channel to it.
    Publish(publish::Args),
    /// Move `latest` to the soaked builds of the production branch, by digest.
    Promote(promote::Args),
    /// Move a channel back to its previous good digest and reject the bad one.
    Rollback(rollback::Args),
    /// Where each channel points, what is pending and why, EOL.
    Status(status::Args),
    /// A channel's moves, newest first.
    History(history::Args),
    /// Plan (and with --apply carry out) deleting digests nothing protects.
    Gc(gc::Args),
    /// Find references to the repository's images in files: variant, kind, pin, EOL.
    Usages(usages::Args),
    /// Pin references to the digest their channel points at now (a diff unless --write).
    Pin(pin::Args),
    /// Scaffold a fleet repository: manifest, OS definitions, an example image, workflows.
    Init(init::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(completions::Args),
    /// Write man pages (imgctl.1 and one per subcommand).
    Man(man::Args),
    /// Mark rolled-back and long-superseded digests end of life (docker-tools' lifecycle referrer).
    MarkEol(mark_eol::Args),
    /// Check the signed promotion records of a digest and show who moved it where.
    Verify(verify::Args),
    /// The SBOM publish attached to an image: its SPDX document, or a package table.
    Sbom(sbom::Args),
    /// What changed between two images: packages, OS release, files and bytes.
    Diff(diff::Args),
    /// Announce a promote or rollback run's moves as GitHub issues ([ROLLOUT] / [ROLLBACK]).
    Announce(announce::Args),
    /// Render the static fleet site: fleet table, variant timelines, digest pages, EOL calendar, fleet.json, Atom feeds.
    Site(site::Args),
    /// What changed in a channel's last move (or between two builds): packages, OS, size, commits, files, the Dockerfile's diff, why.
    Changes(changes::Args),
}

/// Runs `cmd`.
pub fn run(cmd: Command, env: &mut Env<'_>) -> CmdResult {
    match cmd {
        Command::Validate(a) => validate::run(a, env),
        Command::Tags(a) => tags::run(a, env),
        Command::ParseTag(a) => parse_tag::run(a, env),
        Command::Plan(a) => plan::run(a, env),
        Command::Import(a) => import::run(a, env),
        Command::Inspect(a) => inspect::run(a, env),
        Command::Publish(a) => publish::run(a, env),
        Command::Promote(a) => promote::run(a, env),
        Command::Rollback(a) => rollback::run(a, env),
        Command::Status(a) => status::run(a, env),
        Command::History(a) => history::run(a, env),
        Command::Gc(a) => gc::run(a, env),
        Command::Usages(a) => usages::run(a, env),
        Command::Pin(a) => pin::run(a, env),
        Command::Init(a) => init::run(a, env),
        Command::Completions(a) => completions::run(a, env),
        Command::Man(a) => man::run(a, env),
        Command::Verify(a) => verify::run(a, env),
        Command::MarkEol(a) => mark_eol::run(a, env),
        Command::Sbom(a) => sbom::run(a, env),
        Command::Diff(a) => diff::run(a, env),
        Command::Announce(a) => announce::run(a, env),
        Command::Site(a) => site::run(a, env),
        Command::Changes(a) => changes::run(a, env),
    }
}
