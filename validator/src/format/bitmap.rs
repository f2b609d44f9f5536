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

    /// Length of the run of equal bits starting at sector `start`, at most `limit` sectors.
    pub fn run_len(&self, start: u64, limit: u64) -> u64 {
        let first = self.is_set(start);
        let mut n = 1;
        while n < limit {
            let i = start + n;
            // Whole bytes at once when aligned.
            if i.is_multiple_of(8) && n + 8 <= limit {
                let byte = usize::try_from(i / 8).ok().and_then(|b| self.0.get(b)).copied();
                let full = if first { Some(0xFF) } else { Some(0x00) };
                if byte == full || (byte.is_none() && !first) {
                    n += 8;
                    continue;
                }
            }
            if self.is_set(i) != first {
                break;
            }
            n += 1;
        }
        n.min(limit)
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
}
