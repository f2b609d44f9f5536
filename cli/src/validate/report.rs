//! Rendering `check` results: the text report and the JSON report (schema: docs/REPORT.md).
//!
//! Only the CLI renders formats; the library hands over [`ChainReport`]s as data.

use crate::time::format_rfc3339;
use serde::Serialize;
use std::io::{self, Write};
use vhd_generator::values::Size;
use vhd_validator::check::{ChainReport, ImageReport};
use vhd_validator::finding::escape_text;
use vhd_validator::{Finding, Profile, Severity};

/// Version of the JSON report schema; bumped on any incompatible change (docs/REPORT.md).
pub const FORMAT_VERSION: u32 = 1;

/// The tool's name as reported.
pub const TOOL_NAME: &str = "vhd-validate";

/// One checked input: the path as found and the report of its chain (child first).
pub struct Checked {
    /// The image as named on the command line or found under a directory.
    pub file: String,
    /// The chain report.
    pub report: ChainReport,
}

/// An input that could not be checked, and why.
pub struct Unreadable {
    /// The path as named on the command line or found under a directory.
    pub file: String,
    /// What went wrong.
    pub message: String,
}

/// Everything a `check` run produced.
pub struct Run<'a> {
    /// Severity profile.
    pub profile: Profile,
    /// "Now" passed to the library, Unix seconds.
    pub now_unix: i64,
    /// Whether block data was read (`--no-data` clears it).
    pub read_block_data: bool,
    /// Maximum chain length.
    pub max_depth: usize,
    /// Most findings listed per capped rule and image (`--max-listed`).
    pub max_listed: u64,
    /// Checked inputs, in input order.
    pub checked: &'a [Checked],
    /// Inputs that could not be checked.
    pub unreadable: &'a [Unreadable],
}

/// Finding counts by severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Findings of error severity.
    pub error: usize,
    /// Findings of warning severity.
    pub warning: usize,
    /// Findings of info severity.
    pub info: usize,
}

impl Counts {
    /// Counts `findings` by severity.
    pub fn of<'f>(findings: impl IntoIterator<Item = &'f Finding>) -> Counts {
        let mut c = Counts::default();
        for f in findings {
            match f.severity {
                Severity::Error => c.error += 1,
                Severity::Warning => c.warning += 1,
                Severity::Info => c.info += 1,
                // A severity this build does not know counts as an error.
                _ => c.error += 1,
            }
        }
        c
    }

    fn add(&mut self, o: Counts) {
        self.error += o.error;
        self.warning += o.warning;
        self.info += o.info;
    }

    /// The verdict these counts give.
    pub fn verdict(self) -> Verdict {
        if self.error > 0 {
            Verdict::Fail
        } else if self.warning > 0 {
            Verdict::PassWithWarnings
        } else {
            Verdict::Pass
        }
    }
}

/// The verdict on one image chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No error and no warning findings (infos allowed).
    Pass,
    /// Warnings but no errors.
    PassWithWarnings,
    /// At least one error.
    Fail,
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A size in bytes, as the largest binary unit that divides it exactly (`10 MiB`, the size
/// grammar's [`Size::pretty`]), else in bytes (`3 bytes`).
pub fn format_size(bytes: u64) -> String {
    Size(bytes).pretty().unwrap_or_else(|| plural(usize::try_from(bytes).unwrap_or(usize::MAX), "byte"))
}

fn upper(s: Severity) -> &'static str {
    match s {
        Severity::Error => "ERROR",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
        _ => "ERROR",
    }
}

/// One finding as one text line (every string from an image or a file name escaped by
/// [`escape_text`], so a finding is always exactly one line):
/// `SEVERITY CODE file:offset path: message (expected X, found Y)`.
pub fn finding_line(f: &Finding) -> String {
    let mut s = format!("{} {} {}:{} {}: {}", upper(f.severity), f.code, f.file, f.offset, f.path, f.message);
    match (&f.expected, &f.actual) {
        (Some(e), Some(a)) => s.push_str(&format!(" (expected {e}, found {a})")),
        (Some(e), None) => s.push_str(&format!(" (expected {e})")),
        (None, Some(a)) => s.push_str(&format!(" (found {a})")),
        (None, None) => {}
    }
    escape_text(&s).into_owned()
}

fn describe(image: Option<&ImageReport>, chain_len: usize, above: usize) -> String {
    let kind = image.and_then(|i| i.disk_type.clone()).unwrap_or_else(|| "unknown type".into());
    let size = image.and_then(|i| i.virtual_size).map_or_else(|| "unknown size".into(), format_size);
    match (chain_len > 1, above) {
        (false, _) => format!("[{kind}, {size}]"),
        (true, 0) => format!("[{kind}, {size}, chain of {chain_len}]"),
        (true, n) => format!("[{kind}, {size}, chain of {chain_len}, {} reported above]", plural(n, "ancestor")),
    }
}

/// The verdict line of one chain:
/// `file: PASS|PASS with N warning(s)|FAIL (E errors, W warnings, I infos) [type, virtual size]`.
/// Ancestors marked in `above` (by index into the chain) were reported earlier in the run:
/// `[…, chain of N, K ancestors reported above]`.
pub fn verdict_line(c: &Checked, above: &[bool]) -> String {
    let counts = Counts::of(c.report.findings());
    let verdict = match counts.verdict() {
        Verdict::Pass => "PASS".to_string(),
        Verdict::PassWithWarnings => format!("PASS with {}", plural(counts.warning, "warning")),
        Verdict::Fail => format!(
            "FAIL ({}, {}, {})",
            plural(counts.error, "error"),
            plural(counts.warning, "warning"),
            plural(counts.info, "info")
        ),
    };
    let n_above = above.iter().filter(|a| **a).count();
    let line = format!("{}: {verdict} {}", c.file, describe(c.report.images.first(), c.report.images.len(), n_above));
    escape_text(&line).into_owned()
}

/// The images already reported in a run, by file name as reported (a parent as resolved), so
/// that an ancestor shared by many children is reported once and referred to afterwards. At most [`Seen::CAP`] paths are held;
/// past that the memory starts again (an ancestor is then reported once more).
#[derive(Default)]
pub struct Seen {
    paths: std::collections::HashSet<std::path::PathBuf>,
}

impl Seen {
    /// Most paths remembered.
    pub const CAP: usize = 65_536;

    fn key(file: &str) -> std::path::PathBuf {
        std::path::PathBuf::from(file)
    }

    /// For each image of `c`'s chain, whether it was reported earlier (the checked image itself
    /// never is: it is always reported in full); then remembers them all.
    pub fn mark(&mut self, c: &Checked) -> Vec<bool> {
        let keys: Vec<_> = c.report.images.iter().map(|i| Seen::key(&i.file)).collect();
        let above = keys.iter().enumerate().map(|(i, k)| i > 0 && self.paths.contains(k)).collect();
        if self.paths.len() + keys.len() > Seen::CAP {
            self.paths.clear();
        }
        self.paths.extend(keys);
        above
    }
}

/// The findings of `c` to report: every image's, except ancestors marked in `above`.
fn reported<'c>(c: &'c Checked, above: &'c [bool]) -> impl Iterator<Item = &'c Finding> + 'c {
    c.report
        .images
        .iter()
        .enumerate()
        .filter(move |(i, _)| !above.get(*i).copied().unwrap_or(false))
        .flat_map(|(_, img)| img.findings.iter())
}

/// Running totals of a streamed `check` run (the summary line and object, the exit status).
#[derive(Default)]
pub struct Tally {
    summary: Summary,
    any_error: bool,
}

impl Tally {
    /// Counts one checked chain.
    pub fn add(&mut self, c: &Checked) {
        let counts = Counts::of(c.report.findings());
        self.summary.images += 1;
        self.summary.counts.add(counts);
        match counts.verdict() {
            Verdict::Pass => self.summary.pass += 1,
            Verdict::PassWithWarnings => self.summary.pass_with_warnings += 1,
            Verdict::Fail => self.summary.fail += 1,
        }
        self.any_error |= !c.report.passes();
    }

    /// Counts one input that could not be checked.
    pub fn add_unreadable(&mut self) {
        self.summary.unreadable += 1;
    }

    /// The exit status: 2 if an input was unreadable, else 1 if any error finding, else 0.
    pub fn status(&self) -> crate::Status {
        if self.summary.unreadable > 0 {
            crate::Status::Fatal
        } else if self.any_error {
            crate::Status::Fail
        } else {
            crate::Status::Pass
        }
    }

    fn summary(&self) -> Summary {
        Summary { exit_status: self.status() as u8, ..self.summary }
    }
}

/// Writes one chain of the text report: its findings (those of ancestors marked in `above`
/// left out: reported earlier), then its verdict line.
pub fn text_chain(out: &mut dyn Write, c: &Checked, above: &[bool]) -> io::Result<()> {
    for f in reported(c, above) {
        writeln!(out, "{}", finding_line(f))?;
    }
    writeln!(out, "{}", verdict_line(c, above))
}

/// Writes the text report's closing summary line, when more or fewer than one input was given.
pub fn text_end(out: &mut dyn Write, tally: &Tally, profile: Profile) -> io::Result<()> {
    let s = tally.summary();
    if s.images + s.unreadable != 1 {
        let mut line = format!(
            "summary: {} checked ({} pass, {} pass with warnings, {} fail)",
            plural(s.images, "image"),
            s.pass,
            s.pass_with_warnings,
            s.fail
        );
        if s.unreadable > 0 {
            line.push_str(&format!(", {} unreadable", s.unreadable));
        }
        line.push_str(&format!(", profile {profile}"));
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// `tool` object.
#[derive(Serialize)]
pub struct Tool {
    /// Always `vhd-validate`.
    pub name: &'static str,
    /// The crate version.
    pub version: &'static str,
}

/// The tool block of every JSON document.
pub fn tool() -> Tool {
    Tool { name: TOOL_NAME, version: env!("CARGO_PKG_VERSION") }
}

#[derive(Serialize)]
struct Options<'a> {
    read_block_data: bool,
    max_depth: usize,
    max_listed: u64,
    parent_dirs: &'a [String],
}

#[derive(Serialize)]
struct ImageOut<'a> {
    file: &'a str,
    disk_type: Option<&'a str>,
    virtual_size: Option<u64>,
    verdict: Verdict,
    counts: Counts,
    findings: Vec<FindingOut<'a>>,
    chain: Vec<ChainLink<'a>>,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    code: &'static str,
    family: &'static str,
    severity: Severity,
    file: &'a str,
    offset: u64,
    length: u64,
    path: &'a str,
    expected: Option<&'a str>,
    actual: Option<&'a str>,
    message: &'a str,
}

#[derive(Serialize)]
struct ChainLink<'a> {
    file: &'a str,
    disk_type: Option<&'a str>,
    virtual_size: Option<u64>,
    counts: Counts,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    reported_above: bool,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    file: &'a str,
    message: &'a str,
}

/// `summary` object (also used for the text summary line).
#[derive(Clone, Copy, Default, Serialize)]
struct Summary {
    images: usize,
    pass: usize,
    pass_with_warnings: usize,
    fail: usize,
    unreadable: usize,
    counts: Counts,
    exit_status: u8,
}

/// The exit status of a run: 2 if an input was unreadable, else 1 if any error finding, else 0.
pub fn exit_status(run: &Run<'_>) -> crate::Status {
    if !run.unreadable.is_empty() {
        crate::Status::Fatal
    } else if run.checked.iter().any(|c| !c.report.passes()) {
        crate::Status::Fail
    } else {
        crate::Status::Pass
    }
}

fn finding_out(f: &Finding) -> FindingOut<'_> {
    let rule = f.code.rule();
    FindingOut {
        code: rule.code,
        family: rule.family.as_str(),
        severity: f.severity,
        file: &f.file,
        offset: f.offset,
        length: f.length,
        path: &f.path,
        expected: f.expected.as_deref(),
        actual: f.actual.as_deref(),
        message: &f.message,
    }
}

fn image_out<'c>(c: &'c Checked, above: &'c [bool]) -> ImageOut<'c> {
    let first = c.report.images.first();
    let counts = Counts::of(c.report.findings());
    ImageOut {
        file: &c.file,
        disk_type: first.and_then(|i| i.disk_type.as_deref()),
        virtual_size: first.and_then(|i| i.virtual_size),
        verdict: counts.verdict(),
        counts,
        findings: reported(c, above).map(finding_out).collect(),
        chain: c
            .report
            .images
            .iter()
            .enumerate()
            .map(|(k, i)| ChainLink {
                file: &i.file,
                disk_type: i.disk_type.as_deref(),
                virtual_size: i.virtual_size,
                counts: Counts::of(&i.findings),
                reported_above: above.get(k).copied().unwrap_or(false),
            })
            .collect(),
    }
}

/// The run's settings, written before any image.
pub struct Header<'a> {
    /// Severity profile.
    pub profile: Profile,
    /// "Now" passed to the library, Unix seconds.
    pub now_unix: i64,
    /// Whether block data was read (`--no-data` clears it).
    pub read_block_data: bool,
    /// Maximum chain length.
    pub max_depth: usize,
    /// Most findings listed per capped rule and image (`--max-listed`).
    pub max_listed: u64,
    /// `--parent-dir` values as given.
    pub parent_dirs: &'a [String],
}

/// Writes the JSON report's opening: every top-level member before `images`, and the opening
/// bracket of `images`. The document is written as it goes (one image per line), so a run's
/// memory does not grow with the number of images.
pub fn json_begin(out: &mut dyn Write, h: &Header<'_>) -> io::Result<()> {
    let options = Options {
        read_block_data: h.read_block_data,
        max_depth: h.max_depth,
        max_listed: h.max_listed,
        parent_dirs: h.parent_dirs,
    };
    write!(
        out,
        "{{\"format_version\":{FORMAT_VERSION},\"tool\":{},\"profile\":{},\"now\":{},\"now_unix\":{},\"options\":{},\"images\":[",
        serde_json::to_string(&tool())?,
        serde_json::to_string(&h.profile)?,
        serde_json::to_string(&format_rfc3339(h.now_unix))?,
        h.now_unix,
        serde_json::to_string(&options)?
    )
}

/// Writes one element of `images` (`first`: no separating comma).
pub fn json_chain(out: &mut dyn Write, c: &Checked, above: &[bool], first: bool) -> io::Result<()> {
    out.write_all(if first { b"\n" } else { b",\n" })?;
    serde_json::to_writer(&mut *out, &image_out(c, above))?;
    Ok(())
}

/// Closes `images` and writes `errors` and `summary`.
pub fn json_end(out: &mut dyn Write, unreadable: &[Unreadable], tally: &Tally) -> io::Result<()> {
    let errors: Vec<ErrorOut<'_>> =
        unreadable.iter().map(|u| ErrorOut { file: &u.file, message: &u.message }).collect();
    write!(
        out,
        "\n],\"errors\":{},\"summary\":{}}}",
        serde_json::to_string(&errors)?,
        serde_json::to_string(&tally.summary())?
    )?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vhd_validator::Code;

    #[test]
    fn sizes_use_exact_units() {
        assert_eq!(format_size(0), "0 bytes");
        assert_eq!(format_size(1), "1 byte");
        assert_eq!(format_size(512), "512 bytes");
        assert_eq!(format_size(1536), "1536 bytes");
        assert_eq!(format_size(3072), "3 KiB");
        assert_eq!(format_size(10 << 20), "10 MiB");
        assert_eq!(format_size((10 << 20) + 512), "10486272 bytes");
        assert_eq!(format_size(3 << 40), "3 TiB");
    }

    #[test]
    fn finding_lines_show_expected_and_found() {
        let f = Finding::new(Code::FooterChecksum, 64, 4, "footer.checksum", "checksum mismatch");
        let mut f = f.expected("0x00000001").actual("0x00000002");
        f.file = "a.vhd".into();
        assert_eq!(
            finding_line(&f),
            format!(
                "{} FOOTER-CHECKSUM a.vhd:64 footer.checksum: checksum mismatch (expected 0x00000001, found 0x00000002)",
                upper(Code::FooterChecksum.rule().strict)
            )
        );
        f.expected = None;
        assert!(finding_line(&f).ends_with("mismatch (found 0x00000002)"));
        f.actual = None;
        assert!(finding_line(&f).ends_with("mismatch"));
    }

    #[test]
    fn verdicts_follow_counts() {
        assert_eq!(Counts::default().verdict(), Verdict::Pass);
        assert_eq!(Counts { info: 3, ..Counts::default() }.verdict(), Verdict::Pass);
        assert_eq!(Counts { warning: 1, info: 3, ..Counts::default() }.verdict(), Verdict::PassWithWarnings);
        assert_eq!(Counts { error: 1, ..Counts::default() }.verdict(), Verdict::Fail);
    }
}
