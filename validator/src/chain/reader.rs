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
//! default 1 MiB) for [`ChainReader::digest`] and [`ChainReader::write_raw`]. Nothing is sized
//! by the virtual disk size. Reads proceed per block and per run of equal bitmap bits.

use super::resolve::{walk_chain, ResolvedChain};
use crate::check::{CheckOptions, Layout};
use crate::format::{BlockGeometry, DiskType, SectorBitmap, SECTOR_SIZE, UNALLOCATED};
use crate::io::{FileSource, ReadAt};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::fmt;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// Default chunk size of [`ChainReader::digest`] and [`ChainReader::write_raw`]: 1 MiB.
pub const DEFAULT_CHUNK_SIZE: usize = 1 << 20;
/// Largest chunk size [`ChainReader::set_chunk_size`] accepts (64 MiB); larger values are cut.
pub const MAX_CHUNK_SIZE: usize = 64 << 20;

/// Largest current size the reader gives a meaning to: 0xFF000000 sectors (2040 GiB), the most
/// that 32-bit BAT sector numbers can address (QEMU `VHD_MAX_SECTORS`; VirtualBox `VHD_MAX_SIZE`).
/// A larger footer current size (rule FOOTER-SIZE-MAX) makes the image unreadable, so that no
/// `digest` or `write_raw` runs over exabytes of zeros behind a small file.
pub const MAX_VIRTUAL_SIZE: u64 = 0xFF00_0000 * SECTOR_SIZE;

/// Why the virtual disk cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// I/O error on an image file.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The image or chain is too damaged to give its virtual disk a meaning.
    #[error("unreadable image: {0}")]
    Unreadable(String),
}

/// A range of the virtual disk where some image in the chain holds data (bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

fn unreadable(level: usize, why: impl fmt::Display) -> ReadError {
    ReadError::Unreadable(if level == 0 { why.to_string() } else { format!("ancestor {level}: {why}") })
}

impl Level {
    /// Builds a level from an image and its parsed structures.
    fn new(index: usize, src: Box<dyn ReadAt>, layout: &Layout) -> Result<Level, ReadError> {
        let Some(footer) = layout.footer() else {
            return Err(unreadable(index, "no usable hard disk footer (no \"conectix\" cookie)"));
        };
        let size = footer.current_size;
        if size > MAX_VIRTUAL_SIZE {
            return Err(unreadable(
                index,
                format!("current size {size} bytes exceeds the format maximum of {MAX_VIRTUAL_SIZE} bytes (2040 GiB)"),
            ));
        }
        let kind = match footer.kind() {
            DiskType::Fixed => Kind::Fixed { data_len: size.min(layout.footer_start()) },
            k @ (DiskType::Dynamic | DiskType::Differencing) => {
                if layout.header.is_none() {
                    return Err(unreadable(index, "sparse disk without a readable dynamic disk header"));
                }
                let Some(geom) = layout.block else {
                    return Err(unreadable(index, "dynamic disk header block size is not a non-zero multiple of 512"));
                };
                if layout.bat.entries.is_empty() && size > 0 {
                    return Err(unreadable(index, "the BAT lies outside the file"));
                }
                Kind::Sparse {
                    geom,
                    bat: layout.bat.entries.clone(),
                    differencing: k == DiskType::Differencing,
                    cache: RefCell::new(None),
                }
            }
            DiskType::Other(t) => return Err(unreadable(index, format!("unknown disk type {t}"))),
        };
        Ok(Level { src, size, kind })
    }
}

impl ChainReader {
    /// Opens `path` and resolves its parents as `opts` says (see [`super::resolve`]).
    ///
    /// # Errors
    /// [`ReadError::Io`] when `path` cannot be opened; [`ReadError::Unreadable`] when an image has
    /// no usable footer or a current size above [`MAX_VIRTUAL_SIZE`], a sparse image has no usable header, block size or BAT, or a parent
    /// cannot be resolved (missing, not a VHD, unique id mismatch, cycle, depth limit).
    pub fn open(path: &Path, opts: &CheckOptions) -> Result<ChainReader, ReadError> {
        let src = FileSource::open(path)?;
        let chain = walk_chain(path, src, opts);
        ChainReader::from_resolved(chain)
    }

    /// Builds a reader from a chain resolved by [`walk_chain`].
    ///
    /// # Errors
    /// As [`ChainReader::open`].
    pub fn from_resolved(chain: ResolvedChain) -> Result<ChainReader, ReadError> {
        if let Some(problem) = chain.problem() {
            return Err(ReadError::Unreadable(problem));
        }
        let mut levels = Vec::with_capacity(chain.links.len());
        for (i, link) in chain.links.into_iter().enumerate() {
            levels.push(Level::new(i, Box::new(link.src), &link.layout)?);
        }
        ChainReader::from_levels(levels)
    }

    /// Builds a reader from in-memory (or any) sources, child first: `levels[i + 1]` is taken
    /// as the parent of `levels[i]` without resolution or unique id checks (for fuzzing and
    /// tests). Levels after the first non-differencing image are ignored.
    ///
    /// # Errors
    /// [`ReadError::Unreadable`] when `levels` is empty, an image is unusable (as in
    /// [`ChainReader::open`]), or the last differencing image has no parent given.
    pub fn from_sources(levels: Vec<Box<dyn ReadAt>>) -> Result<ChainReader, ReadError> {
        let mut out = Vec::with_capacity(levels.len());
        for (i, src) in levels.into_iter().enumerate() {
            let layout = Layout::parse(&*src);
            let level = Level::new(i, src, &layout)?;
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
            return Err(ReadError::Unreadable("no image given".into()));
        };
        if let Some(Level { kind: Kind::Sparse { differencing: true, .. }, .. }) = levels.last() {
            return Err(unreadable(levels.len() - 1, "differencing disk without a parent"));
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
        self.read_level(0, offset, buf)
    }

    /// Reads `buf` from level `i` at virtual byte `offset` (zeros past its current size, and
    /// for a level that does not exist).
    fn read_level(&self, i: usize, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let Some(level) = self.levels.get(i) else {
            buf.fill(0);
            return Ok(());
        };
        let avail = level.size.saturating_sub(offset);
        let n = usize::try_from(avail).map_or(buf.len(), |a| a.min(buf.len()));
        let (buf, past) = buf.split_at_mut(n);
        past.fill(0);
        if buf.is_empty() {
            return Ok(());
        }
        match &level.kind {
            Kind::Fixed { data_len } => {
                let m = usize::try_from(data_len.saturating_sub(offset)).map_or(buf.len(), |a| a.min(buf.len()));
                let (data, zeros) = buf.split_at_mut(m);
                zeros.fill(0);
                read_zero_fill(&*level.src, offset, data)
            }
            Kind::Sparse { geom, bat, differencing, cache } => {
                let mut done = 0usize;
                while done < buf.len() {
                    let pos = offset.saturating_add(done as u64);
                    let block = pos / geom.block_size;
                    let in_block = pos % geom.block_size;
                    let piece = usize::try_from(geom.block_size - in_block)
                        .map_or(buf.len() - done, |p| p.min(buf.len() - done));
                    let out = &mut buf[done..done + piece];
                    let entry = usize::try_from(block).ok().and_then(|b| bat.get(b)).copied().unwrap_or(UNALLOCATED);
                    if entry == UNALLOCATED {
                        if *differencing {
                            self.read_level(i + 1, pos, out)?;
                        } else {
                            out.fill(0);
                        }
                    } else {
                        self.read_block(i, level, geom, cache, *differencing, block, entry, in_block, out)?;
                    }
                    done += piece;
                }
                Ok(())
            }
        }
    }

    /// Reads `out` from allocated block `block` (BAT entry `entry`) of level `i`, starting at
    /// byte `in_block` of the block, run by run of equal sector-bitmap bits.
    #[allow(clippy::too_many_arguments)]
    fn read_block(
        &self,
        i: usize,
        level: &Level,
        geom: &BlockGeometry,
        cache: &RefCell<Option<(u64, Vec<u8>)>>,
        differencing: bool,
        block: u64,
        entry: u32,
        in_block: u64,
        out: &mut [u8],
    ) -> Result<(), ReadError> {
        let bitmap_at = u64::from(entry) * SECTOR_SIZE;
        let data_at = bitmap_at.saturating_add(geom.bitmap_bytes());
        self.load_bitmap(level, geom, cache, block, bitmap_at)?;
        let block_start = block.saturating_mul(geom.block_size);
        let mut done = 0usize;
        while done < out.len() {
            let pos = in_block + done as u64;
            let sector = pos / SECTOR_SIZE;
            // Sectors touched by the rest of `out`.
            let last = (in_block + out.len() as u64 - 1) / SECTOR_SIZE;
            let (set, run) = {
                let c = cache.borrow();
                let bits: &[u8] = c.as_ref().map_or(&[], |(_, b)| b.as_slice());
                let bm = SectorBitmap(bits);
                (bm.is_set(sector), bm.run_len(sector, last - sector + 1))
            };
            let run_end = (sector + run) * SECTOR_SIZE;
            let len = usize::try_from(run_end - pos).map_or(out.len() - done, |l| l.min(out.len() - done));
            let dst = &mut out[done..done + len];
            if set {
                read_zero_fill(&*level.src, data_at.saturating_add(pos), dst)?;
            } else if differencing {
                self.read_level(i + 1, block_start.saturating_add(pos), dst)?;
            } else {
                dst.fill(0);
            }
            done += len;
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
        let bits = read_bitmap(&*level.src, geom, bitmap_at)?;
        *cache.borrow_mut() = Some((block, bits));
        Ok(())
    }

    /// Allocated extents of the virtual disk, in increasing order, merged: the ranges where some
    /// image of the chain holds data that the read semantics can return (fixed disks: their data
    /// region; sparse disks: runs of set sector-bitmap bits in allocated blocks), clipped to the
    /// current sizes of the image and all its descendants. Every byte outside the extents reads
    /// as zero. A bitmap that cannot be read counts its whole block as allocated.
    pub fn extents(&self) -> Vec<Extent> {
        let mut all: Vec<Extent> = Vec::new();
        let mut clip = self.size;
        for level in &self.levels {
            clip = clip.min(level.size);
            match &level.kind {
                Kind::Fixed { data_len } => push_extent(&mut all, 0, (*data_len).min(clip)),
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
                        let Ok(bits) = read_bitmap(&*level.src, geom, bitmap_at) else {
                            push_extent(&mut all, start, end);
                            continue;
                        };
                        let bm = SectorBitmap(&bits);
                        let mut s = 0;
                        while s < sectors {
                            let run = bm.run_len(s, sectors - s);
                            if bm.is_set(s) {
                                let a = start + s * SECTOR_SIZE;
                                let b = (start + (s + run) * SECTOR_SIZE).min(end);
                                push_extent(&mut all, a, b);
                            }
                            s += run;
                        }
                    }
                }
            }
        }
        all.sort_by_key(|e| e.offset);
        let mut merged: Vec<Extent> = Vec::with_capacity(all.len());
        for e in all {
            match merged.last_mut() {
                Some(m) if e.offset <= m.end() => {
                    let end = m.end().max(e.end());
                    m.length = end - m.offset;
                }
                _ => merged.push(e),
            }
        }
        merged
    }

    /// SHA-256 of the whole virtual disk (`size()` bytes), streamed in chunks of
    /// [`ChainReader::chunk_size`] bytes.
    ///
    /// # Errors
    /// [`ReadError::Io`] on I/O failure.
    pub fn digest(&self) -> Result<[u8; 32], ReadError> {
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; self.chunk];
        let mut pos = 0u64;
        while pos < self.size {
            let n = usize::try_from(self.size - pos).map_or(buf.len(), |r| r.min(buf.len()));
            let b = &mut buf[..n];
            self.read_at(pos, b)?;
            hasher.update(&*b);
            pos += n as u64;
        }
        Ok(hasher.finalize().into())
    }

    /// Writes the virtual disk as raw bytes to `out` from its start.
    ///
    /// For a regular file, the file is truncated, only the [`ChainReader::extents`] are read,
    /// all-zero chunks are skipped (left as holes) and the file is finally set to `size()` bytes,
    /// so that it is sparse where the file system allows. Any other file (a pipe, a terminal)
    /// gets every byte written in order.
    ///
    /// # Errors
    /// [`ReadError::Io`] on I/O failure reading the images or writing `out`.
    pub fn write_raw(&self, out: &mut File) -> Result<(), ReadError> {
        let mut buf = vec![0u8; self.chunk];
        if !out.metadata()?.is_file() {
            let mut pos = 0u64;
            while pos < self.size {
                let n = usize::try_from(self.size - pos).map_or(buf.len(), |r| r.min(buf.len()));
                self.read_at(pos, &mut buf[..n])?;
                out.write_all(&buf[..n])?;
                pos += n as u64;
            }
            out.flush()?;
            return Ok(());
        }
        out.set_len(0)?;
        for e in self.extents() {
            let end = e.end().min(self.size);
            let mut pos = e.offset;
            while pos < end {
                let n = usize::try_from(end - pos).map_or(buf.len(), |r| r.min(buf.len()));
                let b = &mut buf[..n];
                self.read_at(pos, b)?;
                if b.iter().any(|&x| x != 0) {
                    out.seek(SeekFrom::Start(pos))?;
                    out.write_all(b)?;
                }
                pos += n as u64;
            }
        }
        out.set_len(self.size)?;
        out.flush()?;
        Ok(())
    }
}

/// Reads the bitmap bytes that carry bits for a block's sectors (`bitmap_used_bytes`), as far as
/// the file holds them: bits past the end of the file read as clear.
fn read_bitmap(src: &dyn ReadAt, geom: &BlockGeometry, bitmap_at: u64) -> Result<Vec<u8>, ReadError> {
    let len = geom.bitmap_used_bytes().min(src.len().saturating_sub(bitmap_at));
    let len = usize::try_from(len).map_err(|_| ReadError::Unreadable("sector bitmap too large".into()))?;
    let mut bits = vec![0u8; len];
    read_zero_fill(src, bitmap_at, &mut bits)?;
    Ok(bits)
}

fn push_extent(v: &mut Vec<Extent>, start: u64, end: u64) {
    if end > start {
        v.push(Extent { offset: start, length: end - start });
    }
}
