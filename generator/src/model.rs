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
//! static buffer, pattern runs are generated a MiB at a time. The reader is never consulted.
//! [`file_matches`] compares a written file with the model, reading only the file's data
//! segments.

use crate::pattern::Fill;
use sha2::{Digest, Sha256};
use vhd_validator::io::hash_zeros;

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

impl<T: Copy + PartialEq> RangeMap<T> {
    /// The ranges that intersect `[start, end)` (found by binary search; not clipped).
    pub fn ranges_in(&self, start: u64, end: u64) -> &[(u64, u64, T)] {
        let first = self.segs.partition_point(|&(_, e, _)| e <= start);
        let last = self.segs.partition_point(|&(s, _, _)| s < end).max(first);
        self.segs.get(first..last).unwrap_or_default()
    }
}

/// A SHA-256 state fed the first `size` bytes of a disk whose content is `content` (zero
/// elsewhere), not yet finalized: [`digest`] finalizes it; the generator clones it to hash a
/// fixed disk's file (the same bytes followed by the footer) without a second pass.
///
/// Zero runs are hashed from one static buffer ([`vhd_validator::io::hash_zeros`]), nothing
/// is allocated or written for them: the cost is SHA-256 over `size` bytes plus generating the
/// written data.
pub fn hasher(content: &RangeMap<Fill>, size: u64) -> Sha256 {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; (CHUNK_SECTORS * 512) as usize];
    let mut pos = 0u64; // bytes hashed so far
    for &(s, e, fill) in content.ranges() {
        let start = s.saturating_mul(512).min(size);
        let end = e.saturating_mul(512).min(size);
        hash_zeros(&mut h, start.saturating_sub(pos));
        pos = pos.max(start);
        if fill.is_zero() {
            hash_zeros(&mut h, end.saturating_sub(pos));
            pos = pos.max(end);
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
    hash_zeros(&mut h, size.saturating_sub(pos));
    h
}

/// SHA-256 of the first `size` bytes of a disk whose content is `content` (zero elsewhere).
pub fn digest(content: &RangeMap<Fill>, size: u64) -> [u8; 32] {
    hasher(content, size).finalize().into()
}

/// Writes into `out` the model's bytes at byte offset `at` (zero where `content` holds
/// nothing); `scratch` is reused between calls.
fn model_bytes(content: &RangeMap<Fill>, at: u64, out: &mut [u8], scratch: &mut Vec<u8>) {
    out.fill(0);
    let end = at + out.len() as u64;
    for &(s, e, fill) in content.ranges_in(at / 512, end.div_ceil(512)) {
        if fill.is_zero() {
            continue;
        }
        let (lo, hi) = ((at / 512).max(s), end.div_ceil(512).min(e));
        scratch.resize(((hi - lo) * 512) as usize, 0);
        fill.fill(lo, scratch);
        let (from, to) = ((lo * 512).max(at), (hi * 512).min(end));
        let src = scratch.get((from - lo * 512) as usize..(to - lo * 512) as usize).unwrap_or_default();
        if let Some(dst) = out.get_mut((from - at) as usize..(to - at) as usize) {
            dst.copy_from_slice(src);
        }
    }
}

/// Whether the first `size` bytes of `file` are exactly the disk `content` describes. Reads
/// only the file's data segments (holes read as zeros, so they only need the model to hold
/// no data there): the cost follows the data written, not `size`.
///
/// # Errors
/// I/O errors reading `file` (a file shorter than `size` is `Ok(false)`).
pub fn file_matches(file: &std::fs::File, content: &RangeMap<Fill>, size: u64) -> std::io::Result<bool> {
    use std::os::unix::fs::FileExt;
    use vhd_validator::io::data_segment;
    if file.metadata()?.len() < size {
        return Ok(false);
    }
    // Every range of non-zero data must lie in data segments (a hole reads as zeros) ...
    for &(s, e, fill) in content.ranges() {
        let (end, mut pos) = (e.saturating_mul(512).min(size), s.saturating_mul(512).min(size));
        while !fill.is_zero() && pos < end {
            match data_segment(file, pos, end)? {
                Some((d, stop)) if d == pos && stop > pos => pos = stop,
                _ => return Ok(false),
            }
        }
    }
    // ... and every data segment must hold the model's bytes.
    let chunk = (CHUNK_SECTORS * 512) as usize;
    let (mut got, mut want, mut scratch) = (vec![0u8; chunk], vec![0u8; chunk], Vec::new());
    let mut pos = 0;
    while let Some((d, stop)) = data_segment(file, pos, size)? {
        let mut at = d;
        while at < stop {
            let n = usize::try_from(stop - at).map_or(chunk, |l| l.min(chunk));
            let (g, w) = (got.get_mut(..n).unwrap_or_default(), want.get_mut(..n).unwrap_or_default());
            file.read_exact_at(g, at)?;
            model_bytes(content, at, w, &mut scratch);
            if g != w {
                return Ok(false);
            }
            at += n as u64;
        }
        pos = stop.max(d + 1);
    }
    Ok(true)
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

    #[test]
    fn file_matches_sees_every_difference_from_the_model() {
        use std::os::unix::fs::FileExt;
        let size = 64 * 4096u64;
        let m = img(Kind::Fixed, size, &[(8, 24, Fill::Random(3)), (400, 401, Fill::Byte(9))], &[]);
        let c = content(&[m]);
        let mut disk = vec![0u8; size as usize];
        Fill::Random(3).fill(8, &mut disk[8 * 512..24 * 512]);
        disk[400 * 512..401 * 512].fill(9);
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, edit: &dyn Fn(&std::fs::File)| {
            let f =
                std::fs::File::options().read(true).write(true).create_new(true).open(dir.path().join(name)).unwrap();
            f.set_len(size + 512).unwrap();
            f.write_all_at(&disk[4096..12288], 4096).unwrap();
            f.write_all_at(&disk[400 * 512..401 * 512], 400 * 512).unwrap();
            edit(&f);
            f
        };
        assert!(file_matches(&write("same", &|_| {}), &c, size).unwrap());
        assert!(file_matches(&write("footer", &|f| f.write_all_at(&[1; 512], size).unwrap()), &c, size).unwrap());
        let flipped = write("flipped", &|f| f.write_all_at(&[disk[5000] ^ 1], 5000).unwrap());
        assert!(!file_matches(&flipped, &c, size).unwrap());
        let in_hole = write("in-hole", &|f| f.write_all_at(&[1], 40_000).unwrap());
        assert!(!file_matches(&in_hole, &c, size).unwrap());
        let punched = write("punched", &|f| f.set_len(300 * 512).unwrap());
        assert!(!file_matches(&punched, &c, size).unwrap());
        let empty = RangeMap::new();
        assert!(!file_matches(&write("data-not-in-model", &|_| {}), &empty, size).unwrap());
    }
}
