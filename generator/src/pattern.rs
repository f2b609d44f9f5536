//! Seeded randomness and the data patterns of writes.
//!
//! Every random value comes from ChaCha8 seeded with the scenario seed; each purpose (unique
//! ids, time stamps, block shuffling, write data) uses its own ChaCha stream number, so adding
//! one kind of randomness never shifts another. The clock is never read.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Stream numbers of the purposes randomness is drawn for.
#[derive(Clone, Copy, Debug)]
#[repr(u64)]
#[non_exhaustive]
pub enum Purpose {
    /// Footer unique ids (index = chain level).
    UniqueId = 1,
    /// Footer time stamps (index = chain level).
    Timestamp = 2,
    /// Default seeds of `random` write patterns (index = level << 32 | write index).
    WriteSeed = 3,
    /// Block shuffling (index = chain level).
    Shuffle = 4,
    /// The `random` subcommand (index = case number).
    RandomCase = 5,
    /// The `explore` subcommand (index = draw number).
    Explore = 6,
}

/// A ChaCha8 generator for `purpose` and `index` under `seed`.
pub fn rng(seed: u64, purpose: Purpose, index: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream((purpose as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index);
    r
}

/// A u64 drawn for `purpose` and `index` under `seed`.
pub fn derive_u64(seed: u64, purpose: Purpose, index: u64) -> u64 {
    rng(seed, purpose, index).next_u64()
}

/// A write pattern with every default resolved (the random seed is known).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fill {
    /// Zero bytes.
    Zero,
    /// A constant byte.
    Byte(u8),
    /// `base + LBA` as u64 big-endian, 64 times per sector.
    Counter(u64),
    /// ChaCha8 with this seed, word position `LBA x 128`.
    Random(u64),
    /// A partition table with one partition of `sectors` sectors from sector `start` on a disk
    /// of `disk` sectors (see [`partition_sector`]).
    Partition { gpt: bool, start: u64, sectors: u64, disk: u64 },
}

/// GPT partition type GUID of Microsoft basic data (EBD0A0A2-B9E5-4433-87C0-68B6B72699C7), in
/// its on-disk mixed-endian byte order.
const BASIC_DATA: [u8; 16] =
    [0xA2, 0xA0, 0xD0, 0xEB, 0xE5, 0xB9, 0x33, 0x44, 0x87, 0xC0, 0x68, 0xB6, 0xB7, 0x26, 0x99, 0xC7];

/// Writes sector `lba` of a partition table into `out` (512 bytes): sector 0 is an MBR with
/// one entry (type 0x07, or 0xEE protective for GPT), sector 1 the GPT header (revision 1.0,
/// 92 bytes, entries from LBA 2, 128 entries of 128 bytes, CRC32s of header and array), sectors
/// 2-33 the entry array with one basic data partition; every other sector is zero. MBR fields
/// that do not fit 32 bits are clamped to 0xFFFFFFFF (UEFI 2.10 §5.2.3).
pub fn partition_sector(gpt: bool, start: u64, sectors: u64, disk: u64, lba: u64, out: &mut [u8]) {
    out.fill(0);
    let entries = || {
        let mut a = vec![0u8; 128 * 128];
        a[0..16].copy_from_slice(&BASIC_DATA);
        a[16..32].copy_from_slice(&[0x11; 16]);
        a[32..40].copy_from_slice(&start.to_le_bytes());
        a[40..48].copy_from_slice(&start.saturating_add(sectors).saturating_sub(1).to_le_bytes());
        for (i, c) in "data".encode_utf16().enumerate() {
            a[56 + 2 * i..58 + 2 * i].copy_from_slice(&c.to_le_bytes());
        }
        a
    };
    let u32c = |v: u64| u32::try_from(v).unwrap_or(u32::MAX).to_le_bytes();
    match lba {
        0 if out.len() >= 512 => {
            let (kind, first, count) = if gpt { (0xEE, 1, disk.saturating_sub(1)) } else { (0x07, start, sectors) };
            out[446 + 4] = kind;
            out[446 + 8..446 + 12].copy_from_slice(&u32c(first));
            out[446 + 12..446 + 16].copy_from_slice(&u32c(count));
            out[510] = 0x55;
            out[511] = 0xAA;
        }
        1 if gpt && out.len() >= 512 => {
            let mut h = [0u8; 92];
            h[0..8].copy_from_slice(b"EFI PART");
            h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
            h[12..16].copy_from_slice(&92u32.to_le_bytes());
            h[24..32].copy_from_slice(&1u64.to_le_bytes());
            h[32..40].copy_from_slice(&disk.saturating_sub(1).to_le_bytes());
            h[40..48].copy_from_slice(&34u64.to_le_bytes());
            h[48..56].copy_from_slice(&disk.saturating_sub(34).to_le_bytes());
            h[56..72].copy_from_slice(&[0x22; 16]);
            h[72..80].copy_from_slice(&2u64.to_le_bytes());
            h[80..84].copy_from_slice(&128u32.to_le_bytes());
            h[84..88].copy_from_slice(&128u32.to_le_bytes());
            h[88..92].copy_from_slice(&crc32fast::hash(&entries()).to_le_bytes());
            let crc = crc32fast::hash(&h);
            h[16..20].copy_from_slice(&crc.to_le_bytes());
            out[..92].copy_from_slice(&h);
        }
        2..=33 if gpt && out.len() >= 512 => {
            let a = entries();
            let at = ((lba - 2) * 512) as usize;
            out[..512].copy_from_slice(&a[at..at + 512]);
        }
        _ => {}
    }
}

impl Fill {
    /// Whether every byte the pattern produces is zero.
    pub fn is_zero(self) -> bool {
        matches!(self, Fill::Zero | Fill::Byte(0))
    }

    /// Whether the bytes of a sector depend on the sector's LBA only through this value's
    /// fields (every pattern): two equal fills give equal bytes at the same LBA.
    pub fn same_bytes(self, other: Fill) -> bool {
        self == other || (self.is_zero() && other.is_zero())
    }

    /// Fills `buf` (a whole number of sectors) with the pattern's bytes for the sectors
    /// starting at `lba`.
    pub fn fill(self, lba: u64, buf: &mut [u8]) {
        match self {
            Fill::Zero => buf.fill(0),
            Fill::Byte(b) => buf.fill(b),
            Fill::Counter(base) => {
                for (i, sector) in buf.chunks_mut(512).enumerate() {
                    let v = base.wrapping_add(lba).wrapping_add(i as u64).to_be_bytes();
                    for word in sector.chunks_mut(8) {
                        let n = word.len();
                        word.copy_from_slice(v.get(..n).unwrap_or(&v));
                    }
                }
            }
            Fill::Random(seed) => {
                let mut r = ChaCha8Rng::seed_from_u64(seed);
                r.set_word_pos(u128::from(lba) * 128);
                r.fill_bytes(buf);
            }
            Fill::Partition { gpt, start, sectors, disk } => {
                for (i, sector) in buf.chunks_mut(512).enumerate() {
                    partition_sector(gpt, start, sectors, disk, lba.saturating_add(i as u64), sector);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_is_seekable_by_lba() {
        let mut whole = vec![0u8; 4 * 512];
        Fill::Random(9).fill(10, &mut whole);
        let mut part = vec![0u8; 512];
        Fill::Random(9).fill(12, &mut part);
        assert_eq!(&whole[1024..1536], &part[..]);
        assert_ne!(&whole[0..512], &whole[512..1024]);
    }

    #[test]
    fn counter_marks_each_sector() {
        let mut b = vec![0u8; 1024];
        Fill::Counter(100).fill(5, &mut b);
        assert_eq!(&b[0..8], &105u64.to_be_bytes());
        assert_eq!(&b[504..512], &105u64.to_be_bytes());
        assert_eq!(&b[512..520], &106u64.to_be_bytes());
    }

    #[test]
    fn streams_differ_by_purpose() {
        assert_ne!(derive_u64(1, Purpose::UniqueId, 0), derive_u64(1, Purpose::Timestamp, 0));
        assert_eq!(derive_u64(1, Purpose::UniqueId, 0), derive_u64(1, Purpose::UniqueId, 0));
    }
}
