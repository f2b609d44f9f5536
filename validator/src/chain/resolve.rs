//! Parent resolution for differencing disks (spec §Dynamic Disk Header Format: Parent Unique
//! ID, Parent Unicode Name, Parent Locator Entries; §Differencing Hard Disk Image).
//!
//! A differencing disk (footer disk type 4) names its parent in three ways: up to eight parent
//! locators (platform-specific paths stored elsewhere in the file), the parent unicode name in
//! the dynamic disk header (a file name, sometimes a full path), and the parent unique id, which
//! must equal the unique id in the parent's hard disk footer. [`resolve_parent`] turns the first
//! two into candidate files, in this order:
//!
//! 1. each `W2ru` locator: a relative Windows path, taken relative to the child's directory
//!    (a leading `.\` is stripped, `\` becomes `/`);
//! 2. each `W2ku` locator: an absolute Windows path, tried with the drive letter stripped and
//!    `\` turned into `/` as an absolute path, then its file name beside the child;
//! 3. each `MacX` locator: a `file://` URL ([`crate::format::locator::decode_macx`]);
//! 4. each deprecated `Wi2r` / `Wi2k` locator, read as single-byte text and then treated like
//!    `W2ru` / `W2ku`;
//! 5. the parent unicode name's file name beside the child;
//! 6. in each [`ResolveOptions::parent_dirs`] directory: the parent unicode name's file name, then
//!    each locator's file name.
//!
//! Under [`ParentSearch::Confined`] (the default) every candidate goes through one gate,
//! [`confine`], before anything at its path is touched: the path is walked one component at a
//! time, symbolic links are followed only while the walk stays inside the child's directory or
//! a [`ResolveOptions::parent_dirs`] directory (each canonicalized), and a candidate that leaves
//! them is refused without being opened or `stat`ed (so a report never says whether a path
//! outside exists). Refused candidates are listed in [`Resolution::NotFound`]
//! (CHAIN-PARENT-OUTSIDE-SEARCH). A confined parent is then opened by its resolved path with
//! `O_NOFOLLOW`. Every candidate is opened with [`crate::io::open_regular`]: only regular files,
//! never blocking.
//!
//! The first candidate that exists, has a usable hard disk footer and whose footer unique id
//! equals the child's parent unique id is the parent. A child whose parent unique id is all zero
//! (blktap's mark of a raw parent) skips the unique id comparison: the first existing VHD wins.
//!
//! [`walk_chain`] follows parents up to the base image with cycle detection (by file identity,
//! [`FileId`], and by footer unique id) and a depth limit ([`ResolveOptions::max_depth`], child included). It
//! is the one walk shared by the chain rules (the checks' `chain` family) and the reference reader
//! ([`super::ChainReader::open`]), so both see the same chain.

use crate::format::header;
use crate::format::locator::{decode_legacy, decoded_paths, read_payload};
use crate::format::{format_uuid, DiskType, DynamicDiskHeader, Layout, PlatformCode};
use crate::io::{open_regular, open_regular_nofollow, FileId, FileSource, ReadAt};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Default limit on the number of images in a differencing chain (child included).
pub const DEFAULT_MAX_DEPTH: usize = 64;

/// Largest [`ResolveOptions::max_depth`] honoured (1024 images, child included); a larger
/// value acts as this. The reader walks one stack frame per chain level, and 1024 levels (far
/// beyond any real chain: Hyper-V stops at about 50 checkpoints) stay far inside a thread's
/// stack.
pub const MAX_CHAIN_DEPTH: usize = 1024;

/// Which paths named by a differencing disk (its parent locators and parent unicode name) may
/// be opened as its parent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ParentSearch {
    /// Only files that, after every symbolic link is resolved, lie under the child's own
    /// directory or under one of [`ResolveOptions::parent_dirs`]. A candidate outside is refused
    /// before anything at its path is opened or `stat`ed (CHAIN-PARENT-OUTSIDE-SEARCH). 7-Zip and
    /// libvhdi look for parents only in the child's directory, too.
    #[default]
    Confined,
    /// Any path an image names (for a trusted local chain), as Hyper-V and QEMU do.
    Anywhere,
}

/// How parents are looked for and how far a chain is followed. The checks' `CheckOptions`
/// converts into this (`ResolveOptions::from(&check_options)`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolveOptions {
    /// Extra directories searched for parents (by file name) after the locators; under
    /// [`ParentSearch::Confined`] also the only places besides the child's directory where a
    /// parent may lie.
    pub parent_dirs: Vec<PathBuf>,
    /// Where a parent may be opened from (default [`ParentSearch::Confined`]).
    pub parent_search: ParentSearch,
    /// Maximum chain length, child included (at least 1, at most [`MAX_CHAIN_DEPTH`]; default
    /// [`DEFAULT_MAX_DEPTH`]).
    pub max_depth: usize,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions { parent_dirs: Vec::new(), parent_search: ParentSearch::Confined, max_depth: DEFAULT_MAX_DEPTH }
    }
}

impl From<&ResolveOptions> for ResolveOptions {
    fn from(opts: &ResolveOptions) -> ResolveOptions {
        opts.clone()
    }
}

/// Which field of the child's dynamic disk header led to a candidate parent file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FoundBy {
    /// Parent locator entry `index` with platform code `code`; `beside_child` when only the
    /// path's file name was found in the child's directory (the `W2ku`/`Wi2k` fallback).
    Locator {
        /// Locator entry index, 0..8.
        index: usize,
        /// The entry's platform code.
        code: PlatformCode,
        /// Whether the path's file name was looked up beside the child instead of the path.
        beside_child: bool,
    },
    /// The parent unicode name, looked up in the child's directory.
    ParentName,
    /// A [`ResolveOptions::parent_dirs`] directory, with the file name taken from the parent
    /// unicode name (`locator: None`) or from parent locator entry `locator`.
    SearchDir {
        /// The search directory.
        dir: PathBuf,
        /// The locator entry whose file name was used, or `None` for the parent unicode name.
        locator: Option<usize>,
    },
}

impl FoundBy {
    /// Whether the candidate came from a parent locator path itself (not a fallback by name
    /// or search directory).
    pub fn is_locator(&self) -> bool {
        matches!(self, FoundBy::Locator { .. })
    }

    /// The header field that led to the candidate: (byte offset within the dynamic disk
    /// header, length in bytes, structure path).
    pub fn header_field(&self) -> (u64, u64, String) {
        match self {
            FoundBy::Locator { index, .. } => header::locator_spot(*index),
            FoundBy::SearchDir { locator: Some(i), .. } => header::locator_spot(*i),
            FoundBy::ParentName | FoundBy::SearchDir { locator: None, .. } => header::Field::ParentUnicodeName.spot(),
        }
    }
}

impl fmt::Display for FoundBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FoundBy::Locator { index, code, beside_child: false } => {
                write!(f, "parent locator {index} ({})", code.name())
            }
            FoundBy::Locator { index, code, beside_child: true } => {
                write!(f, "the file name of parent locator {index} ({}) beside the child", code.name())
            }
            FoundBy::ParentName => f.write_str("the parent unicode name beside the child"),
            FoundBy::SearchDir { dir, locator: None } => {
                write!(f, "the parent unicode name in search directory {}", dir.display())
            }
            FoundBy::SearchDir { dir, locator: Some(i) } => {
                write!(f, "the file name of parent locator {i} in search directory {}", dir.display())
            }
        }
    }
}

/// A file that may be the parent, and how its path was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The path tried.
    pub path: PathBuf,
    /// Where the path came from.
    pub found_by: FoundBy,
}

/// One decoded parent locator path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocatorPath {
    /// Locator entry index, 0..8.
    pub index: usize,
    /// Platform code of the entry.
    pub code: PlatformCode,
    /// The decoded path as stored (Windows separators not yet mapped).
    pub path: String,
}

/// Reads and decodes the path of every followable parent locator of `header` (`W2ru`, `W2ku`,
/// `MacX`, `Wi2r`, `Wi2k`), in entry order. `W2ru`/`W2ku`/`MacX` payloads are decoded by the
/// locator family's reader ([`decoded_paths`]), so resolution follows exactly the paths that
/// family judges; the deprecated single-byte codes are read by the same [`read_payload`].
/// Payloads longer than [`crate::format::locator::PAYLOAD_CAP`] bytes or not wholly inside the file are not
/// read; entries whose payload cannot be decoded are left out (the locator family reports
/// them).
pub fn locator_paths(src: &dyn ReadAt, header: &DynamicDiskHeader) -> Vec<LocatorPath> {
    let mut out: Vec<LocatorPath> = decoded_paths(src, header)
        .into_iter()
        .filter_map(|(index, code, path)| path.ok().map(|path| LocatorPath { index, code, path }))
        .collect();
    for (index, loc) in header.parent_locators.iter().enumerate() {
        let code = loc.code();
        if !matches!(code, PlatformCode::Wi2r | PlatformCode::Wi2k) {
            continue;
        }
        if let Some(buf) = read_payload(src, loc) {
            out.push(LocatorPath { index, code, path: decode_legacy(&buf) });
        }
    }
    out.retain(|l| !l.path.is_empty());
    out.sort_by_key(|l| l.index);
    out
}

/// `\` → `/`.
fn slashes(p: &str) -> String {
    p.replace('\\', "/")
}

/// A relative Windows path (`.\dir\p.vhd`) as a path relative to `dir`.
fn relative_candidate(dir: &Path, p: &str) -> PathBuf {
    let s = slashes(p);
    let s = s.strip_prefix("./").unwrap_or(&s);
    dir.join(s)
}

/// An absolute Windows path with its drive letter stripped (`C:\d\p.vhd` → `/d/p.vhd`).
fn absolute_candidate(p: &str) -> PathBuf {
    let s = slashes(p);
    let b = s.as_bytes();
    let s = if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' { &s[2..] } else { &s[..] };
    if s.starts_with('/') {
        PathBuf::from(s)
    } else {
        PathBuf::from(format!("/{s}"))
    }
}

/// The last component of a Windows or POSIX path; `None` for an empty name, `.` or `..`.
pub fn file_name_of(p: &str) -> Option<String> {
    let last = p.rsplit(['\\', '/']).next().unwrap_or("");
    if last.is_empty() || last == "." || last == ".." {
        None
    } else {
        Some(last.to_string())
    }
}

/// The directory a child's relative parent paths start from (`.` for a bare file name).
pub fn child_dir(child: &Path) -> PathBuf {
    match child.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Every candidate parent path of the differencing disk at `child` (header `header`, locator
/// paths `locators`), in the order of the module documentation, without duplicate paths.
pub fn candidates(
    child: &Path,
    header: &DynamicDiskHeader,
    locators: &[LocatorPath],
    opts: &ResolveOptions,
) -> Vec<Candidate> {
    let dir = child_dir(child);
    let mut out: Vec<Candidate> = Vec::new();
    let mut push = |path: PathBuf, found_by: FoundBy| {
        if !out.iter().any(|c| c.path == path) {
            out.push(Candidate { path, found_by });
        }
    };
    let of = |code: PlatformCode| locators.iter().filter(move |l| l.code == code);
    let loc = |l: &LocatorPath, beside_child: bool| FoundBy::Locator { index: l.index, code: l.code, beside_child };
    for l in of(PlatformCode::W2ru) {
        push(relative_candidate(&dir, &l.path), loc(l, false));
    }
    for l in of(PlatformCode::W2ku) {
        push(absolute_candidate(&l.path), loc(l, false));
        if let Some(name) = file_name_of(&l.path) {
            push(dir.join(name), loc(l, true));
        }
    }
    for l in of(PlatformCode::MacX) {
        let p = PathBuf::from(&l.path);
        push(if p.is_absolute() { p } else { dir.join(p) }, loc(l, false));
    }
    for l in of(PlatformCode::Wi2r) {
        push(relative_candidate(&dir, &l.path), loc(l, false));
    }
    for l in of(PlatformCode::Wi2k) {
        push(absolute_candidate(&l.path), loc(l, false));
        if let Some(name) = file_name_of(&l.path) {
            push(dir.join(name), loc(l, true));
        }
    }
    let parent_name = header.parent_name().as_deref().and_then(file_name_of);
    if let Some(name) = &parent_name {
        push(dir.join(name), FoundBy::ParentName);
    }
    for sdir in &opts.parent_dirs {
        if let Some(name) = &parent_name {
            push(sdir.join(name), FoundBy::SearchDir { dir: sdir.clone(), locator: None });
        }
        for l in locators {
            if let Some(name) = file_name_of(&l.path) {
                push(sdir.join(name), FoundBy::SearchDir { dir: sdir.clone(), locator: Some(l.index) });
            }
        }
    }
    out
}

/// A resolved image of a chain: its path, open source and parsed structures.
pub struct Link {
    /// The path it was opened by (for a parent: the candidate path that resolved).
    pub path: PathBuf,
    /// Which file it is (the same for every path to it).
    pub id: FileId,
    /// The image, opened read-only.
    pub src: FileSource,
    /// Its structures, as [`Layout::parse`] reads them.
    pub layout: Layout,
    /// How it was found from its child (`None` for the child the walk started from).
    pub found_by: Option<FoundBy>,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link").field("path", &self.path).field("found_by", &self.found_by).finish_non_exhaustive()
    }
}

/// A candidate that exists but was not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The candidate.
    pub candidate: Candidate,
    /// Why it was not taken.
    pub reason: RejectReason,
}

/// Why an existing candidate is not the parent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// The file could not be opened or has no usable hard disk footer (`conectix` cookie).
    NotVhd(String),
    /// Its footer unique id (given) differs from the child's parent unique id.
    UuidMismatch([u8; 16]),
}

/// A candidate outside the parent search directories, refused by [`confine`] before anything
/// at its path was opened or `stat`ed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The candidate as made from the header field.
    pub candidate: Candidate,
    /// The path the walk reached when it left the search directories (symbolic links inside
    /// them resolved).
    pub outside: PathBuf,
}

/// The outcome of resolving one differencing disk's parent.
#[derive(Debug)]
#[non_exhaustive]
pub enum Resolution {
    /// The parent: the first candidate that exists, is a VHD and matches the parent unique id.
    /// `rejected` lists existing candidates tried before it.
    Found {
        /// The parent image.
        link: Box<Link>,
        /// Existing candidates that came earlier but were not taken.
        rejected: Vec<Rejected>,
    },
    /// No candidate matched. `rejected` lists the candidates that exist (empty: none exists);
    /// `tried` every path tried.
    NotFound {
        /// Existing candidates and why each was not taken, in candidate order.
        rejected: Vec<Rejected>,
        /// Every path tried, in candidate order.
        tried: Vec<PathBuf>,
        /// Candidates refused because they lie outside the search directories, in candidate
        /// order (always empty under [`ParentSearch::Anywhere`]).
        refused: Vec<Refused>,
    },
}

/// Most symbolic links [`confine`] follows for one path (as the kernel's own limit of 40).
const MAX_LINK_HOPS: usize = 40;

/// Why [`confine`] did not return a path inside the search directories.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Confined {
    /// The walk left the search directories at this path (nothing at it was `stat`ed).
    Outside(PathBuf),
    /// The path lies inside but a component does not exist, cannot be read, or the walk
    /// met more than 40 symbolic links (a cycle).
    Unavailable,
}

/// Whether `p` is `root` or below it (both absolute and normalized).
fn under(p: &Path, root: &Path) -> bool {
    p.starts_with(root)
}

/// A parent search directory: as given (made absolute, not resolved) and canonicalized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchRoot {
    /// The directory as given, made absolute without resolving anything.
    pub given: PathBuf,
    /// Its canonical path.
    pub canonical: PathBuf,
}

/// The search directories of a child in `child_dir` under `opts` (the child's directory, then
/// each [`ResolveOptions::parent_dirs`] directory); directories that do not exist are left out.
pub fn search_roots(child_dir: &Path, opts: &ResolveOptions) -> Vec<SearchRoot> {
    std::iter::once(child_dir)
        .chain(opts.parent_dirs.iter().map(PathBuf::as_path))
        .filter_map(|d| {
            Some(SearchRoot { given: std::path::absolute(d).ok()?, canonical: std::fs::canonicalize(d).ok()? })
        })
        .collect()
}

/// [`confine`] for a candidate made from a search directory as given: a path under a root as
/// given is first moved under that root's canonical path (so that a child named through a
/// symbolic link, e.g. `/tmp` to `/private/tmp`, finds its parents beside it).
///
/// # Errors
/// As [`confine`].
pub fn confine_in(path: &Path, roots: &[SearchRoot]) -> Result<PathBuf, Confined> {
    let abs = std::path::absolute(path).map_err(|_| Confined::Unavailable)?;
    let moved =
        roots.iter().find_map(|r| abs.strip_prefix(&r.given).ok().map(|rest| r.canonical.join(rest))).unwrap_or(abs);
    let canon: Vec<PathBuf> = roots.iter().map(|r| r.canonical.clone()).collect();
    confine(&moved, &canon)
}

/// The one gate of confined parent search: resolves `path` one component at a time, following
/// symbolic links only inside `roots` (canonical directories), and returns the resolved path
/// when it lies strictly inside one of them.
///
/// Components that are `roots` or their ancestors are taken as they are (a canonical path has
/// no links); a component below a root is `lstat`ed and, if it is a symbolic link, its target
/// is walked in its place (at most 40 links); any other component is outside, and the walk
/// stops there without touching it, so the outcome never depends on what exists outside.
///
/// # Errors
/// [`Confined::Outside`] with the path where the walk left the roots;
/// [`Confined::Unavailable`] for a missing component or a link cycle inside.
pub fn confine(path: &Path, roots: &[PathBuf]) -> Result<PathBuf, Confined> {
    use std::collections::VecDeque;
    use std::path::Component;
    let abs = std::path::absolute(path).map_err(|_| Confined::Unavailable)?;
    let mut queue: VecDeque<std::ffi::OsString> = VecDeque::new();
    let mut cur = PathBuf::from("/");
    let push_front = |queue: &mut VecDeque<std::ffi::OsString>, cur: &mut PathBuf, p: &Path| {
        let mut parts: Vec<std::ffi::OsString> = Vec::new();
        for c in p.components() {
            match c {
                Component::RootDir | Component::Prefix(_) => {
                    *cur = PathBuf::from("/");
                    parts.clear();
                }
                Component::CurDir => {}
                Component::ParentDir => parts.push("..".into()),
                Component::Normal(n) => parts.push(n.to_os_string()),
            }
        }
        for part in parts.into_iter().rev() {
            queue.push_front(part);
        }
    };
    push_front(&mut queue, &mut cur, &abs);
    let mut hops = 0usize;
    while let Some(part) = queue.pop_front() {
        if part == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&part);
        if roots.iter().any(|r| under(r, &next)) {
            // A root or an ancestor of one: canonical, no link to follow.
            cur = next;
            continue;
        }
        if !roots.iter().any(|r| under(&next, r)) {
            let mut outside = next;
            for rest in queue {
                outside.push(rest);
            }
            return Err(Confined::Outside(outside));
        }
        let meta = std::fs::symlink_metadata(&next).map_err(|_| Confined::Unavailable)?;
        if meta.file_type().is_symlink() {
            hops += 1;
            if hops > MAX_LINK_HOPS {
                return Err(Confined::Unavailable);
            }
            let target = std::fs::read_link(&next).map_err(|_| Confined::Unavailable)?;
            push_front(&mut queue, &mut cur, &target);
        } else {
            cur = next;
        }
    }
    if roots.iter().any(|r| under(&cur, r) && cur != *r) {
        Ok(cur)
    } else {
        Err(Confined::Outside(cur))
    }
}

/// Resolves the parent of the differencing disk at `child` (bytes `src`, dynamic disk header
/// `header`) by the candidate order of the module documentation, through [`confine`] under
/// [`ParentSearch::Confined`]. Never fails: files that do not exist are skipped, files that
/// exist but are not the parent are listed as rejected, candidates outside the search
/// directories as refused.
pub fn resolve_parent(child: &Path, src: &dyn ReadAt, header: &DynamicDiskHeader, opts: &ResolveOptions) -> Resolution {
    let roots = match opts.parent_search {
        ParentSearch::Confined => Some(search_roots(&child_dir(child), opts)),
        _ => None,
    };
    resolve_parent_in(child, src, header, opts, roots.as_deref())
}

/// [`resolve_parent`] with the search roots of the child's directory already computed
/// (`None` under [`ParentSearch::Anywhere`]).
fn resolve_parent_in(
    child: &Path,
    src: &dyn ReadAt,
    header: &DynamicDiskHeader,
    opts: &ResolveOptions,
    roots: Option<&[SearchRoot]>,
) -> Resolution {
    let locators = locator_paths(src, header);
    let cands = candidates(child, header, &locators, opts);
    let null_id = header.parent_unique_id == [0u8; 16];
    let mut rejected = Vec::new();
    let mut tried = Vec::new();
    let mut refused = Vec::new();
    for cand in cands {
        let mut real_path = None;
        let opened = match roots {
            Some(roots) => match confine_in(&cand.path, roots) {
                Ok(real) => {
                    tried.push(cand.path.clone());
                    let f = open_regular_nofollow(&real);
                    real_path = Some(real);
                    f
                }
                Err(Confined::Outside(outside)) => {
                    refused.push(Refused { candidate: cand, outside });
                    continue;
                }
                Err(Confined::Unavailable) => {
                    tried.push(cand.path.clone());
                    continue;
                }
            },
            None => {
                tried.push(cand.path.clone());
                open_regular(&cand.path)
            }
        };
        let src = match opened.and_then(FileSource::from_file) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) if std::fs::metadata(&cand.path).is_ok_and(|m| m.is_dir()) => {
                let _ = e;
                continue;
            }
            Err(e) => {
                rejected
                    .push(Rejected { candidate: cand, reason: RejectReason::NotVhd(format!("cannot be read: {e}")) });
                continue;
            }
        };
        let layout = Layout::parse(&src);
        let Some(footer) = layout.footer() else {
            let why = "has no usable hard disk footer (no \"conectix\" cookie at the end or, for sparse disks, at 0)";
            rejected.push(Rejected { candidate: cand, reason: RejectReason::NotVhd(why.to_string()) });
            continue;
        };
        if !null_id && footer.unique_id != header.parent_unique_id {
            let id = footer.unique_id;
            rejected.push(Rejected { candidate: cand, reason: RejectReason::UuidMismatch(id) });
            continue;
        }
        let id = FileId::of(&src, real_path.as_deref().unwrap_or(&cand.path));
        let link = Link { path: cand.path, id, src, layout, found_by: Some(cand.found_by) };
        return Resolution::Found { link: Box::new(link), rejected };
    }
    Resolution::NotFound { rejected, tried, refused }
}

/// Why a chain walk stopped at its last image.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChainEnd {
    /// The last image is not a differencing disk: the chain is complete.
    Complete,
    /// The last image is a differencing disk without a usable dynamic disk header, so its
    /// parent cannot be looked for.
    NoHeader,
    /// No candidate matched (see [`Resolution::NotFound`]).
    NotFound {
        /// Existing candidates and why each was not taken.
        rejected: Vec<Rejected>,
        /// Every path tried.
        tried: Vec<PathBuf>,
        /// Candidates refused as outside the search directories.
        refused: Vec<Refused>,
    },
    /// The parent resolved to an image already in the chain at index `earlier` (0 = child).
    Cycle {
        /// The parent as resolved.
        path: PathBuf,
        /// How it was found.
        found_by: FoundBy,
        /// Index in [`ResolvedChain::links`] of the image it revisits.
        earlier: usize,
        /// Whether the revisit was recognised by the footer unique id (not the canonical path).
        by_unique_id: bool,
    },
    /// The chain has [`ResolveOptions::max_depth`] images and the last one is still differencing.
    Depth {
        /// The limit in force (images, child included).
        limit: usize,
    },
}

impl ChainEnd {
    /// Whether every image of the chain was resolved.
    pub fn is_complete(&self) -> bool {
        matches!(self, ChainEnd::Complete)
    }
}

/// A differencing chain as resolved: child first.
#[derive(Debug)]
pub struct ResolvedChain {
    /// The images, child first; each `links[i + 1]` is the parent of `links[i]`.
    pub links: Vec<Link>,
    /// Existing candidates rejected before `links[i + 1]` was found (one list per link that has
    /// a parent; indices match `links`).
    pub rejected: Vec<Vec<Rejected>>,
    /// Why the walk stopped at the last link.
    pub end: ChainEnd,
}

impl ResolvedChain {
    /// A one-line explanation of why the chain has no complete meaning (`None` if complete).
    pub fn problem(&self) -> Option<String> {
        let last = self.links.last().map(|l| l.path.display().to_string()).unwrap_or_default();
        match &self.end {
            ChainEnd::Complete => None,
            ChainEnd::NoHeader => Some(format!("{last}: differencing disk without a readable dynamic disk header")),
            ChainEnd::NotFound { rejected, tried, refused } => {
                if let Some(r) = rejected.first() {
                    let why = match &r.reason {
                        RejectReason::NotVhd(why) => why.clone(),
                        RejectReason::UuidMismatch(id) => {
                            format!("its unique id {} differs from the parent unique id", format_uuid(id))
                        }
                    };
                    Some(format!("{last}: parent candidate {} rejected: {why}", r.candidate.path.display()))
                } else if let Some(r) = refused.first() {
                    Some(format!(
                        "{last}: parent not found (tried {} paths); {} (from {}) lies outside the parent search \
                         directories and was not opened (pass --parent-dir DIR)",
                        tried.len(),
                        r.outside.display(),
                        r.candidate.found_by
                    ))
                } else {
                    Some(format!("{last}: parent not found (tried {} paths)", tried.len()))
                }
            }
            ChainEnd::Cycle { path, earlier, .. } => {
                Some(format!("{last}: parent {} is already image {earlier} of the chain (cycle)", path.display()))
            }
            ChainEnd::Depth { limit } => Some(format!("{last}: chain deeper than the limit of {limit} images")),
        }
    }
}

/// Follows the parents of `child` (already opened as `src`) until a non-differencing image, an
/// unresolvable parent, a cycle or the depth limit. Never fails; see [`ChainEnd`]. `opts` is a
/// [`ResolveOptions`] or anything that converts into one (`&CheckOptions`).
pub fn walk_chain(child: &Path, src: FileSource, opts: impl Into<ResolveOptions>) -> ResolvedChain {
    let opts = &opts.into();
    let layout = Layout::parse(&src);
    let first = Link { path: child.to_path_buf(), id: FileId::of(&src, child), src, layout, found_by: None };
    let limit = opts.max_depth.clamp(1, MAX_CHAIN_DEPTH);
    let mut links = vec![first];
    let mut rejected_all = Vec::new();
    // The search roots of the last child's directory (a chain usually lives in one directory).
    let mut roots: Option<(PathBuf, Vec<SearchRoot>)> = None;
    let end = loop {
        let Some(last) = links.last() else { break ChainEnd::Complete };
        if last.layout.disk_type() != Some(DiskType::Differencing) {
            break ChainEnd::Complete;
        }
        let Some((_, header)) = &last.layout.header else { break ChainEnd::NoHeader };
        if links.len() >= limit {
            break ChainEnd::Depth { limit };
        }
        let dir = child_dir(&last.path);
        if opts.parent_search == ParentSearch::Confined && roots.as_ref().is_none_or(|(d, _)| *d != dir) {
            let r = search_roots(&dir, opts);
            roots = Some((dir, r));
        }
        let r = roots.as_ref().map(|(_, r)| r.as_slice());
        match resolve_parent_in(&last.path, &last.src, header, opts, r) {
            Resolution::NotFound { rejected, tried, refused } => break ChainEnd::NotFound { rejected, tried, refused },
            Resolution::Found { link, rejected } => {
                let by_path = links.iter().position(|l| l.id == link.id);
                let id = link.layout.footer().map(|f| f.unique_id).filter(|id| *id != [0u8; 16]);
                let by_id =
                    id.and_then(|id| links.iter().position(|l| l.layout.footer().is_some_and(|f| f.unique_id == id)));
                if let Some(earlier) = by_path.or(by_id) {
                    let found_by = link.found_by.clone().unwrap_or(FoundBy::ParentName);
                    break ChainEnd::Cycle { path: link.path, found_by, earlier, by_unique_id: by_path.is_none() };
                }
                rejected_all.push(rejected);
                links.push(*link);
            }
        }
    };
    ResolvedChain { links, rejected: rejected_all, end }
}
