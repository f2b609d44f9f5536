//! In-memory image builders for unit tests of the rule families (test-only).
//!
//! Layout of sparse images: footer copy at 0, dynamic disk header at 512, BAT at 1536 (padded
//! with 0xFF), blocks after the BAT in block order with all-ones bitmaps, trailing footer.

use crate::format::bat::padded_bat_bytes;
use crate::format::{Bat, BlockGeometry, DiskType, DynamicDiskHeader, HardDiskFooter, UNALLOCATED};
use std::sync::atomic::{AtomicU64, Ordering};

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
    let mut v = vec![fill; size as usize];
    let f = clean_footer(DiskType::Fixed, size, u64::MAX);
    v.extend_from_slice(&f.encode());
    v
}

/// A dynamic image of `size` bytes with `block_size` blocks; `blocks` lists (block number,
/// fill byte) of the allocated blocks, written in the order given.
pub fn dynamic(size: u64, block_size: u32, blocks: &[(u32, u8)]) -> Vec<u8> {
    sparse(DiskType::Dynamic, size, block_size, blocks)
}

/// A sparse image of the given type (differencing images get no parent fields here).
pub fn sparse(kind: DiskType, size: u64, block_size: u32, blocks: &[(u32, u8)]) -> Vec<u8> {
    let g = BlockGeometry::new(block_size).expect("test block size");
    let entries = g.blocks_for(size) as u32;
    let bat_off = 1536u64;
    let mut next = bat_off + padded_bat_bytes(entries);
    let mut bat = Bat { entries: vec![UNALLOCATED; entries as usize] };
    let mut body = Vec::new();
    for &(n, fill) in blocks {
        bat.entries[n as usize] = (next / 512) as u32;
        body.extend(std::iter::repeat_n(0xFFu8, g.bitmap_used_bytes() as usize));
        body.extend(std::iter::repeat_n(0u8, (g.bitmap_bytes() - g.bitmap_used_bytes()) as usize));
        body.extend(std::iter::repeat_n(fill, block_size as usize));
        next += g.span_bytes();
    }
    let footer = clean_footer(kind, size, 512);
    let header = DynamicDiskHeader::new(bat_off, entries, block_size);
    let mut v = Vec::new();
    v.extend_from_slice(&footer.encode());
    v.extend_from_slice(&header.encode());
    v.extend_from_slice(&bat.encode_padded(0xFF));
    v.extend_from_slice(&body);
    v.extend_from_slice(&footer.encode());
    v
}

/// Decodes the trailing footer, lets `edit` change it, reseals it when `seal`, and writes it
/// back to the tail and (for sparse images) to the copy at offset 0.
pub fn edit_footer(img: &mut [u8], seal: bool, edit: impl FnOnce(&mut HardDiskFooter)) {
    let n = img.len();
    let mut raw = [0u8; 512];
    raw.copy_from_slice(&img[n - 512..]);
    let mut f = HardDiskFooter::decode(&raw);
    let sparse = f.kind().is_sparse();
    edit(&mut f);
    if seal {
        f.seal();
    }
    let bytes = f.encode();
    img[n - 512..].copy_from_slice(&bytes);
    if sparse {
        img[..512].copy_from_slice(&bytes);
    }
}

/// Decodes the trailing 512-byte footer, lets `edit` change it, reseals it when `seal`, and
/// writes it back to the tail only (the copy at offset 0 is left alone).
pub fn edit_tail_footer(img: &mut [u8], seal: bool, edit: impl FnOnce(&mut HardDiskFooter)) {
    let n = img.len();
    let mut raw = [0u8; 512];
    raw.copy_from_slice(&img[n - 512..]);
    let mut f = HardDiskFooter::decode(&raw);
    edit(&mut f);
    if seal {
        f.seal();
    }
    img[n - 512..].copy_from_slice(&f.encode());
}

/// Decodes the footer copy at offset 0, lets `edit` change it, reseals it when `seal`, and
/// writes it back to offset 0 only.
pub fn edit_footer_copy(img: &mut [u8], seal: bool, edit: impl FnOnce(&mut HardDiskFooter)) {
    let mut raw = [0u8; 512];
    raw.copy_from_slice(&img[..512]);
    let mut f = HardDiskFooter::decode(&raw);
    edit(&mut f);
    if seal {
        f.seal();
    }
    img[..512].copy_from_slice(&f.encode());
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
/// after the BAT in its own area of `max(space x 512, space, length)` bytes rounded up to 512,
/// so that the area holds the data space under either reading; blocks follow the areas.
pub fn differencing(
    size: u64,
    block_size: u32,
    blocks: &[(u32, u8)],
    parent_name: &str,
    locators: &[TestLocator],
) -> Vec<u8> {
    let g = BlockGeometry::new(block_size).expect("test block size");
    let entries = g.blocks_for(size) as u32;
    let bat_off = 1536u64;
    let mut next = bat_off + padded_bat_bytes(entries);
    let mut header = DynamicDiskHeader::new(bat_off, entries, block_size);
    header.set_parent_name(parent_name);
    header.parent_unique_id = [0x5A; 16];
    let mut areas = Vec::new();
    for (i, l) in locators.iter().enumerate() {
        let len = l.payload.len() as u64;
        let area = (u64::from(l.space) * 512).max(len).div_ceil(512).max(1) * 512;
        header.parent_locators[i] = crate::format::ParentLocatorEntry {
            platform_code: l.code,
            platform_data_space: l.space,
            platform_data_length: len as u32,
            reserved: 0,
            platform_data_offset: next,
        };
        let mut a = l.payload.clone();
        a.resize(area as usize, 0);
        areas.extend_from_slice(&a);
        next += area;
    }
    header.seal();
    let mut bat = Bat { entries: vec![UNALLOCATED; entries as usize] };
    let mut body = Vec::new();
    for &(n, fill) in blocks {
        bat.entries[n as usize] = (next / 512) as u32;
        body.extend(std::iter::repeat_n(0xFFu8, g.bitmap_used_bytes() as usize));
        body.extend(std::iter::repeat_n(0u8, (g.bitmap_bytes() - g.bitmap_used_bytes()) as usize));
        body.extend(std::iter::repeat_n(fill, block_size as usize));
        next += g.span_bytes();
    }
    let footer = clean_footer(DiskType::Differencing, size, 512);
    let mut v = Vec::new();
    v.extend_from_slice(&footer.encode());
    v.extend_from_slice(&header.encode());
    v.extend_from_slice(&bat.encode_padded(0xFF));
    v.extend_from_slice(&areas);
    v.extend_from_slice(&body);
    v.extend_from_slice(&footer.encode());
    v
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
