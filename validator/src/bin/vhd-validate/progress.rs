//! Progress bars: the library's [`vhd_validator::progress::bar`], re-exported for the
//! subcommands.

pub use vhd_validator::progress::bar::{eprintln_above, hook, Bar};
