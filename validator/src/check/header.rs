//! Rules of the `header` family: the dynamic disk header of dynamic and differencing disks
//! (spec §Dynamic Disk Header Format).
//!
//! The header is the 1024 bytes at the footer's data offset (`Layout::header`); when they
//! cannot be read, FOOTER-DATA-OFFSET-BOUNDS already says so and nothing is reported here. When
//! both the cookie and the checksum are wrong, the bytes are not taken for a header: only
//! HEADER-COOKIE is reported. Paths are `header.<field>`, offsets absolute.
//!
//! Parent locator entries (header bytes 576..768) belong to the locator family.

use super::{Ctx, Region};
use crate::finding::{Finding, Text};
use crate::format::bat::padded_bat_bytes;
use crate::format::footer::{FOOTER_SIZE, MAX_CURRENT_SIZE};
use crate::format::header::{Field, COOKIE, HEADER_SIZE, VERSION_1_0};
use crate::format::{format_tag, format_uuid, timestamp, DiskType, DynamicDiskHeader, ALL_ONES_OFFSET};
use crate::rules::Code;

/// Largest max table entries a reader can index with 32-bit signed byte offsets:
/// `INT_MAX / 4` (QEMU `vpc_open`, "Max Table Entries too large").
pub(super) const MAX_TABLE_ENTRIES_INT_LIMIT: u64 = (i32::MAX as u64) / 4;

fn at(hoff: u64, code: Code, field: Field, message: impl Into<Text>) -> Finding {
    Finding::new(code, field.at(hoff), field.len(), field.path(), message)
}

/// Checks the dynamic disk header rules; only called for dynamic and differencing disks.
pub(super) fn check(ctx: &mut Ctx) {
    let layout = ctx.layout;
    let Some((hoff, h)) = &layout.header else {
        return;
    };
    let hoff = *hoff;
    if !h.cookie_valid() {
        ctx.push(
            at(hoff, Code::HeaderCookie, Field::Cookie, format!("no `cxsparse` cookie at data offset {hoff}"))
                .expected(format_tag(&COOKIE))
                .actual(format_tag(&h.cookie)),
        );
        if !h.checksum_valid() {
            // Neither cookie nor checksum: these bytes are not a header; judging their
            // "fields" would only produce noise.
            return;
        }
    }
    if !h.checksum_valid() {
        ctx.push(
            at(hoff, Code::HeaderChecksum, Field::Checksum, "dynamic disk header checksum does not match its byte sum")
                .expected(format!("{:#010x}", h.computed_checksum()))
                .actual(format!("{:#010x}", h.checksum)),
        );
    }
    if h.header_version != VERSION_1_0 {
        ctx.push(
            at(hoff, Code::HeaderVersion, Field::HeaderVersion, "header version is not 1.0")
                .expected(format!("{VERSION_1_0:#010x}"))
                .actual(format!("{:#010x}", h.header_version)),
        );
    }
    if h.data_offset != ALL_ONES_OFFSET {
        ctx.push(
            at(
                hoff,
                Code::HeaderDataOffset,
                Field::DataOffset,
                "the header's (unused) data offset must be all ones (0xFFFFFFFF is the spec's typo)",
            )
            .expected(format!("{ALL_ONES_OFFSET:#018x}"))
            .actual(format!("{:#018x}", h.data_offset)),
        );
    }
    table(ctx, hoff, h);
    block_size(ctx, hoff, h);
    table_entries(ctx, hoff, h);
    reserved(ctx, hoff, h);
    parent(ctx, hoff, h);
}

/// Table offset bounds and alignment, and the BAT against the other metadata.
fn table(ctx: &mut Ctx, hoff: u64, h: &DynamicDiskHeader) {
    let layout = ctx.layout;
    let footer_start = layout.footer_start();
    let bat_bytes = u64::from(h.max_table_entries) * 4;
    let end = h.table_offset.checked_add(bat_bytes);
    let out_of_bounds = h.table_offset == 0 || end.is_none_or(|e| e > footer_start);
    if out_of_bounds {
        ctx.push(
            at(
                hoff,
                Code::HeaderTableOffsetBounds,
                Field::TableOffset,
                format!(
                    "the BAT ({} entries x 4 bytes at table offset {}) is not inside the file before the \
                     trailing footer at {footer_start}",
                    h.max_table_entries, h.table_offset
                ),
            )
            .expected(format!("0 < table offset <= {}", footer_start.saturating_sub(bat_bytes)))
            .actual(h.table_offset),
        );
    }
    if !h.table_offset.is_multiple_of(512) {
        ctx.push(
            at(hoff, Code::HeaderTableOffsetAlign, Field::TableOffset, "table offset is not sector-aligned")
                .expected("a multiple of 512")
                .actual(h.table_offset),
        );
    }
    if out_of_bounds {
        return;
    }
    let bat = Region::new(h.table_offset, padded_bat_bytes(h.max_table_entries), "bat");
    let others = [
        Region::new(0, FOOTER_SIZE as u64, "footer copy"),
        Region::new(hoff, HEADER_SIZE as u64, "dynamic disk header"),
        Region::new(footer_start, layout.file_size.saturating_sub(footer_start), "trailing footer"),
    ];
    for o in others.iter().filter(|o| bat.overlaps(o)) {
        let start = bat.start.max(o.start);
        let stop = bat.end.min(o.end);
        ctx.push(Finding::new(
            Code::HeaderBatOverlapMetadata,
            start,
            stop - start,
            "bat",
            format!(
                "the BAT [{}, {}) (padded to a sector) overlaps the {} [{}, {})",
                bat.start, bat.end, o.what, o.start, o.end
            ),
        ));
    }
}

fn block_size(ctx: &mut Ctx, hoff: u64, h: &DynamicDiskHeader) {
    let bs = h.block_size;
    if bs != 0 && !bs.is_power_of_two() {
        ctx.push(
            at(hoff, Code::HeaderBlockSizePow2, Field::BlockSize, format!("block size {bs} is not a power of two"))
                .expected("a power of two")
                .actual(bs),
        );
    }
    if bs < 512 {
        ctx.push(
            at(hoff, Code::HeaderBlockSizeMin, Field::BlockSize, format!("block size {bs} is smaller than one sector"))
                .expected(">= 512")
                .actual(bs),
        );
        return;
    }
    if !bs.is_power_of_two() {
        return;
    }
    if bs < 4096 {
        ctx.push(
            at(
                hoff,
                Code::HeaderBlockSizeSmall,
                Field::BlockSize,
                format!(
                    "block size {bs} gives a sector bitmap of less than one byte; VirtualBox then reads block \
                     data one sector early"
                ),
            )
            .expected(">= 4096")
            .actual(bs),
        );
    } else if bs != 512 * 1024 && bs != 2 * 1024 * 1024 {
        ctx.push(
            at(
                hoff,
                Code::HeaderBlockSizeUnusual,
                Field::BlockSize,
                format!("block size {bs} is neither 512 KiB nor 2 MiB"),
            )
            .expected("524288 or 2097152")
            .actual(bs),
        );
    }
}

/// Max table entries against the current size and against hard limits.
fn table_entries(ctx: &mut Ctx, hoff: u64, h: &DynamicDiskHeader) {
    let layout = ctx.layout;
    let max = u64::from(h.max_table_entries);
    let bs = u64::from(h.block_size);
    let limit =
        MAX_CURRENT_SIZE.checked_div(bs).map_or(MAX_TABLE_ENTRIES_INT_LIMIT, |l| l.min(MAX_TABLE_ENTRIES_INT_LIMIT));
    let bat_bytes = padded_bat_bytes(h.max_table_entries);
    if max > limit || bat_bytes > layout.file_size {
        let why = if max > limit {
            format!("more than the {limit} entries a 2040 GiB disk with {bs}-byte blocks can use")
        } else {
            format!("the BAT ({bat_bytes} bytes) is larger than the whole file ({} bytes)", layout.file_size)
        };
        ctx.push(
            at(
                hoff,
                Code::HeaderMaxTableEntriesLimit,
                Field::MaxTableEntries,
                format!("max table entries {max}: {why}"),
            )
            .expected(format!("<= {limit}"))
            .actual(max),
        );
    }
    // The size comparisons need a usable block size (a non-zero multiple of 512).
    let (Some(_), Some(size)) = (layout.block, layout.virtual_size()) else {
        return;
    };
    let needed = size.div_ceil(bs);
    if max * bs < size {
        ctx.push(
            at(
                hoff,
                Code::HeaderMaxTableEntriesTooSmall,
                Field::MaxTableEntries,
                format!("{max} blocks of {bs} bytes cover less than the current size {size}"),
            )
            .expected(format!(">= {needed}"))
            .actual(max),
        );
    } else if max > needed {
        ctx.push(
            at(
                hoff,
                Code::HeaderMaxTableEntriesTooLarge,
                Field::MaxTableEntries,
                format!("{max} entries where the current size {size} needs {needed} blocks of {bs} bytes"),
            )
            .expected(needed)
            .actual(max),
        );
    }
}

fn reserved(ctx: &mut Ctx, hoff: u64, h: &DynamicDiskHeader) {
    if h.reserved1 != 0 {
        ctx.push(
            at(hoff, Code::HeaderReserved, Field::Reserved1, "reserved header bytes 60..64 are not zero")
                .expected("0")
                .actual(format!("{:#010x}", h.reserved1)),
        );
    }
    let first = h.reserved2.iter().position(|&b| b != 0);
    let last = h.reserved2.iter().rposition(|&b| b != 0);
    if let (Some(first), Some(last)) = (first, last) {
        let start = Field::Reserved2.offset() + first as u64;
        let end = Field::Reserved2.offset() + last as u64 + 1;
        let count = h.reserved2.iter().filter(|&&b| b != 0).count();
        ctx.push(
            Finding::new(
                Code::HeaderReserved,
                hoff.saturating_add(start),
                end - start,
                Field::Reserved2.path(),
                format!("{count} reserved header byte(s) in {start}..{end} are not zero"),
            )
            .expected("all zero"),
        );
    }
}

/// Parent fields: must be empty on a dynamic disk; judged on a differencing disk.
fn parent(ctx: &mut Ctx, hoff: u64, h: &DynamicDiskHeader) {
    match ctx.layout.disk_type() {
        Some(DiskType::Dynamic) => {
            if h.parent_unique_id != [0; 16] {
                ctx.push(
                    at(
                        hoff,
                        Code::HeaderParentOnDynamic,
                        Field::ParentUniqueId,
                        "a dynamic disk has a parent unique id",
                    )
                    .expected(format_uuid(&[0; 16]))
                    .actual(format_uuid(&h.parent_unique_id)),
                );
            }
            if h.parent_timestamp != 0 {
                ctx.push(
                    at(
                        hoff,
                        Code::HeaderParentOnDynamic,
                        Field::ParentTimestamp,
                        "a dynamic disk has a parent time stamp",
                    )
                    .expected(0)
                    .actual(h.parent_timestamp),
                );
            }
            if h.parent_unicode_name.iter().any(|&b| b != 0) {
                ctx.push(at(
                    hoff,
                    Code::HeaderParentOnDynamic,
                    Field::ParentUnicodeName,
                    "a dynamic disk has a non-zero parent unicode name",
                ));
            }
        }
        Some(DiskType::Differencing) => differencing(ctx, hoff, h),
        _ => {}
    }
}

fn differencing(ctx: &mut Ctx, hoff: u64, h: &DynamicDiskHeader) {
    if let Some(now) = ctx.opts.now_unix {
        if timestamp::is_future(h.parent_timestamp, now) {
            ctx.push(
                at(
                    hoff,
                    Code::HeaderParentTimestampFuture,
                    Field::ParentTimestamp,
                    format!(
                        "parent time stamp {} lies more than {} s after the validation time",
                        timestamp::format(h.parent_timestamp),
                        timestamp::FUTURE_SLACK_SECONDS
                    ),
                )
                .actual(h.parent_timestamp),
            );
        }
    }
    let units = h.parent_name_units();
    if units.is_empty() {
        ctx.push(at(hoff, Code::HeaderParentNameEmpty, Field::ParentUnicodeName, "the parent unicode name is empty"));
        return;
    }
    if units.len() == 256 {
        ctx.push(at(
            hoff,
            Code::HeaderParentNameUnterminated,
            Field::ParentUnicodeName,
            "the parent unicode name fills all 256 UTF-16 code units with no terminating NUL",
        ));
    }
    match h.parent_name() {
        None => ctx.push(at(
            hoff,
            Code::HeaderParentNameEncoding,
            Field::ParentUnicodeName,
            "the parent unicode name is not valid UTF-16 big-endian (unpaired surrogate)",
        )),
        Some(name) if looks_little_endian(&units) => {
            let swapped: String = units.iter().map(|u| char::from((u >> 8) as u8)).collect();
            ctx.push(
                at(
                    hoff,
                    Code::HeaderParentNameEncoding,
                    Field::ParentUnicodeName,
                    format!(
                        "the parent unicode name appears to be stored little-endian: it reads {name:?} as \
                         UTF-16BE, {swapped:?} byte-swapped"
                    ),
                )
                .actual(format!("{name:?}")),
            );
        }
        Some(_) => {}
    }
}

/// Whether every code unit is printable ASCII stored in the wrong byte order (`0xXX00`): a name
/// written as UTF-16LE into a field readers decode as UTF-16BE.
fn looks_little_endian(units: &[u16]) -> bool {
    !units.is_empty() && units.iter().all(|&u| u & 0xFF == 0 && (0x20..0x7F).contains(&(u >> 8)))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{self, codes, edit_header};
    use super::super::CheckOptions;
    use crate::rules::Code;

    fn dynamic() -> Vec<u8> {
        testutil::dynamic(4 << 20, 2 << 20, &[(1, 0xAB)])
    }

    fn diff() -> Vec<u8> {
        testutil::differencing(
            4 << 20,
            2 << 20,
            &[(0, 1)],
            "parent.vhd",
            &[testutil::TestLocator::w2ru(".\\parent.vhd")],
        )
    }

    fn findings(img: &[u8]) -> Vec<crate::Finding> {
        super::super::check_image(&img.to_vec(), "t.vhd", &CheckOptions::default()).findings
    }

    #[test]
    fn clean_headers() {
        assert_eq!(codes(&dynamic()), vec![]);
        let c = codes(&diff());
        assert!(c.iter().all(|c| !c.as_str().starts_with("HEADER-")), "{c:?}");
    }

    #[test]
    fn cookie_resealed_vs_garbage() {
        // Cookie changed and checksum fixed: the rest is still judged (here: nothing else).
        let mut img = dynamic();
        edit_header(&mut img, true, |h| h.cookie = *b"cxsparsE");
        assert_eq!(codes(&img), vec![Code::HeaderCookie]);
        // Cookie changed, checksum stale: not a header, only the cookie is reported.
        let mut img = dynamic();
        edit_header(&mut img, false, |h| {
            h.cookie = *b"cxsparsE";
            h.header_version = 7;
        });
        let c: Vec<_> = codes(&img).into_iter().filter(|c| c.as_str().starts_with("HEADER-")).collect();
        assert_eq!(c, vec![Code::HeaderCookie]);
    }

    #[test]
    fn checksum_broken_vs_field_changed_and_resealed() {
        let mut img = dynamic();
        edit_header(&mut img, false, |h| h.checksum ^= 4);
        assert_eq!(codes(&img), vec![Code::HeaderChecksum]);
        let mut img = dynamic();
        edit_header(&mut img, false, |h| h.header_version = 0x0002_0000);
        assert_eq!(codes(&img), vec![Code::HeaderChecksum, Code::HeaderVersion]);
        let mut img = dynamic();
        edit_header(&mut img, true, |h| h.header_version = 0x0002_0000);
        assert_eq!(codes(&img), vec![Code::HeaderVersion]);
        let fs = findings(&img);
        assert_eq!((fs[0].offset, fs[0].length, fs[0].path.as_str()), (512 + 24, 4, "header.header_version"));
    }

    #[test]
    fn data_offset() {
        let mut img = dynamic();
        edit_header(&mut img, true, |h| h.data_offset = 0xFFFF_FFFF);
        assert_eq!(codes(&img), vec![Code::HeaderDataOffset]);
    }

    #[test]
    fn table_offset_bounds_and_align() {
        let mut img = dynamic();
        edit_header(&mut img, true, |h| h.table_offset = 0);
        assert!(codes(&img).contains(&Code::HeaderTableOffsetBounds));
        let mut img = dynamic();
        let n = img.len() as u64;
        edit_header(&mut img, true, |h| h.table_offset = n - 512);
        let c = codes(&img);
        assert!(c.contains(&Code::HeaderTableOffsetBounds), "{c:?}");
        assert!(!c.contains(&Code::HeaderBatOverlapMetadata), "{c:?}");
        let mut img = dynamic();
        edit_header(&mut img, true, |h| h.table_offset = u64::MAX - 2);
        assert!(codes(&img).contains(&Code::HeaderTableOffsetBounds));
        let mut img = dynamic();
        edit_header(&mut img, true, |h| h.table_offset = 1540);
        let c = codes(&img);
        assert!(c.contains(&Code::HeaderTableOffsetAlign) && !c.contains(&Code::HeaderTableOffsetBounds), "{c:?}");
    }

    #[test]
    fn bat_overlaps_header_and_copy() {
        // BAT at 1024 overlaps the second half of the header.
        let mut img = dynamic();
        edit_header(&mut img, true, |h| h.table_offset = 1024);
        let fs = findings(&img);
        let o: Vec<_> = fs.iter().filter(|f| f.code == Code::HeaderBatOverlapMetadata).collect();
        assert_eq!(o.len(), 1);
        assert_eq!((o[0].offset, o[0].length), (1024, 512));
        assert!(o[0].message.contains("dynamic disk header"));
        // Only the padding overlaps the trailing footer: entries inside, padded span not.
        let mut img = dynamic();
        let n = img.len() as u64;
        edit_header(&mut img, true, |h| h.table_offset = n - 512 - 8);
        let fs = findings(&img);
        assert!(fs.iter().any(|f| f.code == Code::HeaderBatOverlapMetadata && f.message.contains("trailing footer")));
        assert!(!fs.iter().any(|f| f.code == Code::HeaderTableOffsetBounds));
    }

    #[test]
    fn block_size_rules() {
        let run = |bs: u32| {
            let mut img = dynamic();
            edit_header(&mut img, true, |h| h.block_size = bs);
            codes(&img).into_iter().filter(|c| c.as_str().starts_with("HEADER-BLOCK")).collect::<Vec<_>>()
        };
        assert_eq!(run(0), vec![Code::HeaderBlockSizeMin]);
        assert_eq!(run(256), vec![Code::HeaderBlockSizeMin]);
        assert_eq!(run(100), vec![Code::HeaderBlockSizePow2, Code::HeaderBlockSizeMin]);
        assert_eq!(run(3 << 20), vec![Code::HeaderBlockSizePow2]);
        assert_eq!(run(1024), vec![Code::HeaderBlockSizeSmall]);
        assert_eq!(run(1 << 20), vec![Code::HeaderBlockSizeUnusual]);
        assert_eq!(run(512 << 10), vec![]);
    }

    #[test]
    fn block_size_small_image_is_consistent() {
        // A complete image with 4 KiB blocks: only the block-size note.
        let img = testutil::dynamic(1 << 20, 4096, &[(3, 9)]);
        assert_eq!(codes(&img), vec![Code::HeaderBlockSizeUnusual]);
    }

    #[test]
    fn max_table_entries() {
        // Block 0 allocated, so that one entry still covers every allocated block.
        let mut img = testutil::dynamic(4 << 20, 2 << 20, &[(0, 1)]);
        edit_header(&mut img, true, |h| h.max_table_entries = 1);
        assert_eq!(codes(&img), vec![Code::HeaderMaxTableEntriesTooSmall]);
        // Three entries: the third lies in the (0xFF) padding, which reads as unallocated.
        let mut img = dynamic();
        edit_header(&mut img, true, |h| h.max_table_entries = 3);
        assert_eq!(codes(&img), vec![Code::HeaderMaxTableEntriesTooLarge]);
        // With a broken block size the size comparison is skipped.
        let mut img = dynamic();
        edit_header(&mut img, true, |h| {
            h.max_table_entries = 1;
            h.block_size = 0;
        });
        assert!(!codes(&img).contains(&Code::HeaderMaxTableEntriesTooSmall));
    }

    #[test]
    fn max_table_entries_limit_is_a_finding() {
        // Block data of 0xFF bytes: the BAT entries read past the real table are unallocated,
        // so this test is about the header rule, not about a BAT of garbage.
        let img0 = testutil::dynamic(4 << 20, 2 << 20, &[(1, 0xFF)]);
        let mut img = img0.clone();
        edit_header(&mut img, true, |h| h.max_table_entries = u32::MAX);
        let c = codes(&img);
        assert!(c.contains(&Code::HeaderMaxTableEntriesLimit), "{c:?}");
        assert!(c.contains(&Code::HeaderTableOffsetBounds), "{c:?}");
        // Within the INT_MAX/4 limit but more than 2040 GiB of 2 MiB blocks.
        let mut img = img0.clone();
        edit_header(&mut img, true, |h| h.max_table_entries = 1_044_481);
        let c = codes(&img);
        assert!(c.contains(&Code::HeaderMaxTableEntriesLimit), "{c:?}");
        // 500000 entries (2000384 bytes padded) fit in this 2100224-byte file; 600000 do not.
        let mut img = img0.clone();
        assert_eq!(img.len(), 2_100_224);
        edit_header(&mut img, true, |h| h.max_table_entries = 500_000);
        assert!(!codes(&img).contains(&Code::HeaderMaxTableEntriesLimit));
        let mut img = img0.clone();
        edit_header(&mut img, true, |h| h.max_table_entries = 600_000);
        assert!(codes(&img).contains(&Code::HeaderMaxTableEntriesLimit));
    }

    #[test]
    fn reserved() {
        let mut img = dynamic();
        edit_header(&mut img, true, |h| h.reserved1 = 1);
        assert_eq!(codes(&img), vec![Code::HeaderReserved]);
        let mut img = dynamic();
        edit_header(&mut img, true, |h| {
            h.reserved2[0] = 1;
            h.reserved2[255] = 1;
        });
        let fs = findings(&img);
        assert_eq!(fs.len(), 1);
        assert_eq!((fs[0].code, fs[0].offset, fs[0].length), (Code::HeaderReserved, 512 + 768, 256));
    }

    #[test]
    fn parent_fields_on_dynamic() {
        let mut img = dynamic();
        edit_header(&mut img, true, |h| {
            h.parent_unique_id = [1; 16];
            h.parent_timestamp = 5;
            h.set_parent_name("p.vhd");
        });
        assert_eq!(codes(&img), vec![Code::HeaderParentOnDynamic; 3]);
    }

    #[test]
    fn parent_timestamp_future() {
        let mut img = diff();
        edit_header(&mut img, true, |h| h.parent_timestamp = 20 * 365 * 86_400);
        assert!(codes(&img).contains(&Code::HeaderParentTimestampFuture));
        assert!(!findings(&img).iter().any(|f| f.code == Code::HeaderParentTimestampFuture));
        // On a dynamic disk the time stamp is judged by HEADER-PARENT-ON-DYNAMIC instead.
        let mut img = dynamic();
        edit_header(&mut img, true, |h| h.parent_timestamp = 20 * 365 * 86_400);
        assert_eq!(codes(&img), vec![Code::HeaderParentOnDynamic]);
    }

    fn header_codes(img: &[u8]) -> Vec<Code> {
        codes(img).into_iter().filter(|c| c.as_str().starts_with("HEADER-")).collect()
    }

    #[test]
    fn parent_name_rules() {
        let mut img = diff();
        edit_header(&mut img, true, |h| h.parent_unicode_name = [0; 512]);
        assert_eq!(header_codes(&img), vec![Code::HeaderParentNameEmpty]);
        // Unpaired high surrogate.
        let mut img = diff();
        edit_header(&mut img, true, |h| {
            h.parent_unicode_name = [0; 512];
            h.parent_unicode_name[..4].copy_from_slice(&[0xD8, 0x00, 0x00, 0x41]);
        });
        assert_eq!(header_codes(&img), vec![Code::HeaderParentNameEncoding]);
        // Written little-endian.
        let mut img = diff();
        edit_header(&mut img, true, |h| {
            h.parent_unicode_name = [0; 512];
            for (i, b) in b"p.vhd".iter().enumerate() {
                h.parent_unicode_name[2 * i] = *b;
            }
        });
        assert_eq!(header_codes(&img), vec![Code::HeaderParentNameEncoding]);
        // Non-ASCII but valid UTF-16BE: fine.
        let mut img = diff();
        edit_header(&mut img, true, |h| h.set_parent_name("Elternplatte-\u{e4}\u{4e00}.vhd"));
        assert_eq!(header_codes(&img), vec![]);
        // 256 units, no terminator.
        let mut img = diff();
        edit_header(&mut img, true, |h| h.set_parent_name(&"a".repeat(256)));
        assert_eq!(header_codes(&img), vec![Code::HeaderParentNameUnterminated]);
    }
}
