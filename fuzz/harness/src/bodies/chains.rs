//! Body of the fuzz target `check_chain`: a differencing chain of two to four small images built
//! from the input, with related unique ids, parent names and parent locators, written to a
//! temporary directory and checked by path, so that parent resolution
//! ([`vhd_validator::chain::resolve`]) and the chain rules ([`vhd_validator::check::chain`]) run on it.

use super::{
    agrees_with_reference, apply_patch, fuzz_options, tiny_fixed, tiny_sparse, work_budget, Anchors, Input,
    SliceSource, TinySparse, DIGEST_CAP, MAX_PATCHES,
};
use std::collections::BTreeSet;
use std::path::Path;
use vhd_validator::chain::ChainReader;
use vhd_validator::check::{check_image, check_path};
use vhd_validator::format::locator::{encode_macx, encode_utf16le};
use vhd_validator::format::{DiskType, PlatformCode};
use vhd_validator::rules::{Family, Profile, Severity};

/// Current sizes a level picks from, in bytes (a child larger or smaller than its parent
/// reaches CHAIN-SIZE-CHILD-LARGER / -SMALLER).
const SIZES: [u64; 4] = [8192, 16384, 65536, 12288];

/// A unique id for image `tag` (RFC 4122 version 4 bits set).
fn uuid(tag: u8) -> [u8; 16] {
    let mut u = [tag ^ 0x5A; 16];
    u[6] = 0x40 | (tag & 0x0F);
    u[8] = 0x80 | (tag & 0x3F);
    u
}

/// The file name of chain level `i`.
fn name(i: usize) -> String {
    format!("level{i}.vhd")
}

/// Fuzz target `check_chain`. `data` is:
///
/// - a count byte: the chain has `2 + count % 3` images, `level0.vhd` (the child checked)
///   to `levelN.vhd` (the root);
/// - a root byte: bit 0 chooses a fixed (0) or dynamic (1) root; the rest picks its size;
/// - for each differencing level, child first, four bytes:
///   1. size (index into 8, 16, 64 or 12 KiB) and, in bits 2..8, the first sector bitmap byte
///      of its one allocated block;
///   2. the parent unique id (bits 0-1: 0 the parent's, 1 its own, 2 another image's, 3 zero), the
///      parent time stamp (bit 2: off by one second) and the parent unicode name (bits 3-4:
///      the parent's file name, a missing file's, the child's own, empty);
///   3. which parent locators exist (bit 0 W2ku, 1 W2ru, 2 MacX, 3 an unknown platform
///      code) and, in bits 4-7, what they point at (0-9 the parent, 10 a missing file,
///      11 the child itself, 12 the root, 13 a file outside the directory, 14 the directory,
///      15 a path with `..` components back into it);
///   4. the block's number (modulo the BAT);
/// - then up to [`MAX_PATCHES`] byte patches, as in [`super::mutate_corpus`].
///
/// Oracles: no panic; the findings `check_path` reports for each image of the chain, without
/// the `chain` family, are the findings [`check_image`] reports for the same bytes;
/// `ChainReader::open` accepts the chain when the check has no error finding, and then reads as
/// many levels as the check resolved, the same bytes as [`ChainReader::from_sources`] over the
/// resolved files, and (oracle 6) the reference model's bytes.
///
/// # Panics
/// Only when an oracle is violated.
pub fn check_chain(data: &[u8]) {
    let (dir, cap) = chain_files(data);
    exercise_paths(&dir.path().join(name(0)), cap);
}

/// Builds the chain of a [`check_chain`] input and writes it into a new temporary directory as
/// `level0.vhd` (the child) to `levelN.vhd`; returns the directory and the input's content
/// budget in bytes.
///
/// # Panics
/// When the temporary directory or a file cannot be written.
pub fn chain_files(data: &[u8]) -> (tempfile::TempDir, u64) {
    let mut input = Input(data);
    let count = 2 + usize::from(input.u8() % 3);
    let root_byte = input.u8();
    let root_level = count - 1;
    let mut images: Vec<Vec<u8>> = vec![Vec::new(); count];
    let root_size = SIZES[usize::from(root_byte >> 1) % SIZES.len()];
    let root_id = uuid(root_level as u8);
    images[root_level] = if root_byte & 1 == 0 {
        tiny_fixed(root_size, root_id)
    } else {
        tiny_sparse(&TinySparse {
            kind: DiskType::Dynamic,
            size: root_size,
            unique_id: root_id,
            parent: None,
            locators: Vec::new(),
            blocks: vec![(0, 0xF0), (1, 0x0F)],
        })
    };
    for level in (0..root_level).rev() {
        let (shape, link, locs, block) = (input.u8(), input.u8(), input.u8(), input.u8());
        let size = SIZES[usize::from(shape) % SIZES.len()];
        let parent_id = match link & 3 {
            0 => uuid(level as u8 + 1),
            1 => uuid(level as u8),
            2 => uuid(level as u8 + 2),
            _ => [0; 16],
        };
        let parent_name = match (link >> 3) & 3 {
            0 => name(level + 1),
            1 => "missing.vhd".to_string(),
            2 => name(level),
            _ => String::new(),
        };
        let target = match locs >> 4 {
            0..=9 => name(level + 1),
            10 => "missing.vhd".into(),
            11 => name(level),
            12 => name(root_level),
            13 => format!("../outside/{}", name(level + 1)),
            14 => ".".into(),
            _ => format!("../d/../{}", name(level + 1)),
        };
        let mut locators = Vec::new();
        if locs & 1 != 0 {
            locators.push((PlatformCode::W2ku, encode_utf16le(&format!("C:\\vhd\\{target}"))));
        }
        if locs & 2 != 0 {
            locators.push((PlatformCode::W2ru, encode_utf16le(&format!(".\\{}", target.replace('/', "\\")))));
        }
        if locs & 4 != 0 {
            locators.push((PlatformCode::MacX, encode_macx(&format!("/vhd/{target}"))));
        }
        if locs & 8 != 0 {
            locators.push((PlatformCode::from_raw(0x4142_4344), target.as_bytes().to_vec()));
        }
        let blocks_in_disk = size.div_ceil(u64::from(super::TINY_BLOCK)) as u32;
        let mut img = tiny_sparse(&TinySparse {
            kind: DiskType::Differencing,
            size,
            unique_id: uuid(level as u8),
            parent: Some((parent_id, &parent_name)),
            locators,
            blocks: vec![(u32::from(block) % blocks_in_disk, shape | 1)],
        });
        if link & 4 != 0 {
            bump_parent_timestamp(&mut img);
        }
        images[level] = img;
    }
    let anchors: Vec<Anchors> = images.iter().map(|l| Anchors::of(l)).collect();
    let mut patches = 0;
    while !input.is_empty() && patches < MAX_PATCHES {
        patches += 1;
        let op = input.u8() % 8;
        let level = usize::from(input.u8()) % images.len();
        let (Some(img), Some(anchors)) = (images.get_mut(level), anchors.get(level)) else { break };
        let offset = anchors.offset(&mut input, img.len(), op == 4);
        apply_patch(img, op, offset, &mut input);
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    for (i, img) in images.iter().enumerate() {
        std::fs::write(dir.path().join(name(i)), img).expect("write an image");
    }
    let total: usize = images.iter().map(Vec::len).sum();
    (dir, work_budget(total).min(DIGEST_CAP))
}

/// Adds one second to the parent time stamp of the differencing disk `img` (dynamic disk
/// header at 512, field at +56) and reseals the header.
fn bump_parent_timestamp(img: &mut [u8]) {
    let Some(raw) = img.get(512..1536).and_then(|b| <[u8; 1024]>::try_from(b).ok()) else { return };
    let mut h = vhd_validator::format::DynamicDiskHeader::decode(&raw);
    h.parent_timestamp = h.parent_timestamp.wrapping_add(1);
    h.seal();
    if let Some(dst) = img.get_mut(512..1536) {
        dst.copy_from_slice(&h.encode());
    }
}

/// The oracles of [`check_chain`] on the image at `path` and what it resolves.
fn exercise_paths(path: &Path, cap: u64) {
    let mut opts = fuzz_options(Profile::Strict);
    opts.max_depth = 8;
    let report = check_path(path, &opts).expect("check_path opens a file it was given");
    let mut files = Vec::with_capacity(report.images.len());
    for image in &report.images {
        let bytes = std::fs::read(&image.file).unwrap_or_else(|e| panic!("cannot read back {}: {e}", image.file));
        let alone = check_image(&SliceSource(&bytes), &image.file, &opts);
        let key = |f: &vhd_validator::Finding| (f.code.as_str(), f.offset, f.length, f.path.clone(), f.message.clone());
        let by_path: BTreeSet<_> =
            image.findings.iter().filter(|f| f.code.rule().family != Family::Chain).map(key).collect();
        let by_image: BTreeSet<_> = alone.findings.iter().map(key).collect();
        assert!(
            by_path == by_image,
            "check_path and check_image disagree on {}:\ncheck_path (chain rules left out): {by_path:#?}\ncheck_image: {by_image:#?}",
            image.file
        );
        files.push(bytes);
    }
    let errors = report.findings().any(|f| f.severity == Severity::Error);
    match ChainReader::open(path, &opts) {
        Ok(r) => {
            assert_eq!(r.depth(), report.images.len(), "the reader and the check resolve chains of different depths");
            let sources: Vec<Box<dyn vhd_validator::io::ReadAt>> =
                files.iter().map(|b| Box::new(b.clone()) as Box<dyn vhd_validator::io::ReadAt>).collect();
            let direct = ChainReader::from_sources(sources)
                .unwrap_or_else(|e| panic!("the resolved files read by path but not as sources: {e}"));
            assert_eq!(direct.size(), r.size());
            if r.size() <= cap {
                assert_eq!(
                    r.digest().map_err(|e| e.to_string()),
                    direct.digest().map_err(|e| e.to_string()),
                    "the chain reads differently by path and from its resolved files"
                );
            }
            let views: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
            agrees_with_reference(&r, &views, cap);
        }
        Err(e) => assert!(
            errors,
            "the reader refuses the chain ({e}) but the check has no error finding:\n{}",
            report.findings().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n")
        ),
    }
}

/// Seed inputs of `check_chain`: a clean chain of each length and root type, and chains with
/// each kind of broken link.
pub fn seed_inputs() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for count in 0..3u8 {
        for root in [0u8, 1] {
            let mut v = vec![count, root];
            for _ in 0..=count {
                // Same size as an 8 KiB root, parent id and name right, W2ru locator to the parent.
                v.extend_from_slice(&[0x00, 0x00, 0x02, 0x01]);
            }
            out.push((format!("clean-{}-{}", count + 2, if root == 0 { "fixed" } else { "dynamic" }), v));
        }
    }
    for (what, link, locs) in [
        ("uuid-other", 0x02u8, 0x02u8),
        ("uuid-null", 0x03, 0x02),
        ("timestamp", 0x04, 0x02),
        ("name-missing", 0x08, 0x00),
        ("name-self", 0x10, 0x00),
        ("locator-missing", 0x00, 0xA7),
        ("locator-self", 0x18, 0xB3),
        ("cycle", 0x11, 0xB2),
        ("locator-outside", 0x18, 0xD5),
        ("locator-dotdot", 0x18, 0xF2),
        ("locator-unknown-code", 0x00, 0x08),
    ] {
        out.push((format!("link-{what}"), vec![0, 1, 0x02, link, locs, 0x01]));
    }
    out.push(("size-larger".into(), vec![0, 0, 0x06, 0x00, 0x02, 0x09]));
    out
}
