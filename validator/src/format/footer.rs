//! The hard disk footer (spec §Hard Disk Footer Format): 512 bytes at the end of every image,
//! copied to offset 0 of dynamic and differencing images. Pre-2004 Virtual PC wrote a 511-byte
//! footer (the last reserved byte is missing).
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | cookie `conectix` |
//! | 8 | 4 | features |
//! | 12 | 4 | file format version |
//! | 16 | 8 | data offset (bytes) |
//! | 24 | 4 | time stamp (seconds since 2000-01-01 UTC) |
//! | 28 | 4 | creator application |
//! | 32 | 4 | creator version |
//! | 36 | 4 | creator host OS |
//! | 40 | 8 | original size (bytes) |
//! | 48 | 8 | current size (bytes) |
//! | 56 | 4 | disk geometry (C u16, H u8, S u8) |
//! | 60 | 4 | disk type |
//! | 64 | 4 | checksum |
//! | 68 | 16 | unique id |
//! | 84 | 1 | saved state |
//! | 85 | 427 | reserved |

use super::checksum::vhd_checksum;
use super::geometry::Geometry;
use byteorder::{BigEndian, ByteOrder};

/// Size of the hard disk footer in bytes.
pub const FOOTER_SIZE: usize = 512;
/// Size of the legacy (pre-Virtual PC 2004) footer in bytes.
pub const SHORT_FOOTER_SIZE: usize = 511;
/// The footer cookie.
pub const COOKIE: [u8; 8] = *b"conectix";
/// blktap's "disabled" cookie.
pub const POISON_COOKIE: [u8; 8] = *b"v_poison";
/// The only defined file format version, 1.0.
pub const VERSION_1_0: u32 = 0x0001_0000;
/// Features bit 0: temporary disk.
pub const FEATURE_TEMPORARY: u32 = 0x1;
/// Features bit 1: reserved, must always be set.
pub const FEATURE_RESERVED: u32 = 0x2;
/// Byte offset of the checksum field.
pub const CHECKSUM_OFFSET: usize = 64;
/// Creator host OS `Wi2k`.
pub const HOST_OS_WINDOWS: u32 = 0x5769_326B;
/// Creator host OS `Mac `.
pub const HOST_OS_MAC: u32 = 0x4D61_6320;

/// Disk type field (footer bytes 60..64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiskType {
    /// 2: the whole disk is stored, followed by the footer.
    Fixed,
    /// 3: sparse disk with a dynamic disk header and a BAT.
    Dynamic,
    /// 4: sparse disk whose unallocated sectors come from a parent image.
    Differencing,
    /// Any other value (0 none, 1/5/6 deprecated, or undefined).
    Other(u32),
}

impl DiskType {
    /// Decodes the raw field.
    pub fn from_raw(v: u32) -> DiskType {
        match v {
            2 => DiskType::Fixed,
            3 => DiskType::Dynamic,
            4 => DiskType::Differencing,
            o => DiskType::Other(o),
        }
    }

    /// The raw field value.
    pub fn raw(self) -> u32 {
        match self {
            DiskType::Fixed => 2,
            DiskType::Dynamic => 3,
            DiskType::Differencing => 4,
            DiskType::Other(o) => o,
        }
    }

    /// Whether the disk has a dynamic disk header and BAT (types 3 and 4).
    pub fn is_sparse(self) -> bool {
        matches!(self, DiskType::Dynamic | DiskType::Differencing)
    }

    /// Lower-case name (`fixed`, `dynamic`, `differencing`, `type-N`).
    pub fn name(self) -> String {
        match self {
            DiskType::Fixed => "fixed".into(),
            DiskType::Dynamic => "dynamic".into(),
            DiskType::Differencing => "differencing".into(),
            DiskType::Other(o) => format!("type-{o}"),
        }
    }
}

/// The decoded hard disk footer: every field as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HardDiskFooter {
    /// Bytes 0..8.
    pub cookie: [u8; 8],
    /// Bytes 8..12.
    pub features: u32,
    /// Bytes 12..16.
    pub file_format_version: u32,
    /// Bytes 16..24: absolute byte offset of the dynamic disk header; all-ones for fixed disks.
    pub data_offset: u64,
    /// Bytes 24..28: seconds since 2000-01-01 00:00:00 UTC.
    pub timestamp: u32,
    /// Bytes 28..32.
    pub creator_application: [u8; 4],
    /// Bytes 32..36 (major in the high 16 bits).
    pub creator_version: u32,
    /// Bytes 36..40.
    pub creator_host_os: u32,
    /// Bytes 40..48: size in bytes at creation (informational).
    pub original_size: u64,
    /// Bytes 48..56: size of the virtual disk in bytes.
    pub current_size: u64,
    /// Bytes 56..60.
    pub geometry: Geometry,
    /// Bytes 60..64, raw.
    pub disk_type: u32,
    /// Bytes 64..68, as stored.
    pub checksum: u32,
    /// Bytes 68..84.
    pub unique_id: [u8; 16],
    /// Byte 84.
    pub saved_state: u8,
    /// Bytes 85..512 (byte 85 is blktap's private "hidden" flag).
    pub reserved: [u8; 427],
}

impl HardDiskFooter {
    /// Decodes 512 bytes. Never fails: fields are returned as stored.
    pub fn decode(b: &[u8; FOOTER_SIZE]) -> HardDiskFooter {
        let mut cookie = [0u8; 8];
        cookie.copy_from_slice(&b[0..8]);
        let mut creator_application = [0u8; 4];
        creator_application.copy_from_slice(&b[28..32]);
        let mut unique_id = [0u8; 16];
        unique_id.copy_from_slice(&b[68..84]);
        let mut reserved = [0u8; 427];
        reserved.copy_from_slice(&b[85..512]);
        HardDiskFooter {
            cookie,
            features: BigEndian::read_u32(&b[8..12]),
            file_format_version: BigEndian::read_u32(&b[12..16]),
            data_offset: BigEndian::read_u64(&b[16..24]),
            timestamp: BigEndian::read_u32(&b[24..28]),
            creator_application,
            creator_version: BigEndian::read_u32(&b[32..36]),
            creator_host_os: BigEndian::read_u32(&b[36..40]),
            original_size: BigEndian::read_u64(&b[40..48]),
            current_size: BigEndian::read_u64(&b[48..56]),
            geometry: Geometry { cylinders: BigEndian::read_u16(&b[56..58]), heads: b[58], sectors_per_track: b[59] },
            disk_type: BigEndian::read_u32(&b[60..64]),
            checksum: BigEndian::read_u32(&b[64..68]),
            unique_id,
            saved_state: b[84],
            reserved,
        }
    }

    /// Decodes a legacy 511-byte footer: byte 511 (the last reserved byte) is taken as zero.
    pub fn decode_short(b: &[u8; SHORT_FOOTER_SIZE]) -> HardDiskFooter {
        let mut full = [0u8; FOOTER_SIZE];
        full[..SHORT_FOOTER_SIZE].copy_from_slice(b);
        HardDiskFooter::decode(&full)
    }

    /// Encodes all fields verbatim, including the stored `checksum`.
    pub fn encode(&self) -> [u8; FOOTER_SIZE] {
        let mut b = [0u8; FOOTER_SIZE];
        b[0..8].copy_from_slice(&self.cookie);
        BigEndian::write_u32(&mut b[8..12], self.features);
        BigEndian::write_u32(&mut b[12..16], self.file_format_version);
        BigEndian::write_u64(&mut b[16..24], self.data_offset);
        BigEndian::write_u32(&mut b[24..28], self.timestamp);
        b[28..32].copy_from_slice(&self.creator_application);
        BigEndian::write_u32(&mut b[32..36], self.creator_version);
        BigEndian::write_u32(&mut b[36..40], self.creator_host_os);
        BigEndian::write_u64(&mut b[40..48], self.original_size);
        BigEndian::write_u64(&mut b[48..56], self.current_size);
        BigEndian::write_u16(&mut b[56..58], self.geometry.cylinders);
        b[58] = self.geometry.heads;
        b[59] = self.geometry.sectors_per_track;
        BigEndian::write_u32(&mut b[60..64], self.disk_type);
        BigEndian::write_u32(&mut b[64..68], self.checksum);
        b[68..84].copy_from_slice(&self.unique_id);
        b[84] = self.saved_state;
        b[85..512].copy_from_slice(&self.reserved);
        b
    }

    /// The checksum the fields call for (ignores the stored `checksum`).
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

    /// Whether the cookie is `conectix`.
    pub fn cookie_valid(&self) -> bool {
        self.cookie == COOKIE
    }

    /// The disk type field, decoded.
    pub fn kind(&self) -> DiskType {
        DiskType::from_raw(self.disk_type)
    }

    /// A footer with the given type and size, spec-algorithm geometry, feature bit 1 set,
    /// version 1.0, creator `vhdc` 1.0 on `Wi2k`, zero time stamp and unique id, sealed.
    /// The generator and tests start from this and change what they need.
    pub fn new(kind: DiskType, current_size: u64, data_offset: u64) -> HardDiskFooter {
        let mut f = HardDiskFooter {
            cookie: COOKIE,
            features: FEATURE_RESERVED,
            file_format_version: VERSION_1_0,
            data_offset,
            timestamp: 0,
            creator_application: *b"vhdc",
            creator_version: 0x0001_0000,
            creator_host_os: HOST_OS_WINDOWS,
            original_size: current_size,
            current_size,
            geometry: Geometry::for_current_size(current_size),
            disk_type: kind.raw(),
            checksum: 0,
            unique_id: [0; 16],
            saved_state: 0,
            reserved: [0; 427],
        };
        f.seal();
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_footer_is_sealed_and_round_trips() {
        let f = HardDiskFooter::new(DiskType::Dynamic, 10 << 20, 512);
        assert!(f.checksum_valid() && f.cookie_valid());
        let bytes = f.encode();
        assert_eq!(&bytes[0..8], b"conectix");
        assert_eq!(HardDiskFooter::decode(&bytes), f);
        let mut short = [0u8; SHORT_FOOTER_SIZE];
        short.copy_from_slice(&bytes[..511]);
        assert_eq!(HardDiskFooter::decode_short(&short), f);
    }
}
