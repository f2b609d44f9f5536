//! In-memory image builders for unit tests of the rule families (test-only).
//!
//! Layout of sparse images: footer copy at 0, dynamic disk header at 512, BAT at 1536 (padded
//! with 0xFF), blocks after the BAT in block order with all-ones bitmaps, trailing footer.

use crate::format::bat::padded_bat_bytes;
use crate::format::{Bat, BlockGeometry, DiskType, DynamicDiskHeader, HardDiskFooter, UNALLOCATED};

/// A fixed image of `size` bytes filled with `fill`, plus its footer.
pub fn fixed(size: u64, fill: u8) -> Vec<u8> {
    let mut v = vec![fill; size as usize];
    let f = HardDiskFooter::new(DiskType::Fixed, size, u64::MAX);
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
    let footer = HardDiskFooter::new(kind, size, 512);
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
    let opts = super::CheckOptions { now_unix: Some(crate::format::timestamp::to_unix(0) + 10 * 365 * 86_400), ..Default::default() };
    let v = img.to_vec();
    let r = super::check_image(&v, "test.vhd", &opts);
    let mut c: Vec<_> = r.findings.iter().map(|f| f.code).collect();
    c.sort();
    c
}
