//! Mutations: corruptions applied to laid-out image files, in scenario order.
//!
//! Each operation edits the file on disk through the validator's codecs (decode, change a
//! field, optionally reseal, encode); field mutations name the bytes they set through the
//! validator's field tables (`format::footer::Field` and its kin). So, for instance,
//! `set-footer-field` with `reseal: true` yields the field's own rule and not FOOTER-CHECKSUM, while
//! `break-footer-checksum` yields FOOTER-CHECKSUM alone. Operations that change which sectors
//! are present (`set-bitmap-bits`, `set-bat-entry` to unallocated) update the content model.

use crate::error::GenError;
use crate::plan::{ImagePlan, SparsePlan};
use crate::scenario::{Anchor, BatTarget, FooterField, HeaderField, LocatorCode, LocatorField, Mutation, Op, Which};
use crate::values::{FieldValue, Size};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use vhd_validator::format::footer::{self, FOOTER_SIZE, SHORT_FOOTER_SIZE};
use vhd_validator::format::header::{self, HEADER_SIZE};
use vhd_validator::format::locator::{self, encode_utf16le};
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

/// The bytes a field mutation sets, named through the validator's field tables: the table
/// row, and the offset and length of the bytes set within that field (a whole field, or one
/// part of it: a geometry component, a reserved byte).
type Place<F> = (F, u64, u64);

fn whole_footer(f: footer::Field) -> Place<footer::Field> {
    (f, 0, f.len())
}

fn footer_place(field: FooterField) -> Place<footer::Field> {
    use footer::Field as F;
    match field {
        FooterField::Cookie => whole_footer(F::Cookie),
        FooterField::Features => whole_footer(F::Features),
        FooterField::Version => whole_footer(F::FileFormatVersion),
        FooterField::DataOffset => whole_footer(F::DataOffset),
        FooterField::Timestamp => whole_footer(F::Timestamp),
        FooterField::CreatorApplication => whole_footer(F::CreatorApplication),
        FooterField::CreatorVersion => whole_footer(F::CreatorVersion),
        FooterField::CreatorHostOs => whole_footer(F::CreatorHostOs),
        FooterField::OriginalSize => whole_footer(F::OriginalSize),
        FooterField::CurrentSize => whole_footer(F::CurrentSize),
        FooterField::Cylinders => (F::Geometry, 0, 2),
        FooterField::Heads => (F::Geometry, 2, 1),
        FooterField::SectorsPerTrack => (F::Geometry, 3, 1),
        FooterField::DiskType => whole_footer(F::DiskType),
        FooterField::Checksum => whole_footer(F::Checksum),
        FooterField::UniqueId => whole_footer(F::UniqueId),
        FooterField::SavedState => whole_footer(F::SavedState),
        FooterField::Hidden => (F::Reserved, 0, 1),
        FooterField::Reserved => (F::Reserved, 1, 1),
    }
}

/// The place of a header mutation; `None` for the parent name (set as text).
fn header_place(field: HeaderField) -> Option<Place<header::Field>> {
    use header::Field as F;
    let whole = |f: F| Some((f, 0, f.len()));
    match field {
        HeaderField::Cookie => whole(F::Cookie),
        HeaderField::DataOffset => whole(F::DataOffset),
        HeaderField::TableOffset => whole(F::TableOffset),
        HeaderField::Version => whole(F::HeaderVersion),
        HeaderField::MaxTableEntries => whole(F::MaxTableEntries),
        HeaderField::BlockSize => whole(F::BlockSize),
        HeaderField::Checksum => whole(F::Checksum),
        HeaderField::ParentUniqueId => whole(F::ParentUniqueId),
        HeaderField::ParentTimestamp => whole(F::ParentTimestamp),
        HeaderField::Reserved1 => whole(F::Reserved1),
        HeaderField::ParentName => None,
        HeaderField::Reserved2 => Some((F::Reserved2, 0, 1)),
    }
}

fn locator_field(field: LocatorField) -> locator::Field {
    match field {
        LocatorField::Code => locator::Field::PlatformCode,
        LocatorField::Space => locator::Field::DataSpace,
        LocatorField::Length => locator::Field::DataLength,
        LocatorField::Reserved => locator::Field::Reserved,
        LocatorField::Offset => locator::Field::DataOffset,
    }
}

/// An integer value as `len` big-endian bytes; an error when it does not fit.
fn int_bytes(v: &FieldValue, len: u64, ctx: &str) -> Result<Vec<u8>, GenError> {
    let i = int(v, ctx)?;
    let len = usize::try_from(len).ok().filter(|&n| n <= 8).ok_or_else(|| bad(ctx, "not an integer field"))?;
    if len < 8 && i >> (8 * len) != 0 {
        return Err(bad(ctx, format!("{i} does not fit the field")));
    }
    Ok(i.to_be_bytes()[8 - len..].to_vec())
}

/// Writes `value` over bytes `at..at + value.len()` of `field` (offset `field_offset` within
/// the encoding `b`).
fn put(b: &mut [u8], field_offset: u64, at: u64, value: &[u8]) {
    let start = usize::try_from(field_offset.saturating_add(at)).unwrap_or(usize::MAX);
    if let Some(dst) = start.checked_add(value.len()).and_then(|end| b.get_mut(start..end)) {
        dst.copy_from_slice(value);
    }
}

fn set_footer_field(f: &mut HardDiskFooter, field: FooterField, v: &FieldValue, ctx: &str) -> Result<(), GenError> {
    let (spec, at, len) = footer_place(field);
    let value = match field {
        FooterField::Cookie => cookie(v, ctx)?.to_vec(),
        FooterField::CreatorApplication | FooterField::CreatorHostOs => fourcc(v, ctx)?.to_vec(),
        FooterField::UniqueId => uuid(v, ctx)?.to_vec(),
        _ => int_bytes(v, len, ctx)?,
    };
    let mut b = f.encode();
    put(&mut b, spec.offset(), at, &value);
    *f = HardDiskFooter::decode(&b);
    Ok(())
}

fn set_header_field(h: &mut DynamicDiskHeader, field: HeaderField, v: &FieldValue, ctx: &str) -> Result<(), GenError> {
    let Some((spec, at, len)) = header_place(field) else {
        return match v {
            FieldValue::Text(t) => {
                h.set_parent_name(t);
                Ok(())
            }
            FieldValue::Int(_) => Err(bad(ctx, "the parent name is a string")),
        };
    };
    let value = match field {
        HeaderField::Cookie => cookie(v, ctx)?.to_vec(),
        HeaderField::ParentUniqueId => uuid(v, ctx)?.to_vec(),
        _ => int_bytes(v, len, ctx)?,
    };
    let mut b = h.encode();
    put(&mut b, spec.offset(), at, &value);
    *h = DynamicDiskHeader::decode(&b);
    Ok(())
}

fn set_locator_field(
    e: &mut ParentLocatorEntry,
    field: LocatorField,
    v: &FieldValue,
    ctx: &str,
) -> Result<(), GenError> {
    let spec = locator_field(field);
    let value = match field {
        LocatorField::Code => locator_code(v, ctx)?.to_be_bytes().to_vec(),
        _ => int_bytes(v, spec.len(), ctx)?,
    };
    let mut b = e.encode();
    put(&mut b, spec.offset(), 0, &value);
    *e = ParentLocatorEntry::decode(&b);
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
                set_locator_field(e, *field, value, ctx)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `bytes` with `value` (big-endian) written over `len` bytes at `start`.
    fn with(bytes: &[u8], start: u64, len: u64, value: u64) -> Vec<u8> {
        let mut v = bytes.to_vec();
        let (start, len) = (start as usize, len as usize);
        v[start..start + len].copy_from_slice(&value.to_be_bytes()[8 - len..]);
        v
    }

    #[test]
    fn integer_field_mutations_set_the_bytes_the_validator_table_names() {
        use FooterField as F;
        for field in [F::Features, F::Version, F::DataOffset, F::CurrentSize, F::Cylinders, F::Heads, F::Hidden] {
            let mut f = HardDiskFooter::new(DiskType::Dynamic, 10 << 20, 512);
            let before = f.encode();
            set_footer_field(&mut f, field, &FieldValue::Int(0xA5), "t").expect("set");
            let (spec, at, len) = footer_place(field);
            assert_eq!(f.encode().to_vec(), with(&before, spec.offset() + at, len, 0xA5), "{field:?}");
        }
        for field in [HeaderField::TableOffset, HeaderField::BlockSize, HeaderField::Reserved2] {
            let mut h = DynamicDiskHeader::new(1536, 5, 2 << 20);
            let before = h.encode();
            set_header_field(&mut h, field, &FieldValue::Int(0x5A), "t").expect("set");
            let (spec, at, len) = header_place(field).expect("a byte field");
            assert_eq!(h.encode().to_vec(), with(&before, spec.offset() + at, len, 0x5A), "{field:?}");
        }
        let mut e = ParentLocatorEntry::default();
        set_locator_field(&mut e, LocatorField::Space, &FieldValue::Int(3), "t").expect("set");
        assert_eq!(e.platform_data_space, 3);
        let err = set_footer_field(
            &mut HardDiskFooter::new(DiskType::Fixed, 1 << 20, u64::MAX),
            F::Heads,
            &FieldValue::Int(256),
            "t",
        );
        assert!(err.is_err_and(|e| e.to_string().contains("256 does not fit the field")));
    }
}
