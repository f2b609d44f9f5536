//! Benchmark images (docs/PERFORMANCE.md): a fully written dynamic disk, a huge mostly-empty
//! dynamic disk, and differencing children with scattered 4 KiB writes, in 2 MiB blocks. They are
//! written through [`crate::layout`] to a [`FileSink`] block by block (memory stays at one
//! block), and sectors that hold zeros are left as holes, so a 1 GiB child with a few MiB written
//! takes a few MiB of tmpfs.
//!
//! Everything is deterministic: data comes from the kit's [`Rng`] seeded per image.

use crate::layout::{self, Block, FileSink, Locator};
use crate::Rng;
use std::fs::OpenOptions;
use std::io;
use std::path::Path;
use vhd_validator::check::Layout;
use vhd_validator::format::bitmap::set_bit;
use vhd_validator::format::locator::encode_utf16le;
use vhd_validator::format::{BlockGeometry, DiskType, HardDiskFooter, PlatformCode};
use vhd_validator::io::FileSource;

/// 2 MiB: the block size of qemu-img, Hyper-V and VirtualBox dynamic disks.
pub const BLOCK_SIZE: u32 = 2 << 20;

/// The generator of an image seeded `seed`.
fn rng(seed: u64) -> Rng {
    Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
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

/// Writes a dynamic (`parent` None) or differencing disk of `size` bytes to `path` with
/// [`layout::write_sparse`]: a `W2ru` locator `.\NAME` for a child, then the `blocks` in the
/// order the iterator yields them. Returns the footer written.
///
/// # Errors
/// I/O errors creating or writing the file.
pub fn write_sparse(
    path: &Path,
    size: u64,
    uid_seed: u64,
    parent: Option<&ParentRef>,
    blocks: impl IntoIterator<Item = Block>,
) -> io::Result<HardDiskFooter> {
    let kind = if parent.is_some() { DiskType::Differencing } else { DiskType::Dynamic };
    let mut footer = HardDiskFooter::new(kind, size, 512);
    let mut rng = rng(uid_seed);
    footer.unique_id[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    footer.unique_id[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    footer.timestamp = 700_000_000;
    footer.seal();
    let spec = layout::Sparse {
        footer: footer.encode(),
        size,
        block_size: BLOCK_SIZE,
        parent: parent.map(|p| layout::Parent {
            unique_id: p.unique_id,
            timestamp: p.timestamp,
            name: p.file_name.clone(),
        }),
        locators: parent
            .map(|p| {
                vec![Locator::in_sectors(PlatformCode::W2ru.raw(), encode_utf16le(&format!(".\\{}", p.file_name)))]
            })
            .unwrap_or_default(),
    };
    let mut out = FileSink(OpenOptions::new().write(true).create(true).truncate(true).open(path)?);
    layout::write_sparse(&mut out, &spec, blocks)?;
    out.0.sync_all()?;
    Ok(footer)
}

fn geometry() -> BlockGeometry {
    BlockGeometry::new(BLOCK_SIZE).expect("2 MiB blocks")
}

/// A dynamic disk of `size` bytes whose every block is allocated and written with random data
/// (every bitmap bit set).
///
/// # Errors
/// As [`write_sparse`].
pub fn write_full_dynamic(path: &Path, size: u64, seed: u64) -> io::Result<HardDiskFooter> {
    let g = geometry();
    let mut rng = rng(seed);
    let bitmap = vec![0xFFu8; g.bitmap_used_bytes() as usize];
    let blocks = (0..g.blocks_for(size)).map(move |n| {
        let mut data = vec![0u8; BLOCK_SIZE as usize];
        rng.fill(&mut data);
        Block { index: u32::try_from(n).expect("block number fits u32"), bitmap: bitmap.clone(), data }
    });
    write_sparse(path, size, seed, None, blocks)
}

/// A dynamic disk of `size` bytes with random data at the given `(offset, length)` ranges
/// (sector-aligned, each within one block), the rest unallocated.
///
/// # Errors
/// As [`write_sparse`].
pub fn write_sparse_dynamic(path: &Path, size: u64, seed: u64, ranges: &[(u64, u64)]) -> io::Result<HardDiskFooter> {
    write_sparse(path, size, seed, None, range_blocks(seed, ranges))
}

/// A differencing child of `parent` with random data written at the given ranges (as
/// [`write_sparse_dynamic`]).
///
/// # Errors
/// As [`write_sparse`].
pub fn write_child(
    path: &Path,
    size: u64,
    seed: u64,
    parent: &ParentRef,
    ranges: &[(u64, u64)],
) -> io::Result<HardDiskFooter> {
    write_sparse(path, size, seed, Some(parent), range_blocks(seed, ranges))
}

/// The blocks that hold `ranges` (sorted first), one at a time, with random data in the ranges.
fn range_blocks(seed: u64, ranges: &[(u64, u64)]) -> impl Iterator<Item = Block> {
    let g = geometry();
    let mut sorted: Vec<(u64, u64)> = ranges.to_vec();
    sorted.sort_unstable();
    let mut rng = rng(seed.wrapping_add(1));
    let mut i = 0;
    std::iter::from_fn(move || {
        let block = sorted.get(i)?.0 / g.block_size;
        let mut bitmap = vec![0u8; g.bitmap_used_bytes() as usize];
        let mut data = vec![0u8; BLOCK_SIZE as usize];
        while let Some(&(off, len)) = sorted.get(i).filter(|r| r.0 / g.block_size == block) {
            let in_block = off % g.block_size;
            let end = (in_block + len).min(g.block_size);
            for s in in_block / 512..end.div_ceil(512) {
                set_bit(&mut bitmap, s);
            }
            rng.fill(&mut data[in_block as usize..end as usize]);
            i += 1;
        }
        Some(Block { index: u32::try_from(block).expect("block number fits u32"), bitmap, data })
    })
}

/// `count` distinct 4 KiB-aligned writes of 4 KiB scattered over a disk of `size` bytes.
pub fn scattered_writes(size: u64, count: usize, seed: u64) -> Vec<(u64, u64)> {
    let mut rng = rng(seed);
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
///
/// # Errors
/// As [`write_sparse`], or reading a parent back.
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

#[cfg(test)]
mod tests {
    use super::*;
    use vhd_validator::chain::ChainReader;
    use vhd_validator::check::CheckOptions;

    #[test]
    fn images_check_clean_and_read_back() {
        let dir = std::env::temp_dir().join(format!("vhd-testkit-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let top = build_chain(&dir, &dir.join("base.vhd"), 8 << 20, 2, 16).expect("chain");
        crate::assert_no_errors("bench chain", &crate::check(&top, &crate::fixed_opts()));
        let r = ChainReader::open(&top, &CheckOptions::default()).expect("open the chain");
        assert_eq!((r.depth(), r.size()), (3, 8 << 20));

        let sparse = dir.join("sparse.vhd");
        write_sparse_dynamic(&sparse, 64 << 20, 2, &[(4 << 20, 4096), (9 << 20, 512)]).expect("sparse image");
        crate::assert_no_errors("bench sparse", &crate::check(&sparse, &crate::fixed_opts()));
        let r = ChainReader::open(&sparse, &CheckOptions::default()).expect("open the sparse image");
        let mut page = vec![0u8; 4096];
        for (at, len, written) in [(4 << 20, 4096, true), (9 << 20, 512, true), ((9 << 20) + 512, 512, false)] {
            r.read_at(at, &mut page[..len]).expect("read");
            assert_eq!(page[..len].iter().any(|&b| b != 0), written, "bytes at {at}");
        }
        std::fs::remove_dir_all(&dir).expect("remove the temporary directory");
    }
}
