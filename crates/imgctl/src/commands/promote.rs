//! `imgctl promote`: move each variant's promoted channels (`latest`; with rings every
//! channel in chain order) to the newest soaked build along the channel's branch — by
//! digest, never to a rejected digest (SPEC §4, §9).

use imgctl_engine::Ctx;
use imgctl_engine::promote::{self, PromoteOptions, Step};
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
    /// Revision to promote from [default: the channel's branch (or the nearest up its
    /// chain), else origin/<branch>]; its first-parent history gives the candidates.
    #[arg(long = "ref", value_name = "REV")]
    pub reference: Option<String>,
    /// Only these variants (repeatable).
    #[arg(long = "variant", value_name = "V")]
    pub variants: Vec<String>,
    /// Channel to move [default: every channel with promotesFrom, in chain order (rings:
    /// canary, then latest), each judged on what its source held before this run].
    #[arg(long, value_name = "C")]
    pub channel: Option<String>,
    /// Move to the tip's build now, skipping the soak and rejection checks (needs
    /// --variant); a variant it cannot move fails the run.
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
    let channels = match &args.channel {
        Some(c) => vec![crate::names::channel(&head, c)?],
        None => imgctl_core::chain::promotion_order(&head.manifest.channels),
    };
    if channels.is_empty() {
        return Err(CliError::Input("find a channel to promote to (one with promotesFrom)".into()));
    }
    // each channel's revision, and the builds along its history (read once per revision)
    let mut revs: Vec<(String, String)> = Vec::new();
    let mut lineages: Vec<(String, imgctl_git::Lineage)> = Vec::new();
    for channel in &channels {
        let rev = rollout::promotion_ref(&repo, &head, channel, args.reference.as_deref())?;
        if !lineages.iter().any(|(r, _)| *r == rev) {
            lineages.push((rev.clone(), rollout::lineage(&repo, &rev)?));
        }
        revs.push((channel.clone(), rev));
    }
    let at = |rev: &str| &lineages.iter().find(|(r, _)| r == rev).expect("read above").1;
    let mut steps = Vec::new();
    for (channel, rev) in &revs {
        let l = at(rev);
        let variants = select_at(&repo, &l.tip.fleet, rev, &args.variants, &head)?;
        tracing::info!("promoting {channel} to the newest soaked builds of {rev} ({} commits read)", l.commits);
        steps.push(Step { channel: channel.clone(), fleet: &l.tip.fleet, variants, lineage: &l.ids });
    }
    let (last_rev, fleet) = (&revs[revs.len() - 1].1, steps[steps.len() - 1].fleet);
    let mut recorder = crate::records::recorder(env, &head, &args.sign, repo.resolve(last_rev).ok())?;
    let sources = crate::sources::wanted(env, recorder.is_some(), || last_rev.clone());
    crate::sources::record_with(&mut recorder, &sources);
    let client = rollout::connect(env, fleet, Access::Push)?;
    let mirror_clients = rollout::connect_mirrors(env, fleet, Access::Push)?;
    let mirrors = crate::mirrors::mirrors(&mirror_clients, &client);
    let progress = CliProgress::new("promote", "done", crate::progress::MIN_VARIANTS);
    let verifier = ProcessVerifier::new(args.verify_log_dir);
    let gate = Gate { verifier: &verifier, host: rollout::registry_host(env, fleet), limit: Semaphore::new(usize::from(args.verify_concurrency)) };
    let ctx = Ctx { mirrors: &mirrors, gate: Some(&gate), records: recorder.as_ref(), ..rollout::ctx(env, &client, fleet, args.dry_run, &progress) };
    let opts = PromoteOptions { force: args.force, skip_verify: args.skip_verify };
    let host = rollout::registry_host(env, fleet);
    let results = crate::registry::block_on(promote::promote(&ctx, &steps, &opts))?.map_err(|e| rollout::engine_error_at(&host, e))?;
    let report = ResultsReport { results, dry_run: args.dry_run, forced: args.force };
    let title = revs.iter().map(|(c, r)| format!("{c} ← {r}")).collect::<Vec<_>>().join(", ");
    let code = rollout::finish(env, &format!("promote ({title})"), &report)?;
    crate::what_changed::append(env, &client, fleet, &report.results, args.dry_run, crate::sources::lookup(&sources), recorder.as_ref());
    if let Some(md) = verifier.markdown() {
        rollout::append_summary(env, &md);
    }
    Ok(code)
}

/// The variants named (all when none) as defined at `rev`; one that is not there but is
/// in the working tree gets the true message: merge it, or promote from another revision.
fn select_at<'f>(repo: &imgctl_git::Repo, fleet: &'f imgctl_core::Fleet, rev: &str, names: &[String], head: &imgctl_core::Fleet) -> Result<Vec<&'f imgctl_core::Variant>, CliError> {
    for n in names {
        if fleet.variant(n).is_none() && head.variant(n).is_some() {
            let root = imgctl_engine::publish::default_channel(head).and_then(|c| imgctl_core::chain::promotion_branch(&head.manifest.channels, &c));
            let other = root.filter(|b| b != rev).unwrap_or_else(|| "REV".into());
            return Err(CliError::Input(format!(
                "promote '{n}': it is not in the manifest at {} (it is in the working tree): merge it there, or pass --ref {other}",
                rollout::rev_label(repo, rev)
            )));
        }
    }
    select(fleet, names)
}
