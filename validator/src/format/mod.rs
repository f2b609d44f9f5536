//! On-disk structures of the VHD format (spec v1.0), one module each.
//!
//! Every decoder here is total: it accepts any bytes of the structure's size and returns the
//! fields as stored, never an error; [`layout`] reads one image's structures tolerantly and
//! [`locator`] decodes parent locator payloads. Judging the fields is the job of
//! the checks; this module depends on no other module of the crate but [`crate::io`]. Every
//! encoder writes the fields verbatim (including a stored checksum), so that
//! `decode(encode(x)) == x`; `with_checksum`/`seal` methods compute the correct checksum.

pub mod bat;
pub mod bitmap;
pub mod checksum;
pub mod field;
pub mod footer;
pub mod geometry;
pub mod header;
pub mod layout;
pub mod locator;
pub mod timestamp;

pub use bat::{Bat, BlockGeometry, UNALLOCATED};
pub use bitmap::SectorBitmap;
pub use footer::{DiskType, HardDiskFooter, FOOTER_SIZE, SHORT_FOOTER_SIZE};
pub use geometry::Geometry;
pub use header::{DynamicDiskHeader, HEADER_SIZE};
pub use layout::{FooterSource, Layout, Region};
pub use locator::{ParentLocatorEntry, PlatformCode};

/// The sector size of the VHD format, in bytes.
pub const SECTOR_SIZE: u64 = 512;

/// All-ones 64-bit value: the footer data offset of a fixed disk and the header data offset.
pub const ALL_ONES_OFFSET: u64 = u64::MAX;

/// Rounds `bytes` up to a whole number of sectors, in bytes; `None` on overflow.
pub fn round_up_to_sector(bytes: u64) -> Option<u64> {
    bytes.checked_add(SECTOR_SIZE - 1).map(|v| v / SECTOR_SIZE * SECTOR_SIZE)
}

/// Formats a 16-byte unique id as stored (bytes in file order, lower-case hex, 8-4-4-4-12).
///
/// VHD tools differ in how they display GUIDs; this project always shows the stored byte order.
pub fn format_uuid(id: &[u8; 16]) -> String {
    let hex = crate::hex::encode;
    format!("{}-{}-{}-{}-{}", hex(&id[..4]), hex(&id[4..6]), hex(&id[6..8]), hex(&id[8..10]), hex(&id[10..]))
}

/// Renders up to 4 bytes as a quoted ASCII tag (`"conectix"`, `"win "`), escaping others.
pub fn format_tag(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s.push('"');
    s
}
