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
pub enum Fill {
    /// Zero bytes.
    Zero,
    /// A constant byte.
    Byte(u8),
    /// `base + LBA` as u64 big-endian, 64 times per sector.
    Counter(u64),
    /// ChaCha8 with this seed, word position `LBA x 128`.
    Random(u64),
}

impl Fill {
    /// Whether every byte the pattern produces is zero.
    pub fn is_zero(self) -> bool {
        matches!(self, Fill::Zero | Fill::Byte(0))
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
