//! Rules of the `bitmap` family (spec §Block Allocation Table and Data Blocks, §Read
//! Operation): the sector bitmap of each allocated block, and the data of the sectors
//! whose bit is clear.
//!
//! A block at BAT entry `e` (a sector number) starts with its sector bitmap, `bitmap sectors x
//! 512` bytes at byte `e x 512`, one bit per data sector, most significant bit first; the data
//! sectors follow. Only blocks that lie wholly inside the file are examined, and of blocks that
//! overlap each other (BAT-BLOCK-OVERLAP) only the first in file order, so that every byte of
//! the file is read at most once: time is linear in the allocated data and memory is bounded by
//! one bitmap (at most 1 MiB) plus one data buffer of at most [`DATA_CHUNK`] bytes.
//!
//! Each rule reports at most one finding per block, giving the number of sectors concerned and
//! the first of them, and lists at most [`super::CheckOptions::max_listed`] blocks per image:
//! the rest are counted in one summary finding at the BAT, so a hostile image with a million
//! allocated blocks cannot flood the report.

use super::{Capped, Ctx};
use crate::finding::{Finding, Text};
use crate::format::{BlockGeometry, DiskType, SectorBitmap, SECTOR_SIZE};
use crate::lazy_text;
use crate::rules::Code;

/// Largest read of block data, in bytes (1 MiB); the buffer grows to the largest read made
/// and lives for one image.
pub(super) const DATA_CHUNK: u64 = 1 << 20;

/// Counts the set bits among bits `[from, to)` of `bytes` (MSB first; bits past the slice count
/// as clear) and returns the count with the index of the first one.
fn set_bits(bytes: &[u8], from: u64, to: u64) -> (u64, Option<u64>) {
    scan_bits(bytes, from, to, false)
}

/// The first and the last clear bit among bits `[from, to)` of `bytes` (MSB first).
fn clear_bounds(bytes: &[u8], from: u64, to: u64) -> Option<(u64, u64)> {
    let (_, first) = scan_bits(bytes, from, to, true);
    Some((first?, last_bit(bytes, from, to, true)?))
}

/// Mask of bits `[lo, hi)` of one byte, MSB first (`0 <= lo < hi <= 8`).
fn byte_mask(lo: u64, hi: u64) -> u8 {
    ((0xFFu16 >> lo) & (0xFFu16 << (8 - hi)) & 0xFF) as u8
}

/// The byte of the bitmap holding bit `8 x index`, 0 past the slice.
fn byte_at(bytes: &[u8], index: u64) -> u8 {
    usize::try_from(index).ok().and_then(|i| bytes.get(i)).copied().unwrap_or(0)
}

/// The last bit in `[from, to)` that is set (or clear, with `clear`).
fn last_bit(bytes: &[u8], from: u64, to: u64, clear: bool) -> Option<u64> {
    let mut bit = to;
    while bit > from {
        let byte_index = (bit - 1) / 8;
        let lo = from.saturating_sub(byte_index * 8);
        let hi = bit - byte_index * 8;
        let raw = byte_at(bytes, byte_index);
        let hits = if clear { !raw } else { raw } & byte_mask(lo, hi);
        if hits != 0 {
            return Some(byte_index * 8 + 7 - u64::from(hits.trailing_zeros()));
        }
        bit = byte_index * 8;
    }
    None
}

/// Counts bits in `[from, to)` that are set (or clear, with `clear`), and finds the first.
/// Byte-aligned runs of 64 bits inside the slice are taken a word at a time.
fn scan_bits(bytes: &[u8], from: u64, to: u64, clear: bool) -> (u64, Option<u64>) {
    let mut count = 0u64;
    let mut first = None;
    let mut bit = from;
    while bit < to {
        let byte_index = bit / 8;
        if bit.is_multiple_of(8) && to - bit >= 64 {
            let word = usize::try_from(byte_index)
                .ok()
                .and_then(|i| bytes.get(i..i.checked_add(8)?))
                .and_then(|w| <[u8; 8]>::try_from(w).ok());
            if let Some(word) = word {
                let raw = u64::from_be_bytes(word);
                let hits = if clear { !raw } else { raw };
                if hits != 0 {
                    count += u64::from(hits.count_ones());
                    first.get_or_insert(bit + u64::from(hits.leading_zeros()));
                }
                bit += 64;
                continue;
            }
        }
        let lo = bit % 8;
        let hi = (to - byte_index * 8).min(8);
        let raw = byte_at(bytes, byte_index);
        let hits = if clear { !raw } else { raw } & byte_mask(lo, hi);
        if hits != 0 {
            count += u64::from(hits.count_ones());
            first.get_or_insert(byte_index * 8 + u64::from(hits.leading_zeros()));
        }
        bit = byte_index * 8 + hi;
    }
    (count, first)
}

/// Blocks to examine, as (first sector, block number), sorted by file offset: allocated,
/// wholly inside the file, and not overlapping an earlier examined block. Uses 8 bytes per
/// allocated BAT entry read from the file.
fn examined_blocks(ctx: &Ctx, g: BlockGeometry) -> Vec<(u32, u32)> {
    let span = g.span_bytes();
    let file_size = ctx.layout.file_size;
    let mut blocks: Vec<(u32, u32)> = super::bat::allocated_entries(&ctx.layout.bat.entries)
        .into_iter()
        .filter(|&(_, e)| (u64::from(e) * SECTOR_SIZE).saturating_add(span) <= file_size)
        .map(|(n, e)| (e, n))
        .collect();
    blocks.sort_unstable();
    let mut next_free = 0u64;
    blocks.retain(|&(e, _)| {
        let start = u64::from(e) * SECTOR_SIZE;
        let keep = start >= next_free;
        if keep {
            next_free = start.saturating_add(span);
        }
        keep
    });
    blocks
}

/// Checks the sector bitmaps (and, with `read_block_data`, the clear sectors) of a dynamic or
/// differencing disk.
pub(super) fn check(ctx: &mut Ctx) {
    let layout = ctx.layout;
    let (Some(g), Some(kind), Some(size)) = (layout.block, layout.disk_type(), layout.virtual_size()) else {
        return;
    };
    if layout.header.is_none() {
        return;
    }
    let Ok(bitmap_len) = usize::try_from(g.bitmap_bytes()) else {
        return;
    };
    let blocks = examined_blocks(ctx, g);
    if blocks.is_empty() {
        return;
    }
    let spb = g.sectors_per_block;
    let total_sectors = size.div_ceil(SECTOR_SIZE);
    let last_block = g.blocks_for(size).checked_sub(1);
    // The window never needs to exceed the file (blocks lie wholly inside it).
    let chunk_sectors = (DATA_CHUNK / SECTOR_SIZE).min(spb).min(layout.file_size.div_ceil(SECTOR_SIZE)).max(1);
    let mut bitmap = vec![0u8; bitmap_len];
    // The window for data under clear bits, in sectors (none without `read_block_data`); its
    // buffer grows to the largest read actually made (a disk whose bitmaps are all set, as
    // QEMU writes them, reads no data and allocates nothing).
    let window = if ctx.opts.read_block_data { chunk_sectors } else { 0 };
    let mut data = Vec::new();
    let mut empty = Capped::new(ctx, Code::BitmapEmptyBlock);
    let mut padding = Capped::new(ctx, Code::BitmapPadding);
    let mut clear = match kind {
        _ if window == 0 => None,
        DiskType::Dynamic => Some(Capped::new(ctx, Code::BitmapZeroSectorNonzero)),
        DiskType::Differencing => Some(Capped::new(ctx, Code::BitmapClearSectorNonzeroDiff)),
        _ => None,
    };
    for (e, n) in blocks {
        let (n, start) = (u64::from(n), u64::from(e) * SECTOR_SIZE);
        if ctx.src.read_exact_at(start, &mut bitmap).is_err() {
            continue;
        }
        let path = || Text::format(format_args!("block[{n}].bitmap"));
        if set_bits(&bitmap, 0, spb).0 == 0 {
            empty.add(ctx, |c| {
                Finding::new(
                    c,
                    start,
                    g.bitmap_bytes(),
                    path(),
                    lazy_text!(
                        "block {n} is allocated but its sector bitmap has no bit set for its {spb} sectors",
                        n,
                        spb
                    ),
                )
            });
        }
        if Some(n) == last_block {
            let first_past = total_sectors.saturating_sub(n.saturating_mul(spb));
            if let (count, Some(first)) = set_bits(&bitmap, first_past, spb) {
                ctx.report(
                    Code::BitmapPastEnd,
                    start + first / 8,
                    g.bitmap_used_bytes() - first / 8,
                    path(),
                    lazy_text!(
                        "{count} bits are set for sectors past the end of the disk ({total_sectors} sectors); the first is sector {first} of block {n}",
                        count,
                        total_sectors,
                        first,
                        n
                    ),
                );
            }
        }
        let bits = g.bitmap_bytes() * 8;
        if let (count, Some(first)) = set_bits(&bitmap, spb, bits) {
            padding.add(ctx, |c| {
                Finding::new(
                    c,
                    start + spb / 8,
                    g.bitmap_bytes() - spb / 8,
                    path(),
                    lazy_text!(
                        "{count} bits of the padded sector bitmap past the block's {spb} sectors are set (the first is bit {first})",
                        count,
                        spb,
                        first
                    ),
                )
            });
        }
        if let Some(clear) = clear.as_mut() {
            check_clear_sectors(ctx, clear, kind, g, n, start, &bitmap, window, &mut data);
        }
    }
    empty.finish(ctx, "allocated blocks with an empty sector bitmap");
    padding.finish(ctx, "blocks with bits set in the sector bitmap's padding");
    if let Some(clear) = clear {
        clear.finish(ctx, "blocks with non-zero data under clear sector bitmap bits");
    }
}

/// Whether every byte of `b` is zero (an OR-fold, which vectorizes).
fn is_zero(b: &[u8]) -> bool {
    b.iter().fold(0u8, |acc, &x| acc | x) == 0
}

/// BITMAP-ZERO-SECTOR-NONZERO (dynamic) / BITMAP-CLEAR-SECTOR-NONZERO-DIFF (differencing):
/// reads the data under clear bits in windows of at most `window` sectors, one read per
/// window that has a clear bit (into `data`, grown as needed), and reports the block once.
#[allow(clippy::too_many_arguments)]
fn check_clear_sectors(
    ctx: &mut Ctx,
    capped: &mut Capped,
    kind: DiskType,
    g: BlockGeometry,
    n: u64,
    start: u64,
    bitmap: &[u8],
    window: u64,
    data: &mut Vec<u8>,
) {
    if window == 0 {
        return;
    }
    let data_start = start + g.bitmap_bytes();
    let bm = SectorBitmap(bitmap);
    let mut count = 0u64;
    let mut first_bad: Option<u64> = None;
    let mut w = 0u64;
    while w < g.sectors_per_block {
        let end = (w + window).min(g.sectors_per_block);
        if let Some((lo, hi)) = clear_bounds(bitmap, w, end) {
            let Ok(len) = usize::try_from((hi - lo + 1) * SECTOR_SIZE) else {
                return;
            };
            if data.len() < len {
                data.resize(len, 0);
            }
            let Some(buf) = data.get_mut(..len) else {
                return;
            };
            if ctx.src.read_exact_at(data_start + lo * SECTOR_SIZE, buf).is_err() {
                return;
            }
            for (k, sector) in (lo..=hi).zip(buf.chunks_exact(SECTOR_SIZE as usize)) {
                if !bm.is_set(k) && !is_zero(sector) {
                    count += 1;
                    first_bad.get_or_insert(k);
                }
            }
        }
        w = end;
    }
    if let Some(k) = first_bad {
        let what = match kind {
            DiskType::Dynamic => "must contain zeros on a dynamic disk; readers disagree on their content",
            _ => "are ignored: readers take these sectors from the parent",
        };
        capped.add(ctx, |c| {
            Finding::new(
                c,
                data_start + k * SECTOR_SIZE,
                SECTOR_SIZE,
                Text::format(format_args!("block[{n}].data")),
                lazy_text!(
                    "{count} sectors of block {n} whose bitmap bit is clear hold non-zero bytes; they {what}. The first is sector {k} of the block (disk sector {disk})",
                    count,
                    n,
                    what,
                    k,
                    disk = n.saturating_mul(g.sectors_per_block).saturating_add(k)
                ),
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{self, TestLocator};
    use super::{clear_bounds, set_bits, DATA_CHUNK};
    use crate::io::ReadAt;
    use crate::rules::{Code, Family};
    use crate::Finding;
    use std::cell::RefCell;

    const BS: u32 = 1 << 20;

    fn bitmap_findings(img: &[u8]) -> Vec<Finding> {
        testutil::family_findings(img, &[Family::Bitmap])
    }

    fn bitmap_codes(img: &[u8]) -> Vec<Code> {
        testutil::family_codes(img, &[Family::Bitmap])
    }

    /// Byte offset of block `n`'s bitmap in a builder image (BAT at 1536).
    fn block_start(img: &[u8], n: usize) -> usize {
        let e = u32::from_be_bytes(img[1536 + 4 * n..1540 + 4 * n].try_into().unwrap());
        e as usize * 512
    }

    #[test]
    fn bit_helpers() {
        let b = [0b0100_0000u8, 0x00, 0xFF, 0x01];
        assert_eq!(set_bits(&b, 0, 32), (10, Some(1)));
        assert_eq!(set_bits(&b, 2, 16), (0, None));
        assert_eq!(set_bits(&b, 17, 19), (2, Some(17)));
        assert_eq!(set_bits(&b, 30, 100), (1, Some(31)));
        assert_eq!(clear_bounds(&b, 0, 32), Some((0, 30)));
        assert_eq!(clear_bounds(&b, 16, 24), None);
        assert_eq!(clear_bounds(&b, 17, 27), Some((24, 26)));
        // Past the slice every bit reads clear.
        assert_eq!(clear_bounds(&b, 31, 40), Some((32, 39)));
    }

    /// The word-at-a-time scan agrees with a bit-by-bit count on every range of bitmaps that
    /// mix full, empty and patterned bytes (bits past the slice clear).
    #[test]
    fn bit_scans_agree_with_a_bit_by_bit_model() {
        fn naive(b: &[u8], from: u64, to: u64, clear: bool) -> (u64, Option<u64>) {
            let bits: Vec<u64> = (from..to)
                .filter(|&i| {
                    let set = b.get((i / 8) as usize).is_some_and(|x| x & (0x80 >> (i % 8)) != 0);
                    set != clear
                })
                .collect();
            (bits.len() as u64, bits.first().copied())
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for len in [0usize, 1, 7, 8, 9, 16, 17, 40, 64, 65] {
            for _ in 0..20 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        [0x00, 0xFF, (x >> 8) as u8][(x % 3) as usize]
                    })
                    .collect();
                let end = len as u64 * 8 + 70;
                for from in (0..end).step_by(5) {
                    for to in (from..end).step_by(9) {
                        for clear in [false, true] {
                            assert_eq!(super::scan_bits(&b, from, to, clear), naive(&b, from, to, clear));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn clean_images_have_no_bitmap_findings() {
        assert_eq!(bitmap_codes(&testutil::dynamic(4 << 20, BS, &[(0, 1), (2, 0xFF)])), vec![]);
        let diff = testutil::differencing(4 << 20, BS, &[(1, 9)], "p.vhd", &[TestLocator::w2ku("C:\\p.vhd")]);
        assert_eq!(bitmap_codes(&diff), vec![]);
        // A clear bit over a zero sector is fine.
        let mut img = testutil::dynamic(4 << 20, BS, &[(0, 0)]);
        let s = block_start(&img, 0);
        img[s..s + 256].fill(0x0F);
        assert_eq!(bitmap_codes(&img), vec![]);
    }

    #[test]
    fn empty_block() {
        let mut img = testutil::dynamic(4 << 20, BS, &[(0, 0), (1, 0)]);
        let s = block_start(&img, 1);
        img[s..s + 256].fill(0);
        let f = bitmap_findings(&img);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].code, f[0].path.as_str(), f[0].offset), (Code::BitmapEmptyBlock, "block[1].bitmap", s as u64));
    }

    #[test]
    fn per_block_findings_are_capped_with_a_summary() {
        // 250 allocated 4 KiB blocks, every sector bitmap empty over non-zero data: two rules
        // fire for each block, each lists DEFAULT_MAX_LISTED blocks and summarises the rest at the BAT.
        const N: u32 = 250;
        let blocks: Vec<(u32, u8)> = (0..N).map(|n| (n, 0x5A)).collect();
        let mut img = testutil::dynamic(u64::from(N) * 4096, 4096, &blocks);
        for n in 0..N as usize {
            let s = block_start(&img, n);
            img[s..s + 512].fill(0);
        }
        let f = bitmap_findings(&img);
        let listed = super::super::DEFAULT_MAX_LISTED as usize;
        for code in [Code::BitmapEmptyBlock, Code::BitmapZeroSectorNonzero] {
            let of: Vec<&Finding> = f.iter().filter(|x| x.code == code).collect();
            assert_eq!(of.len(), listed + 1, "{code:?}");
            let summary = of.iter().find(|x| x.path == "bat").expect("summary finding");
            assert_eq!(summary.offset, 1536);
            assert!(summary.message.starts_with("250 ") && summary.message.contains("150 more"), "{}", summary.message);
        }
        assert_eq!(f.len(), 2 * (listed + 1), "{f:?}");
    }

    #[test]
    fn bits_past_end_of_disk() {
        // 3 MiB + 10 sectors: block 3 holds 10 sectors of the disk, its bitmap sets all 2048.
        let img = testutil::dynamic((3 << 20) + 5120, BS, &[(0, 1), (3, 0)]);
        let f = bitmap_findings(&img);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, Code::BitmapPastEnd);
        assert!(
            f[0].message.starts_with("2038 bits") && f[0].message.contains("sector 10 of block 3"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].offset, block_start(&img, 3) as u64 + 1);
        // Only the used bits of the last block: clearing them silences the rule.
        let mut img = img;
        let s = block_start(&img, 3);
        img[s + 1] &= 0xC0;
        img[s + 2..s + 256].fill(0);
        assert_eq!(bitmap_codes(&img), vec![]);
    }

    #[test]
    fn padding_bits() {
        let mut img = testutil::dynamic(4 << 20, BS, &[(0, 1)]);
        let s = block_start(&img, 0);
        img[s + 300] = 0x10;
        let f = bitmap_findings(&img);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].code, f[0].offset, f[0].length), (Code::BitmapPadding, s as u64 + 256, 256));
        assert!(f[0].message.contains("first is bit 2403"), "{}", f[0].message);
    }

    #[test]
    fn clear_nonzero_sectors_dynamic_and_differencing() {
        for kind in ["dynamic", "differencing"] {
            let mut img = if kind == "dynamic" {
                testutil::dynamic(4 << 20, BS, &[(0, 0), (2, 0xAB)])
            } else {
                testutil::differencing(4 << 20, BS, &[(0, 0), (2, 0xAB)], "p.vhd", &[TestLocator::w2ku("C:\\p.vhd")])
            };
            let s = block_start(&img, 2);
            // Clear sectors 8..16 and 2047 of block 2; clear sector 5 of block 0 (zero data).
            img[s + 1] = 0;
            img[s + 255] = 0xFE;
            let s0 = block_start(&img, 0);
            img[s0] = 0xFB;
            let f = bitmap_findings(&img);
            assert_eq!(f.len(), 1, "{f:?}");
            let want =
                if kind == "dynamic" { Code::BitmapZeroSectorNonzero } else { Code::BitmapClearSectorNonzeroDiff };
            assert_eq!(f[0].code, want);
            assert_eq!(
                (f[0].path.as_str(), f[0].offset, f[0].length),
                ("block[2].data", (s + 512 + 8 * 512) as u64, 512)
            );
            assert!(f[0].message.starts_with("9 sectors of block 2"), "{}", f[0].message);
            assert!(f[0].message.contains("disk sector 4104"), "{}", f[0].message);
        }
    }

    /// Records every read (offset, length).
    struct Reads<'a> {
        inner: &'a [u8],
        log: RefCell<Vec<(u64, usize)>>,
    }

    impl ReadAt for Reads<'_> {
        fn len(&self) -> u64 {
            self.inner.len() as u64
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
            self.log.borrow_mut().push((offset, buf.len()));
            self.inner.read_at(offset, buf)
        }
    }

    fn run(img: &[u8], read_block_data: bool) -> (Vec<Finding>, Vec<(u64, usize)>) {
        let src = Reads { inner: img, log: RefCell::new(Vec::new()) };
        let opts = super::super::CheckOptions { read_block_data, ..Default::default() };
        let r = super::super::check_image(&src, "t.vhd", &opts);
        let f = r.findings.into_iter().filter(|f| f.code.rule().family == Family::Bitmap).collect();
        (f, src.log.into_inner())
    }

    #[test]
    fn data_is_read_in_bounded_chunks_not_per_sector() {
        // One 4 MiB block with every other sector clear and non-zero data everywhere.
        let mut img = testutil::dynamic(4 << 20, 4 << 20, &[(0, 0x11)]);
        let s = block_start(&img, 0);
        img[s..s + 1024].fill(0xAA);
        let (f, log) = run(&img, true);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.starts_with("4096 sectors"), "{}", f[0].message);
        let data = (s as u64 + 512)..(s as u64 + 512 + (4 << 20));
        let data_reads: Vec<_> = log.iter().filter(|(o, _)| data.contains(o)).collect();
        assert_eq!(data_reads.len(), 4, "{data_reads:?}");
        assert!(log.iter().all(|&(_, l)| l as u64 <= DATA_CHUNK));
        // Without read_block_data the data is not read at all.
        let (f, log) = run(&img, false);
        assert_eq!(f, vec![]);
        assert!(!log.iter().any(|(o, _)| data.contains(o)));
    }

    #[test]
    fn overlapping_blocks_are_examined_once() {
        let mut img = testutil::dynamic(4 << 20, BS, &[(0, 0)]);
        let s = block_start(&img, 0);
        img[s..s + 256].fill(0);
        let e = img[1536..1540].to_vec();
        img[1540..1544].copy_from_slice(&e);
        let f = bitmap_findings(&img);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].path, "block[0].bitmap");
    }

    #[test]
    fn truncated_block_is_not_examined() {
        let mut img = testutil::dynamic(4 << 20, BS, &[(0, 1)]);
        let s = block_start(&img, 0);
        img[s..s + 256].fill(0);
        img.truncate(img.len() - 4096);
        assert_eq!(bitmap_codes(&img), vec![]);
    }
}
