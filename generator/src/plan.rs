//! Lays out the images of a scenario (footer, header, BAT, locators, blocks) and writes them
//! as sparse files with the validator's encoders.
//!
//! Layout of a dynamic or differencing image (spec §Dynamic Hard Disk Image): footer copy at
//! byte 0, dynamic disk header at `layout.header_offset` (512), then every structure that has
//! no explicit offset, each at the first free sector after the previous one: the BAT (padded
//! to a sector), the parent locator data, then the blocks in `layout.block_order`; the
//! trailing footer follows the last structure (plus `layout.padding_before_footer`). A fixed
//! image is the data followed by the footer.

use crate::error::GenError;
use crate::model::{ImageModel, ModelHasher, RangeMap, RangeSet};
use crate::pattern::{self, Fill, Purpose};
use crate::scenario::{
    AllocBitmap, BitmapMode, BlockOrder, Image, Kind, LocatorCode, LocatorSpec, PartitionScheme, Pattern, Scenario,
    SpaceUnits,
};
use rand::seq::SliceRandom;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;
use vhd_validator::format::bat::padded_bat_bytes;
use vhd_validator::format::footer::{HOST_OS_WINDOWS, SHORT_FOOTER_SIZE};
use vhd_validator::format::locator::{encode_macx, encode_utf16le};
use vhd_validator::format::{
    bitmap, Bat, BlockGeometry, DiskType, DynamicDiskHeader, Geometry, HardDiskFooter, ParentLocatorEntry, FOOTER_SIZE,
    UNALLOCATED,
};
use vhd_validator::io::hash_zeros;

/// Default block size: 2 MiB.
pub const DEFAULT_BLOCK_SIZE: u64 = 2 << 20;
/// Default creator application of generated footers (`win `: no reader sizes it by CHS).
pub const DEFAULT_CREATOR: [u8; 4] = *b"win ";
/// Default creator version (10.0).
pub const DEFAULT_CREATOR_VERSION: u32 = 0x000A_0000;
/// Most BAT entries the generator lays out (a 64 MiB BAT; 2040 GiB of 128 KiB blocks).
pub const MAX_TABLE_ENTRIES: u32 = 1 << 24;
/// Directory that derived absolute locator paths name (`C:\vhd-corpus\NAME`, `/vhd-corpus/NAME`).
pub const DERIVED_DIR: &str = "vhd-corpus";

/// One parent locator as laid out.
#[derive(Clone, Debug)]
pub struct LocatorPlan {
    /// Entry index 0..8.
    pub slot: usize,
    /// The entry as written.
    pub entry: ParentLocatorEntry,
    /// Payload bytes, written at `entry.platform_data_offset`.
    pub payload: Vec<u8>,
    /// Bytes reserved at the offset.
    pub span: u64,
}

/// The sparse part of an image's plan.
#[derive(Clone, Debug)]
pub struct SparsePlan {
    /// Byte offset of the dynamic disk header.
    pub header_offset: u64,
    /// The header as written (sealed).
    pub header: DynamicDiskHeader,
    /// Byte offset of the BAT.
    pub bat_offset: u64,
    /// BAT entries as written.
    pub bat: Vec<u32>,
    /// BAT padding byte.
    pub bat_padding: u8,
    /// Block geometry.
    pub geom: BlockGeometry,
    /// Allocated blocks: block number -> byte offset of its sector bitmap.
    pub blocks: BTreeMap<u64, u64>,
    /// Bitmap padding byte.
    pub bitmap_padding: u8,
    /// Parent locators.
    pub locators: Vec<LocatorPlan>,
}

/// One image as laid out.
#[derive(Clone, Debug)]
pub struct ImagePlan {
    /// Chain level (0 = main image).
    pub level: usize,
    /// File name.
    pub file: String,
    /// The footer (sealed).
    pub footer: HardDiskFooter,
    /// Whether the trailing footer is the 511-byte form.
    pub short_footer: bool,
    /// Byte offset of the trailing footer.
    pub footer_offset: u64,
    /// File length in bytes.
    pub file_len: u64,
    /// Header, BAT, locators, blocks of a sparse image.
    pub sparse: Option<SparsePlan>,
    /// The content model of the image.
    pub model: ImageModel,
}

impl ImagePlan {
    /// Bytes of the trailing footer (512, or 511 for the short form).
    pub fn footer_len(&self) -> u64 {
        if self.short_footer {
            SHORT_FOOTER_SIZE as u64
        } else {
            FOOTER_SIZE as u64
        }
    }
}

/// Default file name of chain level `level`.
pub fn default_file_name(level: usize) -> String {
    if level == 0 {
        "disk.vhd".to_string()
    } else {
        format!("parent{level}.vhd")
    }
}

/// Whether `name` can name an image file of a case: non-empty, no path separator, not `.` or
/// `..`, and not one of the case's own files (`manifest.json`, `scenario.yaml`).
pub fn plain_file_name(name: &str) -> bool {
    !(name.is_empty()
        || name.contains(['/', '\\'])
        || name == "."
        || name == ".."
        || name == "manifest.json"
        || name == "scenario.yaml")
}

/// The chain of a scenario, main image first.
pub fn chain_of(s: &Scenario) -> Vec<&Image> {
    let mut v = vec![&s.image];
    let mut cur = &s.image;
    while let Some(p) = cur.parent.as_deref() {
        v.push(p);
        cur = p;
    }
    v
}

fn invalid(path: &str, message: impl Into<String>) -> GenError {
    GenError::Invalid { path: path.to_string(), message: message.into() }
}

fn round_up(v: u64, to: u64) -> Option<u64> {
    v.checked_add(to - 1).map(|x| x / to * to)
}

/// A derived unique id: 16 ChaCha8 bytes with RFC 4122 version 4 / variant 1 bits.
pub fn derived_unique_id(seed: u64, level: usize) -> [u8; 16] {
    let mut b = [0u8; 16];
    pattern::rng(seed, Purpose::UniqueId, level as u64).fill_bytes(&mut b);
    b[6] = (b[6] & 0x0F) | 0x40;
    b[8] = (b[8] & 0x3F) | 0x80;
    b
}

/// A derived time stamp: the root between 2005 and 2020; each child 1 s to 30 days after its
/// parent's.
pub fn derived_timestamp(seed: u64, level: usize, parent_ts: Option<u32>) -> u32 {
    let r = pattern::derive_u64(seed, Purpose::Timestamp, level as u64);
    match parent_ts {
        None => 157_766_400 + (r % 473_040_000) as u32,
        Some(p) => p.saturating_add(1 + (r % 2_592_000) as u32),
    }
}

fn derived_path(code: LocatorCode, name: &str) -> String {
    match code {
        LocatorCode::W2ku | LocatorCode::Wi2k => format!("C:\\{DERIVED_DIR}\\{name}"),
        LocatorCode::MacX | LocatorCode::Mac => format!("/{DERIVED_DIR}/{name}"),
        _ => format!(".\\{name}"),
    }
}

fn encode_payload(code: LocatorCode, path: &str) -> Vec<u8> {
    match code {
        LocatorCode::W2ku | LocatorCode::W2ru | LocatorCode::Raw(_) => encode_utf16le(path),
        LocatorCode::MacX => encode_macx(path),
        LocatorCode::Wi2k | LocatorCode::Wi2r => {
            path.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect()
        }
        LocatorCode::Mac | LocatorCode::None => path.as_bytes().to_vec(),
    }
}

/// Resolves a write's sector range `[start, end)` against a disk of `sectors` sectors.
fn write_range(w: &crate::scenario::Write, sectors: u64, path: &str) -> Result<(u64, u64), GenError> {
    let (start, count) = match (w.sector, w.offset) {
        (Some(s), None) => {
            if w.length.is_some() {
                return Err(invalid(path, "`length` goes with `offset`; use `count` with `sector`"));
            }
            (s, w.count)
        }
        (None, Some(o)) => {
            if w.count.is_some() {
                return Err(invalid(path, "`count` goes with `sector`; use `length` with `offset`"));
            }
            if o.0 % 512 != 0 || w.length.is_some_and(|l| l.0 % 512 != 0) {
                return Err(invalid(path, "`offset` and `length` must be multiples of 512 bytes"));
            }
            (o.0 / 512, w.length.map(|l| l.0 / 512))
        }
        _ => return Err(invalid(path, "give exactly one of `sector` and `offset`")),
    };
    let count = count.unwrap_or(sectors.saturating_sub(start));
    let end = start.checked_add(count).ok_or_else(|| invalid(path, "range overflows"))?;
    if count == 0 || end > sectors {
        return Err(invalid(
            path,
            format!("sectors {start}..{end} are not a non-empty range inside the disk's {sectors} sectors"),
        ));
    }
    Ok((start, end))
}

fn resolve_fill(p: &Pattern, seed: u64, level: usize, index: usize, disk: u64) -> Fill {
    match p {
        Pattern::PartitionTable(t) => {
            let gpt = t.scheme == PartitionScheme::Gpt;
            let start = t.start.unwrap_or(if gpt { 2048 } else { 63 });
            let end = if gpt { disk.saturating_sub(33) } else { disk };
            Fill::Partition { gpt, start, sectors: t.sectors.unwrap_or(end.saturating_sub(start)), disk }
        }
        Pattern::Zero => Fill::Zero,
        Pattern::Fill(b) => Fill::Byte(*b),
        Pattern::Counter(base) => Fill::Counter(*base),
        Pattern::Random(Some(s)) => Fill::Random(*s),
        Pattern::Random(None) => {
            Fill::Random(pattern::derive_u64(seed, Purpose::WriteSeed, ((level as u64) << 32) | index as u64))
        }
    }
}

/// Occupied byte ranges of a file being laid out, and first-fit placement.
///
/// Every explicit reservation ([`Space::reserve`]) is made before the first [`Space::place`];
/// placement moves forward only (from `cursor`), so what was placed never lies after the cursor
/// and only the reservations need checking. They are sorted and merged once, and each placement
/// finds the next one by binary search: laying out `n` blocks costs O(n log r), not O(n²).
struct Space {
    /// Explicit reservations as `[start, end)` byte ranges (sorted and merged by `place`).
    reserved: Vec<(u64, u64)>,
    merged: bool,
    /// End of the last placed range (bytes).
    placed_end: u64,
    cursor: u64,
}

impl Space {
    fn new() -> Space {
        Space { reserved: Vec::new(), merged: true, placed_end: 0, cursor: 0 }
    }

    fn reserve(&mut self, start: u64, len: u64) {
        self.reserved.push((start, start.saturating_add(len)));
        self.merged = false;
    }

    fn merge(&mut self) {
        if self.merged {
            return;
        }
        self.reserved.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(self.reserved.len());
        for &(s, e) in &self.reserved {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        self.reserved = out;
        self.merged = true;
    }

    /// The first position >= cursor where `[pos, pos + len)` is free and `(pos + skew) % align == 0`.
    fn place(&mut self, len: u64, align: u64, skew: u64) -> Option<u64> {
        self.merge();
        let mut pos = self.cursor;
        // Each retry moves past one reservation, so there are at most as many as reservations.
        for _ in 0..=self.reserved.len() {
            let aligned = round_up(pos.checked_add(skew)?, align)?.checked_sub(skew)?;
            let pos2 = if aligned < pos { aligned.checked_add(align)? } else { aligned };
            let end = pos2.checked_add(len)?;
            // The reservations overlapping [pos2, end) are reserved[i..j] (merged ranges are
            // disjoint, so their ends are sorted too); retry after the last of them.
            let i = self.reserved.partition_point(|&(_, e)| e <= pos2);
            let j = self.reserved.partition_point(|&(s, _)| s < end);
            match self.reserved.get(j.wrapping_sub(1)).filter(|_| j > i) {
                Some(&(_, e)) => pos = e,
                None => {
                    self.placed_end = self.placed_end.max(end);
                    self.cursor = end;
                    return Some(pos2);
                }
            }
        }
        None
    }

    fn end(&self) -> u64 {
        self.reserved.iter().map(|&(_, e)| e).fold(self.placed_end, u64::max)
    }
}

/// Most sector ranges the writes of one image expand to (with `repeat`).
pub const MAX_WRITE_RANGES: u64 = 1 << 16;

/// The writes of an image with their sector ranges `[start, end)` on a disk of `sectors`
/// sectors, each `repeat` expanded into its copies (in order).
///
/// # Errors
/// [`GenError::Invalid`] for a range outside the disk, a repeat with no copy, a stride shorter
/// than the write, or more than [`MAX_WRITE_RANGES`] ranges.
pub fn expand_writes<'w>(
    writes: &'w [crate::scenario::Write],
    sectors: u64,
    path: &str,
) -> Result<Vec<(usize, &'w crate::scenario::Write, u64, u64)>, GenError> {
    let mut out = Vec::new();
    for (i, w) in writes.iter().enumerate() {
        let wpath = format!("{path}.writes[{i}]");
        let (s, e) = write_range(w, sectors, &wpath)?;
        let Some(r) = w.repeat else {
            out.push((i, w, s, e));
            continue;
        };
        if r.count == 0 || r.stride < e - s {
            return Err(invalid(
                &format!("{wpath}.repeat"),
                "needs `count` of at least 1 and `stride` of at least the write's length",
            ));
        }
        if (out.len() as u64).saturating_add(r.count) > MAX_WRITE_RANGES {
            return Err(invalid(&format!("{wpath}.repeat"), format!("more than {MAX_WRITE_RANGES} write ranges")));
        }
        for k in 0..r.count {
            let off = k.checked_mul(r.stride).and_then(|o| o.checked_add(e));
            match off {
                Some(end) if end <= sectors => out.push((i, w, end - (e - s), end)),
                _ => {
                    return Err(invalid(
                        &format!("{wpath}.repeat"),
                        format!("copy {k} does not fit the disk's {sectors} sectors"),
                    ))
                }
            }
        }
    }
    Ok(out)
}

/// Builds the model of one image from its writes and allocations.
fn build_model(
    img: &Image,
    seed: u64,
    level: usize,
    geom: Option<BlockGeometry>,
    path: &str,
) -> Result<ImageModel, GenError> {
    let size = img.size.0;
    let sectors = size.div_ceil(512);
    let mut stored = RangeMap::new();
    let mut bits = RangeSet::new();
    for (i, w, s, e) in expand_writes(&img.writes, sectors, path)? {
        let wpath = format!("{path}.writes[{i}]");
        stored.insert(s, e, resolve_fill(&w.pattern, seed, level, i, sectors));
        if let Some(g) = geom {
            match w.bitmap {
                BitmapMode::Written => bits.insert(s, e, ()),
                BitmapMode::None => {}
                BitmapMode::Block => {
                    let spb = g.sectors_per_block;
                    let bs = s / spb * spb;
                    let be = e.div_ceil(spb).saturating_mul(spb).min(sectors);
                    bits.insert(bs, be, ());
                }
            }
        } else if w.bitmap != BitmapMode::Written {
            return Err(invalid(&wpath, "`bitmap` applies to dynamic and differencing disks only"));
        }
    }
    if let Some(g) = geom {
        for (i, a) in img.allocate.iter().enumerate() {
            if a.bitmap == AllocBitmap::Full {
                let s = a.block.saturating_mul(g.sectors_per_block);
                let e = s.saturating_add(g.sectors_per_block).min(sectors);
                if s >= e {
                    return Err(invalid(
                        &format!("{path}.allocate[{i}]"),
                        "a `full` bitmap needs a block inside the disk",
                    ));
                }
                bits.insert(s, e, ());
            }
        }
    } else if !img.allocate.is_empty() {
        return Err(invalid(&format!("{path}.allocate"), "fixed disks have no blocks"));
    }
    Ok(ImageModel { kind: img.kind, size, stored, bits })
}

/// What a level's parent contributes to its header.
struct ParentInfo {
    unique_id: [u8; 16],
    timestamp: u32,
    file: String,
}

/// Lays out every image of `s` (main image first in the result), validating the scenario's
/// image fields on the way.
///
/// # Errors
/// [`GenError::Invalid`] naming the field (`image.parent.layout.bat_offset`) and the problem.
pub fn plan_chain(s: &Scenario, seed: u64) -> Result<Vec<ImagePlan>, GenError> {
    let chain = chain_of(s);
    if chain.len() > 16 {
        return Err(invalid("image", "a chain has at most 16 images"));
    }
    let mut names = Vec::new();
    for (level, img) in chain.iter().enumerate() {
        let path = field_path(level);
        let name = img.file.clone().unwrap_or_else(|| default_file_name(level));
        if !plain_file_name(&name) {
            return Err(invalid(&format!("{path}.file"), format!("{name:?} is not a plain file name")));
        }
        if names.contains(&name) {
            return Err(invalid(&format!("{path}.file"), format!("file name {name:?} is used twice in the chain")));
        }
        names.push(name);
        match (img.kind, img.parent.is_some()) {
            (Kind::Differencing, false) => return Err(invalid(&path, "a differencing disk needs a `parent`")),
            (Kind::Fixed | Kind::Dynamic, true) => {
                return Err(invalid(&format!("{path}.parent"), "only a differencing disk has a parent"))
            }
            _ => {}
        }
    }
    let mut plans: Vec<ImagePlan> = Vec::with_capacity(chain.len());
    for level in (0..chain.len()).rev() {
        let img = chain.get(level).copied().ok_or_else(|| invalid("image", "chain level out of range"))?;
        let parent = plans.last().filter(|_| img.kind == Kind::Differencing).map(|p| ParentInfo {
            unique_id: p.footer.unique_id,
            timestamp: p.footer.timestamp,
            file: p.file.clone(),
        });
        let name = names.get(level).cloned().unwrap_or_default();
        let parent_ts = plans.last().map(|p| p.footer.timestamp);
        plans.push(plan_image(img, level, name, seed, parent.as_ref(), parent_ts)?);
    }
    plans.reverse();
    Ok(plans)
}

/// An upper bound of what laying out and writing a scenario costs, computed from the scenario
/// alone in time linear in its writes, allocations and mutations (no planning, no allocation
/// proportional to a disk size): a harness refuses a scenario whose cost passes its limits
/// before [`plan_chain`] runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScenarioCost {
    /// Images in the chain.
    pub images: u64,
    /// BAT entries of every sparse image (the planner holds one `u32` per entry).
    pub bat_entries: u64,
    /// Blocks the writes and allocations of every sparse image touch (counted per write, so a
    /// block two writes touch counts twice).
    pub blocks: u64,
    /// Bytes of data and sector bitmaps the writer writes at most: the writes' lengths (clipped
    /// to their disks), a bitmap per touched block, the BAT, and the bytes mutations fill or
    /// append.
    pub write_bytes: u64,
    /// The largest current size in the chain, in bytes.
    pub max_disk: u64,
}

impl ScenarioCost {
    /// Every field zero (a start for limits built in a `const`).
    pub const ZERO: ScenarioCost = ScenarioCost { images: 0, bat_entries: 0, blocks: 0, write_bytes: 0, max_disk: 0 };

    /// Whether no field of `self` passes the same field of `limit`.
    pub fn within(&self, limit: &ScenarioCost) -> bool {
        self.images <= limit.images
            && self.bat_entries <= limit.bat_entries
            && self.blocks <= limit.blocks
            && self.write_bytes <= limit.write_bytes
            && self.max_disk <= limit.max_disk
    }
}

/// The [`ScenarioCost`] of `s`. Invalid fields (a write past the disk, a bad block size) are
/// counted as the planner would clip or default them; [`plan_chain`] still reports them.
pub fn scenario_cost(s: &Scenario) -> ScenarioCost {
    let mut c = ScenarioCost::default();
    for img in chain_of(s) {
        c.images += 1;
        let size = img.size.0;
        c.max_disk = c.max_disk.max(size);
        let sectors = size.div_ceil(512);
        let sparse = img.kind.is_sparse();
        let block = img.block_size.map_or(DEFAULT_BLOCK_SIZE, |b| b.0).clamp(512, 1 << 31);
        let spb = (block / 512).max(1);
        let bitmap = round_up(spb.div_ceil(8), 512).unwrap_or(u64::MAX);
        if sparse {
            let entries = img.header.max_table_entries.map_or_else(|| size.div_ceil(block), u64::from);
            c.bat_entries = c.bat_entries.saturating_add(entries);
            c.write_bytes = c.write_bytes.saturating_add(entries.saturating_mul(4));
        }
        for w in &img.writes {
            let start = w.sector.or(w.offset.map(|o| o.0 / 512)).unwrap_or(0).min(sectors);
            let count = w.count.or(w.length.map(|l| l.0.div_ceil(512))).unwrap_or(sectors - start);
            let end = start.saturating_add(count).min(sectors);
            c.write_bytes = c.write_bytes.saturating_add((end - start).saturating_mul(512));
            if sparse && end > start {
                let n = (end - 1) / spb - start / spb + 1;
                c.blocks = c.blocks.saturating_add(n);
                c.write_bytes = c.write_bytes.saturating_add(n.saturating_mul(bitmap));
            }
        }
        if sparse {
            let n = img.allocate.len() as u64;
            c.blocks = c.blocks.saturating_add(n);
            c.write_bytes = c.write_bytes.saturating_add(n.saturating_mul(bitmap));
        }
    }
    for m in &s.mutations {
        let n = match &m.op {
            crate::scenario::Op::FillBytes { length, .. } | crate::scenario::Op::Append { length, .. } => length.0,
            _ => 0,
        };
        c.write_bytes = c.write_bytes.saturating_add(n);
    }
    c
}

/// `image`, `image.parent`, `image.parent.parent`, ...
pub fn field_path(level: usize) -> String {
    let mut p = "image".to_string();
    for _ in 0..level {
        p.push_str(".parent");
    }
    p
}

fn plan_image(
    img: &Image,
    level: usize,
    file: String,
    seed: u64,
    parent: Option<&ParentInfo>,
    parent_ts: Option<u32>,
) -> Result<ImagePlan, GenError> {
    let path = field_path(level);
    let size = img.size.0;
    if size > vhd_validator::format::footer::MAX_CURRENT_SIZE {
        return Err(invalid(&format!("{path}.size"), format!("{size} bytes exceeds 2040 GiB")));
    }
    let lay = &img.layout;
    let sparse = img.kind.is_sparse();
    let geom = if sparse {
        let bs = img.block_size.map_or(DEFAULT_BLOCK_SIZE, |b| b.0);
        if !(512..=1 << 31).contains(&bs) || !bs.is_power_of_two() {
            return Err(invalid(
                &format!("{path}.block_size"),
                format!("{bs} is not a power of two from 512 B to 2 GiB"),
            ));
        }
        Some(BlockGeometry::new(bs as u32).ok_or_else(|| invalid(&format!("{path}.block_size"), "bad block size"))?)
    } else {
        if img.block_size.is_some() {
            return Err(invalid(&format!("{path}.block_size"), "fixed disks have no blocks"));
        }
        let sparse_only = [
            ("header_offset", lay.header_offset.is_some()),
            ("bat_offset", lay.bat_offset.is_some()),
            ("bat_padding", lay.bat_padding.is_some()),
            ("locators_before_bat", lay.locators_before_bat),
            ("block_order", lay.block_order != BlockOrder::Ascending),
            ("block_offsets", !lay.block_offsets.is_empty()),
            ("gap_after_metadata", lay.gap_after_metadata.is_some()),
            ("gap_between_blocks", lay.gap_between_blocks.is_some()),
            ("data_alignment", lay.data_alignment.is_some()),
            ("bitmap_padding", lay.bitmap_padding.is_some()),
        ];
        if let Some((f, _)) = sparse_only.iter().find(|(_, set)| *set) {
            return Err(invalid(&format!("{path}.layout.{f}"), "applies to dynamic and differencing disks only"));
        }
        if img.header != Default::default() {
            return Err(invalid(&format!("{path}.header"), "fixed disks have no dynamic disk header"));
        }
        if img.locators.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(invalid(&format!("{path}.locators"), "fixed disks have no parent locators"));
        }
        None
    };
    let model = build_model(img, seed, level, geom, &path)?;

    // Footer.
    let header_offset = lay.header_offset.map_or(512, |o| o.0);
    let data_offset = if sparse { header_offset } else { u64::MAX };
    let kind = match img.kind {
        Kind::Fixed => DiskType::Fixed,
        Kind::Dynamic => DiskType::Dynamic,
        Kind::Differencing => DiskType::Differencing,
    };
    let fs = &img.footer;
    let mut footer = HardDiskFooter::new(kind, size, data_offset);
    footer.creator_application = fs.creator_application.map_or(DEFAULT_CREATOR, |c| c.0);
    footer.creator_version = fs.creator_version.unwrap_or(DEFAULT_CREATOR_VERSION);
    footer.creator_host_os = fs.creator_host_os.map_or(HOST_OS_WINDOWS, |c| c.value());
    footer.timestamp = fs.timestamp.unwrap_or_else(|| derived_timestamp(seed, level, parent_ts));
    footer.unique_id = fs.unique_id.map_or_else(|| derived_unique_id(seed, level), |u| u.0);
    footer.original_size = fs.original_size.map_or(size, |o| o.0);
    footer.geometry = fs.geometry.map_or_else(
        || Geometry::for_current_size(size),
        |g| Geometry { cylinders: g.cylinders, heads: g.heads, sectors_per_track: g.sectors_per_track },
    );
    footer.features = fs.features.unwrap_or(vhd_validator::format::footer::FEATURE_RESERVED);
    footer.saved_state = fs.saved_state.unwrap_or(0);
    footer.seal();

    let padding = lay.padding_before_footer.map_or(0, |p| p.0);
    let Some(g) = geom else {
        let footer_offset = size.checked_add(padding).ok_or_else(|| invalid(&path, "file size overflows"))?;
        return image_plan(level, file, footer, lay.short_footer, footer_offset, model, &path);
    };

    // Sparse layout.
    if header_offset < 512 {
        return Err(invalid(
            &format!("{path}.layout.header_offset"),
            "the header cannot overlap the footer copy at 0..512",
        ));
    }
    let needed = g.blocks_for(size);
    let entries = match img.header.max_table_entries {
        Some(e) => e,
        None => u32::try_from(needed).map_err(|_| invalid(&format!("{path}.size"), "too many blocks for the BAT"))?,
    };
    if entries > MAX_TABLE_ENTRIES {
        return Err(invalid(
            &format!("{path}.header.max_table_entries"),
            format!("{entries} entries: the generator lays out at most {MAX_TABLE_ENTRIES} (larger values: the set-header-field mutation)"),
        ));
    }
    // The allocated blocks, each once: a set, so that a write over a million blocks costs a
    // million insertions, not a million searches of a growing list.
    let mut allocated_set: BTreeSet<u64> = BTreeSet::new();
    let touched = model
        .stored
        .ranges()
        .iter()
        .map(|&(s, e, _)| (s, e))
        .chain(model.bits.ranges().iter().map(|&(s, e, ())| (s, e)));
    for (s, e) in touched {
        let (first, last) = (s / g.sectors_per_block, (e - 1) / g.sectors_per_block);
        if last >= u64::from(entries) {
            return Err(invalid(
                &format!("{path}.writes"),
                format!("block {last} is past the BAT's {entries} entries"),
            ));
        }
        allocated_set.extend(first..=last);
    }
    allocated_set.extend(img.allocate.iter().map(|a| a.block));
    if let Some(&b) = allocated_set.iter().next_back().filter(|&&b| b >= u64::from(entries)) {
        return Err(invalid(&format!("{path}.writes"), format!("block {b} is past the BAT's {entries} entries")));
    }
    let allocated: Vec<u64> = allocated_set.iter().copied().collect();
    let mut space = Space::new();
    space.reserve(0, 512);
    space.reserve(header_offset, 1024);
    space.cursor = round_up(header_offset.saturating_add(1024), 512).unwrap_or(u64::MAX);
    let bat_bytes = padded_bat_bytes(entries);
    if let Some(o) = lay.bat_offset {
        space.reserve(o.0, bat_bytes);
    }
    // Locators.
    let parent_file = parent.map_or_else(|| "parent.vhd".to_string(), |p| p.file.clone());
    let default_locators = [
        LocatorSpec {
            code: LocatorCode::W2ku,
            path: None,
            payload_hex: None,
            space: None,
            space_units: SpaceUnits::Sectors,
            length: None,
            offset: None,
            slot: None,
        },
        LocatorSpec {
            code: LocatorCode::W2ru,
            path: None,
            payload_hex: None,
            space: None,
            space_units: SpaceUnits::Sectors,
            length: None,
            offset: None,
            slot: None,
        },
    ];
    let specs: &[LocatorSpec] = match &img.locators {
        Some(l) => l,
        None if img.kind == Kind::Differencing => &default_locators,
        None => &[],
    };
    if specs.len() > 8 {
        return Err(invalid(&format!("{path}.locators"), "at most 8 parent locators"));
    }
    let mut used_slots = [false; 8];
    for l in specs {
        if let Some(s) = l.slot {
            let slot = usize::from(s);
            if slot >= 8 || used_slots.get(slot).copied().unwrap_or(true) {
                return Err(invalid(
                    &format!("{path}.locators"),
                    format!("slot {s} is out of range 0..8 or used twice"),
                ));
            }
            if let Some(u) = used_slots.get_mut(slot) {
                *u = true;
            }
        }
    }
    let mut locs: Vec<(LocatorPlan, bool)> = Vec::new(); // (plan, auto-placed)
    for (i, l) in specs.iter().enumerate() {
        let lpath = format!("{path}.locators[{i}]");
        let slot = match l.slot {
            Some(s) => usize::from(s),
            None => {
                let free = used_slots.iter().position(|u| !u).ok_or_else(|| invalid(&lpath, "no free slot"))?;
                if let Some(u) = used_slots.get_mut(free) {
                    *u = true;
                }
                free
            }
        };
        let bare = l.code == LocatorCode::None
            && l.path.is_none()
            && l.payload_hex.is_none()
            && l.space.is_none()
            && l.length.is_none()
            && l.offset.is_none();
        if bare {
            continue;
        }
        let payload = match (&l.payload_hex, &l.path) {
            (Some(h), _) => h.0.clone(),
            (None, Some(p)) => encode_payload(l.code, p),
            (None, None) => encode_payload(l.code, &derived_path(l.code, &parent_file)),
        };
        let plen = payload.len() as u64;
        let (span, space_field) = match (l.space, l.space_units) {
            (Some(s), SpaceUnits::Sectors) => {
                if s.0 % 512 != 0 {
                    return Err(invalid(&lpath, "a space recorded in sectors must be a multiple of 512 bytes"));
                }
                (s.0, s.0 / 512)
            }
            (Some(s), SpaceUnits::Bytes) => (s.0, s.0),
            // Default: the payload rounded up to whole sectors (at least one), recorded in the
            // unit asked for.
            (None, SpaceUnits::Sectors) => {
                let v = round_up(plen.max(1), 512).unwrap_or(u64::MAX);
                (v, v / 512)
            }
            (None, SpaceUnits::Bytes) => {
                let v = round_up(plen.max(1), 512).unwrap_or(u64::MAX);
                (v, v)
            }
        };
        if span < plen {
            return Err(invalid(&lpath, format!("space {span} is smaller than the {plen}-byte payload")));
        }
        let entry = ParentLocatorEntry {
            platform_code: l.code.raw(),
            platform_data_space: u32::try_from(space_field)
                .map_err(|_| invalid(&lpath, "space does not fit 32 bits"))?,
            platform_data_length: l
                .length
                .unwrap_or(u32::try_from(plen).map_err(|_| invalid(&lpath, "payload too long"))?),
            reserved: 0,
            platform_data_offset: l.offset.map_or(0, |o| o.0),
        };
        if let Some(o) = l.offset {
            space.reserve(o.0, span);
        }
        locs.push((LocatorPlan { slot, entry, payload, span }, l.offset.is_none()));
    }
    for bo in &lay.block_offsets {
        if !allocated_set.contains(&bo.block) {
            return Err(invalid(
                &format!("{path}.layout.block_offsets"),
                format!("block {} is not allocated", bo.block),
            ));
        }
        if bo.offset.0 % 512 != 0 {
            return Err(invalid(&format!("{path}.layout.block_offsets"), "block offsets must be multiples of 512"));
        }
        space.reserve(bo.offset.0, g.span_bytes());
    }
    let place_bat = |space: &mut Space| -> Result<u64, GenError> {
        match lay.bat_offset {
            Some(o) => Ok(o.0),
            None => space.place(bat_bytes, 512, 0).ok_or_else(|| invalid(&path, "cannot place the BAT")),
        }
    };
    let place_locs = |space: &mut Space, locs: &mut Vec<(LocatorPlan, bool)>| -> Result<(), GenError> {
        for (lp, auto) in locs.iter_mut() {
            if *auto {
                lp.entry.platform_data_offset =
                    space.place(lp.span, 512, 0).ok_or_else(|| invalid(&path, "cannot place locator data"))?;
            }
        }
        Ok(())
    };
    let bat_offset = if lay.locators_before_bat {
        place_locs(&mut space, &mut locs)?;
        place_bat(&mut space)?
    } else {
        let b = place_bat(&mut space)?;
        place_locs(&mut space, &mut locs)?;
        b
    };
    // Blocks.
    let gap_after = lay.gap_after_metadata.map_or(0, |v| v.0);
    let gap_between = lay.gap_between_blocks.map_or(0, |v| v.0);
    let align = lay.data_alignment.map_or(512, |v| v.0);
    if !gap_after.is_multiple_of(512) || !gap_between.is_multiple_of(512) {
        return Err(invalid(&format!("{path}.layout"), "gaps must be multiples of 512 bytes"));
    }
    if align < 512 || !align.is_power_of_two() {
        return Err(invalid(&format!("{path}.layout.data_alignment"), "must be a power of two of at least 512"));
    }
    space.cursor = space.cursor.saturating_add(gap_after);
    let mut order: Vec<u64> = match &lay.block_order {
        BlockOrder::Ascending => allocated.clone(),
        BlockOrder::Descending => allocated.iter().rev().copied().collect(),
        BlockOrder::Shuffle => {
            let mut v = allocated.clone();
            v.shuffle(&mut pattern::rng(seed, Purpose::Shuffle, level as u64));
            v
        }
        BlockOrder::Explicit(list) => {
            let mut v = Vec::new();
            let mut listed = BTreeSet::new();
            for b in list {
                if !allocated_set.contains(b) || !listed.insert(*b) {
                    return Err(invalid(
                        &format!("{path}.layout.block_order"),
                        format!("block {b} is not allocated or is listed twice"),
                    ));
                }
                v.push(*b);
            }
            v.extend(allocated.iter().filter(|b| !listed.contains(b)));
            v
        }
    };
    let pinned: BTreeSet<u64> = lay.block_offsets.iter().map(|bo| bo.block).collect();
    order.retain(|b| !pinned.contains(b));
    let mut blocks = BTreeMap::new();
    for bo in &lay.block_offsets {
        blocks.insert(bo.block, bo.offset.0);
    }
    for b in order {
        let pos = space
            .place(g.span_bytes(), align, g.bitmap_bytes() % align)
            .ok_or_else(|| invalid(&path, "cannot place blocks"))?;
        space.cursor = space.cursor.saturating_add(gap_between);
        blocks.insert(b, pos);
    }
    let mut bat = vec![UNALLOCATED; entries as usize];
    for (&b, &off) in &blocks {
        let sector = u32::try_from(off / 512)
            .map_err(|_| invalid(&path, format!("block {b} lies beyond what 32-bit BAT entries address")))?;
        if let Some(e) = bat.get_mut(b as usize) {
            *e = sector;
        }
    }
    let end = space.end().max(1536);
    let footer_offset = end.checked_add(padding).ok_or_else(|| invalid(&path, "file size overflows"))?;

    // Header.
    let mut header = DynamicDiskHeader::new(bat_offset, entries, g.block_size as u32);
    let hs = &img.header;
    if let Some(p) = parent {
        header.parent_unique_id = p.unique_id;
        header.parent_timestamp = p.timestamp;
        header.set_parent_name(&p.file);
    }
    if let Some(u) = hs.parent_unique_id {
        header.parent_unique_id = u.0;
    }
    if let Some(t) = hs.parent_timestamp {
        header.parent_timestamp = t;
    }
    if let Some(n) = &hs.parent_name {
        header.set_parent_name(n);
    }
    if let Some(h) = &hs.parent_name_hex {
        if h.0.len() > 512 {
            return Err(invalid(&format!("{path}.header.parent_name_hex"), "longer than 512 bytes"));
        }
        header.parent_unicode_name = [0; 512];
        if let Some(dst) = header.parent_unicode_name.get_mut(..h.0.len()) {
            dst.copy_from_slice(&h.0);
        }
    }
    for (lp, _) in &locs {
        if let Some(e) = header.parent_locators.get_mut(lp.slot) {
            *e = lp.entry;
        }
    }
    header.seal();
    let mut plan = image_plan(level, file, footer, lay.short_footer, footer_offset, model, &path)?;
    plan.sparse = Some(SparsePlan {
        header_offset,
        header,
        bat_offset,
        bat,
        bat_padding: lay.bat_padding.unwrap_or(0xFF),
        geom: g,
        blocks,
        bitmap_padding: lay.bitmap_padding.unwrap_or(0),
        locators: locs.into_iter().map(|(l, _)| l).collect(),
    });
    Ok(plan)
}

/// The plan of an image without a dynamic disk header (a sparse image's caller adds its
/// [`SparsePlan`]), with the file length: the trailing footer's offset plus its length, refused
/// when it passes 2^64 bytes (a scenario can place the footer anywhere).
fn image_plan(
    level: usize,
    file: String,
    footer: HardDiskFooter,
    short_footer: bool,
    footer_offset: u64,
    model: ImageModel,
    path: &str,
) -> Result<ImagePlan, GenError> {
    let mut plan = ImagePlan { level, file, footer, short_footer, footer_offset, file_len: 0, sparse: None, model };
    plan.file_len = footer_offset
        .checked_add(plan.footer_len())
        .ok_or_else(|| invalid(&format!("{path}.layout"), "the trailing footer would end past 2^64 bytes"))?;
    Ok(plan)
}

/// Writes `bytes` at `offset`, skipping all-zero 4 KiB runs (they stay holes); each run of
/// other 4 KiB pieces is one positioned write.
fn write_sparse(f: &mut File, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut run = None; // start of the current run of pieces with data
    let mut pos = 0usize;
    for chunk in bytes.chunks(4096) {
        if chunk.iter().any(|&b| b != 0) {
            run.get_or_insert(pos);
        } else if let Some(start) = run.take() {
            f.write_all_at(bytes.get(start..pos).unwrap_or_default(), offset + start as u64)?;
        }
        pos += chunk.len();
    }
    if let Some(start) = run {
        f.write_all_at(bytes.get(start..).unwrap_or_default(), offset + start as u64)?;
    }
    Ok(())
}

/// One chunk of pattern data to write: `sectors` sectors of `fill` from sector `lba`, of which
/// the first `len` bytes go to byte `at` of the file (a data area may end inside the chunk).
#[derive(Clone, Copy, Debug)]
struct Piece {
    lba: u64,
    sectors: u64,
    fill: Fill,
    at: u64,
    len: usize,
}

/// What a write pass puts into the file, in the order it is written: bytes (structures,
/// bitmaps) or a chunk of pattern data, generated just before it is written.
enum Item {
    Bytes(u64, Vec<u8>),
    Data(Piece),
}

/// Sectors of pattern data generated, written and hashed at a time (1 MiB).
const CHUNK_SECTORS: u64 = 2048;

/// The chunks of the pattern data of `stored` ranges inside `[lo, hi)` (sectors), at
/// `base + (lba - lo) * 512`, never past `limit` bytes of data; zero patterns stay holes.
fn pieces(stored: &RangeMap<Fill>, lo: u64, hi: u64, base: u64, limit: u64) -> impl Iterator<Item = Piece> {
    let ranges = stored.clipped(lo, hi).ranges().to_vec();
    ranges.into_iter().filter(|r| !r.2.is_zero()).flat_map(move |(s, e, fill)| {
        std::iter::successors(Some(s), move |&l| Some(l.saturating_add(CHUNK_SECTORS)).filter(|&n| n < e)).filter_map(
            move |lba| {
                let rel = (lba - lo) * 512;
                let sectors = (e - lba).min(CHUNK_SECTORS);
                let len = limit.saturating_sub(rel).min(sectors * 512) as usize;
                (len > 0).then_some(Piece { lba, sectors, fill, at: base + rel, len })
            },
        )
    })
}

/// SHA-256 of a file computed from its writes, valid when they came in increasing,
/// non-overlapping order into a file that was empty (holes are zeros): then nothing has to
/// be read back.
struct FileHasher {
    h: Sha256,
    pos: u64,
    in_order: bool,
}

impl FileHasher {
    fn feed(&mut self, at: u64, bytes: &[u8]) {
        if at < self.pos || !self.in_order {
            self.in_order = false;
            return;
        }
        hash_zeros(&mut self.h, at - self.pos);
        self.h.update(bytes);
        self.pos = at.saturating_add(bytes.len() as u64);
    }

    /// The state after the file's `len` bytes, `None` when the writes were out of order.
    fn finish(mut self, len: u64) -> Option<Sha256> {
        (self.in_order && self.pos <= len).then(|| {
            hash_zeros(&mut self.h, len - self.pos);
            self.h
        })
    }
}

/// Writes `items` into `f`, each pattern chunk generated once and fed to the hashers
/// (`disk`: the virtual disk in disk order; `file`: the file in file order). With more than
/// one rayon worker (`--jobs`), the hashing runs on a second thread while the next chunks
/// are generated and written (at most [`IN_FLIGHT`] chunks of 1 MiB).
fn write_items(
    f: &mut File,
    items: impl Iterator<Item = Item>,
    mut disk: Option<&mut ModelHasher<'_>>,
    file: &mut Option<FileHasher>,
) -> std::io::Result<()> {
    let hashing = disk.is_some() || file.is_some();
    let mut hash = move |item: &Item, buf: &[u8]| match item {
        Item::Bytes(at, bytes) => {
            if let Some(h) = file.as_mut() {
                h.feed(*at, bytes);
            }
        }
        Item::Data(p) => {
            if let Some(h) = disk.as_deref_mut() {
                h.feed(p.lba, p.fill, buf);
            }
            if let Some(h) = file.as_mut() {
                h.feed(p.at, buf.get(..p.len).unwrap_or_default());
            }
        }
    };
    let mut write = |item: &Item, buf: &mut Vec<u8>| match item {
        Item::Bytes(at, bytes) => write_sparse(f, *at, bytes),
        Item::Data(p) => {
            buf.resize((p.sectors * 512) as usize, 0);
            p.fill.fill(p.lba, buf);
            write_sparse(f, p.at, buf.get(..p.len).unwrap_or_default())
        }
    };
    if !hashing || rayon::current_num_threads() < 2 {
        let mut buf = Vec::new();
        for item in items {
            write(&item, &mut buf)?;
            hash(&item, &buf);
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let (to_hash, hash_rx) = std::sync::mpsc::sync_channel::<(Item, Vec<u8>)>(IN_FLIGHT);
        let (free_tx, free) = std::sync::mpsc::channel::<Vec<u8>>();
        scope.spawn(move || {
            for (item, buf) in hash_rx {
                hash(&item, &buf);
                // The writer may have stopped (an I/O error): nothing to hand the buffer to.
                let _ = free_tx.send(buf);
            }
        });
        for item in items {
            let mut buf = free.try_recv().unwrap_or_default();
            write(&item, &mut buf)?;
            if to_hash.send((item, buf)).is_err() {
                break;
            }
        }
        Ok(())
    })
}

/// Chunks of data handed to the hashing thread and not yet hashed, at most.
const IN_FLIGHT: usize = 4;

/// The sector bitmap bytes of `block` from the model's bits.
pub fn bitmap_bytes(plan: &ImagePlan, sp: &SparsePlan, block: u64) -> Vec<u8> {
    let g = sp.geom;
    let mut bm = vec![0u8; g.bitmap_bytes() as usize];
    let used = g.bitmap_used_bytes() as usize;
    if let Some(pad) = bm.get_mut(used..) {
        pad.fill(sp.bitmap_padding);
    }
    if !g.sectors_per_block.is_multiple_of(8) && sp.bitmap_padding != 0 {
        if let Some(last) = bm.get_mut(used.saturating_sub(1)) {
            *last |= sp.bitmap_padding & (0xFFu8 >> (g.sectors_per_block % 8));
        }
    }
    let lo = block * g.sectors_per_block;
    for &(s, e, ()) in plan.model.bits.clipped(lo, lo + g.sectors_per_block).ranges() {
        for i in s..e {
            bitmap::set_bit(&mut bm, i - lo);
        }
    }
    bm
}

/// Writes one planned image to `path` (which must not exist unless `force`).
///
/// # Errors
/// [`GenError::Exists`] or [`GenError::Io`].
pub fn write_image(plan: &ImagePlan, path: &Path, force: bool) -> Result<(), GenError> {
    write_image_hashed(plan, path, force, None, false).map(|_| ())
}

/// [`write_image`] that also feeds `disk` (the virtual disk's hasher, see
/// [`ModelHasher::feed`]) the pattern data it writes and, with `file_hash`, returns the
/// file's SHA-256 state after its `file_len` bytes, computed from the writes (`None` when
/// they were not in file order, e.g. blocks laid out in descending order: the file must
/// then be read back). Each chunk of data is generated once; hashing runs on another rayon
/// worker while the chunk is written.
///
/// # Errors
/// [`GenError::Exists`] or [`GenError::Io`].
pub fn write_image_hashed(
    plan: &ImagePlan,
    path: &Path,
    force: bool,
    disk: Option<&mut ModelHasher<'_>>,
    file_hash: bool,
) -> Result<Option<Sha256>, GenError> {
    let io = |e: std::io::Error| GenError::Io { path: path.to_path_buf(), source: e };
    let mut f = if force {
        File::create(path).map_err(io)?
    } else {
        File::create_new(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                GenError::Exists(path.to_path_buf())
            } else {
                io(e)
            }
        })?
    };
    f.set_len(plan.file_len).map_err(io)?;
    let mut file = file_hash.then(|| FileHasher { h: Sha256::new(), pos: 0, in_order: true });
    let bytes = |f: &mut File, file: &mut Option<FileHasher>, at: u64, b: &[u8]| {
        if let Some(h) = file.as_mut() {
            h.feed(at, b);
        }
        write_sparse(f, at, b).map_err(io)
    };
    let footer = plan.footer.encode();
    let tail = footer.get(..plan.footer_len() as usize).unwrap_or(&footer);
    match &plan.sparse {
        None => {
            let data = pieces(&plan.model.stored, 0, plan.model.sectors(), 0, plan.model.size);
            write_items(&mut f, data.map(Item::Data), disk, &mut file).map_err(io)?;
        }
        Some(sp) => {
            bytes(&mut f, &mut file, 0, &footer)?;
            bytes(&mut f, &mut file, sp.header_offset, &sp.header.encode())?;
            let bat = Bat { entries: sp.bat.clone() }.encode_padded(sp.bat_padding);
            bytes(&mut f, &mut file, sp.bat_offset, &bat)?;
            for l in &sp.locators {
                bytes(&mut f, &mut file, l.entry.platform_data_offset, &l.payload)?;
            }
            let g = sp.geom;
            let blocks = sp.blocks.iter().flat_map(|(&b, &off)| {
                let lo = b * g.sectors_per_block;
                let data =
                    pieces(&plan.model.stored, lo, lo + g.sectors_per_block, off + g.bitmap_bytes(), g.block_size);
                std::iter::once(Item::Bytes(off, bitmap_bytes(plan, sp, b))).chain(data.map(Item::Data))
            });
            write_items(&mut f, blocks, disk, &mut file).map_err(io)?;
        }
    }
    bytes(&mut f, &mut file, plan.footer_offset, tail)?;
    Ok(file.and_then(|h| h.finish(plan.file_len)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A scenario from YAML text (tests of this crate).
    pub(crate) fn scenario(text: &str) -> Scenario {
        crate::yaml::parse_scenario(text, "t.yaml").expect("scenario parses")
    }

    /// The fuzzer's slow input: a dynamic disk of about 1.4 TB with one write that has no count.
    /// Its cost says so before planning, and planning it is linear in its blocks (it took over
    /// 300 s when each block was de-duplicated against a list).
    #[test]
    fn a_write_to_the_end_of_a_huge_disk_costs_what_it_writes() {
        let s = scenario(
            "description: d\nimage:\n  type: dynamic\n  size: 1400000000000\n  writes:\n    - sector: 7\n      pattern: zero\n",
        );
        let c = scenario_cost(&s);
        assert_eq!(c.images, 1);
        assert_eq!(c.max_disk, 1_400_000_000_000);
        let blocks = 1_400_000_000_000u64.div_ceil(2 << 20);
        assert_eq!(c.bat_entries, blocks);
        assert_eq!(c.blocks, blocks);
        assert!(c.write_bytes > 1_399_000_000_000, "{c:?}");
        let small = ScenarioCost {
            images: 6,
            bat_entries: 1 << 16,
            blocks: 1 << 12,
            write_bytes: 64 << 20,
            max_disk: 64 << 20,
        };
        assert!(!c.within(&small));
        let plans = plan_chain(&s, 1).expect("plans");
        assert_eq!(plans[0].sparse.as_ref().map(|sp| sp.blocks.len() as u64), Some(blocks));
    }

    #[test]
    fn cost_counts_every_level_and_mutation() {
        let s = scenario(
            "description: d\nimage:\n  type: differencing\n  size: 4 MiB\n  block_size: 512 KiB\n  writes:\n    - sector: 0\n      count: 2048\n      pattern: zero\n  parent:\n    type: fixed\n    size: 1 MiB\nmutations:\n  - op: {append: {length: 1000}}\n    expect: [FILE-TRAILING-GARBAGE]\n",
        );
        let c = scenario_cost(&s);
        assert_eq!((c.images, c.bat_entries, c.blocks, c.max_disk), (2, 8, 2, 4 << 20));
        assert_eq!(c.write_bytes, 8 * 4 + (1 << 20) + 2 * 512 + 1000);
        assert!(c.within(&c));
    }

    /// Writing with the hashers gives the virtual disk's digest of the content model and the
    /// file's SHA-256 from the writes alone (blocks in file order), on one thread or two; a
    /// layout whose blocks are not in file order gives no file hash (it must be read back).
    #[test]
    fn write_pass_hashes_the_disk_and_the_file_it_writes() {
        let text = |order: &str| {
            format!(
                "description: d\nimage:\n  type: dynamic\n  size: 9 MiB\n  block_size: 1 MiB\n  layout: {{block_order: {order}}}\n  writes:\n    - {{sector: 1, count: 5000, pattern: {{random: 3}}}}\n    - {{sector: 7000, count: 3, pattern: {{fill: 9}}}}\n    - {{sector: 8000, count: 2000, bitmap: none, pattern: {{random: 4}}}}\n    - {{sector: 12000, count: 4000, pattern: {{counter: 5}}}}\n"
            )
        };
        let dir = tempfile::tempdir().unwrap();
        for (threads, order) in [(1, "ascending"), (2, "ascending"), (2, "descending")] {
            let plans = plan_chain(&scenario(&text(order)), 1).expect("plans");
            let p = &plans[0];
            let content = crate::model::content(std::slice::from_ref(&p.model));
            let mut disk = ModelHasher::new(&content, p.model.size);
            let path = dir.path().join(format!("{threads}-{order}.vhd"));
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let file = pool.install(|| write_image_hashed(p, &path, false, Some(&mut disk), true)).expect("written");
            assert_eq!(disk.finish().finalize(), crate::model::hasher(&content, p.model.size).finalize());
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes.len() as u64, p.file_len);
            match order {
                "ascending" => assert_eq!(file.expect("in file order").finalize(), Sha256::digest(&bytes)),
                _ => assert!(file.is_none()),
            }
        }
    }

    /// Placement skips every explicit reservation, overlapping or touching, with alignment.
    #[test]
    fn placement_skips_reservations() {
        let mut sp = Space::new();
        sp.reserve(0, 512);
        sp.reserve(4096, 1024);
        sp.reserve(4608, 4096);
        sp.reserve(9000, 0); // an empty reservation still blocks a range across it
        sp.cursor = 512;
        assert_eq!(sp.place(3584, 512, 0), Some(512));
        assert_eq!(sp.place(512, 512, 0), Some(9216));
        assert_eq!(sp.place(100, 4096, 0), Some(12288));
        assert_eq!(sp.end(), 12388);
    }
}
