//! The encoder-made images of `corpus/seed/` and the verdict every seed image should get.
//!
//! The committed files are regenerated from here by
//! `VHD_REGEN_SEED=1 cargo test -p vhd-cli --test real_images seed_corpus`; without that
//! variable the test asserts that the committed bytes equal what this module builds (so the
//! README's description of each file stays true). The QEMU-made seed images come from
//! `scripts/make-seed-corpus.sh` and are only checked for their verdict.

use super::build::{self, BlockSpec, Built, ParentSpec, SparseSpec};
use super::vhd_time;
use vhd_validator::format::{DiskType, PlatformCode};
use vhd_validator::Severity::{self, Error, Info};

/// 2024-01-01T00:00:00Z as a VHD time stamp: the creation time of the encoder-made images.
pub fn base_time() -> u32 {
    vhd_time(1_704_067_200)
}

/// Block size of the encoder-made sparse images: 512 KiB (one of the two sizes the spec says
/// Virtual PC was tested with; keeps the files small).
pub const BLOCK: u32 = 512 * 1024;
/// Sectors per block of [`BLOCK`].
pub const SPB: u64 = BLOCK as u64 / 512;

/// The parent of the seed chain: dynamic, 4 MiB, blocks 0 and 5 fully written.
pub fn chain_parent() -> Built {
    build::sparse(&SparseSpec {
        kind: DiskType::Dynamic,
        size: 4 << 20,
        block_size: BLOCK,
        unique_id: build::uuid(0xA1),
        timestamp: base_time(),
        parent: None,
        blocks: vec![BlockSpec::full(0, SPB), BlockSpec::full(5, SPB)],
        seed: 0xA1,
    })
}

/// The child of the seed chain: differencing over `enc-diff-parent.vhd`, 4 MiB, with partially
/// set sector bitmaps in block 0 (over parent data) and block 2 (over an unallocated parent
/// block), W2ku + W2ru locators and the parent unicode name.
pub fn chain_child(parent: &Built) -> Built {
    let parent_footer = footer_of(parent);
    build::sparse(&SparseSpec {
        kind: DiskType::Differencing,
        size: 4 << 20,
        block_size: BLOCK,
        unique_id: build::uuid(0xB2),
        timestamp: base_time() + 3600,
        parent: Some(ParentSpec {
            unique_id: parent_footer.unique_id,
            timestamp: parent_footer.timestamp,
            name: "enc-diff-parent.vhd".into(),
            locators: vec![
                (PlatformCode::W2ku, "C:\\vhd-conformance\\corpus\\seed\\enc-diff-parent.vhd".into()),
                (PlatformCode::W2ru, ".\\enc-diff-parent.vhd".into()),
            ],
        }),
        blocks: vec![BlockSpec::runs(0, &[(0, 8), (100, 3), (SPB - 1, 1)]), BlockSpec::runs(2, &[(17, 200)])],
        seed: 0xB2,
    })
}

/// The decoded trailing footer of a built image.
pub fn footer_of(img: &Built) -> vhd_validator::format::HardDiskFooter {
    let n = img.bytes.len();
    let mut raw = [0u8; 512];
    raw.copy_from_slice(&img.bytes[n - 512..]);
    vhd_validator::format::HardDiskFooter::decode(&raw)
}

fn small_dynamic(size: u64, blocks: Vec<BlockSpec>, tag: u8) -> Built {
    build::sparse(&SparseSpec {
        kind: DiskType::Dynamic,
        size,
        block_size: BLOCK,
        unique_id: build::uuid(tag),
        timestamp: base_time(),
        parent: None,
        blocks,
        seed: u64::from(tag),
    })
}

/// Fixed 256 KiB image whose footer checksum is off by one.
pub fn bad_footer_checksum() -> Vec<u8> {
    let mut img = build::fixed(256 * 1024, build::uuid(0xC3), base_time(), 0xC3, |n| n % 3 == 0).bytes;
    build::edit_footer(&mut img, false, false, |f| f.checksum = f.checksum.wrapping_add(1));
    img
}

/// Dynamic 1 MiB image whose footer copy at offset 0 still says 512 KiB (a resize that
/// rewrote only the trailing footer); both copies have valid checksums.
pub fn bad_footer_copy_mismatch() -> Vec<u8> {
    let mut img = small_dynamic(1 << 20, vec![BlockSpec::full(0, SPB)], 0xC4).bytes;
    let mut head = [0u8; 512];
    head.copy_from_slice(&img[..512]);
    let mut f = vhd_validator::format::HardDiskFooter::decode(&head);
    f.current_size = 512 * 1024;
    f.original_size = 512 * 1024;
    f.geometry = vhd_validator::format::Geometry::for_current_size(512 * 1024);
    f.seal();
    img[..512].copy_from_slice(&f.encode());
    img
}

/// Dynamic 1 MiB image whose two BAT entries point at the same block.
pub fn bad_bat_overlap() -> Vec<u8> {
    let b = small_dynamic(1 << 20, vec![BlockSpec::full(0, SPB)], 0xC5);
    let mut img = b.bytes;
    let sector = u32::try_from(b.block_offsets[0].1 / 512).expect("small");
    build::set_bat_entry(&mut img, b.bat_offset, 1, sector);
    img
}

/// Dynamic 2 MiB image with blocks 0 and 1, cut 256 KiB into block 1's data: the trailing
/// footer and the rest of block 1 are gone (an interrupted copy).
pub fn bad_truncated() -> Vec<u8> {
    let b = small_dynamic(2 << 20, vec![BlockSpec::full(0, SPB), BlockSpec::full(1, SPB)], 0xC6);
    let cut = b.block_offsets[1].1 + 512 + 256 * 1024;
    b.bytes[..cut as usize].to_vec()
}

/// Every encoder-made seed file: (file name, bytes).
pub fn encoder_files() -> Vec<(&'static str, Vec<u8>)> {
    let parent = chain_parent();
    let child = chain_child(&parent);
    vec![
        ("enc-diff-parent.vhd", parent.bytes.clone()),
        ("enc-diff-child.vhd", child.bytes),
        ("bad-footer-checksum.vhd", bad_footer_checksum()),
        ("bad-footer-copy-mismatch.vhd", bad_footer_copy_mismatch()),
        ("bad-bat-overlap.vhd", bad_bat_overlap()),
        ("bad-truncated.vhd", bad_truncated()),
    ]
}

/// The verdict a seed file should get under the strict profile.
pub struct Verdict {
    /// File name in `corpus/seed/`.
    pub file: &'static str,
    /// Whether `check` passes (no error finding anywhere in the chain).
    pub passes: bool,
    /// Every distinct (code, strict severity) the check of this file (and its chain) reports,
    /// judged with the wall clock as "now"; the README gives the reason for each.
    pub findings: &'static [(&'static str, Severity)],
}

/// Encoder-made images carry creator `vhdc` and sizes that are not CHS products.
const DIVERGENCE: (&str, Severity) = ("FOOTER-GEOMETRY-SIZE-QEMU-LEGACY", Info);

/// Verdicts of every seed file (the README's table says the same).
pub const VERDICTS: &[Verdict] = &[
    Verdict { file: "qemu-fixed-1m.vhd", passes: true, findings: &[("FOOTER-SIZE-MIB-ALIGN", Info)] },
    Verdict { file: "qemu-fixed-force-size-1m.vhd", passes: true, findings: &[("FOOTER-GEOMETRY", Info)] },
    Verdict { file: "qemu-dynamic-empty-16m.vhd", passes: true, findings: &[("FOOTER-SIZE-MIB-ALIGN", Info)] },
    Verdict { file: "enc-diff-parent.vhd", passes: true, findings: &[DIVERGENCE] },
    Verdict { file: "enc-diff-child.vhd", passes: true, findings: &[DIVERGENCE] },
    Verdict {
        file: "bad-footer-checksum.vhd",
        passes: false,
        findings: &[("FOOTER-CHECKSUM", Error), DIVERGENCE, ("FOOTER-SIZE-MIB-ALIGN", Info)],
    },
    Verdict {
        file: "bad-footer-copy-mismatch.vhd",
        passes: false,
        findings: &[("FOOTER-COPY-MISMATCH", Error), DIVERGENCE],
    },
    Verdict {
        file: "bad-bat-overlap.vhd",
        passes: false,
        findings: &[("BAT-BLOCK-OVERLAP", Error), ("BAT-ORDER", Info), DIVERGENCE],
    },
    Verdict {
        file: "bad-truncated.vhd",
        passes: false,
        findings: &[
            ("FILE-TRUNCATED", Error),
            ("FOOTER-TAIL-INVALID-HEAD-VALID", Error),
            ("FOOTER-COOKIE", Error),
            DIVERGENCE,
        ],
    },
];
