//! Rules of the `locator` family (spec §Dynamic Disk Header Format: Parent Locator Entries;
//! §Parent Locator Entry): the eight 24-byte parent locator entries at dynamic disk header bytes
//! 576..768 (entry `i` at `576 + 24 i`) and the payloads they point at.
//!
//! Entry fields (bytes within the entry): platform code 0..4, platform data space 4..8,
//! platform data length 8..12, reserved 12..16, platform data offset 16..24. Findings about a
//! field are located at the field in the file (`header offset + 576 + 24 i + field offset`,
//! path `header.parent_locator[i].data_space` etc.); findings about the payload are located at
//! the payload (`header.parent_locator[i].data`).
//!
//! The spec counts the data space in 512-byte **sectors**; Hyper-V and VirtualBox store
//! **bytes**. Rules that depend on the unit compute both readings and report only what is
//! wrong under both (LOCATOR-OFFSET-BOUNDS, LOCATOR-LENGTH-SPACE); LOCATOR-SPACE-UNITS reports
//! where the two readings disagree. Overlaps use [`ParentLocatorEntry::effective_span`]
//! (blktap's reading), as [`super::Layout::metadata_regions`] does.
//!
//! Payloads are read only when their data length is at most
//! [`PAYLOAD_CAP`](crate::format::locator::PAYLOAD_CAP) bytes and they lie
//! wholly inside the file, so a locator claiming 4 GiB costs nothing.
//!
//! On a dynamic disk only LOCATOR-ON-DYNAMIC, LOCATOR-PLATFORM-CODE and LOCATOR-RESERVED apply.

use super::bat::{range, region_name};
use super::{Ctx, Region};
use crate::finding::{Finding, Text};
use crate::format::header::{self, locator_at};
use crate::format::locator::{decoded_paths, Field, PayloadError, LOCATOR_ENTRY_SIZE};
use crate::format::{DiskType, DynamicDiskHeader, ParentLocatorEntry, PlatformCode, SECTOR_SIZE};
use crate::lazy_text;
use crate::rules::Code;

/// The file name of a decoded locator path: the part after the last `/` once `\` is `/`.
fn file_name(path: &str) -> String {
    let p = path.replace('\\', "/");
    p.rsplit('/').next().unwrap_or("").to_string()
}

/// File offset of entry `i` (saturating).
fn entry_at(hoff: u64, i: usize) -> u64 {
    hoff.saturating_add(locator_at(i))
}

/// Checks the parent locators of a dynamic or differencing disk.
pub(super) fn check(ctx: &mut Ctx) {
    let layout = ctx.layout;
    let Some((hoff, header)) = &layout.header else {
        return;
    };
    let hoff = *hoff;
    for (i, loc) in header.parent_locators.iter().enumerate() {
        let at = entry_at(hoff, i);
        if let PlatformCode::Unknown(raw) = loc.code() {
            ctx.push(
                Finding::new(
                    Code::LocatorPlatformCode,
                    Field::PlatformCode.at(at),
                    Field::PlatformCode.len(),
                    format!("header.parent_locator[{i}].{}", Field::PlatformCode.name()),
                    format!(
                        "parent locator {i} has the unknown platform code {} (known: none, Wi2r, Wi2k, W2ru, W2ku, Mac, MacX)",
                        crate::format::format_tag(&raw.to_be_bytes())
                    ),
                )
                .actual(format!("{raw:#010x}")),
            );
        }
        if loc.reserved != 0 {
            ctx.push(
                Finding::new(
                    Code::LocatorReserved,
                    Field::Reserved.at(at),
                    Field::Reserved.len(),
                    format!("header.parent_locator[{i}].{}", Field::Reserved.name()),
                    format!("the reserved field of parent locator {i} is not zero"),
                )
                .expected("0x00000000")
                .actual(format!("{:#010x}", loc.reserved)),
            );
        }
    }
    match layout.disk_type() {
        Some(DiskType::Dynamic) => check_dynamic(ctx, hoff, header),
        Some(DiskType::Differencing) => check_differencing(ctx, hoff, header),
        _ => {}
    }
}

/// LOCATOR-ON-DYNAMIC: one finding when any byte of the eight entries is non-zero.
fn check_dynamic(ctx: &mut Ctx, hoff: u64, header: &DynamicDiskHeader) {
    let used: Vec<String> =
        header.parent_locators.iter().enumerate().filter(|(_, l)| !l.is_empty()).map(|(i, _)| i.to_string()).collect();
    if !used.is_empty() {
        ctx.report(
            Code::LocatorOnDynamic,
            header::Field::ParentLocator.at(hoff),
            header::Field::ParentLocator.len(),
            header::Field::ParentLocator.path(),
            format!("a dynamic disk should have all parent locator entries zero; entries {} are not", used.join(", ")),
        );
    }
}

/// Every rule of the family for a differencing disk.
fn check_differencing(ctx: &mut Ctx, hoff: u64, header: &DynamicDiskHeader) {
    let parent_name = header.parent_name().filter(|n| !n.is_empty());
    for (i, code, decoded) in decoded_paths(ctx.src, header) {
        if let Some(loc) = header.parent_locators.get(i) {
            check_payload(ctx, i, code, loc, decoded, parent_name.as_deref());
        }
    }
    let mut seen: Vec<(u32, usize)> = Vec::new();
    for (i, loc) in header.parent_locators.iter().enumerate() {
        let at = entry_at(hoff, i);
        let p = Text::format(format_args!("header.parent_locator[{i}]"));
        if loc.platform_code == 0 {
            if !loc.is_empty() {
                ctx.report(
                    Code::LocatorNoneNonzero,
                    at,
                    LOCATOR_ENTRY_SIZE as u64,
                    &p,
                    lazy_text!("parent locator {i} has platform code 0 (none) but non-zero fields", i),
                );
            }
            continue;
        }
        let code = loc.code();
        if let Some(&(_, first)) = seen.iter().find(|(c, _)| *c == loc.platform_code) {
            ctx.push(
                Finding::new(
                    Code::LocatorDuplicateCode,
                    Field::PlatformCode.at(at),
                    Field::PlatformCode.len(),
                    Text::format(format_args!("{p}.{}", Field::PlatformCode.name())),
                    Text::lazy((first, i, code), |(first, i, code), f| {
                        write!(f, "parent locators {first} and {i} both use platform code {}", code.name())
                    }),
                )
                .actual(code.name()),
            );
        } else {
            seen.push((loc.platform_code, i));
        }
        if code.is_deprecated() {
            ctx.report(
                Code::LocatorDeprecatedCode,
                Field::PlatformCode.at(at),
                Field::PlatformCode.len(),
                Text::format(format_args!("{p}.{}", Field::PlatformCode.name())),
                Text::lazy((i, code), |(i, code), f| {
                    write!(f, "parent locator {i} uses the deprecated platform code {}", code.name())
                }),
            );
        }
        check_fields(ctx, i, at, loc);
    }
    if !header.parent_locators.iter().any(|l| l.code().is_resolvable()) {
        ctx.report(
            Code::LocatorNoneOnDiff,
            header::Field::ParentLocator.at(hoff),
            header::Field::ParentLocator.len(),
            header::Field::ParentLocator.path(),
            "the differencing disk has no W2ku, W2ru or MacX parent locator: readers that follow locators cannot find the parent",
        );
    }
    check_overlap(ctx);
}

/// LOCATOR-ZERO-FIELDS, LOCATOR-ALIGN, LOCATOR-OFFSET-BOUNDS, LOCATOR-LENGTH-SPACE and
/// LOCATOR-SPACE-UNITS for a used entry `i` at file offset `at`.
fn check_fields(ctx: &mut Ctx, i: usize, at: u64, loc: &ParentLocatorEntry) {
    let layout = ctx.layout;
    let p = Text::format(format_args!("header.parent_locator[{i}]"));
    let off = loc.platform_data_offset;
    let space = u64::from(loc.platform_data_space);
    let len = u64::from(loc.platform_data_length);
    let footer_start = layout.footer_start();

    let zero: Vec<Field> = [(Field::DataOffset, off), (Field::DataSpace, space), (Field::DataLength, len)]
        .into_iter()
        .filter(|&(_, v)| v == 0)
        .map(|(f, _)| f)
        .collect();
    if let [field] = zero.as_slice() {
        ctx.push(
            Finding::new(
                Code::LocatorZeroFields,
                field.at(at),
                field.len(),
                Text::format(format_args!("{p}.{}", field.name())),
                Text::lazy((i, loc.code(), field.name()), |(i, code, name), f| {
                    write!(
                        f,
                        "parent locator {i} is used (platform code {}) but its {} is zero",
                        code.name(),
                        name.replace('_', " ")
                    )
                }),
            )
            .actual(0),
        );
    } else if !zero.is_empty() {
        let names: Vec<String> = zero.iter().map(|f| f.name().replace('_', " ")).collect();
        ctx.report(
            Code::LocatorZeroFields,
            at,
            LOCATOR_ENTRY_SIZE as u64,
            &p,
            format!(
                "parent locator {i} is used (platform code {}) but its {} are zero",
                loc.code().name(),
                names.join(", ")
            ),
        );
    }

    if !off.is_multiple_of(SECTOR_SIZE) {
        ctx.push(
            Finding::new(
                Code::LocatorAlign,
                Field::DataOffset.at(at),
                Field::DataOffset.len(),
                Text::format(format_args!("{p}.{}", Field::DataOffset.name())),
                lazy_text!(
                    "the data offset of parent locator {i} is not a multiple of 512 ({past} bytes past a sector)",
                    i,
                    past = off % SECTOR_SIZE
                ),
            )
            .actual(off),
        );
    }

    // The least the data can occupy under either reading of the space: space bytes, and the
    // data length itself.
    let least = space.max(len);
    let end = off.saturating_add(least);
    if off == 0 || end > footer_start {
        ctx.push(
            Finding::new(
                Code::LocatorOffsetBounds,
                Field::DataOffset.at(at),
                Field::DataOffset.len(),
                Text::format(format_args!("{p}.{}", Field::DataOffset.name())),
                lazy_text!(
                    "the data of parent locator {i} (bytes {bytes}, the larger of its data length {len} and data space {space} read as bytes) is not inside the file before the trailing footer at {footer_start:#x}",
                    i,
                    bytes = range(off, end),
                    len,
                    space,
                    footer_start
                ),
            )
            .actual(off),
        );
    }

    if len > space.saturating_mul(SECTOR_SIZE) {
        ctx.push(
            Finding::new(
                Code::LocatorLengthSpace,
                Field::DataLength.at(at),
                Field::DataLength.len(),
                Text::format(format_args!("{p}.{}", Field::DataLength.name())),
                lazy_text!(
                    "the data length of parent locator {i} ({len} bytes) exceeds its data space read as bytes ({space}) and as sectors ({sectors} bytes)",
                    i,
                    len,
                    space,
                    sectors = space.saturating_mul(SECTOR_SIZE)
                ),
            )
            .actual(len),
        );
    }

    if space >= 512 && !space.is_multiple_of(512) {
        ctx.push(
            Finding::new(
                Code::LocatorSpaceUnreadable,
                Field::DataSpace.at(at),
                Field::DataSpace.len(),
                Text::format(format_args!("{p}.{}", Field::DataSpace.name())),
                lazy_text!(
                    "the data space of parent locator {i} ({space}) is neither a sector count below 512 nor a \
                     whole number of sectors in bytes, so blktap cannot read the locator",
                    i,
                    space
                ),
            )
            .expected("below 512 (sectors) or a multiple of 512 (bytes)")
            .actual(space),
        );
        return;
    }
    let mut reasons = Vec::new();
    // A space below 512 that is smaller than the data length is the spec's reading (sectors):
    // that is conformant, so it is not reported here.
    if space > 0 {
        let as_sectors = Region::new(off, space.saturating_mul(SECTOR_SIZE), "");
        let as_bytes = Region::new(off, space, "");
        if let Some(what) = collision(ctx, i, &as_sectors) {
            if collision(ctx, i, &as_bytes).is_none() {
                reasons.push(format!(
                    "read as sectors the space ({} bytes, {}) overlaps {what}; read as bytes it does not, so it is in bytes (Hyper-V, VirtualBox), not sectors (the spec)",
                    space.saturating_mul(SECTOR_SIZE),
                    range(as_sectors.start, as_sectors.end)
                ));
            }
        }
    }
    if !reasons.is_empty() {
        ctx.push(
            Finding::new(
                Code::LocatorSpaceUnits,
                Field::DataSpace.at(at),
                Field::DataSpace.len(),
                Text::format(format_args!("{p}.{}", Field::DataSpace.name())),
                format!("the data space of parent locator {i} is ambiguous: {}", reasons.join("; ")),
            )
            .actual(space),
        );
    }
}

/// What `span` (a reading of locator `i`'s data) collides with: the other metadata regions
/// (other locators by their effective span), an allocated block, or the trailing footer and
/// what lies past the end of the file. `None` when nothing.
fn collision(ctx: &Ctx, i: usize, span: &Region) -> Option<String> {
    let layout = ctx.layout;
    if span.end > layout.footer_start() {
        return Some(format!("the trailing hard disk footer at {}", range(layout.footer_start(), layout.file_size)));
    }
    let me = format!("header.parent_locator[{i}]");
    if let Some(r) = layout.metadata_regions().into_iter().find(|r| r.what != me && r.overlaps(span)) {
        return Some(format!("{} at {}", region_name(&r), range(r.start, r.end)));
    }
    let g = layout.block?;
    layout.bat.allocated().find_map(|(n, e)| {
        let block = Region::new(u64::from(e) * SECTOR_SIZE, g.span_bytes(), "");
        block.overlaps(span).then(|| format!("block {n} at {}", range(block.start, block.end)))
    })
}

/// LOCATOR-ENCODING, LOCATOR-W2RU-PREFIX and LOCATOR-PARENT-NAME-MISMATCH for entry `i`, whose
/// payload [`decoded_paths`] decoded.
fn check_payload(
    ctx: &mut Ctx,
    i: usize,
    code: PlatformCode,
    loc: &ParentLocatorEntry,
    decoded: Result<String, PayloadError>,
    parent_name: Option<&str>,
) {
    let off = loc.platform_data_offset;
    let len = u64::from(loc.platform_data_length);
    let p = Text::format(format_args!("header.parent_locator[{i}].data"));
    let path = match decoded {
        Ok(path) => path,
        Err(e) => {
            let want = if code == PlatformCode::MacX { "a UTF-8 file:// URL" } else { "UTF-16LE" };
            ctx.report(
                Code::LocatorEncoding,
                off,
                len,
                &p,
                format!("the {} payload of parent locator {i} is not {want}: {e}", code.name()),
            );
            return;
        }
    };
    if code == PlatformCode::W2ru && !path.starts_with(".\\") {
        ctx.push(
            Finding::new(
                Code::LocatorW2ruPrefix,
                off,
                len,
                &p,
                format!("the W2ru relative path of parent locator {i} does not start with `.\\`"),
            )
            .expected(".\\...")
            .actual(&path),
        );
    }
    if let Some(name) = parent_name {
        let file = file_name(&path);
        // Hyper-V and Windows store the parent's full path as the name: it names the same file
        // when its last component is the locator's file name.
        if file != name && file != file_name(name) {
            ctx.push(
                Finding::new(
                    Code::LocatorParentNameMismatch,
                    off,
                    len,
                    &p,
                    format!(
                        "the file name of the {} path of parent locator {i} ({path}) differs from the parent unicode name",
                        code.name()
                    ),
                )
                .expected(name)
                .actual(file),
            );
        }
    }
}

/// LOCATOR-OVERLAP: each used locator's data span (effective span) against the other
/// locators' spans (once per pair), the footer copy, the dynamic disk header, the BAT and the
/// trailing footer. Overlaps with blocks are BAT-ENTRY-OVERLAP-METADATA.
fn check_overlap(ctx: &mut Ctx) {
    let regions = ctx.layout.metadata_regions();
    let (locs, others): (Vec<&Region>, Vec<&Region>) =
        regions.iter().partition(|r| r.what.starts_with("header.parent_locator["));
    for (k, l) in locs.iter().enumerate() {
        let hits = locs.iter().take(k).copied().chain(others.iter().copied()).filter(|r| r.overlaps(l));
        for r in hits {
            ctx.report(
                Code::LocatorOverlap,
                l.start,
                l.end - l.start,
                Text::format(format_args!("{}.data", l.what)),
                Text::lazy(((*l).clone(), r.clone()), |(l, r), f| {
                    write!(
                        f,
                        "{} (bytes {}) overlaps {} (bytes {})",
                        region_name(l),
                        range(l.start, l.end),
                        region_name(r),
                        range(r.start, r.end)
                    )
                }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{self, TestLocator};
    use crate::format::locator::{decoded_paths, PAYLOAD_CAP};
    use crate::format::locator::{encode_utf16le, PayloadError};
    use crate::format::{DynamicDiskHeader, ParentLocatorEntry, PlatformCode};
    use crate::io::ReadAt;
    use crate::rules::{Code, Family};
    use crate::Finding;
    use std::cell::Cell;

    const BS: u32 = 1 << 20;
    const SIZE: u64 = 4 << 20;

    fn loc_findings(img: &[u8]) -> Vec<Finding> {
        testutil::family_findings(img, &[Family::Locator])
    }

    fn loc_codes(img: &[u8]) -> Vec<Code> {
        testutil::family_codes(img, &[Family::Locator])
    }

    fn diff(locs: &[TestLocator]) -> Vec<u8> {
        testutil::differencing(SIZE, BS, &[(0, 1)], "parent.vhd", locs)
    }

    fn std_locs() -> Vec<TestLocator> {
        vec![TestLocator::w2ku("C:\\vms\\parent.vhd"), TestLocator::w2ru(".\\parent.vhd")]
    }

    fn header(img: &[u8]) -> DynamicDiskHeader {
        DynamicDiskHeader::decode(img[512..1536].try_into().unwrap())
    }

    /// Lets `edit` change entry `i` of the header and reseals it.
    fn edit_loc(img: &mut [u8], i: usize, edit: impl FnOnce(&mut ParentLocatorEntry)) {
        testutil::edit_header(img, true, |h| edit(&mut h.parent_locators[i]));
    }

    fn only(img: &[u8], code: Code) -> Finding {
        let f: Vec<_> = loc_findings(img).into_iter().filter(|f| f.code == code).collect();
        assert_eq!(f.len(), 1, "{f:?}");
        f.into_iter().next().unwrap()
    }

    #[test]
    fn clean_images_have_no_locator_findings() {
        assert_eq!(loc_codes(&diff(&std_locs())), vec![]);
        assert_eq!(
            loc_codes(&diff(&[TestLocator::macx("/srv/parent.vhd"), TestLocator::w2ku("D:\\parent.vhd")])),
            vec![]
        );
        // A payload of 600 bytes: space 1024 (a whole number of sectors, in bytes and sectors).
        let long = format!("C:\\{}\\parent.vhd", "d".repeat(280));
        assert_eq!(loc_codes(&diff(&[TestLocator::w2ku(&long)])), vec![]);
        assert_eq!(loc_codes(&testutil::dynamic(SIZE, BS, &[(1, 3)])), vec![]);
    }

    #[test]
    fn locators_on_dynamic_disk() {
        let mut img = testutil::dynamic(SIZE, BS, &[]);
        edit_loc(&mut img, 2, |l| l.platform_data_space = 1);
        let f = only(&img, Code::LocatorOnDynamic);
        assert_eq!((f.offset, f.length), (512 + 576, 192));
        assert!(f.message.contains("entries 2"), "{}", f.message);
        // Only the three rules that apply to dynamic disks.
        edit_loc(&mut img, 3, |l| {
            l.platform_code = 0x1234_5678;
            l.reserved = 1;
            l.platform_data_offset = 3;
        });
        assert_eq!(loc_codes(&img), vec![Code::LocatorPlatformCode, Code::LocatorReserved, Code::LocatorOnDynamic]);
    }

    #[test]
    fn unknown_platform_code_and_reserved_field() {
        let mut img = diff(&std_locs());
        edit_loc(&mut img, 1, |l| l.platform_code = u32::from_be_bytes(*b"W2rx"));
        let f = only(&img, Code::LocatorPlatformCode);
        assert_eq!(
            (f.offset, f.length, f.path.as_str()),
            (512 + 576 + 24, 4, "header.parent_locator[1].platform_code")
        );
        assert!(f.message.contains("\"W2rx\""), "{}", f.message);
        let mut img = diff(&std_locs());
        edit_loc(&mut img, 0, |l| l.reserved = 7);
        let f = only(&img, Code::LocatorReserved);
        assert_eq!((f.offset, f.actual.as_deref()), (512 + 576 + 12, Some("0x00000007")));
    }

    #[test]
    fn none_code_with_fields() {
        let mut img = diff(&std_locs());
        edit_loc(&mut img, 5, |l| l.platform_data_length = 9);
        assert_eq!(loc_codes(&img), vec![Code::LocatorNoneNonzero]);
    }

    #[test]
    fn zero_fields() {
        let mut img = diff(&std_locs());
        edit_loc(&mut img, 1, |l| l.platform_data_length = 0);
        let f = only(&img, Code::LocatorZeroFields);
        assert_eq!((f.path.as_str(), f.offset), ("header.parent_locator[1].data_length", 512 + 576 + 24 + 8));
        let mut img = diff(&std_locs());
        edit_loc(&mut img, 1, |l| {
            l.platform_data_length = 0;
            l.platform_data_space = 0;
        });
        let f = only(&img, Code::LocatorZeroFields);
        assert!(f.message.contains("data space, data length are zero"), "{}", f.message);
        // A zero data offset: also out of bounds (and overlapping the footer copy).
        let mut img = diff(&std_locs());
        edit_loc(&mut img, 0, |l| l.platform_data_offset = 0);
        let c = loc_codes(&img);
        assert!(c.contains(&Code::LocatorZeroFields) && c.contains(&Code::LocatorOffsetBounds), "{c:?}");
    }

    #[test]
    fn offset_out_of_bounds() {
        let mut img = diff(&std_locs());
        let fs = img.len() as u64 - 512;
        // W2ku payload is 34 bytes (space 34): ends 2 bytes into the trailing footer.
        edit_loc(&mut img, 0, |l| l.platform_data_offset = fs - 32);
        let c = loc_codes(&img);
        assert!(c.contains(&Code::LocatorOffsetBounds), "{c:?}");
        // Exactly before the footer: in bounds.
        let mut img = diff(&std_locs());
        edit_loc(&mut img, 0, |l| l.platform_data_offset = fs - 34);
        assert!(!loc_codes(&img).contains(&Code::LocatorOffsetBounds));
        // Far past the end of the file.
        let mut img = diff(&std_locs());
        edit_loc(&mut img, 0, |l| l.platform_data_offset = u64::MAX - 3);
        assert!(loc_codes(&img).contains(&Code::LocatorOffsetBounds));
    }

    #[test]
    fn length_exceeds_space_under_both_readings() {
        // Space 1 (sector): 512 bytes; a 600-byte payload does not fit either way.
        let mut l = TestLocator::w2ku(&format!("C:\\{}\\parent.vhd", "d".repeat(286)));
        assert_eq!(l.payload.len(), 600);
        l.space = 1;
        let img = diff(&[l]);
        let f = only(&img, Code::LocatorLengthSpace);
        assert_eq!(f.path, "header.parent_locator[0].data_length");
        // Space 2 sectors (1024 bytes) fits as sectors (the spec's reading): no finding.
        let mut l = TestLocator::w2ku(&format!("C:\\{}\\parent.vhd", "d".repeat(286)));
        l.space = 2;
        let c = loc_codes(&diff(&[l]));
        assert!(!c.contains(&Code::LocatorLengthSpace) && !c.contains(&Code::LocatorSpaceUnits), "{c:?}");
    }

    #[test]
    fn space_units() {
        // (a) 1000 is neither a small sector count nor a multiple of 512: blktap cannot read it,
        // which is its own rule (and not also an ambiguity).
        let mut l = TestLocator::w2ku("C:\\parent.vhd");
        l.space = 1000;
        let f = only(&diff(&[l.clone()]), Code::LocatorSpaceUnreadable);
        assert!(f.message.contains("neither a sector count"), "{}", f.message);
        assert!(!loc_codes(&diff(&[l])).contains(&Code::LocatorSpaceUnits));
        // (b) space 10 < data length 26: the spec's sector reading; conformant, not reported.
        let mut l = TestLocator::w2ku("C:\\parent.vhd");
        l.space = 10;
        assert!(!loc_codes(&diff(&[l])).contains(&Code::LocatorSpaceUnits));
        // (c) VirtualBox style: space 1024 bytes per locator, areas back to back.
        let mut a = TestLocator::w2ku("C:\\parent.vhd");
        let mut b = TestLocator::w2ru(".\\parent.vhd");
        a.space = 1024;
        b.space = 1024;
        let mut img = diff(&[a, b]);
        // The builder reserved 512 KiB each; place the second right after 1 KiB of the first.
        let h = header(&img);
        let (o0, o1) = (h.parent_locators[0].platform_data_offset, h.parent_locators[1].platform_data_offset);
        let payload = img[o1 as usize..o1 as usize + 1024].to_vec();
        img[o0 as usize + 1024..o0 as usize + 2048].copy_from_slice(&payload);
        edit_loc(&mut img, 1, |l| l.platform_data_offset = o0 + 1024);
        // Locator 0 read as sectors runs into locator 1; locator 1 read as sectors still ends
        // before the blocks (the builder reserved 512 KiB after its old place).
        let f: Vec<_> = loc_findings(&img);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].code, f[0].path.as_str()), (Code::LocatorSpaceUnits, "header.parent_locator[0].data_space"));
        assert!(f[0].message.contains("so it is in bytes"), "{}", f[0].message);
    }

    #[test]
    fn overlapping_locators_and_metadata() {
        // Both entries at the same offset.
        let mut img = diff(&std_locs());
        let o0 = header(&img).parent_locators[0].platform_data_offset;
        edit_loc(&mut img, 1, |l| l.platform_data_offset = o0);
        let f = only(&img, Code::LocatorOverlap);
        assert_eq!(f.path, "header.parent_locator[1].data");
        assert!(f.message.contains("parent locator 0"), "{}", f.message);
        // Into the BAT (and the header, with its effective span of 17 sectors).
        let mut img = diff(&std_locs());
        edit_loc(&mut img, 0, |l| l.platform_data_offset = 1536);
        let f: Vec<_> = loc_findings(&img).into_iter().filter(|f| f.code == Code::LocatorOverlap).collect();
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].message.contains("the BAT"), "{}", f[0].message);
        // Onto the trailing footer.
        let mut img = diff(&std_locs());
        let fs = img.len() as u64 - 512;
        edit_loc(&mut img, 1, |l| l.platform_data_offset = fs);
        let c = loc_codes(&img);
        assert!(c.contains(&Code::LocatorOverlap) && c.contains(&Code::LocatorOffsetBounds), "{c:?}");
    }

    #[test]
    fn unaligned_offset() {
        let mut img = diff(&std_locs());
        edit_loc(&mut img, 0, |l| l.platform_data_offset += 2);
        let f = only(&img, Code::LocatorAlign);
        assert_eq!((f.path.as_str(), f.length), ("header.parent_locator[0].data_offset", 8));
    }

    #[test]
    fn encoding() {
        // Odd UTF-16 length.
        let mut img = diff(&std_locs());
        edit_loc(&mut img, 0, |l| l.platform_data_length = 33);
        let f = only(&img, Code::LocatorEncoding);
        assert_eq!(f.path, "header.parent_locator[0].data");
        // Unpaired surrogate.
        let bad = TestLocator::new(PlatformCode::W2ku, vec![0x41, 0x00, 0x00, 0xD8]);
        assert_eq!(loc_codes(&diff(&[bad, TestLocator::w2ru(".\\parent.vhd")])), vec![Code::LocatorEncoding]);
        // MacX without file://.
        let bad = TestLocator::new(PlatformCode::MacX, b"/srv/parent.vhd".to_vec());
        let c = loc_codes(&diff(&[bad]));
        assert_eq!(c, vec![Code::LocatorEncoding]);
    }

    #[test]
    fn w2ru_prefix_and_parent_name() {
        let img = diff(&[TestLocator::w2ku("C:\\parent.vhd"), TestLocator::w2ru("parent.vhd")]);
        assert_eq!(loc_codes(&img), vec![Code::LocatorW2ruPrefix]);
        let img = diff(&[TestLocator::w2ku("C:\\vms\\other.vhd"), TestLocator::w2ru(".\\parent.vhd")]);
        let f = only(&img, Code::LocatorParentNameMismatch);
        assert_eq!((f.expected.as_deref(), f.actual.as_deref()), (Some("parent.vhd"), Some("other.vhd")));
        // Case matters (blktap compares bytes).
        let img = diff(&[TestLocator::macx("/srv/Parent.vhd")]);
        assert_eq!(loc_codes(&img), vec![Code::LocatorParentNameMismatch]);
        // A full path as the parent unicode name (as Windows writes) names the same file.
        let full = |name: &str| {
            let mut img = diff(&std_locs());
            testutil::edit_header(&mut img, true, |h| {
                h.parent_unicode_name = [0; 512];
                for (i, u) in name.encode_utf16().enumerate() {
                    h.parent_unicode_name[2 * i..2 * i + 2].copy_from_slice(&u.to_be_bytes());
                }
            });
            loc_codes(&img)
        };
        assert_eq!(full("C:\\vms\\parent.vhd"), vec![]);
        assert_eq!(full("D:\\elsewhere\\parent.vhd"), vec![]);
        assert_eq!(full("C:\\vms\\other.vhd"), vec![Code::LocatorParentNameMismatch; 2]);
    }

    #[test]
    fn duplicate_deprecated_and_missing_codes() {
        let img = diff(&[TestLocator::w2ku("C:\\parent.vhd"), TestLocator::w2ku("D:\\parent.vhd")]);
        let f = only(&img, Code::LocatorDuplicateCode);
        assert_eq!(f.path, "header.parent_locator[1].platform_code");
        let wi2k = TestLocator::new(PlatformCode::Wi2k, b"C:\\parent.vhd".to_vec());
        let img = diff(&[wi2k]);
        assert_eq!(loc_codes(&img), vec![Code::LocatorNoneOnDiff, Code::LocatorDeprecatedCode]);
        assert_eq!(loc_codes(&diff(&[])), vec![Code::LocatorNoneOnDiff]);
    }

    /// A source that remembers the largest single read.
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
    fn locator_claiming_4_gib() {
        let mut img = diff(&std_locs());
        edit_loc(&mut img, 0, |l| {
            l.platform_data_length = u32::MAX;
            l.platform_data_space = u32::MAX;
        });
        let src = MaxRead { inner: &img, max: Cell::new(0) };
        let r = super::super::check_image(&src, "t.vhd", &super::super::CheckOptions::default());
        assert!(src.max.get() as u64 <= PAYLOAD_CAP.max(1 << 20), "largest read {}", src.max.get());
        let c: Vec<_> = r.findings.iter().map(|f| f.code).collect();
        assert!(c.contains(&Code::LocatorOffsetBounds) && c.contains(&Code::LocatorOverlap), "{c:?}");
        // Not decoded, so no encoding finding; the W2ru locator still decodes.
        assert!(!c.contains(&Code::LocatorEncoding));
        let h = header(&img);
        let p = decoded_paths(&img, &h);
        assert_eq!(p, vec![(1, PlatformCode::W2ru, Ok(".\\parent.vhd".to_string()))]);
    }

    #[test]
    fn decoded_paths_helper() {
        let bad = TestLocator::new(PlatformCode::W2ku, vec![1, 2, 3]);
        let img =
            diff(&[bad, TestLocator::macx("/a b/parent.vhd"), TestLocator::new(PlatformCode::Wi2r, b"x".to_vec())]);
        let h = header(&img);
        assert_eq!(
            decoded_paths(&img, &h),
            vec![
                (0, PlatformCode::W2ku, Err(PayloadError::OddLength(3))),
                (1, PlatformCode::MacX, Ok("/a b/parent.vhd".to_string())),
            ]
        );
        // Payloads past the cap are not read.
        let mut img = diff(&[TestLocator::w2ku("C:\\parent.vhd")]);
        let big = encode_utf16le(&"x".repeat(40_000));
        assert!(big.len() as u64 > PAYLOAD_CAP);
        let o = header(&img).parent_locators[0].platform_data_offset;
        edit_loc(&mut img, 0, |l| {
            l.platform_data_offset = 0;
            l.platform_data_length = big.len() as u32;
        });
        assert_eq!(decoded_paths(&img, &header(&img)), vec![]);
        assert!(o > 0);
    }
}
