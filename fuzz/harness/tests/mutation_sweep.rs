//! Exhaustive single-bit mutation sweep over the metadata of fixed, dynamic and differencing
//! images: every bit of the hard disk footer, the footer copy, the dynamic disk header, the BAT
//! and the parent locator payloads is flipped on its own, and each mutant is checked
//! (`check_path`, the parent chain included) and read (`ChainReader::open`, content hashed by
//! `bodies::content_hash`).
//!
//! Counted per disk type and structure: mutants, panics (must be 0: each mutant runs under
//! `catch_unwind`), timeouts (must be 0: a mutant whose check and read take longer than
//! [`DEADLINE`] counts as one; nothing is asserted about speed otherwise), mutants that change
//! the image's meaning (the virtual size, the content, whether the chain can be read, or which
//! files make up the chain differ from the original's), and how many of those got at least one
//! finding the original did not have (by image of the chain, rule code and structure path):
//! the detection rate. The rates are in docs/FUZZING.md; the tests keep floors a little below.
//!
//! - `sampled_sweep` (default): a deterministic sample of about one bit in
//!   [`SAMPLE_STRIDE`] per structure, fast enough for a debug build.
//! - `full_sweep` (`#[ignore]`d): every bit. Run it in release:
//!   `cargo test --release -p vhd-fuzz-harness --test mutation_sweep -- --ignored --nocapture`;
//!   with `VHD_SWEEP_REPORT=FILE` the table is also written to FILE.

use vhd_testkit as common;

use common::build::{self, BlockSpec, ParentSpec, SparseSpec};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vhd_fuzz_harness::bodies::{self, content_hash, ContentHash, SliceSource};
use vhd_validator::chain::resolve::walk_chain;
use vhd_validator::chain::ChainReader;
use vhd_validator::check::{check_path, CheckOptions, Layout};
use vhd_validator::format::bat::padded_bat_bytes;
use vhd_validator::format::{DiskType, DynamicDiskHeader, HardDiskFooter, PlatformCode};
use vhd_validator::io::FileSource;
use vhd_validator::Severity;

/// A mutant whose check and read take longer than this counts as a timeout.
const DEADLINE: Duration = Duration::from_secs(10);

/// The sampled sweep flips about one bit in this many.
const SAMPLE_STRIDE: u64 = 97;

/// Virtual bytes a mutant's content hash reads at most (64 MiB; the subjects hold far less).
const READ_BUDGET: u64 = 64 << 20;

/// Bytes of a BAT or locator payload swept at most per structure.
const AREA_CAP: u64 = 4096;

/// One image to mutate (the first file) with the parents it needs, as (file name, bytes).
struct Subject {
    name: String,
    kind: &'static str,
    files: Vec<(String, Vec<u8>)>,
}

/// Tallies are kept per (original verdict, mode, disk type, structure); the verdict is `pass`
/// when the original chain has no error finding. Modes:
///
/// - `flip`: the bit alone;
/// - `reseal`: the bit, then the structure's checksum recomputed, so that the checksum rule
///   cannot be what detects it (footer, footer copy and header; checksum bits skipped);
/// - `reseal+copy`: for the trailing footer of a dynamic or differencing disk, the resealed
///   footer also written over the footer copy at offset 0 (a consistent edit of both, as a tool
///   resizing the disk makes), so that neither the checksum nor the copy comparison can be
///   what detects it.
type Key = (&'static str, &'static str, &'static str, &'static str);

fn kind_name(k: Option<DiskType>) -> &'static str {
    match k {
        Some(DiskType::Fixed) => "fixed",
        Some(DiskType::Dynamic) => "dynamic",
        Some(DiskType::Differencing) => "differencing",
        _ => "other",
    }
}

fn subject(name: &str, files: Vec<(String, Vec<u8>)>) -> Subject {
    let kind = kind_name(Layout::parse(&SliceSource(&files[0].1)).disk_type());
    Subject { name: name.to_string(), kind, files }
}

/// corpus/seed (each image with the ancestors it resolves), the fuzzers' built-in chains, and
/// images built here with standard 512 KiB blocks: a fixed disk, a dynamic disk and a
/// differencing child of it with MacX, W2ru and W2ku locators.
fn subjects() -> Vec<Subject> {
    let mut out = Vec::new();
    let seed = common::seed_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&seed)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "vhd"))
        .collect();
    paths.sort();
    for p in paths {
        let chain = walk_chain(&p, FileSource::open(&p).unwrap(), &CheckOptions::default());
        let files = chain
            .links
            .iter()
            .map(|l| (l.path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&l.path).unwrap()))
            .collect();
        out.push(subject(&p.file_name().unwrap().to_string_lossy(), files));
    }
    let builtin = bodies::builtin_chains();
    let by_name = |n: &str| builtin.iter().find(|c| c.name == n).unwrap().levels.clone();
    let fixed = by_name("builtin-fixed");
    let dynamic = by_name("builtin-dynamic");
    out.push(subject("builtin-fixed", vec![("builtin-fixed.vhd".into(), fixed[0].clone())]));
    out.push(subject("builtin-dynamic", vec![("builtin-dynamic.vhd".into(), dynamic[0].clone())]));
    let diff = by_name("builtin-diff");
    out.push(subject(
        "builtin-diff",
        vec![("builtin-diff.vhd".into(), diff[0].clone()), ("builtin-dynamic.vhd".into(), diff[1].clone())],
    ));
    let diff_fixed = by_name("builtin-diff-over-fixed");
    out.push(subject(
        "builtin-diff-over-fixed",
        vec![
            ("builtin-diff-over-fixed.vhd".into(), diff_fixed[0].clone()),
            ("builtin-fixed.vhd".into(), fixed[0].clone()),
        ],
    ));

    let t = common::vhd_time(1_704_067_200);
    let f = build::fixed(64 << 10, build::uuid(0x51), t, 51, |s| s % 5 != 2);
    out.push(subject("test-fixed-64k", vec![("test-fixed-64k.vhd".into(), f.bytes)]));
    let spb = 1024;
    let parent = build::sparse(&SparseSpec {
        kind: DiskType::Dynamic,
        size: 2 << 20,
        block_size: 512 << 10,
        unique_id: build::uuid(0x52),
        timestamp: t,
        parent: None,
        blocks: vec![BlockSpec::full(0, spb), BlockSpec::runs(3, &[(0, 16), (500, 24)])],
        seed: 52,
    });
    out.push(subject("test-dynamic-2m", vec![("test-dynamic-2m.vhd".into(), parent.bytes.clone())]));
    let child = build::sparse(&SparseSpec {
        kind: DiskType::Differencing,
        size: 2 << 20,
        block_size: 512 << 10,
        unique_id: build::uuid(0x53),
        timestamp: t + 60,
        parent: Some(ParentSpec {
            unique_id: build::uuid(0x52),
            timestamp: t,
            name: "test-dynamic-2m.vhd".into(),
            locators: vec![
                (PlatformCode::MacX, "/vhd/test-dynamic-2m.vhd".into()),
                (PlatformCode::W2ru, ".\\test-dynamic-2m.vhd".into()),
                (PlatformCode::W2ku, "C:\\vhd\\test-dynamic-2m.vhd".into()),
            ],
        }),
        blocks: vec![BlockSpec::runs(0, &[(8, 8)]), BlockSpec::runs(1, &[(0, spb)])],
        seed: 53,
    });
    out.push(subject(
        "test-diff-2m",
        vec![("test-diff-2m.vhd".into(), child.bytes), ("test-dynamic-2m.vhd".into(), parent.bytes)],
    ));
    out
}

/// The structures of an image to sweep: (structure name, first byte, end byte).
fn structures(img: &[u8]) -> Vec<(&'static str, u64, u64)> {
    let len = img.len() as u64;
    let layout = Layout::parse(&SliceSource(img));
    // The trailing 512 bytes are a footer only when they carry the cookie (a truncated file's
    // last bytes are block data, and its footer copy is the footer in use).
    let mut v = Vec::new();
    if layout.tail.as_ref().is_some_and(|(_, f)| f.cookie_valid()) {
        v.push(("footer", layout.footer_start(), len));
    }
    if !layout.disk_type().is_some_and(DiskType::is_sparse) {
        return v;
    }
    v.push(("footer copy", 0, 512.min(len)));
    if let Some((hoff, h)) = &layout.header {
        v.push(("header", *hoff, (hoff + 1024).min(len)));
        let bat_end = h.table_offset.saturating_add(padded_bat_bytes(h.max_table_entries).min(AREA_CAP)).min(len);
        if h.table_offset < bat_end {
            v.push(("BAT", h.table_offset, bat_end));
        }
        if layout.disk_type() == Some(DiskType::Differencing) {
            for loc in h.parent_locators.iter().filter(|l| l.platform_code != 0) {
                let n = u64::from(loc.platform_data_length).max(1).div_ceil(512) * 512;
                let end = loc.platform_data_offset.saturating_add(n.min(AREA_CAP)).min(len);
                if loc.platform_data_offset < end {
                    v.push(("locator", loc.platform_data_offset, end));
                }
            }
        }
    }
    v
}

/// What an image means: its chain (each image's file name, and for a parent which locator or
/// name found it) and, when readable, its virtual size and content.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Meaning {
    chain: Vec<(String, String)>,
    read: Option<(u64, ContentHash)>,
}

/// One check and read of the image at `path`.
struct Eval {
    /// (image index in the chain, rule code, structure path) of every finding.
    findings: BTreeSet<(usize, String, String)>,
    /// The subset of `findings` with error severity.
    errors: BTreeSet<(usize, String, String)>,
    meaning: Meaning,
}

fn opts() -> CheckOptions {
    CheckOptions::default().with_now(common::FIXED_NOW_UNIX)
}

fn evaluate(path: &Path) -> Eval {
    let report = check_path(path, &opts()).expect("check_path opens the image");
    let mut findings = BTreeSet::new();
    let mut errors = BTreeSet::new();
    for (i, img) in report.images.iter().enumerate() {
        for f in &img.findings {
            let key = (i, f.code.as_str().to_string(), f.path.to_string());
            if f.severity == Severity::Error {
                errors.insert(key.clone());
            }
            findings.insert(key);
        }
    }
    let walked = walk_chain(path, FileSource::open(path).expect("open the image"), &opts());
    let chain = walked
        .links
        .iter()
        .map(|l| {
            let name = l.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            (name, l.found_by.as_ref().map(ToString::to_string).unwrap_or_default())
        })
        .collect();
    let read = ChainReader::open(path, &opts())
        .ok()
        .and_then(|r| content_hash(&r, 1 << 20, READ_BUDGET).ok().map(|h| (r.size(), h)));
    Eval { findings, errors, meaning: Meaning { chain, read } }
}

/// Counts for one [`Key`].
#[derive(Clone, Debug, Default)]
struct Tally {
    mutants: u64,
    panics: u64,
    timeouts: u64,
    changed: u64,
    detected: u64,
    new_error: u64,
    /// Mutants that keep the meaning but get a new finding anyway.
    flagged_unchanged: u64,
    slowest: Duration,
    /// A few undetected meaning-changing mutants: (subject, byte offset in the file, bit).
    missed: Vec<(String, u64, u8)>,
}

impl Tally {
    fn rate(&self) -> f64 {
        if self.changed == 0 {
            1.0
        } else {
            self.detected as f64 / self.changed as f64
        }
    }
}

/// The SplitMix64 output for state `z`.
fn mix(z: u64) -> u64 {
    common::Rng(z).next_u64()
}

/// Recomputes the checksum of the footer (512 bytes) or header (1024 bytes) in `area`.
fn reseal(area: &mut [u8]) {
    if let Ok(raw) = <[u8; 512]>::try_from(&*area) {
        let mut f = HardDiskFooter::decode(&raw);
        f.seal();
        area.copy_from_slice(&f.encode());
    } else if let Ok(raw) = <[u8; 1024]>::try_from(&*area) {
        let mut h = DynamicDiskHeader::decode(&raw);
        h.seal();
        area.copy_from_slice(&h.encode());
    }
}

/// The checksum field of a structure, as a byte range within it.
fn checksum_field(structure: &str) -> std::ops::Range<u64> {
    if structure == "header" {
        36..40
    } else {
        64..68
    }
}

/// Sweeps every subject; `stride` 1 flips every bit, otherwise about one bit in `stride`
/// (chosen by a fixed hash of the subject, structure and bit, so the sample is the same on
/// every run).
fn sweep(stride: u64) -> BTreeMap<Key, Tally> {
    let dir = tempfile::tempdir().unwrap();
    let mut tallies: BTreeMap<Key, Tally> = BTreeMap::new();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| eprintln!("mutant panicked: {info}")));
    for (si, s) in subjects().iter().enumerate() {
        let sub = dir.path().join(format!("s{si}"));
        std::fs::create_dir(&sub).unwrap();
        for (name, bytes) in &s.files {
            std::fs::write(sub.join(name), bytes).unwrap();
        }
        let path = sub.join(&s.files[0].0);
        let original = evaluate(&path);
        let verdict = if original.errors.is_empty() { "pass" } else { "fail" };
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        let pristine = s.files[0].1.clone();
        let mut img = pristine.clone();
        for (structure, start, end) in structures(&img) {
            let (a, b) = (start as usize, end as usize);
            let sealable = matches!(structure, "footer" | "footer copy" | "header") && matches!(b - a, 512 | 1024);
            let copyable = structure == "footer" && b - a == 512 && s.kind != "fixed" && pristine.len() >= 1024;
            for mode in ["flip", "reseal", "reseal+copy"] {
                if (mode != "flip" && !sealable) || (mode == "reseal+copy" && !copyable) {
                    continue;
                }
                let t = tallies.entry((verdict, mode, s.kind, structure)).or_default();
                for bit in 0..(end - start) * 8 {
                    if stride > 1 && !mix(bit ^ mix(si as u64) ^ mix(start)).is_multiple_of(stride) {
                        continue;
                    }
                    if mode != "flip" && checksum_field(structure).contains(&(bit / 8)) {
                        continue;
                    }
                    let at = start + bit / 8;
                    img[at as usize] ^= 0x80u8 >> (bit % 8);
                    if mode != "flip" {
                        reseal(&mut img[a..b]);
                    }
                    file.write_all_at(&img[a..b], start).unwrap();
                    if mode == "reseal+copy" {
                        file.write_all_at(&img[a..b], 0).unwrap();
                    }
                    let began = Instant::now();
                    let result = catch_unwind(AssertUnwindSafe(|| evaluate(&path)));
                    let took = began.elapsed();
                    img[a..b].copy_from_slice(&pristine[a..b]);
                    file.write_all_at(&img[a..b], start).unwrap();
                    if mode == "reseal+copy" {
                        file.write_all_at(&pristine[..512], 0).unwrap();
                    }
                    t.mutants += 1;
                    t.slowest = t.slowest.max(took);
                    if took > DEADLINE {
                        t.timeouts += 1;
                    }
                    let Ok(m) = result else {
                        t.panics += 1;
                        eprintln!("PANIC: {} {structure} ({mode}) byte {at} bit {}", s.name, bit % 8);
                        continue;
                    };
                    let new = m.findings.difference(&original.findings).next().is_some();
                    if m.meaning != original.meaning {
                        t.changed += 1;
                        if new {
                            t.detected += 1;
                        } else if t.missed.len() < 8 {
                            t.missed.push((s.name.clone(), at, (bit % 8) as u8));
                        }
                        if m.errors.difference(&original.errors).next().is_some() {
                            t.new_error += 1;
                        }
                    } else if new {
                        t.flagged_unchanged += 1;
                    }
                }
            }
        }
    }
    std::panic::set_hook(hook);
    tallies
}

fn table(tallies: &BTreeMap<Key, Tally>) -> String {
    let mut s = String::from(
        "| original | mode | disk type | structure | mutants | meaning changed | detected | detection rate | \
         new error | flagged, meaning kept | panics | timeouts | slowest (ms) |\n\
         |---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for ((verdict, mode, kind, structure), t) in tallies {
        let rate = if t.changed == 0 { "—".to_string() } else { format!("{:.1}%", 100.0 * t.rate()) };
        s.push_str(&format!(
            "| {verdict} | {mode} | {kind} | {structure} | {} | {} | {} | {rate} | {} | {} | {} | {} | {} |\n",
            t.mutants,
            t.changed,
            t.detected,
            t.new_error,
            t.flagged_unchanged,
            t.panics,
            t.timeouts,
            t.slowest.as_millis()
        ));
    }
    s
}

fn missed(tallies: &BTreeMap<Key, Tally>) -> String {
    let mut s = String::new();
    for ((verdict, mode, kind, structure), t) in tallies {
        for (subject, at, bit) in &t.missed {
            s.push_str(&format!("- {verdict} {mode} {kind} {structure}: {subject} byte {at} bit {bit} (MSB = 0)\n"));
        }
    }
    s
}

/// A detection-rate floor: (mode, disk type, structure, floor) over originals that pass.
type Floor = (&'static str, &'static str, &'static str, f64);

/// Asserts no panic, no timeout, and each floored structure's detection rate over originals
/// that pass at or above its floor.
fn assert_sweep(tallies: &BTreeMap<Key, Tally>, floors: &[Floor]) {
    let report = format!("{}\nundetected meaning-changing mutants (first few):\n{}", table(tallies), missed(tallies));
    eprintln!("{report}");
    if let Ok(out) = std::env::var("VHD_SWEEP_REPORT") {
        std::fs::write(out, &report).unwrap();
    }
    for ((verdict, mode, kind, structure), t) in tallies {
        assert_eq!(t.panics, 0, "{verdict} {mode} {kind} {structure}: {} mutants panicked", t.panics);
        assert_eq!(
            t.timeouts, 0,
            "{verdict} {mode} {kind} {structure}: {} mutants took longer than {DEADLINE:?}",
            t.timeouts
        );
    }
    for (mode, kind, structure, floor) in floors {
        let t = tallies
            .get(&("pass", *mode, *kind, *structure))
            .unwrap_or_else(|| panic!("no {mode} mutant of a {kind} {structure}"));
        assert!(t.changed > 0, "{mode} {kind} {structure}: no mutant changed the meaning");
        assert!(
            t.rate() >= *floor,
            "{mode} {kind} {structure}: detection rate {:.3} is below its floor {floor} ({} of {} \
             meaning-changing mutants detected)",
            t.rate(),
            t.detected,
            t.changed
        );
    }
}

#[test]
fn sampled_sweep() {
    let tallies = sweep(SAMPLE_STRIDE);
    let mutants: u64 = tallies.values().map(|t| t.mutants).sum();
    assert!(mutants > 1000, "the sample has only {mutants} mutants");
    assert_sweep(&tallies, &floors(SAMPLED_FLOOR));
}

#[test]
#[ignore = "every bit: run in release (see the module documentation)"]
fn full_sweep() {
    let tallies = sweep(1);
    assert_sweep(&tallies, &floors(FULL_FLOOR));
}

/// The (mode, disk type, structure) rows that have meaning-changing mutants over originals
/// that pass, and so a detection rate. (A footer copy never changes the meaning of an image
/// whose trailing footer is intact: readers use the trailing one.)
const FLOORED: &[(&str, &str, &str)] = &[
    ("flip", "fixed", "footer"),
    ("flip", "dynamic", "footer"),
    ("flip", "dynamic", "header"),
    ("flip", "dynamic", "BAT"),
    ("flip", "differencing", "footer"),
    ("flip", "differencing", "header"),
    ("flip", "differencing", "BAT"),
    ("flip", "differencing", "locator"),
    ("reseal", "fixed", "footer"),
    ("reseal", "dynamic", "footer"),
    ("reseal", "dynamic", "header"),
    ("reseal", "differencing", "footer"),
    ("reseal", "differencing", "header"),
    ("reseal+copy", "dynamic", "footer"),
    ("reseal+copy", "differencing", "footer"),
];

/// Every row measures 100% (docs/FUZZING.md). The sample has 3 to 16 meaning-changing mutants
/// per row, so this floor fails on the first miss; the full sweep's floor allows 1%.
const SAMPLED_FLOOR: f64 = 0.95;
const FULL_FLOOR: f64 = 0.99;

fn floors(floor: f64) -> Vec<Floor> {
    FLOORED.iter().map(|&(m, k, s)| (m, k, s, floor)).collect()
}
