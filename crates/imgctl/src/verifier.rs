//! The verification gate's processes (SPEC §8): the engine decides when a channel's
//! `verify` command runs; this runs it — argv as is or a string with `sh -c`, in its own
//! process group, with `IMGCTL_IMAGE`, `IMGCTL_VARIANT`, `IMGCTL_OS`, `IMGCTL_DIGEST` and
//! `IMGCTL_CHANNEL` added to imgctl's environment, stdout and stderr into one log file per
//! variant, killed (the whole group) at its timeout.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Mutex;

use imgctl_core::history::digest12;
use imgctl_core::manifest::VerifyCommand;
use imgctl_engine::verify::{Verifier, VerifyJob, VerifyOutcome, last_lines};

/// Lines of a log the step summary shows.
const SUMMARY_LINES: usize = 20;

/// One finished verification: what ran, how it ended, its log.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The job.
    pub job: VerifyJob,
    /// How it ended.
    pub outcome: VerifyOutcome,
    /// Its log file.
    pub log: PathBuf,
}

/// Runs verification commands as processes, logging each to `log_dir`.
#[derive(Debug)]
pub struct ProcessVerifier {
    log_dir: PathBuf,
    ran: Mutex<Vec<Ran>>,
}

impl ProcessVerifier {
    /// A verifier logging to `log_dir` (created when the first command runs).
    pub fn new(log_dir: PathBuf) -> ProcessVerifier {
        ProcessVerifier { log_dir, ran: Mutex::new(Vec::new()) }
    }

    /// Every verification run so far.
    pub fn ran(&self) -> Vec<Ran> {
        self.ran.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The Markdown section of the step summary: one entry per verification, with the
    /// tail of its output.
    pub fn markdown(&self) -> Option<String> {
        let ran = self.ran();
        if ran.is_empty() {
            return None;
        }
        let mut s = String::from("### imgctl verification\n\n");
        for r in ran {
            let mark = if r.outcome.passed { "passed" } else { "**failed**" };
            let text = std::fs::read_to_string(&r.log).unwrap_or_default();
            s.push_str(&format!(
                "<details><summary><code>{}</code> {} <code>sha256:{}</code>: {mark} ({})</summary>\n\n```\n{}\n```\n\nlog: <code>{}</code>\n</details>\n\n",
                r.job.variant,
                r.job.channel,
                digest12(&r.job.digest),
                r.outcome.result,
                last_lines(&text, SUMMARY_LINES).replace("```", "'''"),
                r.log.display()
            ));
        }
        Some(s)
    }

    async fn run(&self, job: &VerifyJob) -> (VerifyOutcome, PathBuf) {
        let log = self.log_dir.join(format!("{}-{}-{}.log", job.variant, job.channel, digest12(&job.digest)));
        let fail = |result: String| VerifyOutcome { passed: false, result, tail: String::new() };
        if let Err(e) = std::fs::create_dir_all(&self.log_dir) {
            return (fail(format!("could not start: create log dir '{}': {e}", self.log_dir.display())), log);
        }
        let file = match std::fs::File::create(&log).and_then(|f| f.try_clone().map(|g| (f, g))) {
            Ok(f) => f,
            Err(e) => return (fail(format!("could not start: create log '{}': {e}", log.display())), log),
        };
        let mut cmd = match &job.command {
            VerifyCommand::Shell(line) => {
                let mut c = tokio::process::Command::new("sh");
                c.arg("-c").arg(line);
                c
            }
            VerifyCommand::Argv(argv) => {
                let Some((program, args)) = argv.split_first() else { return (fail("could not start: the command is an empty list".into()), log) };
                let mut c = tokio::process::Command::new(program);
                c.args(args);
                c
            }
        };
        cmd.env("IMGCTL_IMAGE", &job.image)
            .env("IMGCTL_VARIANT", &job.variant)
            .env("IMGCTL_OS", &job.os)
            .env("IMGCTL_DIGEST", &job.digest)
            .env("IMGCTL_CHANNEL", &job.channel)
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.0))
            .stderr(Stdio::from(file.1))
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return (fail(format!("could not start: {e}")), log),
        };
        let limit = std::time::Duration::from_secs(job.timeout.0);
        let result = match tokio::time::timeout(limit, child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(match status.code() {
                Some(n) => format!("exit {n}"),
                None => "killed by a signal".to_string(),
            }),
            Ok(Err(e)) => Err(format!("could not wait for it: {e}")),
            Err(_) => {
                kill_group(child.id());
                let _ = child.kill().await;
                Err(format!("timed out after {}", job.timeout))
            }
        };
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail = last_lines(&text, imgctl_engine::verify::TAIL_LINES);
        let outcome = match result {
            Ok(()) => VerifyOutcome { passed: true, result: "exit 0".into(), tail },
            Err(result) => VerifyOutcome { passed: false, result, tail },
        };
        (outcome, log)
    }
}

/// Kills the process group `pid` leads (the command and whatever it started).
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid {
        let _ = std::process::Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).stderr(Stdio::null()).status();
    }
}

impl Verifier for ProcessVerifier {
    fn verify<'a>(&'a self, job: &'a VerifyJob) -> Pin<Box<dyn Future<Output = VerifyOutcome> + Send + 'a>> {
        Box::pin(async move {
            let (outcome, log) = self.run(job).await;
            tracing::info!("verification of {} {} ({}): {}; log {}", job.variant, job.channel, job.digest, outcome.result, log.display());
            self.ran.lock().unwrap_or_else(|p| p.into_inner()).push(Ran { job: job.clone(), outcome: outcome.clone(), log });
            outcome
        })
    }
}
