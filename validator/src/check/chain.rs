//! Rules of the `chain` family (spec §Differencing Hard Disk Image, §Dynamic Disk Header Format:
//! Parent Unique ID, Parent Time Stamp, Parent Locator Entries): resolve each parent of a
//! differencing disk, check it on its own, and relate each child to its parent.
//!
//! Chain findings are reported on the child whose link they concern (each level of the chain
//! is a child of the next), at the field of the child's dynamic disk header (or hard disk
//! footer) that the rule is about:
//!
//! | code | offset | path |
//! |---|---|---|
//! | CHAIN-PARENT-MISSING | header + 64 (512 bytes) | `header.parent_unicode_name` |
//! | CHAIN-PARENT-OUTSIDE-SEARCH | the locator entry or name of the first refused candidate | as NOT-VHD |
//! | CHAIN-PARENT-NOT-VHD | the locator entry or name that led to the file | `header.parent_locator[i]` / `header.parent_unicode_name` |
//! | CHAIN-PARENT-UUID, CHAIN-PARENT-UUID-NULL | header + 40 (16 bytes) | `header.parent_unique_id` |
//! | CHAIN-PARENT-TIMESTAMP | header + 56 (4 bytes) | `header.parent_timestamp` |
//! | CHAIN-SIZE-CHILD-SMALLER / -LARGER | footer + 48 (8 bytes) | `footer.current_size` |
//! | CHAIN-LOCATOR-UNRESOLVED | header + 576 (192 bytes) | `header.parent_locator` |
//! | CHAIN-BLOCK-SIZE-MISMATCH | header + 32 (4 bytes) | `header.block_size` |
//! | CHAIN-CYCLE | the locator entry or name that led to the revisited file | as NOT-VHD |
//! | CHAIN-DEPTH | header + 40 (16 bytes) | `header.parent_unique_id` |
//! | CHAIN-ERROR-IN-PARENT | header + 40 (16 bytes) | `chain[k]`, k = the first ancestor with an error |
//!
//! CHAIN-PARENT-TIMESTAMP compares the child's parent time stamp with the time stamp in the
//! parent's hard disk footer. The spec calls the field the parent's "modification time stamp";
//! blktap and VirtualBox store the parent file's modification time instead (blktap
//! `vhd_initialize_header`, VirtualBox `vhdSetParentTimestamp`), so their chains can carry this
//! finding (a warning under strict, info under compat).
//!
//! Ancestors' own findings are in their own [`ImageReport`]s (child first); a parent's `file`
//! is its resolved path.

use super::{check_parsed, finish, ChainReport, CheckOptions, FooterSource, ImageReport, Layout};
use crate::chain::resolve::{walk_chain, ChainEnd, Link, RejectReason, Rejected};
use crate::finding::{Finding, Text};
use crate::format::header::Field as HeaderField;
use crate::format::{footer, format_uuid, timestamp, DiskType};
use crate::io::FileSource;
use crate::rules::{Code, Severity};
use std::path::Path;

/// Checks `src` (opened from `path`) and its ancestors.
///
/// The child is checked with [`check_image`](super::check_image); for a differencing disk each parent is resolved
/// ([`crate::chain::resolve`]), checked in turn, and related to its child by the chain rules.
/// `ChainReport::images` holds the child first, then each resolved ancestor.
pub fn check_chain(path: &Path, src: FileSource, opts: &CheckOptions) -> ChainReport {
    check_chain_cached(path, src, opts, &mut CheckCache::default())
}

/// The own findings of images already checked in a run (by file identity, name and length),
/// so that a parent shared by many children is checked once. Holds at most
/// [`CheckCache::CAP`] images; past that it starts again. Use one cache per set of
/// [`CheckOptions`].
#[derive(Debug, Default)]
pub struct CheckCache {
    map: std::collections::HashMap<(crate::io::FileId, String), Own>,
}

/// What the cache keeps of one image: its report without the parsed structures, and the
/// file length it was checked at.
#[derive(Debug)]
struct Own {
    len: u64,
    disk_type: Option<String>,
    virtual_size: Option<u64>,
    findings: Vec<Finding>,
}

impl Own {
    fn report(&self, file: String) -> ImageReport {
        ImageReport {
            file,
            disk_type: self.disk_type.clone(),
            virtual_size: self.virtual_size,
            findings: self.findings.clone(),
            layout: None,
        }
    }
}

impl CheckCache {
    /// Most images remembered.
    pub const CAP: usize = 1024;

    fn own(&mut self, link: &Link, name: String, opts: &CheckOptions) -> ImageReport {
        use crate::io::ReadAt;
        let key = (link.id.clone(), name);
        let len = link.src.len();
        if let Some(own) = self.map.get(&key).filter(|own| own.len == len) {
            return own.report(key.1);
        }
        let r = check_parsed(&link.src, &link.layout, &key.1, opts);
        if self.map.len() >= CheckCache::CAP {
            self.map.clear();
        }
        let own =
            Own { len, disk_type: r.disk_type.clone(), virtual_size: r.virtual_size, findings: r.findings.clone() };
        self.map.insert(key, own);
        r
    }
}

/// [`check_chain`] with the own findings of images taken from (and added to) `cache`.
pub fn check_chain_cached(path: &Path, src: FileSource, opts: &CheckOptions, cache: &mut CheckCache) -> ChainReport {
    let chain = walk_chain(path, src, opts);
    let mut images: Vec<ImageReport> = Vec::with_capacity(chain.links.len());
    for (i, link) in chain.links.iter().enumerate() {
        let name = if i == 0 { path.display().to_string() } else { link.path.display().to_string() };
        images.push(cache.own(link, name, opts));
    }
    let mut added: Vec<Vec<Finding>> = vec![Vec::new(); images.len()];
    for (i, pair) in chain.links.windows(2).enumerate() {
        let (child, parent) = (&pair[0], &pair[1]);
        let rejected = chain.rejected.get(i).map_or(&[][..], |r| &r[..]);
        if let Some(slot) = added.get_mut(i) {
            relate(child, parent, rejected, slot);
        }
    }
    if let (Some(last), Some(slot)) = (chain.links.last(), added.last_mut()) {
        end_findings(last, &chain.end, &chain.links, slot);
    }
    for (i, (link, slot)) in chain.links.iter().zip(added.iter_mut()).enumerate() {
        null_parent_uuid(link, chain.links.get(i + 1), slot);
    }
    for (report, mut extra) in images.iter_mut().zip(added) {
        let file = Text::shared(&report.file);
        for f in &mut extra {
            f.file = file.clone();
        }
        report.findings.append(&mut extra);
        finish(&mut report.findings, opts.profile);
    }
    error_in_parent(&mut images, &chain.links, opts);
    for (report, link) in images.iter_mut().zip(chain.links) {
        report.layout = Some(link.layout);
    }
    ChainReport { images }
}

/// Byte offset of the dynamic disk header of a layout (0 when there is none).
fn header_offset(layout: &Layout) -> u64 {
    layout.header.as_ref().map_or(0, |(off, _)| *off)
}

/// Byte offset of the interpreting footer's `current size` field.
fn current_size_offset(layout: &Layout) -> u64 {
    let base = match layout.footer.as_ref().map(|(s, _)| *s) {
        Some(FooterSource::HeadCopy) => 0,
        _ => layout.footer_start(),
    };
    footer::Field::CurrentSize.at(base)
}

/// A finding located at a header field given by (offset within the header, length, path).
fn at_field(layout: &Layout, code: Code, field: (u64, u64, String), message: String) -> Finding {
    let (off, len, path) = field;
    Finding::new(code, header_offset(layout).saturating_add(off), len, path, message)
}

fn parent_uuid_field() -> (u64, u64, String) {
    HeaderField::ParentUniqueId.spot()
}

/// Findings for rejected candidates (one per code: the first candidate of each kind).
fn rejected_findings(child: &Link, rejected: &[Rejected], parent_uuid: &[u8; 16], out: &mut Vec<Finding>) {
    let not_vhd: Vec<&Rejected> = rejected.iter().filter(|r| matches!(r.reason, RejectReason::NotVhd(_))).collect();
    if let Some(r) = not_vhd.first() {
        let RejectReason::NotVhd(why) = &r.reason else { return };
        let more = if not_vhd.len() > 1 { format!(" ({} such candidates)", not_vhd.len()) } else { String::new() };
        out.push(at_field(
            &child.layout,
            Code::ChainParentNotVhd,
            r.candidate.found_by.header_field(),
            format!("parent candidate {} (from {}) {why}{more}", r.candidate.path.display(), r.candidate.found_by),
        ));
    }
    let wrong: Vec<(&Rejected, [u8; 16])> = rejected
        .iter()
        .filter_map(|r| match r.reason {
            RejectReason::UuidMismatch(id) => Some((r, id)),
            RejectReason::NotVhd(_) => None,
        })
        .collect();
    if let Some((r, id)) = wrong.first() {
        let more = if wrong.len() > 1 { format!(" ({} such candidates)", wrong.len()) } else { String::new() };
        out.push(
            at_field(
                &child.layout,
                Code::ChainParentUuid,
                parent_uuid_field(),
                format!(
                    "parent candidate {} (from {}) has unique id {}, not the parent unique id{more}",
                    r.candidate.path.display(),
                    r.candidate.found_by,
                    format_uuid(id)
                ),
            )
            .expected(format_uuid(id))
            .actual(format_uuid(parent_uuid)),
        );
    }
}

/// CHAIN-PARENT-UUID-NULL: a differencing disk whose parent unique id is all zero (blktap's
/// mark of a raw parent), whether or not a parent was resolved.
fn null_parent_uuid(link: &Link, parent: Option<&Link>, out: &mut Vec<Finding>) {
    let Some((_, header)) = &link.layout.header else { return };
    if link.layout.disk_type() != Some(DiskType::Differencing) || header.parent_unique_id != [0u8; 16] {
        return;
    }
    let message = match parent {
        Some(p) => format!(
            "the parent unique id is all zero, so the parent cannot be verified; {} was taken as the first existing VHD",
            p.path.display()
        ),
        None => "the parent unique id is all zero, so no parent can be verified".to_string(),
    };
    out.push(at_field(&link.layout, Code::ChainParentUuidNull, parent_uuid_field(), message));
}

/// Chain rules relating `child` to its resolved `parent`.
fn relate(child: &Link, parent: &Link, rejected: &[Rejected], out: &mut Vec<Finding>) {
    let Some((_, header)) = &child.layout.header else { return };
    let (Some(cf), Some(pf)) = (child.layout.footer(), parent.layout.footer()) else { return };
    if let Some(by) = &parent.found_by {
        if !by.is_locator() {
            let passed: Vec<String> = rejected
                .iter()
                .filter(|r| r.candidate.found_by.is_locator())
                .map(|r| r.candidate.path.display().to_string())
                .collect();
            let note = if passed.is_empty() {
                String::new()
            } else {
                format!("; locator paths that exist but are not the parent: {}", passed.join(", "))
            };
            out.push(at_field(
                &child.layout,
                Code::ChainLocatorUnresolved,
                HeaderField::ParentLocator.spot(),
                format!("no parent locator led to the parent; it was found by {by} ({}){note}", parent.path.display()),
            ));
        }
    }
    if header.parent_timestamp != pf.timestamp {
        out.push(
            at_field(
                &child.layout,
                Code::ChainParentTimestamp,
                HeaderField::ParentTimestamp.spot(),
                format!(
                    "the parent time stamp ({}) differs from the time stamp in the parent's footer ({})",
                    timestamp::format(header.parent_timestamp),
                    timestamp::format(pf.timestamp)
                ),
            )
            .expected(pf.timestamp)
            .actual(header.parent_timestamp),
        );
    }
    let (cs, ps) = (cf.current_size, pf.current_size);
    if cs != ps {
        let (code, rel) = if cs < ps {
            (Code::ChainSizeChildSmaller, "smaller than")
        } else {
            (Code::ChainSizeChildLarger, "larger than")
        };
        out.push(
            Finding::new(
                code,
                current_size_offset(&child.layout),
                footer::Field::CurrentSize.len(),
                format!("footer.{}", footer::Field::CurrentSize.name()),
                format!("the current size ({cs} bytes) is {rel} the parent's ({ps} bytes)"),
            )
            .expected(ps)
            .actual(cs),
        );
    }
    if let Some((_, ph)) = &parent.layout.header {
        if pf.kind().is_sparse() && ph.block_size != header.block_size {
            out.push(
                at_field(
                    &child.layout,
                    Code::ChainBlockSizeMismatch,
                    HeaderField::BlockSize.spot(),
                    format!(
                        "the block size ({} bytes) differs from the parent's ({} bytes)",
                        header.block_size, ph.block_size
                    ),
                )
                .expected(ph.block_size)
                .actual(header.block_size),
            );
        }
    }
}

/// Chain rules about why the walk stopped at `last`.
fn end_findings(last: &Link, end: &ChainEnd, links: &[Link], out: &mut Vec<Finding>) {
    let Some((_, header)) = &last.layout.header else { return };
    match end {
        ChainEnd::Complete | ChainEnd::NoHeader => {}
        ChainEnd::NotFound { rejected, tried, refused } => {
            if let Some(r) = refused.first() {
                let more =
                    if refused.len() > 1 { format!(" ({} such candidates)", refused.len()) } else { String::new() };
                out.push(
                    at_field(
                        &last.layout,
                        Code::ChainParentOutsideSearch,
                        r.candidate.found_by.header_field(),
                        format!(
                            "parent candidate {} (from {}) lies outside the child's directory and the parent search \
                             directories and was not opened{more}; pass --parent-dir DIR (or --parent-search anywhere \
                             for a trusted chain)",
                            r.candidate.path.display(),
                            r.candidate.found_by
                        ),
                    )
                    .actual(r.outside.display().to_string()),
                );
            }
            if rejected.is_empty() {
                let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
                let msg = if list.is_empty() && refused.is_empty() {
                    "no parent locator or parent unicode name gives a path to look for the parent at".to_string()
                } else if list.is_empty() {
                    "the parent was not found; no candidate path lies inside the parent search directories".to_string()
                } else {
                    format!("the parent was not found; tried: {}", list.join(", "))
                };
                out.push(at_field(&last.layout, Code::ChainParentMissing, HeaderField::ParentUnicodeName.spot(), msg));
            } else {
                rejected_findings(last, rejected, &header.parent_unique_id, out);
            }
        }
        ChainEnd::Cycle { path, found_by, earlier, by_unique_id } => {
            let how = if *by_unique_id { "has the same unique id as" } else { "is the same file as" };
            let other = links.get(*earlier).map(|l| l.path.display().to_string()).unwrap_or_default();
            out.push(at_field(
                &last.layout,
                Code::ChainCycle,
                found_by.header_field(),
                format!("the parent {} (from {found_by}) {how} image {earlier} of the chain ({other})", path.display()),
            ));
        }
        ChainEnd::Depth { limit } => {
            out.push(
                at_field(
                    &last.layout,
                    Code::ChainDepth,
                    parent_uuid_field(),
                    format!("the chain has {limit} images and this one still has a parent; parents past the limit are not checked"),
                )
                .expected(format!("at most {limit} images")),
            );
        }
    }
}

/// Adds CHAIN-ERROR-IN-PARENT to every image some ancestor of which has an error-severity
/// finding under the profile in use.
fn error_in_parent(images: &mut [ImageReport], links: &[Link], opts: &CheckOptions) {
    // For each image, the nearest ancestor index k whose own findings include an error, with
    // that ancestor's file name and first error code (computed before any mark is added).
    let mut nearest: Option<(usize, String, String)> = None;
    let mut marks: Vec<Option<(usize, String, String)>> = Vec::with_capacity(images.len());
    for (k, img) in images.iter().enumerate().rev() {
        marks.push(nearest.clone());
        if let Some(f) = img.findings.iter().find(|f| f.severity == Severity::Error) {
            nearest = Some((k, img.file.clone(), f.code.to_string()));
        }
    }
    marks.reverse();
    for ((i, img), mark) in images.iter_mut().enumerate().zip(marks) {
        let Some((k, file, first)) = mark else { continue };
        let Some(layout) = links.get(i).map(|l| &l.layout) else { continue };
        if layout.disk_type() != Some(DiskType::Differencing) {
            continue;
        }
        let (off, len, _) = parent_uuid_field();
        let mut f = Finding::new(
            Code::ChainErrorInParent,
            header_offset(layout).saturating_add(off),
            len,
            format!("chain[{k}]"),
            format!("ancestor {k} ({file}) has an error of its own ({first})"),
        );
        f.file = Text::shared(&img.file);
        img.findings.push(f);
        finish(&mut img.findings, opts.profile);
    }
}

#[cfg(test)]
mod tests {
    use super::check_chain;
    use crate::chain::testutil::{id, Img};
    use crate::check::{ChainReport, CheckOptions};
    use crate::finding::Finding;
    use crate::io::FileSource;
    use crate::rules::{Code, Family, Profile, Severity};
    use std::path::{Path, PathBuf};

    const BS: u32 = 16 * 1024;
    const SIZE: u64 = 256 * 1024;
    /// The builders put the dynamic disk header at byte 512.
    const H: u64 = 512;

    fn write(dir: &Path, images: &[(&str, &Img)]) -> PathBuf {
        for (name, img) in images {
            img.write(&dir.join(name));
        }
        dir.join(images[0].0)
    }

    fn run(path: &Path, opts: &CheckOptions) -> ChainReport {
        check_chain(path, FileSource::open(path).unwrap(), opts)
    }

    /// Chain-family findings of image `i`.
    fn chain_findings(r: &ChainReport, i: usize) -> Vec<&Finding> {
        r.images[i].findings.iter().filter(|f| f.code.rule().family == Family::Chain).collect()
    }

    fn chain_codes(r: &ChainReport, i: usize) -> Vec<Code> {
        chain_findings(r, i).iter().map(|f| f.code).collect()
    }

    fn one(r: &ChainReport, i: usize, code: Code) -> Finding {
        let v: Vec<&Finding> = chain_findings(r, i).into_iter().filter(|f| f.code == code).collect();
        assert_eq!(v.len(), 1, "expected one {code} on image {i}: {:#?}", r.images[i].findings);
        v[0].clone()
    }

    #[test]
    fn clean_chain_has_no_chain_findings_and_reports_each_image() {
        let dir = tempfile::tempdir().unwrap();
        let base = Img::dynamic(SIZE, BS, 1).block(0, 1, |_| true);
        let mid = Img::diff(SIZE, BS, 2, &base, "base.vhd").w2ru(".\\base.vhd").block(1, 2, |s| s < 8);
        let child = Img::diff(SIZE, BS, 3, &mid, "mid.vhd").w2ru(".\\mid.vhd").block(2, 3, |s| s >= 8);
        let p = write(dir.path(), &[("child.vhd", &child), ("mid.vhd", &mid), ("base.vhd", &base)]);
        let r = run(&p, &CheckOptions::default());
        assert_eq!(r.images.len(), 3);
        assert_eq!(r.images[0].file, p.display().to_string());
        assert_eq!(r.images[1].file, dir.path().join("mid.vhd").display().to_string());
        assert_eq!(r.images[2].file, dir.path().join("base.vhd").display().to_string());
        for i in 0..3 {
            assert_eq!(chain_codes(&r, i), vec![], "image {i}");
            assert!(r.images[i].findings.iter().all(|f| f.file == r.images[i].file));
        }
        assert_eq!(r.images[2].disk_type.as_deref(), Some("dynamic"));
    }

    #[test]
    fn missing_not_vhd_and_uuid() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let parent = Img::fixed(SIZE, 1);
        let c = Img::diff(SIZE, BS, 2, &parent, "p.vhd").w2ru(".\\p.vhd");
        let p = write(d, &[("c.vhd", &c)]);
        let r = run(&p, &CheckOptions::default());
        assert_eq!(r.images.len(), 1);
        let f = one(&r, 0, Code::ChainParentMissing);
        assert_eq!((f.offset, f.length, f.path.as_str()), (H + 64, 512, "header.parent_unicode_name"));
        assert!(f.message.contains("p.vhd"));
        assert_eq!(f.severity, Severity::Error);
        assert!(!r.passes());

        std::fs::write(d.join("p.vhd"), vec![7u8; 4096]).unwrap();
        let r = run(&p, &CheckOptions::default());
        let f = one(&r, 0, Code::ChainParentNotVhd);
        assert_eq!((f.offset, f.length, f.path.as_str()), (H + 576, 24, "header.parent_locator[0]"));
        assert_eq!(chain_codes(&r, 0), vec![Code::ChainParentNotVhd]);

        Img::fixed(SIZE, 9).write(&d.join("p.vhd"));
        let r = run(&p, &CheckOptions::default());
        let f = one(&r, 0, Code::ChainParentUuid);
        assert_eq!((f.offset, f.length, f.path.as_str()), (H + 40, 16, "header.parent_unique_id"));
        assert_eq!(f.expected.as_deref(), Some(crate::format::format_uuid(&id(9)).as_str()));
        assert_eq!(f.actual.as_deref(), Some(crate::format::format_uuid(&id(1)).as_str()));
        assert_eq!(chain_codes(&r, 0), vec![Code::ChainParentUuid]);
        assert_eq!(r.images.len(), 1);

        // A null parent unique id is reported whether or not a parent is found.
        std::fs::remove_file(d.join("p.vhd")).unwrap();
        let mut c = Img::diff(SIZE, BS, 2, &parent, "p.vhd").w2ru(".\\p.vhd");
        c.parent_uuid = [0; 16];
        c.write(&p);
        let r = run(&p, &CheckOptions::default());
        assert_eq!(chain_codes(&r, 0), vec![Code::ChainParentUuidNull, Code::ChainParentMissing]);

        // A differencing disk whose header is not in the file: no parent is looked for.
        let mut bytes = Img::diff(SIZE, BS, 2, &parent, "p.vhd").build();
        crate::check::testutil::edit_footer(&mut bytes, true, |f| f.data_offset = 1 << 40);
        std::fs::write(&p, &bytes).unwrap();
        let r = run(&p, &CheckOptions::default());
        assert_eq!(r.images.len(), 1);
        assert_eq!(chain_codes(&r, 0), vec![]);
        assert!(crate::chain::ChainReader::open(&p, &CheckOptions::default()).is_err());
    }

    #[test]
    fn null_uuid_timestamp_sizes_block_size() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let parent = Img::dynamic(SIZE, 2 * BS, 1);
        parent.write(&d.join("p.vhd"));
        let mut c = Img::diff(SIZE, BS, 2, &parent, "p.vhd").w2ru(".\\p.vhd");
        c.parent_uuid = [0; 16];
        c.parent_ts = parent.timestamp + 5;
        let p = write(d, &[("c.vhd", &c)]);
        let r = run(&p, &CheckOptions::default());
        assert_eq!(r.images.len(), 2);
        let mut codes = chain_codes(&r, 0);
        codes.sort();
        assert_eq!(codes, vec![Code::ChainParentUuidNull, Code::ChainParentTimestamp, Code::ChainBlockSizeMismatch]);
        let f = one(&r, 0, Code::ChainParentTimestamp);
        assert_eq!((f.offset, f.length, f.path.as_str()), (H + 56, 4, "header.parent_timestamp"));
        assert_eq!(f.expected.as_deref(), Some(parent.timestamp.to_string().as_str()));
        let f = one(&r, 0, Code::ChainBlockSizeMismatch);
        assert_eq!((f.offset, f.length, f.path.as_str()), (H + 32, 4, "header.block_size"));
        assert_eq!(f.severity, Severity::Info);
        assert_eq!(one(&r, 0, Code::ChainParentUuidNull).severity, Severity::Warning);

        // Child smaller / larger than its (fixed) parent.
        let parent = Img::fixed(SIZE, 1);
        parent.write(&d.join("p.vhd"));
        for (size, code) in [(SIZE / 2, Code::ChainSizeChildSmaller), (SIZE * 2, Code::ChainSizeChildLarger)] {
            let c = Img::diff(size, BS, 2, &parent, "p.vhd").w2ru(".\\p.vhd");
            let p = write(d, &[("c.vhd", &c)]);
            let r = run(&p, &CheckOptions::default());
            assert_eq!(chain_codes(&r, 0), vec![code]);
            let f = one(&r, 0, code);
            let len = std::fs::metadata(&p).unwrap().len();
            assert_eq!((f.offset, f.length, f.path.as_str()), (len - 512 + 48, 8, "footer.current_size"));
            assert_eq!(
                (f.expected.as_deref(), f.actual.as_deref()),
                (Some(SIZE.to_string().as_str()), Some(size.to_string().as_str()))
            );
        }
    }

    #[test]
    fn locator_unresolved_when_found_by_name_or_search_dir() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let parent = Img::fixed(SIZE, 1);
        parent.write(&d.join("p.vhd"));
        let c = Img::diff(SIZE, BS, 2, &parent, "p.vhd").w2ru(".\\gone.vhd");
        let p = write(d, &[("c.vhd", &c)]);
        let r = run(&p, &CheckOptions::default());
        assert_eq!(r.images.len(), 2);
        let f = one(&r, 0, Code::ChainLocatorUnresolved);
        assert_eq!((f.offset, f.length, f.path.as_str()), (H + 576, 192, "header.parent_locator"));
        assert!(f.message.contains("parent unicode name"), "{}", f.message);
        assert_eq!(chain_codes(&r, 0), vec![Code::ChainLocatorUnresolved]);
        assert_eq!(f.severity, Severity::Warning);
        let compat = run(&p, &CheckOptions { profile: Profile::Compat, ..Default::default() });
        assert_eq!(one(&compat, 0, Code::ChainLocatorUnresolved).severity, Severity::Info);

        let other = tempfile::tempdir().unwrap();
        std::fs::rename(d.join("p.vhd"), other.path().join("p.vhd")).unwrap();
        let o = CheckOptions { parent_dirs: vec![other.path().to_path_buf()], ..Default::default() };
        let r = run(&p, &o);
        assert!(one(&r, 0, Code::ChainLocatorUnresolved).message.contains("search directory"));
        assert_eq!(r.images[1].file, other.path().join("p.vhd").display().to_string());
        // Found by its locator: no finding.
        let c = Img::diff(SIZE, BS, 2, &parent, "p.vhd").w2ru(".\\p.vhd");
        c.write(&p);
        std::fs::rename(other.path().join("p.vhd"), d.join("p.vhd")).unwrap();
        assert_eq!(chain_codes(&run(&p, &CheckOptions::default()), 0), vec![]);
    }

    #[test]
    fn cycle_and_depth() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut a = Img::dynamic(SIZE, BS, 1);
        let mut b = Img::dynamic(SIZE, BS, 2);
        a.kind = crate::format::DiskType::Differencing;
        b.kind = crate::format::DiskType::Differencing;
        a.parent_uuid = b.unique_id;
        a.parent_ts = b.timestamp;
        b.parent_uuid = a.unique_id;
        b.parent_ts = a.timestamp;
        let (a, b) = (a.w2ru(".\\b.vhd"), b.w2ru(".\\a.vhd"));
        let p = write(d, &[("a.vhd", &a), ("b.vhd", &b)]);
        let r = run(&p, &CheckOptions::default());
        assert_eq!(r.images.len(), 2);
        let f = one(&r, 1, Code::ChainCycle);
        assert_eq!((f.offset, f.length, f.path.as_str()), (H + 576, 24, "header.parent_locator[0]"));
        assert_eq!(f.file, r.images[1].file);
        // B's cycle error makes A's parent erroneous.
        assert_eq!(chain_codes(&r, 0), vec![Code::ChainErrorInParent]);
        assert_eq!(one(&r, 0, Code::ChainErrorInParent).path, "chain[1]");
        assert!(!r.passes());

        let base = Img::fixed(SIZE, 10);
        let c2 = Img::diff(SIZE, BS, 12, &base, "base.vhd");
        let c1 = Img::diff(SIZE, BS, 11, &c2, "c2.vhd");
        let c0 = Img::diff(SIZE, BS, 13, &c1, "c1.vhd");
        let p = write(d, &[("c0.vhd", &c0), ("c1.vhd", &c1), ("c2.vhd", &c2), ("base.vhd", &base)]);
        let o = CheckOptions { max_depth: 3, ..Default::default() };
        let r = run(&p, &o);
        assert_eq!(r.images.len(), 3);
        let f = one(&r, 2, Code::ChainDepth);
        assert_eq!((f.offset, f.length), (H + 40, 16));
        // No locators here: each link was found by the parent unicode name.
        for i in 0..2 {
            assert_eq!(chain_codes(&r, i), vec![Code::ChainErrorInParent, Code::ChainLocatorUnresolved], "image {i}");
        }
        assert_eq!(one(&r, 0, Code::ChainErrorInParent).path, "chain[2]");
        let r = run(&p, &CheckOptions { max_depth: 4, ..Default::default() });
        assert_eq!(r.images.len(), 4);
        for i in 0..4 {
            let want = if i < 3 { vec![Code::ChainLocatorUnresolved] } else { vec![] };
            assert_eq!(chain_codes(&r, i), want, "image {i}");
        }
    }

    #[test]
    fn error_in_parent_points_at_the_first_erroneous_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let base = Img::fixed(SIZE, 10);
        let c1 = Img::diff(SIZE, BS, 11, &base, "base.vhd").w2ru(".\\base.vhd");
        let c0 = Img::diff(SIZE, BS, 12, &c1, "c1.vhd").w2ru(".\\c1.vhd");
        // c1's parent is missing.
        let p = write(d, &[("c0.vhd", &c0), ("c1.vhd", &c1)]);
        let r = run(&p, &CheckOptions::default());
        assert_eq!(r.images.len(), 2);
        assert_eq!(chain_codes(&r, 1), vec![Code::ChainParentMissing]);
        let f = one(&r, 0, Code::ChainErrorInParent);
        assert_eq!((f.offset, f.length, f.path.as_str()), (H + 40, 16, "chain[1]"));
        assert!(f.message.contains("CHAIN-PARENT-MISSING"), "{}", f.message);

        // FOOTER-SAVED-STATE (saved state 2) is an error that the compat profile grades lower:
        // the children are marked under strict only. that the compat profile grades lower: the child is marked under strict only.
        let mut base = Img::fixed(SIZE, 10).build();
        crate::check::testutil::edit_footer(&mut base, true, |f| f.saved_state = 2);
        std::fs::write(d.join("base.vhd"), &base).unwrap();
        for profile in [Profile::Strict, Profile::Compat] {
            let r = run(&p, &CheckOptions { profile, ..Default::default() });
            assert_eq!(r.images.len(), 3);
            let base_error = r.images[2].worst() == Some(Severity::Error);
            let c1_error = r.images[1].worst() == Some(Severity::Error);
            assert_eq!(chain_codes(&r, 1).contains(&Code::ChainErrorInParent), base_error, "{profile}");
            assert_eq!(chain_codes(&r, 0).contains(&Code::ChainErrorInParent), base_error || c1_error, "{profile}");
            if profile == Profile::Strict {
                assert!(
                    base_error,
                    "a saved-state parent should be an error under strict: {:#?}",
                    r.images[2].findings
                );
            }
        }
    }

    #[test]
    fn findings_are_sorted_and_files_filled_in() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let parent = Img::fixed(SIZE, 1);
        parent.write(&d.join("p.vhd"));
        let mut c = Img::diff(SIZE * 2, BS, 2, &parent, "p.vhd");
        c.parent_ts += 1;
        let p = write(d, &[("c.vhd", &c)]);
        let r = run(&p, &CheckOptions::default());
        let f = &r.images[0].findings;
        let mut sorted = f.clone();
        crate::finding::normalize(&mut sorted);
        assert_eq!(f, &sorted);
        assert!(f.iter().all(|x| x.file == p.display().to_string()));
        assert!(chain_codes(&r, 0).len() >= 3);
    }
}
