//! Image and chain validation: one module per rule family.
//!
//! [`Layout::parse`] reads the structures of one image tolerantly (it never fails and never
//! trusts a size field: everything it allocates is bounded by the file's length). The family
//! modules then judge the layout and emit [`Finding`]s through [`Ctx`]. [`check_path`] adds
//! the differencing chain: parents are resolved and checked in turn, and chain rules relate
//! each child to its parent.

mod bat;
mod bitmap;
pub mod chain;
mod file;
mod footer;
mod footer_copy;
mod header;
pub(crate) mod locator;
#[cfg(test)]
pub(crate) mod testutil;

use crate::finding::{self, Finding};
use crate::format::bat::padded_bat_bytes;
use crate::format::footer::{FOOTER_SIZE, SHORT_FOOTER_SIZE};
use crate::format::header::HEADER_SIZE;
use crate::format::{Bat, BlockGeometry, DiskType, DynamicDiskHeader, HardDiskFooter};
use crate::io::{FileSource, ReadAt};
use crate::rules::{Code, Profile, Severity};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Default limit on the number of images in a differencing chain (child included).
pub const DEFAULT_MAX_DEPTH: usize = 64;

/// Largest [`CheckOptions::max_depth`] honoured (1024 images, child included); a larger value
/// acts as this. The reader walks one stack frame per chain level, and 1024 levels (far beyond
/// any real chain: Hyper-V stops at about 50 checkpoints) stay far inside a thread's stack.
pub const MAX_CHAIN_DEPTH: usize = 1024;

/// Default of [`CheckOptions::max_listed`]: findings one per-entry rule lists per image.
pub const DEFAULT_MAX_LISTED: u64 = 100;

/// What a check run is allowed to assume and do.
#[derive(Clone, Debug)]
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

/// Which paths named by a differencing disk (its parent locators and parent unicode name) may
/// be opened as its parent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ParentSearch {
    /// Only files that, after every symbolic link is resolved, lie under the child's own
    /// directory or under one of [`CheckOptions::parent_dirs`]. A candidate outside is refused
    /// before anything at its path is opened or `stat`ed (CHAIN-PARENT-OUTSIDE-SEARCH). 7-Zip and
    /// libvhdi look for parents only in the child's directory, too.
    #[default]
    Confined,
    /// Any path an image names (for a trusted local chain), as Hyper-V and QEMU do.
    Anywhere,
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

/// Where the footer the image is read with came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FooterSource {
    /// The last 512 bytes.
    Tail,
    /// The last 511 bytes (pre-2004 Virtual PC).
    TailShort,
    /// The copy at offset 0 (the trailing footer is unusable).
    HeadCopy,
}

/// A byte range of the file occupied by one structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// First byte.
    pub start: u64,
    /// One past the last byte (saturating).
    pub end: u64,
    /// Structure path, e.g. `header`, `bat`, `header.parent_locator[1]`.
    pub what: String,
}

impl Region {
    /// `[start, start + len)`, saturating at `u64::MAX`.
    pub fn new(start: u64, len: u64, what: impl Into<String>) -> Region {
        Region { start, end: start.saturating_add(len), what: what.into() }
    }

    /// Whether two regions share a byte.
    pub fn overlaps(&self, other: &Region) -> bool {
        self.start < other.end && other.start < self.end && self.start < self.end && other.start < other.end
    }
}

/// The structures of one image, read tolerantly.
#[derive(Clone, Debug)]
pub struct Layout {
    /// File length in bytes.
    pub file_size: u64,
    /// The trailing footer as decoded (even if invalid), with its offset.
    pub tail: Option<(u64, HardDiskFooter)>,
    /// Whether `tail` was read from the last 511 bytes.
    pub tail_short: bool,
    /// Bytes 0..512 decoded, for dynamic and differencing disks (even if invalid).
    pub footer_copy: Option<HardDiskFooter>,
    /// The footer the image is interpreted with, and where it came from.
    pub footer: Option<(FooterSource, HardDiskFooter)>,
    /// The dynamic disk header and its offset, when the footer says sparse and it is in the file.
    pub header: Option<(u64, DynamicDiskHeader)>,
    /// Block geometry, when the header's block size is a non-zero multiple of 512.
    pub block: Option<BlockGeometry>,
    /// The BAT entries that lie inside the file (at most `max_table_entries`).
    pub bat: Bat,
}

fn read_array<const N: usize>(src: &dyn ReadAt, offset: u64) -> Option<[u8; N]> {
    let mut b = [0u8; N];
    src.read_exact_at(offset, &mut b).ok().map(|()| b)
}

/// Reads `len` bytes (a multiple of 4, bounded by the file) of BAT at `offset` and decodes
/// them in pieces of 64 KiB, so that only the entries are held, not the raw bytes as well.
/// `None` when any part cannot be read (as one `read_exact_at` of the whole would fail).
fn read_bat(src: &dyn ReadAt, offset: u64, len: usize) -> Option<Bat> {
    const PIECE: usize = 64 << 10;
    let mut entries = Vec::with_capacity(len / 4);
    let mut buf = vec![0u8; PIECE.min(len)];
    let mut done = 0usize;
    while done < len {
        let n = PIECE.min(len - done);
        let b = buf.get_mut(..n)?;
        src.read_exact_at(offset.checked_add(done as u64)?, b).ok()?;
        entries.extend(b.chunks_exact(4).map(|e| u32::from_be_bytes([e[0], e[1], e[2], e[3]])));
        done += n;
    }
    Some(Bat { entries })
}

fn footer_usable(f: &HardDiskFooter) -> bool {
    f.cookie_valid()
}

impl Layout {
    /// Reads the structures of `src`. Never fails; missing or unreadable structures are `None`.
    pub fn parse(src: &dyn ReadAt) -> Layout {
        let file_size = src.len();
        let mut layout = Layout {
            file_size,
            tail: None,
            tail_short: false,
            footer_copy: None,
            footer: None,
            header: None,
            block: None,
            bat: Bat::default(),
        };
        // Trailing footer: 512 bytes, or 511 when the file size is 511 modulo 512 and the last
        // 511 bytes hold a footer (a fixed disk whose current size is 511 modulo 512 also ends
        // that way, with a full footer).
        let mut short = None;
        if file_size % 512 == 511 {
            let off = file_size - SHORT_FOOTER_SIZE as u64;
            if let Some(b) = read_array::<SHORT_FOOTER_SIZE>(src, off) {
                short = Some((off, HardDiskFooter::decode_short(&b)));
            }
        }
        if short.as_ref().is_some_and(|(_, f)| f.cookie_valid()) {
            layout.tail = short;
            layout.tail_short = true;
        } else if file_size >= FOOTER_SIZE as u64 {
            let off = file_size - FOOTER_SIZE as u64;
            if let Some(b) = read_array::<FOOTER_SIZE>(src, off) {
                layout.tail = Some((off, HardDiskFooter::decode(&b)));
            }
        } else if short.is_some() {
            // A 511-byte file: judge its bytes as a short footer.
            layout.tail = short;
            layout.tail_short = true;
        }
        let copy = read_array::<FOOTER_SIZE>(src, 0).map(|b| HardDiskFooter::decode(&b));
        let tail_ok = layout.tail.as_ref().filter(|(_, f)| footer_usable(f)).map(|(_, f)| f.clone());
        layout.footer = match (tail_ok, &copy) {
            (Some(f), _) => {
                let src = if layout.tail_short { FooterSource::TailShort } else { FooterSource::Tail };
                Some((src, f))
            }
            (None, Some(c)) if footer_usable(c) && c.checksum_valid() && c.kind().is_sparse() => {
                Some((FooterSource::HeadCopy, c.clone()))
            }
            _ => None,
        };
        let Some((_, footer)) = &layout.footer else { return layout };
        if !footer.kind().is_sparse() {
            return layout;
        }
        layout.footer_copy = copy;
        let hoff = footer.data_offset;
        if let Some(b) = read_array::<HEADER_SIZE>(src, hoff) {
            let header = DynamicDiskHeader::decode(&b);
            layout.block = BlockGeometry::new(header.block_size);
            // Only the entries that lie inside the file are read: never trust max_table_entries,
            let want = padded_bat_bytes(header.max_table_entries).min(u64::from(header.max_table_entries) * 4);
            // ... and only up to the trailing footer: its bytes are never BAT entries.
            let avail = layout.footer_start().saturating_sub(header.table_offset);
            let len = want.min(avail) / 4 * 4;
            if let Ok(len) = usize::try_from(len) {
                layout.bat = read_bat(src, header.table_offset, len).unwrap_or_default();
            }
            layout.header = Some((hoff, header));
        }
        layout
    }

    /// The disk type of the interpreting footer.
    pub fn disk_type(&self) -> Option<DiskType> {
        self.footer.as_ref().map(|(_, f)| f.kind())
    }

    /// The interpreting footer.
    pub fn footer(&self) -> Option<&HardDiskFooter> {
        self.footer.as_ref().map(|(_, f)| f)
    }

    /// Virtual disk size in bytes (the footer's current size).
    pub fn virtual_size(&self) -> Option<u64> {
        self.footer().map(|f| f.current_size)
    }

    /// Byte offset where the trailing footer starts (file size less 512 or 511).
    pub fn footer_start(&self) -> u64 {
        match &self.tail {
            Some((off, _)) => *off,
            None => self.file_size.saturating_sub(FOOTER_SIZE as u64),
        }
    }

    /// Metadata regions of a sparse image: footer copy, header, BAT (padded), used parent
    /// locator data (spans per [`crate::format::ParentLocatorEntry::effective_span`]) and the
    /// trailing footer. Blocks must not overlap any of them.
    pub fn metadata_regions(&self) -> Vec<Region> {
        let mut r = vec![Region::new(0, FOOTER_SIZE as u64, "footer_copy")];
        if let Some((hoff, h)) = &self.header {
            r.push(Region::new(*hoff, HEADER_SIZE as u64, "header"));
            r.push(Region::new(h.table_offset, padded_bat_bytes(h.max_table_entries), "bat"));
            if self.disk_type() == Some(DiskType::Differencing) {
                for (i, loc) in h.parent_locators.iter().enumerate() {
                    if loc.platform_code != 0 {
                        r.push(Region::new(
                            loc.platform_data_offset,
                            loc.effective_span(),
                            format!("header.parent_locator[{i}]"),
                        ));
                    }
                }
            }
        }
        let fs = self.footer_start();
        r.push(Region::new(fs, self.file_size - fs.min(self.file_size), "footer"));
        r
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
    pub fn report(
        &mut self,
        code: Code,
        offset: u64,
        length: u64,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
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
    pub(super) fn finish(self, ctx: &mut Ctx, what: &str) {
        if self.count > self.cap {
            let more = self.count - self.cap;
            let table_offset = ctx.layout.header.as_ref().map_or(0, |(_, h)| h.table_offset);
            ctx.report(
                self.code,
                table_offset,
                0,
                "bat",
                format!("{} {what} in all; {more} more not listed individually", self.count),
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
    for f in &mut findings {
        f.file = file.to_string();
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
    use super::{testutil, FooterSource, Layout};

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
