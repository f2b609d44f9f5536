//! Rules of the `file` family: file size, alignment, truncation and where the trailing footer
//! sits (spec §Hard Disk Footer Format, §Fixed Hard Disk Image, §Dynamic Hard Disk Image).
//!
//! All sizes and offsets here are in bytes. "End of data" of a dynamic or differencing disk is
//! the end of the last structure before the trailing footer: the maximum over the footer copy,
//! the dynamic disk header, the BAT (padded to a sector), the used parent locator areas and
//! every allocated block (sector bitmap + data).

use super::{Capped, Ctx, FooterSource, Layout};
use crate::finding::{Finding, Text};
use crate::format::footer::{Field, COOKIE, FOOTER_SIZE, POISON_COOKIE};
use crate::format::{format_tag, DiskType, HardDiskFooter};
use crate::io::ReadAt;
use crate::lazy_text;
use crate::rules::Code;

/// Smallest dynamic or differencing file: footer copy + dynamic disk header + footer (bytes).
pub(super) const MIN_SPARSE_FILE: u64 = 512 + 1024 + 512;

/// How far before the end of the file (bytes) FILE-TRAILING-GARBAGE looks for a footer that is
/// not at the end. Bounds the work on corrupt input.
const GARBAGE_SCAN_BYTES: u64 = 2 << 20;

/// Checks the file-level rules.
pub(super) fn check(ctx: &mut Ctx) {
    let layout = ctx.layout;
    let size = layout.file_size;
    let sparse = layout.disk_type().is_some_and(DiskType::is_sparse);
    if size < FOOTER_SIZE as u64 {
        ctx.push(
            Finding::new(
                Code::FileTooSmall,
                0,
                size,
                "file",
                format!("the file has {size} bytes, fewer than one 512-byte hard disk footer"),
            )
            .expected(">= 512")
            .actual(size),
        );
    } else if sparse && size < MIN_SPARSE_FILE {
        ctx.push(
            Finding::new(
                Code::FileTooSmall,
                0,
                size,
                "file",
                format!(
                    "the file has {size} bytes, fewer than footer copy + dynamic disk header + footer \
                     ({MIN_SPARSE_FILE} bytes)"
                ),
            )
            .expected(format!(">= {MIN_SPARSE_FILE}"))
            .actual(size),
        );
    }
    if size >= FOOTER_SIZE as u64 && !matches!(size % 512, 0 | 511) {
        let rem = size % 512;
        ctx.push(
            Finding::new(
                Code::FileSizeSectorAlign,
                size - rem,
                rem,
                "file",
                format!("the file size {size} is {rem} bytes past a sector boundary (only 0 or 511 are valid)"),
            )
            .expected("size % 512 of 0 or 511")
            .actual(rem),
        );
    }
    if let Some((off, tail)) = &layout.tail {
        if tail.cookie == POISON_COOKIE {
            ctx.push(
                Finding::new(
                    Code::FilePoisoned,
                    Field::Cookie.at(*off),
                    Field::Cookie.len(),
                    format!("footer.{}", Field::Cookie.name()),
                    "the trailing footer's cookie is `v_poison`: blktap disabled this disk",
                )
                .actual(format_tag(&tail.cookie)),
            );
        }
        if layout.tail_short && tail.cookie_valid() {
            ctx.push(Finding::new(
                Code::FileShortFooter,
                *off,
                511,
                "footer",
                "the hard disk footer occupies only the last 511 bytes (pre-2004 Virtual PC); only \
                 blktap reads such files",
            ));
        }
    }
    fixed_size(ctx);
    if sparse {
        truncated(ctx);
        gap(ctx);
    }
    trailing_garbage(ctx);
}

/// Whether the footer the image is read with is the trailing one.
fn tail_used(layout: &Layout) -> bool {
    matches!(layout.footer, Some((FooterSource::Tail | FooterSource::TailShort, _)))
}

/// FILE-FIXED-SIZE-SHORT / -LONG: the data region `[0, footer start)` against current size.
fn fixed_size(ctx: &mut Ctx) {
    let layout = ctx.layout;
    if !tail_used(layout) || layout.disk_type() != Some(DiskType::Fixed) {
        return;
    }
    let Some(current) = layout.virtual_size() else {
        return;
    };
    let data = layout.footer_start();
    if data < current {
        ctx.push(
            Finding::new(
                Code::FileFixedSizeShort,
                data,
                current - data,
                "file",
                format!(
                    "the data region before the footer has {data} bytes but the current size is {current}: \
                     the last {} bytes of the disk are missing",
                    current - data
                ),
            )
            .expected(current.saturating_add(layout.file_size - data))
            .actual(layout.file_size),
        );
    } else if data > current {
        ctx.push(
            Finding::new(
                Code::FileFixedSizeLong,
                current,
                data - current,
                "file",
                format!("{} slack bytes lie between the end of the disk data and the footer", data - current),
            )
            .expected(current.saturating_add(layout.file_size - data))
            .actual(layout.file_size),
        );
    }
}

/// Whether the header bytes can be trusted as a header (right cookie or right checksum), so
/// that BAT-derived positions mean something.
fn header_trusted(layout: &Layout) -> bool {
    layout.header.as_ref().is_some_and(|(_, h)| h.cookie_valid() || h.checksum_valid())
}

/// End of data (see the module documentation), or `None` without a trustworthy header.
pub(super) fn end_of_data(layout: &Layout) -> Option<u64> {
    if !header_trusted(layout) {
        return None;
    }
    let mut end = layout
        .metadata_regions()
        .into_iter()
        .filter(|r| r.what != "footer")
        .map(|r| r.end)
        .max()
        .unwrap_or(FOOTER_SIZE as u64);
    if let Some(g) = layout.block {
        for (_, e) in layout.bat.allocated() {
            end = end.max((u64::from(e) * 512).saturating_add(g.span_bytes()));
        }
    }
    Some(end)
}

/// FILE-TRUNCATED: one finding per allocated block that ends past the end of the file, up to
/// [`super::CheckOptions::max_listed`]; the rest (a BAT of garbage can hold hundreds of
/// thousands of such entries) are summed up in one more finding at the BAT, path `bat`.
fn truncated(ctx: &mut Ctx) {
    let layout = ctx.layout;
    let (Some(g), true, Some((_, h))) = (layout.block, header_trusted(layout), &layout.header) else {
        return;
    };
    let size = layout.file_size;
    let mut capped = Capped::new(ctx, Code::FileTruncated);
    for (n, e) in layout.bat.allocated() {
        let start = u64::from(e) * 512;
        let end = start.saturating_add(g.span_bytes());
        if end <= size {
            continue;
        }
        capped.add(ctx, |c| {
            Finding::new(
                c,
                h.table_offset.saturating_add(n * 4),
                4,
                Text::format(format_args!("bat[{n}]")),
                lazy_text!(
                    "block {n} occupies bytes [{start}, {end}) but the file ends at {size} ({missing} bytes missing)",
                    n,
                    start,
                    end,
                    size,
                    missing = end - start.max(size)
                ),
            )
            .expected(format_args!("block end <= {size}"))
            .actual(end)
        });
    }
    capped.finish(ctx, lazy_text!("allocated blocks end past the end of the file ({size} bytes)", size));
}

/// FILE-GAP-BEFORE-FOOTER: unused bytes between the end of data and the trailing footer.
fn gap(ctx: &mut Ctx) {
    let layout = ctx.layout;
    if !tail_used(layout) {
        return;
    }
    let Some(end) = end_of_data(layout) else {
        return;
    };
    let start = layout.footer_start();
    if start > end {
        ctx.push(
            Finding::new(
                Code::FileGapBeforeFooter,
                end,
                start - end,
                "file",
                format!(
                    "{} unused bytes lie between the end of the last structure ({end}) and the trailing footer \
                     ({start})",
                    start - end
                ),
            )
            .expected(end)
            .actual(start),
        );
    }
}

fn valid_footer(f: &HardDiskFooter) -> bool {
    f.cookie_valid() && f.checksum_valid()
}

fn footer_at(src: &dyn ReadAt, off: u64) -> Option<HardDiskFooter> {
    let mut b = [0u8; FOOTER_SIZE];
    src.read_exact_at(off, &mut b).ok()?;
    Some(HardDiskFooter::decode(&b))
}

/// FILE-TRAILING-GARBAGE: the last bytes are not a footer, but a valid one ends earlier.
///
/// For a sparse disk read through its footer copy, the footer is looked for at the end of data
/// (exactly, and rounded up to a sector), then at every sector boundary between the end of
/// data and the end of the file. With no usable footer at all, sector boundaries in the last
/// [`GARBAGE_SCAN_BYTES`] are searched for a valid fixed-disk footer that follows its data
/// (current size <= its offset) or a valid sparse footer past offset 0.
fn trailing_garbage(ctx: &mut Ctx) {
    let layout = ctx.layout;
    let size = layout.file_size;
    if layout.tail.as_ref().is_some_and(|(_, t)| t.cookie_valid()) || size < 2 * FOOTER_SIZE as u64 {
        return;
    }
    let copy = match &layout.footer {
        Some((FooterSource::HeadCopy, c)) => Some(c),
        Some(_) => return,
        None => None,
    };
    let tail_start = size - FOOTER_SIZE as u64;
    let found = match copy {
        Some(copy) => {
            let Some(eod) = end_of_data(layout) else {
                return;
            };
            let mut hit = None;
            for cand in [eod, eod.div_ceil(512).saturating_mul(512)] {
                if cand >= tail_start || cand < FOOTER_SIZE as u64 {
                    continue;
                }
                if let Some(f) = footer_at(ctx.src, cand).filter(valid_footer) {
                    hit = Some((cand, f));
                    break;
                }
            }
            hit.or_else(|| scan(ctx.src, size, eod, |_, f| f.kind().is_sparse())).map(|(off, f)| (off, f == *copy))
        }
        None => scan(ctx.src, size, 0, |off, f| match f.kind() {
            DiskType::Fixed => f.current_size <= off,
            k => k.is_sparse() && off > 0,
        })
        .map(|(off, _)| (off, false)),
    };
    let Some((off, equal_to_copy)) = found else {
        return;
    };
    let end = off + FOOTER_SIZE as u64;
    let note = if equal_to_copy { ", identical to the footer copy at offset 0" } else { "" };
    ctx.push(
        Finding::new(
            Code::FileTrailingGarbage,
            end,
            size - end,
            "file",
            format!(
                "a valid hard disk footer sits at {off}{note}, followed by {} bytes that are not a footer; \
                 readers look for the footer only at the end of the file",
                size - end
            ),
        )
        .expected(format!("file size {end}"))
        .actual(size),
    );
}

/// Searches sector boundaries in `[max(lo, end - GARBAGE_SCAN_BYTES), end - 512)`, from the end
/// backwards, for a valid footer accepted by `accept(offset, footer)`. Reads at most
/// [`GARBAGE_SCAN_BYTES`] + 512 bytes.
fn scan(
    src: &dyn ReadAt,
    size: u64,
    lo: u64,
    accept: impl Fn(u64, &HardDiskFooter) -> bool,
) -> Option<(u64, HardDiskFooter)> {
    let fs = FOOTER_SIZE as u64;
    // Highest candidate: the last sector boundary that leaves at least one byte after the
    // footer (the tail itself is known not to be a footer).
    let hi = size.checked_sub(fs + 1)? / 512 * 512;
    // `lo` derives from the image's fields: round it up without overflowing.
    let lo = lo.max(hi.saturating_sub(GARBAGE_SCAN_BYTES)).checked_next_multiple_of(512)?;
    if lo > hi {
        return None;
    }
    let len = usize::try_from(hi - lo + fs).ok()?;
    let mut buf = vec![0u8; len];
    src.read_exact_at(lo, &mut buf).ok()?;
    let mut rel = hi - lo;
    loop {
        let at = usize::try_from(rel).ok()?;
        let raw: &[u8; FOOTER_SIZE] = buf.get(at..at + FOOTER_SIZE)?.try_into().ok()?;
        if raw.starts_with(&COOKIE) {
            let f = HardDiskFooter::decode(raw);
            if valid_footer(&f) && accept(lo + rel, &f) {
                return Some((lo + rel, f));
            }
        }
        if rel < 512 {
            return None;
        }
        rel -= 512;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{self, codes, edit_footer, edit_header};
    use super::super::CheckOptions;
    use crate::rules::Code;

    fn findings(img: &[u8]) -> Vec<crate::Finding> {
        super::super::check_image(&img.to_vec(), "t.vhd", &CheckOptions::default()).findings
    }

    fn dynamic() -> Vec<u8> {
        testutil::dynamic(4 << 20, 2 << 20, &[(1, 0xAB)])
    }

    #[test]
    fn clean_images() {
        assert_eq!(codes(&testutil::fixed(1 << 20, 0)), vec![]);
        assert_eq!(codes(&dynamic()), vec![]);
        assert_eq!(codes(&testutil::dynamic(4 << 20, 2 << 20, &[])), vec![]);
    }

    #[test]
    fn degenerate_inputs_give_findings_and_do_not_panic() {
        assert_eq!(codes(&[]), vec![Code::FileTooSmall]);
        let c = codes(&[0u8; 511]);
        assert!(c.contains(&Code::FileTooSmall) && c.contains(&Code::FooterCookie), "{c:?}");
        // Deterministic pseudo-random bytes (xorshift).
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let random: Vec<u8> = (0..3072)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert_eq!(codes(&random), vec![Code::FooterCookie]);
        let c = codes(&random[..511]);
        assert!(c.contains(&Code::FileTooSmall), "{c:?}");
        // Random bytes that start with a valid dynamic footer copy and end with garbage.
        let mut img = random.clone();
        img[..512].copy_from_slice(&dynamic()[..512]);
        let c = codes(&img);
        assert!(c.contains(&Code::FooterTailInvalidHeadValid), "{c:?}");
    }

    #[test]
    fn too_small_sparse() {
        // A dynamic footer copy + footer only: 1024 bytes.
        let d = dynamic();
        let mut img = d[..512].to_vec();
        img.extend_from_slice(&d[d.len() - 512..]);
        let c = codes(&img);
        assert!(c.contains(&Code::FileTooSmall), "{c:?}");
        assert!(c.contains(&Code::FooterDataOffsetBounds), "{c:?}");
    }

    #[test]
    fn size_sector_align() {
        let mut img = testutil::fixed(1 << 20, 0);
        img.splice(0..0, [0u8; 100]);
        let fs = findings(&img);
        let c: Vec<_> = fs.iter().map(|f| f.code).collect();
        assert!(c.contains(&Code::FileSizeSectorAlign), "{c:?}");
        let f = fs.iter().find(|f| f.code == Code::FileSizeSectorAlign).unwrap();
        assert_eq!((f.offset, f.length), ((1 << 20) + 512, 100));
        assert!(c.contains(&Code::FileFixedSizeLong), "{c:?}");
    }

    #[test]
    fn short_footer() {
        let mut img = testutil::fixed(1 << 20, 0);
        img.pop();
        assert_eq!(codes(&img), vec![Code::FileShortFooter]);
        let mut img = dynamic();
        img.pop();
        assert_eq!(codes(&img), vec![Code::FileShortFooter]);
    }

    #[test]
    fn fixed_size_short_and_long() {
        let mut img = testutil::fixed(1 << 20, 0);
        edit_footer(&mut img, true, |f| f.current_size += 512);
        let fs = findings(&img);
        let f = fs.iter().find(|f| f.code == Code::FileFixedSizeShort).unwrap();
        assert_eq!((f.offset, f.length), (1 << 20, 512));
        let mut img = testutil::fixed(1 << 20, 0);
        edit_footer(&mut img, true, |f| {
            f.current_size -= 1024;
            f.original_size = f.current_size;
            f.geometry = crate::format::Geometry::for_current_size(f.current_size);
        });
        let fs = findings(&img);
        let c: Vec<_> = fs.iter().map(|f| f.code).collect();
        assert!(c.contains(&Code::FileFixedSizeLong) && !c.contains(&Code::FileFixedSizeShort), "{c:?}");
        let f = fs.iter().find(|f| f.code == Code::FileFixedSizeLong).unwrap();
        assert_eq!((f.offset, f.length), ((1 << 20) - 1024, 1024));
    }

    #[test]
    fn truncated_one_finding_per_block() {
        let full = testutil::dynamic(8 << 20, 2 << 20, &[(0, 1), (1, 2), (2, 3)]);
        // Cut into the middle of block 1, then put a footer back at the end.
        let cut = 512 + 1024 + 512 + (512 + (2 << 20)) + 4096;
        let mut img = full[..cut].to_vec();
        img.extend_from_slice(&full[full.len() - 512..]);
        let fs = findings(&img);
        let t: Vec<_> = fs.iter().filter(|f| f.code == Code::FileTruncated).collect();
        assert_eq!(t.len(), 2, "{fs:?}");
        assert_eq!(t[0].path, "bat[1]");
        assert_eq!(t[1].path, "bat[2]");
        assert_eq!(t[0].offset, 1536 + 4);
        // A block ending exactly at the file end (clobbering the footer) is the BAT family's.
        let mut img = full[..full.len() - 512].to_vec();
        img.truncate(img.len() - 512);
        img.extend_from_slice(&full[full.len() - 512..]);
        let fs = findings(&img);
        assert!(!fs.iter().any(|f| f.code == Code::FileTruncated), "{fs:?}");
    }

    #[test]
    fn truncated_findings_are_capped() {
        // 2000 entries, all pointing far past the end of the file.
        let mut img = testutil::dynamic(4000 << 20, 2 << 20, &[]);
        let bat = 1536..1536 + 8000;
        for c in img[bat].chunks_exact_mut(4) {
            c.copy_from_slice(&0x0100_0000u32.to_be_bytes());
        }
        let fs = findings(&img);
        let t: Vec<_> = fs.iter().filter(|f| f.code == Code::FileTruncated).collect();
        assert_eq!(t.len() as u64, super::super::DEFAULT_MAX_LISTED + 1);
        let summary = t.iter().find(|f| f.path == "bat").unwrap();
        assert!(
            summary.message.starts_with("2000 allocated blocks") && summary.message.contains("1900 more"),
            "{}",
            summary.message
        );
    }

    #[test]
    fn gap_before_footer() {
        let mut img = dynamic();
        let n = img.len();
        img.splice(n - 512..n - 512, [0u8; 4096]);
        let fs = findings(&img);
        assert_eq!(fs.iter().map(|f| f.code).collect::<Vec<_>>(), vec![Code::FileGapBeforeFooter]);
        assert_eq!((fs[0].offset, fs[0].length), ((n - 512) as u64, 4096));
        // No gap when the last block ends at the footer.
        assert!(!codes(&dynamic()).contains(&Code::FileGapBeforeFooter));
        // An empty dynamic disk: the metadata ends at the footer.
        assert_eq!(codes(&testutil::dynamic(4 << 20, 2 << 20, &[])), vec![]);
    }

    #[test]
    fn gap_not_reported_without_a_trustworthy_header() {
        let mut img = dynamic();
        let n = img.len();
        img.splice(n - 512..n - 512, [0u8; 4096]);
        edit_header(&mut img, false, |h| h.cookie = *b"garbage!");
        assert!(!codes(&img).contains(&Code::FileGapBeforeFooter));
    }

    #[test]
    fn trailing_garbage_sparse() {
        let mut img = dynamic();
        let n = img.len();
        img.extend_from_slice(&[0x5Au8; 1000]);
        let fs = findings(&img);
        let g = fs.iter().find(|f| f.code == Code::FileTrailingGarbage).unwrap();
        assert_eq!((g.offset, g.length), (n as u64, 1000));
        assert!(g.message.contains("identical to the footer copy"), "{}", g.message);
        let c: Vec<_> = fs.iter().map(|f| f.code).collect();
        assert!(c.contains(&Code::FooterTailInvalidHeadValid), "{c:?}");
        // Sector-aligned garbage, after a 4 KiB-padded layout.
        let mut img = dynamic();
        let n = img.len();
        img.splice(n - 512..n - 512, [0u8; 3584]);
        img.extend_from_slice(&[0x11u8; 2048]);
        let fs = findings(&img);
        let g = fs.iter().find(|f| f.code == Code::FileTrailingGarbage).unwrap();
        assert_eq!((g.offset, g.length), ((n + 3584) as u64, 2048));
    }

    #[test]
    fn trailing_garbage_fixed() {
        let mut img = testutil::fixed(1 << 20, 0);
        let n = img.len();
        img.extend_from_slice(&[0x77u8; 1536]);
        let fs = findings(&img);
        let c: Vec<_> = fs.iter().map(|f| f.code).collect();
        assert_eq!(c, vec![Code::FileTrailingGarbage, Code::FooterCookie]);
        let g = &fs[0];
        assert_eq!((g.offset, g.length), (n as u64, 1536));
        // A footer inside the guest data of a fixed disk that does not follow its data does
        // not count: a 2 MiB disk footer at 1 MiB.
        let mut img = testutil::fixed(1 << 20, 0);
        edit_footer(&mut img, true, |f| f.current_size = 2 << 20);
        img.extend_from_slice(&[0x77u8; 1536]);
        assert_eq!(codes(&img), vec![Code::FooterCookie]);
    }

    #[test]
    fn poisoned() {
        let mut img = testutil::fixed(1 << 20, 0);
        edit_footer(&mut img, true, |f| f.cookie = *b"v_poison");
        let fs = findings(&img);
        let c: Vec<_> = fs.iter().map(|f| f.code).collect();
        assert_eq!(c, vec![Code::FilePoisoned, Code::FooterCookie]);
        // On a dynamic disk the copy still carries the image.
        let mut img = dynamic();
        testutil::edit_tail_footer(&mut img, true, |f| f.cookie = *b"v_poison");
        let c = codes(&img);
        assert!(c.contains(&Code::FilePoisoned) && c.contains(&Code::FooterTailInvalidHeadValid), "{c:?}");
    }
}
