//! `vhd-validate`: the command-line face of the vhd-validator library.
//!
//! The library finds and grades; this binary only parses arguments, passes the clock in
//! (`--now`, default: the system clock) and renders reports (text, JSON, Markdown). Exit status:
//! 0 when no finding has error severity, 1 when one does, 2 when the tool could not run (usage
//! error, unreadable file, failed write).
//!
//! # Adding a subcommand
//! Write `src/validate/NAME.rs` with a `pub struct Args` (derive `clap::Args`; its doc
//! comment is the help text) and `pub fn run(args: Args) -> Outcome`, then add one line
//! `Name => name,` to the [`subcommands!`] invocation below.

use clap::{CommandFactory, Parser, Subcommand};
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

mod progress;
mod report;
mod sarif;
mod time;

/// Declares the subcommand modules, the [`Command`] enum and its dispatch from one list of
/// `Variant => module` lines, so that registering a subcommand is one line.
macro_rules! subcommands {
    ($( $variant:ident => $module:ident ),* $(,)?) => {
        $( mod $module; )*

        /// The subcommands.
        #[derive(Debug, Subcommand)]
        enum Command {
            $( $variant($module::Args), )*
        }

        impl Command {
            /// Runs the subcommand.
            fn run(self) -> Outcome {
                match self {
                    $( Command::$variant(args) => $module::run(args), )*
                }
            }
        }
    };
}

subcommands! {
    Check => check,
    Rules => rules,
    Explain => explain,
    Cat => cat,
    Digest => digest,
    Analyze => analyze,
    Conform => conform,
    ConformWriter => conform_writer,
    Corpus => corpus,
    Explore => explore,
}

/// VHD conformance validator and reference chain reader.
///
/// `vhd-validate PATH...` is short for `vhd-validate check PATH...`.
#[derive(Debug, Parser)]
#[command(name = "vhd-validate", version, arg_required_else_help = true, after_help = EXIT_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Exit status help shared by the top-level command.
const EXIT_HELP: &str = "Exit status: 0 no finding of error severity, 1 at least one error finding, \
                         2 the tool could not run (usage error, unreadable file).\n\
                         Rule codes: `vhd-validate rules`, `vhd-validate explain CODE`.";

/// How a subcommand ended; the discriminant is the process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// No finding of error severity (or nothing to judge).
    Pass = 0,
    /// At least one finding of error severity.
    Fail = 1,
    /// The tool could not do all it was asked (an input was unreadable, a write failed); the
    /// reason has been printed to stderr.
    Fatal = 2,
}

/// Why a subcommand stopped early; printed to stderr, exit status 2.
#[derive(Debug)]
pub enum Fatal {
    /// A message for the user.
    Message(String),
    /// Writing to stdout failed (a closed pipe is not reported).
    Output(io::Error),
}

impl Fatal {
    /// A fatal error with `message`.
    pub fn msg(message: impl Into<String>) -> Fatal {
        Fatal::Message(message.into())
    }
}

impl From<io::Error> for Fatal {
    fn from(e: io::Error) -> Fatal {
        Fatal::Output(e)
    }
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fatal::Message(m) => f.write_str(m),
            Fatal::Output(e) => write!(f, "cannot write output: {e}"),
        }
    }
}

/// What every subcommand returns.
pub type Outcome = Result<Status, Fatal>;

/// Prints `vhd-validate: error: MESSAGE` to stderr (for errors that do not stop the run), with
/// control characters escaped (messages quote file names).
pub fn error(message: impl fmt::Display) {
    eprintln!("vhd-validate: error: {}", vhd_validator::finding::escape_text(&message.to_string()));
}

/// Prints `vhd-validate: note: MESSAGE` to stderr.
pub fn note(message: impl fmt::Display) {
    eprintln!("vhd-validate: note: {}", vhd_validator::finding::escape_text(&message.to_string()));
}

/// Parses `--max-depth`: a chain length of at least 1 (child included).
///
/// # Errors
/// A message when `s` is not a positive integer.
pub fn parse_depth(s: &str) -> Result<usize, String> {
    let max = vhd_validator::check::MAX_CHAIN_DEPTH;
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a chain length (a whole number from 1 to {max})")),
    }
}

/// `--parent-search` values (see [`ChainArgs`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ParentSearchArg {
    /// Open a parent only if, with symbolic links resolved, it lies under the child's directory
    /// or a --parent-dir directory; other paths an image names are refused unopened.
    Confined,
    /// Open any path the image names (only for trusted chains).
    Anywhere,
}

impl From<ParentSearchArg> for vhd_validator::check::ParentSearch {
    fn from(p: ParentSearchArg) -> Self {
        match p {
            ParentSearchArg::Confined => vhd_validator::check::ParentSearch::Confined,
            ParentSearchArg::Anywhere => vhd_validator::check::ParentSearch::Anywhere,
        }
    }
}

/// The parent search options every subcommand that reads a differencing chain shares
/// (`check`, `cat`, `digest`, `analyze`).
#[derive(Debug, clap::Args)]
pub struct ChainArgs {
    /// Directory searched for parent images (by file name) after the parent locators;
    /// repeatable, searched in order.
    #[arg(long = "parent-dir", value_name = "DIR")]
    pub parent_dirs: Vec<std::path::PathBuf>,

    #[arg(long, value_enum, value_name = "WHERE", default_value_t = ParentSearchArg::Confined,
          help = PARENT_SEARCH_HELP)]
    pub parent_search: ParentSearchArg,

    /// Maximum differencing chain length, child included.
    #[arg(long, value_name = "N", default_value_t = vhd_validator::check::DEFAULT_MAX_DEPTH,
          value_parser = parse_depth)]
    pub max_depth: usize,
}

impl ChainArgs {
    /// Options that read a chain without checking block data: the parent search of these
    /// arguments, every other field at its default.
    pub fn read_options(&self) -> vhd_validator::check::CheckOptions {
        let mut opts = vhd_validator::check::CheckOptions::default();
        opts.parent_dirs.clone_from(&self.parent_dirs);
        opts.parent_search = self.parent_search.into();
        opts.max_depth = self.max_depth;
        opts.read_block_data = false;
        opts
    }
}

/// Help text of `--parent-search`.
pub const PARENT_SEARCH_HELP: &str = "Where parents may be opened from: `confined` (default) only under the child's \
directory or a --parent-dir directory, symbolic links resolved (other paths an image names are refused unopened: \
CHAIN-PARENT-OUTSIDE-SEARCH); `anywhere` opens any path the image names (trusted chains only)";

/// Buffered, locked stdout. Callers flush it (errors surface as [`Fatal::Output`]).
pub fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::new(io::stdout().lock())
}

/// Inserts `check` when the first argument is neither a known subcommand nor a top-level flag,
/// so that `vhd-validate PATH...` means `vhd-validate check PATH...`.
fn with_default_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    let Some(first) = args.get(1) else {
        return args;
    };
    let first = first.to_string_lossy();
    let cmd = Cli::command();
    let known = first == "help"
        || cmd.get_subcommands().any(|c| c.get_name() == first || c.get_all_aliases().any(|a| a == first));
    let top_flag = matches!(first.as_ref(), "-h" | "--help" | "-V" | "--version");
    if !known && !top_flag {
        args.insert(1, OsString::from("check"));
    }
    args
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    vhd_cli::janitor::serve_if_asked();
    let _janitor = vhd_cli::janitor::install();
    let args = with_default_subcommand(std::env::args_os().collect());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { Status::Fatal as u8 } else { 0 });
        }
    };
    let status = match cli.command.run() {
        Ok(status) => status,
        Err(Fatal::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Status::Fatal,
        Err(fatal) => {
            error(&fatal);
            Status::Fatal
        }
    };
    let _ = io::stderr().flush();
    ExitCode::from(status as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bare_paths_mean_check() {
        assert_eq!(with_default_subcommand(argv(&["v", "a.vhd"])), argv(&["v", "check", "a.vhd"]));
        assert_eq!(
            with_default_subcommand(argv(&["v", "--profile", "compat", "a.vhd"])),
            argv(&["v", "check", "--profile", "compat", "a.vhd"])
        );
        for kept in [&["v", "rules"][..], &["v", "explain", "X"], &["v", "--help"], &["v", "-V"], &["v"]] {
            assert_eq!(with_default_subcommand(argv(kept)), argv(kept));
        }
    }

    #[test]
    fn conform_takes_judging_and_its_older_spelling() {
        let judging =
            |flag: &str| match Cli::try_parse_from(["v", "conform", "--impl", "qemu-img", flag, "strict", "c"]) {
                Ok(Cli { command: Command::Conform(a) }) => a.judging,
                other => panic!("{other:?}"),
            };
        assert_eq!(judging("--judging"), conform::JudgingArg::Strict);
        assert_eq!(judging("--profile"), conform::JudgingArg::Strict);
        let help = Cli::command().find_subcommand_mut("conform").map(|c| c.render_help().to_string());
        assert!(help.is_some_and(|h| h.contains("--judging") && !h.contains("--profile <")));
    }
}
