//! The block allocation table (spec §Block Allocation Table and Data Blocks): `max table
//! entries` big-endian u32 at the header's table offset, padded to a sector boundary. Each entry
//! is the absolute **sector** number of a block's sector bitmap, or [`UNALLOCATED`].

use byteorder::{BigEndian, ByteOrder};

/// BAT entry value of a block that is not allocated.
pub const UNALLOCATED: u32 = 0xFFFF_FFFF;

/// The BAT as stored: one u32 per block.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Bat {
    /// Entries in block order; `entries[n]` is the bitmap sector of block n.
    pub entries: Vec<u32>,
}

impl Bat {
    /// Decodes whole big-endian u32s from `bytes` (a trailing partial entry is ignored).
    pub fn decode(bytes: &[u8]) -> Bat {
        Bat { entries: bytes.chunks_exact(4).map(BigEndian::read_u32).collect() }
    }

    /// Encodes the entries and pads with `pad` bytes to a multiple of 512 bytes.
    pub fn encode_padded(&self, pad: u8) -> Vec<u8> {
        let len = self.entries.len() * 4;
        let mut out = vec![pad; len.div_ceil(512) * 512];
        for (i, e) in self.entries.iter().enumerate() {
            BigEndian::write_u32(&mut out[4 * i..4 * i + 4], *e);
        }
        out
    }

    /// The entry of block `n`, or `None` past the table.
    pub fn get(&self, n: u64) -> Option<u32> {
        usize::try_from(n).ok().and_then(|i| self.entries.get(i).copied())
    }

    /// Iterates `(block number, bitmap sector)` over allocated entries.
    pub fn allocated(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.entries.iter().enumerate().filter(|(_, &e)| e != UNALLOCATED).map(|(i, &e)| (i as u64, e))
    }
}

/// Size of the BAT on disk in bytes: `entries x 4`, rounded up to a sector.
pub fn padded_bat_bytes(max_table_entries: u32) -> u64 {
    (u64::from(max_table_entries) * 4).div_ceil(512) * 512
}

/// Derived sizes of a block (spec §Block Allocation Table and Data Blocks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockGeometry {
    /// Bytes of data per block.
    pub block_size: u64,
    /// Sectors of data per block.
    pub sectors_per_block: u64,
    /// Sectors the sector bitmap occupies: `ceil(sectors_per_block / 8 / 512)`, never 0.
    pub bitmap_sectors: u64,
}

impl BlockGeometry {
    /// Geometry for `block_size` bytes; `None` unless it is a non-zero multiple of 512
    /// (powers of two are required by the spec; that is checked as a rule, not here).
    pub fn new(block_size: u32) -> Option<BlockGeometry> {
        if block_size == 0 || !block_size.is_multiple_of(512) {
            return None;
        }
        let sectors_per_block = u64::from(block_size) / 512;
        Some(BlockGeometry {
            block_size: u64::from(block_size),
            sectors_per_block,
            bitmap_sectors: sectors_per_block.div_ceil(8).div_ceil(512).max(1),
        })
    }

    /// Bytes of the sector bitmap on disk (padded to a sector).
    pub fn bitmap_bytes(&self) -> u64 {
        self.bitmap_sectors * 512
    }

    /// Bytes of the bitmap that carry bits for the block's sectors.
    pub fn bitmap_used_bytes(&self) -> u64 {
        self.sectors_per_block.div_ceil(8)
    }

    /// Sectors a whole block occupies on disk (bitmap + data).
    pub fn span_sectors(&self) -> u64 {
        self.bitmap_sectors + self.sectors_per_block
    }

    /// Bytes a whole block occupies on disk (bitmap + data).
    pub fn span_bytes(&self) -> u64 {
        self.span_sectors() * 512
    }

    /// Number of blocks a disk of `current_size` bytes needs: `ceil(current_size / block_size)`.
    pub fn blocks_for(&self, current_size: u64) -> u64 {
        current_size.div_ceil(self.block_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_geometry() {
        let g = BlockGeometry::new(2 << 20).expect("valid");
        assert_eq!((g.sectors_per_block, g.bitmap_sectors, g.span_sectors()), (4096, 1, 4097));
        let g = BlockGeometry::new(512).expect("valid");
        assert_eq!((g.bitmap_sectors, g.bitmap_used_bytes()), (1, 1));
        let g = BlockGeometry::new(1 << 31).expect("valid");
        assert_eq!(g.bitmap_sectors, 1024);
        assert!(BlockGeometry::new(0).is_none() && BlockGeometry::new(1000).is_none());
    }

    #[test]
    fn bat_codec() {
        let bat = Bat { entries: vec![UNALLOCATED, 4, 4101] };
        let bytes = bat.encode_padded(0xFF);
        assert_eq!(bytes.len(), 512);
        assert_eq!(Bat::decode(&bytes[..12]), bat);
        assert_eq!(bat.allocated().collect::<Vec<_>>(), vec![(1, 4), (2, 4101)]);
        assert_eq!(padded_bat_bytes(129), 1024);
    }
}
