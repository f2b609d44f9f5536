//! Rules of the `footer` family: the fields of the hard disk footer (spec §Hard Disk Footer
//! Format; geometry per the spec's appendix "CHS Calculation").
//!
//! Which footer is judged:
//! - the trailing footer (last 512 bytes, or the last 511 for pre-2004 Virtual PC images) when
//!   its cookie is `conectix`; paths are `footer.<field>`, offsets are absolute file offsets;
//! - otherwise, for a dynamic or differencing disk whose copy at offset 0 is valid, the trailing
//!   bytes get their own cookie finding and the field rules judge the copy the image is read
//!   with (paths `footer_copy.<field>`, offsets from 0);
//! - with no usable footer at all, only the trailing cookie is reported.

use super::{Ctx, FooterSource};
use crate::finding::{Finding, Text};
use crate::format::footer::{
    Field, COOKIE, FEATURE_RESERVED, FEATURE_TEMPORARY, FOOTER_SIZE, HOST_OS_MAC, HOST_OS_WINDOWS, MAX_CURRENT_SIZE,
    VERSION_1_0,
};
use crate::format::geometry::Geometry;
use crate::format::{format_tag, format_uuid, timestamp, DiskType, HardDiskFooter, ALL_ONES_OFFSET};
use crate::rules::Code;

/// Creator applications this project knows (`vhdc` is this project's generator).
pub(super) const KNOWN_CREATORS: [[u8; 4]; 12] = [
    *b"vpc ", *b"vs  ", *b"win ", *b"wa\0\0", *b"d2v\0", *b"d2v ", *b"qemu", *b"qem2", *b"tap\0", *b"CTXS", *b"vbox",
    *b"vhdc",
];

/// Creators QEMU 10.0 and later size by C x H x S (`vpc_ignore_current_size` in QEMU
/// `block/vpc.c`, since "vpc: Read images exported from Azure correctly"); every other creator
/// gets the current size.
pub(super) const QEMU_CHS_CREATORS: [[u8; 4]; 2] = [*b"vpc ", *b"qemu"];

/// Creators QEMU before 10.0 sized by the current size; every other creator got C x H x S.
pub(super) const QEMU_LEGACY_CURRENT_SIZE_CREATORS: [[u8; 4]; 5] = [*b"win ", *b"qem2", *b"d2v ", *b"CTXS", *b"tap\0"];

/// The last blktap creator version (`VHD_CURRENT_VERSION`, 1.3, in blktap include/vhd.h).
const TAP_CURRENT_VERSION: u32 = 0x0001_0003;

/// Smallest current size (bytes) for which the CHS algorithm gives a non-zero cylinder count:
/// 68 sectors = 34 KiB.
const MIN_SIZE_WITH_CYLINDERS: u64 = 68 * 512;

/// Where a footer sits and what its structure path is called.
#[derive(Clone, Copy)]
pub(super) struct Site<'a> {
    /// Absolute file offset of the footer's byte 0.
    pub base: u64,
    /// `footer` or `footer_copy`.
    pub name: &'a str,
}

impl Site<'_> {
    fn finding(&self, code: Code, field: Field, message: impl Into<Text>) -> Finding {
        Finding::new(
            code,
            field.at(self.base),
            field.len(),
            Text::format(format_args!("{}.{}", self.name, field.name())),
            message,
        )
    }
}

/// Checks the footer rules (see the module documentation for which footer is judged).
pub(super) fn check(ctx: &mut Ctx) {
    let layout = ctx.layout;
    let tail_site = layout.tail.as_ref().map(|(off, _)| Site { base: *off, name: "footer" });
    match &layout.footer {
        None => {
            if let (Some((_, tail)), Some(site)) = (&layout.tail, tail_site) {
                validity(ctx, tail, site);
            }
        }
        Some((FooterSource::HeadCopy, copy)) => {
            if let (Some((_, tail)), Some(site)) = (&layout.tail, tail_site) {
                validity(ctx, tail, site);
            }
            let site = Site { base: 0, name: "footer_copy" };
            fields(ctx, copy, site);
        }
        Some((_, tail)) => {
            if let Some(site) = tail_site {
                validity(ctx, tail, site);
                fields(ctx, tail, site);
            }
        }
    }
}

/// FOOTER-COOKIE, and FOOTER-CHECKSUM when the cookie is right (with a wrong cookie the bytes
/// are not taken for a footer, so their checksum is not judged).
pub(super) fn validity(ctx: &mut Ctx, f: &HardDiskFooter, site: Site) {
    if !f.cookie_valid() {
        ctx.push(
            site.finding(Code::FooterCookie, Field::Cookie, format!("{} has no `conectix` cookie", site.name))
                .expected(format_tag(&COOKIE))
                .actual(format_tag(&f.cookie)),
        );
        return;
    }
    if !f.checksum_valid() {
        let mut msg = format!("{} checksum does not match the byte sum of the footer", site.name);
        if tap_hidden_checksum_ok(f) {
            msg.push_str(
                "; it would match with byte 85 (blktap's hidden flag) zeroed, a legacy blktap 0.1/1.1 \
                 footer that only blktap accepts",
            );
        }
        ctx.push(
            site.finding(Code::FooterChecksum, Field::Checksum, msg)
                .expected(format!("{:#010x}", f.computed_checksum()))
                .actual(format!("{:#010x}", f.checksum)),
        );
    }
}

/// blktap's exemption: creator `tap`, version 0.1 or 1.1, hidden byte set, checksum valid with
/// the hidden byte zeroed (VU-LIB `vhd_validate_footer`).
fn tap_hidden_checksum_ok(f: &HardDiskFooter) -> bool {
    if &f.creator_application[..3] != b"tap"
        || !matches!(f.creator_version, 0x0000_0001 | 0x0001_0001)
        || f.reserved[0] == 0
    {
        return false;
    }
    let mut g = f.clone();
    g.reserved[0] = 0;
    g.checksum == g.computed_checksum()
}

/// The field rules of the `footer` family on the footer the image is read with.
fn fields(ctx: &mut Ctx, f: &HardDiskFooter, site: Site) {
    features(ctx, f, site);
    if f.file_format_version != VERSION_1_0 {
        ctx.push(
            site.finding(Code::FooterVersion, Field::FileFormatVersion, "file format version is not 1.0")
                .expected(format!("{VERSION_1_0:#010x}"))
                .actual(format!("{:#010x}", f.file_format_version)),
        );
    }
    data_offset(ctx, f, site);
    if !matches!(f.kind(), DiskType::Fixed | DiskType::Dynamic | DiskType::Differencing) {
        ctx.push(
            site.finding(
                Code::FooterDiskType,
                Field::DiskType,
                format!("disk type {} is not fixed (2), dynamic (3) or differencing (4)", f.disk_type),
            )
            .expected("2, 3 or 4")
            .actual(f.disk_type),
        );
    }
    if let Some(now) = ctx.opts.now_unix {
        if timestamp::is_future(f.timestamp, now) {
            ctx.push(
                site.finding(
                    Code::FooterTimestampFuture,
                    Field::Timestamp,
                    format!(
                        "time stamp {} lies more than {} s after the validation time",
                        timestamp::format(f.timestamp),
                        timestamp::FUTURE_SLACK_SECONDS
                    ),
                )
                .actual(f.timestamp),
            );
        }
    }
    creator(ctx, f, site);
    sizes(ctx, f, site);
    geometry(ctx, f, site);
    tail_bytes(ctx, f, site);
}

fn features(ctx: &mut Ctx, f: &HardDiskFooter, site: Site) {
    if f.features & FEATURE_RESERVED == 0 {
        ctx.push(
            site.finding(
                Code::FooterFeaturesReservedBit,
                Field::Features,
                "features bit 1 (reserved) must always be set",
            )
            .expected("bit 0x00000002 set")
            .actual(format!("{:#010x}", f.features)),
        );
    }
    let unknown = f.features & !(FEATURE_RESERVED | FEATURE_TEMPORARY);
    if unknown != 0 {
        let mut msg = format!("features has undefined bits {unknown:#010x} set");
        if unknown & 0xFFFF_0000 != 0 {
            msg.push_str(" (a bit in 16..31 makes 7-Zip not recognise the file)");
        }
        ctx.push(
            site.finding(Code::FooterFeaturesUnknownBits, Field::Features, msg)
                .expected("only bits 0x00000003")
                .actual(format!("{:#010x}", f.features)),
        );
    }
    if f.features & FEATURE_TEMPORARY != 0 {
        ctx.push(site.finding(
            Code::FooterFeaturesTemporary,
            Field::Features,
            "features bit 0 (temporary: candidate for deletion on shutdown) is set",
        ));
    }
}

fn data_offset(ctx: &mut Ctx, f: &HardDiskFooter, site: Site) {
    match f.kind() {
        DiskType::Fixed => {
            if f.data_offset != ALL_ONES_OFFSET {
                ctx.push(
                    site.finding(
                        Code::FooterDataOffsetFixed,
                        Field::DataOffset,
                        "a fixed disk's data offset must be all ones (0xFFFFFFFF is the spec's typo)",
                    )
                    .expected(format!("{ALL_ONES_OFFSET:#018x}"))
                    .actual(format!("{:#018x}", f.data_offset)),
                );
            }
        }
        DiskType::Dynamic | DiskType::Differencing => {
            let footer_start = ctx.layout.footer_start();
            let end = f.data_offset.checked_add(1024);
            if f.data_offset < FOOTER_SIZE as u64 || end.is_none_or(|e| e > footer_start) {
                ctx.push(
                    site.finding(
                        Code::FooterDataOffsetBounds,
                        Field::DataOffset,
                        format!(
                            "the 1024-byte dynamic disk header at data offset {} is not between the footer \
                             copy (ends at 512) and the trailing footer (starts at {footer_start})",
                            f.data_offset
                        ),
                    )
                    .expected(format!("512 <= data offset <= {}", footer_start.saturating_sub(1024)))
                    .actual(f.data_offset),
                );
                return;
            }
            if f.data_offset != 512 {
                ctx.push(
                    site.finding(
                        Code::FooterDataOffsetNot512,
                        Field::DataOffset,
                        "the dynamic disk header does not directly follow the footer copy",
                    )
                    .expected(512)
                    .actual(f.data_offset),
                );
            }
            if !f.data_offset.is_multiple_of(512) {
                ctx.push(
                    site.finding(Code::FooterDataOffsetAlign, Field::DataOffset, "data offset is not sector-aligned")
                        .expected("a multiple of 512")
                        .actual(f.data_offset),
                );
            }
        }
        DiskType::Other(_) => {}
    }
}

fn creator(ctx: &mut Ctx, f: &HardDiskFooter, site: Site) {
    if !KNOWN_CREATORS.contains(&f.creator_application) {
        ctx.push(
            site.finding(
                Code::FooterCreatorUnknown,
                Field::CreatorApplication,
                format!(
                    "creator application {} is not a known writer (QEMU before 10.0 sized such disks by C x H x S, \
                     QEMU 10.0 and later by the current size)",
                    format_tag(&f.creator_application)
                ),
            )
            .actual(format_tag(&f.creator_application)),
        );
    }
    if f.creator_application.starts_with(b"tap") && f.creator_version > TAP_CURRENT_VERSION {
        ctx.push(
            site.finding(
                Code::FooterCreatorTapVersion,
                Field::CreatorVersion,
                format!(
                    "blktap creator version {}.{} is newer than 1.3, the last blktap defines",
                    f.creator_version >> 16,
                    f.creator_version & 0xFFFF
                ),
            )
            .expected(format!("<= {TAP_CURRENT_VERSION:#010x}"))
            .actual(format!("{:#010x}", f.creator_version)),
        );
    }
    if f.creator_host_os != HOST_OS_WINDOWS && f.creator_host_os != HOST_OS_MAC {
        ctx.push(
            site.finding(
                Code::FooterCreatorHostOs,
                Field::CreatorHostOs,
                format!(
                    "creator host OS {} is neither \"Wi2k\" nor \"Mac \"",
                    format_tag(&f.creator_host_os.to_be_bytes())
                ),
            )
            .expected("\"Wi2k\" or \"Mac \"")
            .actual(format_tag(&f.creator_host_os.to_be_bytes())),
        );
    }
}

fn sizes(ctx: &mut Ctx, f: &HardDiskFooter, site: Site) {
    let size = f.current_size;
    if size == 0 {
        ctx.push(site.finding(Code::FooterSizeZero, Field::CurrentSize, "current size is zero").actual(0));
    }
    if !size.is_multiple_of(512) {
        ctx.push(
            site.finding(
                Code::FooterSizeAlign,
                Field::CurrentSize,
                format!("current size {size} is not a whole number of sectors ({} bytes over)", size % 512),
            )
            .expected("a multiple of 512")
            .actual(size),
        );
    }
    if !size.is_multiple_of(1 << 20) {
        ctx.push(
            site.finding(
                Code::FooterSizeMibAlign,
                Field::CurrentSize,
                format!("current size {size} is not a whole number of MiB"),
            )
            .expected("a multiple of 1048576")
            .actual(size),
        );
    }
    if size > MAX_CURRENT_SIZE {
        ctx.push(
            site.finding(
                Code::FooterSizeMax,
                Field::CurrentSize,
                format!("current size {size} exceeds 2040 GiB (0xFF000000 sectors)"),
            )
            .expected(format!("<= {MAX_CURRENT_SIZE}"))
            .actual(size),
        );
    }
    if f.original_size != size {
        let how = if f.original_size > size { "larger" } else { "smaller" };
        ctx.push(
            site.finding(
                Code::FooterOriginalSize,
                Field::OriginalSize,
                format!(
                    "original size {} is {how} than current size {size}: the disk was resized, and \
                     libvhdi-based readers report the original size",
                    f.original_size
                ),
            )
            .expected(size)
            .actual(f.original_size),
        );
    }
}

fn geometry(ctx: &mut Ctx, f: &HardDiskFooter, site: Site) {
    let g = f.geometry;
    let size = f.current_size;
    let spec = Geometry::for_current_size(size);
    if g.packed() > spec.packed() {
        ctx.push(
            site.finding(
                Code::FooterGeometry,
                Field::Geometry,
                format!(
                    "geometry {g} (packed {:#010x}) is larger than the CHS algorithm gives for current size {size} \
                     ({spec}, packed {:#010x})",
                    g.packed(),
                    spec.packed()
                ),
            )
            .expected(spec)
            .actual(g),
        );
    }
    let chs_bytes = g.total_sectors() * 512;
    if chs_bytes != size && g != Geometry::MAX {
        let creator = format_tag(&f.creator_application);
        if QEMU_CHS_CREATORS.contains(&f.creator_application) {
            ctx.push(
                site.finding(
                    Code::FooterGeometrySizeDivergence,
                    Field::Geometry,
                    format!(
                        "readers disagree on the disk size: for creator {creator} QEMU (every version) and Virtual PC \
                         use the geometry ({g} = {chs_bytes} bytes), the others the current size ({size} bytes)"
                    ),
                )
                .expected(size)
                .actual(chs_bytes),
            );
        } else if !QEMU_LEGACY_CURRENT_SIZE_CREATORS.contains(&f.creator_application) {
            ctx.push(
                site.finding(
                    Code::FooterGeometrySizeQemuLegacy,
                    Field::Geometry,
                    format!(
                        "QEMU before 10.0 sized creator {creator} by the geometry ({g} = {chs_bytes} bytes); QEMU \
                         10.0 and later and the other readers use the current size ({size} bytes)"
                    ),
                )
                .expected(size)
                .actual(chs_bytes),
            );
        }
    }
    if g == Geometry::default() {
        ctx.push(site.finding(Code::FooterGeometryZero, Field::Geometry, "geometry is 0/0/0").expected(spec).actual(g));
    } else {
        let mut why = Vec::new();
        if g.heads > 16 {
            why.push("more than 16 heads");
        }
        if g.sectors_per_track == 0 {
            why.push("0 sectors per track");
        }
        if g.cylinders == 0 && size >= MIN_SIZE_WITH_CYLINDERS {
            why.push("0 cylinders for a disk of 34 KiB or more");
        }
        if !why.is_empty() {
            ctx.push(
                site.finding(
                    Code::FooterGeometryRange,
                    Field::Geometry,
                    format!("geometry {g} is outside the CHS algorithm's range: {}", why.join(", ")),
                )
                .expected(spec)
                .actual(g),
            );
        }
    }
}

/// Unique id, saved state and the reserved area (bytes 68..512).
fn tail_bytes(ctx: &mut Ctx, f: &HardDiskFooter, site: Site) {
    if f.unique_id == [0; 16] {
        ctx.push(
            site.finding(Code::FooterUuidNull, Field::UniqueId, "unique id is all zero")
                .actual(format_uuid(&f.unique_id)),
        );
    }
    match f.saved_state {
        0 => {}
        1 => ctx.push(site.finding(
            Code::FooterSavedStateSet,
            Field::SavedState,
            "saved state is set: the disk belongs to a saved virtual machine",
        )),
        s => ctx.push(
            site.finding(Code::FooterSavedState, Field::SavedState, format!("saved state {s} is neither 0 nor 1"))
                .expected("0 or 1")
                .actual(s),
        ),
    }
    let hidden = f.reserved[0];
    if hidden == 1 {
        ctx.push(Finding::new(
            Code::FooterBlktapHidden,
            Field::Reserved.at(site.base),
            1,
            format!("{}.reserved[0]", site.name),
            "byte 85 is 1: blktap's hidden flag (7-Zip does not recognise the file)",
        ));
    } else if hidden > 1 {
        ctx.push(
            Finding::new(
                Code::FooterReserved,
                Field::Reserved.at(site.base),
                1,
                format!("{}.reserved[0]", site.name),
                format!("reserved byte 85 is {hidden}: neither 0 nor blktap's hidden flag 1"),
            )
            .expected("0")
            .actual(hidden),
        );
    }
    let rest = &f.reserved[1..];
    let first = rest.iter().position(|&b| b != 0);
    let last = rest.iter().rposition(|&b| b != 0);
    if let (Some(first), Some(last)) = (first, last) {
        let count = rest.iter().filter(|&&b| b != 0).count();
        let start = Field::Reserved.offset() + 1 + first as u64;
        let end = Field::Reserved.offset() + 1 + last as u64 + 1;
        ctx.push(
            Finding::new(
                Code::FooterReserved,
                site.base.saturating_add(start),
                end - start,
                format!("{}.{}", site.name, Field::Reserved.name()),
                format!("{count} reserved byte(s) in {start}..{end} are not zero"),
            )
            .expected("all zero"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{self, codes, edit_footer};
    use crate::rules::{Code, Family};

    fn fixed() -> Vec<u8> {
        testutil::fixed(1 << 20, 0)
    }

    fn dynamic() -> Vec<u8> {
        testutil::dynamic(4 << 20, 2 << 20, &[(1, 0xAB)])
    }

    /// Applies `edit` to both a fixed and a dynamic image (sealed) and returns their codes.
    fn both(edit: impl Fn(&mut crate::format::HardDiskFooter)) -> (Vec<Code>, Vec<Code>) {
        let mut f = fixed();
        edit_footer(&mut f, true, &edit);
        let mut d = dynamic();
        edit_footer(&mut d, true, &edit);
        (codes(&f), codes(&d))
    }

    fn findings(img: &[u8]) -> Vec<crate::Finding> {
        let opts = super::super::CheckOptions::default();
        super::super::check_image(&img.to_vec(), "t.vhd", &opts).findings
    }

    #[test]
    fn clean_images_have_no_footer_findings() {
        assert_eq!(codes(&fixed()), vec![]);
        assert_eq!(codes(&dynamic()), vec![]);
        let diff =
            testutil::differencing(4 << 20, 2 << 20, &[(0, 1)], "p.vhd", &[testutil::TestLocator::w2ru(".\\p.vhd")]);
        let mine = [Family::File, Family::Footer, Family::FooterCopy, Family::Header];
        assert_eq!(testutil::family_codes(&diff, &mine), vec![]);
    }

    #[test]
    fn cookie_on_the_tail_of_a_fixed_disk() {
        let mut img = fixed();
        let n = img.len();
        img[n - 512] = b'C';
        let fs = findings(&img);
        let c: Vec<_> = fs.iter().map(|f| f.code).collect();
        assert_eq!(c, vec![Code::FooterCookie]);
        assert_eq!(fs[0].offset, (n - 512) as u64);
        assert_eq!(fs[0].path, "footer.cookie");
    }

    #[test]
    fn checksum_broken_vs_field_changed_and_resealed() {
        let mut img = fixed();
        edit_footer(&mut img, false, |f| f.checksum ^= 1);
        assert_eq!(codes(&img), vec![Code::FooterChecksum]);
        // A changed field with the checksum left stale: checksum plus the field's own rule.
        let mut img = fixed();
        edit_footer(&mut img, false, |f| f.file_format_version = 0x0001_0001);
        assert_eq!(codes(&img), vec![Code::FooterChecksum, Code::FooterVersion]);
        // The same change resealed: only the field's rule.
        let mut img = fixed();
        edit_footer(&mut img, true, |f| f.file_format_version = 0x0001_0001);
        assert_eq!(codes(&img), vec![Code::FooterVersion]);
    }

    #[test]
    fn checksum_finding_carries_expected_and_actual() {
        let mut img = fixed();
        edit_footer(&mut img, false, |f| f.checksum = 0x1234_5678);
        let fs = findings(&img);
        let f = fs.iter().find(|f| f.code == Code::FooterChecksum).unwrap();
        assert_eq!(f.actual.as_deref(), Some("0x12345678"));
        assert_eq!(f.offset, (img.len() - 512 + 64) as u64);
        assert_eq!(f.length, 4);
    }

    #[test]
    fn tap_hidden_checksum_is_explained() {
        let mut img = fixed();
        edit_footer(&mut img, true, |f| {
            f.creator_application = *b"tap\0";
            f.creator_version = 0x0001_0001;
        });
        edit_footer(&mut img, false, |f| f.reserved[0] = 1);
        let fs = findings(&img);
        let f = fs.iter().find(|f| f.code == Code::FooterChecksum).unwrap();
        assert!(f.message.contains("blktap"), "{}", f.message);
        assert!(fs.iter().any(|f| f.code == Code::FooterBlktapHidden));
    }

    #[test]
    fn features() {
        let (f, d) = both(|f| f.features = 0);
        assert_eq!(f, vec![Code::FooterFeaturesReservedBit]);
        assert_eq!(d, vec![Code::FooterFeaturesReservedBit]);
        let (f, _) = both(|f| f.features = 0x2 | 0x8);
        assert_eq!(f, vec![Code::FooterFeaturesUnknownBits]);
        let (f, _) = both(|f| f.features = 0x3);
        assert_eq!(f, vec![Code::FooterFeaturesTemporary]);
        let mut img = fixed();
        edit_footer(&mut img, true, |f| f.features = 0x0001_0002);
        let fs = findings(&img);
        assert!(fs[0].message.contains("7-Zip"), "{}", fs[0].message);
    }

    #[test]
    fn version() {
        let (f, d) = both(|f| f.file_format_version = 0x0002_0000);
        assert_eq!(f, vec![Code::FooterVersion]);
        assert_eq!(d, vec![Code::FooterVersion]);
    }

    #[test]
    fn data_offset_fixed() {
        let mut img = fixed();
        edit_footer(&mut img, true, |f| f.data_offset = 0xFFFF_FFFF);
        assert_eq!(codes(&img), vec![Code::FooterDataOffsetFixed]);
    }

    #[test]
    fn data_offset_bounds() {
        // Past the trailing footer: the header cannot be read.
        let mut img = dynamic();
        let n = img.len() as u64;
        edit_footer(&mut img, true, |f| f.data_offset = n - 1000);
        assert!(codes(&img).contains(&Code::FooterDataOffsetBounds));
        assert!(!codes(&img).contains(&Code::FooterDataOffsetNot512));
        // Inside the footer copy.
        let mut img = dynamic();
        edit_footer(&mut img, true, |f| f.data_offset = 100);
        assert!(codes(&img).contains(&Code::FooterDataOffsetBounds));
        // Overflowing.
        let mut img = dynamic();
        edit_footer(&mut img, true, |f| f.data_offset = u64::MAX - 10);
        assert!(codes(&img).contains(&Code::FooterDataOffsetBounds));
    }

    #[test]
    fn data_offset_not_512_and_align() {
        // Move the header from 512 to 1024 (overwriting nothing used: the BAT is at 1536, so
        // build the header elsewhere): relocate it past the BAT into a fresh area.
        let mut img = dynamic();
        let header: Vec<u8> = img[512..1536].to_vec();
        let n = img.len();
        let tail = img[n - 512..].to_vec();
        img.truncate(n - 512);
        let hoff = img.len() as u64;
        img.extend_from_slice(&header);
        img.extend_from_slice(&tail);
        edit_footer(&mut img, true, |f| f.data_offset = hoff);
        let c = codes(&img);
        assert!(c.contains(&Code::FooterDataOffsetNot512), "{c:?}");
        assert!(!c.contains(&Code::FooterDataOffsetAlign), "{c:?}");
        assert!(!c.contains(&Code::FooterDataOffsetBounds), "{c:?}");
        // Unaligned: 520 reads garbage for a header, but the footer rule itself is about alignment.
        let mut img = dynamic();
        edit_footer(&mut img, true, |f| f.data_offset = 520);
        let c = codes(&img);
        assert!(c.contains(&Code::FooterDataOffsetAlign) && c.contains(&Code::FooterDataOffsetNot512), "{c:?}");
    }

    #[test]
    fn disk_type() {
        let mut img = fixed();
        edit_footer(&mut img, true, |f| f.disk_type = 5);
        assert_eq!(codes(&img), vec![Code::FooterDiskType]);
    }

    #[test]
    fn timestamp_future_only_with_a_clock() {
        let mut img = fixed();
        // testutil::codes validates at 2010; 2020 is in its future.
        edit_footer(&mut img, true, |f| f.timestamp = 20 * 365 * 86_400);
        assert_eq!(codes(&img), vec![Code::FooterTimestampFuture]);
        assert_eq!(findings(&img), vec![], "no clock, no finding");
        // Within the 1800 s slack: no finding.
        let mut img = fixed();
        edit_footer(&mut img, true, |f| f.timestamp = 10 * 365 * 86_400 + 1800);
        assert_eq!(codes(&img), vec![]);
    }

    #[test]
    fn creator_and_host_os() {
        let (f, _) = both(|f| f.creator_application = *b"xyz ");
        // Unknown creators were sized by geometry in QEMU before 10.0: 1 MiB is not a CHS product.
        assert_eq!(f, vec![Code::FooterCreatorUnknown, Code::FooterGeometrySizeQemuLegacy]);
        for known in [*b"vhdc", *b"d2v\0", *b"vbox", *b"wa\0\0"] {
            let (f, _) = both(|f| f.creator_application = known);
            assert!(!f.contains(&Code::FooterCreatorUnknown), "{known:?}");
        }
        let (f, _) = both(|f| f.creator_host_os = 0);
        assert_eq!(f, vec![Code::FooterCreatorHostOs]);
        // blktap knows creator versions up to 1.3.
        let (f, _) = both(|f| {
            f.creator_application = *b"tap\0";
            f.creator_version = 0x0001_0003;
        });
        assert_eq!(f, vec![]);
        let (f, _) = both(|f| {
            f.creator_application = *b"tap\0";
            f.creator_version = 0x0001_0004;
        });
        assert_eq!(f, vec![Code::FooterCreatorTapVersion]);
        // Creators QEMU sized by current size before 10.0 too: no geometry finding at all.
        for legacy in super::QEMU_LEGACY_CURRENT_SIZE_CREATORS {
            let (f, _) = both(|f| f.creator_application = legacy);
            assert_eq!(f, vec![], "{legacy:?}");
        }
        // Azure's `wa\0\0`: only QEMU before 10.0 read the geometry size.
        let (f, _) = both(|f| f.creator_application = *b"wa\0\0");
        assert_eq!(f, vec![Code::FooterGeometrySizeQemuLegacy]);
        let (f, _) = both(|f| f.creator_host_os = super::HOST_OS_MAC);
        assert_eq!(f, vec![]);
    }

    #[test]
    fn size_rules() {
        let mut img = testutil::fixed(1 << 20, 0);
        edit_footer(&mut img, true, |f| {
            f.current_size = 0;
            f.original_size = 0;
            f.geometry = crate::format::Geometry::for_current_size(0);
        });
        let c = codes(&img);
        assert!(c.contains(&Code::FooterSizeZero), "{c:?}");
        let (f, d) = both(|f| {
            f.current_size += 1000;
            f.original_size = f.current_size;
            f.geometry = crate::format::Geometry::for_current_size(f.current_size);
        });
        assert!(f.contains(&Code::FooterSizeAlign) && f.contains(&Code::FooterSizeMibAlign), "{f:?}");
        assert!(d.contains(&Code::FooterSizeAlign), "{d:?}");
        let (f, _) = both(|f| {
            f.current_size += 512;
            f.original_size = f.current_size;
        });
        assert!(f.contains(&Code::FooterSizeMibAlign) && !f.contains(&Code::FooterSizeAlign), "{f:?}");
        let (_, d) = both(|f| {
            f.current_size = super::MAX_CURRENT_SIZE + 512;
            f.original_size = f.current_size;
        });
        assert!(d.contains(&Code::FooterSizeMax), "{d:?}");
        let (_, d) = both(|f| {
            f.current_size = super::MAX_CURRENT_SIZE;
            f.original_size = f.current_size;
        });
        assert!(!d.contains(&Code::FooterSizeMax), "{d:?}");
    }

    #[test]
    fn original_size() {
        let (f, d) = both(|f| f.original_size = 1 << 19);
        assert_eq!(f, vec![Code::FooterOriginalSize]);
        assert_eq!(d, vec![Code::FooterOriginalSize]);
    }

    #[test]
    fn geometry_too_large_and_divergence() {
        use crate::format::Geometry;
        // One more cylinder than the algorithm gives: too large (packed comparison).
        let (f, _) = both(|f| f.geometry.cylinders += 1);
        assert_eq!(f, vec![Code::FooterGeometry]);
        // Smaller than the algorithm: not too large.
        let (f, _) = both(|f| f.geometry.cylinders -= 1);
        assert_eq!(f, vec![]);
        // QEMU force_size: max geometry with creator qem2 is too large for blktap but sized by
        // current size in QEMU.
        let (f, _) = both(|f| {
            f.geometry = Geometry::MAX;
            f.creator_application = *b"qem2";
        });
        assert_eq!(f, vec![Code::FooterGeometry]);
        // Creator sized by geometry and C x H x S x 512 != current size.
        for chs in [*b"vpc ", *b"qemu"] {
            let (f, _) = both(|f| f.creator_application = chs);
            assert_eq!(f, vec![Code::FooterGeometrySizeDivergence]);
        }
        // ... unless the geometry is the maximum.
        let (f, _) = both(|f| {
            f.creator_application = *b"vpc ";
            f.geometry = Geometry::MAX;
        });
        assert_eq!(f, vec![Code::FooterGeometry]);
        // ... or the size is exactly C x H x S x 512 (301/4/17 = 20468 sectors).
        let mut img = testutil::fixed(20468 * 512, 0);
        edit_footer(&mut img, true, |f| f.creator_application = *b"vpc ");
        assert_eq!(codes(&img), vec![Code::FooterSizeMibAlign]);
    }

    #[test]
    fn geometry_zero_and_range() {
        let (f, _) = both(|f| f.geometry = crate::format::Geometry::default());
        assert_eq!(f, vec![Code::FooterGeometryZero]);
        let (f, _) = both(|f| f.geometry.heads = 17);
        assert!(f.contains(&Code::FooterGeometryRange), "{f:?}");
        let (f, _) = both(|f| f.geometry.sectors_per_track = 0);
        assert_eq!(f, vec![Code::FooterGeometryRange]);
        let (f, _) = both(|f| f.geometry.cylinders = 0);
        assert_eq!(f, vec![Code::FooterGeometryRange]);
    }

    #[test]
    fn saved_state() {
        let (f, d) = both(|f| f.saved_state = 1);
        assert_eq!(f, vec![Code::FooterSavedStateSet]);
        assert_eq!(d, vec![Code::FooterSavedStateSet]);
        let (f, _) = both(|f| f.saved_state = 2);
        assert_eq!(f, vec![Code::FooterSavedState]);
    }

    #[test]
    fn reserved_and_hidden() {
        let (f, _) = both(|f| f.reserved[0] = 1);
        assert_eq!(f, vec![Code::FooterBlktapHidden]);
        let (f, _) = both(|f| f.reserved[0] = 2);
        assert_eq!(f, vec![Code::FooterReserved]);
        let mut img = fixed();
        edit_footer(&mut img, true, |f| {
            f.reserved[10] = 7;
            f.reserved[400] = 1;
        });
        let fs = findings(&img);
        assert_eq!(fs.len(), 1);
        assert_eq!(fs[0].code, Code::FooterReserved);
        assert_eq!(fs[0].offset, (img.len() - 512 + 95) as u64);
        assert_eq!(fs[0].length, 391);
    }

    #[test]
    fn uuid_null() {
        let (f, d) = both(|f| f.unique_id = [0; 16]);
        assert_eq!(f, vec![Code::FooterUuidNull]);
        assert_eq!(d, vec![Code::FooterUuidNull]);
    }

    #[test]
    fn head_copy_is_judged_when_the_tail_is_unusable() {
        let mut img = dynamic();
        // Break the tail cookie; the copy at 0 stays valid and is used, with a field rule firing.
        testutil::edit_footer_copy(&mut img, true, |f| f.saved_state = 1);
        let n = img.len();
        img[n - 512..n - 504].copy_from_slice(b"garbage!");
        let fs = findings(&img);
        let cookie = fs.iter().find(|f| f.code == Code::FooterCookie).unwrap();
        assert_eq!((cookie.offset, cookie.path.as_str()), ((n - 512) as u64, "footer.cookie"));
        let saved = fs.iter().find(|f| f.code == Code::FooterSavedStateSet).unwrap();
        assert_eq!((saved.offset, saved.path.as_str()), (84, "footer_copy.saved_state"));
        assert!(fs.iter().any(|f| f.code == Code::FooterTailInvalidHeadValid));
    }

    #[test]
    fn short_tail_footer_is_judged() {
        // A fixed disk whose footer lost its last (reserved, zero) byte.
        let mut img = fixed();
        img.pop();
        let c = codes(&img);
        assert_eq!(c, vec![Code::FileShortFooter]);
        edit_short_tail(&mut img, |b| b[84] = 1);
        assert_eq!(codes(&img), vec![Code::FileShortFooter, Code::FooterChecksum, Code::FooterSavedStateSet]);
    }

    fn edit_short_tail(img: &mut [u8], edit: impl FnOnce(&mut [u8])) {
        let n = img.len();
        edit(&mut img[n - 511..]);
    }
}
