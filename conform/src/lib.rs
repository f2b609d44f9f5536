//! The conformance runner: holds other VHD implementations to a golden corpus.
//!
//! **Reader conformance** ([`run_reader`]): every case of a corpus (a directory with a
//! `manifest.json`, see [`vhd_validator::manifest`]) is copied into a scratch directory and handed to an
//! implementation through an [`Adapter`] (a command template with `{image}`, `{out}`, `{dir}`,
//! `{chain}`, `{case}` placeholders, or a built-in for `qemu-img`, libvhdi or 7-Zip). The adapter
//! reports only the raw outcome ([`RawOutcome`]: exit status or signal, the result's size and
//! SHA-256, messages, time); [`classify`] alone compares it with the manifest and gives one
//! [`Outcome`] per case. [`expect`] files turn known failures into expected failures, and an
//! expected failure that passes is reported.
//!
//! **Writer conformance** ([`writer`]): an implementation creates images over a table of sizes
//! and disk types, and each is validated under the strict profile.
//!
//! Rendering (text, JSON, JUnit XML, Markdown) is the CLI's (`vhd-validate conform`); the result
//! types here serialize to the JSON documented in `docs/CONFORMANCE.md`.

pub mod adapter;
mod exec;
pub mod expect;
pub mod template;
pub mod writer;

pub use adapter::{Adapter, Builtin, ExitContract};
pub use exec::{ExecError, OutputDigest, RawOutcome, DEFAULT_TIMEOUT};
pub use expect::{ExpectEntry, ExpectFile};

use adapter::ExitMeaning;
use exec::Invocation;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;
use template::Placeholder;
use vhd_validator::chain::ChainReader;
use vhd_validator::check::CheckOptions;
use vhd_validator::manifest::{file_sha256, Case, Manifest, Verdict};
use vhd_validator::rules::{Family, Profile};

/// Version of the JSON result documents (`conform --format json`, `conform-writer --format
/// json`); bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 2;

/// Largest virtual disk (bytes) for which a wrong result is compared with the reference reader
/// byte by byte to locate the first difference.
pub const DIAGNOSE_LIMIT: u64 = 1 << 30;

/// The outcome of one case for one implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Outcome {
    /// The implementation did what the manifest asks: read the virtual disk with the right size
    /// and bytes, or refused an image the manifest rejects (or, where the profiles disagree,
    /// either of the two).
    Pass,
    /// Read without error, the right size, but bytes whose SHA-256 differs from the manifest's.
    WrongBytes,
    /// Read without error, but the result's size is not the virtual size.
    WrongSize,
    /// A case the manifest rejects was read without error, and the bytes read are the reference
    /// reading (the manifest's `reference_sha256`: what a lenient reader must return), or the
    /// manifest has no reference reading for the case.
    AcceptedCorrupt,
    /// A case the manifest rejects was read without error, and the bytes read are not its
    /// reference reading: accepted and read wrongly, worse than `accepted-corrupt`.
    AcceptedMisread,
    /// A case the manifest accepts was refused (non-success exit status or no result).
    RejectedValid,
    /// Killed by a signal (other than the runner's time limit).
    Crash,
    /// Did not finish within the time limit; its process group was killed.
    Timeout,
    /// The command broke the adapter contract: an exit code that means none of read, refused
    /// or unsupported, a success exit with no result written, or 0 bytes read of a non-empty
    /// disk. Always a failure.
    HarnessError,
    /// Not run (the case carries a feature tag the implementation declares unsupported), or the
    /// implementation reported an unsupported feature (exit 77 by default). Never a pass.
    Skipped,
}

impl Outcome {
    /// Every outcome, in report order.
    pub const ALL: [Outcome; 10] = [
        Outcome::Pass,
        Outcome::WrongBytes,
        Outcome::WrongSize,
        Outcome::AcceptedCorrupt,
        Outcome::AcceptedMisread,
        Outcome::RejectedValid,
        Outcome::Crash,
        Outcome::Timeout,
        Outcome::HarnessError,
        Outcome::Skipped,
    ];

    /// The failing outcomes (what an expect file may list).
    pub const FAILING: [&'static str; 8] = [
        "wrong-bytes",
        "wrong-size",
        "accepted-corrupt",
        "accepted-misread",
        "rejected-valid",
        "crash",
        "timeout",
        "harness-error",
    ];

    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::WrongBytes => "wrong-bytes",
            Outcome::WrongSize => "wrong-size",
            Outcome::AcceptedCorrupt => "accepted-corrupt",
            Outcome::AcceptedMisread => "accepted-misread",
            Outcome::RejectedValid => "rejected-valid",
            Outcome::Crash => "crash",
            Outcome::Timeout => "timeout",
            Outcome::HarnessError => "harness-error",
            Outcome::Skipped => "skipped",
        }
    }

    /// Whether the outcome is a failure (neither `pass` nor `skipped`).
    pub fn is_failure(self) -> bool {
        !matches!(self, Outcome::Pass | Outcome::Skipped)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a case is judged from the manifest's verdicts (`vhd-validate conform --judging`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Judging {
    /// A reader must read what both profiles accept and refuse what both reject; where strict
    /// rejects and compat accepts, either reading or refusing passes. The default.
    #[default]
    Either,
    /// A reader must refuse everything the strict profile rejects.
    Strict,
    /// A reader must read everything the compat profile accepts.
    Compat,
}

impl Judging {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Judging::Either => "either",
            Judging::Strict => "strict",
            Judging::Compat => "compat",
        }
    }
}

/// What the manifest asks of a reader for one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Requirement {
    /// Read the virtual disk (size and, when listed, SHA-256 must match).
    Read,
    /// Refuse the image.
    Reject,
    /// Either read it correctly or refuse it.
    Either,
}

impl Requirement {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Requirement::Read => "read",
            Requirement::Reject => "reject",
            Requirement::Either => "either",
        }
    }

    /// What `case`'s verdicts ask under `judging`. A profile missing from the manifest takes the
    /// other profile's verdict; a case with neither may be read or refused. A case the manifest
    /// checks with a chain depth limit (`check.max_depth`) and rejects only for exceeding it
    /// ([`vhd_validator::manifest::rejected_only_for_depth`]) may be read or refused: the limit is
    /// the validator's policy for that case, not something the bytes make wrong.
    pub fn of(case: &Case, judging: Judging) -> Requirement {
        let r = Requirement::from_verdicts(case, judging);
        let depth_only = case.check.as_ref().is_some_and(|c| c.max_depth.is_some())
            && vhd_validator::manifest::rejected_only_for_depth(&case.expected_codes);
        if r == Requirement::Reject && depth_only {
            Requirement::Either
        } else {
            r
        }
    }

    fn from_verdicts(case: &Case, judging: Judging) -> Requirement {
        let strict = case.verdict_for(Profile::Strict);
        let compat = case.verdict_for(Profile::Compat);
        let rejects = |v: Option<Verdict>| v == Some(Verdict::Reject);
        let (strict, compat) = match (strict, compat) {
            (None, None) => return Requirement::Either,
            (s, c) => (s.or(c), c.or(s)),
        };
        match judging {
            Judging::Strict if rejects(strict) => Requirement::Reject,
            Judging::Compat if !rejects(compat) => Requirement::Read,
            Judging::Strict | Judging::Compat => {
                if rejects(compat) {
                    Requirement::Reject
                } else {
                    Requirement::Read
                }
            }
            Judging::Either => match (rejects(strict), rejects(compat)) {
                (false, false) => Requirement::Read,
                (true, true) | (false, true) => Requirement::Reject,
                (true, false) => Requirement::Either,
            },
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the implementation did, whatever the manifest says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Behaviour {
    /// Exited with a success code and left a result.
    Read,
    /// Exited otherwise, or left no result.
    Refused,
    /// Killed by a signal.
    Crashed,
    /// Killed by the runner at the time limit.
    TimedOut,
    /// Reported an unsupported feature (the contract's unsupported exit code).
    Unsupported,
    /// Broke the adapter contract (see [`Outcome::HarnessError`]).
    HarnessError,
    /// Not run (skipped).
    NotRun,
}

/// How a case's outcome counts, once the expect file is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Status {
    /// Passed, not listed as an expected failure.
    Ok,
    /// Failed, and not listed (or listed with other outcomes).
    Fail,
    /// Failed with an outcome the expect file lists.
    ExpectedFailure,
    /// Passed although the expect file lists it as failing.
    UnexpectedPass,
    /// Not run.
    Skipped,
}

impl Status {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Fail => "fail",
            Status::ExpectedFailure => "expected-failure",
            Status::UnexpectedPass => "unexpected-pass",
            Status::Skipped => "skipped",
        }
    }

    /// Whether the status makes the run fail (`fail` and `unexpected-pass`).
    pub fn is_bad(self) -> bool {
        matches!(self, Status::Fail | Status::UnexpectedPass)
    }

    /// The status of a result: `skipped` when the case was not run; otherwise, by whether its
    /// outcome (named `outcome`) is a failure and which expect-file `entry` (if any) applies.
    pub fn of(outcome_is_failure: bool, skipped: bool, outcome: &str, entry: Option<&ExpectEntry>) -> Status {
        match (skipped, outcome_is_failure, entry) {
            (true, _, _) => Status::Skipped,
            (false, false, None) => Status::Ok,
            (false, false, Some(_)) => Status::UnexpectedPass,
            (false, true, Some(e)) if e.expects(outcome) => Status::ExpectedFailure,
            (false, true, _) => Status::Fail,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The expect-file entry that applied to a result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExpectNote {
    /// The outcomes listed (`fail`: any failing outcome).
    pub outcomes: String,
    /// The reason given.
    pub reason: String,
    /// The entry's line in the expect file.
    pub line: usize,
}

impl ExpectNote {
    fn of(e: &ExpectEntry) -> ExpectNote {
        ExpectNote { outcomes: e.outcomes_text(), reason: e.reason.clone(), line: e.line }
    }
}

/// The result of one case for one implementation.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// The case id.
    pub case: String,
    /// The outcome.
    pub outcome: Outcome,
    /// How it counts after the expect file.
    pub status: Status,
    /// What the manifest asks under the run's judging.
    pub requirement: Requirement,
    /// What the implementation did.
    pub behaviour: Behaviour,
    /// The rule codes the case exercises (the manifest's expected codes).
    pub codes: Vec<String>,
    /// The rule family the case is grouped under (see [`case_group`]).
    pub group: String,
    /// The known faults the case exposes (manifest `exposes`, ids of [`vhd_validator::faults`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exposes: Vec<String>,
    /// The size in bytes a reading must have (the manifest's virtual size).
    pub expected_size: u64,
    /// The SHA-256 a reading must have: the manifest's `virtual_disk_sha256`, or for a case to
    /// refuse its `reference_sha256` (what a lenient reader that accepts it must read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_sha256: Option<String>,
    /// The case's feature tags.
    pub tags: Vec<String>,
    /// One sentence: what happened and why it is this outcome.
    pub detail: String,
    /// For `wrong-bytes` and `wrong-size` results of disks up to [`DIAGNOSE_LIMIT`] bytes: the
    /// first byte offset where the result differs from the virtual disk (the reference reader's,
    /// used only when its SHA-256 equals the manifest's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_difference: Option<u64>,
    /// The expect-file entry that applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<ExpectNote>,
    /// The raw outcome (absent for skipped cases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<RawOutcome>,
}

/// Counts of a run for one implementation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Cases in the run.
    pub cases: usize,
    /// Cases per outcome (every outcome listed, zeros included).
    pub outcomes: BTreeMap<String, usize>,
    /// Cases per status (every status listed, zeros included).
    pub statuses: BTreeMap<String, usize>,
}

impl Summary {
    /// Counts outcome and status names.
    pub(crate) fn of<'a>(outcomes: &[&'static str], results: impl IntoIterator<Item = (&'a str, Status)>) -> Summary {
        let mut s = Summary::default();
        for o in outcomes {
            s.outcomes.insert((*o).to_string(), 0);
        }
        for st in [Status::Ok, Status::Fail, Status::ExpectedFailure, Status::UnexpectedPass, Status::Skipped] {
            s.statuses.insert(st.as_str().to_string(), 0);
        }
        for (o, st) in results {
            s.cases = s.cases.saturating_add(1);
            let c = s.outcomes.entry(o.to_string()).or_insert(0);
            *c = c.saturating_add(1);
            let c = s.statuses.entry(st.as_str().to_string()).or_insert(0);
            *c = c.saturating_add(1);
        }
        s
    }

    /// The count of `status`.
    pub fn status(&self, status: Status) -> usize {
        self.statuses.get(status.as_str()).copied().unwrap_or(0)
    }

    /// The count of outcome `name`.
    pub fn outcome(&self, name: &str) -> usize {
        self.outcomes.get(name).copied().unwrap_or(0)
    }

    /// Failures plus unexpected passes: what makes a run fail.
    pub(crate) fn bad(&self) -> usize {
        self.status(Status::Fail).saturating_add(self.status(Status::UnexpectedPass))
    }
}

/// One implementation's results.
#[derive(Clone, Debug, Serialize)]
pub struct ImplementationRun {
    /// Name (built-in name or `--name`).
    pub name: String,
    /// Version as reported by the implementation, when known.
    pub version: Option<String>,
    /// The command template.
    pub command: String,
    /// Whether the virtual disk is read from standard output (no `{out}`).
    pub stdout_is_output: bool,
    /// Feature tags declared unsupported (the adapter's and the run's).
    pub unsupported: Vec<String>,
    /// Why the adapter declares its tags unsupported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What the command's exit codes mean.
    pub exit: ExitContract,
    /// The case of the sanity pass the implementation read correctly before the run (absent
    /// when the pass was turned off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sanity_case: Option<String>,
    /// One result per case, in manifest order.
    pub results: Vec<CaseResult>,
    /// Counts.
    pub summary: Summary,
    /// Expect-file entries of this implementation (or of all) that matched no case, as
    /// `LINE: PATTERN`.
    pub unused_expectations: Vec<String>,
}

/// The corpus a run used.
#[derive(Clone, Debug, Serialize)]
pub struct CorpusInfo {
    /// The corpus directory as given.
    pub dir: String,
    /// The manifest's `generator`.
    pub generator: String,
    /// Cases in the manifest.
    pub cases: usize,
    /// Cases run (after `--case` filters).
    pub selected: usize,
}

/// A whole reader-conformance run.
#[derive(Clone, Debug, Serialize)]
pub struct ReaderRun {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// `reader`.
    pub kind: &'static str,
    /// The validator's version.
    pub tool_version: &'static str,
    /// The corpus.
    pub corpus: CorpusInfo,
    /// How cases were judged.
    pub judging: Judging,
    /// Time limit per case, milliseconds: this plus `timeout_per_gib_ms` per GiB of the case's
    /// virtual size.
    pub timeout_ms: u64,
    /// Time added per GiB of virtual size, milliseconds.
    pub timeout_per_gib_ms: u64,
    /// The expect file, when one was given.
    pub expect_file: Option<String>,
    /// Per implementation.
    pub implementations: Vec<ImplementationRun>,
}

impl ReaderRun {
    /// Whether no implementation has a failure or an unexpected pass.
    pub fn passed(&self) -> bool {
        self.implementations.iter().all(|i| i.summary.bad() == 0)
    }
}

/// Options of a reader run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReaderOptions {
    /// Time limit per case, plus `timeout_per_gib` for each GiB of its virtual size.
    pub timeout: Duration,
    /// Time added to the limit per GiB of virtual size.
    pub timeout_per_gib: Duration,
    /// Run the sanity pass first: each implementation must read the corpus's plainest valid case
    /// ([`sanity_case`]) correctly, or the run stops with [`ConformError::Sanity`]. On by default;
    /// turned off where one misread case is itself the finding (exploration).
    pub sanity: bool,
    /// How cases are judged.
    pub judging: Judging,
    /// Feature tags unsupported by every implementation of the run (`--unsupported`).
    pub unsupported: Vec<String>,
    /// Ignore the tags the built-in adapters declare unsupported.
    pub run_unsupported: bool,
    /// Case id patterns (`*`, `?`) to run; empty runs every case.
    pub cases: Vec<String>,
    /// Directory under which scratch directories are made (default: the system's).
    pub scratch: Option<PathBuf>,
    /// Largest virtual size whose wrong results are located byte by byte.
    pub diagnose_limit: u64,
}

/// The default time added per GiB of a case's virtual size: 15 seconds.
pub const DEFAULT_TIMEOUT_PER_GIB: Duration = Duration::from_secs(15);

impl ReaderOptions {
    /// The time limit of a case of `virtual_size` bytes: `timeout` plus `timeout_per_gib` per GiB
    /// (2^30 bytes), in proportion.
    pub fn timeout_for(&self, virtual_size: u64) -> Duration {
        #[allow(clippy::cast_precision_loss)]
        let gib = virtual_size as f64 / f64::from(1u32 << 30);
        self.timeout.saturating_add(self.timeout_per_gib.mul_f64(gib.min(1e6)))
    }
}

impl Default for ReaderOptions {
    fn default() -> ReaderOptions {
        ReaderOptions {
            timeout: DEFAULT_TIMEOUT,
            timeout_per_gib: DEFAULT_TIMEOUT_PER_GIB,
            sanity: true,
            judging: Judging::Either,
            unsupported: Vec::new(),
            run_unsupported: false,
            cases: Vec::new(),
            scratch: None,
            diagnose_limit: DIAGNOSE_LIMIT,
        }
    }
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConformError {
    /// The corpus's files do not match its manifest.
    #[error("the corpus does not match its manifest:\n  {}", .0.join("\n  "))]
    Corpus(Vec<String>),
    /// An implementation could not be run at all.
    #[error("{implementation}: {source}")]
    Exec {
        /// The implementation.
        implementation: String,
        /// What failed.
        source: ExecError,
    },
    /// A scratch directory or file could not be made.
    #[error("scratch directory: {0}")]
    Scratch(std::io::Error),
    /// `--case` patterns selected nothing.
    #[error("no case of the manifest matches {0}")]
    NoCase(String),
    /// An `--unsupported` tag that no case of the manifest carries (a typo would skip nothing).
    #[error("--unsupported {tag}: no case of the manifest carries this tag (tags: {known})")]
    UnknownTag {
        /// The tag given.
        tag: String,
        /// The manifest's tags, comma-separated.
        known: String,
    },
    /// The implementation did not read the plainest valid case correctly: its results would
    /// be refusals and misreadings of the harness, not of the implementation.
    #[error(
        "{implementation}: sanity pass failed: the plainest valid case {case} gave {outcome} \
         ({detail}); fix the command (its working directory is the case's scratch copy, so use \
         absolute paths) or its exit codes (--ok-exit, --refused-exit, --unsupported-exit)"
    )]
    Sanity {
        /// The implementation.
        implementation: String,
        /// The case.
        case: String,
        /// Its outcome.
        outcome: Outcome,
        /// The outcome's detail.
        detail: String,
    },
    /// The manifest has no case the sanity pass can use.
    #[error("the manifest has no valid single-image case with a digest for the sanity pass")]
    NoSanityCase,
}

/// The rule family a case is grouped under in reports: that of its expected code of highest
/// strict severity (the first in catalogue order among equals), `valid` for a case without
/// expected codes. Unknown codes are ignored.
pub fn case_group(case: &Case) -> String {
    case.expected_codes
        .iter()
        .copied()
        .max_by(|a, b| a.rule().strict.cmp(&b.rule().strict).then(b.cmp(a)))
        .map_or_else(|| "valid".to_string(), |c| c.rule().family.as_str().to_string())
}

/// The group names in report order: the rule families, then `valid`.
pub fn group_order() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Family::ALL.iter().map(|f| f.as_str()).collect();
    v.push("valid");
    v
}

use vhd_validator::manifest::safe_join;

/// Checks that every listed file of `cases` exists under `dir` with its listed size and SHA-256.
///
/// # Errors
/// [`ConformError::Corpus`] listing every problem.
pub(crate) fn verify_files(dir: &Path, cases: &[&Case]) -> Result<(), ConformError> {
    // Every file hashed on the worker pool, largest first; problems listed in case order.
    let files: Vec<(&Case, &vhd_validator::manifest::CaseFile)> =
        cases.iter().flat_map(|case| case.files.iter().map(move |f| (*case, f))).collect();
    let checked = vhd_validator::parallel::map_costliest_first(
        &files,
        |(_, f)| f.size,
        |(case, f)| {
            let Some(p) = safe_join(dir, &f.path) else {
                return Some(format!("{}: file path {:?} is not a plain relative path", case.id, f.path));
            };
            match file_sha256(&p) {
                Ok((sha, size)) if size == f.size && sha == f.sha256 => None,
                Ok((sha, size)) => Some(format!(
                    "{}: {} has {size} bytes, SHA-256 {sha}; the manifest says {} bytes, {}",
                    case.id, f.path, f.size, f.sha256
                )),
                Err(e) => Some(format!("{}: {}: {e}", case.id, f.path)),
            }
        },
    );
    let mut checked = checked.into_iter();
    let mut problems = Vec::new();
    for case in cases {
        problems.extend(checked.by_ref().take(case.files.len()).flatten());
        for rel in case.chain.iter().chain(std::iter::once(&case.image)) {
            if !case.files.iter().any(|f| &f.path == rel) {
                problems.push(format!("{}: {rel} is not among the case's files", case.id));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConformError::Corpus(problems))
    }
}

fn profiles_where(case: &Case, reject: bool) -> String {
    let names: Vec<&str> = Profile::ALL
        .iter()
        .filter(|p| case.verdict_for(**p).is_some_and(|v| (v == Verdict::Reject) == reject))
        .map(|p| p.as_str())
        .collect();
    if names.is_empty() {
        "no profile".to_string()
    } else {
        names.join(" and ")
    }
}

fn refusal_text(raw: &RawOutcome) -> String {
    let mut s = raw.status_text();
    if let Some(l) = raw.message_summary(240) {
        s.push_str(&format!(": {l}"));
    }
    s
}

/// The judgement of one raw outcome: outcome, what the implementation did, and a one-sentence
/// detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Judgement {
    /// The outcome.
    pub outcome: Outcome,
    /// What the implementation did.
    pub behaviour: Behaviour,
    /// What happened and why it is this outcome.
    pub detail: String,
}

/// Compares a raw outcome with what the manifest says of `case` (the runner's only judging
/// step). `exit` is the adapter's exit contract.
///
/// - time limit reached: `timeout`; killed by a signal, or an exit code 128+N no contract list
///   names: `crash` (whatever the case);
/// - an exit code the contract does not list: `harness-error`; the unsupported code: `skipped`;
/// - the ok code: `harness-error` when no result was written or 0 bytes of a non-empty disk;
///   for a case to refuse, `accepted-corrupt` when the bytes are its reference reading (or it
///   has none), `accepted-misread` when they are not; otherwise `wrong-size` when the size is
///   not the virtual size, `wrong-bytes` when the SHA-256 is not the manifest's, else `pass`;
/// - the refused code: `rejected-valid` when the case must be read, else `pass`.
pub(crate) fn classify(case: &Case, judging: Judging, raw: &RawOutcome, exit: &ExitContract) -> Judgement {
    let requirement = Requirement::of(case, judging);
    let j = |outcome, behaviour, detail: String| Judgement { outcome, behaviour, detail };
    if raw.timed_out {
        return j(
            Outcome::Timeout,
            Behaviour::TimedOut,
            format!("no result within the time limit; the process group was killed after {} ms", raw.elapsed_ms),
        );
    }
    if raw.signal.is_some() {
        return j(Outcome::Crash, Behaviour::Crashed, refusal_text(raw));
    }
    let Some(code) = raw.exit_code else {
        return j(Outcome::HarnessError, Behaviour::HarnessError, refusal_text(raw));
    };
    let harness = |why: String| j(Outcome::HarnessError, Behaviour::HarnessError, why);
    match exit.meaning(code) {
        ExitMeaning::Signal(n) => {
            return j(
                Outcome::Crash,
                Behaviour::Crashed,
                format!(
                    "{} (128+{n}: a program behind a shell was killed by {})",
                    refusal_text(raw),
                    exec::signal_name(n)
                ),
            )
        }
        ExitMeaning::HarnessError => {
            return harness(format!(
                "{}; the adapter contract reads exit {:?} as read, {:?} as refused, {:?} as unsupported: \
                 anything else is a harness error",
                refusal_text(raw),
                exit.ok,
                exit.refused,
                exit.unsupported
            ))
        }
        ExitMeaning::Unsupported => {
            return j(
                Outcome::Skipped,
                Behaviour::Unsupported,
                format!("the implementation reports an unsupported feature ({})", refusal_text(raw)),
            )
        }
        ExitMeaning::Refused => {
            let why = refusal_text(raw);
            return match requirement {
                Requirement::Read => j(
                    Outcome::RejectedValid,
                    Behaviour::Refused,
                    format!("refused ({why}); the manifest accepts the case under {}", profiles_where(case, false)),
                ),
                Requirement::Reject => j(Outcome::Pass, Behaviour::Refused, format!("refused as expected ({why})")),
                Requirement::Either => j(
                    Outcome::Pass,
                    Behaviour::Refused,
                    format!(
                        "refused ({why}); allowed: {} rejects the case, {} accepts it",
                        profiles_where(case, true),
                        profiles_where(case, false)
                    ),
                ),
            };
        }
        ExitMeaning::Ok => {}
    }
    let Some(out) = &raw.output else {
        return harness(format!("{} but no result was written", refusal_text(raw)));
    };
    if out.size == 0 && case.virtual_size > 0 {
        return harness(format!(
            "{} but 0 bytes were read of a {}-byte virtual disk",
            refusal_text(raw),
            case.virtual_size
        ));
    }
    let got = out.sha256.as_deref().unwrap_or("(not computed)");
    if requirement == Requirement::Reject {
        let rejects = profiles_where(case, true);
        let status = raw.status_text();
        return match &case.reference_sha256 {
            Some(want) if out.size != case.virtual_size || got != want => j(
                Outcome::AcceptedMisread,
                Behaviour::Read,
                format!(
                    "read without error ({} bytes, SHA-256 {got}, {status}) and wrongly: a reader that accepts \
                     the case must read {} bytes with SHA-256 {want}; the manifest rejects it under {rejects}",
                    out.size, case.virtual_size
                ),
            ),
            Some(_) => j(
                Outcome::AcceptedCorrupt,
                Behaviour::Read,
                format!(
                    "read without error ({} bytes, {status}), as the reference reading; the manifest rejects \
                     the case under {rejects}",
                    out.size
                ),
            ),
            None => j(
                Outcome::AcceptedCorrupt,
                Behaviour::Read,
                format!(
                    "read without error ({} bytes, {status}); the manifest rejects the case under {rejects}",
                    out.size
                ),
            ),
        };
    }
    if out.size != case.virtual_size {
        let delta = i128::from(out.size) - i128::from(case.virtual_size);
        return j(
            Outcome::WrongSize,
            Behaviour::Read,
            format!("read {} bytes; the virtual disk is {} bytes ({delta:+})", out.size, case.virtual_size),
        );
    }
    match &case.virtual_disk_sha256 {
        Some(want) if got != want => j(
            Outcome::WrongBytes,
            Behaviour::Read,
            format!("read {} bytes with SHA-256 {got}; the manifest lists {want}", out.size),
        ),
        Some(_) => j(Outcome::Pass, Behaviour::Read, format!("read {} bytes; SHA-256 matches", out.size)),
        None => j(
            Outcome::Pass,
            Behaviour::Read,
            format!("read {} bytes (the manifest lists no content digest: size only)", out.size),
        ),
    }
}

/// Reads as many bytes as `f` has into `buf` (until it is full or the file ends).
fn read_full(f: &mut File, buf: &mut [u8]) -> usize {
    let mut n = 0usize;
    while n < buf.len() {
        match f.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) | Err(_) => break,
            Ok(k) => n = n.saturating_add(k),
        }
    }
    n
}

/// The first byte offset where `result` differs from the virtual disk of `image` as the
/// reference reader reads it (the length of the shorter when one is a prefix of the other).
/// `None` when they are equal, when the disk is larger than `limit`, when the reference cannot
/// read it, or when the reference's SHA-256 is not `want_sha256` (then it is no reference).
pub(crate) fn first_difference(image: &Path, result: &Path, want_sha256: &str, limit: u64) -> Option<u64> {
    let reader = ChainReader::open(image, &CheckOptions::default()).ok()?;
    let size = reader.size();
    if size > limit {
        return None;
    }
    let mut f = File::open(result).ok()?;
    let result_len = f.metadata().ok()?.len();
    const CHUNK: usize = 1 << 20;
    let mut want = vec![0u8; CHUNK];
    let mut got = vec![0u8; CHUNK];
    let mut h = Sha256::new();
    let mut diff: Option<u64> = None;
    let mut off = 0u64;
    while off < size {
        let n = usize::try_from((size - off).min(CHUNK as u64)).ok()?;
        let want = want.get_mut(..n)?;
        reader.read_at(off, want).ok()?;
        h.update(&*want);
        if diff.is_none() {
            let got = got.get_mut(..n)?;
            let k = read_full(&mut f, got);
            let mismatch = want.iter().zip(got.iter()).take(k).position(|(a, b)| a != b);
            diff = match mismatch {
                Some(i) => Some(off.saturating_add(i as u64)),
                None if k < n => Some(off.saturating_add(k as u64)),
                None => None,
            };
        }
        off = off.saturating_add(n as u64);
    }
    if vhd_validator::hex::encode(&h.finalize()) != want_sha256 {
        return None;
    }
    diff.or((result_len > size).then_some(size))
}

/// A scratch directory for one run.
fn scratch_root(opts_dir: Option<&Path>) -> Result<tempfile::TempDir, ConformError> {
    let mut b = tempfile::Builder::new();
    b.prefix("vhd-conform-");
    let root = match opts_dir {
        Some(d) => b.tempdir_in(d),
        None => b.tempdir(),
    }
    .map_err(ConformError::Scratch)?;
    vhd_validator::cleanup::watch(root.path());
    Ok(root)
}

/// Copies the case's files into `root` (same relative paths): private copies, never links, so
/// the implementation under test cannot reach the corpus files.
fn stage_case(corpus: &Path, case: &Case, root: &Path) -> Result<(), ConformError> {
    for f in &case.files {
        let (Some(src), Some(dst)) = (safe_join(corpus, &f.path), safe_join(root, &f.path)) else {
            continue; // verify_files has refused such paths already
        };
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).map_err(ConformError::Scratch)?;
        }
        copy_sparse(&src, &dst).map_err(ConformError::Scratch)?;
    }
    Ok(())
}

/// Copies `src` to a new file `dst`, byte for byte, reading and writing only the data
/// segments of `src` ([`vhd_validator::io::data_segment`]): its holes stay holes (and read as zeros), so
/// a case of a 2 TiB mostly-empty disk costs what its data costs.
#[cfg(unix)]
fn copy_sparse(src: &Path, dst: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let from = File::open(src)?;
    let len = from.metadata()?.len();
    let to = std::fs::OpenOptions::new().write(true).create_new(true).open(dst)?;
    to.set_len(len)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0;
    while let Some((start, stop)) = vhd_validator::io::data_segment(&from, pos, len)? {
        let mut at = start;
        while at < stop {
            let want = usize::try_from(stop - at).map_or(buf.len(), |l| l.min(buf.len()));
            let piece = buf.get_mut(..want).unwrap_or_default();
            let n = from.read_at(piece, at)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file shrank while it was copied",
                ));
            }
            to.write_all_at(piece.get(..n).unwrap_or_default(), at)?;
            at += n as u64;
        }
        pos = stop.max(start + 1);
    }
    Ok(())
}

/// Copies `src` to a new file `dst`, byte for byte (holes are written out as zeros where the
/// platform offers no positioned I/O to skip them).
#[cfg(not(unix))]
fn copy_sparse(src: &Path, dst: &Path) -> std::io::Result<()> {
    let mut from = File::open(src)?;
    let mut to = std::fs::OpenOptions::new().write(true).create_new(true).open(dst)?;
    std::io::copy(&mut from, &mut to).map(drop)
}

fn env_for(image: &Path, out: &Path, dir: &Path, case: &str) -> Vec<(String, OsString)> {
    vec![
        ("VHD_IMAGE".to_string(), image.as_os_str().to_owned()),
        ("VHD_OUT".to_string(), out.as_os_str().to_owned()),
        ("VHD_DIR".to_string(), dir.as_os_str().to_owned()),
        ("VHD_CASE".to_string(), OsString::from(case)),
    ]
}

/// Runs one case with `adapter` (already staged under `root`, the command's working directory)
/// and returns the raw outcome.
fn run_case(adapter: &Adapter, case: &Case, root: &Path, timeout: Duration) -> Result<RawOutcome, ConformError> {
    let image = safe_join(root, &case.image).unwrap_or_else(|| root.join("missing-image"));
    let dir = image.parent().map_or_else(|| root.to_path_buf(), Path::to_path_buf);
    let chain: Vec<PathBuf> = case.chain.iter().filter_map(|c| safe_join(root, c)).collect();
    let out_dir = root.join(".vhd-conform");
    std::fs::create_dir_all(&out_dir).map_err(ConformError::Scratch)?;
    let out = out_dir.join("virtual-disk.raw");
    let argv = adapter.template.expand(&|p| match p {
        Placeholder::Image => vec![image.as_os_str().to_owned()],
        Placeholder::Out => vec![out.as_os_str().to_owned()],
        Placeholder::Dir => vec![dir.as_os_str().to_owned()],
        Placeholder::Chain => chain.iter().map(|c| c.as_os_str().to_owned()).collect(),
        Placeholder::Case => vec![OsString::from(&case.id)],
        Placeholder::Size | Placeholder::Type => Vec::new(),
    });
    let inv = Invocation {
        argv,
        cwd: root.to_path_buf(),
        env: env_for(&image, &out, &dir, &case.id),
        output: out.clone(),
        stdout_is_output: adapter.stdout_is_output(),
        messages: out_dir.join("messages.txt"),
        timeout,
        hash_output: true,
    };
    exec::run(&inv).map_err(|source| ConformError::Exec { implementation: adapter.name.clone(), source })
}

/// The cases of `manifest` whose id matches one of the `--case` glob `patterns` (every case when
/// there are none), in manifest order.
pub fn selected_cases<'a>(manifest: &'a Manifest, patterns: &[String]) -> Vec<&'a Case> {
    manifest
        .cases
        .iter()
        .filter(|c| patterns.is_empty() || patterns.iter().any(|p| expect::glob_match(p, &c.id)))
        .collect()
}

/// The plainest valid case of `manifest`, which the sanity pass runs first: a case a reader must
/// read, with a digest, a single image and a non-zero size; fixed disks first, then cases both
/// profiles accept without a warning, then the fewest expected codes, the smallest, by id.
pub(crate) fn sanity_case(manifest: &Manifest) -> Option<&Case> {
    manifest
        .cases
        .iter()
        .filter(|c| {
            Requirement::of(c, Judging::Either) == Requirement::Read
                && c.virtual_disk_sha256.is_some()
                && c.chain.len() == 1
                && c.virtual_size > 0
        })
        .min_by_key(|c| {
            let warned = !Profile::ALL.iter().all(|p| c.verdict_for(*p) == Some(Verdict::Accept));
            (!c.tags.iter().any(|t| t == "fixed"), warned, c.expected_codes.len(), c.virtual_size, c.id.as_str())
        })
}

/// Runs `adapter` on one `case` of the corpus in `dir` and judges it: the case's files are
/// copied to a fresh directory under `work` (the command's working directory, removed
/// afterwards), the command runs with the case's time limit, and [`classify`] gives the
/// outcome; `entry` is the expect-file entry that applies, if any. Tags the adapter declares
/// unsupported give `skipped` without running anything. The sanity pass is the caller's
/// ([`run_reader`] runs it unless `opts.sanity` is off).
///
/// # Errors
/// [`ConformError`] when the scratch copy cannot be made or the command cannot be started.
pub(crate) fn run_one(
    dir: &Path,
    case: &Case,
    adapter: &Adapter,
    opts: &ReaderOptions,
    work: &Path,
    entry: Option<&ExpectEntry>,
) -> Result<CaseResult, ConformError> {
    let requirement = Requirement::of(case, opts.judging);
    let skipped_tags = adapter.unsupported_in(&case.tags);
    let (judgement, raw, first_diff) = if skipped_tags.is_empty() {
        let root = tempfile::Builder::new().prefix("case-").tempdir_in(work).map_err(ConformError::Scratch)?;
        let root = root.path();
        stage_case(dir, case, root)?;
        let mut raw = run_case(adapter, case, root, opts.timeout_for(case.virtual_size))?;
        raw.strip_prefix_in_messages(&format!("{}/", root.display()));
        let judgement = classify(case, opts.judging, &raw, &adapter.exit);
        let first_diff = match (judgement.outcome, &case.virtual_disk_sha256) {
            (Outcome::WrongBytes | Outcome::WrongSize, Some(want)) => {
                let image = safe_join(dir, &case.image);
                let out = root.join(".vhd-conform").join("virtual-disk.raw");
                image.and_then(|i| first_difference(&i, &out, want, opts.diagnose_limit))
            }
            _ => None,
        };
        (judgement, Some(raw), first_diff)
    } else {
        let j = Judgement {
            outcome: Outcome::Skipped,
            behaviour: Behaviour::NotRun,
            detail: format!("not run: the implementation declares {} unsupported", skipped_tags.join(", ")),
        };
        (j, None, None)
    };
    let status = Status::of(
        judgement.outcome.is_failure(),
        judgement.outcome == Outcome::Skipped,
        judgement.outcome.as_str(),
        entry,
    );
    let mut detail = judgement.detail;
    if let Some(at) = first_diff {
        detail.push_str(&format!("; first difference at byte {at} (sector {})", at / 512));
    }
    let expected_sha256 = if requirement == Requirement::Reject {
        case.reference_sha256.clone()
    } else {
        case.virtual_disk_sha256.clone()
    };
    Ok(CaseResult {
        case: case.id.clone(),
        outcome: judgement.outcome,
        status,
        requirement,
        behaviour: judgement.behaviour,
        codes: case.expected_codes.iter().map(|c| c.as_str().to_string()).collect(),
        group: case_group(case),
        tags: case.tags.clone(),
        exposes: case.exposes.clone(),
        expected_size: case.virtual_size,
        expected_sha256,
        detail,
        first_difference: first_diff,
        expect: entry.map(ExpectNote::of),
        raw,
    })
}

/// Refuses `--unsupported` tags that no case of `manifest` carries.
fn check_tags(manifest: &Manifest, tags: &[String]) -> Result<(), ConformError> {
    let known: BTreeSet<&str> = manifest.cases.iter().flat_map(|c| c.tags.iter().map(String::as_str)).collect();
    match tags.iter().find(|t| !known.contains(t.as_str())) {
        Some(t) => {
            Err(ConformError::UnknownTag { tag: t.clone(), known: known.into_iter().collect::<Vec<_>>().join(", ") })
        }
        None => Ok(()),
    }
}

/// Runs reader conformance: every selected case of `manifest` (whose directory is `dir`) with
/// every adapter, in order, each case in a fresh copy of its files. Unless `opts.sanity` is
/// off, each adapter first reads the [`sanity_case`], and the run stops when it does not pass.
/// `progress` is called after each case.
///
/// # Errors
/// [`ConformError`] when the corpus files do not match the manifest, `--case` patterns select
/// nothing, an `--unsupported` tag is unknown, a scratch directory cannot be made, an
/// implementation cannot be started at all, or one fails the sanity pass.
pub fn run_reader(
    dir: &Path,
    manifest: &Manifest,
    adapters: &[Adapter],
    opts: &ReaderOptions,
    expect: Option<&ExpectFile>,
    progress: &mut dyn FnMut(&str, &CaseResult),
) -> Result<ReaderRun, ConformError> {
    let selected = selected_cases(manifest, &opts.cases);
    if selected.is_empty() && !manifest.cases.is_empty() {
        return Err(ConformError::NoCase(opts.cases.join(", ")));
    }
    check_tags(manifest, &opts.unsupported)?;
    verify_files(dir, &selected)?;
    let sanity = if opts.sanity {
        let c = sanity_case(manifest).ok_or(ConformError::NoSanityCase)?;
        verify_files(dir, &[c])?;
        Some(c)
    } else {
        None
    };
    let scratch = scratch_root(opts.scratch.as_deref())?;
    let mut implementations = Vec::new();
    for adapter in adapters {
        let mut unsupported: BTreeSet<String> =
            if opts.run_unsupported { BTreeSet::new() } else { adapter.unsupported.iter().cloned().collect() };
        unsupported.extend(opts.unsupported.iter().cloned());
        let mut adapter = adapter.clone();
        adapter.unsupported = unsupported.into_iter().collect();
        if let Some(c) = sanity {
            let mut plain = adapter.clone();
            plain.unsupported.clear();
            let r = run_one(dir, c, &plain, opts, scratch.path(), None)?;
            if r.outcome != Outcome::Pass {
                return Err(ConformError::Sanity {
                    implementation: adapter.name.clone(),
                    case: c.id.clone(),
                    outcome: r.outcome,
                    detail: r.detail,
                });
            }
        }
        let mut used = BTreeSet::new();
        let entries: Vec<Option<(usize, &ExpectEntry)>> =
            selected.iter().map(|case| expect.and_then(|e| e.lookup(&adapter.name, &case.id))).collect();
        used.extend(entries.iter().flatten().map(|(i, _)| *i));
        let results = in_order(
            &selected,
            |i, case| {
                let entry = entries.get(i).copied().flatten().map(|(_, e)| e);
                run_one(dir, case, &adapter, opts, scratch.path(), entry)
            },
            &mut |r| progress(&adapter.name, r),
        )?;
        let summary =
            Summary::of(&Outcome::ALL.map(Outcome::as_str), results.iter().map(|r| (r.outcome.as_str(), r.status)));
        let unused_expectations = unused(expect, &adapter.name, &used);
        implementations.push(ImplementationRun {
            name: adapter.name.clone(),
            version: adapter.version.clone(),
            command: adapter.template.as_str().to_string(),
            stdout_is_output: adapter.stdout_is_output(),
            unsupported: adapter.unsupported.clone(),
            note: adapter.note.clone(),
            exit: adapter.exit.clone(),
            sanity_case: sanity.map(|c| c.id.clone()),
            results,
            summary,
            unused_expectations,
        });
    }
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    Ok(ReaderRun {
        format_version: FORMAT_VERSION,
        kind: "reader",
        tool_version: env!("CARGO_PKG_VERSION"),
        corpus: CorpusInfo {
            dir: dir.display().to_string(),
            generator: manifest.generator.clone(),
            cases: manifest.cases.len(),
            selected: selected.len(),
        },
        judging: opts.judging,
        timeout_ms: ms(opts.timeout),
        timeout_per_gib_ms: ms(opts.timeout_per_gib),
        expect_file: expect.map(|e| e.path.display().to_string()),
        implementations,
    })
}

/// `run` of every item on rayon's pool (`--jobs`), `done` called with each result in item order
/// as soon as it and every earlier one are done (so what is printed does not depend on the
/// number of threads). After a failure no later item starts; the first failure in item order
/// is returned.
fn in_order<T: Sync, R: Send>(
    items: &[T],
    run: impl Fn(usize, &T) -> Result<R, ConformError> + Sync,
    done: &mut dyn FnMut(&R),
) -> Result<Vec<R>, ConformError> {
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let failed = AtomicUsize::new(usize::MAX);
    let (tx, rx) = std::sync::mpsc::channel();
    let mut out: Vec<R> = Vec::with_capacity(items.len());
    let mut first_error = None;
    std::thread::scope(|scope| {
        let (run, failed) = (&run, &failed);
        scope.spawn(move || {
            items.par_iter().enumerate().with_max_len(1).for_each_with(tx, |tx, (i, item)| {
                if i > failed.load(Ordering::Relaxed) {
                    return;
                }
                let r = run(i, item);
                if r.is_err() {
                    failed.fetch_min(i, Ordering::Relaxed);
                }
                let _ = tx.send((i, r));
            });
        });
        let mut pending = std::collections::BTreeMap::new();
        for (i, r) in rx {
            pending.insert(i, r);
            while let Some(r) = pending.remove(&out.len()) {
                match r {
                    Ok(r) if first_error.is_none() => {
                        done(&r);
                        out.push(r);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        first_error.get_or_insert(e);
                        break;
                    }
                }
            }
        }
    });
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// One row of the known-faults table of a run: a fault of [`vhd_validator::faults::FAULTS`] whose case
/// was run, and each implementation's outcome on that case.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultRow {
    /// The fault.
    pub fault: &'static vhd_validator::faults::Fault,
    /// Per implementation, in run order: its name and outcome on the fault's case.
    pub outcomes: Vec<(String, Outcome)>,
}

impl FaultRow {
    /// The names of the implementations the case catches (a failing outcome).
    pub fn caught(&self) -> Vec<&str> {
        self.outcomes.iter().filter(|(_, o)| o.is_failure()).map(|(n, _)| n.as_str()).collect()
    }
}

/// The known faults whose case is in `run`, in [`vhd_validator::faults::FAULTS`] order, with each
/// implementation's outcome on it: the "Known faults" table of the reports.
pub fn fault_rows(run: &ReaderRun) -> Vec<FaultRow> {
    vhd_validator::faults::FAULTS
        .iter()
        .filter_map(|f| {
            let outcomes: Vec<(String, Outcome)> = run
                .implementations
                .iter()
                .filter_map(|i| i.results.iter().find(|r| r.case == f.case).map(|r| (i.name.clone(), r.outcome)))
                .collect();
            (!outcomes.is_empty()).then_some(FaultRow { fault: f, outcomes })
        })
        .collect()
}

/// The entries of `expect` that apply to `implementation` but were not used, as `LINE: PATTERN`.
pub fn unused(expect: Option<&ExpectFile>, implementation: &str, used: &BTreeSet<usize>) -> Vec<String> {
    let Some(e) = expect else {
        return Vec::new();
    };
    e.entries
        .iter()
        .enumerate()
        .filter(|(i, x)| !used.contains(i) && x.implementation.as_deref().is_none_or(|n| n == implementation))
        .map(|(_, x)| format!("{}: {}", x.line, x.pattern))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use exec::OutputDigest;
    use vhd_validator::manifest::CaseFile;
    use vhd_validator::rules::Code;

    fn case(strict: Verdict, compat: Verdict, sha: Option<&str>) -> Case {
        Case {
            id: "a/b".into(),
            description: String::new(),
            spec: String::new(),
            source: None,
            seed: None,
            tags: vec!["dynamic".into()],
            files: vec![CaseFile { path: "a/b/disk.vhd".into(), size: 1, sha256: "x".into() }],
            image: "a/b/disk.vhd".into(),
            chain: vec!["a/b/disk.vhd".into()],
            virtual_size: 1024,
            expected_codes: vec![Code::BatOrder, Code::FooterChecksum],
            verdict: [(Profile::Strict, strict), (Profile::Compat, compat)].into_iter().collect(),
            virtual_disk_sha256: sha.map(str::to_string),
            reference_sha256: None,
            exposes: vec![],
            check: None,
        }
    }

    fn raw(exit: Option<i32>, signal: Option<i32>, timed_out: bool, out: Option<(u64, &str)>) -> RawOutcome {
        RawOutcome {
            exit_code: exit,
            signal,
            timed_out,
            elapsed_ms: 5,
            output: out.map(|(size, sha)| OutputDigest { size, sha256: Some(sha.into()) }),
            stderr: "boom\n".into(),
            stderr_truncated: false,
        }
    }

    use Verdict::{Accept, AcceptWithWarnings as Warn, Reject};

    #[test]
    fn requirements_per_judging() {
        let r = |s, c, j| Requirement::of(&case(s, c, None), j);
        assert_eq!(r(Accept, Accept, Judging::Either), Requirement::Read);
        assert_eq!(r(Warn, Accept, Judging::Either), Requirement::Read);
        assert_eq!(r(Reject, Reject, Judging::Either), Requirement::Reject);
        assert_eq!(r(Reject, Warn, Judging::Either), Requirement::Either);
        assert_eq!(r(Reject, Warn, Judging::Strict), Requirement::Reject);
        assert_eq!(r(Reject, Warn, Judging::Compat), Requirement::Read);
        assert_eq!(r(Accept, Accept, Judging::Strict), Requirement::Read);
        assert_eq!(r(Reject, Reject, Judging::Compat), Requirement::Reject);
        let mut c = case(Reject, Reject, None);
        c.verdict.remove(&Profile::Compat);
        assert_eq!(Requirement::of(&c, Judging::Either), Requirement::Reject);
        c.verdict.clear();
        assert_eq!(Requirement::of(&c, Judging::Strict), Requirement::Either);
        let mut deep = case(Reject, Reject, None);
        deep.expected_codes = vec![Code::ChainDepth];
        assert_eq!(Requirement::of(&deep, Judging::Either), Requirement::Reject, "no depth limit in the case");
        deep.check = Some(vhd_validator::manifest::CaseCheck { max_depth: Some(2) });
        assert_eq!(Requirement::of(&deep, Judging::Either), Requirement::Either);
        deep.expected_codes.push(Code::ChainErrorInParent);
        assert_eq!(Requirement::of(&deep, Judging::Either), Requirement::Either, "the limit makes a parent report");
        deep.expected_codes.push(Code::FooterChecksum);
        assert_eq!(Requirement::of(&deep, Judging::Either), Requirement::Reject, "another error stays an error");
    }

    #[test]
    fn classification_covers_every_outcome() {
        let ok = ExitContract::default();
        let valid = case(Accept, Accept, Some("good"));
        let bad = case(Reject, Reject, None);
        let either = case(Reject, Warn, Some("good"));
        let o = |c: &Case, r: RawOutcome| classify(c, Judging::Either, &r, &ok).outcome;
        assert_eq!(o(&valid, raw(Some(0), None, false, Some((1024, "good")))), Outcome::Pass);
        assert_eq!(o(&valid, raw(Some(0), None, false, Some((1024, "bad")))), Outcome::WrongBytes);
        assert_eq!(o(&valid, raw(Some(0), None, false, Some((512, "good")))), Outcome::WrongSize);
        assert_eq!(o(&valid, raw(Some(1), None, false, Some((1024, "good")))), Outcome::RejectedValid);
        assert_eq!(o(&valid, raw(Some(0), None, false, None)), Outcome::HarnessError, "exit 0, nothing written");
        assert_eq!(o(&bad, raw(Some(0), None, false, Some((1024, "x")))), Outcome::AcceptedCorrupt);
        assert_eq!(o(&bad, raw(Some(1), None, false, None)), Outcome::Pass);
        assert_eq!(o(&bad, raw(Some(2), None, false, None)), Outcome::HarnessError, "not a refusal");
        assert_eq!(o(&valid, raw(Some(77), None, false, None)), Outcome::Skipped);
        assert_eq!(o(&bad, raw(Some(139), None, false, None)), Outcome::Crash, "128+11 from a shell");
        assert_eq!(o(&valid, raw(Some(0), None, false, Some((0, "e3b0")))), Outcome::HarnessError, "0 bytes");
        let mut refd = case(Reject, Reject, None);
        refd.reference_sha256 = Some("good".into());
        assert_eq!(o(&refd, raw(Some(0), None, false, Some((1024, "good")))), Outcome::AcceptedCorrupt);
        assert_eq!(o(&refd, raw(Some(0), None, false, Some((1024, "bad")))), Outcome::AcceptedMisread);
        assert_eq!(o(&refd, raw(Some(0), None, false, Some((512, "good")))), Outcome::AcceptedMisread);
        assert_eq!(o(&bad, raw(None, Some(11), false, None)), Outcome::Crash);
        assert_eq!(o(&valid, raw(None, None, true, None)), Outcome::Timeout);
        assert_eq!(o(&either, raw(Some(1), None, false, None)), Outcome::Pass);
        assert_eq!(o(&either, raw(Some(0), None, false, Some((1024, "good")))), Outcome::Pass);
        assert_eq!(o(&either, raw(Some(0), None, false, Some((1024, "bad")))), Outcome::WrongBytes);
        let j = classify(&valid, Judging::Either, &raw(Some(0), None, false, Some((1023, "x"))), &ok);
        assert!(j.detail.contains("(-1)"), "{}", j.detail);
        let j = classify(&valid, Judging::Either, &raw(Some(1), None, false, None), &ok);
        assert!(j.detail.contains("exit 1: boom"), "{}", j.detail);
        // Exit codes belong to the adapter.
        assert_eq!(
            classify(
                &valid,
                Judging::Either,
                &raw(Some(1), None, false, Some((1024, "good"))),
                &ExitContract::with(&[0, 1], &[], &[])
            )
            .outcome,
            Outcome::Pass
        );
        let no_digest = case(Accept, Accept, None);
        assert_eq!(o(&no_digest, raw(Some(0), None, false, Some((1024, "zz")))), Outcome::Pass);
    }

    #[test]
    fn time_limits_scale_with_the_virtual_size() {
        let o = ReaderOptions::default();
        assert_eq!(o.timeout_for(0), Duration::from_secs(10));
        assert_eq!(o.timeout_for(1 << 30), Duration::from_secs(25));
        assert_eq!(o.timeout_for(5 << 30), Duration::from_secs(85));
        assert_eq!(o.timeout_for(u64::MAX), o.timeout_for(u64::MAX), "no overflow");
    }

    #[test]
    fn the_sanity_case_is_the_plainest_valid_one() {
        let mut m = Manifest::new("t");
        let mut fixed = case(Accept, Accept, Some("x"));
        fixed.id = "f".into();
        fixed.tags = vec!["fixed".into()];
        fixed.expected_codes.clear();
        let mut warned = fixed.clone();
        warned.id = "e".into();
        warned.verdict.insert(Profile::Strict, Warn);
        let mut dynamic = fixed.clone();
        dynamic.id = "d".into();
        dynamic.tags = vec!["dynamic".into()];
        let mut bad = fixed.clone();
        bad.id = "b".into();
        bad.verdict.insert(Profile::Compat, Reject);
        bad.verdict.insert(Profile::Strict, Reject);
        m.cases = vec![bad, dynamic, warned, fixed];
        assert_eq!(sanity_case(&m).map(|c| c.id.as_str()), Some("f"));
        m.cases.pop();
        assert_eq!(sanity_case(&m).map(|c| c.id.as_str()), Some("e"));
    }

    #[test]
    fn statuses_follow_the_expect_entry() {
        let e = ExpectEntry {
            implementation: None,
            pattern: "*".into(),
            outcomes: vec!["wrong-size".into()],
            reason: "r".into(),
            line: 1,
        };
        assert_eq!(Status::of(false, false, "pass", None), Status::Ok);
        assert_eq!(Status::of(false, false, "pass", Some(&e)), Status::UnexpectedPass);
        assert_eq!(Status::of(true, false, "wrong-size", Some(&e)), Status::ExpectedFailure);
        assert_eq!(Status::of(true, false, "crash", Some(&e)), Status::Fail);
        assert_eq!(Status::of(true, false, "crash", None), Status::Fail);
        assert_eq!(Status::of(false, true, "skipped", Some(&e)), Status::Skipped);
        assert!(Status::UnexpectedPass.is_bad() && !Status::ExpectedFailure.is_bad());
    }

    #[test]
    fn groups_by_most_severe_code() {
        let c = case(Reject, Reject, None);
        assert_eq!(case_group(&c), "footer", "FOOTER-CHECKSUM is an error, BAT-ORDER an info");
        let mut v = c.clone();
        v.expected_codes.clear();
        assert_eq!(case_group(&v), "valid");
        v.expected_codes = vec![Code::BatOrder];
        assert_eq!(case_group(&v), "bat");
        assert_eq!(group_order().last(), Some(&"valid"));
    }

    #[test]
    fn summary_counts() {
        let s = Summary::of(
            &["pass", "crash"],
            [("pass", Status::Ok), ("crash", Status::Fail), ("crash", Status::ExpectedFailure)],
        );
        assert_eq!(s.cases, 3);
        assert_eq!(s.outcome("crash"), 2);
        assert_eq!(s.status(Status::Fail), 1);
        assert_eq!(s.bad(), 1);
        assert_eq!(s.status(Status::Skipped), 0);
    }
}
