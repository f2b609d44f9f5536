//! `vhd-validate conform-writer`: ask VHD writers to create images over a table of sizes and
//! disk types and validate each under the strict profile (docs/CONFORMANCE.md).

use crate::conform::{
    counts_text, junit_string, junit_suite, md_cell, md_details, parse_seconds, text_line, write_file, Format, JunitItem, ReportArgs,
    Listed,
};
use crate::{Fatal, Outcome, Status};
use clap::ValueEnum;
use quick_junit::Report;
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use vhd_generator::values::Size;
use vhd_validator::check::CheckOptions;
use vhd_conform::writer::{
    self, DiskKind, WriterAdapter, WriterOptions, WriterOutcome, WriterResult, WriterRow, WriterRun, DEFAULT_SIZES,
};
use vhd_conform::{Builtin, ExpectFile, Status as CaseStatus};

/// Ask VHD writers to create fixed and dynamic images of a table of sizes, and validate each
/// under the strict profile.
///
/// Outcomes per row: pass, invalid (error findings under strict), wrong-type, resized (current
/// size is not the size asked, rounded up to a sector), wrong-bytes (a new disk of up to 64 MiB
/// does not read as zeros), failed, crash, timeout.
///
/// Template placeholders: {size} the size in bytes, {type} `fixed` or `dynamic`, {out} the image
/// to create (without {out}, standard output is the image), {dir} the scratch directory. The
/// environment has VHD_SIZE, VHD_TYPE, VHD_OUT, VHD_DIR.
///
/// Exit status: 0 when every row passes or is an expected failure; 1 otherwise; 2 when the run
/// could not be made.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Built-in writer (repeatable): qemu-img (`qemu-img create -f vpc`, force_size off and on).
    #[arg(long = "impl", value_enum, value_name = "NAME")]
    pub impls: Vec<WriterImplArg>,

    /// Command template of a writer (repeatable), e.g. 'mkvhd --size {size} --type {type} {out}'.
    #[arg(long = "cmd", value_name = "TEMPLATE")]
    pub cmds: Vec<String>,

    /// Name of the n-th --cmd writer (default: cmd, cmd2, ...).
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,

    /// Exit codes that mean success for --cmd writers (comma-separated; default 0).
    #[arg(long = "ok-exit", value_name = "CODES", value_delimiter = ',')]
    pub ok_exit: Vec<i32>,

    /// Disk types to ask for (comma-separated).
    #[arg(long, value_name = "TYPES", value_delimiter = ',', default_value = "fixed,dynamic",
          value_parser = parse_kind)]
    pub types: Vec<DiskKind>,

    /// Sizes to ask for, in bytes or with a K/M/G/T suffix (binary units), comma-separated.
    /// Default: 1M, 10M, 12345678, 127M, 1G, 4G, 136899993600 (the largest CHS size), 2040G.
    #[arg(long, value_name = "SIZES", value_delimiter = ',', value_parser = parse_size)]
    pub sizes: Vec<u64>,

    /// Expected failures (rows named TYPE/SIZE), one per line with a reason.
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,

    /// "Now" for the time-stamp rules: RFC 3339 or Unix seconds. Default: the system clock.
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_now)]
    pub now: Option<i64>,

    /// Time limit per row in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    pub timeout: Duration,

    /// Report format and report files.
    #[command(flatten)]
    pub report: ReportArgs,

    /// Directory for the images while they are checked (default: the system's temporary
    /// directory; fixed images of large sizes are sparse files there).
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,

    /// Print each row's result to standard error as it finishes.
    #[arg(short, long)]
    pub verbose: bool,
}

/// `--impl` values of `conform-writer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum WriterImplArg {
    /// `qemu-img create -f vpc -o subformat=fixed|dynamic[,force_size=on]`.
    #[value(name = "qemu-img")]
    QemuImg,
}

fn parse_kind(s: &str) -> Result<DiskKind, String> {
    DiskKind::parse(s.trim()).ok_or_else(|| format!("`{s}` is not a disk type a writer is asked for (fixed, dynamic)"))
}

/// Parses a size with the scenarios' grammar ([`Size::parse`]: bytes, or a number with a binary
/// unit `K`/`KiB`, `M`/`MiB`, `G`/`GiB`, `T`/`TiB`, or `sectors`).
///
/// # Errors
/// A message for anything else, zero, or an overflow.
pub fn parse_size(s: &str) -> Result<u64, String> {
    Size::parse(s)
        .map(Size::bytes)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{s}` is not a size (bytes, or a number with K, M, G or T)"))
}

fn writers(args: &Args, scratch: &std::path::Path) -> Result<Vec<WriterAdapter>, Fatal> {
    if args.impls.is_empty() && args.cmds.is_empty() {
        return Err(Fatal::msg("nothing to run: give --impl qemu-img or --cmd TEMPLATE"));
    }
    if args.names.len() > args.cmds.len() {
        return Err(Fatal::msg(format!("{} --name values for {} --cmd templates", args.names.len(), args.cmds.len())));
    }
    let mut out = Vec::new();
    for i in &args.impls {
        let b = match i {
            WriterImplArg::QemuImg => Builtin::QemuImg,
        };
        let ws = WriterAdapter::builtin(b, scratch, Duration::from_secs(30))
            .ok_or_else(|| Fatal::msg(format!("{} has no built-in writer", b.name())))?;
        if ws.iter().any(|w| w.version.is_none()) {
            return Err(Fatal::msg(format!("{}: not installed or not working", b.name())));
        }
        out.extend(ws);
    }
    for (i, t) in args.cmds.iter().enumerate() {
        let name =
            args.names.get(i).cloned().unwrap_or_else(|| if i == 0 { "cmd".into() } else { format!("cmd{}", i + 1) });
        let mut w = WriterAdapter::from_template(&name, t).map_err(|e| Fatal::msg(format!("--cmd {t:?}: {e}")))?;
        if !args.ok_exit.is_empty() {
            w.success_codes = args.ok_exit.clone();
        }
        out.push(w);
    }
    let mut seen = std::collections::BTreeSet::new();
    for w in &out {
        if !seen.insert(w.name.clone()) {
            return Err(Fatal::msg(format!("two writers are called {}; use --name", w.name)));
        }
    }
    Ok(out)
}

/// Runs `conform-writer`.
pub fn run(args: Args) -> Outcome {
    let probe_dir = tempfile::tempdir().map_err(|e| Fatal::msg(format!("cannot make a scratch directory: {e}")))?;
    vhd_validator::cleanup::watch(probe_dir.path());
    let ws = writers(&args, probe_dir.path())?;
    let sizes: Vec<u64> = if args.sizes.is_empty() { DEFAULT_SIZES.to_vec() } else { args.sizes.clone() };
    let mut kinds = args.types.clone();
    kinds.dedup();
    let rows = writer::table(&kinds, &sizes);
    let expect = match &args.expect {
        Some(p) => Some(ExpectFile::load(p, &WriterOutcome::FAILING).map_err(|e| Fatal::msg(e.to_string()))?),
        None => None,
    };
    let mut opts = WriterOptions::default();
    opts.timeout = args.timeout;
    opts.check = CheckOptions::default().with_now(args.now.unwrap_or_else(crate::time::system_now));
    opts.scratch.clone_from(&args.scratch);
    let verbose = args.verbose;
    // A bar over rows x writers, on a terminal only.
    let bar = crate::progress::Bar::items("conform-writer", (rows.len() as u64).saturating_mul(ws.len() as u64));
    let mut progress = |name: &str, r: &WriterResult| {
        if verbose {
            crate::progress::eprintln_above(&bar, &format!("{name}: {} {}: {}", r.id, r.outcome, r.detail));
        }
        if let Some(b) = &bar {
            b.step(&format!("{name} {}", r.id));
        }
    };
    let run =
        writer::run_writer(&ws, &rows, &opts, expect.as_ref(), &mut progress).map_err(|e| Fatal::msg(e.to_string()))?;
    drop(bar);
    for i in &run.implementations {
        for u in &i.unused_expectations {
            crate::note(format!("{}: expect entry at line {u} matched no row", i.name));
        }
    }
    let json = || {
        serde_json::to_string_pretty(&run)
            .map(|mut s| {
                s.push('\n');
                s
            })
            .map_err(|e| Fatal::msg(e.to_string()))
    };
    if let Some(p) = &args.report.junit {
        write_file(p, &junit_writer(&run)?)?;
    }
    if let Some(p) = &args.report.json {
        write_file(p, &json()?)?;
    }
    if let Some(p) = &args.report.markdown {
        write_file(p, &markdown_writer(&run, &sizes, &kinds))?;
    }
    let text = match args.report.format {
        Format::Text => text_writer(&run),
        Format::Json => json()?,
        Format::Markdown => markdown_writer(&run, &sizes, &kinds),
    };
    let mut out = crate::stdout();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(if run.passed() { Status::Pass } else { Status::Fail })
}

fn order() -> [&'static str; 8] {
    WriterOutcome::ALL.map(WriterOutcome::as_str)
}

/// The text report of a writer run.
pub fn text_writer(run: &WriterRun) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "conformance of writers: validated under strict, time limit {} ms", run.timeout_ms);
    for i in &run.implementations {
        let _ = writeln!(s, "\n{} ({})", i.name, i.version.as_deref().unwrap_or("version unknown"));
        let _ = writeln!(s, "  command: {}", i.command);
        for r in i.results.iter().filter(|r| r.status != CaseStatus::Ok) {
            text_line(&mut s, r.status, &listed(r));
        }
        let _ = writeln!(
            s,
            "  {}: {} rows: {}; {} expected failures, {} unexpected passes",
            i.name,
            i.summary.cases,
            counts_text(&order(), &i.summary.outcomes),
            i.summary.status(CaseStatus::ExpectedFailure),
            i.summary.status(CaseStatus::UnexpectedPass)
        );
    }
    let _ = writeln!(s, "\nresult: {}", if run.passed() { "PASS" } else { "FAIL" });
    s
}

/// How the reports list one writer result.
fn listed(r: &WriterResult) -> Listed<'_> {
    Listed { id: &r.id, outcome: r.outcome.to_string(), detail: &r.detail, expect: r.expect.as_ref() }
}

/// The JUnit XML of a writer run: one suite per writer (`writer: NAME`), one test case per row.
///
/// # Errors
/// [`Fatal`] when serialization fails.
pub fn junit_writer(run: &WriterRun) -> Result<String, Fatal> {
    let mut report = Report::new("vhd-conformance");
    for i in &run.implementations {
        let items = i.results.iter().map(|r| JunitItem {
            name: &r.id,
            classname: format!("{}.{}", i.name, r.row.kind),
            status: r.status,
            outcome: r.outcome.as_str(),
            detail: &r.detail,
            expect: r.expect.as_ref().map(|e| (e.line, e.reason.as_str())),
            elapsed_ms: r.raw.elapsed_ms,
            stderr: &r.raw.stderr,
            expected_size: None,
            expected_sha256: None,
        });
        report.add_test_suite(junit_suite(&format!("writer: {}", i.name), i.version.as_deref(), &i.command, items));
    }
    junit_string(&report)
}

fn writer_cell(r: &WriterResult) -> String {
    let short = match r.outcome {
        WriterOutcome::Resized => {
            let got = r.virtual_size.unwrap_or(0);
            format!("resized ({:+})", i128::from(got) - i128::from(r.row.expected_size()))
        }
        WriterOutcome::Invalid => format!("invalid: {}", r.errors.join(", ")),
        o => o.to_string(),
    };
    let mut cell = match r.status {
        CaseStatus::Ok => short,
        CaseStatus::Fail => format!("**{short}**"),
        CaseStatus::ExpectedFailure => format!("*{short}* (expected)"),
        CaseStatus::UnexpectedPass => "**pass (unexpected)**".to_string(),
        CaseStatus::Skipped => "skipped".to_string(),
        _ => format!("**{short}**"),
    };
    if r.outcome == WriterOutcome::Pass && !r.warnings.is_empty() {
        cell.push_str(&format!(" (warnings: {})", r.warnings.join(", ")));
    }
    md_cell(&cell)
}

/// The Markdown report of a writer run: the writers, a matrix of sizes by writer and type, and
/// every result that is not a plain pass.
pub fn markdown_writer(run: &WriterRun, sizes: &[u64], kinds: &[DiskKind]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# VHD writer conformance\n");
    let _ = writeln!(
        s,
        "Each image is validated under the strict profile; time limit {} ms per image; vhd-validate {}.\n",
        run.timeout_ms, run.tool_version
    );
    let _ = writeln!(s, "| Writer | Version | Command | Results |\n| --- | --- | --- | --- |");
    for i in &run.implementations {
        let _ = writeln!(
            s,
            "| {} | {} | `{}` | {} |",
            md_cell(&i.name),
            md_cell(i.version.as_deref().unwrap_or("unknown")),
            md_cell(&i.command),
            md_cell(&{
                let mut c = counts_text(&order(), &i.summary.outcomes);
                let xf = i.summary.status(CaseStatus::ExpectedFailure);
                if xf > 0 {
                    c.push_str(&format!(" ({xf} expected failures)"));
                }
                c
            })
        );
    }
    let _ = write!(s, "\n| Size asked |");
    for i in &run.implementations {
        for k in kinds {
            let _ = write!(s, " {} {k} |", md_cell(&i.name));
        }
    }
    let _ = write!(s, "\n| --- |");
    for _ in &run.implementations {
        for _ in kinds {
            s.push_str(" --- |");
        }
    }
    s.push('\n');
    for &size in sizes {
        let _ = write!(s, "| {} ({size} bytes) |", crate::report::format_size(size));
        for i in &run.implementations {
            for &kind in kinds {
                let row = WriterRow { kind, size };
                let cell = i.results.iter().find(|r| r.row == row).map_or_else(String::new, writer_cell);
                let _ = write!(s, " {cell} |");
            }
        }
        s.push('\n');
    }
    s.push('\n');
    md_details(
        &mut s,
        run.implementations.iter().map(|i| {
            let notable = i.results.iter().filter(|r| r.status != CaseStatus::Ok || !r.warnings.is_empty());
            (i.name.as_str(), notable.map(listed).collect())
        }),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("2040G"), Ok(2040 << 30));
        assert_eq!(parse_size("3 KiB"), Ok(3072));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        for bad in ["", "0", "M", "1X", "-1", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(crate::report::format_size(2040 << 30), "2040 GiB");
        assert_eq!(crate::report::format_size(12_345_678), "12345678 bytes");
    }
}
