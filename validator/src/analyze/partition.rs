//! The partition table of a virtual disk (MBR and GPT primary tables) and the cluster size of
//! each partition's file system (NTFS and FAT boot sectors), read through the chain reader.
//!
//! - **MBR**: sector 0 ends with 0x55 0xAA (bytes 510-511); four 16-byte entries from byte 446,
//!   each with the partition type at +4, the first sector (LBA, u32 little-endian) at +8 and the
//!   sector count (u32 LE) at +12. Extended partitions are listed as they are, not followed.
//! - **GPT** (UEFI 2.10 §5.3): an MBR entry of type 0xEE is a protective MBR; sector 1 holds the
//!   GPT header ("EFI PART") with the partition entry array's first sector at byte 72 (u64 LE),
//!   the entry count at 80 (u32) and the entry size at 84 (u32). Each entry: type GUID at 0
//!   (all zero = unused), first and last LBA at 32 and 40 (u64 LE, inclusive), UTF-16LE name at
//!   56 (72 bytes). At most [`MAX_GPT_ENTRIES`] entries of 128..=4096 bytes are read; CRCs are not
//!   checked (a table is only a hint for the alignment report).
//! - **Cluster size**: an NTFS boot sector ("NTFS    " at byte 3) or FAT32 one ("FAT32   " at
//!   82) gives bytes per sector (u16 LE at 11) times sectors per cluster (u8 at 13; NTFS values
//!   above 0x80 mean 2^(256 - v) bytes).

use crate::chain::{ChainReader, ReadError};
use crate::format::SECTOR_SIZE;
use serde::Serialize;

/// Most GPT entries read (the usual array has 128).
pub const MAX_GPT_ENTRIES: u32 = 1024;

/// Partitioning scheme of the virtual disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Scheme {
    /// Master boot record.
    Mbr,
    /// GUID partition table.
    Gpt,
}

/// One partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Partition {
    /// Entry number in its table (from 1).
    pub number: u32,
    /// First sector (LBA).
    pub first_sector: u64,
    /// Length in sectors.
    pub sectors: u64,
    /// Partition type: the MBR type byte as two hex digits, or the GPT type GUID.
    pub kind: String,
    /// GPT partition name (bytes from the image; empty for MBR).
    pub name: String,
    /// Cluster size in bytes: `--cluster-size`, else from the boot sector, else 4096.
    pub cluster_size: u64,
    /// Where the cluster size came from: "option", "ntfs", "fat32" or "default".
    pub cluster_source: &'static str,
}

impl Partition {
    /// One past the last sector.
    pub fn end_sector(&self) -> u64 {
        self.first_sector.saturating_add(self.sectors)
    }
}

fn le16(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 2).map_or(0, |s| u64::from(u16::from_le_bytes([s[0], s[1]])))
}

fn le32(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 4).map_or(0, |s| u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        w.copy_from_slice(s);
    }
    u64::from_le_bytes(w)
}

/// A GUID in its mixed-endian text form (its first three fields stored little-endian).
fn guid(b: &[u8]) -> String {
    let mut g = [0u8; 16];
    g.iter_mut().zip(b).for_each(|(d, s)| *d = *s);
    g[..4].reverse();
    g[4..6].reverse();
    g[6..8].reverse();
    crate::format::format_uuid(&g)
}

/// The file system cluster size in bytes from a partition's boot sector, if it is NTFS or FAT32.
fn boot_cluster(boot: &[u8]) -> Option<(u64, &'static str)> {
    let bps = le16(boot, 11);
    let spc = u64::from(boot.get(13).copied().unwrap_or(0));
    let name = if boot.get(3..11) == Some(b"NTFS    ") {
        "ntfs"
    } else if boot.get(82..90) == Some(b"FAT32   ") {
        "fat32"
    } else {
        return None;
    };
    if !(512..=4096).contains(&bps) || !bps.is_power_of_two() {
        return None;
    }
    let bytes = if name == "ntfs" && spc > 0x80 { 1u64.checked_shl(256 - spc as u32)? } else { bps * spc };
    (bytes >= SECTOR_SIZE && bytes.is_power_of_two() && bytes <= 2 << 20).then_some((bytes, name))
}

/// Reads the partition table of `disk` (`None` when sector 0 carries no MBR signature or no
/// entry is in use) and each partition's cluster size (`cluster_size` when given).
///
/// # Errors
/// [`ReadError::Io`] when the disk cannot be read.
pub fn read_table(
    disk: &ChainReader,
    cluster_size: Option<u64>,
) -> Result<Option<(Scheme, Vec<Partition>)>, ReadError> {
    let mut mbr = [0u8; 512];
    disk.read_at(0, &mut mbr)?;
    if mbr[510..512] != [0x55, 0xAA] {
        return Ok(None);
    }
    let sectors = disk.size() / SECTOR_SIZE;
    let mut parts = Vec::new();
    let mut scheme = Scheme::Mbr;
    for n in 0..4u32 {
        let e = &mbr[446 + 16 * n as usize..462 + 16 * n as usize];
        let (kind, first, count) = (e[4], le32(e, 8), le32(e, 12));
        if kind == 0xEE {
            scheme = Scheme::Gpt;
            break;
        }
        if kind != 0 && count > 0 {
            parts.push(Partition {
                number: n + 1,
                first_sector: first,
                sectors: count,
                kind: format!("{kind:02x}"),
                name: String::new(),
                cluster_size: 0,
                cluster_source: "",
            });
        }
    }
    if scheme == Scheme::Gpt {
        parts.clear();
        let mut hdr = [0u8; 512];
        disk.read_at(SECTOR_SIZE, &mut hdr)?;
        if &hdr[0..8] != b"EFI PART" {
            return Ok(None);
        }
        let (array, count, size) = (le64(&hdr, 72), le32(&hdr, 80), le32(&hdr, 84));
        if (128..=4096).contains(&size) && array < sectors {
            let mut entry = vec![0u8; size as usize];
            for n in 0..count.min(u64::from(MAX_GPT_ENTRIES)) {
                let at = array.saturating_mul(SECTOR_SIZE).saturating_add(n * size);
                disk.read_at(at, &mut entry)?;
                if entry[0..16].iter().all(|&b| b == 0) {
                    continue;
                }
                let (first, last) = (le64(&entry, 32), le64(&entry, 40));
                if last < first {
                    continue;
                }
                let name: Vec<u16> = entry[56..128]
                    .chunks(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .take_while(|&u| u != 0)
                    .collect();
                parts.push(Partition {
                    number: n as u32 + 1,
                    first_sector: first,
                    sectors: (last - first).saturating_add(1),
                    kind: guid(&entry[0..16]),
                    name: String::from_utf16_lossy(&name),
                    cluster_size: 0,
                    cluster_source: "",
                });
            }
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    parts.sort_by_key(|p| p.first_sector);
    let mut boot = [0u8; 512];
    for p in &mut parts {
        (p.cluster_size, p.cluster_source) = match cluster_size {
            Some(c) => (c, "option"),
            None => {
                disk.read_at(p.first_sector.saturating_mul(SECTOR_SIZE), &mut boot)?;
                boot_cluster(&boot).unwrap_or((DEFAULT_CLUSTER, "default"))
            }
        };
    }
    Ok(Some((scheme, parts)))
}

/// Cluster size assumed when neither `--cluster-size` nor a boot sector gives one (bytes).
pub const DEFAULT_CLUSTER: u64 = 4096;

#[cfg(test)]
mod tests {
    #[test]
    fn guids_are_shown_mixed_endian() {
        let esp = [0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B];
        assert_eq!(super::guid(&esp), "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
    }

    #[test]
    fn ntfs_and_fat32_boot_sectors_give_cluster_sizes() {
        let mut b = [0u8; 512];
        b[3..11].copy_from_slice(b"NTFS    ");
        b[11..13].copy_from_slice(&512u16.to_le_bytes());
        b[13] = 8;
        assert_eq!(super::boot_cluster(&b), Some((4096, "ntfs")));
        b[13] = 0xF4; // 2^12
        assert_eq!(super::boot_cluster(&b), Some((4096, "ntfs")));
        b[3..11].fill(0);
        assert_eq!(super::boot_cluster(&b), None);
        b[82..90].copy_from_slice(b"FAT32   ");
        b[13] = 16;
        assert_eq!(super::boot_cluster(&b), Some((8192, "fat32")));
    }
}
