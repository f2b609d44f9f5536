//! Bodies of the fuzz targets: oracles over the checker ([`vhd_validator::check`]) and the reference
//! chain reader ([`vhd_validator::chain`]) that must hold for **any** input.
//!
//! The cargo-fuzz targets in `fuzz/fuzz_targets/` and the stable replay test
//! `fuzz/harness/tests/fuzz_replay.rs` call these functions, so a crash the fuzzer finds replays
//! under `cargo test`. Each body takes arbitrary bytes and returns normally, however hostile the
//! bytes; it panics **only** when an oracle is violated (or when the code under test panics):
//!
//! 1. **No panic** in [`Layout::parse`], [`check_image`], parent-locator decoding and candidate
//!    paths ([`vhd_validator::chain::resolve`]), [`ChainReader::from_sources`], `read_at`, `extents`
//!    and `digest`.
//! 2. **Same verdict whatever the read size**: the findings are identical when the source
//!    returns reads of at most `chunk` bytes ([`ChunkLimited`]) and when it returns whole reads;
//!    the same run also checks that a profile changes severities only, never which findings are
//!    reported.
//! 3. **Well-formed findings**: non-empty message and structure path, the file name given, and
//!    the catalogue's severity for the profile.
//! 4. **Same bytes whatever the read size**: the reader refuses or accepts both sources alike
//!    (same error text), with the same size, depth and extents (over the input's
//!    [`extent_window`], the first 256 virtual bytes per input byte); the virtual disk's content
//!    ([`content_hash`]) read with two different read sizes is identical, and so is
//!    [`ChainReader::digest`] with two chunk sizes for disks of at most [`DIGEST_CAP`] bytes (and
//!    the input's [`work_budget`]).
//!    Extents are sorted, disjoint and inside the disk, and the sectors around each gap between
//!    them read as zero (the reader documents that every byte outside the extents is zero).
//! 5. **Verdict agrees with the reader**: an image (or chain) that the reader refuses has at
//!    least one finding of error severity, unless the refusal is only that a differencing disk
//!    was given without its parent.
//!
//! 6. **An independent model agrees**: when [`reference_disk`] (a deliberately simple,
//!    sector-by-sector model of the read path that shares no code with the reader) gives the
//!    chain a meaning and the reader accepts it, the model's bytes equal the reader's
//!    `read_at` over the whole disk, [`ChainReader::digest`], and what
//!    [`ChainReader::write_raw`] (the `cat` command) writes to a regular file and to a pipe;
//!    for disks of at most the input's [`work_budget`] (and [`DIGEST_CAP`]).
//! 7. **A patch that changes the meaning is detected** ([`mutate_corpus`] only): when the
//!    original chain has no error finding and every patch stayed inside a trailing footer, a
//!    footer copy of a sparse disk or a dynamic disk header, a patched chain whose meaning
//!    (readable or not, size, depth, content) differs from the original's has a finding
//!    (image, rule code, structure path) the original did not have. The exhaustive single-bit
//!    sweep (`fuzz/harness/tests/mutation_sweep.rs`) measures the same property.
//!
//! Work per input is bounded and grows with the input ([`work_budget`]): content passes read at
//! most 4 virtual bytes per input byte, between [`MIN_BUDGET`] and [`READ_BUDGET`] (the reader
//! can give a 64 KiB file a 2 TiB disk whose every block maps onto the same sectors),
//! and at most [`MAX_PATCHES`] patches are applied per [`mutate_corpus`] input.
//!
//! Check runs use the strict profile (and compat for the comparison) with "now" fixed at
//! [`FUZZ_NOW_UNIX`], so a verdict never depends on the clock.

mod chains;
mod reference;

pub use chains::{chain_files, check_chain};
pub use reference::reference_disk;

use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::io::{Read as _, Seek as _};
use std::path::{Path, PathBuf};
use vhd_testkit::layout::{self, Block, Locator};
use vhd_validator::chain::reader::ReadError;
use vhd_validator::chain::resolve::{candidates, locator_paths, walk_chain};
use vhd_validator::chain::{ChainReader, ResolveOptions};
use vhd_validator::check::{check_image, CheckOptions, ImageReport, Layout};
use vhd_validator::format::footer::{FOOTER_SIZE, MAX_CURRENT_SIZE};
use vhd_validator::format::header::{Field as HeaderField, HEADER_SIZE};
use vhd_validator::format::locator::{encode_macx, encode_utf16le};
use vhd_validator::format::{DiskType, DynamicDiskHeader, HardDiskFooter, PlatformCode, SECTOR_SIZE, UNALLOCATED};
use vhd_validator::io::{ChunkLimited, FileSource, ReadAt};
use vhd_validator::rules::{Profile, Severity};

/// Wall-clock time one input may take when the stable replay tests run it (20 s in a debug
/// build, 10 s optimised): an input over it fails its replay as a timeout, as it would fail a
/// fuzzing run (`-timeout` in the targets' `.options`). A generous bound, not a benchmark.
pub const REPLAY_BUDGET: std::time::Duration =
    std::time::Duration::from_secs(if cfg!(debug_assertions) { 20 } else { 10 });

/// Runs `f` on a new thread and waits for it at most `budget`: `Some` of its result, `None`
/// when it is still running then (the thread is left to finish on its own).
pub fn within_budget<T: Send + 'static>(
    budget: std::time::Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(budget).ok()
}

/// "Now" of every check run by the bodies (2027-01-15T08:00:00Z, Unix seconds).
pub const FUZZ_NOW_UNIX: i64 = 1_800_000_000;

/// Virtual bytes one content pass reads at most (2 MiB). A disk whose extents hold more is
/// hashed over the first 2 MiB of its extents only ([`ContentHash::complete`] is then false).
pub const READ_BUDGET: u64 = 2 << 20;

/// Largest virtual disk, in bytes (1 MiB), whose whole-disk [`ChainReader::digest`] is computed
/// (twice, with two chunk sizes) by the oracles.
pub const DIGEST_CAP: u64 = 1 << 20;

/// Virtual bytes per input byte (256) over which the oracles list extents
/// ([`ChainReader::extents_before`]): see [`extent_window`].
const WINDOW_PER_BYTE: u64 = 256;

/// The first bytes of the virtual disk whose extents the oracles compare, read and probe: 256
/// per input byte, at least 1 MiB. A 4 KiB input can describe a 2040 GiB disk with a thousand
/// 256 MiB blocks that all map onto the same random sector bitmap, whose full extent list is
/// millions long; within the window the list, and the work, stay proportional to the input.
pub fn extent_window(input_len: usize) -> u64 {
    u64::try_from(input_len).unwrap_or(u64::MAX).saturating_mul(WINDOW_PER_BYTE).max(1 << 20)
}

/// Smallest content budget of one input, in bytes (8 KiB): see [`work_budget`].
pub const MIN_BUDGET: u64 = 8 << 10;

/// Virtual bytes the content oracles of one input may read or hash: 4 bytes per input byte,
/// at least [`MIN_BUDGET`] and at most [`READ_BUDGET`]. A small input keeps the fuzzer fast
/// (the project's target is 10k executions per second on small inputs); a large one still gets
/// the full budget. A content pass reads at most this many bytes, and the whole-disk digest is
/// compared for disks of at most this size (and [`DIGEST_CAP`]).
pub fn work_budget(input_len: usize) -> u64 {
    u64::try_from(input_len).unwrap_or(u64::MAX).saturating_mul(4).clamp(MIN_BUDGET, READ_BUDGET)
}

/// Inputs larger than this (64 KiB in all) are read in chunks of at least [`BIG_INPUT_CHUNK`]
/// bytes by the comparison runs, so that a megabyte image is not read byte by byte.
const BIG_INPUT: usize = 64 << 10;

/// Smallest source read size, in bytes, for inputs above [`BIG_INPUT`].
const BIG_INPUT_CHUNK: usize = 509;

/// Most patches [`mutate_corpus`] applies per input.
pub const MAX_PATCHES: usize = 64;

/// Gaps between extents whose edge sectors are read to confirm they are zero.
const GAP_SAMPLES: usize = 64;

/// Largest image [`load_seed_corpus`] loads, in bytes (16 MiB); larger files are skipped.
const MAX_CORPUS_FILE: u64 = 16 << 20;

/// Read sizes ([`ChunkLimited`] chunks and content-pass reads) an input picks from, in bytes.
const CHUNKS: [usize; 8] = [1, 7, 509, 512, 4096, 65_537, 1 << 20, 3 << 20];

/// Read sizes of a content pass, in bytes (at least a few hundred bytes, so a pass stays fast).
const READ_SIZES: [usize; 6] = [509, 512, 1000, 4096, 65_536, 1 << 20];

/// The first image of a chain and its ancestors, child first, as loaded by
/// [`load_seed_corpus`].
#[derive(Clone, Debug)]
pub struct CorpusChain {
    /// The child's file name (e.g. `enc-diff-child.vhd`).
    pub name: String,
    /// The image bytes, child first; each `levels[i + 1]` is the parent of `levels[i]`.
    pub levels: Vec<Vec<u8>>,
}

/// What the content of a virtual disk hashes to, as read by [`content_hash`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentHash {
    /// SHA-256 over, for each sector of the extents that is not all zero, in increasing order:
    /// the sector number (u64, little-endian) and the sector's bytes (the last sector of a disk
    /// whose size is not a multiple of 512 contributes only the bytes inside the disk). Two
    /// virtual disks of the same size with the same bytes have the same hash, whatever their
    /// type, layout or extents.
    pub sha256: [u8; 32],
    /// Virtual bytes read, in bytes.
    pub bytes_read: u64,
    /// Whether every extent was read (false when [`content_hash`]'s budget ran out).
    pub complete: bool,
}

/// Hashes the content of `reader`'s virtual disk (see [`ContentHash`]): the sectors that
/// overlap its [`ChainReader::extents`], read with `read_at` calls of at most `read_size` bytes,
/// stopping after `budget` bytes (rounded down to a sector; at least one sector).
///
/// Bytes outside the extents read as zero by the reader's contract, so they are not read; the
/// result does not depend on `read_size`.
///
/// # Errors
/// [`ReadError`] from [`ChainReader::read_at`].
pub fn content_hash(reader: &ChainReader, read_size: usize, budget: u64) -> Result<ContentHash, ReadError> {
    content_hash_in(reader, &reader.extents(), read_size, budget)
}

/// [`content_hash`] over extents the caller already has (`reader.extents()`).
fn content_hash_in(
    reader: &ChainReader,
    extents: &[vhd_validator::chain::Extent],
    read_size: usize,
    budget: u64,
) -> Result<ContentHash, ReadError> {
    let size = reader.size();
    let budget = (budget / SECTOR_SIZE).max(1) * SECTOR_SIZE;
    // Never more than the budget: a pass reads no more than that.
    let cap = usize::try_from(budget).unwrap_or(usize::MAX).clamp(512, 8 << 20);
    let mut buf = vec![0u8; read_size.clamp(1, cap)];
    let mut acc = SectorHasher::default();
    let mut read = 0u64;
    let mut done_until = 0u64;
    for e in extents {
        let start = (e.offset / SECTOR_SIZE * SECTOR_SIZE).max(done_until);
        let end = e.end().div_ceil(SECTOR_SIZE).saturating_mul(SECTOR_SIZE).min(size);
        let mut pos = start;
        while pos < end {
            let room = budget - read;
            if room == 0 {
                return Ok(ContentHash { sha256: acc.finish(), bytes_read: read, complete: false });
            }
            let n = usize::try_from((end - pos).min(room)).map_or(buf.len(), |n| n.min(buf.len()));
            let piece = &mut buf[..n];
            reader.read_at(pos, piece)?;
            acc.feed(pos, piece);
            pos += n as u64;
            read += n as u64;
        }
        done_until = done_until.max(end);
    }
    Ok(ContentHash { sha256: acc.finish(), bytes_read: read, complete: true })
}

/// Accumulates virtual bytes, fed in increasing order, into per-sector hash records.
///
/// Allocation-free and without a comparison per byte (an OR-fold decides whether a sector is
/// all zero), so a content pass costs little more than its reads, even in an instrumented
/// fuzzing build.
struct SectorHasher {
    hasher: Sha256,
    /// The number of the sector being filled (when `fill > 0`).
    sector: u64,
    /// The bytes of that sector so far: `buf[..fill]`.
    buf: [u8; 512],
    fill: usize,
}

impl Default for SectorHasher {
    fn default() -> Self {
        SectorHasher { hasher: Sha256::new(), sector: 0, buf: [0; 512], fill: 0 }
    }
}

impl SectorHasher {
    /// Adds `bytes` read at virtual byte `pos`.
    fn feed(&mut self, mut pos: u64, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let sector = pos / SECTOR_SIZE;
            if self.fill > 0 && self.sector != sector {
                self.flush();
            }
            self.sector = sector;
            let in_sector = usize::try_from(pos % SECTOR_SIZE).unwrap_or(0);
            let n = (512 - in_sector).min(bytes.len()).min(512 - self.fill);
            let (head, rest) = bytes.split_at(n);
            if let Some(dst) = self.buf.get_mut(self.fill..self.fill + n) {
                dst.copy_from_slice(head);
            }
            self.fill += n;
            bytes = rest;
            pos = pos.saturating_add(n as u64);
        }
    }

    fn flush(&mut self) {
        let bytes = self.buf.get(..self.fill).unwrap_or(&[]);
        if !all_zero(bytes) {
            self.hasher.update(self.sector.to_le_bytes());
            self.hasher.update(bytes);
        }
        self.fill = 0;
    }

    fn finish(mut self) -> [u8; 32] {
        self.flush();
        self.hasher.finalize().into()
    }
}

/// Whether every byte of `b` is zero: an OR-fold (one comparison in all, which matters under
/// the fuzzer's per-comparison instrumentation).
fn all_zero(b: &[u8]) -> bool {
    b.iter().fold(0u8, |acc, &x| acc | x) == 0
}

/// [`CheckOptions::max_listed`] of the bodies (8): the capped rules still list, count and
/// summarise, but a hostile input's hundreds of per-entry findings are not all formatted twice
/// per execution (they were most of the time of an execution on the evolved corpus).
pub const FUZZ_MAX_LISTED: u64 = 8;

/// Check options of the bodies: `profile`, "now" = [`FUZZ_NOW_UNIX`], block data read, at most
/// [`FUZZ_MAX_LISTED`] findings listed per capped rule.
pub fn fuzz_options(profile: Profile) -> CheckOptions {
    let mut opts = CheckOptions::default().with_profile(profile).with_now(FUZZ_NOW_UNIX);
    opts.max_listed = FUZZ_MAX_LISTED;
    opts
}

/// A cursor over fuzz input (integers big-endian): each read takes bytes from the front, and
/// reads zeros once the input is used up (so every input, even an empty one, decodes).
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// Up to `n` bytes (fewer at the end of the input).
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// A borrowed byte slice as a [`ReadAt`] source (`[u8]` itself is unsized, so it cannot be
/// passed as `&dyn ReadAt`).
#[derive(Clone, Copy, Debug)]
pub struct SliceSource<'a>(pub &'a [u8]);

impl ReadAt for SliceSource<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read_at(offset, buf)
    }
}

fn pick<T: Copy>(table: &[T], selector: u8) -> T {
    table[usize::from(selector) % table.len()]
}

/// Fuzz target `validate_image`: `data` is one image file. Checks it (oracles 1–3), reads its
/// virtual disk (oracle 4) and relates the two (oracle 5); for a differencing disk, also decodes
/// its parent locators and builds its candidate parent paths (no file is opened).
///
/// # Panics
/// Only when an oracle of the module documentation is violated.
pub fn validate_image(data: &[u8]) {
    let sel = data.len() ^ usize::from(data.first().copied().unwrap_or(0));
    let chunk = CHUNKS[sel % CHUNKS.len()];
    let read_size = READ_SIZES[(sel / CHUNKS.len()) % READ_SIZES.len()];
    exercise(&[data], chunk, read_size);
    let layout = Layout::parse(&SliceSource(data));
    if let (Some(DiskType::Differencing), Some((_, header))) = (layout.disk_type(), &layout.header) {
        exercise_resolution(data, header);
    }
}

/// Fuzz target `validate_chain`: `data` is `split` (u32, big-endian), `chunk` (u8), `read`
/// (u8), then the child's bytes followed by the parent's; the child is the first
/// `split % (rest + 1)` bytes. Checks both images, reads the chain child-over-parent (the
/// parent is taken as the child's parent without resolution: oracles 1–5), and, when the child
/// is not a differencing disk, requires the reader to give the child alone the same meaning.
///
/// [`chain_input`] builds such an input.
///
/// # Panics
/// Only when an oracle of the module documentation is violated.
pub fn validate_chain(data: &[u8]) {
    let mut input = Input(data);
    let split = input.u32();
    let chunk = pick(&CHUNKS, input.u8());
    let read_size = pick(&READ_SIZES, input.u8());
    let rest = input.rest();
    let at = usize::try_from(split).map_or(rest.len(), |s| s % (rest.len() + 1));
    let (child, parent) = rest.split_at(at);
    exercise(&[child, parent], chunk, read_size);
    if Layout::parse(&SliceSource(child)).disk_type() != Some(DiskType::Differencing) {
        let (budget, window) = (work_budget(rest.len()), extent_window(rest.len()));
        let both = meaning(&[child, parent], read_size, budget, window);
        let alone = meaning(&[child], read_size, budget, window);
        assert_eq!(both, alone, "a parent given to a non-differencing child changed what the child means");
    }
}

/// The input of [`validate_chain`] for `child` over `parent` (whole reads, 512-byte content
/// reads): the seed format of `fuzz/corpus/validate_chain/`.
pub fn chain_input(child: &[u8], parent: &[u8]) -> Vec<u8> {
    let split = u32::try_from(child.len()).unwrap_or(u32::MAX);
    let mut v = Vec::with_capacity(6 + child.len() + parent.len());
    v.extend_from_slice(&split.to_be_bytes());
    // Selectors: CHUNKS[6] (1 MiB reads) and READ_SIZES[1] (512 bytes).
    v.push(6);
    v.push(1);
    v.extend_from_slice(child);
    v.extend_from_slice(parent);
    v
}

/// Fuzz target `mutate_corpus`: a chain of `corpus` (selected by the first two bytes, big-endian,
/// modulo its length) with byte patches applied, then oracles 1–5 with read sizes picked by the
/// next two bytes. The rest of `data` is a sequence of at most [`MAX_PATCHES`] patches, each an
/// operation byte, a level byte (which image of the chain), an anchor byte and a 16-bit offset
/// from the anchor (anchors: 0 start of file, 1 trailing footer, 2 dynamic disk header, 3 parent
/// locator entries, 4 BAT, 5 first used parent locator payload, 6 first allocated block, 7 a
/// 32-bit offset from the start), then operands:
///
/// | op % 8 | patch |
/// |---|---|
/// | 0 | flip bit (operand byte % 8) |
/// | 1 | write 1–16 bytes (count byte, then the bytes) |
/// | 2 | write a big-endian u32 from a table of boundary values (index byte) |
/// | 3 | write a big-endian u64 from a table of boundary values (index byte) |
/// | 4 | truncate or extend the file to the patch offset (never beyond its length + 64 KiB) |
/// | 5 | reseal: recompute the checksums of the trailing footer, the footer copy and the header |
/// | 6 | copy the trailing footer over the copy at 0 (odd operand: the copy over the footer) |
/// | 7 | fill 0–4095 bytes (u16) with one byte value |
///
/// An offset past the end of the file wraps modulo its length.
///
/// # Panics
/// Only when an oracle of the module documentation is violated; or when `corpus` is empty.
pub fn mutate_corpus(corpus: &[CorpusChain], data: &[u8]) {
    assert!(!corpus.is_empty(), "mutate_corpus needs at least one corpus chain");
    let mut input = Input(data);
    let chain = &corpus[usize::from(input.u16()) % corpus.len()];
    let chunk = pick(&CHUNKS, input.u8());
    let read_size = pick(&READ_SIZES, input.u8());
    let anchors: Vec<Anchors> = chain.levels.iter().map(|l| Anchors::of(l)).collect();
    let mut levels = chain.levels.clone();
    let mut patches = 0;
    // Whether every patch so far stayed inside the metadata of oracle 7.
    let mut in_metadata = true;
    while !input.is_empty() && patches < MAX_PATCHES && !levels.is_empty() {
        patches += 1;
        let op = input.u8() % 8;
        let level = usize::from(input.u8()) % levels.len();
        let (Some(img), Some(anchors)) = (levels.get_mut(level), anchors.get(level)) else { break };
        let offset = anchors.offset(&mut input, img.len(), op == 4);
        let touched = apply_patch(img, op, offset, &mut input);
        in_metadata &= touched.is_some_and(|t| t.iter().all(|&(at, n)| anchors.in_metadata(at, n)));
    }
    let views: Vec<&[u8]> = levels.iter().map(Vec::as_slice).collect();
    let reports = exercise(&views, chunk, read_size);
    if in_metadata && patches > 0 {
        detected(chain, &views, &reports);
    }
}

/// What oracle 7 compares: the findings (image, rule code, structure path) of a chain and its
/// meaning (see [`meaning`]), computed with fixed budgets.
struct Verdict {
    findings: BTreeSet<(usize, String, vhd_validator::Text)>,
    meaning: Option<(u64, usize, ContentHash)>,
    errors: bool,
}

impl Verdict {
    fn of(levels: &[&[u8]], reports: &[ImageReport]) -> Verdict {
        let findings = reports
            .iter()
            .enumerate()
            .flat_map(|(i, r)| r.findings.iter().map(move |f| (i, f.code.as_str().to_string(), f.path.clone())))
            .collect();
        let errors = reports.iter().any(|r| r.findings.iter().any(|f| f.severity == Severity::Error));
        Verdict { findings, meaning: meaning(levels, 4096, READ_BUDGET, 1 << 20), errors }
    }
}

/// Oracle 7 (see the module documentation) for `levels`, patched from `chain` with `reports`.
fn detected(chain: &CorpusChain, levels: &[&[u8]], reports: &[ImageReport]) {
    thread_local! {
        /// The originals' verdicts, by chain name and total length.
        static ORIGINALS: std::cell::RefCell<HashMap<(String, usize), std::rc::Rc<Verdict>>> =
            std::cell::RefCell::new(HashMap::new());
    }
    let key = (chain.name.clone(), chain.levels.iter().map(Vec::len).sum::<usize>());
    let original = ORIGINALS.with(|m| {
        m.borrow_mut()
            .entry(key)
            .or_insert_with(|| {
                let views: Vec<&[u8]> = chain.levels.iter().map(Vec::as_slice).collect();
                let reports: Vec<ImageReport> = views
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        check_image(&SliceSource(l), &format!("level{i}.vhd"), &fuzz_options(Profile::Strict))
                    })
                    .collect();
                std::rc::Rc::new(Verdict::of(&views, &reports))
            })
            .clone()
    });
    if original.errors {
        return;
    }
    let patched = Verdict::of(levels, reports);
    if patched.meaning != original.meaning && patched.findings.is_subset(&original.findings) {
        panic!(
            "patches changed what {} means ({} -> {}) but added no finding:\n{}",
            chain.name,
            describe_meaning(&original.meaning),
            describe_meaning(&patched.meaning),
            reports
                .iter()
                .flat_map(|r| r.findings.iter().map(|f| format!("  {}: {f}", r.file)))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

fn describe_meaning(m: &Option<(u64, usize, ContentHash)>) -> String {
    match m {
        None => "unreadable".into(),
        Some((size, depth, h)) => {
            format!("{size} bytes, {depth} level(s), content {}", vhd_validator::hex::encode(&h.sha256[..6]))
        }
    }
}

/// File offsets of the structures of an unpatched image that patches are placed relative to.
struct Anchors {
    points: [u64; 7],
    /// Byte ranges `[start, end)` of the trailing footer, the footer copy (sparse disks) and the
    /// dynamic disk header: the metadata of oracle 7.
    metadata: Vec<(u64, u64)>,
}

impl Anchors {
    fn of(img: &[u8]) -> Anchors {
        let layout = Layout::parse(&SliceSource(img));
        let len = img.len() as u64;
        let inside = |o: u64| if o < len { o } else { 0 };
        let header = layout.header.as_ref().map(|(o, _)| *o);
        let h = layout.header.as_ref().map(|(_, h)| h);
        let locator = h
            .and_then(|h| h.parent_locators.iter().find(|l| l.platform_code != 0))
            .map_or(0, |l| l.platform_data_offset);
        let block = layout
            .bat
            .entries
            .iter()
            .find(|&&e| e != UNALLOCATED)
            .map_or(0, |&e| u64::from(e).saturating_mul(SECTOR_SIZE));
        let mut metadata = vec![(layout.footer_start(), len)];
        if let Some(o) = header {
            metadata.push((0, FOOTER_SIZE as u64));
            metadata.push((o, o.saturating_add(HEADER_SIZE as u64)));
        }
        Anchors {
            metadata,
            points: [
                0,
                layout.footer_start(),
                inside(header.unwrap_or(0)),
                inside(header.map_or(0, |o| HeaderField::ParentLocator.at(o))),
                inside(h.map_or(0, |h| h.table_offset)),
                inside(locator),
                inside(block),
            ],
        }
    }

    /// Whether `[at, at + n)` lies inside one of the metadata ranges.
    fn in_metadata(&self, at: usize, n: usize) -> bool {
        let (at, n) = (at as u64, n as u64);
        self.metadata.iter().any(|&(s, e)| s <= at && at.saturating_add(n) <= e)
    }

    /// Reads an anchor and a displacement from `input`: the patch offset, wrapped into
    /// `0..len` (`0..=len + 64 KiB` for a resize).
    fn offset(&self, input: &mut Input, len: usize, resize: bool) -> u64 {
        let a = input.u8() % 8;
        let base = match self.points.get(usize::from(a)) {
            Some(&p) => p.saturating_add(u64::from(input.u16())),
            None => u64::from(input.u32()),
        };
        let len = len as u64;
        if resize {
            return base.min(len.saturating_add(1 << 16));
        }
        if len == 0 {
            0
        } else {
            base % len
        }
    }
}

/// Boundary values of 32-bit fields (BAT entries, sizes, counts, codes).
const U32_VALUES: [u32; 16] = [
    0,
    1,
    2,
    3,
    4,
    0x200,
    0x1000,
    0x20_0000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
    0x0001_0000,
    0x5732_6B75, // "W2ku"
    0x5732_7275, // "W2ru"
    0x4D61_6358, // "MacX"
];

/// Boundary values of 64-bit fields (data offsets, table offset, sizes).
const U64_VALUES: [u64; 12] = [
    0,
    1,
    512,
    1536,
    0x7FFF_FFFF_FFFF_FFFF,
    0x8000_0000_0000_0000,
    u64::MAX,
    u64::MAX - 511,
    1 << 32,
    1 << 40,
    MAX_CURRENT_SIZE,
    MAX_CURRENT_SIZE + 512,
];

/// Applies patch `op` at `offset` of `img` (see [`mutate_corpus`]); out-of-range bytes are
/// dropped. Returns the byte ranges `(start, length)` it may have changed, or `None` when it
/// resized the file or filled a run (oracle 7 then does not apply).
fn apply_patch(img: &mut Vec<u8>, op: u8, offset: u64, input: &mut Input) -> Option<Vec<(usize, usize)>> {
    let at = usize::try_from(offset).unwrap_or(usize::MAX);
    let write = |img: &mut Vec<u8>, bytes: &[u8]| {
        for (i, &b) in bytes.iter().enumerate() {
            if let Some(slot) = at.checked_add(i).and_then(|j| img.get_mut(j)) {
                *slot = b;
            }
        }
    };
    let tail = img.len().saturating_sub(FOOTER_SIZE);
    match op {
        0 => {
            let bit = input.u8() % 8;
            if let Some(b) = img.get_mut(at) {
                *b ^= 0x80 >> bit;
            }
            Some(vec![(at, 1)])
        }
        1 => {
            let n = usize::from(input.u8() % 16) + 1;
            let bytes = input.take(n).to_vec();
            write(img, &bytes);
            Some(vec![(at, bytes.len())])
        }
        2 => {
            let v = pick(&U32_VALUES, input.u8());
            write(img, &v.to_be_bytes());
            Some(vec![(at, 4)])
        }
        3 => {
            let v = pick(&U64_VALUES, input.u8());
            write(img, &v.to_be_bytes());
            Some(vec![(at, 8)])
        }
        4 => {
            img.resize(at, 0);
            None
        }
        5 => {
            let header = reseal(img);
            Some([(tail, FOOTER_SIZE), (0, FOOTER_SIZE)].into_iter().chain(header.map(|h| (h, HEADER_SIZE))).collect())
        }
        6 => {
            let copy_to_tail = input.u8() % 2 == 1;
            if img.len() >= 2 * FOOTER_SIZE {
                if copy_to_tail {
                    img.copy_within(..FOOTER_SIZE, tail);
                } else {
                    img.copy_within(tail.., 0);
                }
            }
            Some(vec![if copy_to_tail { (tail, FOOTER_SIZE) } else { (0, FOOTER_SIZE) }])
        }
        _ => {
            let n = usize::from(input.u16() % 4096);
            let byte = input.u8();
            write(img, &vec![byte; n]);
            None
        }
    }
}

/// Recomputes the checksums of the trailing footer, of the copy at offset 0 and of the dynamic
/// disk header the trailing footer points at (each where it lies wholly in `img`).
/// Returns the header's offset when it resealed one.
fn reseal(img: &mut [u8]) -> Option<usize> {
    let tail = img.len().checked_sub(FOOTER_SIZE)?;
    let header_at = seal_footer(img, tail);
    if tail >= FOOTER_SIZE {
        seal_footer(img, 0);
    }
    let h = header_at.and_then(|o| usize::try_from(o).ok())?;
    let raw = img.get(h..h.saturating_add(HEADER_SIZE))?;
    let raw = <[u8; HEADER_SIZE]>::try_from(raw).ok()?;
    let mut header = DynamicDiskHeader::decode(&raw);
    header.seal();
    img.get_mut(h..h + HEADER_SIZE)?.copy_from_slice(&header.encode());
    Some(h)
}

/// Recomputes the checksum of the footer at byte `at` of `img`; returns its data offset.
fn seal_footer(img: &mut [u8], at: usize) -> Option<u64> {
    let raw = img.get(at..at.saturating_add(FOOTER_SIZE))?;
    let raw = <[u8; FOOTER_SIZE]>::try_from(raw).ok()?;
    let mut f = HardDiskFooter::decode(&raw);
    f.seal();
    img.get_mut(at..at + FOOTER_SIZE)?.copy_from_slice(&f.encode());
    Some(f.data_offset)
}

/// Runs oracles 1–5 on the chain `levels` (child first), with source reads of at most `chunk`
/// bytes for the comparison runs and content reads of `read_size` bytes.
fn exercise(levels: &[&[u8]], chunk: usize, read_size: usize) -> Vec<ImageReport> {
    let total: usize = levels.iter().map(|l| l.len()).fold(0, usize::saturating_add);
    let chunk = if total > BIG_INPUT { chunk.max(BIG_INPUT_CHUNK) } else { chunk };
    let budget = work_budget(total);
    let window = extent_window(total);
    let reports: Vec<ImageReport> =
        levels.iter().enumerate().map(|(i, l)| checked(l, &format!("level{i}.vhd"), chunk)).collect();
    let plain = reader(levels, None);
    let limited = reader(levels, Some(chunk));
    match (&plain, &limited) {
        (Ok(a), Ok(b)) => {
            same_meaning(a, b, read_size, budget, window);
            agrees_with_reference(a, levels, budget.min(DIGEST_CAP));
        }
        (Err(a), Err(b)) => assert_eq!(
            a.to_string(),
            b.to_string(),
            "the reader refused the image for different reasons with {chunk}-byte source reads"
        ),
        (a, b) => panic!(
            "the reader's verdict depends on the source's read size ({chunk} bytes): whole reads {}, \
             limited reads {}",
            describe(a),
            describe(b)
        ),
    }
    if let Err(e) = &plain {
        verdict_agrees(levels, &reports, e);
    }
    reports
}

/// Oracle 6: the reference model's bytes equal the reader's `read_at`, `digest` and
/// `write_raw` output (to a regular file and to a pipe), for disks of at most `cap` bytes that
/// the model gives a meaning.
fn agrees_with_reference(r: &ChainReader, levels: &[&[u8]], cap: u64) {
    let Some(model) = reference_disk(levels, cap) else { return };
    assert_eq!(model.len() as u64, r.size(), "the reference model and the reader disagree on the virtual size");
    let mut read = vec![0u8; model.len()];
    r.read_at(0, &mut read).unwrap_or_else(|e| panic!("read_at of an accepted chain failed: {e}"));
    assert_same_bytes("read_at", &read, &model);
    let digest = r.digest().unwrap_or_else(|e| panic!("digest of an accepted chain failed: {e}"));
    assert!(digest == <[u8; 32]>::from(Sha256::digest(&model)), "digest differs from the reference model's bytes");
    // `cat` to a regular file: sparse writes, holes, then the length set at the end.
    let mut file = tempfile::tempfile().expect("temporary file");
    r.write_raw(&mut file).unwrap_or_else(|e| panic!("write_raw to a file failed: {e}"));
    let mut written = Vec::with_capacity(model.len());
    file.rewind().and_then(|()| file.read_to_end(&mut written)).expect("read back the temporary file");
    assert_same_bytes("write_raw to a file", &written, &model);
    // `cat` to a pipe: every byte in order, zeros written out. A thread drains the pipe.
    let (mut rx, tx) = std::io::pipe().expect("pipe");
    let drain = std::thread::spawn(move || {
        let mut v = Vec::new();
        rx.read_to_end(&mut v).map(|_| v)
    });
    let mut tx = std::fs::File::from(std::os::fd::OwnedFd::from(tx));
    let result = r.write_raw(&mut tx);
    drop(tx);
    let piped = drain.join().expect("pipe reader").expect("read the pipe");
    result.unwrap_or_else(|e| panic!("write_raw to a pipe failed: {e}"));
    assert_same_bytes("write_raw to a pipe", &piped, &model);
}

/// Panics naming the first differing virtual sector when `got` is not `model`.
fn assert_same_bytes(what: &str, got: &[u8], model: &[u8]) {
    if got == model {
        return;
    }
    let at = got.iter().zip(model).position(|(a, b)| a != b).unwrap_or(got.len().min(model.len()));
    panic!(
        "{what} differs from the reference model: {} vs {} bytes, first difference at virtual byte {at} (sector {})",
        got.len(),
        model.len(),
        at / 512
    );
}

fn describe(r: &Result<ChainReader, ReadError>) -> String {
    match r {
        Ok(r) => format!("accepted ({} bytes)", r.size()),
        Err(e) => format!("refused ({e})"),
    }
}

/// Oracle 5: a refused chain has an error finding in an image the reader used.
fn verdict_agrees(levels: &[&[u8]], reports: &[ImageReport], err: &ReadError) {
    let mut used = 0;
    for (i, l) in levels.iter().enumerate() {
        used = i + 1;
        if Layout::parse(&SliceSource(l)).disk_type() != Some(DiskType::Differencing) {
            break;
        }
        if i + 1 == levels.len() {
            // Every level given is differencing: the last has no parent here, which is not a
            // property of the images.
            return;
        }
    }
    let erred = reports.iter().take(used).any(|r| r.findings.iter().any(|f| f.severity == Severity::Error));
    assert!(
        erred,
        "the reader refuses the chain ({err}) but no image of it has an error finding:\n{}",
        reports
            .iter()
            .take(used)
            .flat_map(|r| r.findings.iter().map(|f| format!("  {}: {f}", r.file)))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Oracles 1–3 on one image: checks it with whole reads under the strict profile and with
/// `chunk`-byte reads under the compat profile; returns the strict report.
fn checked(img: &[u8], name: &str, chunk: usize) -> ImageReport {
    let strict = check_image(&SliceSource(img), name, &fuzz_options(Profile::Strict));
    let compat = check_image(&ChunkLimited::new(SliceSource(img), chunk), name, &fuzz_options(Profile::Compat));
    for (report, profile) in [(&strict, Profile::Strict), (&compat, Profile::Compat)] {
        for f in &report.findings {
            assert!(!f.message.is_empty(), "finding without a message: {f:?}");
            assert!(!f.path.is_empty(), "finding without a structure path: {f:?}");
            assert_eq!(f.file, name, "finding names another file: {f:?}");
            assert_eq!(f.severity, f.code.rule().severity(profile), "finding graded off the catalogue: {f:?}");
        }
    }
    // The same findings but for the severity (already checked against the catalogue above);
    // compared in place: cloning every finding would dominate the cost of an execution.
    let same = strict.findings.len() == compat.findings.len()
        && strict.findings.iter().zip(&compat.findings).all(|(s, c)| {
            (s.code, s.offset, s.length, &s.file, &s.path, &s.expected, &s.actual, &s.message)
                == (c.code, c.offset, c.length, &c.file, &c.path, &c.expected, &c.actual, &c.message)
        });
    if !same {
        let regraded: Vec<_> = compat.findings.iter().map(|f| f.clone().with_profile(Profile::Strict)).collect();
        panic!(
            "findings depend on the source's read size ({chunk} bytes) or the profile:\nwhole reads, strict:\n{}\n\
             {chunk}-byte reads, compat (regraded):\n{}",
            list(&strict.findings),
            list(&regraded)
        );
    }
    assert_eq!(strict.virtual_size, compat.virtual_size);
    assert_eq!(strict.disk_type, compat.disk_type);
    strict
}

fn list(findings: &[vhd_validator::Finding]) -> String {
    findings.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n")
}

/// A reader over copies of `levels`, each source limited to `chunk`-byte reads when given (and
/// then with the same chunk size for `digest`).
fn reader(levels: &[&[u8]], chunk: Option<usize>) -> Result<ChainReader, ReadError> {
    let sources: Vec<Box<dyn ReadAt>> = levels
        .iter()
        .map(|l| match chunk {
            Some(c) => Box::new(ChunkLimited::new(l.to_vec(), c)) as Box<dyn ReadAt>,
            None => Box::new(l.to_vec()) as Box<dyn ReadAt>,
        })
        .collect();
    let r = ChainReader::from_sources(sources)?;
    Ok(match chunk {
        Some(c) => r.with_chunk_size(c.max(512)),
        None => r,
    })
}

/// The meaning of a chain for the metamorphic comparisons: `None` when the reader refuses it,
/// else its size, depth and content hash.
fn meaning(levels: &[&[u8]], read_size: usize, budget: u64, window: u64) -> Option<(u64, usize, ContentHash)> {
    let r = reader(levels, None).ok()?;
    let hash = content_hash_in(&r, &r.extents_before(window), read_size, budget).ok()?;
    Some((r.size(), r.depth(), hash))
}

/// Oracle 4 on two readers of the same chain (`a` over whole reads, `b` over limited reads).
fn same_meaning(a: &ChainReader, b: &ChainReader, read_size: usize, budget: u64, window: u64) {
    assert_eq!(a.size(), b.size(), "virtual size depends on the read size");
    assert_eq!(a.depth(), b.depth(), "chain depth depends on the read size");
    let extents = a.extents_before(window);
    let extents_b = b.extents_before(window);
    assert_eq!(extents, extents_b, "extents depend on the read size");
    let mut prev_end = 0u64;
    for (i, e) in extents.iter().enumerate() {
        assert!(e.length > 0, "empty extent {e:?}");
        assert!(e.end() <= a.size(), "extent {e:?} passes the end of the disk ({} bytes)", a.size());
        assert!(i == 0 || e.offset > prev_end, "extents not sorted and merged: {extents:?}");
        prev_end = e.end();
    }
    gaps_read_zero(a, &extents, window);
    let other = READ_SIZES.iter().copied().find(|&s| s != read_size).unwrap_or(4096);
    let ha = content_hash_in(a, &extents, read_size, budget);
    let hb = content_hash_in(b, &extents_b, other, budget);
    match (ha, hb) {
        (Ok(x), Ok(y)) => assert_eq!(x, y, "content depends on the read size ({read_size} vs {other} bytes)"),
        (x, y) => panic!("reading failed: {x:?} / {y:?}"),
    }
    if a.size() <= budget.min(DIGEST_CAP) {
        let da = a.digest().map_err(|e| e.to_string());
        let db = b.digest().map_err(|e| e.to_string());
        assert_eq!(da, db, "digest depends on the chunk size ({} vs {} bytes)", a.chunk_size(), b.chunk_size());
    }
}

/// The sector just after each extent and the sector just before the next one (when they lie
/// in the disk) read as zero, for the gaps before each of the first [`GAP_SAMPLES`] extents
/// (and the gap after the last extent, when there are no more than that).
fn gaps_read_zero(r: &ChainReader, extents: &[vhd_validator::chain::Extent], window: u64) {
    let size = r.size().min(window);
    // Gaps as [start, end): before each sampled extent, and after the last one.
    let mut gaps: Vec<(u64, u64)> = Vec::new();
    let mut gap_start = 0u64;
    for e in extents.iter().take(GAP_SAMPLES) {
        gaps.push((gap_start, e.offset));
        gap_start = e.end();
    }
    if extents.len() <= GAP_SAMPLES {
        gaps.push((gap_start, size));
    }
    let mut buf = [0u8; 512];
    for (start, end) in gaps {
        let end = end.min(size);
        if start >= end {
            continue;
        }
        for p in [start, end.saturating_sub(SECTOR_SIZE).max(start)] {
            let n = usize::try_from(end - p).map_or(buf.len(), |n| n.min(buf.len()));
            let b = &mut buf[..n];
            if let Err(e) = r.read_at(p, b) {
                panic!("read_at({p}) failed: {e}");
            }
            assert!(all_zero(b), "virtual byte(s) at {p}, in the gap {start}..{end} between extents, are not zero");
        }
    }
}

/// Decodes a differencing disk's parent locators and builds its candidate parent paths (pure
/// path arithmetic, no file opened); the candidates must be free of duplicates.
fn exercise_resolution(data: &[u8], header: &DynamicDiskHeader) {
    let locators = locator_paths(&SliceSource(data), header);
    let mut opts = fuzz_options(Profile::Strict);
    opts.parent_dirs = vec![PathBuf::from("search-dir")];
    let cands = candidates(Path::new("fuzz-dir/child.vhd"), header, &locators, &ResolveOptions::from(&opts));
    for (i, c) in cands.iter().enumerate() {
        assert!(!cands[..i].iter().any(|d| d.path == c.path), "duplicate candidate path {}", c.path.display());
    }
}

/// A small sparse image for [`builtin_chains`], written by [`vhd_testkit::layout`]: 4 KiB blocks
/// (8 sectors, a one-sector bitmap), each locator payload in its own sector after the BAT (data
/// space 512, in bytes as Hyper-V stores it), creator `win `.
struct TinySparse<'a> {
    kind: DiskType,
    size: u64,
    unique_id: [u8; 16],
    /// Parent unique id and parent unicode name (differencing disks).
    parent: Option<([u8; 16], &'a str)>,
    locators: Vec<(PlatformCode, Vec<u8>)>,
    /// (block number, first byte of its sector bitmap): sectors whose bit is set hold a pattern.
    blocks: Vec<(u32, u8)>,
}

/// Block size of [`TinySparse`] images, in bytes.
const TINY_BLOCK: u32 = 4096;

/// 512 bytes of a recognisable pattern for virtual sector `sector` of image `tag`.
fn tiny_sector(tag: u8, sector: u64) -> [u8; 512] {
    let mut b = [0u8; 512];
    for (i, x) in b.iter_mut().enumerate() {
        *x = tag ^ (sector as u8).wrapping_mul(31) ^ (i as u8).wrapping_mul(7) | 1;
    }
    b
}

/// The time stamp of [`TinySparse`] images and of their parent fields.
const TINY_TIME: u32 = 0x2D00_0000;

/// A footer of a tiny image (creator `win `), encoded.
fn tiny_footer(kind: DiskType, size: u64, unique_id: [u8; 16]) -> [u8; 512] {
    let mut footer = HardDiskFooter::new(kind, size, if kind == DiskType::Fixed { u64::MAX } else { 512 });
    footer.unique_id = unique_id;
    footer.timestamp = TINY_TIME;
    footer.creator_application = *b"win ";
    footer.seal();
    footer.encode()
}

fn tiny_sparse(t: &TinySparse) -> Vec<u8> {
    let spec = layout::Sparse {
        footer: tiny_footer(t.kind, t.size, t.unique_id),
        size: t.size,
        block_size: TINY_BLOCK,
        parent: t.parent.map(|(unique_id, name)| layout::Parent { unique_id, timestamp: TINY_TIME, name: name.into() }),
        locators: t.locators.iter().map(|(code, payload)| Locator::in_bytes(code.raw(), payload.clone())).collect(),
    };
    let blocks = t.blocks.iter().map(|&(index, mask)| {
        let mut data = Vec::with_capacity(TINY_BLOCK as usize);
        for s in 0..8u64 {
            if mask & (0x80 >> s) != 0 {
                data.extend_from_slice(&tiny_sector(t.unique_id[0], u64::from(index) * 8 + s));
            } else {
                data.extend_from_slice(&[0u8; 512]);
            }
        }
        Block { index, bitmap: vec![mask], data }
    });
    layout::sparse(&spec, blocks).0
}

/// A small fixed disk of `size` bytes (a multiple of 512): every sector but each third one holds
/// a pattern of image tag `unique_id[0]`, then the footer (creator `win `).
fn tiny_fixed(size: u64, unique_id: [u8; 16]) -> Vec<u8> {
    let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0) + FOOTER_SIZE);
    for s in 0..size / SECTOR_SIZE {
        if s % 3 != 1 {
            data.extend_from_slice(&tiny_sector(unique_id[0], s));
        } else {
            data.extend_from_slice(&[0u8; 512]);
        }
    }
    layout::fixed(data, &tiny_footer(DiskType::Fixed, size, unique_id))
}

/// Small chains built in memory (each file at most 20 KiB, so a fuzzer mutates them quickly):
/// `builtin-fixed` (8 KiB fixed disk), `builtin-dynamic` (64 KiB, 4 KiB blocks, three blocks
/// allocated, one partly), `builtin-diff` (a differencing child of `builtin-dynamic` with W2ku,
/// W2ru and MacX locators) and `builtin-diff-over-fixed` (a differencing child of
/// `builtin-fixed`). Creator `win `. They have no error finding: only infos and warnings about
/// their small sizes (not whole MiB), 4 KiB blocks and locator data space in bytes.
pub fn builtin_chains() -> Vec<CorpusChain> {
    let id = vhd_testkit::build::uuid;
    let fixed = tiny_fixed(8192, id(0x11));
    let dynamic = tiny_sparse(&TinySparse {
        kind: DiskType::Dynamic,
        size: 64 << 10,
        unique_id: id(0x22),
        parent: None,
        locators: Vec::new(),
        blocks: vec![(0, 0xF0), (3, 0xFF), (15, 0x81)],
    });
    let diff = tiny_sparse(&TinySparse {
        kind: DiskType::Differencing,
        size: 64 << 10,
        unique_id: id(0x33),
        parent: Some((id(0x22), "builtin-dynamic.vhd")),
        locators: vec![
            (PlatformCode::W2ku, encode_utf16le("C:\\vhd\\builtin-dynamic.vhd")),
            (PlatformCode::W2ru, encode_utf16le(".\\builtin-dynamic.vhd")),
            (PlatformCode::MacX, encode_macx("/vhd/builtin-dynamic.vhd")),
        ],
        blocks: vec![(0, 0x0F), (2, 0x3C)],
    });
    let diff_fixed = tiny_sparse(&TinySparse {
        kind: DiskType::Differencing,
        size: 8192,
        unique_id: id(0x44),
        parent: Some((id(0x11), "builtin-fixed.vhd")),
        locators: vec![(PlatformCode::W2ru, encode_utf16le(".\\builtin-fixed.vhd"))],
        blocks: vec![(1, 0xAA)],
    });
    vec![
        CorpusChain { name: "builtin-fixed".into(), levels: vec![fixed.clone()] },
        CorpusChain { name: "builtin-dynamic".into(), levels: vec![dynamic.clone()] },
        CorpusChain { name: "builtin-diff".into(), levels: vec![diff, dynamic] },
        CorpusChain { name: "builtin-diff-over-fixed".into(), levels: vec![diff_fixed, fixed] },
    ]
}

/// The chains [`mutate_corpus`] patches: [`builtin_chains`] first (so their indices never
/// change), then [`load_seed_corpus`] of `seed_dir`.
///
/// # Errors
/// As [`load_seed_corpus`].
pub fn mutation_corpus(seed_dir: &Path) -> std::io::Result<Vec<CorpusChain>> {
    let mut v = builtin_chains();
    v.extend(load_seed_corpus(seed_dir)?);
    Ok(v)
}

/// Loads every `.vhd` file directly in `dir` (sorted by name, files above 16 MiB skipped) as a
/// chain: a differencing disk together with the ancestors that [`walk_chain`] resolves for it
/// (default options, no search directories).
///
/// # Errors
/// I/O errors listing `dir` or reading a file.
pub fn load_seed_corpus(dir: &Path) -> std::io::Result<Vec<CorpusChain>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("vhd")))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() <= MAX_CORPUS_FILE))
        .collect();
    files.sort();
    let mut out = Vec::with_capacity(files.len());
    for path in files {
        let chain = walk_chain(&path, FileSource::open(&path)?, &CheckOptions::default());
        let mut levels = Vec::with_capacity(chain.links.len());
        for link in &chain.links {
            levels.push(std::fs::read(&link.path)?);
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        out.push(CorpusChain { name, levels });
    }
    Ok(out)
}

/// The seed inputs of fuzz target `target` made from [`mutation_corpus`] (the built-in chains
/// and the committed seed images in `seed_dir`, `corpus/seed`), as (file name, bytes):
/// `validate_image` gets each chain's first image; `validate_chain` each chain of two or more
/// images as child over parent, and each first image over an empty parent; `mutate_corpus` one
/// unpatched input per chain. Unknown targets get none.
///
/// # Errors
/// As [`load_seed_corpus`].
pub fn seed_inputs(target: &str, seed_dir: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let chains = mutation_corpus(seed_dir)?;
    let mut out = Vec::new();
    for (i, c) in chains.iter().enumerate() {
        let Some(first) = c.levels.first() else { continue };
        match target {
            "validate_image" => out.push((c.name.clone(), first.clone())),
            "validate_chain" => {
                out.push((format!("{}.alone", c.name), chain_input(first, &[])));
                if let Some(parent) = c.levels.get(1) {
                    out.push((format!("{}.with-parent", c.name), chain_input(first, parent)));
                }
            }
            "check_chain" if i == 0 => out.extend(chains::seed_inputs()),
            "mutate_corpus" => {
                let index = u16::try_from(i).unwrap_or(u16::MAX);
                let mut v = index.to_be_bytes().to_vec();
                v.extend_from_slice(&[6, 1]);
                out.push((format!("{}.unpatched", c.name), v));
            }
            _ => {}
        }
    }
    Ok(out)
}
