//! The CLI's one edge error type, and how each kind maps to an exit code.

use crate::exit;

/// Why a command did not succeed. Messages are lower-case fragments that read after
/// "failed to …"; the variant decides the exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line was wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Bad input files or arguments found while running (exit 1).
    #[error("{0}")]
    Input(String),
    /// A check failed or some variants were not done; the report already says which (exit 1).
    #[error("{0}")]
    Failed(String),
    /// The registry was unreachable or refused authentication (exit 3).
    #[error("{0}")]
    Registry(String),
    /// Writing the output failed.
    #[error("write output: {0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    /// The exit code for this error (SPEC §4).
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => exit::USAGE,
            CliError::Input(_) | CliError::Failed(_) | CliError::Io(_) => exit::FAILED,
            CliError::Registry(_) => exit::REGISTRY,
        }
    }
}

impl From<imgctl_registry::RegistryError> for CliError {
    /// Unreachable registries and refused credentials exit 3; other registry failures exit 1.
    fn from(e: imgctl_registry::RegistryError) -> CliError {
        if let imgctl_registry::RegistryError::TimedOut { .. } = e {
            return CliError::Registry(format!("{e} (raise --request-timeout / IMGCTL_REQUEST_TIMEOUT if it is only slow)"));
        }
        if e.is_access() { CliError::Registry(e.to_string()) } else { CliError::Failed(e.to_string()) }
    }
}

/// A command's result: `Ok` carries the exit code of a command that ran to the end
/// (0, or 1 when the report already lists what failed).
pub type CmdResult = Result<u8, CliError>;
