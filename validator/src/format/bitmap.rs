//! Sector bitmaps (spec §Block Allocation Table and Data Blocks): one bit per sector of a
//! block, most significant bit first (bit 7 of byte 0 is sector 0). Dynamic disks: set = the
//! sector holds data; differencing disks: set = read the sector from this file, clear = from
//! the parent.

/// A view of a sector bitmap's bytes.
#[derive(Clone, Copy, Debug)]
pub struct SectorBitmap<'a>(pub &'a [u8]);

impl SectorBitmap<'_> {
    /// Whether the bit of sector `i` (within the block) is set; `false` past the bitmap.
    pub fn is_set(&self, i: u64) -> bool {
        usize::try_from(i / 8).ok().and_then(|byte| self.0.get(byte)).is_some_and(|b| (b >> (7 - (i % 8))) & 1 == 1)
    }

    /// Length of the run of equal bits starting at sector `start`, at most `limit` sectors (at
    /// least 1 when `limit` is; bits past the bitmap are clear): whole 64-bit words at a time
    /// where aligned, and a clear run that reaches the end of the bitmap runs to `limit` at once
    /// (a 4 KiB file can give 2^31-byte blocks of 4M sectors whose bitmaps it does not hold).
    pub fn run_len(&self, start: u64, limit: u64) -> u64 {
        let set = self.is_set(start);
        let end = start.saturating_add(limit);
        let mut i = start.saturating_add(1);
        let past = u64::try_from(self.0.len()).unwrap_or(u64::MAX).saturating_mul(8);
        while i < end {
            if !set && i >= past {
                i = end;
                break;
            }
            if i.is_multiple_of(64) && end - i >= 64 {
                let differ = self.word_at(i / 8) ^ if set { u64::MAX } else { 0 };
                if differ == 0 {
                    i += 64;
                    continue;
                }
                i += u64::from(differ.leading_zeros());
                break;
            }
            if self.is_set(i) != set {
                break;
            }
            i += 1;
        }
        (i - start).min(limit)
    }

    /// The 8 bytes from byte `byte`, big-endian (zeros past the bitmap).
    fn word_at(&self, byte: u64) -> u64 {
        let mut w = [0u8; 8];
        if let Some(src) = usize::try_from(byte).ok().and_then(|b| self.0.get(b..)) {
            let n = src.len().min(8);
            w[..n].copy_from_slice(&src[..n]);
        }
        u64::from_be_bytes(w)
    }

    /// Whether any of the first `count` bits is set.
    pub fn any_set(&self, count: u64) -> bool {
        (0..count).any(|i| self.is_set(i))
    }
}

/// Sets the bit of sector `i` in `bitmap` (no-op past its end).
pub fn set_bit(bitmap: &mut [u8], i: u64) {
    if let Some(b) = usize::try_from(i / 8).ok().and_then(|byte| bitmap.get_mut(byte)) {
        *b |= 0x80 >> (i % 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msb_first() {
        let bytes = [0b1000_0001u8, 0xFF, 0x00];
        let b = SectorBitmap(&bytes);
        assert!(b.is_set(0) && !b.is_set(1) && b.is_set(7) && b.is_set(8) && !b.is_set(16));
        assert!(!b.is_set(1000));
        assert_eq!(b.run_len(7, 100), 9);
        assert_eq!(b.run_len(16, 100), 100);
        let mut m = [0u8; 2];
        set_bit(&mut m, 9);
        assert_eq!(m, [0, 0x40]);
    }

    #[test]
    fn run_len_matches_the_bit_by_bit_definition() {
        let by_bits = |b: &SectorBitmap, start: u64, limit: u64| {
            let first = b.is_set(start);
            (1..limit).find(|&n| b.is_set(start + n) != first).unwrap_or(limit)
        };
        // Bitmaps with long runs, short runs, word boundaries and bits past the slice.
        let mut seed = 0x1234_5678_u64;
        let mut bitmaps: Vec<Vec<u8>> = vec![vec![], vec![0xFF; 40], vec![0; 40], vec![0xAA; 17]];
        for len in [1usize, 8, 9, 64, 70] {
            let mut b = vec![0u8; len];
            for x in &mut b {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                // Mostly uniform bytes, so that words of equal bits are common.
                *x = match (seed >> 60) % 4 {
                    0 => 0,
                    1 => 0xFF,
                    _ => (seed >> 32) as u8,
                };
            }
            bitmaps.push(b);
        }
        for bits in &bitmaps {
            let b = SectorBitmap(bits);
            let total = bits.len() as u64 * 8 + 80;
            for start in 0..total {
                for limit in [1, 2, 7, 63, 64, 65, 200, total - start] {
                    let want = by_bits(&b, start, limit);
                    assert_eq!(b.run_len(start, limit), want, "bits {bits:02x?} start {start} limit {limit}");
                }
            }
        }
    }
}
