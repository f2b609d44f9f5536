//! In-memory image builders for unit tests of the rule families (test-only).
//!
//! Images are written by the test kit's layout (`vhd_testkit::layout`, see there why only bytes
//! cross into it from here); the helpers that edit a structure in place stay here because they
//! hand the crate's own types to their closure.

use crate::format::{BlockGeometry, DiskType, DynamicDiskHeader, HardDiskFooter};
use std::sync::atomic::{AtomicU64, Ordering};
use vhd_testkit::layout;

static NEXT_UNIQUE_ID: AtomicU64 = AtomicU64::new(1);

/// A clean footer for the builders: [`HardDiskFooter::new`] with creator `win ` (every reader,
/// QEMU included, sizes it by current size) and a non-null unique id that differs between calls.
pub fn clean_footer(kind: DiskType, size: u64, data_offset: u64) -> HardDiskFooter {
    let mut f = HardDiskFooter::new(kind, size, data_offset);
    f.creator_application = *b"win ";
    let n = NEXT_UNIQUE_ID.fetch_add(1, Ordering::Relaxed);
    f.unique_id[..8].copy_from_slice(&n.to_be_bytes());
    f.unique_id[8..].copy_from_slice(b"vhdctest");
    f.seal();
    f
}

/// A fixed image of `size` bytes filled with `fill`, plus its footer.
pub fn fixed(size: u64, fill: u8) -> Vec<u8> {
    layout::fixed(vec![fill; size as usize], &clean_footer(DiskType::Fixed, size, u64::MAX).encode())
}

/// A dynamic image of `size` bytes with `block_size` blocks; `blocks` lists (block number,
/// fill byte) of the allocated blocks, written in the order given.
pub fn dynamic(size: u64, block_size: u32, blocks: &[(u32, u8)]) -> Vec<u8> {
    sparse(DiskType::Dynamic, size, block_size, blocks)
}

/// A sparse image of the given type (differencing images get no parent fields here).
pub fn sparse(kind: DiskType, size: u64, block_size: u32, blocks: &[(u32, u8)]) -> Vec<u8> {
    sparse_with(kind, size, block_size, blocks, None, Vec::new())
}

/// A sparse image written by the test kit's layout: blocks with all-ones bitmaps filled with
/// their byte, in the order given, the locators' areas before them.
fn sparse_with(
    kind: DiskType,
    size: u64,
    block_size: u32,
    blocks: &[(u32, u8)],
    parent: Option<layout::Parent>,
    locators: Vec<layout::Locator>,
) -> Vec<u8> {
    let g = BlockGeometry::new(block_size).expect("test block size");
    let footer = clean_footer(kind, size, 512).encode();
    let spec = layout::Sparse { footer, size, block_size, parent, locators };
    let blocks = blocks.iter().map(|&(index, fill)| layout::Block {
        index,
        bitmap: vec![0xFF; g.bitmap_used_bytes() as usize],
        data: vec![fill; block_size as usize],
    });
    layout::sparse(&spec, blocks).0
}

/// The footer at `at`, decoded.
fn footer_at(img: &[u8], at: usize) -> HardDiskFooter {
    let mut raw = [0u8; 512];
    raw.copy_from_slice(&img[at..at + 512]);
    HardDiskFooter::decode(&raw)
}

/// Decodes the footer at `at`, lets `edit` change it, reseals it when `seal`, writes it back
/// there and returns its bytes.
fn rewrite_footer(img: &mut [u8], at: usize, seal: bool, edit: impl FnOnce(&mut HardDiskFooter)) -> [u8; 512] {
    let mut f = footer_at(img, at);
    edit(&mut f);
    if seal {
        f.seal();
    }
    let bytes = f.encode();
    img[at..at + 512].copy_from_slice(&bytes);
    bytes
}

/// Decodes the trailing footer, lets `edit` change it, reseals it when `seal`, and writes it
/// back to the tail and (for sparse images) to the copy at offset 0.
pub fn edit_footer(img: &mut [u8], seal: bool, edit: impl FnOnce(&mut HardDiskFooter)) {
    let tail = img.len() - 512;
    let sparse = footer_at(img, tail).kind().is_sparse();
    let bytes = rewrite_footer(img, tail, seal, edit);
    if sparse {
        img[..512].copy_from_slice(&bytes);
    }
}

/// Decodes the trailing 512-byte footer, lets `edit` change it, reseals it when `seal`, and
/// writes it back to the tail only (the copy at offset 0 is left alone).
pub fn edit_tail_footer(img: &mut [u8], seal: bool, edit: impl FnOnce(&mut HardDiskFooter)) {
    rewrite_footer(img, img.len() - 512, seal, edit);
}

/// Decodes the footer copy at offset 0, lets `edit` change it, reseals it when `seal`, and
/// writes it back to offset 0 only.
pub fn edit_footer_copy(img: &mut [u8], seal: bool, edit: impl FnOnce(&mut HardDiskFooter)) {
    rewrite_footer(img, 0, seal, edit);
}

/// Decodes the header at 512, lets `edit` change it, reseals it when `seal`, writes it back.
pub fn edit_header(img: &mut [u8], seal: bool, edit: impl FnOnce(&mut DynamicDiskHeader)) {
    let mut raw = [0u8; 1024];
    raw.copy_from_slice(&img[512..1536]);
    let mut h = DynamicDiskHeader::decode(&raw);
    edit(&mut h);
    if seal {
        h.seal();
    }
    img[512..1536].copy_from_slice(&h.encode());
}

/// Runs the image checks (no chain) and returns the codes found, sorted, with duplicates.
pub fn codes(img: &[u8]) -> Vec<crate::rules::Code> {
    let opts = super::CheckOptions {
        now_unix: Some(crate::format::timestamp::to_unix(0) + 10 * 365 * 86_400),
        ..Default::default()
    };
    let v = img.to_vec();
    let r = super::check_image(&v, "test.vhd", &opts);
    let mut c: Vec<_> = r.findings.iter().map(|f| f.code).collect();
    c.sort();
    c
}

/// A parent locator for [`differencing`]: raw platform code, raw data space field and payload.
#[derive(Clone, Debug)]
pub struct TestLocator {
    /// Raw platform code.
    pub code: u32,
    /// Raw platform data space field.
    pub space: u32,
    /// Payload bytes (the data length is their count).
    pub payload: Vec<u8>,
}

impl TestLocator {
    /// A locator whose data space fits the payload under both readings of the field: the
    /// payload length below 512, else the length rounded up to a multiple of 512.
    pub fn new(code: crate::format::PlatformCode, payload: Vec<u8>) -> TestLocator {
        let len = payload.len() as u32;
        let space = if len < 512 { len.max(1) } else { len.div_ceil(512) * 512 };
        TestLocator { code: code.raw(), space, payload }
    }

    /// A W2ku locator for `path` (UTF-16LE).
    pub fn w2ku(path: &str) -> TestLocator {
        Self::new(crate::format::PlatformCode::W2ku, crate::format::locator::encode_utf16le(path))
    }

    /// A W2ru locator for `path` (UTF-16LE).
    pub fn w2ru(path: &str) -> TestLocator {
        Self::new(crate::format::PlatformCode::W2ru, crate::format::locator::encode_utf16le(path))
    }

    /// A MacX locator for `path` (file URL).
    pub fn macx(path: &str) -> TestLocator {
        Self::new(crate::format::PlatformCode::MacX, crate::format::locator::encode_macx(path))
    }
}

/// A differencing image laid out like [`sparse`], with parent unicode name `parent_name`, a
/// non-null parent unique id, and the payload of `locators[i]` in entry `i`. Each payload sits
/// after the BAT in its own area of `max(space x 512, length)` bytes rounded up to 512, so that
/// the area holds the data space under either reading; blocks follow the areas.
pub fn differencing(
    size: u64,
    block_size: u32,
    blocks: &[(u32, u8)],
    parent_name: &str,
    locators: &[TestLocator],
) -> Vec<u8> {
    let parent = layout::Parent { unique_id: [0x5A; 16], timestamp: 0, name: parent_name.into() };
    let locators = locators
        .iter()
        .map(|l| layout::Locator {
            code: l.code,
            space: l.space,
            area: (u64::from(l.space) * 512).max(l.payload.len() as u64).div_ceil(512).max(1) * 512,
            payload: l.payload.clone(),
        })
        .collect();
    sparse_with(DiskType::Differencing, size, block_size, blocks, Some(parent), locators)
}

/// Runs the image checks (no chain, block data read) and returns the findings of `families`.
pub fn family_findings(img: &[u8], families: &[crate::rules::Family]) -> Vec<crate::Finding> {
    let opts = super::CheckOptions {
        now_unix: Some(crate::format::timestamp::to_unix(0) + 10 * 365 * 86_400),
        ..Default::default()
    };
    let r = super::check_image(&img.to_vec(), "test.vhd", &opts);
    r.findings.into_iter().filter(|f| families.contains(&f.code.rule().family)).collect()
}

/// The codes of [`family_findings`], sorted, with duplicates.
pub fn family_codes(img: &[u8], families: &[crate::rules::Family]) -> Vec<crate::rules::Code> {
    let mut c: Vec<_> = family_findings(img, families).iter().map(|f| f.code).collect();
    c.sort();
    c
}
