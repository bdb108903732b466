//! One module per subcommand; each takes its parsed arguments and returns the exit status.

pub mod baseline;
pub mod completions;
pub mod hook;
pub mod inventory;
pub mod revoke;
pub mod rules;
pub mod scan;
pub mod sweep;

/// Exit statuses: 0 nothing found, 1 findings (or failed rule checks), 2 error.
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;
