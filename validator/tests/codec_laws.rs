//! quickcheck laws of the fixed-size structures: encode/decode round trips for every field value,
//! sealed structures verify, and the CHS geometry algorithm's properties.

use quickcheck::{quickcheck, Arbitrary, Gen};
use vhd_validator::format::checksum::vhd_checksum;
use vhd_validator::format::locator::ParentLocatorEntry;
use vhd_validator::format::{DynamicDiskHeader, Geometry, HardDiskFooter};

fn bytes<const N: usize>(g: &mut Gen) -> [u8; N] {
    let mut b = [0u8; N];
    for x in b.iter_mut() {
        *x = u8::arbitrary(g);
    }
    b
}

#[derive(Clone, Debug)]
struct AnyFooter(HardDiskFooter);

impl Arbitrary for AnyFooter {
    fn arbitrary(g: &mut Gen) -> Self {
        AnyFooter(HardDiskFooter {
            cookie: bytes(g),
            features: u32::arbitrary(g),
            file_format_version: u32::arbitrary(g),
            data_offset: u64::arbitrary(g),
            timestamp: u32::arbitrary(g),
            creator_application: bytes(g),
            creator_version: u32::arbitrary(g),
            creator_host_os: u32::arbitrary(g),
            original_size: u64::arbitrary(g),
            current_size: u64::arbitrary(g),
            geometry: Geometry {
                cylinders: u16::arbitrary(g),
                heads: u8::arbitrary(g),
                sectors_per_track: u8::arbitrary(g),
            },
            disk_type: u32::arbitrary(g),
            checksum: u32::arbitrary(g),
            unique_id: bytes(g),
            saved_state: u8::arbitrary(g),
            reserved: bytes(g),
        })
    }
}

#[derive(Clone, Debug)]
struct AnyLocator(ParentLocatorEntry);

impl Arbitrary for AnyLocator {
    fn arbitrary(g: &mut Gen) -> Self {
        AnyLocator(ParentLocatorEntry {
            platform_code: u32::arbitrary(g),
            platform_data_space: u32::arbitrary(g),
            platform_data_length: u32::arbitrary(g),
            reserved: u32::arbitrary(g),
            platform_data_offset: u64::arbitrary(g),
        })
    }
}

#[derive(Clone, Debug)]
struct AnyHeader(DynamicDiskHeader);

impl Arbitrary for AnyHeader {
    fn arbitrary(g: &mut Gen) -> Self {
        let mut locs = [ParentLocatorEntry::default(); 8];
        for l in locs.iter_mut() {
            *l = AnyLocator::arbitrary(g).0;
        }
        AnyHeader(DynamicDiskHeader {
            cookie: bytes(g),
            data_offset: u64::arbitrary(g),
            table_offset: u64::arbitrary(g),
            header_version: u32::arbitrary(g),
            max_table_entries: u32::arbitrary(g),
            block_size: u32::arbitrary(g),
            checksum: u32::arbitrary(g),
            parent_unique_id: bytes(g),
            parent_timestamp: u32::arbitrary(g),
            reserved1: u32::arbitrary(g),
            parent_unicode_name: bytes(g),
            parent_locators: locs,
            reserved2: bytes(g),
        })
    }
}

/// Raw bytes of a fixed-size structure, for the decode-then-encode direction.
#[derive(Clone, Debug)]
struct Raw<const N: usize>([u8; N]);

impl<const N: usize> Arbitrary for Raw<N> {
    fn arbitrary(g: &mut Gen) -> Self {
        Raw(bytes(g))
    }
}

quickcheck! {
    fn footer_decode_encode_round_trip(f: AnyFooter) -> bool {
        HardDiskFooter::decode(&f.0.encode()) == f.0
    }

    fn footer_encode_decode_round_trip(raw: Raw<512>) -> bool {
        HardDiskFooter::decode(&raw.0).encode() == raw.0
    }

    fn sealed_footer_verifies(f: AnyFooter) -> bool {
        let mut f = f.0;
        f.seal();
        let bytes = f.encode();
        f.checksum_valid()
            && HardDiskFooter::decode(&bytes).checksum_valid()
            && u32::from_be_bytes([bytes[64], bytes[65], bytes[66], bytes[67]]) == vhd_checksum(&bytes, 64)
    }

    fn footer_checksum_detects_any_single_byte_change(f: AnyFooter, pos: usize, delta: u8) -> bool {
        let mut f = f.0;
        f.seal();
        let mut bytes = f.encode();
        let pos = pos % 512;
        if (64..68).contains(&pos) || delta == 0 {
            return true;
        }
        bytes[pos] = bytes[pos].wrapping_add(delta);
        !HardDiskFooter::decode(&bytes).checksum_valid()
    }

    fn header_decode_encode_round_trip(h: AnyHeader) -> bool {
        DynamicDiskHeader::decode(&h.0.encode()) == h.0
    }

    fn header_encode_decode_round_trip(raw: Raw<1024>) -> bool {
        DynamicDiskHeader::decode(&raw.0).encode() == raw.0
    }

    fn sealed_header_verifies(h: AnyHeader) -> bool {
        let mut h = h.0;
        h.seal();
        DynamicDiskHeader::decode(&h.encode()).checksum_valid()
    }

    fn locator_round_trip(l: AnyLocator) -> bool {
        ParentLocatorEntry::decode(&l.0.encode()) == l.0
    }

    fn geometry_never_exceeds_size_up_to_cap(sectors: u64) -> bool {
        let sectors = sectors % (1u64 << 40);
        let g = Geometry::from_total_sectors(sectors);
        g.total_sectors() <= sectors.min(65535 * 16 * 255) && g.heads <= 16
    }

    fn geometry_loses_less_than_one_cylinder(sectors: u64) -> bool {
        // The spec algorithm rounds down twice (sectors per track, then heads), so below the
        // cap it loses less than one cylinder: heads x sectors per track sectors.
        let sectors = sectors % (65535 * 16 * 255);
        let g = Geometry::from_total_sectors(sectors);
        sectors - g.total_sectors() < u64::from(g.heads) * u64::from(g.sectors_per_track)
    }

    fn geometry_saturates_past_cap(extra: u32) -> bool {
        Geometry::from_total_sectors(65535 * 16 * 255 + u64::from(extra)) == Geometry::MAX
    }
}

/// The CHS product is NOT monotone in the disk size: where the algorithm switches from 17 to 31
/// sectors per track, a larger disk gets a smaller geometry. Readers that size disks from CHS
/// (QEMU for most creators) therefore can show a bigger image as a smaller disk.
#[test]
fn geometry_product_is_not_monotone_at_branch_switch() {
    let below = Geometry::from_total_sectors(69_631);
    let at = Geometry::from_total_sectors(69_632);
    assert_eq!((below.cylinders, below.heads, below.sectors_per_track), (1023, 4, 17));
    assert_eq!((at.cylinders, at.heads, at.sectors_per_track), (140, 16, 31));
    assert!(at.total_sectors() < below.total_sectors());
}
