//! `vhd-validate explore`: forwards to `vhd-generate explore`, since exploration draws its
//! scenarios from the generator.

use crate::{Fatal, Outcome, Status};
use std::ffi::OsString;
use std::path::PathBuf;

/// Differential exploration: random scenarios from the generator run through conform's
/// adapters; each disagreement with the validator and the reference chain reader is shrunk to a
/// minimal scenario and reported once per signature. Runs `vhd-generate explore ARGS...` (found
/// beside this program, else on PATH); see `vhd-generate explore --help` and docs/EXPLORE.md.
/// Exit status: 0 no fault found, 1 a fault found, 2 an error.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// Arguments of `vhd-generate explore` (`--impl`, `--cmd`, `--seed`, `--budget`, `--out`, ...).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub args: Vec<OsString>,
}

/// The `vhd-generate` program: beside the running executable when it is there, else `PATH`'s.
fn generator() -> PathBuf {
    let name = format!("vhd-generate{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(&name)))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Runs `vhd-generate explore` with the arguments and returns its exit status.
pub fn run(args: Args) -> Outcome {
    let program = generator();
    let status = std::process::Command::new(&program)
        .arg("explore")
        .args(&args.args)
        .status()
        .map_err(|e| Fatal::msg(format!("cannot run {}: {e} (build it with `cargo build -p vhd-cli`)", program.display())))?;
    Ok(match status.code() {
        Some(0) => Status::Pass,
        Some(1) => Status::Fail,
        _ => Status::Fatal,
    })
}
