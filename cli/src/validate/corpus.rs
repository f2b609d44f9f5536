//! `vhd-validate corpus`: verify a generated corpus against its `manifest.json`.

use crate::{Outcome, Status};
use std::io::Write;
use std::path::PathBuf;
use vhd_validator::check::CheckOptions;
use vhd_validator::manifest::{verify_corpus_with, CodeMatch};

/// Check every case of a corpus manifest (DIR/manifest.json): the validator must report at
/// least each case's expected rule codes (with --exact-codes: exactly them) and reach exactly
/// its verdict under every profile;
/// for cases with a virtual disk digest the reference reader's SHA-256 must equal it; every
/// listed file must match its size and SHA-256. Cases are checked at the manifest's
/// `check_time_unix`, not the clock. Prints failing cases and `corpus: N passed, N failed`;
/// exit status 1 on any mismatch (docs/MANIFEST.md).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Corpus directory (holds manifest.json).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Also list passing cases (and the extra codes they report).
    #[arg(short, long)]
    pub verbose: bool,

    /// Fail a case whose findings include a code its manifest entry does not list (by default
    /// the expected codes are a floor: an extra code fails only when it changes a verdict).
    #[arg(long)]
    pub exact_codes: bool,

    /// Cases verified at once (default: one per core); the output order does not depend on it.
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
}

/// Runs `corpus`.
pub fn run(args: Args) -> Outcome {
    if let Err(e) = vhd_validator::parallel::set_jobs(args.jobs) {
        eprintln!("vhd-validate: {e}");
        return Ok(Status::Fatal);
    }
    let codes = if args.exact_codes { CodeMatch::Exact } else { CodeMatch::Floor };
    let summary = verify_corpus_with(&args.dir, &CheckOptions::default(), codes);
    let mut out = crate::stdout();
    if args.verbose {
        for c in summary.cases.iter().filter(|c| c.passed()) {
            writeln!(out, "{c}")?;
        }
    }
    writeln!(out, "{summary}")?;
    out.flush()?;
    if summary.manifest_error.is_some() {
        return Ok(Status::Fatal);
    }
    Ok(if summary.passed() { Status::Pass } else { Status::Fail })
}
