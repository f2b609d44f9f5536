//! Test-only descriptions of differencing chains, written by the test kit's layout
//! (`vhd_testkit::layout`), and a naive model of what a chain reads as.

use crate::format::bitmap::set_bit;
use crate::format::locator::{encode_macx, encode_utf16le};
use crate::format::{BlockGeometry, DiskType, HardDiskFooter, PlatformCode};
use std::path::Path;
use vhd_testkit::layout;

/// One allocated block: its BAT index, the bits of its sector bitmap and its data bytes (stored
/// whatever the bits say).
pub use vhd_testkit::layout::Block;

/// A VHD to build.
#[derive(Clone, Debug)]
pub struct Img {
    /// Disk type.
    pub kind: DiskType,
    /// Current size in bytes.
    pub size: u64,
    /// Block size in bytes (sparse only).
    pub block_size: u32,
    /// Footer unique id.
    pub unique_id: [u8; 16],
    /// Footer time stamp.
    pub timestamp: u32,
    /// Header parent unique id.
    pub parent_uuid: [u8; 16],
    /// Header parent time stamp.
    pub parent_ts: u32,
    /// Header parent unicode name.
    pub parent_name: String,
    /// Parent locators: (platform code, payload bytes).
    pub locators: Vec<(u32, Vec<u8>)>,
    /// Allocated blocks.
    pub blocks: Vec<Block>,
    /// Fixed disks: the data (`size` bytes).
    pub fixed_data: Vec<u8>,
}

/// A 16-byte id made from one byte.
pub fn id(b: u8) -> [u8; 16] {
    let mut v = [b; 16];
    v[0] = 0x10;
    v
}

/// A pattern byte distinct per (seed, position).
pub fn pattern(seed: u8, pos: u64) -> u8 {
    let x = pos.wrapping_mul(2_654_435_761).wrapping_add(u64::from(seed).wrapping_mul(0x9E37_79B9));
    ((x >> 13) as u8) | 1
}

impl Img {
    fn base(kind: DiskType, size: u64, block_size: u32, uid: u8) -> Img {
        Img {
            kind,
            size,
            block_size,
            unique_id: id(uid),
            timestamp: 1000 + u32::from(uid),
            parent_uuid: [0; 16],
            parent_ts: 0,
            parent_name: String::new(),
            locators: Vec::new(),
            blocks: Vec::new(),
            fixed_data: Vec::new(),
        }
    }

    /// A fixed disk of `size` bytes holding `pattern(uid, offset)` everywhere.
    pub fn fixed(size: u64, uid: u8) -> Img {
        let mut i = Img::base(DiskType::Fixed, size, 0, uid);
        i.fixed_data = (0..size).map(|o| pattern(uid, o)).collect();
        i
    }

    /// A dynamic disk with no block allocated.
    pub fn dynamic(size: u64, block_size: u32, uid: u8) -> Img {
        Img::base(DiskType::Dynamic, size, block_size, uid)
    }

    /// A differencing disk whose parent fields point at `parent` (unique id, time stamp) with
    /// parent unicode name `parent_name`; no locator, no block.
    pub fn diff(size: u64, block_size: u32, uid: u8, parent: &Img, parent_name: &str) -> Img {
        let mut i = Img::base(DiskType::Differencing, size, block_size, uid);
        i.parent_uuid = parent.unique_id;
        i.parent_ts = parent.timestamp;
        i.parent_name = parent_name.to_string();
        i
    }

    fn geom(&self) -> BlockGeometry {
        BlockGeometry::new(self.block_size).expect("test block size")
    }

    /// Allocates block `index` with bit `bit(sector)` and data byte `pattern(seed, virtual
    /// offset)` for every sector (also under clear bits).
    pub fn block(mut self, index: u32, seed: u8, bit: impl Fn(u64) -> bool) -> Img {
        let g = self.geom();
        let mut bitmap = vec![0u8; g.bitmap_used_bytes() as usize];
        for s in 0..g.sectors_per_block {
            if bit(s) {
                set_bit(&mut bitmap, s);
            }
        }
        let start = u64::from(index) * g.block_size;
        let data = (0..g.block_size).map(|o| pattern(seed, start + o)).collect();
        self.blocks.push(Block { index, bitmap, data });
        self
    }

    /// Zeroes the stored data of every sector whose bit is clear (what the spec requires of
    /// dynamic disks, and what 7-Zip insists on).
    pub fn zero_clear(mut self) -> Img {
        for b in &mut self.blocks {
            for (s, chunk) in b.data.chunks_mut(512).enumerate() {
                if (b.bitmap[s / 8] >> (7 - s % 8)) & 1 == 0 {
                    chunk.fill(0);
                }
            }
        }
        self
    }

    /// Adds a locator with a raw platform code and payload.
    pub fn locator(mut self, code: u32, payload: Vec<u8>) -> Img {
        self.locators.push((code, payload));
        self
    }

    /// Adds a `W2ru` locator (UTF-16LE).
    pub fn w2ru(self, path: &str) -> Img {
        self.locator(PlatformCode::W2ru.raw(), encode_utf16le(path))
    }

    /// Adds a `W2ku` locator (UTF-16LE).
    pub fn w2ku(self, path: &str) -> Img {
        self.locator(PlatformCode::W2ku.raw(), encode_utf16le(path))
    }

    /// Adds a `MacX` locator (file URL).
    pub fn macx(self, path: &str) -> Img {
        self.locator(PlatformCode::MacX.raw(), encode_macx(path))
    }

    /// The sealed hard disk footer.
    pub fn footer(&self) -> HardDiskFooter {
        let off = if self.kind == DiskType::Fixed { u64::MAX } else { 512 };
        let mut f = HardDiskFooter::new(self.kind, self.size, off);
        f.unique_id = self.unique_id;
        f.timestamp = self.timestamp;
        f.seal();
        f
    }

    /// The image bytes, written by the test kit's layout (locator data space in sectors).
    pub fn build(&self) -> Vec<u8> {
        let footer = self.footer().encode();
        if self.kind == DiskType::Fixed {
            return layout::fixed(self.fixed_data.clone(), &footer);
        }
        let spec = layout::Sparse {
            footer,
            size: self.size,
            block_size: self.block_size,
            parent: Some(layout::Parent {
                unique_id: self.parent_uuid,
                timestamp: self.parent_ts,
                name: self.parent_name.clone(),
            }),
            locators: self
                .locators
                .iter()
                .map(|(code, payload)| layout::Locator::in_sectors(*code, payload.clone()))
                .collect(),
        };
        layout::sparse(&spec, self.blocks.iter().cloned()).0
    }

    /// Writes the image to `path`.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.build()).expect("write test image");
    }

    /// The byte at virtual offset `o` of this image alone, or `None` when it comes from the
    /// parent (differencing disks), per the spec's read semantics. Past the size: `Some(0)`.
    fn own_byte(&self, o: u64) -> Option<u8> {
        if o >= self.size {
            return Some(0);
        }
        if self.kind == DiskType::Fixed {
            return Some(self.fixed_data[o as usize]);
        }
        let g = self.geom();
        let (n, in_block) = (o / g.block_size, o % g.block_size);
        let diff = self.kind == DiskType::Differencing;
        let Some(b) = self.blocks.iter().find(|b| u64::from(b.index) == n) else {
            return if diff { None } else { Some(0) };
        };
        let s = in_block / 512;
        let set = (b.bitmap[(s / 8) as usize] >> (7 - s % 8)) & 1 == 1;
        match (set, diff) {
            (true, _) => Some(b.data[in_block as usize]),
            (false, true) => None,
            (false, false) => Some(0),
        }
    }
}

/// What the chain (child first) reads as: `chain[0].size` bytes, computed sector by sector
/// (byte by byte in a sector that some image's size cuts).
pub fn model(chain: &[Img]) -> Vec<u8> {
    let size = chain[0].size;
    let mut out = vec![0u8; size as usize];
    let mut a = 0u64;
    while a < size {
        let b = (a + 512).min(size);
        let cut = chain.iter().any(|img| img.size > a && img.size < b);
        if cut {
            for o in a..b {
                out[o as usize] = chain.iter().find_map(|img| img.own_byte(o)).unwrap_or(0);
            }
        } else if let Some(img) = chain.iter().find(|img| img.own_byte(a).is_some()) {
            for o in a..b {
                out[o as usize] = img.own_byte(o).unwrap_or(0);
            }
        }
        a = b;
    }
    out
}
