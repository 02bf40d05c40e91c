//! `imgctl completions SHELL`: a shell completion script, generated from the command line's
//! own definition (`clap_complete`), printed to stdout.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::env::Env;
use crate::error::CmdResult;
use crate::exit;

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell: bash, zsh, fish, powershell or elvish.
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

/// Runs `completions`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let mut cmd = crate::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "imgctl", env.out);
    Ok(exit::SUCCESS)
}
