//! The structures of one image, read tolerantly ([`Layout::parse`]): the trailing footer (512
//! bytes, or 511 for pre-2004 Virtual PC), the footer copy at offset 0, the dynamic disk header
//! at the footer's data offset and the BAT entries that lie inside the file. Parsing never fails
//! and never trusts a size field: everything it allocates is bounded by the file's length.

use super::bat::padded_bat_bytes;
use super::footer::{FOOTER_SIZE, SHORT_FOOTER_SIZE};
use super::header::HEADER_SIZE;
use super::{Bat, BlockGeometry, DiskType, DynamicDiskHeader, HardDiskFooter};
use crate::io::ReadAt;
use serde::Serialize;

/// Where the footer the image is read with came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FooterSource {
    /// The last 512 bytes.
    Tail,
    /// The last 511 bytes (pre-2004 Virtual PC).
    TailShort,
    /// The copy at offset 0 (the trailing footer is unusable).
    HeadCopy,
}

/// A byte range of the file occupied by one structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// First byte.
    pub start: u64,
    /// One past the last byte (saturating).
    pub end: u64,
    /// Structure path, e.g. `header`, `bat`, `header.parent_locator[1]`.
    pub what: String,
}

impl Region {
    /// `[start, start + len)`, saturating at `u64::MAX`.
    pub fn new(start: u64, len: u64, what: impl Into<String>) -> Region {
        Region { start, end: start.saturating_add(len), what: what.into() }
    }

    /// Whether two regions share a byte.
    pub fn overlaps(&self, other: &Region) -> bool {
        self.start < other.end && other.start < self.end && self.start < self.end && other.start < other.end
    }
}

/// The structures of one image, read tolerantly.
#[derive(Clone, Debug)]
pub struct Layout {
    /// File length in bytes.
    pub file_size: u64,
    /// The trailing footer as decoded (even if invalid), with its offset.
    pub tail: Option<(u64, HardDiskFooter)>,
    /// Whether `tail` was read from the last 511 bytes.
    pub tail_short: bool,
    /// Bytes 0..512 decoded, for dynamic and differencing disks (even if invalid).
    pub footer_copy: Option<HardDiskFooter>,
    /// The footer the image is interpreted with, and where it came from.
    pub footer: Option<(FooterSource, HardDiskFooter)>,
    /// The dynamic disk header and its offset, when the footer says sparse and it is in the file.
    pub header: Option<(u64, DynamicDiskHeader)>,
    /// Block geometry, when the header's block size is a non-zero multiple of 512.
    pub block: Option<BlockGeometry>,
    /// The BAT entries that lie inside the file (at most `max_table_entries`).
    pub bat: Bat,
}

fn read_array<const N: usize>(src: &dyn ReadAt, offset: u64) -> Option<[u8; N]> {
    let mut b = [0u8; N];
    src.read_exact_at(offset, &mut b).ok().map(|()| b)
}

/// Reads `len` bytes (a multiple of 4, bounded by the file) of BAT at `offset` and decodes
/// them in pieces of 64 KiB, so that only the entries are held, not the raw bytes as well.
/// `None` when any part cannot be read (as one `read_exact_at` of the whole would fail).
fn read_bat(src: &dyn ReadAt, offset: u64, len: usize) -> Option<Bat> {
    const PIECE: usize = 64 << 10;
    let mut entries = Vec::with_capacity(len / 4);
    let mut buf = vec![0u8; PIECE.min(len)];
    let mut done = 0usize;
    while done < len {
        let n = PIECE.min(len - done);
        let b = buf.get_mut(..n)?;
        src.read_exact_at(offset.checked_add(done as u64)?, b).ok()?;
        entries.extend(b.chunks_exact(4).map(|e| u32::from_be_bytes([e[0], e[1], e[2], e[3]])));
        done += n;
    }
    Some(Bat { entries })
}

fn footer_usable(f: &HardDiskFooter) -> bool {
    f.cookie_valid()
}

impl Layout {
    /// Reads the structures of `src`. Never fails; missing or unreadable structures are `None`.
    pub fn parse(src: &dyn ReadAt) -> Layout {
        let file_size = src.len();
        let mut layout = Layout {
            file_size,
            tail: None,
            tail_short: false,
            footer_copy: None,
            footer: None,
            header: None,
            block: None,
            bat: Bat::default(),
        };
        // Trailing footer: 512 bytes, or 511 when the file size is 511 modulo 512 and the last
        // 511 bytes hold a footer (a fixed disk whose current size is 511 modulo 512 also ends
        // that way, with a full footer).
        let mut short = None;
        if file_size % 512 == 511 {
            let off = file_size - SHORT_FOOTER_SIZE as u64;
            if let Some(b) = read_array::<SHORT_FOOTER_SIZE>(src, off) {
                short = Some((off, HardDiskFooter::decode_short(&b)));
            }
        }
        if short.as_ref().is_some_and(|(_, f)| f.cookie_valid()) {
            layout.tail = short;
            layout.tail_short = true;
        } else if file_size >= FOOTER_SIZE as u64 {
            let off = file_size - FOOTER_SIZE as u64;
            if let Some(b) = read_array::<FOOTER_SIZE>(src, off) {
                layout.tail = Some((off, HardDiskFooter::decode(&b)));
            }
        } else if short.is_some() {
            // A 511-byte file: judge its bytes as a short footer.
            layout.tail = short;
            layout.tail_short = true;
        }
        let copy = read_array::<FOOTER_SIZE>(src, 0).map(|b| HardDiskFooter::decode(&b));
        let tail_ok = layout.tail.as_ref().filter(|(_, f)| footer_usable(f)).map(|(_, f)| f.clone());
        layout.footer = match (tail_ok, &copy) {
            (Some(f), _) => {
                let src = if layout.tail_short { FooterSource::TailShort } else { FooterSource::Tail };
                Some((src, f))
            }
            (None, Some(c)) if footer_usable(c) && c.checksum_valid() && c.kind().is_sparse() => {
                Some((FooterSource::HeadCopy, c.clone()))
            }
            _ => None,
        };
        let Some((_, footer)) = &layout.footer else { return layout };
        if !footer.kind().is_sparse() {
            return layout;
        }
        layout.footer_copy = copy;
        let hoff = footer.data_offset;
        if let Some(b) = read_array::<HEADER_SIZE>(src, hoff) {
            let header = DynamicDiskHeader::decode(&b);
            layout.block = BlockGeometry::new(header.block_size);
            // Only the entries that lie inside the file are read: never trust max_table_entries,
            let want = padded_bat_bytes(header.max_table_entries).min(u64::from(header.max_table_entries) * 4);
            // ... and only up to the trailing footer: its bytes are never BAT entries.
            let avail = layout.footer_start().saturating_sub(header.table_offset);
            let len = want.min(avail) / 4 * 4;
            if let Ok(len) = usize::try_from(len) {
                layout.bat = read_bat(src, header.table_offset, len).unwrap_or_default();
            }
            layout.header = Some((hoff, header));
        }
        layout
    }

    /// The disk type of the interpreting footer.
    pub fn disk_type(&self) -> Option<DiskType> {
        self.footer.as_ref().map(|(_, f)| f.kind())
    }

    /// The interpreting footer.
    pub fn footer(&self) -> Option<&HardDiskFooter> {
        self.footer.as_ref().map(|(_, f)| f)
    }

    /// Virtual disk size in bytes (the footer's current size).
    pub fn virtual_size(&self) -> Option<u64> {
        self.footer().map(|f| f.current_size)
    }

    /// Byte offset where the trailing footer starts (file size less 512 or 511).
    pub fn footer_start(&self) -> u64 {
        match &self.tail {
            Some((off, _)) => *off,
            None => self.file_size.saturating_sub(FOOTER_SIZE as u64),
        }
    }

    /// Metadata regions of a sparse image: footer copy, header, BAT (padded), used parent
    /// locator data (spans per [`crate::format::ParentLocatorEntry::effective_span`]) and the
    /// trailing footer. Blocks must not overlap any of them.
    pub fn metadata_regions(&self) -> Vec<Region> {
        let mut r = vec![Region::new(0, FOOTER_SIZE as u64, "footer_copy")];
        if let Some((hoff, h)) = &self.header {
            r.push(Region::new(*hoff, HEADER_SIZE as u64, "header"));
            r.push(Region::new(h.table_offset, padded_bat_bytes(h.max_table_entries), "bat"));
            if self.disk_type() == Some(DiskType::Differencing) {
                for (i, loc) in h.parent_locators.iter().enumerate() {
                    if loc.platform_code != 0 {
                        r.push(Region::new(
                            loc.platform_data_offset,
                            loc.effective_span(),
                            format!("header.parent_locator[{i}]"),
                        ));
                    }
                }
            }
        }
        let fs = self.footer_start();
        r.push(Region::new(fs, self.file_size - fs.min(self.file_size), "footer"));
        r
    }
}
