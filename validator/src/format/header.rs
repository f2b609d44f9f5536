//! The dynamic disk header (spec §Dynamic Disk Header Format): 1024 bytes at the footer's data
//! offset in dynamic and differencing images.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | cookie `cxsparse` |
//! | 8 | 8 | data offset (unused; all-ones) |
//! | 16 | 8 | table offset (absolute byte offset of the BAT) |
//! | 24 | 4 | header version |
//! | 28 | 4 | max table entries |
//! | 32 | 4 | block size (bytes) |
//! | 36 | 4 | checksum |
//! | 40 | 16 | parent unique id |
//! | 56 | 4 | parent time stamp |
//! | 60 | 4 | reserved |
//! | 64 | 512 | parent unicode name (UTF-16BE) |
//! | 576 | 192 | 8 parent locator entries |
//! | 768 | 256 | reserved |

use super::checksum::vhd_checksum;
use super::field::field_table;
use super::locator::{ParentLocatorEntry, LOCATOR_ENTRY_SIZE};
use byteorder::{BigEndian, ByteOrder};

field_table! {
    /// A field of the dynamic disk header (the table above); [`Field::name`] is the finding path
    /// component (`header.table_offset`). Parent locator entry `i` lies at
    /// [`Field::ParentLocator`]` + 24 i` ([`locator_at`]).
    "header", HEADER_SIZE;
    /// Bytes 0..8: `cxsparse`.
    Cookie = (0, 8, "cookie"),
    /// Bytes 8..16 (unused; all-ones).
    DataOffset = (8, 8, "data_offset"),
    /// Bytes 16..24: absolute byte offset of the BAT.
    TableOffset = (16, 8, "table_offset"),
    /// Bytes 24..28.
    HeaderVersion = (24, 4, "header_version"),
    /// Bytes 28..32.
    MaxTableEntries = (28, 4, "max_table_entries"),
    /// Bytes 32..36 (bytes).
    BlockSize = (32, 4, "block_size"),
    /// Bytes 36..40.
    Checksum = (36, 4, "checksum"),
    /// Bytes 40..56.
    ParentUniqueId = (40, 16, "parent_unique_id"),
    /// Bytes 56..60: seconds since 2000-01-01 UTC.
    ParentTimestamp = (56, 4, "parent_timestamp"),
    /// Bytes 60..64.
    Reserved1 = (60, 4, "reserved1"),
    /// Bytes 64..576: UTF-16BE.
    ParentUnicodeName = (64, 512, "parent_unicode_name"),
    /// Bytes 576..768: the eight parent locator entries.
    ParentLocator = (576, 192, "parent_locator"),
    /// Bytes 768..1024.
    Reserved2 = (768, 256, "reserved2"),
}

impl Field {
    /// The finding path of the field (`header.table_offset`).
    pub fn path(self) -> String {
        format!("header.{}", self.name())
    }

    /// (offset within the header, length, finding path) of the field.
    pub fn spot(self) -> (u64, u64, String) {
        (self.offset(), self.len(), self.path())
    }
}

/// (offset within the header, length, finding path) of parent locator entry `i`
/// (`header.parent_locator[i]`, 24 bytes).
pub fn locator_spot(i: usize) -> (u64, u64, String) {
    (locator_at(i), LOCATOR_ENTRY_SIZE as u64, format!("header.parent_locator[{i}]"))
}

/// Byte offset of parent locator entry `i` within the header (`576 + 24 i`; saturating).
pub const fn locator_at(i: usize) -> u64 {
    Field::ParentLocator.offset().saturating_add((i as u64).saturating_mul(LOCATOR_ENTRY_SIZE as u64))
}

/// Size of the dynamic disk header in bytes.
pub const HEADER_SIZE: usize = 1024;
/// The header cookie.
pub const COOKIE: [u8; 8] = *b"cxsparse";
/// The only defined header version, 1.0.
pub const VERSION_1_0: u32 = 0x0001_0000;
/// Byte offset of the checksum field ([`Field::Checksum`]).
pub const CHECKSUM_OFFSET: usize = Field::Checksum.range().start;
/// Default block size, 2 MiB.
pub const DEFAULT_BLOCK_SIZE: u32 = 0x0020_0000;

/// The decoded dynamic disk header: every field as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicDiskHeader {
    /// Bytes 0..8.
    pub cookie: [u8; 8],
    /// Bytes 8..16.
    pub data_offset: u64,
    /// Bytes 16..24: absolute byte offset of the BAT.
    pub table_offset: u64,
    /// Bytes 24..28.
    pub header_version: u32,
    /// Bytes 28..32: number of BAT entries.
    pub max_table_entries: u32,
    /// Bytes 32..36: bytes of data per block (excluding the sector bitmap).
    pub block_size: u32,
    /// Bytes 36..40, as stored.
    pub checksum: u32,
    /// Bytes 40..56.
    pub parent_unique_id: [u8; 16],
    /// Bytes 56..60: seconds since 2000-01-01 UTC.
    pub parent_timestamp: u32,
    /// Bytes 60..64.
    pub reserved1: u32,
    /// Bytes 64..576: UTF-16 big-endian, raw.
    pub parent_unicode_name: [u8; 512],
    /// Bytes 576..768.
    pub parent_locators: [ParentLocatorEntry; 8],
    /// Bytes 768..1024.
    pub reserved2: [u8; 256],
}

impl DynamicDiskHeader {
    /// Decodes 1024 bytes. Never fails: fields are returned as stored.
    pub fn decode(b: &[u8; HEADER_SIZE]) -> DynamicDiskHeader {
        use Field as F;
        let mut cookie = [0u8; 8];
        cookie.copy_from_slice(&b[F::Cookie.range()]);
        let mut parent_unique_id = [0u8; 16];
        parent_unique_id.copy_from_slice(&b[F::ParentUniqueId.range()]);
        let mut parent_unicode_name = [0u8; 512];
        parent_unicode_name.copy_from_slice(&b[F::ParentUnicodeName.range()]);
        let mut parent_locators = [ParentLocatorEntry::default(); 8];
        for (loc, e) in parent_locators.iter_mut().zip(b[F::ParentLocator.range()].chunks_exact(LOCATOR_ENTRY_SIZE)) {
            let mut entry = [0u8; LOCATOR_ENTRY_SIZE];
            entry.copy_from_slice(e);
            *loc = ParentLocatorEntry::decode(&entry);
        }
        let mut reserved2 = [0u8; 256];
        reserved2.copy_from_slice(&b[F::Reserved2.range()]);
        DynamicDiskHeader {
            cookie,
            data_offset: BigEndian::read_u64(&b[F::DataOffset.range()]),
            table_offset: BigEndian::read_u64(&b[F::TableOffset.range()]),
            header_version: BigEndian::read_u32(&b[F::HeaderVersion.range()]),
            max_table_entries: BigEndian::read_u32(&b[F::MaxTableEntries.range()]),
            block_size: BigEndian::read_u32(&b[F::BlockSize.range()]),
            checksum: BigEndian::read_u32(&b[F::Checksum.range()]),
            parent_unique_id,
            parent_timestamp: BigEndian::read_u32(&b[F::ParentTimestamp.range()]),
            reserved1: BigEndian::read_u32(&b[F::Reserved1.range()]),
            parent_unicode_name,
            parent_locators,
            reserved2,
        }
    }

    /// Encodes all fields verbatim, including the stored `checksum`.
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        use Field as F;
        let mut b = [0u8; HEADER_SIZE];
        b[F::Cookie.range()].copy_from_slice(&self.cookie);
        BigEndian::write_u64(&mut b[F::DataOffset.range()], self.data_offset);
        BigEndian::write_u64(&mut b[F::TableOffset.range()], self.table_offset);
        BigEndian::write_u32(&mut b[F::HeaderVersion.range()], self.header_version);
        BigEndian::write_u32(&mut b[F::MaxTableEntries.range()], self.max_table_entries);
        BigEndian::write_u32(&mut b[F::BlockSize.range()], self.block_size);
        BigEndian::write_u32(&mut b[F::Checksum.range()], self.checksum);
        b[F::ParentUniqueId.range()].copy_from_slice(&self.parent_unique_id);
        BigEndian::write_u32(&mut b[F::ParentTimestamp.range()], self.parent_timestamp);
        BigEndian::write_u32(&mut b[F::Reserved1.range()], self.reserved1);
        b[F::ParentUnicodeName.range()].copy_from_slice(&self.parent_unicode_name);
        for (loc, e) in
            self.parent_locators.iter().zip(b[F::ParentLocator.range()].chunks_exact_mut(LOCATOR_ENTRY_SIZE))
        {
            e.copy_from_slice(&loc.encode());
        }
        b[F::Reserved2.range()].copy_from_slice(&self.reserved2);
        b
    }

    /// The checksum the fields call for.
    pub fn computed_checksum(&self) -> u32 {
        vhd_checksum(&self.encode(), CHECKSUM_OFFSET)
    }

    /// Whether the stored checksum matches the fields.
    pub fn checksum_valid(&self) -> bool {
        self.checksum == self.computed_checksum()
    }

    /// Sets `checksum` to the computed value.
    pub fn seal(&mut self) {
        self.checksum = self.computed_checksum();
    }

    /// Whether the cookie is `cxsparse`.
    pub fn cookie_valid(&self) -> bool {
        self.cookie == COOKIE
    }

    /// The parent unicode name's UTF-16BE code units up to the first NUL (at most 256).
    pub fn parent_name_units(&self) -> Vec<u16> {
        self.parent_unicode_name
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect()
    }

    /// The parent unicode name decoded from UTF-16BE; `None` if it has an unpaired surrogate.
    pub fn parent_name(&self) -> Option<String> {
        String::from_utf16(&self.parent_name_units()).ok()
    }

    /// Stores `name` as the parent unicode name (UTF-16BE, NUL-padded; cut at 256 code units).
    pub fn set_parent_name(&mut self, name: &str) {
        self.parent_unicode_name = [0; 512];
        for (i, u) in name.encode_utf16().take(256).enumerate() {
            self.parent_unicode_name[2 * i..2 * i + 2].copy_from_slice(&u.to_be_bytes());
        }
    }

    /// A header with the BAT at `table_offset`, `max_table_entries` entries and `block_size`
    /// bytes per block, no parent, sealed.
    pub fn new(table_offset: u64, max_table_entries: u32, block_size: u32) -> DynamicDiskHeader {
        let mut h = DynamicDiskHeader {
            cookie: COOKIE,
            data_offset: u64::MAX,
            table_offset,
            header_version: VERSION_1_0,
            max_table_entries,
            block_size,
            checksum: 0,
            parent_unique_id: [0; 16],
            parent_timestamp: 0,
            reserved1: 0,
            parent_unicode_name: [0; 512],
            parent_locators: [ParentLocatorEntry::default(); 8],
            reserved2: [0; 256],
        };
        h.seal();
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_parent_name() {
        let mut h = DynamicDiskHeader::new(1536, 5, DEFAULT_BLOCK_SIZE);
        h.set_parent_name("parent.vhd");
        h.parent_locators[1].platform_code = 0x5732_7275;
        h.seal();
        let b = h.encode();
        assert_eq!(&b[0..8], b"cxsparse");
        assert_eq!(DynamicDiskHeader::decode(&b), h);
        assert!(h.checksum_valid());
        assert_eq!(h.parent_name().as_deref(), Some("parent.vhd"));
    }
}
