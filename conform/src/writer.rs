//! Writer conformance: an implementation creates images over a table of sizes and disk types,
//! and each image is validated under the strict profile.
//!
//! A writer template has the placeholders `{size}` (the virtual size asked, in bytes), `{type}`
//! (`fixed` or `dynamic`), `{out}` (the image path to create; without it, standard output is
//! the image) and `{dir}` (the scratch directory). The built-in `qemu-img` writer is two
//! implementations: `qemu-img create -q -f vpc -o subformat={type} {out} {size}` (QEMU's
//! default, `force_size` off: the size is rounded up to a CHS geometry) and the same with
//! `force_size=on` (`qemu-img-force-size`: the size is kept, geometry 65535/16/255).
//!
//! Each row gets one [`WriterOutcome`], in this order of precedence: `timeout`, `crash`,
//! `failed` (a non-success exit status, no image, or an image that cannot be opened),
//! `invalid` (a finding of error severity under the strict profile), `wrong-type` (the footer's
//! disk type is not the one asked), `resized` (the footer's current size is not the size asked,
//! rounded up to a whole sector), `wrong-bytes` (for disks up to [`CONTENT_LIMIT`] bytes: the
//! new disk does not read as all zeros through the reference reader), else `pass`.

use super::adapter::{probe_version, Builtin};
use super::exec::{self, Invocation, RawOutcome};
use super::expect::ExpectFile;
use super::template::{Placeholder, Template, TemplateError};
use super::{ConformError, ExpectNote, Status, Summary, FORMAT_VERSION};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::path::Path;
use std::time::Duration;
use vhd_validator::chain::ChainReader;
use vhd_validator::check::{check_path, CheckOptions};
use vhd_validator::rules::{Profile, Severity};

/// Largest disk (bytes) whose contents are checked to read as zeros.
pub const CONTENT_LIMIT: u64 = 64 << 20;

/// The sizes of the default table, in bytes: 1 MiB, 10 MiB, 12345678 bytes (not a whole number
/// of sectors), 127 MiB, 1 GiB, 4 GiB (past 32 bits), 65535 x 16 x 255 sectors (the largest
/// size a CHS geometry can describe), 2040 GiB (the largest VHD).
pub const DEFAULT_SIZES: [u64; 8] =
    [1 << 20, 10 << 20, 12_345_678, 127 << 20, 1 << 30, 4 << 30, 65_535 * 16 * 255 * 512, 2040 << 30];

/// A disk type a writer is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DiskKind {
    /// A fixed hard disk image.
    Fixed,
    /// A dynamic hard disk image.
    Dynamic,
}

impl DiskKind {
    /// Both kinds.
    pub const ALL: [DiskKind; 2] = [DiskKind::Fixed, DiskKind::Dynamic];

    /// `fixed` or `dynamic` (also the validator's disk type name).
    pub fn as_str(self) -> &'static str {
        match self {
            DiskKind::Fixed => "fixed",
            DiskKind::Dynamic => "dynamic",
        }
    }

    /// Parses `fixed` or `dynamic`.
    pub fn parse(s: &str) -> Option<DiskKind> {
        DiskKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for DiskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the table: create a disk of this type and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WriterRow {
    /// Disk type.
    #[serde(rename = "type")]
    pub kind: DiskKind,
    /// Virtual size asked, in bytes.
    pub size: u64,
}

impl WriterRow {
    /// `TYPE/SIZE`, e.g. `dynamic/1048576` (what expect files name).
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.size)
    }

    /// The size a conforming writer stores: the size asked rounded up to a whole sector.
    pub fn expected_size(&self) -> u64 {
        self.size.div_ceil(512).saturating_mul(512)
    }
}

/// Every type with every size of `sizes`.
pub fn table(kinds: &[DiskKind], sizes: &[u64]) -> Vec<WriterRow> {
    kinds.iter().flat_map(|&kind| sizes.iter().map(move |&size| WriterRow { kind, size })).collect()
}

/// A writer implementation.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WriterAdapter {
    /// Name in reports and expect-file sections.
    pub name: String,
    /// Version, when known.
    pub version: Option<String>,
    /// The command of one row.
    pub template: Template,
    /// Exit codes that mean success.
    pub success_codes: Vec<i32>,
}

impl WriterAdapter {
    /// A writer from a command template (`--cmd`).
    ///
    /// # Errors
    /// [`TemplateError`] when the template does not parse or does not use `{size}`.
    pub fn from_template(name: &str, template: &str) -> Result<WriterAdapter, TemplateError> {
        let template = Template::parse(template, Placeholder::WRITER)?;
        template.require(&[Placeholder::Size])?;
        Ok(WriterAdapter { name: name.to_string(), version: None, template, success_codes: vec![0] })
    }

    /// The built-in writers of an implementation (`qemu-img`: `force_size` off and on), versions
    /// probed with a time limit of `timeout` in a scratch directory under `scratch`.
    /// `None` for an implementation without a built-in writer.
    pub fn builtin(b: Builtin, scratch: &Path, timeout: Duration) -> Option<Vec<WriterAdapter>> {
        let w = Placeholder::WRITER;
        match b {
            Builtin::QemuImg => {
                let version = probe_version(&b.version_command(), scratch, timeout);
                let make = |name: &str, o: &str| {
                    let words = ["qemu-img", "create", "-q", "-f", "vpc", "-o", o, "{out}", "{size}"];
                    let display = format!("qemu-img create -q -f vpc -o {o} {{out}} {{size}}");
                    WriterAdapter {
                        name: name.to_string(),
                        version: version.clone(),
                        template: subformat_template(&words, w, &display),
                        success_codes: vec![0],
                    }
                };
                Some(vec![
                    make("qemu-img", "subformat={type}"),
                    make("qemu-img-force-size", "subformat={type},force_size=on"),
                ])
            }
            Builtin::Libvhdi | Builtin::SevenZip => None,
        }
    }
}

/// A template whose `-o` word has `{type}` inside it: parsed word by word so that the option
/// word keeps its placeholder.
fn subformat_template(words: &[&str], allowed: &[Placeholder], display: &str) -> Template {
    match Template::parse(display, allowed) {
        Ok(t) => t,
        Err(_) => Template::from_words(words, allowed, display),
    }
}

/// The outcome of one row for one writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum WriterOutcome {
    /// A valid image (no error finding under strict) of the type and size asked that reads as
    /// zeros.
    Pass,
    /// The image has findings of error severity under the strict profile.
    Invalid,
    /// The footer's disk type is not the one asked.
    WrongType,
    /// The footer's current size is not the size asked (rounded up to a sector).
    Resized,
    /// The new disk does not read as all zeros.
    WrongBytes,
    /// A non-success exit status, no image, or an image that cannot be opened.
    Failed,
    /// Killed by a signal.
    Crash,
    /// Did not finish within the time limit.
    Timeout,
}

impl WriterOutcome {
    /// Every outcome, in report order.
    pub const ALL: [WriterOutcome; 8] = [
        WriterOutcome::Pass,
        WriterOutcome::Invalid,
        WriterOutcome::WrongType,
        WriterOutcome::Resized,
        WriterOutcome::WrongBytes,
        WriterOutcome::Failed,
        WriterOutcome::Crash,
        WriterOutcome::Timeout,
    ];

    /// The failing outcomes (what an expect file may list).
    pub const FAILING: [&'static str; 7] =
        ["invalid", "wrong-type", "resized", "wrong-bytes", "failed", "crash", "timeout"];

    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            WriterOutcome::Pass => "pass",
            WriterOutcome::Invalid => "invalid",
            WriterOutcome::WrongType => "wrong-type",
            WriterOutcome::Resized => "resized",
            WriterOutcome::WrongBytes => "wrong-bytes",
            WriterOutcome::Failed => "failed",
            WriterOutcome::Crash => "crash",
            WriterOutcome::Timeout => "timeout",
        }
    }
}

impl fmt::Display for WriterOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one row for one writer.
#[derive(Clone, Debug, Serialize)]
pub struct WriterResult {
    /// `TYPE/SIZE`.
    pub id: String,
    /// What was asked.
    pub row: WriterRow,
    /// The outcome.
    pub outcome: WriterOutcome,
    /// How it counts after the expect file.
    pub status: Status,
    /// What happened.
    pub detail: String,
    /// The image's disk type, when a footer could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_type: Option<String>,
    /// The image's current size (bytes), when a footer could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<u64>,
    /// The image file's size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// Every rule code the validator reported (sorted, unique).
    pub codes: Vec<String>,
    /// The codes of error severity under strict.
    pub errors: Vec<String>,
    /// The codes of warning severity under strict.
    pub warnings: Vec<String>,
    /// The expect-file entry that applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<ExpectNote>,
    /// The raw outcome of the command.
    pub raw: RawOutcome,
}

/// One writer's results.
#[derive(Clone, Debug, Serialize)]
pub struct WriterImplementationRun {
    /// Name.
    pub name: String,
    /// Version, when known.
    pub version: Option<String>,
    /// The command template.
    pub command: String,
    /// Exit codes taken as success.
    pub success_codes: Vec<i32>,
    /// One result per row.
    pub results: Vec<WriterResult>,
    /// Counts.
    pub summary: Summary,
    /// Expect-file entries of this writer (or of all) that matched no row.
    pub unused_expectations: Vec<String>,
}

/// A whole writer-conformance run.
#[derive(Clone, Debug, Serialize)]
pub struct WriterRun {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// `writer`.
    pub kind: &'static str,
    /// The validator's version.
    pub tool_version: &'static str,
    /// Time limit per row, milliseconds.
    pub timeout_ms: u64,
    /// "Now" the images were validated at (Unix seconds).
    pub now_unix: Option<i64>,
    /// The expect file, when one was given.
    pub expect_file: Option<String>,
    /// Per writer.
    pub implementations: Vec<WriterImplementationRun>,
}

impl WriterRun {
    /// Whether no writer has a failure or an unexpected pass.
    pub fn passed(&self) -> bool {
        self.implementations.iter().all(|i| i.summary.bad() == 0)
    }
}

/// Options of a writer run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WriterOptions {
    /// Time limit per row.
    pub timeout: Duration,
    /// Options the images are checked with (the profile is forced to strict; pass `now_unix`).
    pub check: CheckOptions,
    /// Largest disk whose contents are checked.
    pub content_limit: u64,
    /// Directory under which scratch directories are made (default: the system's).
    pub scratch: Option<std::path::PathBuf>,
}

impl Default for WriterOptions {
    fn default() -> WriterOptions {
        WriterOptions {
            timeout: super::DEFAULT_TIMEOUT,
            check: CheckOptions::default(),
            content_limit: CONTENT_LIMIT,
            scratch: None,
        }
    }
}

/// SHA-256 of `size` zero bytes.
fn zeros_sha256(size: u64) -> [u8; 32] {
    let chunk = [0u8; 1 << 16];
    let mut h = Sha256::new();
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left.min(chunk.len() as u64)).unwrap_or(chunk.len());
        h.update(chunk.get(..n).unwrap_or_default());
        left = left.saturating_sub(n as u64);
    }
    h.finalize().into()
}

fn judge(row: &WriterRow, raw: &RawOutcome, success: &[i32], image: &Path, opts: &WriterOptions) -> WriterResult {
    let mut r = WriterResult {
        id: row.id(),
        row: *row,
        outcome: WriterOutcome::Pass,
        status: Status::Ok,
        detail: String::new(),
        disk_type: None,
        virtual_size: None,
        file_size: raw.output.as_ref().map(|o| o.size),
        codes: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        expect: None,
        raw: raw.clone(),
    };
    let done = |mut r: WriterResult, outcome, detail: String| {
        r.outcome = outcome;
        r.detail = detail;
        r
    };
    if raw.timed_out {
        return done(r, WriterOutcome::Timeout, format!("no image within the time limit ({} ms)", raw.elapsed_ms));
    }
    if raw.signal.is_some() {
        return done(r, WriterOutcome::Crash, raw.status_text());
    }
    if !raw.succeeded(success) {
        let mut why = raw.status_text();
        if raw.output.is_none() {
            why.push_str(", no image");
        }
        if let Some(l) = raw.message_summary(240) {
            why.push_str(&format!(": {l}"));
        }
        return done(r, WriterOutcome::Failed, why);
    }
    let mut check = opts.check.clone();
    check.profile = Profile::Strict;
    let report = match check_path(image, &check) {
        Ok(rep) => rep,
        Err(e) => return done(r, WriterOutcome::Failed, format!("cannot open the image: {e}")),
    };
    let first = report.images.first();
    r.disk_type = first.and_then(|i| i.disk_type.clone());
    r.virtual_size = first.and_then(|i| i.virtual_size);
    let mut codes = BTreeSet::new();
    let mut errors = BTreeSet::new();
    let mut warnings = BTreeSet::new();
    for f in report.findings() {
        codes.insert(f.code.as_str().to_string());
        match f.code.rule().severity(Profile::Strict) {
            Severity::Error => errors.insert(f.code.as_str().to_string()),
            Severity::Warning => warnings.insert(f.code.as_str().to_string()),
            _ => false,
        };
    }
    r.codes = codes.into_iter().collect();
    r.errors = errors.into_iter().collect();
    r.warnings = warnings.into_iter().collect();
    if !r.errors.is_empty() {
        let detail = format!("invalid under strict: {}", r.errors.join(", "));
        return done(r, WriterOutcome::Invalid, detail);
    }
    if r.disk_type.as_deref() != Some(row.kind.as_str()) {
        let detail =
            format!("asked for {}, made {}", row.kind, r.disk_type.as_deref().unwrap_or("an image without a footer"));
        return done(r, WriterOutcome::WrongType, detail);
    }
    let want = row.expected_size();
    let got = r.virtual_size.unwrap_or(0);
    if got != want {
        let delta = i128::from(got) - i128::from(want);
        let detail = format!("current size {got} bytes for {} bytes asked ({delta:+})", row.size);
        return done(r, WriterOutcome::Resized, detail);
    }
    if got <= opts.content_limit {
        let digest = ChainReader::open(image, &check).and_then(|reader| reader.digest());
        match digest {
            Ok(d) if d == zeros_sha256(got) => {}
            Ok(_) => return done(r, WriterOutcome::WrongBytes, "the new disk does not read as all zeros".to_string()),
            Err(e) => return done(r, WriterOutcome::Failed, format!("the reference reader cannot read it: {e}")),
        }
    }
    let mut detail = format!("valid {} disk of {got} bytes", row.kind);
    if !r.warnings.is_empty() {
        detail.push_str(&format!("; warnings: {}", r.warnings.join(", ")));
    }
    done(r, WriterOutcome::Pass, detail)
}

/// Runs writer conformance: every row of `rows` with every writer.
///
/// # Errors
/// [`ConformError`] when a scratch directory cannot be made or a writer cannot be started.
pub fn run_writer(
    writers: &[WriterAdapter],
    rows: &[WriterRow],
    opts: &WriterOptions,
    expect: Option<&ExpectFile>,
    progress: &mut dyn FnMut(&str, &WriterResult),
) -> Result<WriterRun, ConformError> {
    let mut b = tempfile::Builder::new();
    b.prefix("vhd-conform-writer-");
    let scratch = match opts.scratch.as_deref() {
        Some(d) => b.tempdir_in(d),
        None => b.tempdir(),
    }
    .map_err(ConformError::Scratch)?;
    vhd_validator::cleanup::watch(scratch.path());
    let mut implementations = Vec::new();
    for (wi, w) in writers.iter().enumerate() {
        let mut results = Vec::new();
        let mut used = BTreeSet::new();
        for (ri, row) in rows.iter().enumerate() {
            let dir = scratch.path().join(format!("{wi}-{ri}"));
            std::fs::create_dir_all(&dir).map_err(ConformError::Scratch)?;
            let out = dir.join("disk.vhd");
            let argv = w.template.expand(&|p| match p {
                Placeholder::Size => vec![OsString::from(row.size.to_string())],
                Placeholder::Type => vec![OsString::from(row.kind.as_str())],
                Placeholder::Out => vec![out.as_os_str().to_owned()],
                Placeholder::Dir => vec![dir.as_os_str().to_owned()],
                _ => Vec::new(),
            });
            let inv = Invocation {
                argv,
                cwd: dir.clone(),
                env: vec![
                    ("VHD_SIZE".to_string(), OsString::from(row.size.to_string())),
                    ("VHD_TYPE".to_string(), OsString::from(row.kind.as_str())),
                    ("VHD_OUT".to_string(), out.as_os_str().to_owned()),
                    ("VHD_DIR".to_string(), dir.as_os_str().to_owned()),
                ],
                output: out.clone(),
                stdout_is_output: !w.template.uses(Placeholder::Out),
                messages: dir.join("messages.txt"),
                timeout: opts.timeout,
                hash_output: false,
            };
            let mut raw =
                exec::run(&inv).map_err(|source| ConformError::Exec { implementation: w.name.clone(), source })?;
            raw.strip_prefix_in_messages(&format!("{}/", dir.display()));
            let mut r = judge(row, &raw, &w.success_codes, &out, opts);
            let entry = expect.and_then(|e| e.lookup(&w.name, &r.id));
            if let Some((i, _)) = entry {
                used.insert(i);
            }
            let entry = entry.map(|(_, e)| e);
            r.status = Status::of(r.outcome != WriterOutcome::Pass, false, r.outcome.as_str(), entry);
            r.expect = entry.map(ExpectNote::of);
            let _ = std::fs::remove_dir_all(&dir);
            progress(&w.name, &r);
            results.push(r);
        }
        let summary = Summary::of(
            &WriterOutcome::ALL.map(WriterOutcome::as_str),
            results.iter().map(|r| (r.outcome.as_str(), r.status)),
        );
        implementations.push(WriterImplementationRun {
            name: w.name.clone(),
            version: w.version.clone(),
            command: w.template.as_str().to_string(),
            success_codes: w.success_codes.clone(),
            results,
            summary,
            unused_expectations: super::unused(expect, &w.name, &used),
        });
    }
    Ok(WriterRun {
        format_version: FORMAT_VERSION,
        kind: "writer",
        tool_version: env!("CARGO_PKG_VERSION"),
        timeout_ms: u64::try_from(opts.timeout.as_millis()).unwrap_or(u64::MAX),
        now_unix: opts.check.now_unix,
        expect_file: expect.map(|e| e.path.display().to_string()),
        implementations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_ids() {
        let t = table(&DiskKind::ALL, &[512, 1000]);
        let ids: Vec<String> = t.iter().map(WriterRow::id).collect();
        assert_eq!(ids, ["fixed/512", "fixed/1000", "dynamic/512", "dynamic/1000"]);
        assert_eq!(t[1].expected_size(), 1024);
        assert_eq!(t[0].expected_size(), 512);
        assert_eq!(DiskKind::parse("dynamic"), Some(DiskKind::Dynamic));
        assert_eq!(DiskKind::parse("differencing"), None);
    }

    #[test]
    fn zero_digest() {
        assert_eq!(
            vhd_validator::hex::encode(&zeros_sha256(0)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let direct: [u8; 32] = Sha256::digest(vec![0u8; 100_000]).into();
        assert_eq!(zeros_sha256(100_000), direct);
    }

    #[test]
    fn writer_templates_need_a_size() {
        assert!(WriterAdapter::from_template("w", "mk --size {size} --type {type} {out}").is_ok());
        assert!(matches!(WriterAdapter::from_template("w", "mk {out}"), Err(TemplateError::Missing(_))));
        assert!(WriterAdapter::from_template("w", "mk {image} {size}").is_err());
    }

    #[test]
    fn qemu_builtin_has_both_force_size_settings() {
        let d = tempfile::tempdir().unwrap();
        let ws = WriterAdapter::builtin(Builtin::QemuImg, d.path(), Duration::from_secs(5)).unwrap();
        let names: Vec<&str> = ws.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["qemu-img", "qemu-img-force-size"]);
        let argv = ws[1].template.expand(&|p| vec![OsString::from(p.name())]);
        assert_eq!(
            argv,
            ["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=type,force_size=on", "out", "size"]
        );
        assert!(WriterAdapter::builtin(Builtin::SevenZip, d.path(), Duration::from_secs(5)).is_none());
    }
}
