//! `imgctl rollback VARIANT`: move a channel back to its previous good digest in a
//! handful of requests, and reject the digest rolled back from so it is not re-promoted.

use imgctl_engine::Ctx;
use imgctl_engine::rollback::{self, Target};
use imgctl_registry::Access;

use crate::env::Env;
use crate::error::CmdResult;
use crate::rollout::{self, ResultsReport};
use crate::workspace;

/// Arguments of `rollback`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The variant and channel.
    #[command(flatten)]
    pub target: rollout::VariantChannel,
    /// Go to this digest (`sha256:…`) or tag instead of the previous one.
    #[arg(long, value_name = "DIGEST|TAG")]
    pub to: Option<String>,
    /// Why, in your words: kept in the rollback's record (`note`), shown in the report and by
    /// `history --records`, the fleet site and announcements.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Print the plan, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Signing of promotion records.
    #[command(flatten)]
    pub sign: crate::records::SignArgs,
}

/// Runs `rollback`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let fleet = workspace::require(env)?;
    let v = rollout::find_variant(&fleet, &args.target.variant)?;
    let defaulted = args.target.channel.is_none();
    let channel = rollout::channel_or_promoted(&fleet, args.target.channel)?;
    let target = args.to.map_or(Target::Previous, Target::To);
    let commit = rollout::repo(env).ok().and_then(|r| r.resolve("HEAD").ok());
    let note = args.reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    let mut recorder = crate::records::recorder(env, &fleet, &args.sign, commit)?;
    match (&mut recorder, &note) {
        (Some(rec), _) => rec.note.clone_from(&note),
        (None, Some(_)) => tracing::warn!("--reason is kept only in this run's report: the manifest has no `records: {{enabled: true}}` to keep it in"),
        (None, None) => {}
    }
    let sources = (recorder.is_some() || env.facts.step_summary.is_some()).then(|| crate::sources::open(env, &fleet, &channel)).flatten();
    crate::sources::record_with(&mut recorder, &sources);
    let client = rollout::connect(env, &fleet, Access::Push)?;
    let mirror_clients = rollout::connect_mirrors(env, &fleet, Access::Push)?;
    let mirrors = crate::mirrors::mirrors(&mirror_clients, &client);
    let progress = imgctl_engine::NoProgress;
    let ctx = Ctx { mirrors: &mirrors, records: recorder.as_ref(), ..rollout::ctx(env, &client, &fleet, args.dry_run, &progress) };
    let mut results = crate::registry::block_on(rollback::rollback(&ctx, v, &channel, &target))?.map_err(rollout::engine_error)?;
    // with rings, say which channel a rollback without --channel acted on
    if defaulted && imgctl_core::chain::promotion_order(&fleet.manifest.channels).len() > 1 {
        for r in results.iter_mut().filter(|r| r.mirror.is_none()) {
            let note = format!("{channel}: the channel consumers use (the promotion chain's end; pass --channel for another)");
            r.reason = Some(r.reason.take().map_or(note.clone(), |why| format!("{why}; {note}")));
        }
    }
    for r in &mut results {
        r.note.clone_from(&note);
    }
    let report = ResultsReport { results, dry_run: args.dry_run, forced: false };
    let code = rollout::finish(env, "rollback", &report)?;
    crate::what_changed::append(env, &client, &fleet, &report.results, args.dry_run, crate::sources::lookup(&sources), recorder.as_ref());
    Ok(code)
}
