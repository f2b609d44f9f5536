//! Benchmark images built with the crate's own format encoders (qemu cannot write differencing
//! disks): a fully written dynamic disk, a huge mostly-empty dynamic disk, and differencing
//! children with scattered 4 KiB writes. Images are streamed to disk block by block (memory
//! stays at one block), and sectors that hold zeros are left as holes, so a 1 GiB child with a
//! few MiB written takes a few MiB of tmpfs.
//!
//! Everything is deterministic: data comes from a SplitMix64 generator seeded per image.

#![allow(dead_code)] // Each bench target uses part of this module.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use vhd_validator::check::Layout;
use vhd_validator::format::bat::padded_bat_bytes;
use vhd_validator::format::bitmap::set_bit;
use vhd_validator::format::locator::encode_utf16le;
use vhd_validator::format::{
    Bat, BlockGeometry, DiskType, DynamicDiskHeader, HardDiskFooter, PlatformCode, UNALLOCATED,
};
use vhd_validator::io::FileSource;

/// 2 MiB: the block size of qemu-img, Hyper-V and VirtualBox dynamic disks.
pub const BLOCK_SIZE: u32 = 2 << 20;

/// SplitMix64: a fast deterministic byte source.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

/// The parent fields a differencing child records.
#[derive(Clone, Debug)]
pub struct ParentRef {
    /// The parent's footer unique id.
    pub unique_id: [u8; 16],
    /// The parent's footer time stamp.
    pub timestamp: u32,
    /// The parent's file name (written as parent unicode name and as a `W2ru` locator `.\NAME`).
    pub file_name: String,
}

impl ParentRef {
    /// Reads the unique id and time stamp of the VHD at `path`.
    pub fn of(path: &Path) -> io::Result<ParentRef> {
        let src = FileSource::open(path)?;
        let layout = Layout::parse(&src);
        let footer = layout
            .footer()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("{}: not a VHD", path.display())))?;
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("parent.vhd").to_string();
        Ok(ParentRef { unique_id: footer.unique_id, timestamp: footer.timestamp, file_name })
    }
}

/// One allocated block to write: its number, the bits that carry sectors, and the data of
/// the block (`block size` bytes; sectors that are all zero are left as holes).
pub struct BlockData<'a> {
    /// Block number (BAT index).
    pub index: u32,
    /// Sector bitmap bytes (at most the bitmap size).
    pub bitmap: &'a [u8],
    /// Block data.
    pub data: &'a [u8],
}

/// Receives the blocks of an image being written, one at a time.
pub type BlockSink<'a> = dyn FnMut(BlockData) -> io::Result<()> + 'a;

/// Writes a dynamic (`parent` None) or differencing disk of `size` bytes to `path`: footer copy,
/// dynamic disk header at 512, BAT at 1536, a `W2ru` locator for a child, the blocks that
/// `blocks` yields in order (call it with a callback that receives one [`BlockData`] at a
/// time), and the trailing footer. Returns the footer written.
pub fn write_sparse(
    path: &Path,
    size: u64,
    uid_seed: u64,
    parent: Option<&ParentRef>,
    blocks: &mut dyn FnMut(&mut BlockSink) -> io::Result<()>,
) -> io::Result<HardDiskFooter> {
    let g = BlockGeometry::new(BLOCK_SIZE).ok_or_else(|| io::Error::other("block size"))?;
    let entries = u32::try_from(g.blocks_for(size)).map_err(|_| io::Error::other("too many blocks"))?;
    let kind = if parent.is_some() { DiskType::Differencing } else { DiskType::Dynamic };
    let mut footer = HardDiskFooter::new(kind, size, 512);
    let mut rng = Rng::new(uid_seed);
    footer.unique_id[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    footer.unique_id[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    footer.timestamp = 700_000_000;
    footer.seal();
    let bat_off = 1536u64;
    let mut next = bat_off + padded_bat_bytes(entries);
    let mut header = DynamicDiskHeader::new(bat_off, entries, BLOCK_SIZE);
    let out = OpenOptions::new().write(true).create(true).truncate(true).open(path)?;
    if let Some(p) = parent {
        header.parent_unique_id = p.unique_id;
        header.parent_timestamp = p.timestamp;
        header.set_parent_name(&p.file_name);
        let payload = encode_utf16le(&format!(".\\{}", p.file_name));
        let padded = payload.len().div_ceil(512).max(1) * 512;
        let e = &mut header.parent_locators[0];
        e.platform_code = PlatformCode::W2ru.raw();
        e.platform_data_space = u32::try_from(padded / 512).map_err(io::Error::other)?;
        e.platform_data_length = u32::try_from(payload.len()).map_err(io::Error::other)?;
        e.platform_data_offset = next;
        out.write_all_at(&payload, next)?;
        next += padded as u64;
    }
    header.seal();
    let mut bat = Bat { entries: vec![UNALLOCATED; entries as usize] };
    let bitmap_bytes = usize::try_from(g.bitmap_bytes()).map_err(io::Error::other)?;
    let mut sink = |b: BlockData| -> io::Result<()> {
        let slot = bat.entries.get_mut(b.index as usize).ok_or_else(|| io::Error::other("block index"))?;
        *slot = u32::try_from(next / 512).map_err(io::Error::other)?;
        let mut bm = b.bitmap.to_vec();
        bm.resize(bitmap_bytes, 0);
        out.write_all_at(&bm, next)?;
        let data_at = next + g.bitmap_bytes();
        for (k, sector) in b.data.chunks(512).enumerate() {
            if sector.iter().any(|&x| x != 0) {
                out.write_all_at(sector, data_at + k as u64 * 512)?;
            }
        }
        next += g.span_bytes();
        Ok(())
    };
    blocks(&mut sink)?;
    out.write_all_at(&footer.encode(), 0)?;
    out.write_all_at(&header.encode(), 512)?;
    out.write_all_at(&bat.encode_padded(0xFF), bat_off)?;
    out.write_all_at(&footer.encode(), next)?;
    out.set_len(next + 512)?;
    out.sync_all()?;
    Ok(footer)
}

/// A dynamic disk of `size` bytes whose every block is allocated and written with random data
/// (every bitmap bit set).
pub fn write_full_dynamic(path: &Path, size: u64, seed: u64) -> io::Result<HardDiskFooter> {
    let g = BlockGeometry::new(BLOCK_SIZE).ok_or_else(|| io::Error::other("block size"))?;
    let mut rng = Rng::new(seed);
    let bitmap = vec![0xFFu8; usize::try_from(g.bitmap_used_bytes()).map_err(io::Error::other)?];
    let mut data = vec![0u8; BLOCK_SIZE as usize];
    write_sparse(path, size, seed, None, &mut |sink| {
        for n in 0..g.blocks_for(size) {
            rng.fill(&mut data);
            let index = u32::try_from(n).map_err(io::Error::other)?;
            sink(BlockData { index, bitmap: &bitmap, data: &data })?;
        }
        Ok(())
    })
}

/// A dynamic disk of `size` bytes with random data at the given `(offset, length)` ranges
/// (sector-aligned, each within one block), the rest unallocated.
pub fn write_sparse_dynamic(path: &Path, size: u64, seed: u64, ranges: &[(u64, u64)]) -> io::Result<HardDiskFooter> {
    write_with_ranges(path, size, seed, None, ranges)
}

/// A differencing child of `parent` with random data written at the given ranges (as
/// [`write_sparse_dynamic`]).
pub fn write_child(
    path: &Path,
    size: u64,
    seed: u64,
    parent: &ParentRef,
    ranges: &[(u64, u64)],
) -> io::Result<HardDiskFooter> {
    write_with_ranges(path, size, seed, Some(parent), ranges)
}

fn write_with_ranges(
    path: &Path,
    size: u64,
    seed: u64,
    parent: Option<&ParentRef>,
    ranges: &[(u64, u64)],
) -> io::Result<HardDiskFooter> {
    let g = BlockGeometry::new(BLOCK_SIZE).ok_or_else(|| io::Error::other("block size"))?;
    let mut sorted: Vec<(u64, u64)> = ranges.to_vec();
    sorted.sort_unstable();
    let mut rng = Rng::new(seed.wrapping_add(1));
    let used = usize::try_from(g.bitmap_used_bytes()).map_err(io::Error::other)?;
    write_sparse(path, size, seed, parent, &mut |sink| {
        let mut i = 0;
        while i < sorted.len() {
            let block = sorted[i].0 / g.block_size;
            let mut bitmap = vec![0u8; used];
            let mut data = vec![0u8; BLOCK_SIZE as usize];
            while i < sorted.len() && sorted[i].0 / g.block_size == block {
                let (off, len) = sorted[i];
                let in_block = off % g.block_size;
                let end = (in_block + len).min(g.block_size);
                for s in in_block / 512..end.div_ceil(512) {
                    set_bit(&mut bitmap, s);
                }
                rng.fill(&mut data[in_block as usize..end as usize]);
                i += 1;
            }
            let index = u32::try_from(block).map_err(io::Error::other)?;
            sink(BlockData { index, bitmap: &bitmap, data: &data })?;
        }
        Ok(())
    })
}

/// `count` distinct 4 KiB-aligned writes of 4 KiB scattered over a disk of `size` bytes.
pub fn scattered_writes(size: u64, count: usize, seed: u64) -> Vec<(u64, u64)> {
    let mut rng = Rng::new(seed);
    let pages = size / 4096;
    let mut picked = std::collections::BTreeSet::new();
    while picked.len() < count.min(pages as usize) {
        picked.insert(rng.below(pages));
    }
    picked.into_iter().map(|p| (p * 4096, 4096)).collect()
}

/// Builds `base` (a fully written dynamic disk of `size` bytes, unless `base` exists already)
/// and `depth` differencing levels `level1.vhd` .. `levelN.vhd` in `dir`, each a child of
/// the previous one with `writes` scattered 4 KiB writes. Returns the path of the top child.
pub fn build_chain(dir: &Path, base: &Path, size: u64, depth: usize, writes: usize) -> io::Result<std::path::PathBuf> {
    if !base.exists() {
        write_full_dynamic(base, size, 1)?;
    }
    let mut parent = base.to_path_buf();
    for level in 1..=depth {
        let path = dir.join(format!("level{level}.vhd"));
        let p = ParentRef::of(&parent)?;
        write_child(&path, size, 100 + level as u64, &p, &scattered_writes(size, writes, level as u64))?;
        parent = path;
    }
    Ok(parent)
}

/// Opens `path` for reading (for flat-file baselines).
pub fn open(path: &Path) -> io::Result<File> {
    File::open(path)
}
