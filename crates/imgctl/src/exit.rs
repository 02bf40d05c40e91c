//! Exit codes (SPEC §4), as documented constants.

/// Everything succeeded.
pub const SUCCESS: u8 = 0;
/// A check failed, or at least one variant could not be done (the others were).
pub const FAILED: u8 = 1;
/// The command line was wrong.
pub const USAGE: u8 = 2;
/// The registry could not be reached, or refused authentication.
pub const REGISTRY: u8 = 3;
