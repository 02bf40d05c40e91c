//! `imgctl publish VARIANT --image SRC`: push a build as its immutable tag and move
//! the staging channel to it (SPEC §4, §5).

use imgctl_engine::Ctx;
use imgctl_engine::publish::{self, PublishOptions, Source};
use imgctl_registry::Access;

use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::rollout::{self, ResultsReport};

/// Arguments of `publish`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The variant (its base tag).
    #[arg(value_name = "VARIANT")]
    pub variant: String,
    /// OCI image layout directory or tarball, or `host[:port]/repo:tag|@sha256:…` on the same registry.
    #[arg(long, value_name = "SRC")]
    pub image: String,
    /// Revision whose source id names the build [default: the working tree].
    #[arg(long = "ref", value_name = "REV")]
    pub reference: Option<String>,
    /// Channel to move [default: the channel nothing promotes into, e.g. staging].
    #[arg(long, value_name = "C")]
    pub channel: Option<String>,
    /// Overwrite an immutable tag that points at another digest; move to a rejected digest.
    #[arg(long)]
    pub force: bool,
    /// Print the plan, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Signing of promotion records.
    #[command(flatten)]
    pub sign: crate::records::SignArgs,
    /// Do not inventory the build nor attach its SBOM (docs/CHANGES.md).
    #[arg(long)]
    pub no_sbom: bool,
}

/// Runs `publish`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let repo = rollout::repo(env)?;
    let (fleet, ids) = rollout::snapshot(&repo, args.reference.as_deref())?;
    let v = rollout::find_variant(&fleet, &args.variant)?;
    let source_id = ids.get(&v.name).ok_or_else(|| CliError::Input(format!("compute the source id of '{}'", v.name)))?;
    let channel = match args.channel {
        Some(c) => c,
        None => publish::default_channel(&fleet).ok_or_else(|| CliError::Input("find a channel to publish to (one without promotesFrom)".into()))?,
    };
    let channel = crate::names::channel(&fleet, &channel)?;
    let host = rollout::registry_host(env, &fleet);
    let source = Source::parse(&args.image, &host).map_err(rollout::engine_error)?;
    let mut recorder = crate::records::recorder(env, &fleet, &args.sign, repo.resolve(args.reference.as_deref().unwrap_or("HEAD")).ok())?;
    let sources = crate::sources::wanted(env, recorder.is_some(), || args.reference.clone().unwrap_or_else(|| "HEAD".into()));
    crate::sources::record_with(&mut recorder, &sources);
    let client = rollout::connect(env, &fleet, Access::Push)?;
    let mirror_clients = rollout::connect_mirrors(env, &fleet, Access::Push)?;
    let mirrors = crate::mirrors::mirrors(&mirror_clients, &client);
    let progress = imgctl_engine::NoProgress;
    let ctx = Ctx { mirrors: &mirrors, records: recorder.as_ref(), ..rollout::ctx(env, &client, &fleet, args.dry_run, &progress) };
    let sbom = (!args.no_sbom).then(|| crate::commands::sbom::options(env, &host, &fleet.manifest.repository, &args.sign)).transpose()?;
    let opts = PublishOptions { channel, force: args.force, sbom };
    let results = crate::registry::block_on(publish::publish(&ctx, v, source_id, &source, &opts))?.map_err(rollout::engine_error)?;
    let report = ResultsReport { results, dry_run: args.dry_run, forced: false };
    let code = rollout::finish(env, "publish", &report)?;
    crate::what_changed::append(env, &client, &fleet, &report.results, args.dry_run, crate::sources::lookup(&sources), recorder.as_ref());
    Ok(code)
}
