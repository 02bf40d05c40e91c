//! `imgctl man`: man pages generated from the command line's own definition
//! (`clap_mangen`): `imgctl.1` and one `imgctl-<command>.1` per subcommand, written to
//! `--out-dir` (the release archives ship them), or `imgctl.1` to stdout.

use std::path::PathBuf;

use clap::CommandFactory;

use crate::env::Env;
use crate::error::{CliError, CmdResult};
use crate::exit;

/// Arguments of `man`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write every page into this directory instead of printing `imgctl.1`.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Runs `man`.
pub fn run(args: Args, env: &mut Env<'_>) -> CmdResult {
    let cmd = crate::Cli::command();
    let Some(dir) = args.out_dir else {
        clap_mangen::Man::new(cmd).render(env.out)?;
        return Ok(exit::SUCCESS);
    };
    std::fs::create_dir_all(&dir).map_err(|e| CliError::Input(format!("create '{}': {e}", dir.display())))?;
    clap_mangen::generate_to(cmd, &dir).map_err(|e| CliError::Input(format!("write man pages into '{}': {e}", dir.display())))?;
    writeln!(env.out, "man pages written to {}", dir.display())?;
    Ok(exit::SUCCESS)
}
