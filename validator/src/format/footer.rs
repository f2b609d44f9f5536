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
use super::field::field_table;
use super::geometry::Geometry;
use byteorder::{BigEndian, ByteOrder};

field_table! {
    /// A field of the hard disk footer (the table above); [`Field::name`] is the finding path
    /// component (`footer.current_size`, `footer_copy.current_size`).
    "footer", FOOTER_SIZE;
    /// Bytes 0..8: `conectix`.
    Cookie = (0, 8, "cookie"),
    /// Bytes 8..12.
    Features = (8, 4, "features"),
    /// Bytes 12..16.
    FileFormatVersion = (12, 4, "file_format_version"),
    /// Bytes 16..24: absolute byte offset of the dynamic disk header.
    DataOffset = (16, 8, "data_offset"),
    /// Bytes 24..28: seconds since 2000-01-01 UTC.
    Timestamp = (24, 4, "timestamp"),
    /// Bytes 28..32.
    CreatorApplication = (28, 4, "creator_application"),
    /// Bytes 32..36.
    CreatorVersion = (32, 4, "creator_version"),
    /// Bytes 36..40.
    CreatorHostOs = (36, 4, "creator_host_os"),
    /// Bytes 40..48 (bytes).
    OriginalSize = (40, 8, "original_size"),
    /// Bytes 48..56 (bytes).
    CurrentSize = (48, 8, "current_size"),
    /// Bytes 56..60: cylinders (u16), heads (u8), sectors per track (u8).
    Geometry = (56, 4, "geometry"),
    /// Bytes 60..64.
    DiskType = (60, 4, "disk_type"),
    /// Bytes 64..68.
    Checksum = (64, 4, "checksum"),
    /// Bytes 68..84.
    UniqueId = (68, 16, "unique_id"),
    /// Byte 84.
    SavedState = (84, 1, "saved_state"),
    /// Bytes 85..512 (byte 85 is blktap's private "hidden" flag).
    Reserved = (85, 427, "reserved"),
}

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
/// Byte offset of the checksum field ([`Field::Checksum`]).
pub const CHECKSUM_OFFSET: usize = Field::Checksum.range().start;
/// Largest current size (bytes) that 32-bit BAT sector numbers can address: 0xFF000000 sectors
/// = 2040 GiB (QEMU `VHD_MAX_SECTORS`; VirtualBox `VHD_MAX_SIZE`). Rule FOOTER-SIZE-MAX.
pub const MAX_CURRENT_SIZE: u64 = 0xFF00_0000 * 512;
/// Creator host OS `Wi2k`.
pub const HOST_OS_WINDOWS: u32 = 0x5769_326B;
/// Creator host OS `Mac `.
pub const HOST_OS_MAC: u32 = 0x4D61_6320;

/// Disk type field (footer bytes 60..64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
        use Field as F;
        let mut cookie = [0u8; 8];
        cookie.copy_from_slice(&b[F::Cookie.range()]);
        let mut creator_application = [0u8; 4];
        creator_application.copy_from_slice(&b[F::CreatorApplication.range()]);
        let mut unique_id = [0u8; 16];
        unique_id.copy_from_slice(&b[F::UniqueId.range()]);
        let mut reserved = [0u8; 427];
        reserved.copy_from_slice(&b[F::Reserved.range()]);
        let g = &b[F::Geometry.range()];
        HardDiskFooter {
            cookie,
            features: BigEndian::read_u32(&b[F::Features.range()]),
            file_format_version: BigEndian::read_u32(&b[F::FileFormatVersion.range()]),
            data_offset: BigEndian::read_u64(&b[F::DataOffset.range()]),
            timestamp: BigEndian::read_u32(&b[F::Timestamp.range()]),
            creator_application,
            creator_version: BigEndian::read_u32(&b[F::CreatorVersion.range()]),
            creator_host_os: BigEndian::read_u32(&b[F::CreatorHostOs.range()]),
            original_size: BigEndian::read_u64(&b[F::OriginalSize.range()]),
            current_size: BigEndian::read_u64(&b[F::CurrentSize.range()]),
            geometry: Geometry { cylinders: BigEndian::read_u16(&g[0..2]), heads: g[2], sectors_per_track: g[3] },
            disk_type: BigEndian::read_u32(&b[F::DiskType.range()]),
            checksum: BigEndian::read_u32(&b[F::Checksum.range()]),
            unique_id,
            saved_state: b[F::SavedState.range()][0],
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
        use Field as F;
        let mut b = [0u8; FOOTER_SIZE];
        b[F::Cookie.range()].copy_from_slice(&self.cookie);
        BigEndian::write_u32(&mut b[F::Features.range()], self.features);
        BigEndian::write_u32(&mut b[F::FileFormatVersion.range()], self.file_format_version);
        BigEndian::write_u64(&mut b[F::DataOffset.range()], self.data_offset);
        BigEndian::write_u32(&mut b[F::Timestamp.range()], self.timestamp);
        b[F::CreatorApplication.range()].copy_from_slice(&self.creator_application);
        BigEndian::write_u32(&mut b[F::CreatorVersion.range()], self.creator_version);
        BigEndian::write_u32(&mut b[F::CreatorHostOs.range()], self.creator_host_os);
        BigEndian::write_u64(&mut b[F::OriginalSize.range()], self.original_size);
        BigEndian::write_u64(&mut b[F::CurrentSize.range()], self.current_size);
        let g = &mut b[F::Geometry.range()];
        BigEndian::write_u16(&mut g[0..2], self.geometry.cylinders);
        g[2] = self.geometry.heads;
        g[3] = self.geometry.sectors_per_track;
        BigEndian::write_u32(&mut b[F::DiskType.range()], self.disk_type);
        BigEndian::write_u32(&mut b[F::Checksum.range()], self.checksum);
        b[F::UniqueId.range()].copy_from_slice(&self.unique_id);
        b[F::SavedState.range()][0] = self.saved_state;
        b[F::Reserved.range()].copy_from_slice(&self.reserved);
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
