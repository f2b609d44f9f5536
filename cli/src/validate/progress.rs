//! Progress bars: [`vhd_cli::bar`], re-exported for the
//! subcommands.

pub use vhd_cli::bar::{eprintln_above, hook, Bar};
