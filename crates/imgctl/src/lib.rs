//! The `imgctl` command line: argument parsing, output and exit codes over the
//! engine crates. Each subcommand is one module under [`commands`].

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

pub mod commands;
pub mod consumers;
pub mod env;
pub mod error;
pub mod exit;
pub mod fs_tree;
pub mod global;
pub mod mirrors;
pub mod names;
pub mod output;
pub mod progress;
pub mod records;
pub mod rollout;
pub mod sources;
pub mod verifier;
pub mod registry;
pub mod what_changed;
pub mod workspace;

use env::{Env, EnvFacts};
use error::CliError;
use global::GlobalArgs;

/// `0.1.0 (commit 7fbcb08…)`: the version and the git commit this binary was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("IMGCTL_GIT_COMMIT"), ")");

/// imgctl: staged rollout, promotion by digest, rollback and cleanup for a fleet of
/// CI build images.
#[derive(Debug, Parser)]
#[command(name = "imgctl", version = VERSION, about, max_term_width = 100)]
pub struct Cli {
    /// Flags valid with every subcommand.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: commands::Command,
}

/// Sets up logging to stderr: warnings by default, more with each `-v`.
fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // rustls-platform-verifier logs an ERROR line for every refused certificate; the registry
    // error says the same with advice, so its line is shown from -vv on only.
    let verifier = if verbose >= 2 { level } else { "off" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("IMGCTL_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "warn,rustls_platform_verifier={verifier},imgctl={level},imgctl_core={level},imgctl_registry={level},imgctl_git={level},imgctl_engine={level}"
        ))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .try_init();
}

/// Runs the command line the process was started with.
#[allow(clippy::print_stderr)]
pub fn main() -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::SUCCESS });
        }
    };
    init_tracing(cli.global.verbose);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = match EnvFacts::from_process() {
        Ok(facts) => {
            cli.global.manifest = workspace::manifest_path(cli.global.manifest_flag.as_deref(), facts.cwd.as_deref());
            let mut env = Env { global: cli.global, out: &mut out, facts };
            commands::run(cli.command, &mut env)
        }
        Err(e) => Err(e),
    };
    let _ = out.flush();
    match code {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: failed to {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Parses `args` (without running anything): what the workflow-invocation test uses.
pub fn parse_args<I, T>(args: I) -> Result<Cli, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args).map_err(|e| CliError::Usage(e.to_string()))
}
