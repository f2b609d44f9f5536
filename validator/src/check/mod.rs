//! Image and chain validation: one module per rule family.
//!
//! [`Layout::parse`] (in [`crate::format::layout`]) reads the structures of one image tolerantly
//! (it never fails and never trusts a size field). The family modules then judge the layout and emit [`Finding`]s through [`Ctx`]. [`check_path`] adds
//! the differencing chain: parents are resolved and checked in turn, and chain rules relate
//! each child to its parent.

mod bat;
mod bitmap;
pub mod chain;
mod file;
mod footer;
mod footer_copy;
mod header;
mod locator;
#[cfg(test)]
pub(crate) mod testutil;

pub use crate::chain::{ParentSearch, ResolveOptions, DEFAULT_MAX_DEPTH, MAX_CHAIN_DEPTH};
pub use crate::format::layout::{FooterSource, Layout, Region};

use crate::finding::{self, Finding, Text};
use crate::format::DiskType;
use crate::io::{FileSource, ReadAt};
use crate::rules::{Code, Profile, Severity};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Default of [`CheckOptions::max_listed`]: findings one per-entry rule lists per image.
pub const DEFAULT_MAX_LISTED: u64 = 100;

/// What a check run is allowed to assume and do. The parent search fields (`parent_dirs`,
/// `parent_search`, `max_depth`) are the chain reader's [`ResolveOptions`]
/// (`ResolveOptions::from(&opts)`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Severity profile (findings are the same under every profile).
    pub profile: Profile,
    /// "Now" as Unix seconds for the time-stamp-in-the-future rules; `None` skips them
    /// (the library never reads the clock: callers pass it, so verdicts are reproducible).
    pub now_unix: Option<i64>,
    /// Extra directories searched for parents (by file name) after the locators; under
    /// [`ParentSearch::Confined`] also the only places besides the child's directory where a
    /// parent may lie.
    pub parent_dirs: Vec<PathBuf>,
    /// Where a parent may be opened from (default [`ParentSearch::Confined`]).
    pub parent_search: ParentSearch,
    /// Maximum chain length, child included (at least 1, at most [`MAX_CHAIN_DEPTH`]).
    pub max_depth: usize,
    /// Whether to read block data for the sector-bitmap rules (time linear in allocated data).
    pub read_block_data: bool,
    /// Most findings a per-entry or per-block rule (the `bat` and `bitmap` families,
    /// FILE-TRUNCATED) lists for one image; the rest are counted in one summary finding located
    /// at the BAT. At least 1 is used. Default [`DEFAULT_MAX_LISTED`]. The findings kept, and so
    /// the report's memory, are bounded by the number of rules times this, whatever the image.
    pub max_listed: u64,
}

impl CheckOptions {
    /// These options with `now_unix` as "now" (Unix seconds) for the time-stamp rules.
    #[must_use]
    pub fn with_now(mut self, now_unix: i64) -> CheckOptions {
        self.now_unix = Some(now_unix);
        self
    }

    /// These options under `profile`.
    #[must_use]
    pub fn with_profile(mut self, profile: Profile) -> CheckOptions {
        self.profile = profile;
        self
    }
}

impl From<&CheckOptions> for ResolveOptions {
    /// The parent resolution part of `opts` (`parent_dirs`, `parent_search`, `max_depth`).
    fn from(opts: &CheckOptions) -> ResolveOptions {
        ResolveOptions {
            parent_dirs: opts.parent_dirs.clone(),
            parent_search: opts.parent_search,
            max_depth: opts.max_depth,
        }
    }
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            profile: Profile::Strict,
            now_unix: None,
            parent_dirs: Vec::new(),
            parent_search: ParentSearch::Confined,
            max_depth: DEFAULT_MAX_DEPTH,
            read_block_data: true,
            max_listed: DEFAULT_MAX_LISTED,
        }
    }
}

/// Shared state of one image's check: the source, its layout, options and the findings so far.
pub struct Ctx<'a> {
    /// The image bytes.
    pub src: &'a dyn ReadAt,
    /// The parsed structures.
    pub layout: &'a Layout,
    /// Options of the run.
    pub opts: &'a CheckOptions,
    /// Findings so far (strict severities; the profile is applied at the end).
    pub findings: Vec<Finding>,
}

impl Ctx<'_> {
    /// Records a finding.
    pub fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// Records a finding built from its parts.
    pub fn report(&mut self, code: Code, offset: u64, length: u64, path: impl Into<Text>, message: impl Into<Text>) {
        self.findings.push(Finding::new(code, offset, length, path, message));
    }
}

/// Counts findings of one rule, lists the first [`CheckOptions::max_listed`] and summarises
/// the rest (the per-entry rules of the `bat` and `bitmap` families, FILE-TRUNCATED), so a
/// hostile image cannot flood the report.
pub(super) struct Capped {
    code: Code,
    count: u64,
    cap: u64,
}

impl Capped {
    /// A counter for `code` with the cap of `ctx`'s options.
    pub(super) fn new(ctx: &Ctx, code: Code) -> Capped {
        Capped { code, count: 0, cap: ctx.opts.max_listed.max(1) }
    }

    /// Records one occurrence; builds and pushes its finding only while under the cap.
    pub(super) fn add(&mut self, ctx: &mut Ctx, f: impl FnOnce(Code) -> Finding) {
        self.count += 1;
        if self.count <= self.cap {
            ctx.push(f(self.code));
        }
    }

    /// How many more findings may be listed.
    pub(super) fn room(&self) -> u64 {
        self.cap.saturating_sub(self.count)
    }

    /// Records `k` occurrences that are not listed.
    pub(super) fn skip(&mut self, k: u64) {
        self.count = self.count.saturating_add(k);
    }

    /// Pushes the summary finding, located at the BAT (the dynamic disk header's table offset,
    /// path `bat`), when some were left out.
    pub(super) fn finish(self, ctx: &mut Ctx, what: impl Into<Text>) {
        if self.count > self.cap {
            let (more, what) = (self.count - self.cap, what.into());
            let table_offset = ctx.layout.header.as_ref().map_or(0, |(_, h)| h.table_offset);
            ctx.report(
                self.code,
                table_offset,
                0,
                "bat",
                crate::lazy_text!(
                    "{count} {what} in all; {more} more not listed individually",
                    count = self.count,
                    what,
                    more
                ),
            );
        }
    }
}

/// The result of checking one image file on its own (chain rules included for a child).
#[derive(Clone, Debug, Serialize)]
pub struct ImageReport {
    /// File name as given or resolved.
    pub file: String,
    /// Disk type, when a footer could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_type: Option<String>,
    /// Virtual size in bytes (current size), when a footer could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<u64>,
    /// Findings in report order.
    pub findings: Vec<Finding>,
    /// The parsed structures (not serialized).
    #[serde(skip)]
    pub layout: Option<Layout>,
}

impl ImageReport {
    /// Highest severity among the findings.
    pub fn worst(&self) -> Option<Severity> {
        finding::worst(&self.findings)
    }
}

/// Checks one image's own structures (no parent resolution).
pub fn check_image(src: &dyn ReadAt, file: &str, opts: &CheckOptions) -> ImageReport {
    let layout = Layout::parse(src);
    let mut report = check_parsed(src, &layout, file, opts);
    report.layout = Some(layout);
    report
}

/// [`check_image`] with the structures already parsed (`layout` is `Layout::parse(src)`: the
/// chain walk parses each image once). The report's `layout` is left `None` for the caller to
/// attach, so that a large BAT is never copied.
pub(crate) fn check_parsed(src: &dyn ReadAt, layout: &Layout, file: &str, opts: &CheckOptions) -> ImageReport {
    let mut ctx = Ctx { src, layout, opts, findings: Vec::new() };
    file::check(&mut ctx);
    footer::check(&mut ctx);
    if layout.disk_type().is_some_and(DiskType::is_sparse) {
        footer_copy::check(&mut ctx);
        header::check(&mut ctx);
        bat::check(&mut ctx);
        bitmap::check(&mut ctx);
        locator::check(&mut ctx);
    }
    let mut findings = ctx.findings;
    let name = Text::shared(file);
    for f in &mut findings {
        f.file = name.clone();
    }
    finish(&mut findings, opts.profile);
    ImageReport {
        file: file.to_string(),
        disk_type: layout.disk_type().map(DiskType::name),
        virtual_size: layout.virtual_size(),
        findings,
        layout: None,
    }
}

/// Applies the profile's severities and sorts findings into report order.
pub fn finish(findings: &mut Vec<Finding>, profile: Profile) {
    for f in findings.iter_mut() {
        f.severity = f.code.rule().severity(profile);
    }
    finding::normalize(findings);
}

/// The result of checking an image and its differencing chain.
#[derive(Clone, Debug, Serialize)]
pub struct ChainReport {
    /// Child first, then each resolved ancestor.
    pub images: Vec<ImageReport>,
}

impl ChainReport {
    /// All findings of all images, child first.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.images.iter().flat_map(|i| i.findings.iter())
    }

    /// Highest severity among all findings.
    pub fn worst(&self) -> Option<Severity> {
        self.findings().map(|f| f.severity).max()
    }

    /// Whether no finding has error severity.
    pub fn passes(&self) -> bool {
        self.worst() < Some(Severity::Error)
    }
}

/// Errors that stop a check before any finding (the tool could not run).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The image could not be opened or read.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Checks the image at `path` and, for a differencing disk, its chain of parents.
///
/// # Errors
/// [`CheckError::Open`] when `path` itself cannot be opened; problems with parents are findings.
pub fn check_path(path: &Path, opts: &CheckOptions) -> Result<ChainReport, CheckError> {
    check_path_cached(path, opts, &mut chain::CheckCache::default())
}

/// [`check_path`] for one of many images checked with the same `opts`: images already checked
/// (a parent shared by many children) are taken from `cache` instead of being checked again.
///
/// # Errors
/// As [`check_path`].
pub fn check_path_cached(
    path: &Path,
    opts: &CheckOptions,
    cache: &mut chain::CheckCache,
) -> Result<ChainReport, CheckError> {
    let src = FileSource::open(path).map_err(|source| CheckError::Open { path: path.to_path_buf(), source })?;
    Ok(chain::check_chain_cached(path, src, opts, cache))
}

#[cfg(test)]
mod tests {
    use super::testutil;

    #[test]
    fn builders_make_clean_images() {
        assert_eq!(testutil::codes(&testutil::fixed(1 << 20, 0)), vec![]);
        let img = testutil::dynamic(4 << 20, 2 << 20, &[(1, 0xAB)]);
        assert_eq!(testutil::codes(&img), vec![]);
        let l = super::Layout::parse(&img);
        assert_eq!(l.bat.entries.len(), 2);
        assert_eq!(l.virtual_size(), Some(4 << 20));
    }
}

#[cfg(test)]
mod layout_tests {
    use super::testutil;
    use crate::format::layout::{FooterSource, Layout};

    #[test]
    fn fixed_disk_ending_511_modulo_512_keeps_its_full_footer() {
        // Current size 1023 bytes: the file is 1535 bytes, 511 modulo 512, yet the footer is the
        // full 512 bytes at EOF-512, not a legacy 511-byte one.
        let img = testutil::fixed(1023, 0x11);
        assert_eq!(img.len() % 512, 511);
        let l = Layout::parse(&img);
        assert!(!l.tail_short);
        assert!(matches!(l.footer, Some((FooterSource::Tail, _))));
        assert_eq!(l.virtual_size(), Some(1023));
    }

    #[test]
    fn legacy_short_footer_is_found() {
        let mut img = testutil::fixed(4096, 0);
        img.pop();
        let l = Layout::parse(&img);
        assert!(l.tail_short);
        assert!(matches!(l.footer, Some((FooterSource::TailShort, _))));
    }
}
