//! The VHD checksum (spec §Hard Disk Footer Format: Checksum; §Dynamic Disk Header Format:
//! Checksum): the one's complement of the 32-bit wrapping sum of every byte of the structure,
//! with the 4 bytes of the checksum field itself taken as zero.

/// Computes the checksum of `bytes` with the 4-byte field at `field_offset` (bytes) treated as
/// zero. A field that does not fit inside `bytes` is simply not skipped.
pub fn vhd_checksum(bytes: &[u8], field_offset: usize) -> u32 {
    let field = field_offset..field_offset.saturating_add(4);
    let sum = bytes
        .iter()
        .enumerate()
        .filter(|(i, _)| !field.contains(i))
        .fold(0u32, |acc, (_, &b)| acc.wrapping_add(u32::from(b)));
    !sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_bytes_give_all_ones() {
        assert_eq!(vhd_checksum(&[0u8; 512], 64), 0xFFFF_FFFF);
    }

    #[test]
    fn checksum_field_is_ignored() {
        let mut a = [7u8; 512];
        let c = vhd_checksum(&a, 64);
        a[64..68].copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(vhd_checksum(&a, 64), c);
        assert_eq!(c, !(7u32 * 508));
    }
}
