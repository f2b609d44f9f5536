//! The content model: what the virtual disk holds, computed from the scenario alone.
//!
//! Each image of a chain is modelled by the data its writes store (sector ranges with a
//! pattern) and, for dynamic and differencing disks, the sectors whose bitmap bit is set. The
//! virtual disk is then, from the root of the chain down to the main image:
//! - fixed: the stored data (unwritten sectors are zero);
//! - dynamic: the stored data where the bit is set, zero elsewhere (a clear bit reads zero);
//! - differencing: the parent's virtual disk (zero past the parent's end), replaced wherever
//!   this image's bit is set by this image's stored data (zero where it stored nothing).
//!
//! [`digest`] hashes the result without materialising the disk: zero runs are hashed from one
//! reused buffer, pattern runs are generated a MiB at a time. The reader is never consulted.

use crate::pattern::Fill;
use sha2::{Digest, Sha256};

/// A map from sector ranges `[start, end)` to values, kept sorted and non-overlapping.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeMap<T> {
    segs: Vec<(u64, u64, T)>,
}

impl<T: Copy + PartialEq> RangeMap<T> {
    /// An empty map.
    pub fn new() -> RangeMap<T> {
        RangeMap { segs: Vec::new() }
    }

    /// The ranges in increasing order.
    pub fn ranges(&self) -> &[(u64, u64, T)] {
        &self.segs
    }

    /// Whether no range is present.
    pub fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }

    /// Removes `[start, end)`.
    pub fn remove(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let mut out = Vec::with_capacity(self.segs.len() + 1);
        for &(s, e, v) in &self.segs {
            if e <= start || s >= end {
                out.push((s, e, v));
                continue;
            }
            if s < start {
                out.push((s, start, v));
            }
            if e > end {
                out.push((end, e, v));
            }
        }
        self.segs = out;
    }

    /// Maps `[start, end)` to `v`, replacing what was there.
    pub fn insert(&mut self, start: u64, end: u64, v: T) {
        if start >= end {
            return;
        }
        self.remove(start, end);
        let pos = self.segs.partition_point(|&(s, _, _)| s < start);
        self.segs.insert(pos, (start, end, v));
    }

    /// The part of the map inside `[start, end)`.
    pub fn clipped(&self, start: u64, end: u64) -> RangeMap<T> {
        let segs = self
            .segs
            .iter()
            .filter(|&&(s, e, _)| e > start && s < end)
            .map(|&(s, e, v)| (s.max(start), e.min(end), v))
            .filter(|&(s, e, _)| s < e)
            .collect();
        RangeMap { segs }
    }

    /// Whether any range intersects `[start, end)`.
    pub fn intersects(&self, start: u64, end: u64) -> bool {
        self.segs.iter().any(|&(s, e, _)| e > start && s < end)
    }

    /// Whether `[start, end)` is entirely covered.
    pub fn covers(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        for &(s, e, _) in &self.segs {
            if s > at {
                break;
            }
            if e > at {
                at = e;
            }
            if at >= end {
                return true;
            }
        }
        at >= end
    }
}

/// A set of sector ranges.
pub type RangeSet = RangeMap<()>;

/// The model of one image: its size, its stored data and its set bitmap bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageModel {
    /// Disk type.
    pub kind: crate::scenario::Kind,
    /// Current size in bytes.
    pub size: u64,
    /// Data stored by writes (sectors; later writes replaced earlier ones).
    pub stored: RangeMap<Fill>,
    /// Sectors whose bitmap bit is set (sparse disks).
    pub bits: RangeSet,
}

impl ImageModel {
    /// Sectors the disk spans: `ceil(size / 512)`.
    pub fn sectors(&self) -> u64 {
        self.size.div_ceil(512)
    }
}

/// The virtual disk content of `chain` (main image first, root last), as sector ranges with
/// their data; absent sectors are zero.
pub fn content(chain: &[ImageModel]) -> RangeMap<Fill> {
    let mut acc: Option<(RangeMap<Fill>, u64)> = None;
    for img in chain.iter().rev() {
        let n = img.sectors();
        let mut cur = match (&acc, img.kind) {
            (_, crate::scenario::Kind::Fixed) => img.stored.clipped(0, n),
            (Some((parent, parent_sectors)), crate::scenario::Kind::Differencing) => {
                parent.clipped(0, (*parent_sectors).min(n))
            }
            _ => RangeMap::new(),
        };
        if img.kind.is_sparse() {
            for &(s, e, ()) in img.bits.clipped(0, n).ranges() {
                cur.remove(s, e);
                for &(ds, de, f) in img.stored.clipped(s, e).ranges() {
                    cur.insert(ds, de, f);
                }
            }
        }
        acc = Some((cur, n));
    }
    acc.map_or_else(RangeMap::new, |(c, _)| c)
}

const CHUNK_SECTORS: u64 = 2048;

/// SHA-256 of the first `size` bytes of a disk whose content is `content` (zero elsewhere).
pub fn digest(content: &RangeMap<Fill>, size: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    let zeros = vec![0u8; (CHUNK_SECTORS * 512) as usize];
    let mut buf = vec![0u8; (CHUNK_SECTORS * 512) as usize];
    let mut pos = 0u64; // bytes hashed so far
    let hash_zeros = |h: &mut Sha256, pos: &mut u64, until: u64| {
        while *pos < until {
            let n = (until - *pos).min(zeros.len() as u64);
            h.update(zeros.get(..n as usize).unwrap_or_default());
            *pos += n;
        }
    };
    for &(s, e, fill) in content.ranges() {
        let start = s.saturating_mul(512).min(size);
        let end = e.saturating_mul(512).min(size);
        hash_zeros(&mut h, &mut pos, start);
        if fill.is_zero() {
            hash_zeros(&mut h, &mut pos, end);
            continue;
        }
        let mut lba = s;
        while pos < end {
            let sectors = (e - lba).min(CHUNK_SECTORS);
            let bytes = (sectors * 512) as usize;
            let chunk = buf.get_mut(..bytes).unwrap_or_default();
            fill.fill(lba, chunk);
            let take = (end - pos).min(bytes as u64) as usize;
            h.update(chunk.get(..take).unwrap_or_default());
            pos += take as u64;
            lba += sectors;
        }
    }
    hash_zeros(&mut h, &mut pos, size);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Kind;

    #[test]
    fn range_map_overlays() {
        let mut m = RangeMap::new();
        m.insert(0, 10, 1u8);
        m.insert(5, 7, 2);
        m.insert(9, 12, 3);
        assert_eq!(m.ranges(), &[(0, 5, 1), (5, 7, 2), (7, 9, 1), (9, 12, 3)]);
        m.remove(2, 10);
        assert_eq!(m.ranges(), &[(0, 2, 1), (10, 12, 3)]);
        assert!(m.covers(0, 2) && !m.covers(0, 3) && m.intersects(11, 20));
    }

    fn img(kind: Kind, size: u64, stored: &[(u64, u64, Fill)], bits: &[(u64, u64)]) -> ImageModel {
        let mut s = RangeMap::new();
        for &(a, b, f) in stored {
            s.insert(a, b, f);
        }
        let mut m = RangeMap::new();
        for &(a, b) in bits {
            m.insert(a, b, ());
        }
        ImageModel { kind, size, stored: s, bits: m }
    }

    #[test]
    fn chain_overlay_follows_bits() {
        let parent = img(Kind::Fixed, 8 * 512, &[(0, 8, Fill::Byte(1))], &[]);
        // Child stores data at 2..4 with bits 2..4, and has bits 6..7 with no data (zeros).
        let child = img(Kind::Differencing, 8 * 512, &[(2, 4, Fill::Byte(2))], &[(2, 4), (6, 7)]);
        let c = content(&[child, parent]);
        assert_eq!(
            c.ranges(),
            &[(0, 2, Fill::Byte(1)), (2, 4, Fill::Byte(2)), (4, 6, Fill::Byte(1)), (7, 8, Fill::Byte(1))]
        );
        let mut disk = vec![1u8; 8 * 512];
        disk[1024..2048].fill(2);
        disk[3072..3584].fill(0);
        let want: [u8; 32] = Sha256::digest(&disk).into();
        assert_eq!(digest(&c, 8 * 512), want);
    }

    #[test]
    fn dynamic_clear_bits_read_zero_and_partial_size() {
        let d = img(Kind::Dynamic, 1000, &[(0, 2, Fill::Byte(7))], &[(1, 2)]);
        let c = content(&[d]);
        let mut disk = vec![0u8; 1000];
        disk[512..1000].fill(7);
        let want: [u8; 32] = Sha256::digest(&disk).into();
        assert_eq!(digest(&c, 1000), want);
    }
}
