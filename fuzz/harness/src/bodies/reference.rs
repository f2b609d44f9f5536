//! A second, deliberately simple model of the read path, for small disks: the virtual disk of a
//! chain computed sector by sector from the raw bytes of its images.
//!
//! It shares no code with the reader ([`vhd_validator::chain::reader`]: no `Layout`, no decoder of
//! [`vhd_validator::format`], no BAT or bitmap helper) nor with the generator's bitmap helpers: every
//! field is read from its spec byte offset here, and each virtual sector is looked up on its
//! own (spec §Hard Disk Footer Format, §Dynamic Disk Header Format, §Block Allocation Table and
//! Data Blocks, §Differencing Hard Disk Image). The fuzz oracles compare it with
//! [`vhd_validator::chain::ChainReader::read_at`], `digest` and `write_raw` (the `cat` command), so a
//! mapping bug in the reader no longer hides behind a metamorphic comparison of the reader with
//! itself.
//!
//! Its scope is narrower than the reader's: [`reference_disk`] answers `None` (no opinion)
//! unless every image it uses has a full 512-byte trailing footer with the `conectix` cookie
//! and a correct checksum, a known disk type, and (sparse disks) a dynamic disk header with the
//! `cxsparse` cookie and a correct checksum at the footer's data offset and a block size that
//! is a non-zero multiple of 512. Within that scope it follows the reader's documented
//! semantics: a fixed disk's bytes at or past the trailing footer read as zero; BAT entries at
//! or past `max table entries` or not wholly before the trailing footer are unallocated;
//! bitmap and data bytes past the end of the file read as zero; a clear bit reads as zero in a
//! dynamic disk and from the parent in a differencing disk (zero past the parent's size).

/// Bytes of a sector (spec: 512).
const SECTOR: u64 = 512;

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

/// One's complement of the byte sum of `b`, the checksum field (`at..at + 4`) counted as zero
/// (spec §Hard Disk Footer Format "Checksum"; the header's is computed the same way).
fn checksum_ok(b: &[u8], at: usize) -> bool {
    let sum = b
        .iter()
        .enumerate()
        .filter(|(i, _)| !(at..at + 4).contains(i))
        .fold(0u32, |acc, (_, &x)| acc.wrapping_add(u32::from(x)));
    be_u32(b, at) == Some(!sum)
}

/// The byte of `file` at `at`, zero past its end.
fn byte(file: &[u8], at: u64) -> u8 {
    usize::try_from(at).ok().and_then(|i| file.get(i)).copied().unwrap_or(0)
}

/// Where the bytes of one virtual sector come from in one image.
enum From {
    /// Stored in this image's file from this byte offset.
    Here(u64),
    /// Zeros.
    Zero,
    /// The parent's bytes at the same offset.
    Parent,
}

/// One image as the model sees it.
enum Image<'a> {
    Fixed { file: &'a [u8], size: u64, data_end: u64 },
    Sparse { file: &'a [u8], size: u64, differencing: bool, bat: u64, entries: u64, block: u64, bitmap: u64 },
}

impl<'a> Image<'a> {
    fn parse(file: &'a [u8]) -> Option<Image<'a>> {
        let len = file.len() as u64;
        if len < SECTOR || len % SECTOR == 511 {
            return None;
        }
        let foot_at = usize::try_from(len - SECTOR).ok()?;
        let footer = file.get(foot_at..)?;
        if footer.get(..8) != Some(b"conectix".as_slice()) || !checksum_ok(footer, 64) {
            return None;
        }
        let size = be_u64(footer, 48)?;
        match be_u32(footer, 60)? {
            2 => Some(Image::Fixed { file, size, data_end: len - SECTOR }),
            t @ (3 | 4) => {
                let h_at = usize::try_from(be_u64(footer, 16)?).ok()?;
                let header = file.get(h_at..h_at.checked_add(1024)?)?;
                if header.get(..8) != Some(b"cxsparse".as_slice()) || !checksum_ok(header, 36) {
                    return None;
                }
                let block = u64::from(be_u32(header, 32)?);
                if block == 0 || block % SECTOR != 0 {
                    return None;
                }
                // One bit per sector, the bitmap padded to a whole sector.
                let bitmap = (block / SECTOR).div_ceil(8).div_ceil(SECTOR) * SECTOR;
                Some(Image::Sparse {
                    file,
                    size,
                    differencing: t == 4,
                    bat: be_u64(header, 16)?,
                    entries: u64::from(be_u32(header, 28)?),
                    block,
                    bitmap,
                })
            }
            _ => None,
        }
    }

    fn size(&self) -> u64 {
        match self {
            Image::Fixed { size, .. } | Image::Sparse { size, .. } => *size,
        }
    }

    fn is_differencing(&self) -> bool {
        matches!(self, Image::Sparse { differencing: true, .. })
    }

    /// Where the bytes of virtual sector `sector` come from in this image (`None`: offsets
    /// overflow, outside the model's scope).
    fn locate(&self, sector: u64) -> Option<From> {
        match *self {
            Image::Fixed { .. } => Some(From::Here(sector * SECTOR)),
            Image::Sparse { file, differencing, bat, entries, block, bitmap, .. } => {
                let per_block = block / SECTOR;
                let (b, s) = (sector / per_block, sector % per_block);
                let entry_at = bat.checked_add(b.checked_mul(4)?)?;
                let stored = b < entries && entry_at.checked_add(4)? <= file.len() as u64 - SECTOR;
                let entry = if stored { be_u32(file, usize::try_from(entry_at).ok()?)? } else { u32::MAX };
                let parent_or_zero = Some(if differencing { From::Parent } else { From::Zero });
                if entry == u32::MAX {
                    return parent_or_zero;
                }
                let start = u64::from(entry) * SECTOR;
                let bits = byte(file, start.checked_add(s / 8)?);
                if bits & (0x80 >> (s % 8)) == 0 {
                    return parent_or_zero;
                }
                Some(From::Here(start.checked_add(bitmap)?.checked_add(s * SECTOR)?))
            }
        }
    }
}

/// The virtual disk of the chain `levels` (child first; each next level is the previous one's
/// parent, as [`vhd_validator::chain::ChainReader::from_sources`] takes them), or `None` when the disk
/// is larger than `cap` bytes or an image it needs is outside the model's scope (see the module
/// documentation), or a differencing disk has no parent given.
pub fn reference_disk(levels: &[&[u8]], cap: u64) -> Option<Vec<u8>> {
    let mut chain = Vec::new();
    for l in levels {
        let img = Image::parse(l)?;
        let diff = img.is_differencing();
        chain.push(img);
        if !diff {
            break;
        }
    }
    if chain.last()?.is_differencing() {
        return None;
    }
    let size = chain.first()?.size();
    if size > cap {
        return None;
    }
    let mut out = vec![0u8; usize::try_from(size).ok()?];
    for (sector, dst) in out.chunks_mut(SECTOR as usize).enumerate() {
        let sector = sector as u64;
        for img in &chain {
            if sector.saturating_mul(SECTOR) >= img.size() {
                break; // past this level's size: zeros
            }
            match img.locate(sector)? {
                From::Parent => continue,
                From::Zero => break,
                From::Here(at) => {
                    let end = match img {
                        Image::Fixed { data_end, .. } => *data_end,
                        Image::Sparse { file, .. } => file.len() as u64,
                    };
                    let file = match img {
                        Image::Fixed { file, .. } | Image::Sparse { file, .. } => file,
                    };
                    for (i, d) in dst.iter_mut().enumerate() {
                        let (pos, virt) = (at.saturating_add(i as u64), sector * SECTOR + i as u64);
                        *d = if pos < end && virt < img.size() { byte(file, pos) } else { 0 };
                    }
                    break;
                }
            }
        }
    }
    Some(out)
}
