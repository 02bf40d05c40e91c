//! `imgctl promote`: move each variant's `latest` channel to the build of its source id
//! on the `production` branch — by digest, only after soak, never to a rejected digest.

use imgctl_engine::Ctx;
use imgctl_engine::promote::{self, PromoteOptions};
use imgctl_engine::verify::Gate;
use tokio::sync::Semaphore;
use imgctl_registry::Access;

use crate::commands::tags::select;
use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::progress::CliProgress;
use crate::rollout::{self, ResultsReport};
use crate::verifier::ProcessVerifier;

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
    /// Do not run the channel's verification gate (needs --force).
    #[arg(long, requires = "force")]
    pub skip_verify: bool,
    /// Verification commands running at once.
    #[arg(long, env = "IMGCTL_VERIFY_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub verify_concurrency: u16,
    /// Where each verification's output is kept (one log file per variant).
    #[arg(long, env = "IMGCTL_VERIFY_LOG_DIR", default_value = "imgctl-verify-logs", value_name = "DIR")]
    pub verify_log_dir: std::path::PathBuf,
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
    let today = env.now().date_naive();
    let (variants, retired) = crate::eol::split_retired(select(&fleet, &args.variants)?, &channel, imgctl_core::rollout::Action::Skipped, today);
    let recorder = crate::records::recorder(env, &head, &args.sign, repo.resolve(&rev).ok())?;
    let client = rollout::connect(env, &fleet, Access::Push)?;
    let mirror_clients = rollout::connect_mirrors(env, &fleet, Access::Push)?;
    let mirrors = crate::mirrors::mirrors(&mirror_clients, &client);
    let progress = CliProgress::new("promote", "done", crate::progress::MIN_VARIANTS);
    let verifier = ProcessVerifier::new(args.verify_log_dir);
    let gate = Gate { verifier: &verifier, host: rollout::registry_host(env, &fleet), limit: Semaphore::new(usize::from(args.verify_concurrency)) };
    let ctx = Ctx { mirrors: &mirrors, gate: Some(&gate), records: recorder.as_ref(), ..rollout::ctx(env, &client, &fleet, args.dry_run, &progress) };
    let opts = PromoteOptions { channel, force: args.force, skip_verify: args.skip_verify };
    let mut results = crate::registry::block_on(promote::promote(&ctx, &variants, &ids, &opts))?.map_err(rollout::engine_error)?;
    results.extend(retired);
    crate::eol::note_eol(&fleet, today, &mut results);
    let report = ResultsReport { results, dry_run: args.dry_run };
    let code = rollout::finish(env, &format!("promote ({rev})"), &report)?;
    if let Some(md) = verifier.markdown() {
        rollout::append_summary(env, &md);
    }
    Ok(code)
}
