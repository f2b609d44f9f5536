//! Encoder-made images for the integration tests, each with an independent model of its
//! virtual disk.
//!
//! Images are assembled from the crate's format encoders (`HardDiskFooter`, `DynamicDiskHeader`,
//! `ParentLocatorEntry`, `Bat`, `format::locator::encode_*`), so a test checks the reader and the
//! checker against a layout written down here, not against themselves. The model ([`Built::data`],
//! [`Built::present`]) is computed from the same specification of the image but without going
//! through any decoder: it is what the image *means* (spec §Read Operation), and [`compose`]
//! stacks models down a differencing chain.
//!
//! Images are written by [`crate::layout`] (the one layout of the workspace's test images), with
//! locator data space counted in sectors, as the spec says.

use crate::layout::{self, Block, Locator};
use crate::Rng;
use vhd_validator::format::bitmap::set_bit;
use vhd_validator::format::locator::{encode_macx, encode_utf16le};
use vhd_validator::format::{BlockGeometry, DiskType, HardDiskFooter, PlatformCode};

/// Sector size in bytes.
pub const SECTOR: u64 = 512;

/// One allocated block of a sparse image.
#[derive(Clone, Debug)]
pub struct BlockSpec {
    /// Block number (BAT index).
    pub index: u32,
    /// Runs `(first sector within the block, sector count)` whose bitmap bits are set and whose
    /// data is written.
    pub runs: Vec<(u64, u64)>,
    /// Fill byte for sectors whose bit is clear (0 = as the spec requires for dynamic disks).
    pub clear_fill: u8,
}

impl BlockSpec {
    /// A block with every sector present.
    pub fn full(index: u32, sectors_per_block: u64) -> BlockSpec {
        BlockSpec { index, runs: vec![(0, sectors_per_block)], clear_fill: 0 }
    }

    /// A block with the given runs present.
    pub fn runs(index: u32, runs: &[(u64, u64)]) -> BlockSpec {
        BlockSpec { index, runs: runs.to_vec(), clear_fill: 0 }
    }
}

/// The parent fields of a differencing disk.
#[derive(Clone, Debug)]
pub struct ParentSpec {
    /// Parent's footer unique id.
    pub unique_id: [u8; 16],
    /// Parent time stamp (VHD seconds).
    pub timestamp: u32,
    /// Parent unicode name (stored UTF-16BE).
    pub name: String,
    /// Locators, in entry order: platform code and path (encoded per the code).
    pub locators: Vec<(PlatformCode, String)>,
}

/// A sparse (dynamic or differencing) image.
#[derive(Clone, Debug)]
pub struct SparseSpec {
    /// Dynamic or differencing.
    pub kind: DiskType,
    /// Current (and original) size in bytes.
    pub size: u64,
    /// Block size in bytes.
    pub block_size: u32,
    /// Footer unique id.
    pub unique_id: [u8; 16],
    /// Footer time stamp (VHD seconds).
    pub timestamp: u32,
    /// Parent fields (differencing disks).
    pub parent: Option<ParentSpec>,
    /// Allocated blocks, in file order.
    pub blocks: Vec<BlockSpec>,
    /// Seed of the data written into present sectors.
    pub seed: u64,
}

/// An image's bytes, where its pieces went, and its model.
#[derive(Clone, Debug)]
pub struct Built {
    /// The image file.
    pub bytes: Vec<u8>,
    /// Virtual size in bytes.
    pub size: u64,
    /// Per virtual sector: whether this image holds the sector (bit set / fixed disk).
    pub present: Vec<bool>,
    /// Virtual disk bytes this image holds (zero where not present), rounded up to sectors.
    pub data: Vec<u8>,
    /// (block number, file offset of its sector bitmap) of each allocated block, in file order.
    pub block_offsets: Vec<(u32, u64)>,
    /// File offset of the BAT (sparse images).
    pub bat_offset: u64,
    /// File offsets of the locator payloads, in entry order.
    pub locator_offsets: Vec<u64>,
}

/// 512 deterministic bytes for virtual sector `sector` of the image seeded `seed`.
pub fn sector_content(seed: u64, sector: u64) -> [u8; 512] {
    let mut rng = Rng(seed.wrapping_mul(0x100_0000_01B3) ^ sector.wrapping_mul(0x9E37_79B9));
    let mut b = [0u8; 512];
    rng.fill(&mut b);
    // Keep sectors recognisable in hex dumps: the first 8 bytes name the sector.
    b[..8].copy_from_slice(&sector.to_be_bytes());
    b
}

/// A footer of `kind` for `size` bytes with the given id and time stamp, sealed.
pub fn footer(kind: DiskType, size: u64, unique_id: [u8; 16], timestamp: u32) -> HardDiskFooter {
    let data_offset = if kind == DiskType::Fixed { u64::MAX } else { 512 };
    let mut f = HardDiskFooter::new(kind, size, data_offset);
    f.unique_id = unique_id;
    f.timestamp = timestamp;
    f.seal();
    f
}

/// A fixed image of `size` bytes (a multiple of 512) whose sectors are `sector_content(seed, n)`
/// where `keep(n)` and zero elsewhere.
pub fn fixed(size: u64, unique_id: [u8; 16], timestamp: u32, seed: u64, keep: impl Fn(u64) -> bool) -> Built {
    assert_eq!(size % SECTOR, 0, "fixed test images are whole sectors");
    let sectors = size / SECTOR;
    let mut data = vec![0u8; size as usize];
    for n in 0..sectors {
        if keep(n) {
            let at = (n * SECTOR) as usize;
            data[at..at + 512].copy_from_slice(&sector_content(seed, n));
        }
    }
    let bytes = layout::fixed(data.clone(), &footer(DiskType::Fixed, size, unique_id, timestamp).encode());
    Built {
        bytes,
        size,
        present: vec![true; sectors as usize],
        data,
        block_offsets: Vec::new(),
        bat_offset: 0,
        locator_offsets: Vec::new(),
    }
}

/// Encodes a locator payload for `code`.
pub fn locator_payload(code: PlatformCode, path: &str) -> Vec<u8> {
    match code {
        PlatformCode::MacX => encode_macx(path),
        PlatformCode::Wi2k | PlatformCode::Wi2r => path.as_bytes().to_vec(),
        _ => encode_utf16le(path),
    }
}

/// Builds a sparse image per `spec` with [`layout::sparse`]: locator data space in sectors,
/// the blocks in the order listed.
pub fn sparse(spec: &SparseSpec) -> Built {
    let g = BlockGeometry::new(spec.block_size).expect("valid test block size");
    let f = footer(spec.kind, spec.size, spec.unique_id, spec.timestamp);
    let (parent, locators) = match &spec.parent {
        Some(p) => (
            Some(layout::Parent { unique_id: p.unique_id, timestamp: p.timestamp, name: p.name.clone() }),
            p.locators
                .iter()
                .map(|(code, path)| Locator::in_sectors(code.raw(), locator_payload(*code, path)))
                .collect(),
        ),
        None => (None, Vec::new()),
    };
    let layout = layout::Sparse { footer: f.encode(), size: spec.size, block_size: spec.block_size, parent, locators };

    let sectors_total = spec.size.div_ceil(SECTOR);
    let mut present = vec![false; sectors_total as usize];
    let mut data = vec![0u8; (sectors_total * SECTOR) as usize];
    let mut blocks = Vec::new();
    for b in &spec.blocks {
        let mut bitmap = vec![0u8; g.bitmap_used_bytes() as usize];
        let mut block = vec![b.clear_fill; spec.block_size as usize];
        for &(first, count) in &b.runs {
            for s in first..first + count {
                assert!(s < g.sectors_per_block, "run past the block");
                set_bit(&mut bitmap, s);
                let virt = u64::from(b.index) * g.sectors_per_block + s;
                let content = sector_content(spec.seed, virt);
                block[(s * SECTOR) as usize..((s + 1) * SECTOR) as usize].copy_from_slice(&content);
                if virt < sectors_total {
                    present[virt as usize] = true;
                    data[(virt * SECTOR) as usize..((virt + 1) * SECTOR) as usize].copy_from_slice(&content);
                }
            }
        }
        blocks.push(Block { index: b.index, bitmap, data: block });
    }
    let (bytes, placed) = layout::sparse(&layout, blocks);
    Built {
        bytes,
        size: spec.size,
        present,
        data,
        block_offsets: placed.block_offsets,
        bat_offset: placed.bat_offset,
        locator_offsets: placed.locator_offsets,
    }
}

/// The virtual disk of a chain: `layers[0]` is the base image, each later one a differencing
/// child of the one before; the last is the image opened. Sectors a child does not hold come
/// from its parent; sectors past a parent's end read as zero.
pub fn compose(layers: &[&Built]) -> Vec<u8> {
    let top = layers.last().expect("at least one layer");
    let mut out = vec![0u8; top.size as usize];
    for layer in layers {
        for (n, &p) in layer.present.iter().enumerate() {
            let at = n * 512;
            if p && at < out.len() {
                let end = (at + 512).min(out.len());
                out[at..end].copy_from_slice(&layer.data[at..end]);
            }
        }
    }
    out
}

/// A unique id made of `tag` in every byte but the RFC 4122 version/variant nibbles.
pub fn uuid(tag: u8) -> [u8; 16] {
    let mut u = [tag; 16];
    u[6] = 0x40 | (tag & 0x0F);
    u[8] = 0x80 | (tag & 0x3F);
    u
}

/// Rewrites the trailing footer (and, when `copy` is set, the copy at offset 0) of `img` after
/// `edit` changed it; reseals when `seal`.
pub fn edit_footer(img: &mut [u8], copy: bool, seal: bool, edit: impl FnOnce(&mut HardDiskFooter)) {
    let n = img.len();
    let mut raw = [0u8; 512];
    raw.copy_from_slice(&img[n - 512..]);
    let mut f = HardDiskFooter::decode(&raw);
    edit(&mut f);
    if seal {
        f.seal();
    }
    let bytes = f.encode();
    img[n - 512..].copy_from_slice(&bytes);
    if copy {
        img[..512].copy_from_slice(&bytes);
    }
}

/// Writes BAT entry `index` of the image whose BAT is at `bat_offset`.
pub fn set_bat_entry(img: &mut [u8], bat_offset: u64, index: u32, sector: u32) {
    let at = (bat_offset + 4 * u64::from(index)) as usize;
    img[at..at + 4].copy_from_slice(&sector.to_be_bytes());
}
