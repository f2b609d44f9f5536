//! The one layout of the workspace's test images: the image writer that the integration tests
//! ([`crate::build`]), the benchmarks ([`crate::bench`]), the fuzz targets' built-in chains and
//! the validator's unit-test helpers all go through.
//!
//! Sparse (dynamic or differencing) images are laid out as QEMU lays them out: footer copy at 0,
//! dynamic disk header at 512, BAT at 1536 (padded to a sector with 0xFF), each parent locator
//! payload in its own area after the BAT (in entry order), then the blocks in the order given
//! (each its sector bitmap, padded to a sector, then its data), then the trailing footer.
//!
//! The caller chooses every byte that carries meaning: the encoded footer, the parent fields,
//! each locator's platform code, data space field and area, each block's bitmap and data. This
//! module only places them and fills in the header's BAT and locator entries, so the same
//! layout serves clean images, odd ones (data under clear bits, locator data space in bytes)
//! and images larger than memory ([`FileSink`]).
//!
//! Only bytes and plain numbers cross this interface, because the validator's own unit tests use
//! it too (as a dev-dependency). In those tests the validator's types (`HardDiskFooter`,
//! `DiskType`, `Geometry`) are those of the crate under test, which is not the `vhd_validator`
//! this kit is built against: a value of one is not a value of the other. So those tests encode
//! their footer themselves and pass its 512 bytes, and keep, as small shims, what must speak the
//! crate's own types: `validator/src/check/testutil.rs` (the footer they encode, and the helpers
//! that edit a footer or header in place through a closure) and `validator/src/chain/testutil.rs`
//! (the description of a chain level and its naive read model).

#[cfg(unix)]
use std::fs::File;
use std::io;
use vhd_validator::format::bat::padded_bat_bytes;
use vhd_validator::format::{Bat, BlockGeometry, DynamicDiskHeader, ParentLocatorEntry, UNALLOCATED};

/// Offset of the BAT in every sparse test image, in bytes.
pub const BAT_OFFSET: u64 = 1536;

/// Where an image's bytes go, by file offset.
pub trait Sink {
    /// Writes `bytes` at `offset`; the bytes between the end of what was written and `offset`
    /// read as zero.
    ///
    /// # Errors
    /// I/O errors of the destination.
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()>;
}

impl Sink for Vec<u8> {
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let at = usize::try_from(offset).map_err(io::Error::other)?;
        let end = at + bytes.len();
        if self.len() < end {
            self.resize(end, 0);
        }
        self[at..end].copy_from_slice(bytes);
        Ok(())
    }
}

/// A new (empty) regular file written by offset. Sectors whose bytes are all zero are not
/// written: they stay holes, which read as zeros, so a 2040 GiB image with a few MiB of data
/// takes a few MiB.
#[cfg(unix)]
pub struct FileSink(pub File);

#[cfg(unix)]
impl Sink for FileSink {
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        for (k, sector) in bytes.chunks(512).enumerate() {
            if sector.iter().any(|&b| b != 0) {
                self.0.write_all_at(sector, offset + 512 * k as u64)?;
            }
        }
        Ok(())
    }
}

/// The parent fields of a dynamic disk header (a differencing disk's parent).
#[derive(Clone, Debug, Default)]
pub struct Parent {
    /// Parent unique id (header offset 40).
    pub unique_id: [u8; 16],
    /// Parent time stamp, VHD seconds (header offset 56).
    pub timestamp: u32,
    /// Parent unicode name (stored UTF-16BE at header offset 64).
    pub name: String,
}

/// One parent locator: its entry fields and the area after the BAT that holds its payload.
#[derive(Clone, Debug)]
pub struct Locator {
    /// Raw platform code.
    pub code: u32,
    /// Raw platform data space field.
    pub space: u32,
    /// Bytes the payload's area takes in the file (a multiple of 512, at least the payload).
    pub area: u64,
    /// Payload bytes; the entry's data length is their count.
    pub payload: Vec<u8>,
}

impl Locator {
    /// Data space in sectors, as the spec says and QEMU writes: the payload rounded up to whole
    /// sectors (at least one), its area that many sectors.
    pub fn in_sectors(code: u32, payload: Vec<u8>) -> Locator {
        let sectors = (payload.len() as u64).div_ceil(512).max(1);
        Locator { code, space: u32::try_from(sectors).expect("small locator"), area: sectors * 512, payload }
    }

    /// Data space in bytes, as Hyper-V writes: the payload rounded up to whole sectors (at least
    /// one), its area that many bytes.
    pub fn in_bytes(code: u32, payload: Vec<u8>) -> Locator {
        let area = (payload.len() as u64).div_ceil(512).max(1) * 512;
        Locator { code, space: u32::try_from(area).expect("small locator"), area, payload }
    }
}

/// A sparse image's metadata.
#[derive(Clone, Debug)]
pub struct Sparse {
    /// The encoded hard disk footer, written at 0 and after the last block.
    pub footer: [u8; 512],
    /// Virtual size in bytes: the BAT has one entry per block of it.
    pub size: u64,
    /// Block size in bytes (a non-zero multiple of 512).
    pub block_size: u32,
    /// Parent fields of the header (none: all zero).
    pub parent: Option<Parent>,
    /// Parent locators, in entry order (at most 8).
    pub locators: Vec<Locator>,
}

/// One allocated block, in file order.
#[derive(Clone, Debug)]
pub struct Block {
    /// Block number (BAT index, below the entry count).
    pub index: u32,
    /// Sector bitmap bytes (at most the bitmap's size; padded with zeros to whole sectors).
    pub bitmap: Vec<u8>,
    /// The block's data: `block_size` bytes, stored whatever the bitmap says.
    pub data: Vec<u8>,
}

/// Where the pieces of a written image went (file offsets in bytes).
#[derive(Clone, Debug, Default)]
pub struct Placement {
    /// The BAT.
    pub bat_offset: u64,
    /// Each locator's payload, in entry order.
    pub locator_offsets: Vec<u64>,
    /// (block number, offset of its sector bitmap) of each block, in file order.
    pub block_offsets: Vec<(u32, u64)>,
    /// The trailing footer (the file is 512 bytes longer).
    pub footer_offset: u64,
}

/// Writes the sparse image `spec` with `blocks` (each written as soon as the iterator yields
/// it) to `out` (see the module doc for the layout).
///
/// # Errors
/// I/O errors of `out`.
///
/// # Panics
/// When the block size is not a multiple of 512, a block number is past the BAT, a block's data
/// is not one block, or there are more than 8 locators.
pub fn write_sparse(
    out: &mut dyn Sink,
    spec: &Sparse,
    blocks: impl IntoIterator<Item = Block>,
) -> io::Result<Placement> {
    let g = BlockGeometry::new(spec.block_size).expect("block size a multiple of 512");
    let entries = u32::try_from(g.blocks_for(spec.size)).expect("BAT fits u32");
    let mut next = BAT_OFFSET + padded_bat_bytes(entries);
    let mut header = DynamicDiskHeader::new(BAT_OFFSET, entries, spec.block_size);
    if let Some(p) = &spec.parent {
        header.parent_unique_id = p.unique_id;
        header.parent_timestamp = p.timestamp;
        header.set_parent_name(&p.name);
    }
    let mut placed = Placement { bat_offset: BAT_OFFSET, ..Placement::default() };
    assert!(spec.locators.len() <= header.parent_locators.len(), "at most 8 locators");
    for (entry, l) in header.parent_locators.iter_mut().zip(&spec.locators) {
        *entry = ParentLocatorEntry {
            platform_code: l.code,
            platform_data_space: l.space,
            platform_data_length: u32::try_from(l.payload.len()).expect("small locator"),
            reserved: 0,
            platform_data_offset: next,
        };
        out.write_at(next, &l.payload)?;
        placed.locator_offsets.push(next);
        next += l.area;
    }
    header.seal();
    let mut bat = Bat { entries: vec![UNALLOCATED; entries as usize] };
    let mut bitmap = vec![0u8; g.bitmap_bytes() as usize];
    for b in blocks {
        let slot = bat.entries.get_mut(b.index as usize).expect("block number past the BAT");
        *slot = u32::try_from(next / 512).expect("sector number fits u32");
        assert_eq!(b.data.len() as u64, g.block_size, "block data of one block");
        bitmap.fill(0);
        bitmap[..b.bitmap.len()].copy_from_slice(&b.bitmap);
        out.write_at(next, &bitmap)?;
        out.write_at(next + g.bitmap_bytes(), &b.data)?;
        placed.block_offsets.push((b.index, next));
        next += g.span_bytes();
    }
    out.write_at(0, &spec.footer)?;
    out.write_at(512, &header.encode())?;
    out.write_at(BAT_OFFSET, &bat.encode_padded(0xFF))?;
    out.write_at(next, &spec.footer)?;
    placed.footer_offset = next;
    Ok(placed)
}

/// [`write_sparse`] into memory: the image bytes and where their pieces went.
pub fn sparse(spec: &Sparse, blocks: impl IntoIterator<Item = Block>) -> (Vec<u8>, Placement) {
    let mut bytes = Vec::new();
    let placed = write_sparse(&mut bytes, spec, blocks).expect("writing to memory cannot fail");
    (bytes, placed)
}

/// A fixed image: `data` followed by the encoded `footer`.
pub fn fixed(mut data: Vec<u8>, footer: &[u8; 512]) -> Vec<u8> {
    data.extend_from_slice(footer);
    data
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_file_holds_the_bytes_written_to_memory() {
        let spec = Sparse {
            footer: [0x11; 512],
            size: 5 << 12,
            block_size: 4096,
            parent: Some(Parent { unique_id: [3; 16], timestamp: 9, name: "p.vhd".into() }),
            locators: vec![Locator::in_sectors(1, vec![5; 600]), Locator::in_bytes(2, vec![6; 10])],
        };
        let mut data = vec![0u8; 4096];
        data[1024..1030].fill(0xAB);
        let blocks = || {
            vec![
                Block { index: 4, bitmap: vec![0x20], data: data.clone() },
                Block { index: 1, bitmap: vec![], data: vec![0; 4096] },
            ]
        };
        let (bytes, placed) = sparse(&spec, blocks());
        let path = std::env::temp_dir().join(format!("vhd-testkit-layout-{}.vhd", std::process::id()));
        let mut file = FileSink(File::create(&path).expect("create"));
        write_sparse(&mut file, &spec, blocks()).expect("write");
        drop(file);
        assert_eq!(std::fs::read(&path).expect("read back"), bytes);
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(placed.locator_offsets, [1536 + 512, 1536 + 512 + 1024]);
        assert_eq!(placed.block_offsets, [(4, 1536 + 512 + 1536), (1, 1536 + 512 + 1536 + 4608)]);
        assert_eq!(bytes.len() as u64, placed.footer_offset + 512);
    }
}
