//! `vhd-validate conform`: run VHD readers over a conformance corpus and judge them against its
//! manifest (docs/CONFORMANCE.md). Also the renderers shared with `conform-writer`: JUnit XML
//! and Markdown helpers.

use crate::{note, Fatal, Outcome, Status};
use clap::ValueEnum;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vhd_conform::adapter::probe_version;
use vhd_conform::template::Template;
use vhd_conform::ExpectNote;
use vhd_conform::{
    self, group_order, Adapter, Behaviour, Builtin, CaseResult, ExpectFile, ImplementationRun, Judging, ReaderOptions,
    ReaderRun, Requirement, Status as CaseStatus, ExitContract,
};
use vhd_validator::manifest::Manifest;

/// Run VHD readers over a conformance corpus and compare what they read with its manifest.
///
/// Each case's files are copied to a fresh scratch directory, which is the command's working
/// directory (so give scripts by absolute path), and the implementation is run on the case's
/// main image with a time limit. Before the run each implementation must read the corpus's
/// plainest valid case correctly (the sanity pass), or the run stops with exit status 2.
/// Outcomes: pass, wrong-bytes, wrong-size, accepted-corrupt, accepted-misread, rejected-valid,
/// crash, timeout, harness-error, skipped (docs/CONFORMANCE.md).
///
/// The adapter contract of --cmd: exit 0 = read (the virtual disk written), 1 = refused this
/// image, 77 = unsupported feature (skipped, never a pass); any other exit code is a harness
/// error (always a failure); a signal, or 128+N from a shell, is a crash. Exit 0 with nothing
/// written, or 0 bytes of a non-empty disk, is a harness error.
///
/// A command template (`--cmd`) is split into words like a shell command and run without a
/// shell. Placeholders: {image} the main image, {out} the raw file to write the virtual disk to
/// (without {out}, standard output is the virtual disk), {dir} the image's directory, {chain}
/// the chain's images child first (separate words), {case} the case id; `{{`/`}}` are literal
/// braces. The same values are in the environment as VHD_IMAGE, VHD_OUT, VHD_DIR, VHD_CASE.
///
/// Exit status: 0 when every case passes, is skipped or is an expected failure; 1 on any other
/// failure or an expected failure that passes; 2 when the run could not be made.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Corpus directory (holds manifest.json).
    #[arg(value_name = "CORPUS_DIR")]
    pub corpus: PathBuf,

    /// Built-in implementation to run (repeatable): qemu-img, libvhdi, 7zip.
    #[arg(long = "impl", value_enum, value_name = "NAME")]
    pub impls: Vec<ImplArg>,

    /// Command template of an implementation (repeatable), e.g. 'mytool flatten {image} {out}'.
    #[arg(long = "cmd", value_name = "TEMPLATE")]
    pub cmds: Vec<String>,

    /// Name of the n-th --cmd implementation in reports and expect-file sections
    /// (default: cmd, cmd2, ...).
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,

    /// Exit codes that mean "read" for --cmd implementations (comma-separated; default 0).
    #[arg(long = "ok-exit", value_name = "CODES", value_delimiter = ',')]
    pub ok_exit: Vec<i32>,

    /// Exit codes that mean "refused this image" for --cmd implementations (default 1).
    #[arg(long = "refused-exit", value_name = "CODES", value_delimiter = ',')]
    pub refused_exit: Vec<i32>,

    /// Exit codes that mean "unsupported feature" (skipped) for --cmd implementations
    /// (default 77).
    #[arg(long = "unsupported-exit", value_name = "CODES", value_delimiter = ',')]
    pub unsupported_exit: Vec<i32>,

    /// Command that prints the n-th --cmd implementation's version (repeatable, in --cmd order;
    /// split like --cmd, run without a shell); its first line is recorded in the reports. A
    /// version command that fails stops the run.
    #[arg(long = "version-cmd", value_name = "COMMAND")]
    pub version_cmds: Vec<String>,

    /// Feature tags no implementation of this run supports (comma-separated, repeatable):
    /// cases carrying one are skipped.
    #[arg(long, value_name = "TAGS", value_delimiter = ',')]
    pub unsupported: Vec<String>,

    /// Run the cases a built-in declares unsupported (e.g. qemu-img on differencing disks).
    #[arg(long)]
    pub run_unsupported: bool,

    /// Run only the cases whose id matches PATTERN (`*` any characters, `?` one); repeatable.
    #[arg(long = "case", value_name = "PATTERN")]
    pub cases: Vec<String>,

    /// Expected failures, one per line with a reason (docs/CONFORMANCE.md).
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,

    /// How cases are judged from the manifest's verdicts: `either` (must read what both
    /// validation profiles accept, must refuse what both reject), `strict` (must refuse all that
    /// strict rejects), `compat` (must read all that compat accepts). `--profile` is an older
    /// spelling.
    #[arg(long, alias = "profile", value_enum, value_name = "JUDGING", default_value_t = JudgingArg::Either)]
    pub judging: JudgingArg,

    /// Python interpreter of the libvhdi built-in (it must import pyvhdi).
    #[arg(long, value_name = "PATH", default_value = vhd_conform::adapter::DEFAULT_PYTHON)]
    pub python: String,

    /// Time limit per case in seconds, plus --timeout-per-gib for each GiB of the case's virtual
    /// size (the process group is killed when it is reached).
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub timeout: Duration,

    /// Seconds added to the time limit per GiB of virtual size (0 for none).
    #[arg(long, value_name = "SECONDS", default_value = "15", value_parser = parse_seconds_or_zero)]
    pub timeout_per_gib: Duration,

    /// Report format and report files.
    #[command(flatten)]
    pub report: ReportArgs,

    /// Directory for scratch copies of the cases (default: the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,

    /// Print each case's result to standard error as it finishes.
    #[arg(short, long)]
    pub verbose: bool,

    /// Cases run at once (default: one per core); results and output keep the case order.
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
}

/// `--impl` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImplArg {
    /// QEMU: `qemu-img convert -f vpc -O raw`.
    #[value(name = "qemu-img")]
    QemuImg,
    /// libvhdi through pyvhdi (python3-libvhdi).
    Libvhdi,
    /// 7-Zip: `7zz e -so -tvhd`.
    #[value(name = "7zip")]
    SevenZip,
}

impl From<ImplArg> for Builtin {
    fn from(a: ImplArg) -> Builtin {
        match a {
            ImplArg::QemuImg => Builtin::QemuImg,
            ImplArg::Libvhdi => Builtin::Libvhdi,
            ImplArg::SevenZip => Builtin::SevenZip,
        }
    }
}

/// `--judging` values of `conform`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum JudgingArg {
    /// Read what both profiles accept, refuse what both reject; either where they differ.
    Either,
    /// Refuse everything the strict profile rejects.
    Strict,
    /// Read everything the compat profile accepts.
    Compat,
}

impl From<JudgingArg> for Judging {
    fn from(a: JudgingArg) -> Judging {
        match a {
            JudgingArg::Either => Judging::Either,
            JudgingArg::Strict => Judging::Strict,
            JudgingArg::Compat => Judging::Compat,
        }
    }
}

/// `--format` values of `conform` and `conform-writer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Failures and a summary per implementation.
    Text,
    /// The results as one JSON document (docs/CONFORMANCE.md).
    Json,
    /// A Markdown matrix of cases by implementations, grouped by rule family.
    Markdown,
}

/// Parses a positive number of seconds (fractions allowed, at most one day).
///
/// # Errors
/// A message for anything else.
pub fn parse_seconds(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!("`{s}` is not a time limit (seconds, more than 0, at most 86400)")),
    }
}

/// Parses a number of seconds that may be 0.
///
/// # Errors
/// A message when it is not a number of seconds.
pub fn parse_seconds_or_zero(s: &str) -> Result<Duration, String> {
    if s.trim().parse::<f64>() == Ok(0.0) {
        return Ok(Duration::ZERO);
    }
    parse_seconds(s)
}

/// Writes `text` to `path`.
///
/// # Errors
/// [`Fatal`] naming the file.
pub fn write_file(path: &Path, text: &str) -> Result<(), Fatal> {
    std::fs::write(path, text).map_err(|e| Fatal::msg(format!("cannot write {}: {e}", path.display())))
}

/// Builds the adapters the arguments ask for and probes the built-ins' versions.
fn adapters(args: &Args, scratch: &Path) -> Result<Vec<Adapter>, Fatal> {
    if args.impls.is_empty() && args.cmds.is_empty() {
        return Err(Fatal::msg("nothing to run: give --impl NAME or --cmd TEMPLATE"));
    }
    if args.names.len() > args.cmds.len() {
        return Err(Fatal::msg(format!("{} --name values for {} --cmd templates", args.names.len(), args.cmds.len())));
    }
    if args.version_cmds.len() > args.cmds.len() {
        return Err(Fatal::msg(format!(
            "{} --version-cmd values for {} --cmd templates",
            args.version_cmds.len(),
            args.cmds.len()
        )));
    }
    let exit = ExitContract::with(&args.ok_exit, &args.refused_exit, &args.unsupported_exit);
    if let Some(c) = exit.overlap() {
        return Err(Fatal::msg(format!("exit code {c} is given two meanings (--ok-exit, --refused-exit, --unsupported-exit)")));
    }
    let mut out = Vec::new();
    for i in &args.impls {
        let b = Builtin::from(*i);
        let mut a = b.adapter_with_python(&args.python);
        let version_command = b.version_command_with_python(&args.python);
        a.version = probe_version(&version_command, scratch, Duration::from_secs(30));
        if a.version.is_none() {
            return Err(Fatal::msg(format!(
                "{}: not installed or not working (`{}` failed)",
                b.name(),
                version_command.first().copied().unwrap_or_default()
            )));
        }
        out.push(a);
    }
    for (i, t) in args.cmds.iter().enumerate() {
        let name =
            args.names.get(i).cloned().unwrap_or_else(|| if i == 0 { "cmd".into() } else { format!("cmd{}", i + 1) });
        let mut a = Adapter::from_template(&name, t).map_err(|e| Fatal::msg(format!("--cmd {t:?}: {e}")))?;
        a.exit = exit.clone();
        if let Some(v) = args.version_cmds.get(i) {
            let t = Template::parse(v, &[]).map_err(|e| Fatal::msg(format!("--version-cmd {v:?}: {e}")))?;
            let words: Vec<String> =
                t.expand(&|_| Vec::new()).iter().map(|w| w.to_string_lossy().into_owned()).collect();
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            a.version = Some(probe_version(&words, scratch, Duration::from_secs(30)).ok_or_else(|| {
                Fatal::msg(format!("{name}: --version-cmd {v:?} failed or printed nothing"))
            })?);
        }
        out.push(a);
    }
    let mut seen = std::collections::BTreeSet::new();
    for a in &out {
        if !seen.insert(a.name.clone()) {
            return Err(Fatal::msg(format!("two implementations are called {}; use --name", a.name)));
        }
    }
    Ok(out)
}

/// Runs `conform`.
pub fn run(args: Args) -> Outcome {
    vhd_validator::parallel::set_jobs(args.jobs).map_err(Fatal::msg)?;
    let probe_dir = tempfile::tempdir().map_err(|e| Fatal::msg(format!("cannot make a scratch directory: {e}")))?;
    vhd_validator::cleanup::watch(probe_dir.path());
    let adapters = adapters(&args, probe_dir.path())?;
    let manifest = Manifest::load(&args.corpus).map_err(|e| Fatal::msg(e.to_string()))?;
    let expect = match &args.expect {
        Some(p) => Some(ExpectFile::load(p, &vhd_conform::Outcome::FAILING).map_err(|e| Fatal::msg(e.to_string()))?),
        None => None,
    };
    let mut opts = ReaderOptions::default();
    opts.timeout = args.timeout;
    opts.timeout_per_gib = args.timeout_per_gib;
    opts.judging = args.judging.into();
    opts.unsupported = args.unsupported.iter().filter(|t| !t.is_empty()).cloned().collect();
    opts.run_unsupported = args.run_unsupported;
    opts.cases.clone_from(&args.cases);
    opts.scratch.clone_from(&args.scratch);
    let verbose = args.verbose;
    // A bar over cases x implementations, on a terminal only.
    let selected = vhd_conform::selected_cases(&manifest, &opts.cases).len() as u64;
    let bar = crate::progress::Bar::items("conform", selected.saturating_mul(adapters.len() as u64));
    let mut progress = |name: &str, r: &CaseResult| {
        if verbose {
            crate::progress::eprintln_above(&bar, &format!("{name}: {} {}: {}", r.case, r.outcome, r.detail));
        }
        if let Some(b) = &bar {
            b.step(&format!("{name} {}", r.case));
        }
    };
    let run = vhd_conform::run_reader(&args.corpus, &manifest, &adapters, &opts, expect.as_ref(), &mut progress)
        .map_err(|e| Fatal::msg(e.to_string()))?;
    drop(bar);
    for i in &run.implementations {
        for u in &i.unused_expectations {
            note(format!("{}: expect entry at line {u} matched no case", i.name));
        }
    }
    let json = || {
        serde_json::to_string_pretty(&run).map(|mut s| {
            s.push('\n');
            s
        })
    };
    if let Some(p) = &args.report.junit {
        write_file(p, &junit_reader(&run)?)?;
    }
    if let Some(p) = &args.report.json {
        write_file(p, &json().map_err(|e| Fatal::msg(e.to_string()))?)?;
    }
    if let Some(p) = &args.report.markdown {
        write_file(p, &markdown_reader(&run))?;
    }
    let text = match args.report.format {
        Format::Text => text_reader(&run),
        Format::Json => json().map_err(|e| Fatal::msg(e.to_string()))?,
        Format::Markdown => markdown_reader(&run),
    };
    let mut out = crate::stdout();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(if run.passed() { Status::Pass } else { Status::Fail })
}

/// The report options `conform` and `conform-writer` share.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Report format on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Also write the JSON results to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Also write the Markdown matrix to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

/// The short tag of a status in text reports.
fn status_tag(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Ok => "ok",
        CaseStatus::Fail => "FAIL",
        CaseStatus::ExpectedFailure => "XFAIL",
        CaseStatus::UnexpectedPass => "XPASS",
        CaseStatus::Skipped => "skip",
        _ => "FAIL",
    }
}

/// `N outcome, ...` for the non-zero counts of `outcomes`, in `order`.
pub fn counts_text(order: &[&str], counts: &BTreeMap<String, usize>) -> String {
    let parts: Vec<String> =
        order.iter().filter_map(|o| counts.get(*o).copied().filter(|n| *n > 0).map(|n| format!("{n} {o}"))).collect();
    if parts.is_empty() {
        "nothing".to_string()
    } else {
        parts.join(", ")
    }
}

/// The text report of a reader run.
pub fn text_reader(run: &ReaderRun) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "conformance of readers: corpus {} ({} of {} cases, {}), profile {}, time limit {} ms + {} ms per GiB",
        run.corpus.dir,
        run.corpus.selected,
        run.corpus.cases,
        run.corpus.generator,
        run.judging.as_str(),
        run.timeout_ms,
        run.timeout_per_gib_ms
    );
    for i in &run.implementations {
        let _ = writeln!(s, "\n{} ({})", i.name, i.version.as_deref().unwrap_or("version unknown"));
        let _ = writeln!(s, "  command: {}", i.command);
        if !i.unsupported.is_empty() {
            let _ = write!(s, "  unsupported: {}", i.unsupported.join(", "));
            if let Some(n) = &i.note {
                let _ = write!(s, " ({n})");
            }
            s.push('\n');
        }
        for r in &i.results {
            if matches!(r.status, CaseStatus::Ok | CaseStatus::Skipped) {
                continue;
            }
            let codes = if r.codes.is_empty() { String::new() } else { format!(" [{}]", r.codes.join(", ")) };
            let listed = Listed { id: &r.case, outcome: format!("{}{codes}", r.outcome), detail: &r.detail, expect: r.expect.as_ref() };
            text_line(&mut s, r.status, &listed);
        }
        for u in &i.unused_expectations {
            let _ = writeln!(s, "  note: expect entry at line {u} matched no case");
        }
        let order = vhd_conform::Outcome::ALL.map(vhd_conform::Outcome::as_str);
        let _ = writeln!(
            s,
            "  {}: {} cases: {}; {} expected failures, {} unexpected passes",
            i.name,
            i.summary.cases,
            counts_text(&order, &i.summary.outcomes),
            i.summary.status(CaseStatus::ExpectedFailure),
            i.summary.status(CaseStatus::UnexpectedPass),
        );
    }
    let rows = vhd_conform::fault_rows(run);
    if !rows.is_empty() {
        let _ = writeln!(s, "\nknown faults (a failing outcome on the fault's case catches it):");
        for row in rows {
            let cells: Vec<String> = row.outcomes.iter().map(|(n, o)| format!("{n} {}", fault_cell(*o))).collect();
            let _ = writeln!(s, "  {} ({}): {}", row.fault.id, row.fault.case, cells.join(", "));
        }
    }
    let failures: usize = run.implementations.iter().map(|i| i.summary.status(CaseStatus::Fail)).sum();
    let xpass: usize = run.implementations.iter().map(|i| i.summary.status(CaseStatus::UnexpectedPass)).sum();
    let _ = writeln!(
        s,
        "\nresult: {} ({failures} failures, {xpass} unexpected passes over {} implementations)",
        if run.passed() { "PASS" } else { "FAIL" },
        run.implementations.len()
    );
    s
}

/// How a fault's case came out for one implementation: `caught (OUTCOME)`, `not caught` or
/// `skipped`.
fn fault_cell(o: vhd_conform::Outcome) -> String {
    if o.is_failure() {
        format!("caught ({o})")
    } else if o == vhd_conform::Outcome::Skipped {
        "skipped".to_string()
    } else {
        "not caught".to_string()
    }
}

/// The Markdown "Known faults" table of a run (docs/CONFORMANCE.md reproduces it).
pub fn markdown_faults(run: &ReaderRun) -> String {
    let rows = vhd_conform::fault_rows(run);
    let mut s = String::new();
    if rows.is_empty() {
        return s;
    }
    let _ = writeln!(s, "## Known faults\n");
    let _ = write!(s, "| Fault | Found in | Case |");
    for i in &run.implementations {
        let _ = write!(s, " {} |", md_cell(&i.name));
    }
    let _ = write!(s, "\n| --- | --- | --- |");
    for _ in &run.implementations {
        s.push_str(" --- |");
    }
    s.push('\n');
    for row in rows {
        let _ = write!(s, "| `{}` | {} | `{}` |", row.fault.id, row.fault.found_in.join(", "), row.fault.case);
        for i in &run.implementations {
            let cell = row.outcomes.iter().find(|(n, _)| *n == i.name).map_or_else(String::new, |(_, o)| fault_cell(*o));
            let _ = write!(s, " {cell} |");
        }
        s.push('\n');
    }
    s.push('\n');
    s
}

/// One test case of a JUnit report, whatever the run kind.
pub struct JunitItem<'a> {
    /// Test name (case or row id).
    pub name: &'a str,
    /// Class name (implementation.group).
    pub classname: String,
    /// How it counts.
    pub status: CaseStatus,
    /// Outcome name.
    pub outcome: &'a str,
    /// Detail sentence.
    pub detail: &'a str,
    /// Expect-file entry: (line, reason).
    pub expect: Option<(usize, &'a str)>,
    /// Run time in milliseconds.
    pub elapsed_ms: u64,
    /// The command's messages (their tail).
    pub stderr: &'a str,
    /// The size in bytes the result must have, when one is defined.
    pub expected_size: Option<u64>,
    /// The SHA-256 the result must have, when one is defined.
    pub expected_sha256: Option<&'a str>,
}

/// A JUnit test suite for one implementation. Expected failures are passing test cases with an
/// `expected-failure` property (outcome, reason, expect line); not-run cases are `skipped`;
/// failures and unexpected passes are `failure`s with the tail of the command's messages.
/// Every test case carries `outcome`, and `expected-size` and `expected-sha256` where defined,
/// as properties. Test case names are unique within the suite (a repeated name gets ` #2`, ...).
pub fn junit_suite<'a>(
    suite_name: &str,
    version: Option<&str>,
    command: &str,
    items: impl IntoIterator<Item = JunitItem<'a>>,
) -> TestSuite {
    let mut suite = TestSuite::new(suite_name);
    suite.add_property(Property::new("version", version.unwrap_or("unknown")));
    suite.add_property(Property::new("command", command));
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for it in items {
        let status = match it.status {
            CaseStatus::Ok => TestCaseStatus::success(),
            CaseStatus::Fail => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_type(it.outcome);
                st.set_message(it.detail);
                st
            }
            CaseStatus::UnexpectedPass => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_type("unexpected-pass");
                let (line, reason) = it.expect.unwrap_or((0, ""));
                st.set_message(format!("passes, but the expect file lists it as failing (line {line}: {reason})"));
                st
            }
            CaseStatus::ExpectedFailure => TestCaseStatus::success(),
            CaseStatus::Skipped => {
                let mut st = TestCaseStatus::skipped();
                st.set_type("skipped");
                st.set_message(it.detail);
                st
            }
            _ => TestCaseStatus::non_success(NonSuccessKind::Failure),
        };
        let n = seen.entry(it.name.to_string()).or_insert(0);
        *n += 1;
        let name = if *n == 1 { it.name.to_string() } else { format!("{} #{n}", it.name) };
        let mut tc = TestCase::new(name, status);
        tc.set_classname(it.classname);
        tc.set_time(Duration::from_millis(it.elapsed_ms));
        tc.add_property(Property::new("outcome", it.outcome));
        if it.status == CaseStatus::ExpectedFailure {
            let (line, reason) = it.expect.unwrap_or((0, ""));
            tc.add_property(Property::new("expected-failure", format!("{}: {reason} (expect line {line})", it.outcome)));
            tc.add_property(Property::new("detail", it.detail));
        }
        if let Some(size) = it.expected_size {
            tc.add_property(Property::new("expected-size", size.to_string()));
        }
        if let Some(sha) = it.expected_sha256 {
            tc.add_property(Property::new("expected-sha256", sha));
        }
        if it.status.is_bad() && !it.stderr.is_empty() {
            tc.set_system_err(it.stderr);
        }
        suite.add_test_case(tc);
    }
    suite
}

/// Serializes a JUnit report.
///
/// # Errors
/// [`Fatal`] when serialization fails.
pub fn junit_string(report: &Report) -> Result<String, Fatal> {
    report.to_string().map_err(|e| Fatal::msg(format!("cannot write the JUnit report: {e}")))
}

/// The JUnit XML of a reader run: one test suite per implementation (`reader: NAME`), one test
/// case per corpus case, class name `NAME.GROUP`.
///
/// # Errors
/// [`Fatal`] when serialization fails.
pub fn junit_reader(run: &ReaderRun) -> Result<String, Fatal> {
    let mut report = Report::new("vhd-conformance");
    for i in &run.implementations {
        let items = i.results.iter().map(|r| JunitItem {
            name: &r.case,
            classname: format!("{}.{}", i.name, r.group),
            status: r.status,
            outcome: r.outcome.as_str(),
            detail: &r.detail,
            expect: r.expect.as_ref().map(|e| (e.line, e.reason.as_str())),
            elapsed_ms: r.raw.as_ref().map_or(0, |x| x.elapsed_ms),
            stderr: r.raw.as_ref().map_or("", |x| x.stderr.as_str()),
            expected_size: Some(r.expected_size),
            expected_sha256: r.expected_sha256.as_deref(),
        });
        report.add_test_suite(junit_suite(&format!("reader: {}", i.name), i.version.as_deref(), &i.command, items));
    }
    junit_string(&report)
}

/// Escapes text for a Markdown table cell.
pub fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown cell of one result.
fn reader_cell(r: &CaseResult) -> String {
    match r.status {
        CaseStatus::Ok if r.behaviour == Behaviour::Refused && r.requirement == Requirement::Either => {
            "pass (refused)".to_string()
        }
        CaseStatus::Ok => "pass".to_string(),
        CaseStatus::Skipped => "skipped".to_string(),
        CaseStatus::Fail => format!("**{}**", r.outcome),
        CaseStatus::ExpectedFailure => format!("*{}* (expected)", r.outcome),
        CaseStatus::UnexpectedPass => "**pass (unexpected)**".to_string(),
        _ => format!("**{}**", r.outcome),
    }
}

/// One line per implementation: name, version, command, counts.
fn md_implementations(out: &mut String, impls: &[ImplementationRun]) {
    let order = vhd_conform::Outcome::ALL.map(vhd_conform::Outcome::as_str);
    let _ = writeln!(out, "| Implementation | Version | Command | Results |");
    let _ = writeln!(out, "| --- | --- | --- | --- |");
    for i in impls {
        let mut results = counts_text(&order, &i.summary.outcomes);
        let xf = i.summary.status(CaseStatus::ExpectedFailure);
        if xf > 0 {
            results.push_str(&format!(" ({xf} expected failures)"));
        }
        let mut cmd = format!("`{}`", md_cell(&i.command));
        if !i.unsupported.is_empty() {
            cmd.push_str(&format!("; unsupported: {}", i.unsupported.join(", ")));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {cmd} | {} |",
            md_cell(&i.name),
            md_cell(i.version.as_deref().unwrap_or("unknown")),
            md_cell(&results)
        );
    }
}

/// The Markdown report of a reader run: the implementations, then a matrix of cases by
/// implementations grouped by rule family, then every result that is not a plain pass.
pub fn markdown_reader(run: &ReaderRun) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# VHD reader conformance\n");
    let _ = writeln!(
        s,
        "Corpus `{}` ({} of {} cases, {}); profile `{}`; time limit {} ms per case plus {} ms per GiB of \
         virtual size; vhd-validate {}.\n",
        run.corpus.dir,
        run.corpus.selected,
        run.corpus.cases,
        run.corpus.generator,
        run.judging.as_str(),
        run.timeout_ms,
        run.timeout_per_gib_ms,
        run.tool_version
    );
    md_implementations(&mut s, &run.implementations);
    let _ = writeln!(
        s,
        "\nCells: `pass`; `pass (refused)` where the profiles disagree and the reader refused; a \
         failing outcome in **bold**; an *expected failure* from the expect file; `skipped` for a \
         feature the implementation declares unsupported. \"Expected\" is what the manifest asks: \
         `read`, `reject`, or `either`.\n"
    );
    s.push_str(&markdown_faults(run));
    // Case -> (group, codes, requirement, per implementation result).
    let names: Vec<&str> = run.implementations.iter().map(|i| i.name.as_str()).collect();
    let first = run.implementations.first();
    for group in group_order() {
        let Some(first) = first else { break };
        let rows: Vec<usize> =
            first.results.iter().enumerate().filter(|(_, r)| r.group == group).map(|(k, _)| k).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(s, "## {group}\n");
        let _ = write!(s, "| Case | Rule codes | Expected |");
        for n in &names {
            let _ = write!(s, " {} |", md_cell(n));
        }
        let _ = write!(s, "\n| --- | --- | --- |");
        for _ in &names {
            s.push_str(" --- |");
        }
        s.push('\n');
        for k in rows {
            let Some(r0) = first.results.get(k) else { continue };
            let _ = write!(s, "| `{}` | {} | {} |", md_cell(&r0.case), md_cell(&r0.codes.join(", ")), r0.requirement);
            for i in &run.implementations {
                let cell = i.results.get(k).map_or_else(String::new, reader_cell);
                let _ = write!(s, " {cell} |");
            }
            s.push('\n');
        }
        s.push('\n');
    }
    md_details(
        &mut s,
        run.implementations.iter().map(|i| {
            let notable = i.results.iter().filter(|r| !matches!(r.status, CaseStatus::Ok | CaseStatus::Skipped));
            let listed = notable
                .map(|r| Listed { id: &r.case, outcome: r.outcome.to_string(), detail: &r.detail, expect: r.expect.as_ref() });
            (i.name.as_str(), listed.collect())
        }),
    );
    s
}

/// One result that a text or Markdown report lists (one that is not a plain pass).
pub struct Listed<'a> {
    /// Case id (readers) or row id (writers).
    pub id: &'a str,
    /// The outcome, with anything the report adds to it (the case's rule codes).
    pub outcome: String,
    /// What the judging found.
    pub detail: &'a str,
    /// The expect-file entry that made it an expected failure or unexpected pass.
    pub expect: Option<&'a ExpectNote>,
}

/// `  TAG   ID OUTCOME: DETAIL (expect line N: REASON)`, a line of the text reports.
pub fn text_line(s: &mut String, status: CaseStatus, r: &Listed) {
    let _ = write!(s, "  {:<5} {} {}: {}", status_tag(status), r.id, r.outcome, r.detail);
    if let Some(e) = r.expect {
        let _ = write!(s, " (expect line {}: {})", e.line, e.reason);
    }
    s.push('\n');
}

/// The "Details" section of the Markdown reports: per implementation (name, listed results),
/// `- `ID` — OUTCOME: DETAIL — expected failure: REASON`; nothing when no result is listed.
pub fn md_details<'a>(s: &mut String, impls: impl Iterator<Item = (&'a str, Vec<Listed<'a>>)>) {
    let mut any = false;
    for (name, listed) in impls {
        if listed.is_empty() {
            continue;
        }
        if !any {
            let _ = writeln!(s, "## Details\n");
            any = true;
        }
        let _ = writeln!(s, "### {name}\n");
        for r in listed {
            let _ = write!(s, "- `{}` — {}: {}", r.id, r.outcome, md_cell(r.detail));
            if let Some(e) = r.expect {
                let _ = write!(s, " — expected failure: {}", md_cell(&e.reason));
            }
            s.push('\n');
        }
        s.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        for bad in ["0", "-1", "x", "inf", "NaN", "1e9"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_skip_zeros() {
        let m: BTreeMap<String, usize> =
            [("pass".to_string(), 3), ("crash".to_string(), 0), ("timeout".to_string(), 1)].into_iter().collect();
        assert_eq!(counts_text(&["pass", "crash", "timeout"], &m), "3 pass, 1 timeout");
        assert_eq!(counts_text(&["crash"], &m), "nothing");
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
    }
}
