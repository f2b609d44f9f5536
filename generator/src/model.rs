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

    /// Bytes of non-zero pattern data stored inside the disk (what writing it costs).
    pub fn data_bytes(&self) -> u64 {
        let n = self.sectors();
        let stored = self.stored.ranges().iter().filter(|r| !r.2.is_zero());
        stored.map(|&(s, e, _)| e.min(n).saturating_sub(s).saturating_mul(512)).fold(0, u64::saturating_add)
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
    ModelHasher::new(content, size).finish()
}

/// The virtual disk's SHA-256 computed in disk order while the images are written: the writer
/// hands over the pattern bytes it has just generated ([`ModelHasher::feed`]), so data the
/// virtual disk shows from the image being written is generated once for the file and the
/// digest; everything else (zero runs, data of other chain levels, bytes the writer did not
/// supply) the hasher makes itself, as [`hasher`] does.
pub struct ModelHasher<'a> {
    content: &'a RangeMap<Fill>,
    size: u64,
    h: Sha256,
    /// Bytes hashed so far.
    pos: u64,
    buf: Vec<u8>,
}

impl<'a> ModelHasher<'a> {
    /// A hasher at byte 0 of the disk whose content is `content` and whose size is `size`.
    pub fn new(content: &'a RangeMap<Fill>, size: u64) -> ModelHasher<'a> {
        ModelHasher { content, size, h: Sha256::new(), pos: 0, buf: Vec::new() }
    }

    /// Hashes the model's bytes from the current position up to byte `to` (at most `size`);
    /// where `supplied` (`(lba, fill, bytes)`: `fill`'s bytes for the sectors from `lba`)
    /// holds the bytes the model wants there, they are hashed from it.
    fn advance(&mut self, to: u64, supplied: Option<(u64, Fill, &[u8])>) {
        let to = to.min(self.size);
        if to <= self.pos {
            return;
        }
        let ranges = self.content.ranges_in(self.pos / 512, to.div_ceil(512));
        for &(s, e, fill) in ranges {
            let start = s.saturating_mul(512).clamp(self.pos, to);
            let end = e.saturating_mul(512).min(to);
            hash_zeros(&mut self.h, start - self.pos);
            self.pos = start;
            if fill.is_zero() {
                hash_zeros(&mut self.h, end.saturating_sub(self.pos));
                self.pos = self.pos.max(end);
                continue;
            }
            while self.pos < end {
                // Supplied bytes of the same pattern are hashed from where they start ...
                let mut stop = end;
                if let Some((lba, _, bytes)) = supplied.filter(|&(_, f, _)| f.same_bytes(fill)) {
                    let from = lba.saturating_mul(512);
                    let until = from.saturating_add(bytes.len() as u64).min(end);
                    if from <= self.pos && self.pos < until {
                        let piece = bytes.get((self.pos - from) as usize..(until - from) as usize).unwrap_or_default();
                        self.h.update(piece);
                        self.pos = until;
                        continue;
                    }
                    if from > self.pos {
                        stop = stop.min(from);
                    }
                }
                // ... the rest is generated here, a chunk at a time from the sector at `pos`.
                let lba = self.pos / 512;
                let sectors = e.saturating_sub(lba).min(CHUNK_SECTORS);
                self.buf.resize((CHUNK_SECTORS * 512) as usize, 0);
                let chunk = self.buf.get_mut(..(sectors * 512) as usize).unwrap_or_default();
                fill.fill(lba, chunk);
                let skip = (self.pos - lba * 512) as usize;
                let take = (stop - self.pos).min(chunk.len().saturating_sub(skip) as u64) as usize;
                self.h.update(chunk.get(skip..skip + take).unwrap_or_default());
                self.pos += take as u64;
            }
        }
        hash_zeros(&mut self.h, to - self.pos);
        self.pos = to;
    }

    /// Hashes the disk up to the end of `bytes`, `fill`'s bytes for the sectors from `lba`
    /// (the data the writer generated); they are used wherever the model holds the same
    /// pattern, the rest is made as [`hasher`] does. Data before the current position is
    /// ignored (already hashed), so any feeding order gives the same digest.
    pub fn feed(&mut self, lba: u64, fill: Fill, bytes: &[u8]) {
        let end = lba.saturating_mul(512).saturating_add(bytes.len() as u64);
        self.advance(end, Some((lba, fill, bytes)));
    }

    /// The state after the disk's `size` bytes.
    pub fn finish(mut self) -> Sha256 {
        self.advance(self.size, None);
        self.h
    }
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

    /// Whatever the writer hands over (the model's bytes, another pattern's, out of order,
    /// overlapping, past the end), the digest is the model's.
    #[test]
    fn fed_hasher_gives_the_model_digest_whatever_is_fed() {
        let size = 5000 * 512 + 100;
        let m = img(
            Kind::Fixed,
            size,
            &[
                (3, 2100, Fill::Random(3)),
                (2100, 2200, Fill::Byte(0)),
                (2500, 4990, Fill::Counter(7)),
                (4999, 5001, Fill::Byte(1)),
            ],
            &[],
        );
        let c = content(&[m]);
        let want = digest(&c, size);
        let bytes = |fill: Fill, lba: u64, n: u64| {
            let mut b = vec![0u8; (n * 512) as usize];
            fill.fill(lba, &mut b);
            b
        };
        let feeds: [&[(u64, u64, Fill)]; 4] = [
            &[
                (3, 2048, Fill::Random(3)),
                (2051, 49, Fill::Random(3)),
                (2500, 2490, Fill::Counter(7)),
                (4999, 2, Fill::Byte(1)),
            ],
            &[(0, 3000, Fill::Random(3)), (2600, 100, Fill::Counter(7)), (2400, 300, Fill::Counter(7))],
            &[(10, 10, Fill::Random(4)), (100, 10, Fill::Counter(7)), (4000, 2000, Fill::Counter(7))],
            &[],
        ];
        for feed in feeds {
            let mut h = ModelHasher::new(&c, size);
            for &(lba, n, fill) in feed {
                h.feed(lba, fill, &bytes(fill, lba, n));
            }
            assert_eq!(<[u8; 32]>::from(h.finish().finalize()), want, "{feed:?}");
        }
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
