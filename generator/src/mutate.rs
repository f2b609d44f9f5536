//! Mutations: corruptions applied to laid-out image files, in scenario order.
//!
//! Each operation edits the file on disk through the validator's codecs (decode, change a
//! field, optionally reseal, encode) so that, for instance, `set-footer-field` with
//! `reseal: true` yields the field's own rule and not FOOTER-CHECKSUM, while
//! `break-footer-checksum` yields FOOTER-CHECKSUM alone. Operations that change which sectors
//! are present (`set-bitmap-bits`, `set-bat-entry` to unallocated) update the content model.

use crate::error::GenError;
use crate::plan::{ImagePlan, SparsePlan};
use crate::scenario::{Anchor, BatTarget, FooterField, HeaderField, LocatorCode, LocatorField, Mutation, Op, Which};
use crate::values::{FieldValue, Size};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use vhd_validator::format::footer::{FOOTER_SIZE, SHORT_FOOTER_SIZE};
use vhd_validator::format::header::HEADER_SIZE;
use vhd_validator::format::locator::encode_utf16le;
use vhd_validator::format::{bitmap, DiskType, DynamicDiskHeader, HardDiskFooter, ParentLocatorEntry, UNALLOCATED};

/// One image of the chain while mutations run.
#[derive(Debug)]
pub struct Level {
    /// The plan it was written from (its model follows model-changing mutations).
    pub plan: ImagePlan,
    /// Directory of the case.
    pub dir: PathBuf,
    /// Current file name.
    pub name: String,
    /// Whether the file was deleted.
    pub deleted: bool,
    /// Current byte offset of the trailing footer.
    pub footer_at: u64,
}

impl Level {
    /// Current path of the file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.name)
    }
}

fn bad(ctx: &str, message: impl Into<String>) -> GenError {
    GenError::Invalid { path: ctx.to_string(), message: message.into() }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> GenError + '_ {
    move |source| GenError::Io { path: path.to_path_buf(), source }
}

fn open_rw(path: &Path) -> Result<File, GenError> {
    OpenOptions::new().read(true).write(true).open(path).map_err(io_err(path))
}

fn file_len(path: &Path) -> Result<u64, GenError> {
    std::fs::metadata(path).map(|m| m.len()).map_err(io_err(path))
}

fn read_at(path: &Path, offset: u64, len: usize) -> Result<Vec<u8>, GenError> {
    let mut f = File::open(path).map_err(io_err(path))?;
    f.seek(SeekFrom::Start(offset)).map_err(io_err(path))?;
    let mut buf = vec![0u8; len];
    f.read_exact(&mut buf).map_err(io_err(path))?;
    Ok(buf)
}

fn write_at(path: &Path, offset: u64, bytes: &[u8]) -> Result<(), GenError> {
    let mut f = open_rw(path)?;
    f.seek(SeekFrom::Start(offset)).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))
}

fn set_len(path: &Path, len: u64) -> Result<(), GenError> {
    open_rw(path)?.set_len(len).map_err(io_err(path))
}

fn int(v: &FieldValue, ctx: &str) -> Result<u64, GenError> {
    match v {
        FieldValue::Int(i) => Ok(*i),
        FieldValue::Text(t) => Size::parse(t).map(|s| s.0).ok_or_else(|| bad(ctx, format!("{t:?} is not a number"))),
    }
}

fn int_of<T: TryFrom<u64>>(v: &FieldValue, ctx: &str) -> Result<T, GenError> {
    let i = int(v, ctx)?;
    T::try_from(i).map_err(|_| bad(ctx, format!("{i} does not fit the field")))
}

fn fourcc(v: &FieldValue, ctx: &str) -> Result<[u8; 4], GenError> {
    match v {
        FieldValue::Int(i) => u32::try_from(*i).map(u32::to_be_bytes).map_err(|_| bad(ctx, "does not fit 32 bits")),
        FieldValue::Text(t) => {
            let b: Vec<u8> = t.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect();
            <[u8; 4]>::try_from(b.as_slice()).map_err(|_| bad(ctx, format!("{t:?} is not 4 characters")))
        }
    }
}

fn uuid(v: &FieldValue, ctx: &str) -> Result<[u8; 16], GenError> {
    let FieldValue::Text(t) = v else { return Err(bad(ctx, "a unique id is a string of 32 hex digits")) };
    let b = crate::values::parse_hex(&t.replace('-', "")).map_err(|e| bad(ctx, e))?;
    <[u8; 16]>::try_from(b.as_slice()).map_err(|_| bad(ctx, "a unique id has 16 bytes"))
}

fn cookie(v: &FieldValue, ctx: &str) -> Result<[u8; 8], GenError> {
    match v {
        FieldValue::Int(i) => Ok(i.to_be_bytes()),
        FieldValue::Text(t) => {
            let b: Vec<u8> = t.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect();
            if b.len() > 8 {
                return Err(bad(ctx, "a cookie has at most 8 characters"));
            }
            let mut c = [0u8; 8];
            if let Some(dst) = c.get_mut(..b.len()) {
                dst.copy_from_slice(&b);
            }
            Ok(c)
        }
    }
}

fn set_footer_field(f: &mut HardDiskFooter, field: FooterField, v: &FieldValue, ctx: &str) -> Result<(), GenError> {
    match field {
        FooterField::Cookie => f.cookie = cookie(v, ctx)?,
        FooterField::Features => f.features = int_of(v, ctx)?,
        FooterField::Version => f.file_format_version = int_of(v, ctx)?,
        FooterField::DataOffset => f.data_offset = int(v, ctx)?,
        FooterField::Timestamp => f.timestamp = int_of(v, ctx)?,
        FooterField::CreatorApplication => f.creator_application = fourcc(v, ctx)?,
        FooterField::CreatorVersion => f.creator_version = int_of(v, ctx)?,
        FooterField::CreatorHostOs => f.creator_host_os = u32::from_be_bytes(fourcc(v, ctx)?),
        FooterField::OriginalSize => f.original_size = int(v, ctx)?,
        FooterField::CurrentSize => f.current_size = int(v, ctx)?,
        FooterField::Cylinders => f.geometry.cylinders = int_of(v, ctx)?,
        FooterField::Heads => f.geometry.heads = int_of(v, ctx)?,
        FooterField::SectorsPerTrack => f.geometry.sectors_per_track = int_of(v, ctx)?,
        FooterField::DiskType => f.disk_type = int_of(v, ctx)?,
        FooterField::Checksum => f.checksum = int_of(v, ctx)?,
        FooterField::UniqueId => f.unique_id = uuid(v, ctx)?,
        FooterField::SavedState => f.saved_state = int_of(v, ctx)?,
        FooterField::Hidden => f.reserved[0] = int_of(v, ctx)?,
        FooterField::Reserved => f.reserved[1] = int_of(v, ctx)?,
    }
    Ok(())
}

fn set_header_field(h: &mut DynamicDiskHeader, field: HeaderField, v: &FieldValue, ctx: &str) -> Result<(), GenError> {
    match field {
        HeaderField::Cookie => h.cookie = cookie(v, ctx)?,
        HeaderField::DataOffset => h.data_offset = int(v, ctx)?,
        HeaderField::TableOffset => h.table_offset = int(v, ctx)?,
        HeaderField::Version => h.header_version = int_of(v, ctx)?,
        HeaderField::MaxTableEntries => h.max_table_entries = int_of(v, ctx)?,
        HeaderField::BlockSize => h.block_size = int_of(v, ctx)?,
        HeaderField::Checksum => h.checksum = int_of(v, ctx)?,
        HeaderField::ParentUniqueId => h.parent_unique_id = uuid(v, ctx)?,
        HeaderField::ParentTimestamp => h.parent_timestamp = int_of(v, ctx)?,
        HeaderField::Reserved1 => h.reserved1 = int_of(v, ctx)?,
        HeaderField::ParentName => match v {
            FieldValue::Text(t) => h.set_parent_name(t),
            FieldValue::Int(_) => return Err(bad(ctx, "the parent name is a string")),
        },
        HeaderField::Reserved2 => h.reserved2[0] = int_of(v, ctx)?,
    }
    Ok(())
}

fn locator_code(v: &FieldValue, ctx: &str) -> Result<u32, GenError> {
    match v {
        FieldValue::Int(i) => u32::try_from(*i).map_err(|_| bad(ctx, "does not fit 32 bits")),
        FieldValue::Text(t) => {
            let named = [
                ("W2ku", LocatorCode::W2ku),
                ("W2ru", LocatorCode::W2ru),
                ("MacX", LocatorCode::MacX),
                ("Wi2k", LocatorCode::Wi2k),
                ("Wi2r", LocatorCode::Wi2r),
                ("Mac", LocatorCode::Mac),
                ("none", LocatorCode::None),
            ];
            match named.iter().find(|(n, _)| n == t) {
                Some((_, c)) => Ok(c.raw()),
                None => fourcc(v, ctx).map(u32::from_be_bytes),
            }
        }
    }
}

impl Level {
    fn sparse(&self, ctx: &str) -> Result<&SparsePlan, GenError> {
        self.plan.sparse.as_ref().ok_or_else(|| bad(ctx, "needs a dynamic or differencing image"))
    }

    fn footer_len(&self) -> usize {
        if self.plan.short_footer {
            SHORT_FOOTER_SIZE
        } else {
            FOOTER_SIZE
        }
    }

    fn read_tail(&self) -> Result<HardDiskFooter, GenError> {
        let b = read_at(&self.path(), self.footer_at, self.footer_len())?;
        let mut full = [0u8; FOOTER_SIZE];
        if let Some(dst) = full.get_mut(..b.len()) {
            dst.copy_from_slice(&b);
        }
        Ok(HardDiskFooter::decode(&full))
    }

    fn write_tail(&self, f: &HardDiskFooter) -> Result<(), GenError> {
        let b = f.encode();
        write_at(&self.path(), self.footer_at, b.get(..self.footer_len()).unwrap_or(&b))
    }

    fn read_copy(&self) -> Result<HardDiskFooter, GenError> {
        let b = read_at(&self.path(), 0, FOOTER_SIZE)?;
        let mut a = [0u8; FOOTER_SIZE];
        a.copy_from_slice(&b);
        Ok(HardDiskFooter::decode(&a))
    }

    fn edit_footer(
        &self,
        which: Which,
        ctx: &str,
        edit: impl Fn(&mut HardDiskFooter) -> Result<(), GenError>,
    ) -> Result<(), GenError> {
        let sparse = self.plan.sparse.is_some();
        if which == Which::Copy && !sparse {
            return Err(bad(ctx, "a fixed disk has no footer copy"));
        }
        if matches!(which, Which::Both | Which::Tail) {
            let mut f = self.read_tail()?;
            edit(&mut f)?;
            self.write_tail(&f)?;
        }
        if sparse && matches!(which, Which::Both | Which::Copy) {
            let mut f = self.read_copy()?;
            edit(&mut f)?;
            write_at(&self.path(), 0, &f.encode())?;
        }
        Ok(())
    }

    fn header_offset(&self, ctx: &str) -> Result<u64, GenError> {
        Ok(self.sparse(ctx)?.header_offset)
    }

    fn read_header(&self, ctx: &str) -> Result<DynamicDiskHeader, GenError> {
        let b = read_at(&self.path(), self.header_offset(ctx)?, HEADER_SIZE)?;
        let mut a = [0u8; HEADER_SIZE];
        a.copy_from_slice(&b);
        Ok(DynamicDiskHeader::decode(&a))
    }

    fn edit_header(
        &self,
        ctx: &str,
        reseal: bool,
        edit: impl FnOnce(&mut DynamicDiskHeader) -> Result<(), GenError>,
    ) -> Result<(), GenError> {
        let mut h = self.read_header(ctx)?;
        edit(&mut h)?;
        if reseal {
            h.seal();
        }
        write_at(&self.path(), self.header_offset(ctx)?, &h.encode())
    }

    fn block_offset(&self, block: u64, ctx: &str) -> Result<u64, GenError> {
        self.sparse(ctx)?.blocks.get(&block).copied().ok_or_else(|| bad(ctx, format!("block {block} is not allocated")))
    }

    fn locator_offset(&self, slot: u8, ctx: &str) -> Result<u64, GenError> {
        let h = self.read_header(ctx)?;
        h.parent_locators
            .get(usize::from(slot))
            .filter(|e| e.platform_code != 0 || e.platform_data_offset != 0)
            .map(|e| e.platform_data_offset)
            .ok_or_else(|| bad(ctx, format!("locator slot {slot} is unused")))
    }

    fn anchor(&self, at: &Anchor, offset: i64, ctx: &str) -> Result<u64, GenError> {
        let base = match at {
            Anchor::File => 0,
            Anchor::Eof => file_len(&self.path())?,
            Anchor::Footer => self.footer_at,
            Anchor::Header => self.header_offset(ctx)?,
            Anchor::Bat => self.sparse(ctx)?.bat_offset,
            Anchor::Block(b) => self.block_offset(*b, ctx)?,
            Anchor::BlockData(b) => self.block_offset(*b, ctx)? + self.sparse(ctx)?.geom.bitmap_bytes(),
            Anchor::Locator(s) => self.locator_offset(*s, ctx)?,
        };
        base.checked_add_signed(offset).ok_or_else(|| bad(ctx, "position is before the start of the file"))
    }
}

/// Applies `m` to the chain `levels` (index = chain level). `ctx` names the mutation in
/// errors (`mutations[3]`).
///
/// # Errors
/// [`GenError::Invalid`] when the mutation does not fit the image (no such block, slot, copy),
/// [`GenError::Io`] on file errors.
pub fn apply(levels: &mut [Level], m: &Mutation, ctx: &str) -> Result<(), GenError> {
    let default_level = match m.op {
        Op::MakeCycle { .. } => levels.len().saturating_sub(1),
        _ => 0,
    };
    let li = m.image.unwrap_or(default_level);
    if levels.get(li).is_none_or(|l| l.deleted) {
        return Err(bad(ctx, format!("chain level {li} does not exist (or its file was deleted)")));
    }
    match &m.op {
        Op::MakeCycle { to } => return make_cycle(levels, li, *to, ctx),
        Op::DeleteFile {} => {
            let l = levels.get_mut(li).ok_or_else(|| bad(ctx, "no such level"))?;
            let p = l.path();
            std::fs::remove_file(&p).map_err(io_err(&p))?;
            l.deleted = true;
            return Ok(());
        }
        Op::RenameFile { to } => {
            if to.is_empty() || to.contains(['/', '\\']) || levels.iter().any(|l| l.name == *to) {
                return Err(bad(ctx, format!("{to:?} is not a new plain file name")));
            }
            let l = levels.get_mut(li).ok_or_else(|| bad(ctx, "no such level"))?;
            let (from, dest) = (l.path(), l.dir.join(to));
            std::fs::rename(&from, &dest).map_err(io_err(&from))?;
            l.name = to.clone();
            return Ok(());
        }
        _ => {}
    }
    let l = levels.get_mut(li).ok_or_else(|| bad(ctx, "no such level"))?;
    let path = l.path();
    match &m.op {
        Op::SetBytes { at, offset, hex } => write_at(&path, l.anchor(at, *offset, ctx)?, &hex.0)?,
        Op::FillBytes { at, offset, length, byte } => {
            let pos = l.anchor(at, *offset, ctx)?;
            let n =
                usize::try_from(length.0).ok().filter(|&n| n <= 64 << 20).ok_or_else(|| bad(ctx, "at most 64 MiB"))?;
            write_at(&path, pos, &vec![*byte; n])?;
        }
        Op::SetFileLength { length } => {
            set_len(&path, length.0)?;
        }
        Op::Truncate { bytes } => {
            let len = file_len(&path)?;
            set_len(&path, len.checked_sub(bytes.0).ok_or_else(|| bad(ctx, "the file is shorter than that"))?)?;
        }
        Op::CutBeforeFooter { bytes } => {
            let tail = read_at(&path, l.footer_at, l.footer_len())?;
            let at = l.footer_at.checked_sub(bytes.0).ok_or_else(|| bad(ctx, "cuts before the start of the file"))?;
            set_len(&path, at)?;
            write_at(&path, at, &tail)?;
            l.footer_at = at;
        }
        Op::Append { length, byte } => {
            let len = file_len(&path)?;
            let n =
                usize::try_from(length.0).ok().filter(|&n| n <= 64 << 20).ok_or_else(|| bad(ctx, "at most 64 MiB"))?;
            write_at(&path, len, &vec![*byte; n])?;
        }
        Op::SetFooterField { field, value, which, reseal } => l.edit_footer(*which, ctx, |f| {
            set_footer_field(f, *field, value, ctx)?;
            if *reseal {
                f.seal();
            }
            Ok(())
        })?,
        Op::BreakFooterChecksum { which } => l.edit_footer(*which, ctx, |f| {
            f.checksum = f.computed_checksum().wrapping_add(1);
            Ok(())
        })?,
        Op::ResealFooter { which } => l.edit_footer(*which, ctx, |f| {
            f.seal();
            Ok(())
        })?,
        Op::SetHeaderField { field, value, reseal } => {
            l.edit_header(ctx, *reseal, |h| set_header_field(h, *field, value, ctx))?
        }
        Op::BreakHeaderChecksum {} => l.edit_header(ctx, false, |h| {
            h.checksum = h.computed_checksum().wrapping_add(1);
            Ok(())
        })?,
        Op::ResealHeader {} => l.edit_header(ctx, true, |_| Ok(()))?,
        Op::SetBatEntry { block, to } => {
            let sp = l.sparse(ctx)?.clone();
            if *block >= sp.bat.len() as u64 {
                return Err(bad(ctx, format!("block {block} is past the BAT's {} entries", sp.bat.len())));
            }
            let span = sp.geom.span_sectors();
            let sector_of = |b: u64| -> Result<u64, GenError> {
                sp.blocks.get(&b).map(|o| o / 512).ok_or_else(|| bad(ctx, format!("block {b} is not allocated")))
            };
            let value: u64 = match to {
                BatTarget::Unallocated => u64::from(UNALLOCATED),
                BatTarget::Sector(s) => u64::from(*s),
                BatTarget::FooterCopy => 0,
                BatTarget::Header => sp.header_offset / 512,
                BatTarget::Bat => sp.bat_offset / 512,
                BatTarget::Locator(s) => l.locator_offset(*s, ctx)? / 512,
                BatTarget::Block(b) => sector_of(*b)?,
                BatTarget::OverlapBlock(b) => sector_of(*b)? + 1,
                BatTarget::IntoFooter => {
                    (l.footer_at / 512 + 1).checked_sub(span).ok_or_else(|| bad(ctx, "file too small"))?
                }
                BatTarget::PastEof => file_len(&path)?.div_ceil(512),
            };
            let value = u32::try_from(value).map_err(|_| bad(ctx, "sector does not fit 32 bits"))?;
            write_at(&path, sp.bat_offset + 4 * block, &value.to_be_bytes())?;
            if *to == BatTarget::Unallocated {
                let lo = block * sp.geom.sectors_per_block;
                l.plan.model.bits.remove(lo, lo + sp.geom.sectors_per_block);
                l.plan.model.stored.remove(lo, lo + sp.geom.sectors_per_block);
            }
        }
        Op::SetBitmapBits { block, start, count, value } => {
            let sp = l.sparse(ctx)?.clone();
            let off = l.block_offset(*block, ctx)?;
            let len = sp.geom.bitmap_bytes() as usize;
            let mut bm = read_at(&path, off, len)?;
            let end = start
                .checked_add(*count)
                .filter(|&e| e <= (len as u64) * 8)
                .ok_or_else(|| bad(ctx, "bits past the bitmap"))?;
            for i in *start..end {
                if *value {
                    bitmap::set_bit(&mut bm, i);
                } else if let Some(b) = usize::try_from(i / 8).ok().and_then(|i| bm.get_mut(i)) {
                    *b &= !(0x80u8 >> (i % 8));
                }
            }
            write_at(&path, off, &bm)?;
            let spb = sp.geom.sectors_per_block;
            let lo = block * spb;
            let (s, e) = (lo + (*start).min(spb), lo + end.min(spb));
            let e = e.min(l.plan.model.sectors());
            if s < e {
                if *value {
                    l.plan.model.bits.insert(s, e, ());
                } else {
                    l.plan.model.bits.remove(s, e);
                }
            }
        }
        Op::SetLocatorField { slot, field, value, reseal } => {
            let slot = usize::from(*slot);
            l.edit_header(ctx, *reseal, |h| {
                let e = h.parent_locators.get_mut(slot).ok_or_else(|| bad(ctx, "slot out of range 0..8"))?;
                match field {
                    LocatorField::Code => e.platform_code = locator_code(value, ctx)?,
                    LocatorField::Space => e.platform_data_space = int_of(value, ctx)?,
                    LocatorField::Length => e.platform_data_length = int_of(value, ctx)?,
                    LocatorField::Reserved => e.reserved = int_of(value, ctx)?,
                    LocatorField::Offset => e.platform_data_offset = int(value, ctx)?,
                }
                Ok(())
            })?
        }
        Op::SetLocatorPayload { slot, hex, set_length } => {
            let off = l.locator_offset(*slot, ctx)?;
            write_at(&path, off, &hex.0)?;
            if *set_length {
                let n = u32::try_from(hex.0.len()).map_err(|_| bad(ctx, "payload too long"))?;
                l.edit_header(ctx, true, |h| {
                    if let Some(e) = h.parent_locators.get_mut(usize::from(*slot)) {
                        e.platform_data_length = n;
                    }
                    Ok(())
                })?;
            }
        }
        Op::MakeCycle { .. } | Op::DeleteFile {} | Op::RenameFile { .. } => {}
    }
    Ok(())
}

/// Turns level `li` into a differencing disk whose parent is level `to`.
fn make_cycle(levels: &mut [Level], li: usize, to: usize, ctx: &str) -> Result<(), GenError> {
    let target =
        levels.get(to).filter(|l| !l.deleted).ok_or_else(|| bad(ctx, format!("chain level {to} does not exist")))?;
    let tf = target.read_tail()?;
    let tname = target.name.clone();
    let l = levels.get_mut(li).ok_or_else(|| bad(ctx, "no such level"))?;
    l.sparse(ctx)?;
    let path = l.path();
    // Locator payload where the footer was; the footer moves after it.
    let payload = encode_utf16le(&format!(".\\{tname}"));
    let span = (payload.len() as u64).div_ceil(512).max(1) * 512;
    let at = l.footer_at;
    let tail = l.read_tail()?;
    set_len(&path, at)?;
    write_at(&path, at, &payload)?;
    l.footer_at = at + span;
    let mut f = tail;
    f.disk_type = DiskType::Differencing.raw();
    f.seal();
    l.write_tail(&f)?;
    set_len(&path, l.footer_at + l.footer_len() as u64)?;
    write_at(&path, 0, &f.encode())?;
    let plen = u32::try_from(payload.len()).map_err(|_| bad(ctx, "name too long"))?;
    l.edit_header(ctx, true, |h| {
        h.parent_unique_id = tf.unique_id;
        h.parent_timestamp = tf.timestamp;
        h.set_parent_name(&tname);
        h.parent_locators = [ParentLocatorEntry::default(); 8];
        h.parent_locators[0] = ParentLocatorEntry {
            platform_code: LocatorCode::W2ru.raw(),
            platform_data_space: (span / 512) as u32,
            platform_data_length: plen,
            reserved: 0,
            platform_data_offset: at,
        };
        Ok(())
    })
}
