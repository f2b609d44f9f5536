//! Rules of the `footer-copy` family: the copy of the hard disk footer at offset 0 of dynamic
//! and differencing disks against the trailing footer (spec §Dynamic Hard Disk Image: "a copy
//! of the hard disk footer … mirrored as a header at the front of the file"; rules
//! FOOTER-COPY-MISSING, FOOTER-COPY-CHECKSUM, FOOTER-COPY-MISMATCH, FOOTER-TAIL-INVALID-HEAD-VALID).
//!
//! A footer counts as valid here when its cookie is `conectix` and its checksum matches, as in
//! blktap's `vhd_validate_footer`. The four rules are mutually exclusive: the copy is missing
//! (no cookie), or has the cookie but a bad checksum, or both are valid and differ, or only the
//! copy is valid.

use super::Ctx;
use crate::finding::Finding;
use crate::format::footer::{Field, FOOTER_SIZE, SHORT_FOOTER_SIZE};
use crate::format::HardDiskFooter;
use crate::rules::Code;

fn valid(f: &HardDiskFooter) -> bool {
    f.cookie_valid() && f.checksum_valid()
}

/// Checks the footer copy rules; only called for dynamic and differencing disks.
pub(super) fn check(ctx: &mut Ctx) {
    let layout = ctx.layout;
    let copy = layout.footer_copy.as_ref().filter(|c| valid(c));
    let Some(copy) = copy else {
        if let Some(c) = layout.footer_copy.as_ref().filter(|c| c.cookie_valid()) {
            ctx.push(
                Finding::new(
                    Code::FooterCopyChecksum,
                    Field::Checksum.offset(),
                    Field::Checksum.len(),
                    format!("footer_copy.{}", Field::Checksum.name()),
                    "the footer copy at offset 0 has a bad checksum: readers that read the copy first (QEMU) refuse the image",
                )
                .expected(format!("{:#010x}", c.computed_checksum()))
                .actual(format!("{:#010x}", c.checksum)),
            );
            return;
        }
        let why = match &layout.footer_copy {
            None => "bytes 0..512 cannot be read".to_string(),
            Some(_) => "bytes 0..8 are not the `conectix` cookie".to_string(),
        };
        ctx.push(Finding::new(
            Code::FooterCopyMissing,
            0,
            FOOTER_SIZE as u64,
            "footer_copy",
            format!("the footer copy at offset 0 is not a valid hard disk footer: {why}"),
        ));
        return;
    };
    let tail_len = if layout.tail_short { SHORT_FOOTER_SIZE } else { FOOTER_SIZE };
    let tail = layout.tail.as_ref().filter(|(_, t)| valid(t));
    let Some((tail_off, tail)) = tail else {
        let (off, why) = match &layout.tail {
            None => (layout.footer_start(), "is missing".to_string()),
            Some((off, t)) if !t.cookie_valid() => (*off, "has no `conectix` cookie".to_string()),
            Some((off, _)) => (*off, "has a bad checksum".to_string()),
        };
        ctx.push(Finding::new(
            Code::FooterTailInvalidHeadValid,
            off,
            tail_len as u64,
            "footer",
            format!(
                "the trailing footer {why} while the footer copy at offset 0 is valid \
                 (readers that fall back to the copy open the image; the others refuse it)"
            ),
        ));
        return;
    };
    let a = copy.encode();
    let b = tail.encode();
    let n = tail_len.min(FOOTER_SIZE);
    let (Some(a), Some(b)) = (a.get(..n), b.get(..n)) else {
        return;
    };
    if a == b {
        return;
    }
    let mut differing = Vec::new();
    for &field in Field::ALL {
        let range = field.range().start.min(n)..field.range().end.min(n);
        if a.get(range.clone()) != b.get(range) {
            differing.push(describe(field, copy, tail));
        }
    }
    let first = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0) as u64;
    ctx.push(
        Finding::new(
            Code::FooterCopyMismatch,
            first,
            n as u64 - first,
            "footer_copy",
            format!(
                "the footer copy at offset 0 and the trailing footer at {tail_off} differ in: {} \
                 (QEMU reads the copy, VirtualBox and blktap the trailing footer)",
                differing.join("; ")
            ),
        )
        .expected("byte-identical to the trailing footer"),
    );
}

/// `name (copy X, trailing Y)` for fields whose values are worth printing, else just `name`.
fn describe(field: Field, c: &HardDiskFooter, t: &HardDiskFooter) -> String {
    let name = field.name();
    let vals = match field {
        Field::CurrentSize => Some((c.current_size.to_string(), t.current_size.to_string())),
        Field::OriginalSize => Some((c.original_size.to_string(), t.original_size.to_string())),
        Field::DiskType => Some((c.disk_type.to_string(), t.disk_type.to_string())),
        Field::DataOffset => Some((c.data_offset.to_string(), t.data_offset.to_string())),
        Field::Geometry => Some((c.geometry.to_string(), t.geometry.to_string())),
        Field::Timestamp => Some((c.timestamp.to_string(), t.timestamp.to_string())),
        Field::Features => Some((format!("{:#010x}", c.features), format!("{:#010x}", t.features))),
        Field::Checksum => Some((format!("{:#010x}", c.checksum), format!("{:#010x}", t.checksum))),
        Field::UniqueId => Some((crate::format::format_uuid(&c.unique_id), crate::format::format_uuid(&t.unique_id))),
        Field::SavedState => Some((c.saved_state.to_string(), t.saved_state.to_string())),
        _ => None,
    };
    match vals {
        Some((x, y)) => format!("{name} (copy {x}, trailing {y})"),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{self, codes, edit_footer_copy, edit_tail_footer};
    use super::super::CheckOptions;
    use crate::rules::Code;

    fn dynamic() -> Vec<u8> {
        testutil::dynamic(4 << 20, 2 << 20, &[(0, 1)])
    }

    fn findings(img: &[u8]) -> Vec<crate::Finding> {
        super::super::check_image(&img.to_vec(), "t.vhd", &CheckOptions::default()).findings
    }

    #[test]
    fn clean_copy() {
        assert_eq!(codes(&dynamic()), vec![]);
    }

    #[test]
    fn copy_missing_cookie_and_checksum() {
        let mut img = dynamic();
        img[..8].copy_from_slice(b"xxxxxxxx");
        assert_eq!(codes(&img), vec![Code::FooterCopyMissing]);
        let mut img = dynamic();
        edit_footer_copy(&mut img, false, |f| f.checksum ^= 0x100);
        assert_eq!(codes(&img), vec![Code::FooterCopyChecksum]);
        let fs = findings(&img);
        assert_eq!((fs[0].offset, fs[0].length, fs[0].path.as_str()), (64, 4, "footer_copy.checksum"));
        assert!(fs[0].message.contains("checksum"), "{}", fs[0].message);
    }

    #[test]
    fn copy_mismatch_names_the_fields() {
        // Field changed and resealed in the copy only: both valid, not identical.
        let mut img = dynamic();
        edit_footer_copy(&mut img, true, |f| {
            f.current_size = 2 << 20;
            f.saved_state = 1;
        });
        assert_eq!(codes(&img), vec![Code::FooterCopyMismatch]);
        let fs = findings(&img);
        let m = &fs[0].message;
        assert!(m.contains("current_size (copy 2097152, trailing 4194304)"), "{m}");
        assert!(m.contains("saved_state") && m.contains("checksum"), "{m}");
        assert!(!m.contains("unique_id"), "{m}");
        // current_size is bytes 48..56; 2 MiB and 4 MiB first differ in byte 53.
        assert_eq!(fs[0].offset, 53);
    }

    #[test]
    fn changed_copy_without_reseal_is_a_checksum_not_a_mismatch() {
        let mut img = dynamic();
        edit_footer_copy(&mut img, false, |f| f.current_size = 2 << 20);
        assert_eq!(codes(&img), vec![Code::FooterCopyChecksum]);
    }

    #[test]
    fn tail_invalid_head_valid() {
        // Tail checksum broken (cookie still right): the tail is read but is invalid.
        let mut img = dynamic();
        edit_tail_footer(&mut img, false, |f| f.checksum ^= 1);
        assert_eq!(codes(&img), vec![Code::FooterChecksum, Code::FooterTailInvalidHeadValid]);
        // Tail cookie broken: the copy is used.
        let mut img = dynamic();
        edit_tail_footer(&mut img, true, |f| f.cookie = *b"conectiX");
        assert_eq!(codes(&img), vec![Code::FooterCookie, Code::FooterTailInvalidHeadValid]);
        // Tail changed and resealed: both valid, so it is a mismatch instead.
        let mut img = dynamic();
        edit_tail_footer(&mut img, true, |f| f.timestamp = 5);
        assert_eq!(codes(&img), vec![Code::FooterCopyMismatch]);
    }

    #[test]
    fn short_tail_compares_511_bytes() {
        let mut img = dynamic();
        img.pop();
        assert_eq!(codes(&img), vec![Code::FileShortFooter]);
        // A difference inside the 511 bytes is still found.
        edit_footer_copy(&mut img, true, |f| f.timestamp = 9);
        assert_eq!(codes(&img), vec![Code::FileShortFooter, Code::FooterCopyMismatch]);
    }
}
