//! The reference reader: the bytes of a VHD's virtual disk, following a differencing chain
//! (spec §Fixed Hard Disk Image, §Dynamic Hard Disk Image, §Block Allocation Table and Data
//! Blocks, §Differencing Hard Disk Image, §Read Operation).
//!
//! # Semantics
//!
//! The virtual disk has the child's footer current size (bytes). Reads past it return zeros.
//! An image whose current size exceeds [`MAX_VIRTUAL_SIZE`] (2040 GiB) is unreadable.
//!
//! - **Fixed** (type 2): virtual byte `o` is file byte `o`. Bytes of `[0, current size)` that
//!   lie at or past the start of the trailing footer (a truncated file) read as zero.
//! - **Dynamic** (type 3): a block whose BAT entry is `0xFFFFFFFF` (or lies past the stored BAT
//!   or `max table entries`) reads as zeros. In an allocated block, a sector whose sector-bitmap
//!   bit is set reads from the block's data; a sector whose bit is clear reads as **zeros**,
//!   whatever the file holds there. The spec says such sectors "must contain zeros"; VirtualBox
//!   honours the bitmap this way, QEMU ignores bitmaps and returns the stored bytes, and 7-Zip
//!   calls non-zero data there a data error. The validator reports non-zero data under a clear
//!   bit (rule family `bitmap`); this reader gives the spec's meaning.
//! - **Differencing** (type 4): a sector whose bit is set reads from the child's block; a sector
//!   whose bit is clear, or whose block is not allocated, reads the parent's bytes at the same
//!   virtual offset (recursively), and zeros past the parent's current size.
//!
//! Block data or bitmaps that run past the end of the file read as zeros for the missing bytes
//! (the `bat` family reports such entries).
//!
//! # Memory
//!
//! The reader holds each level's BAT (bounded by the file, as [`Layout::parse`] reads it), one
//! cached sector bitmap per level and a copy buffer of the chunk size ([`ChainReader::set_chunk_size`],
//! default 64 KiB) for [`ChainReader::digest`] and [`ChainReader::write_raw`]. Nothing is sized
//! by the virtual disk size: a 2040 GiB disk with 2 MiB blocks costs its 4 MiB BAT and little
//! more. Reads proceed per block and per run of equal bitmap bits (64 bits at a time), and
//! `digest`/`write_raw` never read what reads as zero (unallocated blocks, clear bits of a
//! dynamic disk, space past a parent's current size): `digest` hashes such ranges from a static
//! zero buffer, `write_raw` leaves them as holes.

use super::resolve::{walk_chain, ChainEnd, ResolveOptions, ResolvedChain, MAX_CHAIN_DEPTH};
use crate::format::Layout;
use crate::format::{BlockGeometry, DiskType, SectorBitmap, SECTOR_SIZE, UNALLOCATED};
use crate::io::{hash_zeros, FileSource, ReadAt, ZEROS};
use crate::progress::{Meter, NoProgress, Progress};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Default chunk size of [`ChainReader::digest`] and [`ChainReader::write_raw`]: 64 KiB. The
/// buffer stays in the CPU's L2 cache while the kernel copies file bytes into it and SHA-256 (or
/// the write back out) reads them; larger buffers were slower on the reference machine
/// (docs/PERFORMANCE.md).
pub const DEFAULT_CHUNK_SIZE: usize = 64 << 10;
/// Largest chunk size [`ChainReader::set_chunk_size`] accepts (64 MiB); larger values are cut.
pub const MAX_CHUNK_SIZE: usize = 64 << 20;

/// Largest current size the reader gives a meaning to: [`crate::format::footer::MAX_CURRENT_SIZE`]
/// (2040 GiB). A larger footer current size (rule FOOTER-SIZE-MAX) makes the image unreadable,
/// so that no `digest` or `write_raw` runs over exabytes of zeros behind a small file.
pub const MAX_VIRTUAL_SIZE: u64 = crate::format::footer::MAX_CURRENT_SIZE;

/// Why the virtual disk cannot be read. Every variant but [`ReadError::Io`] displays as
/// `unreadable image: ...`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// I/O error on an image file.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Image `level` of the chain (0 = the child) is too damaged to give its virtual disk a
    /// meaning.
    #[error("unreadable image: {}{problem}", ancestor(*.level))]
    Image {
        /// Index in the chain, child first.
        level: usize,
        /// What is wrong with it.
        problem: ImageProblem,
    },
    /// The chain could not be resolved up to its base image; `message` names the last image
    /// resolved and why ([`ResolvedChain::problem`]).
    #[error("unreadable image: {message}")]
    Chain {
        /// Why the walk stopped ([`ChainEnd`], never `Complete`).
        end: Box<ChainEnd>,
        /// The one-line explanation.
        message: String,
    },
    /// [`ChainReader::from_sources`] was given no image.
    #[error("unreadable image: no image given")]
    NoImage,
    /// More than [`MAX_CHAIN_DEPTH`] images would be read.
    #[error("unreadable image: a chain of {levels} images is longer than the {max} the reader supports", max = MAX_CHAIN_DEPTH)]
    TooDeep {
        /// The number of images given.
        levels: usize,
    },
}

/// `ancestor N: ` for a parent level, nothing for the child.
fn ancestor(level: usize) -> String {
    if level == 0 {
        String::new()
    } else {
        format!("ancestor {level}: ")
    }
}

/// What makes one image of a chain unreadable ([`ReadError::Image`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageProblem {
    /// Neither the trailing footer nor (for a sparse disk) the copy at offset 0 is usable.
    #[error("no usable hard disk footer (no \"conectix\" cookie)")]
    NoFooter,
    /// The footer's current size (bytes) exceeds [`MAX_VIRTUAL_SIZE`].
    #[error("current size {0} bytes exceeds the format maximum of {MAX_VIRTUAL_SIZE} bytes (2040 GiB)")]
    TooLarge(u64),
    /// The footer's disk type is not fixed, dynamic or differencing (the raw value).
    #[error("unknown disk type {0}")]
    UnknownDiskType(u32),
    /// A sparse disk whose dynamic disk header cannot be read.
    #[error("sparse disk without a readable dynamic disk header")]
    NoHeader,
    /// The header's block size is not a non-zero multiple of 512.
    #[error("dynamic disk header block size is not a non-zero multiple of 512")]
    BlockSize,
    /// No BAT entry lies inside the file (and the disk is not empty).
    #[error("the BAT lies outside the file")]
    BatOutsideFile,
    /// The last image given is a differencing disk ([`ChainReader::from_sources`]).
    #[error("differencing disk without a parent")]
    NoParent,
}

/// A range of the virtual disk where some image in the chain holds data (bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Extent {
    /// Virtual byte offset.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
}

impl Extent {
    /// One past the last byte (saturating).
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.length)
    }
}

/// How one image of the chain maps virtual offsets to file bytes.
enum Kind {
    /// Fixed disk: virtual bytes `[0, data_len)` are file bytes; the rest of the current size
    /// reads as zero.
    Fixed { data_len: u64 },
    /// Dynamic or differencing disk.
    Sparse {
        geom: BlockGeometry,
        bat: Vec<u32>,
        differencing: bool,
        /// The last bitmap read: (block number, bitmap bytes).
        cache: RefCell<Option<(u64, Vec<u8>)>>,
    },
}

/// One image of the chain.
struct Level {
    src: Box<dyn ReadAt>,
    /// Current size of this image in bytes.
    size: u64,
    kind: Kind,
}

/// Reads the virtual disk of an image or differencing chain.
///
/// Interior caching (one sector bitmap per level) makes it `!Sync`; give each thread its own.
pub struct ChainReader {
    size: u64,
    levels: Vec<Level>,
    chunk: usize,
}

impl fmt::Debug for ChainReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainReader")
            .field("size", &self.size)
            .field("levels", &self.levels.len())
            .field("chunk", &self.chunk)
            .finish()
    }
}

/// Reads what `src` holds at `offset` into `buf` and zero-fills the rest (bytes past the end of
/// the source read as zero).
fn read_zero_fill(src: &dyn ReadAt, mut offset: u64, mut buf: &mut [u8]) -> Result<(), ReadError> {
    while !buf.is_empty() {
        let n = src.read_at(offset, buf)?;
        if n == 0 {
            buf.fill(0);
            break;
        }
        let n = n.min(buf.len());
        buf = &mut buf[n..];
        offset = offset.saturating_add(n as u64);
    }
    Ok(())
}

fn unreadable(level: usize, problem: ImageProblem) -> ReadError {
    ReadError::Image { level, problem }
}

impl Level {
    /// Builds a level from an image and its parsed structures.
    fn new(index: usize, src: Box<dyn ReadAt>, layout: Layout) -> Result<Level, ReadError> {
        let Some(footer) = layout.footer() else {
            return Err(unreadable(index, ImageProblem::NoFooter));
        };
        let size = footer.current_size;
        if size > MAX_VIRTUAL_SIZE {
            return Err(unreadable(index, ImageProblem::TooLarge(size)));
        }
        let kind = match footer.kind() {
            DiskType::Fixed => Kind::Fixed { data_len: size.min(layout.footer_start()) },
            k @ (DiskType::Dynamic | DiskType::Differencing) => {
                if layout.header.is_none() {
                    return Err(unreadable(index, ImageProblem::NoHeader));
                }
                let Some(geom) = layout.block else {
                    return Err(unreadable(index, ImageProblem::BlockSize));
                };
                if layout.bat.entries.is_empty() && size > 0 {
                    return Err(unreadable(index, ImageProblem::BatOutsideFile));
                }
                Kind::Sparse {
                    geom,
                    bat: layout.bat.entries,
                    differencing: k == DiskType::Differencing,
                    cache: RefCell::new(None),
                }
            }
            DiskType::Other(t) => return Err(unreadable(index, ImageProblem::UnknownDiskType(t))),
        };
        Ok(Level { src, size, kind })
    }
}

impl ChainReader {
    /// Opens `path` and resolves its parents as `opts` says (see [`super::resolve`]).
    ///
    /// # Errors
    /// [`ReadError::Io`] when `path` cannot be opened; [`ReadError::Image`] when an image has
    /// no usable footer or a current size above [`MAX_VIRTUAL_SIZE`], or a sparse image has no
    /// usable header, block size or BAT; [`ReadError::Chain`] when a parent cannot be resolved
    /// (missing, not a VHD, unique id mismatch, cycle, depth limit). `opts` is a
    /// [`ResolveOptions`] or anything that converts into one (`&CheckOptions`).
    pub fn open(path: &Path, opts: impl Into<ResolveOptions>) -> Result<ChainReader, ReadError> {
        let src = FileSource::open(path)?;
        let chain = walk_chain(path, src, opts);
        ChainReader::from_resolved(chain)
    }

    /// Builds a reader from a chain resolved by [`walk_chain`].
    ///
    /// # Errors
    /// As [`ChainReader::open`].
    pub fn from_resolved(chain: ResolvedChain) -> Result<ChainReader, ReadError> {
        if let Some(message) = chain.problem() {
            return Err(ReadError::Chain { end: Box::new(chain.end), message });
        }
        let mut levels = Vec::with_capacity(chain.links.len());
        for (i, link) in chain.links.into_iter().enumerate() {
            levels.push(Level::new(i, Box::new(link.src), link.layout)?);
        }
        ChainReader::from_levels(levels)
    }

    /// Builds a reader from in-memory (or any) sources, child first: `levels[i + 1]` is taken
    /// as the parent of `levels[i]` without resolution or unique id checks (for fuzzing and
    /// tests). Levels after the first non-differencing image are ignored.
    ///
    /// # Errors
    /// [`ReadError::NoImage`] when `levels` is empty; [`ReadError::Image`] when an image is
    /// unusable (as in [`ChainReader::open`]) or the last differencing image has no parent given
    /// ([`ImageProblem::NoParent`]); [`ReadError::TooDeep`] when more than [`MAX_CHAIN_DEPTH`]
    /// levels would be read.
    pub fn from_sources(levels: Vec<Box<dyn ReadAt>>) -> Result<ChainReader, ReadError> {
        let mut out = Vec::with_capacity(levels.len());
        for (i, src) in levels.into_iter().enumerate() {
            let layout = Layout::parse(&*src);
            let level = Level::new(i, src, layout)?;
            let diff = matches!(level.kind, Kind::Sparse { differencing: true, .. });
            out.push(level);
            if !diff {
                break;
            }
        }
        ChainReader::from_levels(out)
    }

    fn from_levels(levels: Vec<Level>) -> Result<ChainReader, ReadError> {
        let Some(first) = levels.first() else {
            return Err(ReadError::NoImage);
        };
        if levels.len() > MAX_CHAIN_DEPTH {
            return Err(ReadError::TooDeep { levels: levels.len() });
        }
        if let Some(Level { kind: Kind::Sparse { differencing: true, .. }, .. }) = levels.last() {
            return Err(unreadable(levels.len() - 1, ImageProblem::NoParent));
        }
        Ok(ChainReader { size: first.size, levels, chunk: DEFAULT_CHUNK_SIZE })
    }

    /// Sets the buffer size (bytes) that [`ChainReader::digest`] and [`ChainReader::write_raw`]
    /// copy with; clamped to `1..=MAX_CHUNK_SIZE`. Results never depend on it.
    pub fn set_chunk_size(&mut self, bytes: usize) {
        self.chunk = bytes.clamp(1, MAX_CHUNK_SIZE);
    }

    /// [`ChainReader::set_chunk_size`], by value.
    pub fn with_chunk_size(mut self, bytes: usize) -> ChainReader {
        self.set_chunk_size(bytes);
        self
    }

    /// The buffer size in bytes used by [`ChainReader::digest`] and [`ChainReader::write_raw`].
    pub fn chunk_size(&self) -> usize {
        self.chunk
    }

    /// Virtual disk size in bytes (the child's footer current size).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Number of images in the chain (1 for a fixed or dynamic disk).
    pub fn depth(&self) -> usize {
        self.levels.len()
    }

    /// Fills `buf` with virtual disk bytes from byte `offset`; bytes past the end read as zero.
    ///
    /// # Errors
    /// [`ReadError::Io`] on I/O failure (reads past the end of an image file are zeros, not errors).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.read_level_at(0, offset, buf)
    }

    /// Reads `dst` from the file of level `level` (0 = the child) at file byte `offset`,
    /// zero-filling what the file does not hold (and all of `dst` for a level that does not
    /// exist). With [`ChainReader::pieces`] this reads the bytes of a [`Piece::File`].
    ///
    /// # Errors
    /// [`ReadError::Io`] on I/O failure.
    pub fn read_file(&self, level: usize, offset: u64, dst: &mut [u8]) -> Result<(), ReadError> {
        match self.levels.get(level) {
            Some(l) => read_zero_fill(&*l.src, offset, dst),
            None => {
                dst.fill(0);
                Ok(())
            }
        }
    }

    /// The per-level view of the chain: walks `[offset, offset + len)` of the virtual disk as
    /// level `i` and its ancestors read it (`i` = 0 is the whole chain, 1 what the child's
    /// parent reads, and so on; a level past the last reads as zeros) and calls `f` once per
    /// piece, in order, with the piece's length in bytes and the level whose file supplies it
    /// ([`Piece::File`], read with [`ChainReader::read_file`]) or [`Piece::Zero`] when no level
    /// holds data there. The pieces tile the range exactly; adjacent pieces may share a source.
    /// Work is per block and per run of equal sector-bitmap bits, as for reads.
    ///
    /// This is the one place that gives the read semantics of the module documentation (zeros
    /// past a level's current size and for a level that does not exist; fixed-disk data; BAT
    /// and sector-bitmap lookups; falls through to the parent). File pieces never extend past
    /// the end of their file: what lies beyond is a zero piece. Nothing is allocated but the
    /// cached sector bitmap of each level.
    ///
    /// # Errors
    /// What `f` returns, or [`ReadError::Io`] when a sector bitmap cannot be read.
    pub fn pieces(
        &self,
        i: usize,
        offset: u64,
        len: u64,
        f: &mut dyn FnMut(u64, Piece) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        if len == 0 {
            return Ok(());
        }
        let Some(level) = self.levels.get(i) else {
            return f(len, Piece::Zero);
        };
        let inside = level.size.saturating_sub(offset).min(len);
        let past = len - inside;
        if inside > 0 {
            match &level.kind {
                Kind::Fixed { data_len } => {
                    let data = data_len.saturating_sub(offset).min(inside);
                    emit_file(&*level.src, i, offset, data, f)?;
                    if inside > data {
                        f(inside - data, Piece::Zero)?;
                    }
                }
                Kind::Sparse { geom, bat, differencing, cache } => {
                    let mut done = 0u64;
                    while done < inside {
                        let pos = offset + done;
                        let block = pos / geom.block_size;
                        let in_block = pos % geom.block_size;
                        let piece = (geom.block_size - in_block).min(inside - done);
                        let entry =
                            usize::try_from(block).ok().and_then(|b| bat.get(b)).copied().unwrap_or(UNALLOCATED);
                        if entry != UNALLOCATED {
                            self.map_block(i, level, geom, cache, *differencing, block, entry, in_block, piece, f)?;
                        } else if *differencing {
                            self.pieces(i + 1, pos, piece, f)?;
                        } else {
                            f(piece, Piece::Zero)?;
                        }
                        done += piece;
                    }
                }
            }
        }
        if past > 0 {
            f(past, Piece::Zero)?;
        }
        Ok(())
    }

    /// [`ChainReader::pieces`] within allocated block `block` (BAT entry `entry`) of level
    /// `i`: `len` bytes from byte `in_block` of the block, run by run of equal sector-bitmap
    /// bits.
    #[allow(clippy::too_many_arguments)]
    fn map_block(
        &self,
        i: usize,
        level: &Level,
        geom: &BlockGeometry,
        cache: &RefCell<Option<(u64, Vec<u8>)>>,
        differencing: bool,
        block: u64,
        entry: u32,
        in_block: u64,
        len: u64,
        f: &mut dyn FnMut(u64, Piece) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        let bitmap_at = u64::from(entry) * SECTOR_SIZE;
        let data_at = bitmap_at.saturating_add(geom.bitmap_bytes());
        self.load_bitmap(level, geom, cache, block, bitmap_at)?;
        let block_start = block.saturating_mul(geom.block_size);
        // Sectors touched by the range: `first..=last`.
        let last = (in_block + len - 1) / SECTOR_SIZE;
        let mut done = 0u64;
        while done < len {
            let pos = in_block + done;
            let sector = pos / SECTOR_SIZE;
            let (set, run) = {
                let c = cache.borrow();
                let bits: &[u8] = c.as_ref().map_or(&[], |(_, b)| b.as_slice());
                let bm = SectorBitmap(bits);
                (bm.is_set(sector), bm.run_len(sector, last - sector + 1))
            };
            let run_end = (sector + run).saturating_mul(SECTOR_SIZE);
            let n = (run_end - pos).min(len - done);
            if set {
                emit_file(&*level.src, i, data_at.saturating_add(pos), n, f)?;
            } else if differencing {
                self.pieces(i + 1, block_start.saturating_add(pos), n, f)?;
            } else {
                f(n, Piece::Zero)?;
            }
            done += n;
        }
        Ok(())
    }

    /// Makes `cache` hold the sector bitmap of `block` (at file byte `bitmap_at`): the bytes
    /// that carry bits, as far as the file holds them.
    fn load_bitmap(
        &self,
        level: &Level,
        geom: &BlockGeometry,
        cache: &RefCell<Option<(u64, Vec<u8>)>>,
        block: u64,
        bitmap_at: u64,
    ) -> Result<(), ReadError> {
        if cache.borrow().as_ref().is_some_and(|(b, _)| *b == block) {
            return Ok(());
        }
        let mut c = cache.borrow_mut();
        // Reuse the cached buffer: one allocation per level for the whole walk.
        let mut bits = c.take().map(|(_, v)| v).unwrap_or_default();
        read_bitmap_into(&*level.src, geom, bitmap_at, &mut bits)?;
        *c = Some((block, bits));
        Ok(())
    }

    /// [`ChainReader::read_at`] as level `level` and its ancestors read the virtual disk (see
    /// [`ChainReader::pieces`]): `read_level_at(0, ..)` is `read_at`.
    ///
    /// # Errors
    /// [`ReadError::Io`] on I/O failure.
    pub fn read_level_at(&self, level: usize, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let mut cursor = 0usize;
        self.pieces(level, offset, buf.len() as u64, &mut |len, piece| {
            let n = usize::try_from(len).map_or(buf.len() - cursor, |l| l.min(buf.len() - cursor));
            let dst = &mut buf[cursor..cursor + n];
            cursor += n;
            match piece {
                Piece::Zero => {
                    dst.fill(0);
                    Ok(())
                }
                Piece::File { level, offset } => self.read_file(level, offset, dst),
            }
        })
    }

    /// Facts about level `level` (0 = the child), or `None` past the last level.
    pub fn level(&self, level: usize) -> Option<LevelInfo> {
        let l = self.levels.get(level)?;
        Some(match &l.kind {
            Kind::Fixed { .. } => LevelInfo { size: l.size, block: None, differencing: false },
            Kind::Sparse { geom, differencing, .. } => {
                LevelInfo { size: l.size, block: Some(*geom), differencing: *differencing }
            }
        })
    }

    /// Calls `f` for each allocated block of level `level` (a dynamic or differencing disk), in
    /// increasing block order (see [`AllocatedBlock`]). Blocks that start at or past the level's current size
    /// are skipped. Nothing is called for a fixed disk or a level that does not exist. Time and
    /// reads are proportional to the allocated blocks (plus one pass over the BAT).
    ///
    /// # Errors
    /// What `f` returns, or [`ReadError::Io`] when a bitmap cannot be read.
    pub fn allocated_blocks(
        &self,
        level: usize,
        f: &mut dyn FnMut(AllocatedBlock<'_>) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        let Some(Level { src, size, kind: Kind::Sparse { geom, bat, .. } }) = self.levels.get(level) else {
            return Ok(());
        };
        let mut bits = Vec::new();
        for (n, &entry) in bat.iter().enumerate() {
            if entry == UNALLOCATED {
                continue;
            }
            let block = n as u64;
            if block.saturating_mul(geom.block_size) >= *size {
                break;
            }
            let bitmap_at = u64::from(entry) * SECTOR_SIZE;
            read_bitmap_into(&**src, geom, bitmap_at, &mut bits)?;
            f(AllocatedBlock { block, bitmap_offset: bitmap_at, bitmap: &bits })?;
        }
        Ok(())
    }

    /// [`ChainReader::extents_before`] for the chain as level `level` and its ancestors read it
    /// (see [`ChainReader::pieces`]); `extents_from(0, limit)` is `extents_before(limit)`.
    pub fn extents_from(&self, level: usize, limit: u64) -> Vec<Extent> {
        self.extents_of(self.levels.get(level..).unwrap_or_default(), limit)
    }

    /// Allocated extents of the virtual disk, in increasing order, merged: the ranges where some
    /// image of the chain holds data that the read semantics can return (fixed disks: their data
    /// region; sparse disks: runs of set sector-bitmap bits in allocated blocks), clipped to the
    /// current sizes of the image and all its descendants. Every byte outside the extents reads
    /// as zero. A bitmap that cannot be read counts its whole block as allocated.
    ///
    /// Time is linear in the BAT entries and sector-bitmap bits of the allocated blocks; the list
    /// can hold up to one extent per two sectors of the disk. [`ChainReader::extents_before`]
    /// bounds both by a virtual byte limit.
    pub fn extents(&self) -> Vec<Extent> {
        self.extents_before(self.size)
    }

    /// [`ChainReader::extents`] clipped to the first `limit` bytes of the virtual disk: only the
    /// blocks that start before `limit` are visited, so the work and the list are bounded by
    /// `limit` (at most one extent per two sectors below it) whatever the disk's size.
    pub fn extents_before(&self, limit: u64) -> Vec<Extent> {
        self.extents_of(&self.levels, limit)
    }

    fn extents_of(&self, levels: &[Level], limit: u64) -> Vec<Extent> {
        let mut merged: Vec<Extent> = Vec::new();
        let mut bits = Vec::new();
        let mut clip = self.size.min(limit);
        for level in levels {
            clip = clip.min(level.size);
            // One level's extents come out in increasing order (blocks in BAT order, runs in
            // bit order), so they are merged as they are pushed; levels are then merged in one
            // linear pass each (no sort: a single image costs one walk of its BAT).
            let mut this: Vec<Extent> = Vec::new();
            match &level.kind {
                Kind::Fixed { data_len } => push_extent(&mut this, 0, (*data_len).min(clip)),
                Kind::Sparse { geom, bat, .. } => {
                    for (n, &entry) in bat.iter().enumerate() {
                        if entry == UNALLOCATED {
                            continue;
                        }
                        let start = (n as u64).saturating_mul(geom.block_size);
                        if start >= clip {
                            break;
                        }
                        let end = start.saturating_add(geom.block_size).min(clip);
                        let sectors = (end - start).div_ceil(SECTOR_SIZE);
                        let bitmap_at = u64::from(entry) * SECTOR_SIZE;
                        if read_bitmap_into(&*level.src, geom, bitmap_at, &mut bits).is_err() {
                            push_extent(&mut this, start, end);
                            continue;
                        }
                        let bm = SectorBitmap(&bits);
                        let mut s = 0;
                        while s < sectors {
                            let run = SectorBitmap(&bits).run_len(s, sectors - s);
                            if bm.is_set(s) {
                                let a = start + s * SECTOR_SIZE;
                                let b = (start + (s + run) * SECTOR_SIZE).min(end);
                                push_extent(&mut this, a, b);
                            }
                            s += run;
                        }
                    }
                }
            }
            merged = if merged.is_empty() { this } else { union(merged, this) };
        }
        merged
    }

    /// SHA-256 of the whole virtual disk (`size()` bytes).
    ///
    /// Data is read in pieces of at most [`ChainReader::chunk_size`] bytes into one reused
    /// buffer; zero ranges (unallocated blocks, clear bits of a dynamic disk, parents' zeros,
    /// the space past a parent's current size) are hashed from a static zero buffer without
    /// reading. SHA-256 cannot skip them: a 2040 GiB disk hashes 2040 GiB.
    ///
    /// # Errors
    /// [`ReadError::Io`] on I/O failure.
    pub fn digest(&self) -> Result<[u8; 32], ReadError> {
        self.digest_with(&NoProgress)
    }

    /// [`ChainReader::digest`], reporting the bytes hashed to `progress` (total: `size()`).
    ///
    /// # Errors
    /// As [`ChainReader::digest`].
    pub fn digest_with(&self, progress: &dyn Progress) -> Result<[u8; 32], ReadError> {
        let mut hasher = Sha256::new();
        let mut meter = Meter::start(progress, self.size, PROGRESS_STEP);
        let mut buf = vec![0u8; self.chunk];
        self.pieces(0, 0, self.size, &mut |len, piece| {
            match piece {
                Piece::Zero => hash_zeros(&mut hasher, len),
                Piece::File { level, offset } => {
                    let mut done = 0u64;
                    while done < len {
                        let n = usize::try_from(len - done).map_or(buf.len(), |r| r.min(buf.len()));
                        let b = &mut buf[..n];
                        self.read_file(level, offset.saturating_add(done), b)?;
                        hasher.update(&*b);
                        done += n as u64;
                    }
                }
            }
            meter.add(len);
            Ok(())
        })?;
        self.check_unchanged()?;
        meter.flush();
        Ok(hasher.finalize().into())
    }

    /// Writes the virtual disk as raw bytes to `out` from its start.
    ///
    /// For a regular file, the file is emptied (when it holds bytes), only the ranges where an
    /// image of the chain holds data are read, 4 KiB pages of the virtual disk that read as all
    /// zeros are skipped (left as holes), the other bytes are written at their offset, and the
    /// file is finally set to `size()` bytes, so that it is sparse where the file system
    /// allows. A virtual disk of 4 MiB or more is read on this thread and written on a second
    /// one (buffers of 256 KiB, four in flight) when the machine has more than one core;
    /// otherwise in pieces of at most [`ChainReader::chunk_size`] bytes through one buffer. The
    /// bytes and holes are the same either way. Any other file (a pipe, a terminal) gets every
    /// byte written in order.
    ///
    /// # Errors
    /// [`ReadError::Io`] on I/O failure reading the images or writing `out`.
    pub fn write_raw(&self, out: &mut File) -> Result<(), ReadError> {
        self.write_raw_with(out, &NoProgress)
    }

    /// [`ChainReader::write_raw`], reporting the bytes of the virtual disk done to `progress`
    /// (total: `size()`).
    ///
    /// # Errors
    /// As [`ChainReader::write_raw`].
    pub fn write_raw_with(&self, out: &mut File, progress: &dyn Progress) -> Result<(), ReadError> {
        let meta = out.metadata()?;
        if meta.is_file() {
            // A file that holds bytes is emptied first (its holes must read as zero). An empty
            // one is left alone: on ext4, truncating a file to zero makes its close wait for the
            // data to reach the disk (`auto_da_alloc`), which tripled the time of a 1 GiB `cat`.
            if meta.len() != 0 {
                out.set_len(0)?;
            }
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
            self.write_sparse(out, progress, cores > 1 && self.size >= PIPELINE_MIN_SIZE)
        } else {
            self.write_out(Out::Stream(out), progress)
        }
    }

    /// Writes every byte of the virtual disk to `out` in order (zeros included), for a pipe or
    /// standard output.
    ///
    /// # Errors
    /// As [`ChainReader::write_raw`].
    pub fn write_stream_with(&self, out: &mut dyn Write, progress: &dyn Progress) -> Result<(), ReadError> {
        self.write_out(Out::Stream(out), progress)
    }

    fn write_out(&self, mut out: Out<'_>, progress: &dyn Progress) -> Result<(), ReadError> {
        let mut buf = vec![0u8; self.chunk];
        let mut meter = Meter::start(progress, self.size, PROGRESS_STEP);
        let mut pos = 0u64;
        self.pieces(0, 0, self.size, &mut |len, piece| {
            match (piece, &mut out) {
                (Piece::Zero, Out::Sparse(_)) => {}
                (Piece::Zero, Out::Stream(w)) => write_zeros(*w, len)?,
                (Piece::File { level, offset }, out) => {
                    let mut done = 0u64;
                    while done < len {
                        let n = usize::try_from(len - done).map_or(buf.len(), |r| r.min(buf.len()));
                        let b = &mut buf[..n];
                        self.read_file(level, offset.saturating_add(done), b)?;
                        match out {
                            Out::Sparse(f) => write_non_zero_pages(f, b, pos.saturating_add(done))?,
                            Out::Stream(w) => w.write_all(b)?,
                        }
                        done += n as u64;
                    }
                }
            }
            pos = pos.saturating_add(len);
            meter.add(len);
            Ok(())
        })?;
        match out {
            Out::Sparse(f) => {
                f.set_len(self.size)?;
                f.flush()?;
            }
            Out::Stream(w) => w.flush()?,
        }
        self.check_unchanged()?;
        meter.flush();
        Ok(())
    }

    /// The data of the virtual disk written into the empty regular file `out` at its offsets
    /// (zero pieces and zero 4 KiB pages left as holes), then `out` set to the virtual size.
    /// `pipelined`: on two threads, this one reading the images into buffers of
    /// [`PIPELINE_BUFFER`] bytes, a second one writing them, so that reading the images
    /// overlaps writing the output (on ext4 a 1 GiB `cat` takes 0.76x the time); otherwise on
    /// this thread alone, through one buffer of the chunk size. Both write the same bytes.
    pub(super) fn write_sparse(
        &self,
        out: &mut File,
        progress: &dyn Progress,
        pipelined: bool,
    ) -> Result<(), ReadError> {
        if !pipelined {
            return self.write_out(Out::Sparse(out), progress);
        }
        let out: &File = out;
        const BUF: usize = PIPELINE_BUFFER;
        const IN_FLIGHT: usize = 4;
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<(u64, Vec<u8>, usize)>(IN_FLIGHT);
        let (free_tx, free_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        for _ in 0..IN_FLIGHT {
            let _ = free_tx.send(vec![0u8; BUF]);
        }
        let mut meter = Meter::start(progress, self.size, PROGRESS_STEP);
        let (read, written) = std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> std::io::Result<()> {
                for (pos, buf, n) in full_rx {
                    write_non_zero_pages(out, buf.get(..n).unwrap_or(&[]), pos)?;
                    if free_tx.send(buf).is_err() {
                        break;
                    }
                }
                Ok(())
            });
            let mut pos = 0u64;
            let gone = || ReadError::Io(std::io::Error::other("the writing thread stopped"));
            let read = self.pieces(0, 0, self.size, &mut |len, piece| {
                if let Piece::File { level, offset } = piece {
                    let mut done = 0u64;
                    while done < len {
                        let mut buf = free_rx.recv().map_err(|_| gone())?;
                        let n = usize::try_from(len - done).map_or(BUF, |r| r.min(BUF));
                        self.read_file(level, offset.saturating_add(done), buf.get_mut(..n).unwrap_or(&mut []))?;
                        full_tx.send((pos.saturating_add(done), buf, n)).map_err(|_| gone())?;
                        done += n as u64;
                    }
                }
                pos = pos.saturating_add(len);
                meter.add(len);
                Ok(())
            });
            drop(full_tx);
            let written = writer.join().unwrap_or_else(|_| Err(std::io::Error::other("the writing thread panicked")));
            (read, written)
        });
        written?;
        read?;
        out.set_len(self.size)?;
        self.check_unchanged()?;
        meter.flush();
        Ok(())
    }

    /// Fails when an image of the chain changed size since it was opened (its bytes as read
    /// may mix two versions).
    ///
    /// # Errors
    /// [`ReadError::Io`] (`InvalidData`) naming the image level and both sizes.
    pub fn check_unchanged(&self) -> Result<(), ReadError> {
        for (i, l) in self.levels.iter().enumerate() {
            l.src
                .check_unchanged()
                .map_err(|e| ReadError::Io(std::io::Error::new(e.kind(), format!("image {i} of the chain: {e}"))))?;
        }
        Ok(())
    }
}

/// Where [`ChainReader::write_out`] writes: a regular file written sparsely at offsets, or a
/// stream written in order.
enum Out<'a> {
    Sparse(&'a mut File),
    Stream(&'a mut dyn Write),
}

/// Facts about one level of a chain (see [`ChainReader::level`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LevelInfo {
    /// Current size of the image in bytes.
    pub size: u64,
    /// Block geometry of a dynamic or differencing disk; `None` for a fixed disk.
    pub block: Option<BlockGeometry>,
    /// Whether the image is a differencing disk.
    pub differencing: bool,
}

/// One allocated block of a level, as [`ChainReader::allocated_blocks`] visits it.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct AllocatedBlock<'a> {
    /// Block number (BAT index).
    pub block: u64,
    /// File byte offset of the block's sector bitmap (its BAT entry times 512); the data follow
    /// the bitmap's whole sectors.
    pub bitmap_offset: u64,
    /// The bitmap bytes that carry bits for the block's sectors, as far as the file holds them
    /// (missing bits read as clear).
    pub bitmap: &'a [u8],
}

/// Where the bytes of a piece of the virtual disk come from (see [`ChainReader::pieces`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Piece {
    /// The bytes read as zero.
    Zero,
    /// The bytes are the file bytes of level `level` from byte `offset`.
    File { level: usize, offset: u64 },
}

/// Emits `len` bytes of level `level`'s file from byte `offset`: a file piece for what the
/// file holds, then a zero piece for what lies past its end.
fn emit_file(
    src: &dyn ReadAt,
    level: usize,
    offset: u64,
    len: u64,
    f: &mut dyn FnMut(u64, Piece) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let held = src.len().saturating_sub(offset).min(len);
    if held > 0 {
        f(held, Piece::File { level, offset })?;
    }
    if len > held {
        f(len - held, Piece::Zero)?;
    }
    Ok(())
}

/// How often (bytes of the virtual disk) digest and write_raw report progress: 64 MiB.
const PROGRESS_STEP: u64 = 64 << 20;

/// Smallest virtual disk (bytes) whose raw image is written on two threads (below it a second
/// thread costs more than it saves).
const PIPELINE_MIN_SIZE: u64 = 4 << 20;

/// Bytes read per buffer when a raw image is written on two threads (four buffers in flight).
const PIPELINE_BUFFER: usize = 256 << 10;

/// Granularity of the holes [`ChainReader::write_raw`] leaves: 4 KiB pages of the virtual disk.
const HOLE_PAGE: u64 = 4096;

fn write_zeros(out: &mut dyn Write, mut len: u64) -> std::io::Result<()> {
    while len > 0 {
        let n = usize::try_from(len).map_or(ZEROS.len(), |l| l.min(ZEROS.len()));
        out.write_all(&ZEROS[..n])?;
        len -= n as u64;
    }
    Ok(())
}

/// Whether every byte of `b` is zero (OR-folds 256-byte pieces, which vectorizes, and stops
/// at the first piece with a non-zero byte).
fn is_zero(b: &[u8]) -> bool {
    b.chunks(256).all(|c| c.iter().fold(0u8, |acc, &x| acc | x) == 0)
}

/// Writes the pages of `buf` (virtual disk bytes from byte `pos`) that hold a non-zero byte to
/// `out` at their virtual offset; runs of such pages are written with one call. Pages are
/// [`HOLE_PAGE`]-aligned on the virtual disk.
fn write_non_zero_pages(out: &File, buf: &[u8], pos: u64) -> std::io::Result<()> {
    let mut run: Option<usize> = None;
    let mut i = 0usize;
    while i < buf.len() {
        let at = pos.saturating_add(i as u64);
        let to_boundary = HOLE_PAGE - at % HOLE_PAGE;
        let j = usize::try_from(to_boundary).map_or(buf.len(), |t| t.min(buf.len() - i)) + i;
        match (is_zero(&buf[i..j]), run) {
            (false, None) => run = Some(i),
            (true, Some(s)) => {
                write_all_at(out, &buf[s..i], pos.saturating_add(s as u64))?;
                run = None;
            }
            _ => {}
        }
        i = j;
    }
    if let Some(s) = run {
        write_all_at(out, &buf[s..], pos.saturating_add(s as u64))?;
    }
    Ok(())
}

#[cfg(unix)]
fn write_all_at(out: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(out, buf, offset)
}

#[cfg(not(unix))]
fn write_all_at(mut out: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    out.seek(SeekFrom::Start(offset))?;
    out.write_all(buf)
}

/// Reads the bitmap bytes that carry bits for a block's sectors (`bitmap_used_bytes`), as far as
/// the file holds them, into `bits` (reusing its allocation): bits past the end of the file read
/// as clear.
fn read_bitmap_into(
    src: &dyn ReadAt,
    geom: &BlockGeometry,
    bitmap_at: u64,
    bits: &mut Vec<u8>,
) -> Result<(), ReadError> {
    let len = geom.bitmap_used_bytes().min(src.len().saturating_sub(bitmap_at));
    let len = usize::try_from(len)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "sector bitmap too large"))?;
    bits.clear();
    bits.resize(len, 0);
    read_zero_fill(src, bitmap_at, bits)
}

/// Appends `[start, end)` to `v`, whose extents are sorted and merged and end at or before
/// `start`'s predecessor would: an extent that touches or overlaps the last one extends it.
fn push_extent(v: &mut Vec<Extent>, start: u64, end: u64) {
    if end <= start {
        return;
    }
    match v.last_mut() {
        Some(m) if start <= m.end() => {
            let end = m.end().max(end);
            m.length = end - m.offset;
        }
        _ => v.push(Extent { offset: start, length: end - start }),
    }
}

/// The union of two sorted, merged extent lists, sorted and merged (touching extents join).
fn union(a: Vec<Extent>, b: Vec<Extent>) -> Vec<Extent> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.offset <= y.offset => a.next(),
            (Some(_), Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => break,
        };
        if let Some(e) = next {
            push_extent(&mut out, e.offset, e.end());
        }
    }
    out
}

#[cfg(test)]
mod perf_tests {
    //! Tests of the streaming paths: the word-at-a-time bit runs, progress reports, holes.
    use super::ChainReader;
    use crate::chain::testutil::{model, Img};
    use crate::io::ReadAt;
    use crate::progress::Progress;

    #[test]
    fn union_of_extent_lists_matches_sorting_and_merging_both() {
        use super::{push_extent, union, Extent};
        // Naive reference: every covered unit of [0, 400) in a bitmap, then runs of it (touching
        // extents join, as push_extent does).
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut rand = move |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for _ in 0..500 {
            let mut lists = [Vec::new(), Vec::new()];
            let mut covered = [false; 400];
            for list in &mut lists {
                let mut at = rand(20);
                while at < 380 {
                    let len = 1 + rand(15);
                    let end = (at + len).min(400);
                    push_extent(list, at, end);
                    covered[at as usize..end as usize].iter_mut().for_each(|c| *c = true);
                    at = end + rand(25);
                }
            }
            let [a, b] = lists;
            let mut want: Vec<Extent> = Vec::new();
            for (i, _) in covered.iter().enumerate().filter(|(_, c)| **c) {
                push_extent(&mut want, i as u64, i as u64 + 1);
            }
            assert_eq!(union(a.clone(), b.clone()), want, "{a:?} + {b:?}");
            assert_eq!(union(b, a), want);
        }
    }

    #[derive(Default)]
    struct Log {
        total: std::sync::Mutex<Option<u64>>,
        done: std::sync::Mutex<u64>,
    }

    impl Progress for Log {
        fn start(&self, total: u64) {
            assert!(self.total.lock().unwrap().is_none(), "start called twice");
            *self.total.lock().unwrap() = Some(total);
        }
        fn advance(&self, amount: u64) {
            assert!(self.total.lock().unwrap().is_some(), "advance before start");
            *self.done.lock().unwrap() += amount;
        }
    }

    fn three_level() -> Vec<Img> {
        const BS: u32 = 16 * 1024;
        const SIZE: u64 = 256 * 1024;
        let base = Img::dynamic(SIZE, BS, 1).block(0, 11, |_| true).block(3, 13, |s| s % 3 != 0);
        let mid = Img::diff(SIZE, BS, 2, &base, "base.vhd").block(3, 23, |s| s % 2 == 0).block(4, 24, |s| s >= 30);
        let child = Img::diff(SIZE - 1000, BS, 3, &mid, "mid.vhd").block(0, 31, |s| s == 1).block(7, 37, |_| false);
        vec![child, mid, base]
    }

    fn reader(chain: &[Img]) -> ChainReader {
        ChainReader::from_sources(chain.iter().map(|i| Box::new(i.build()) as Box<dyn ReadAt>).collect()).unwrap()
    }

    #[test]
    fn digest_and_write_raw_report_every_byte_once() {
        let chain = three_level();
        let r = reader(&chain).with_chunk_size(5000);
        let log = Log::default();
        let sum = r.digest_with(&log).unwrap();
        assert_eq!(sum, r.digest().unwrap());
        assert_eq!((*log.total.lock().unwrap(), *log.done.lock().unwrap()), (Some(r.size()), r.size()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.raw");
        let mut out = std::fs::File::create(&path).unwrap();
        let log = Log::default();
        r.write_raw_with(&mut out, &log).unwrap();
        assert_eq!((*log.total.lock().unwrap(), *log.done.lock().unwrap()), (Some(r.size()), r.size()));
        assert_eq!(std::fs::read(&path).unwrap(), model(&chain));
    }

    #[test]
    fn write_raw_leaves_holes_for_zero_data_in_allocated_blocks() {
        use std::os::unix::fs::MetadataExt;
        // 8 MiB disk, every 2 MiB block allocated with all bits set, data zero except one byte.
        let mut img = Img::dynamic(8 << 20, 2 << 20, 1);
        for n in 0..4 {
            img = img.block(n, 1, |_| true);
        }
        for b in &mut img.blocks {
            b.data.fill(0);
        }
        img.blocks[2].data[5000] = 7;
        let r = reader(std::slice::from_ref(&img));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.raw");
        let mut out = std::fs::File::create(&path).unwrap();
        r.write_raw(&mut out).unwrap();
        drop(out);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), 8 << 20);
        // Only the page holding the non-zero byte is written (file systems may round up).
        assert!(meta.blocks() * 512 <= 1 << 20, "{} bytes allocated", meta.blocks() * 512);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes, model(std::slice::from_ref(&img)));
        assert_eq!(bytes[(4 << 20) + 5000], 7);
    }
}
