//! CHS geometry (spec §Hard Disk Footer Format: Disk Geometry, and Appendix: CHS Calculation).

use std::fmt;

/// Cylinders, heads, sectors per track as stored at footer bytes 56..60.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Geometry {
    /// Footer bytes 56..58 (u16 big-endian).
    pub cylinders: u16,
    /// Footer byte 58.
    pub heads: u8,
    /// Footer byte 59.
    pub sectors_per_track: u8,
}

/// The algorithm's cap on total sectors: 65535 x 16 x 255 (about 127.5 GiB).
pub const MAX_CHS_SECTORS: u64 = 65535 * 16 * 255;

impl Geometry {
    /// The largest geometry, 65535/16/255 (QEMU's `force_size` writes it for every size).
    pub const MAX: Geometry = Geometry { cylinders: 65535, heads: 16, sectors_per_track: 255 };

    /// Cylinders x heads x sectors per track, in sectors.
    pub fn total_sectors(self) -> u64 {
        u64::from(self.cylinders) * u64::from(self.heads) * u64::from(self.sectors_per_track)
    }

    /// The geometry packed as blktap compares it: `(C << 16) | (H << 8) | S`.
    pub fn packed(self) -> u32 {
        (u32::from(self.cylinders) << 16) | (u32::from(self.heads) << 8) | u32::from(self.sectors_per_track)
    }

    /// The spec's CHS algorithm for `total_sectors` (sectors, capped at [`MAX_CHS_SECTORS`]).
    /// The product never exceeds the input: the algorithm rounds down.
    pub fn from_total_sectors(total_sectors: u64) -> Geometry {
        let total = total_sectors.min(MAX_CHS_SECTORS);
        let (spt, heads, cth);
        if total >= 65535 * 16 * 63 {
            spt = 255;
            heads = 16;
            cth = total / 255;
        } else {
            let mut s = 17u64;
            let mut c = total / s;
            let mut h = c.div_ceil(1024);
            if h < 4 {
                h = 4;
            }
            if c >= h * 1024 || h > 16 {
                s = 31;
                h = 16;
                c = total / s;
            }
            if c >= h * 1024 {
                s = 63;
                h = 16;
                c = total / s;
            }
            spt = s;
            heads = h;
            cth = c;
        }
        // All three fit their fields: heads <= 16, spt <= 255, cylinders <= 65535 by the cap.
        Geometry {
            cylinders: u16::try_from(cth / heads).unwrap_or(u16::MAX),
            heads: u8::try_from(heads).unwrap_or(u8::MAX),
            sectors_per_track: u8::try_from(spt).unwrap_or(u8::MAX),
        }
    }

    /// The spec algorithm for a current size in bytes, with blktap's rounding:
    /// `max(1, ceil(size / 512))` sectors.
    pub fn for_current_size(current_size: u64) -> Geometry {
        Geometry::from_total_sectors(current_size.div_ceil(512).max(1))
    }
}

impl fmt::Display for Geometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.cylinders, self.heads, self.sectors_per_track)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(c: u16, h: u8, s: u8) -> Geometry {
        Geometry { cylinders: c, heads: h, sectors_per_track: s }
    }

    #[test]
    fn reference_examples() {
        let mib = 1u64 << 20;
        let cases = [
            (10 * mib, g(301, 4, 17)),
            (127 * mib, g(1019, 15, 17)),
            (1024 * mib, g(2080, 16, 63)),
            (mib, g(30, 4, 17)),
            (4096 * mib, g(8322, 16, 63)),
            (20 * 1024 * mib, g(41610, 16, 63)),
            (127 * 1024 * mib, g(65278, 16, 255)),
            (2040 * 1024 * mib, Geometry::MAX),
        ];
        for (size, want) in cases {
            assert_eq!(Geometry::for_current_size(size), want, "size {size}");
        }
        assert_eq!(Geometry::from_total_sectors(0), g(0, 4, 17));
        assert_eq!(g(301, 4, 17).packed(), 0x012D_0411);
    }
}
