//! Rules of the `bat` family (spec §Block Allocation Table and Data Blocks, §Dynamic Hard Disk
//! Image): where the blocks named by the block allocation table lie.
//!
//! The BAT holds `max table entries` big-endian u32 at the header's table offset; each entry is
//! the absolute **sector** of a block's sector bitmap, followed by the block's data. A block
//! therefore occupies `span = bitmap sectors + sectors per block` sectors from its entry.
//! Only the entries that lie inside the file are examined ([`super::Layout::bat`]).
//!
//! Findings about one entry are located at the entry itself (`bat[n]`, 4 bytes at
//! `table offset + 4n`); the message gives the block's byte range. Per-entry rules list at most
//! [`super::CheckOptions::max_listed`] findings each (default 100) and then one summary finding
//! with the count left out, so a hostile BAT cannot flood the report. Blocks that end past the end of the file are reported
//! by the file family (`FILE-TRUNCATED`), not here.

use super::{Capped, Ctx, Region};
use crate::finding::{Finding, Text};
use crate::format::bat::padded_bat_bytes;
use crate::format::{BlockGeometry, DynamicDiskHeader, SECTOR_SIZE, UNALLOCATED};
use crate::lazy_text;
use crate::rules::Code;

/// 2^32: the first sector a 32-bit BAT entry cannot address.
const SECTOR_LIMIT: u64 = 1 << 32;

/// Byte offset of BAT entry `n` (saturating).
fn entry_offset(table_offset: u64, n: u64) -> u64 {
    table_offset.saturating_add(n.saturating_mul(4))
}

/// Human name of a metadata region of [`super::Layout::metadata_regions`] (formatted only
/// when a message is: findings are cheap to build).
pub(super) fn region_name(r: &Region) -> impl std::fmt::Display + '_ {
    struct Name<'a>(&'a str);
    impl std::fmt::Display for Name<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(match self.0 {
                "footer_copy" => "the hard disk footer copy",
                "header" => "the dynamic disk header",
                "bat" => "the BAT",
                "footer" => "the trailing hard disk footer",
                other => match other.strip_prefix("header.parent_locator") {
                    Some(rest) => {
                        let slot = rest.trim_start_matches('[').trim_end_matches(']');
                        return write!(f, "the data of parent locator {slot}");
                    }
                    None => other,
                },
            })
        }
    }
    Name(&r.what)
}

/// Byte range of a region for messages: `0x200..0x600` (formatted in place, no allocation).
pub(super) fn range(start: u64, end: u64) -> impl std::fmt::Display + Copy + PartialEq + Send + Sync + 'static {
    #[derive(Clone, Copy, PartialEq)]
    struct Range(u64, u64);
    impl std::fmt::Display for Range {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:#x}..{:#x}", self.0, self.1)
        }
    }
    Range(start, end)
}

/// Checks the BAT of a dynamic or differencing disk.
pub(super) fn check(ctx: &mut Ctx) {
    let layout = ctx.layout;
    let Some((_, header)) = &layout.header else {
        return;
    };
    // One scan of the whole BAT; the rules below visit only the allocated entries.
    let alloc = allocated_entries(&layout.bat.entries);
    check_padding(ctx, header);
    check_order(ctx, header.table_offset, &alloc);
    check_entries(ctx, header, layout.block, &alloc);
    if let Some(g) = layout.block {
        check_grid(ctx, header.table_offset, g, &alloc);
        // Last: it reorders the list in place (no second copy of it).
        check_block_overlap(ctx, header.table_offset, g, alloc);
    }
}

/// The allocated entries of `entries` as (block number, bitmap sector), in block order.
///
/// Scans 16 entries at a time and skips groups that are all [`UNALLOCATED`] with one AND-fold
/// (which vectorizes), so a 2040 GiB disk with few blocks written (over a million entries)
/// costs a fraction of a millisecond. Block numbers fit in 32 bits: the BAT holds at most
/// `max table entries` (a u32) entries. Uses 8 bytes per allocated entry.
pub(super) fn allocated_entries(entries: &[u32]) -> Vec<(u32, u32)> {
    const GROUP: usize = 16;
    let mut out = Vec::new();
    for (g, group) in entries.chunks(GROUP).enumerate() {
        if group.iter().fold(UNALLOCATED, |acc, &e| acc & e) == UNALLOCATED {
            continue;
        }
        for (k, &e) in group.iter().enumerate() {
            if e != UNALLOCATED {
                if let Ok(n) = u32::try_from(g * GROUP + k) {
                    out.push((n, e));
                }
            }
        }
    }
    out
}

/// BAT-ENTRY-OVERFLOW, BAT-ENTRY-BOUNDS, BAT-ENTRY-OVERLAP-METADATA, BAT-ENTRIES-BEYOND-SIZE.
///
/// Without a block geometry only BAT-ENTRY-OVERLAP-METADATA is checked, with the block taken
/// to be its first sector (the sector bitmap has at least one).
fn check_entries(ctx: &mut Ctx, header: &DynamicDiskHeader, g: Option<BlockGeometry>, alloc: &[(u32, u32)]) {
    let layout = ctx.layout;
    let table_offset = header.table_offset;
    let regions: Vec<Region> = layout.metadata_regions().into_iter().filter(|r| r.what != "footer").collect();
    let footer_start = layout.footer_start();
    let file_size = layout.file_size;
    let span_bytes = g.map_or(SECTOR_SIZE, |g| g.span_bytes());
    let needed = g.zip(layout.virtual_size()).map(|(g, size)| g.blocks_for(size));
    let mut overflow = Capped::new(ctx, Code::BatEntryOverflow);
    let mut bounds = Capped::new(ctx, Code::BatEntryBounds);
    let mut meta = Capped::new(ctx, Code::BatEntryOverlapMetadata);
    let mut beyond = Capped::new(ctx, Code::BatEntriesBeyondSize);
    for (n, e) in alloc.iter().map(|&(n, e)| (u64::from(n), e)) {
        let off = entry_offset(table_offset, n);
        let path = || Text::format(format_args!("bat[{n}]"));
        let start = u64::from(e) * SECTOR_SIZE;
        let end = start.saturating_add(span_bytes);
        if let Some(g) = g {
            let last = u64::from(e) + g.span_sectors();
            if last > SECTOR_LIMIT {
                overflow.add(ctx, |c| {
                    Finding::new(
                        c,
                        off,
                        4,
                        path(),
                        lazy_text!(
                            "block {n} starts at sector {e} and spans {span} sectors, so it ends at sector {last}: past 2^32, beyond what 32-bit sector numbers address",
                            n,
                            e,
                            span = g.span_sectors(),
                            last
                        ),
                    )
                    .actual(e)
                });
            }
            if end > footer_start && end <= file_size {
                bounds.add(ctx, |c| {
                    Finding::new(
                        c,
                        off,
                        4,
                        path(),
                        lazy_text!(
                            "block {n} occupies bytes {block} and overlaps the trailing hard disk footer at {footer}",
                            n,
                            block = range(start, end),
                            footer = range(footer_start, file_size)
                        ),
                    )
                    .actual(e)
                });
            }
            if let Some(k) = needed.filter(|&k| n >= k) {
                beyond.add(ctx, |c| {
                    Finding::new(
                        c,
                        off,
                        4,
                        path(),
                        lazy_text!(
                            "block {n} is allocated, but the current size needs only {k} blocks (entries 0..{k})",
                            n,
                            k
                        ),
                    )
                    .expected("0xffffffff")
                    .actual(e)
                });
            }
        }
        let block = Region::new(start, span_bytes, String::new());
        if regions.iter().any(|r| r.overlaps(&block)) {
            meta.add(ctx, |c| {
                let overlapped: Vec<Region> = regions.iter().filter(|r| r.overlaps(&block)).cloned().collect();
                let message = Text::lazy((n, range(start, end), overlapped), |(n, block, overlapped), f| {
                    write!(f, "block {n} occupies bytes {block} and overlaps ")?;
                    for (k, r) in overlapped.iter().enumerate() {
                        let sep = if k > 0 { ", " } else { "" };
                        write!(f, "{sep}{} at {}", region_name(r), range(r.start, r.end))?;
                    }
                    Ok(())
                });
                Finding::new(c, off, 4, path(), message).actual(e)
            });
        }
    }
    overflow.finish(ctx, "blocks past sector 2^32");
    bounds.finish(ctx, "blocks overlapping the trailing footer");
    meta.finish(ctx, "blocks overlapping metadata");
    beyond.finish(ctx, "allocated entries past the current size");
}

/// BAT-BLOCK-OVERLAP: every pair of allocated blocks whose spans share a sector, once per pair.
///
/// All blocks have the same span, so after sorting by start sector the blocks a block
/// overlaps among the earlier ones form a contiguous run just before it: a sweep with two
/// indices counts every pair in O(n log n) and visits only the pairs it lists.
fn check_block_overlap(ctx: &mut Ctx, table_offset: u64, g: BlockGeometry, alloc: Vec<(u32, u32)>) {
    let span = g.span_sectors();
    // (start sector, block number): 8 bytes per allocated entry read from the file.
    let mut blocks = alloc;
    for b in &mut blocks {
        *b = (b.1, b.0);
    }
    blocks.sort_unstable();
    let mut pairs = Capped::new(ctx, Code::BatBlockOverlap);
    let mut lo = 0usize;
    for (j, &(ej, nj)) in blocks.iter().enumerate() {
        while let Some(&(ei, _)) = blocks.get(lo) {
            if lo < j && u64::from(ej) - u64::from(ei) >= span {
                lo += 1;
            } else {
                break;
            }
        }
        // Build findings only while under the cap; count the rest without visiting them.
        let earlier = blocks.get(lo..j).unwrap_or(&[]);
        let listed = usize::try_from(pairs.room()).unwrap_or(usize::MAX).min(earlier.len());
        for &(ei, ni) in earlier.iter().take(listed) {
            let (a, b) = if ni < nj { ((ni, ei), (nj, ej)) } else { ((nj, ej), (ni, ei)) };
            pairs.add(ctx, |c| {
                let message = Text::lazy((a, b, span), |&(a, b, span), f| {
                    write!(f, "blocks {} and {} overlap: ", a.0, b.0)?;
                    if a.1 == b.1 {
                        write!(f, "both entries point at sector {}", a.1)
                    } else {
                        write!(
                            f,
                            "block {} occupies sectors {}..{} and block {} sectors {}..{}",
                            a.0,
                            a.1,
                            u64::from(a.1) + span,
                            b.0,
                            b.1,
                            u64::from(b.1) + span
                        )
                    }
                });
                Finding::new(
                    c,
                    entry_offset(table_offset, u64::from(b.0)),
                    4,
                    Text::format(format_args!("bat[{}]", b.0)),
                    message,
                )
                .actual(b.1)
            });
        }
        pairs.skip((earlier.len() - listed) as u64);
    }
    pairs.finish(ctx, "overlapping block pairs");
}

/// BAT-BLOCK-UNALIGNED-GRID: one finding when some allocated block does not start at
/// `first + k x span` sectors, `first` being the lowest allocated entry.
fn check_grid(ctx: &mut Ctx, table_offset: u64, g: BlockGeometry, alloc: &[(u32, u32)]) {
    let span = g.span_sectors();
    let Some(first) = alloc.iter().map(|&(_, e)| u64::from(e)).min() else {
        return;
    };
    let mut off_grid =
        alloc.iter().map(|&(n, e)| (u64::from(n), e)).filter(|&(_, e)| (u64::from(e) - first) % span != 0);
    let Some((n, e)) = off_grid.next() else {
        return;
    };
    let count = 1 + off_grid.count() as u64;
    ctx.push(
        Finding::new(
            Code::BatBlockUnalignedGrid,
            entry_offset(table_offset, n),
            4,
            format!("bat[{n}]"),
            format!(
                "{count} allocated blocks are off the grid of {span}-sector block spans that starts at sector {first}; the first is block {n} at sector {e} ({} sectors past a grid point)",
                (u64::from(e) - first) % span
            ),
        )
        .actual(e),
    );
}

/// BAT-ORDER: one finding when allocated entries do not increase with the block number.
fn check_order(ctx: &mut Ctx, table_offset: u64, alloc: &[(u32, u32)]) {
    let mut prev: Option<(u64, u32)> = None;
    let mut first: Option<(u64, u32, u64, u32)> = None;
    let mut count = 0u64;
    for (n, e) in alloc.iter().map(|&(n, e)| (u64::from(n), e)) {
        if let Some((pn, pe)) = prev {
            if e <= pe {
                count += 1;
                first.get_or_insert((n, e, pn, pe));
            }
        }
        prev = Some((n, e));
    }
    if let Some((n, e, pn, pe)) = first {
        ctx.push(
            Finding::new(
                Code::BatOrder,
                entry_offset(table_offset, n),
                4,
                format!("bat[{n}]"),
                format!(
                    "allocated blocks are not in increasing file order: block {n} is at sector {e}, not after block {pn} at sector {pe} ({count} out-of-order blocks in all)"
                ),
            )
            .actual(e),
        );
    }
}

/// BAT-PADDING: the bytes from `table offset + 4 x max table entries` to the end of the padded
/// BAT (`table offset + roundup(4 x max table entries, 512)`), when they lie inside the file,
/// are neither all 0x00 nor all 0xFF.
fn check_padding(ctx: &mut Ctx, header: &DynamicDiskHeader) {
    let entries = u64::from(header.max_table_entries) * 4;
    let (Some(start), Some(end)) = (
        header.table_offset.checked_add(entries),
        header.table_offset.checked_add(padded_bat_bytes(header.max_table_entries)),
    ) else {
        return;
    };
    if start >= end || end > ctx.layout.file_size {
        return;
    }
    let mut buf = [0u8; 512];
    let Some(pad) = usize::try_from(end - start).ok().and_then(|len| buf.get_mut(..len)) else {
        return;
    };
    if ctx.src.read_exact_at(start, pad).is_err() {
        return;
    }
    if pad.iter().all(|&b| b == 0) || pad.iter().all(|&b| b == 0xFF) {
        return;
    }
    let nonzero = pad.iter().filter(|&&b| b != 0).count();
    ctx.push(Finding::new(
        Code::BatPadding,
        start,
        end - start,
        "bat.padding",
        format!(
            "the {} padding bytes after the last BAT entry are neither all 0x00 nor all 0xFF ({nonzero} non-zero)",
            end - start
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{self, TestLocator};
    use crate::format::{DiskType, UNALLOCATED};
    use crate::io::ReadAt;
    use crate::rules::{Code, Family};
    use byteorder::{BigEndian, ByteOrder};
    use std::cell::Cell;

    const BS: u32 = 1 << 20;
    /// Span of a 1 MiB block in sectors: 1 bitmap sector + 2048 data sectors.
    const SPAN: u32 = 2049;

    fn bat_codes(img: &[u8]) -> Vec<Code> {
        testutil::family_codes(img, &[Family::Bat])
    }

    /// Overwrites BAT entry `n` of a builder image (BAT at 1536).
    fn set_entry(img: &mut [u8], n: usize, v: u32) {
        BigEndian::write_u32(&mut img[1536 + 4 * n..1540 + 4 * n], v);
    }

    fn entry(img: &[u8], n: usize) -> u32 {
        BigEndian::read_u32(&img[1536 + 4 * n..1540 + 4 * n])
    }

    #[test]
    fn clean_images_have_no_bat_findings() {
        assert_eq!(bat_codes(&testutil::dynamic(4 << 20, BS, &[(0, 1), (1, 2), (3, 3)])), vec![]);
        assert_eq!(bat_codes(&testutil::dynamic(4 << 20, BS, &[])), vec![]);
        let diff = testutil::differencing(
            4 << 20,
            BS,
            &[(2, 7)],
            "p.vhd",
            &[TestLocator::w2ku("C:\\d\\p.vhd"), TestLocator::w2ru(".\\p.vhd")],
        );
        assert_eq!(bat_codes(&diff), vec![]);
    }

    #[test]
    fn block_overlapping_trailing_footer() {
        let mut img = testutil::dynamic(4 << 20, BS, &[(0, 1)]);
        // Move block 0 one sector later: its last sector is now the trailing footer.
        let e = entry(&img, 0);
        set_entry(&mut img, 0, e + 1);
        assert_eq!(bat_codes(&img), vec![Code::BatEntryBounds]);
        // Two sectors later it ends past EOF: FILE-TRUNCATED's business, not BAT-ENTRY-BOUNDS.
        set_entry(&mut img, 0, e + 2);
        assert_eq!(bat_codes(&img), vec![]);
    }

    #[test]
    fn block_overlapping_metadata_including_entry_zero() {
        let mut img = testutil::dynamic(4 << 20, BS, &[(0, 1), (1, 2)]);
        set_entry(&mut img, 1, 0);
        let f = testutil::family_findings(&img, &[Family::Bat]);
        let meta: Vec<_> = f.iter().filter(|f| f.code == Code::BatEntryOverlapMetadata).collect();
        assert_eq!(meta.len(), 1);
        assert_eq!((meta[0].path.as_str(), meta[0].offset, meta[0].length), ("bat[1]", 1540, 4));
        assert!(meta[0].message.contains("footer copy") && meta[0].message.contains("BAT"), "{}", meta[0].message);
        // Entry 0 of block 1 also breaks the file order.
        assert!(f.iter().any(|f| f.code == Code::BatOrder));
    }

    #[test]
    fn block_overlapping_locator_data_is_reported_here() {
        let mut img = testutil::differencing(4 << 20, BS, &[(0, 1)], "p.vhd", &[TestLocator::w2ku("C:\\p.vhd")]);
        // Locator area starts right after the 512-byte BAT: sector 4.
        set_entry(&mut img, 0, 4);
        let f = testutil::family_findings(&img, &[Family::Bat]);
        let m = f.iter().find(|f| f.code == Code::BatEntryOverlapMetadata).expect("finding");
        assert!(m.message.contains("data of parent locator 0"), "{}", m.message);
    }

    #[test]
    fn overlapping_blocks_once_per_pair() {
        let mut img = testutil::dynamic(4 << 20, BS, &[(0, 1), (1, 2), (2, 3)]);
        let e0 = entry(&img, 0);
        set_entry(&mut img, 1, e0); // same block as 0
        set_entry(&mut img, 2, e0 + 100); // overlaps 0 and 1
        let f = testutil::family_findings(&img, &[Family::Bat]);
        let mut pairs: Vec<_> =
            f.iter().filter(|f| f.code == Code::BatBlockOverlap).map(|f| f.message.clone()).collect();
        pairs.sort();
        assert_eq!(pairs.len(), 3, "{pairs:?}");
        assert!(pairs.iter().any(|m| m.starts_with("blocks 0 and 1") && m.contains("both entries point at")));
        assert!(pairs.iter().any(|m| m.starts_with("blocks 0 and 2")));
        assert!(pairs.iter().any(|m| m.starts_with("blocks 1 and 2")));
        // Adjacent blocks (exactly one span apart) do not overlap.
        let clean = testutil::dynamic(4 << 20, BS, &[(0, 1), (1, 2)]);
        assert_eq!(entry(&clean, 1) - entry(&clean, 0), SPAN);
        assert!(!bat_codes(&clean).contains(&Code::BatBlockOverlap));
    }

    #[test]
    fn many_identical_entries_are_capped() {
        // 65536 entries all pointing at one block: 2 147 450 880 pairs, listed up to the cap
        // and counted without visiting each pair.
        let size = 65536u64 * 4096;
        let mut img = testutil::dynamic(size, 4096, &[(0, 1)]);
        let e = entry(&img, 0);
        for n in 1..65536 {
            set_entry(&mut img, n, e);
        }
        let f = testutil::family_findings(&img, &[Family::Bat]);
        let n = f.iter().filter(|f| f.code == Code::BatBlockOverlap).count() as u64;
        assert_eq!(n, super::super::DEFAULT_MAX_LISTED + 1);
        assert!(f.iter().any(
            |f| f.code == Code::BatBlockOverlap && f.message.contains("2147450880 overlapping block pairs in all")
        ));
    }

    #[test]
    fn entry_overflow() {
        let mut img = testutil::dynamic(4 << 20, BS, &[]);
        set_entry(&mut img, 0, u32::MAX - 10);
        let c = bat_codes(&img);
        assert!(c.contains(&Code::BatEntryOverflow), "{c:?}");
        set_entry(&mut img, 0, u32::MAX - SPAN);
        assert!(!bat_codes(&img).contains(&Code::BatEntryOverflow));
    }

    #[test]
    fn entries_beyond_size() {
        let mut img = testutil::dynamic(3 << 20, BS, &[(0, 1), (1, 2)]);
        // Claim 4 entries for a 3-block disk; the 4th entry (inside the padded BAT) is allocated.
        testutil::edit_header(&mut img, true, |h| h.max_table_entries = 4);
        let e = entry(&img, 1);
        set_entry(&mut img, 3, e + SPAN);
        let f = testutil::family_findings(&img, &[Family::Bat]);
        let b: Vec<_> = f.iter().filter(|f| f.code == Code::BatEntriesBeyondSize).collect();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].path, "bat[3]");
    }

    #[test]
    fn unaligned_grid_is_one_finding() {
        let mut img = testutil::dynamic(4 << 20, BS, &[(0, 1), (1, 2), (2, 3)]);
        // Move blocks 1 and 2 one sector later (block 2 then reaches into the footer; that is
        // another rule): both are off the grid that starts at block 0.
        let e0 = entry(&img, 0);
        let (e1, e2) = (entry(&img, 1), entry(&img, 2));
        set_entry(&mut img, 2, e2 + 1);
        set_entry(&mut img, 1, e1 + 1);
        let f = testutil::family_findings(&img, &[Family::Bat]);
        let g: Vec<_> = f.iter().filter(|f| f.code == Code::BatBlockUnalignedGrid).collect();
        assert_eq!(g.len(), 1, "{f:?}");
        assert!(g[0].message.starts_with("2 allocated blocks"), "{}", g[0].message);
        assert_eq!(entry(&img, 0), e0);
    }

    #[test]
    fn order_is_one_finding() {
        let img = testutil::dynamic(4 << 20, BS, &[(3, 1), (2, 2), (1, 3), (0, 4)]);
        let f = testutil::family_findings(&img, &[Family::Bat]);
        let o: Vec<_> = f.iter().filter(|f| f.code == Code::BatOrder).collect();
        assert_eq!(o.len(), 1);
        assert!(o[0].message.contains("(3 out-of-order blocks in all)"), "{}", o[0].message);
        assert_eq!(bat_codes(&img), vec![Code::BatOrder]);
    }

    #[test]
    fn padding_mixed_bytes() {
        let mut img = testutil::dynamic(4 << 20, BS, &[]);
        // 4 entries = 16 bytes; padding is 1552..2048 (0xFF from the builder).
        assert_eq!(bat_codes(&img), vec![]);
        img[1552..2048].fill(0);
        assert_eq!(bat_codes(&img), vec![]);
        img[1600] = 0x42;
        let f = testutil::family_findings(&img, &[Family::Bat]);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].code, f[0].offset, f[0].length), (Code::BatPadding, 1552, 496));
    }

    /// A source that remembers the largest single read: proves nothing is sized from a field.
    struct MaxRead<'a> {
        inner: &'a [u8],
        max: Cell<usize>,
    }

    impl ReadAt for MaxRead<'_> {
        fn len(&self) -> u64 {
            self.inner.len() as u64
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
            self.max.set(self.max.get().max(buf.len()));
            self.inner.read_at(offset, buf)
        }
    }

    #[test]
    fn huge_max_table_entries_in_tiny_file() {
        // 200 entries: the BAT is padded to 1024 bytes, the file is 3 KiB.
        let mut img = testutil::dynamic(200 << 20, BS, &[]);
        testutil::edit_header(&mut img, true, |h| h.max_table_entries = u32::MAX);
        assert_eq!(img.len(), 3072);
        let src = MaxRead { inner: &img, max: Cell::new(0) };
        let opts = super::super::CheckOptions::default();
        let r = super::super::check_image(&src, "t.vhd", &opts);
        assert!(src.max.get() <= 3072, "largest read {}", src.max.get());
        // Only the entries before the trailing footer are read; the footer's bytes never count.
        let l = r.layout.expect("layout");
        assert_eq!(l.bat.entries.len(), (3072 - 512 - 1536) / 4);
        assert!(l.bat.entries.iter().all(|&e| e == UNALLOCATED));
        assert!(r
            .findings
            .iter()
            .any(|f| f.code == Code::HeaderMaxTableEntriesLimit || f.code == Code::HeaderTableOffsetBounds));
        assert!(!r.findings.iter().any(|f| f.code == Code::BatEntriesBeyondSize));
    }

    #[test]
    fn differencing_image_is_checked_too() {
        let mut img = testutil::differencing(4 << 20, BS, &[(0, 1)], "p.vhd", &[TestLocator::w2ku("C:\\p.vhd")]);
        set_entry(&mut img, 1, 0);
        assert!(bat_codes(&img).contains(&Code::BatEntryOverlapMetadata));
        assert_eq!(super::super::Layout::parse(&img).disk_type(), Some(DiskType::Differencing));
    }
}

#[cfg(test)]
mod scan_tests {
    use super::allocated_entries;
    use crate::format::{Bat, UNALLOCATED};

    #[test]
    fn a_bat_larger_than_one_read_piece_parses_whole() {
        // 40000 entries (160000 bytes): three 64 KiB pieces, the last partial.
        let img =
            crate::check::testutil::dynamic(40_000 * 4096, 4096, &[(0, 1), (16_383, 2), (16_384, 3), (39_999, 4)]);
        let layout = crate::check::Layout::parse(&img);
        assert_eq!(layout.bat.entries.len(), 40_000);
        let alloc = allocated_entries(&layout.bat.entries);
        assert_eq!(alloc.iter().map(|&(n, _)| n).collect::<Vec<_>>(), vec![0, 16_383, 16_384, 39_999]);
        assert_eq!(crate::check::testutil::family_codes(&img, &[crate::rules::Family::Bat]), vec![]);
        // An I/O error in the second piece gives no BAT, as one read of the whole did.
        struct FailsAt<'a>(&'a [u8], u64);
        impl crate::io::ReadAt for FailsAt<'_> {
            fn len(&self) -> u64 {
                self.0.len() as u64
            }
            fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
                if (offset..offset + buf.len() as u64).contains(&self.1) {
                    return Err(std::io::Error::other("bad sector"));
                }
                self.0.read_at(offset, buf)
            }
        }
        let failing = FailsAt(&img, 1536 + 70_000);
        assert!(crate::check::Layout::parse(&failing).bat.entries.is_empty());
    }

    #[test]
    fn allocated_entries_match_the_bat_iterator() {
        for len in [0usize, 1, 15, 16, 17, 33, 100] {
            for step in [1usize, 3, 16, 17, 1000] {
                let entries: Vec<u32> =
                    (0..len).map(|i| if i % step == step - 1 { i as u32 * 7 } else { UNALLOCATED }).collect();
                let bat = Bat { entries: entries.clone() };
                let want: Vec<(u32, u32)> = bat.allocated().map(|(n, e)| (n as u32, e)).collect();
                assert_eq!(allocated_entries(&entries), want, "len {len} step {step}");
            }
        }
    }
}
