//! `imgctl promote`: move each variant's `latest` channel to the build of its source id
//! on the `production` branch — by digest, only after soak, never to a rejected digest.

use imgctl_engine::promote::{self, PromoteOptions};
use imgctl_registry::Access;

use crate::commands::tags::select;
use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::progress::CliProgress;
use crate::rollout::{self, ResultsReport};

/// Arguments of `promote`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Revision to promote [default: the channel's branch, else origin/<branch>].
    #[arg(long = "ref", value_name = "REV")]
    pub reference: Option<String>,
    /// Only these variants (repeatable).
    #[arg(long = "variant", value_name = "V")]
    pub variants: Vec<String>,
    /// Channel to move [default: the channel with promotesFrom, e.g. latest].
    #[arg(long, value_name = "C")]
    pub channel: Option<String>,
    /// Skip the soak and rejection checks (needs --variant).
    #[arg(long, requires = "variants")]
    pub force: bool,
    /// Print the plan, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Signing of promotion records.
    #[command(flatten)]
    pub sign: crate::records::SignArgs,
}

/// Runs `promote`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let repo = rollout::repo(env)?;
    let head = crate::workspace::require(env)?;
    let channel = match args.channel {
        Some(c) => c,
        None => promote::default_channel(&head).ok_or_else(|| CliError::Input("find a channel to promote to (one with promotesFrom)".into()))?,
    };
    let rev = rollout::promotion_ref(&repo, &head, &channel, args.reference.as_deref())?;
    let (fleet, ids) = rollout::snapshot(&repo, Some(&rev))?;
    tracing::info!("promoting {channel} to the builds of {rev}");
    let variants = select(&fleet, &args.variants)?;
    let recorder = crate::records::recorder(env, &head, &args.sign, repo.resolve(&rev).ok())?;
    let client = rollout::connect(env, &fleet, Access::Push)?;
    let progress = CliProgress::new("promote", "done");
    let mut ctx = rollout::ctx(env, &client, &fleet, args.dry_run, &progress);
    ctx.records = recorder.as_ref();
    let opts = PromoteOptions { channel, force: args.force };
    let results = crate::registry::block_on(promote::promote(&ctx, &variants, &ids, &opts))?.map_err(rollout::engine_error)?;
    let report = ResultsReport { results, dry_run: args.dry_run };
    rollout::finish(env, &format!("promote ({rev})"), &report)
}
