//! The golden corpus: `corpus/generated/`, built from `specs/` by `vhd-generate corpus`.
//!
//! 1. It is reproducible: regenerating `specs/` into a temporary directory gives the same
//!    bytes (what `vhd-generate corpus --check` does).
//! 2. It covers every rule of the catalogue that bytes can trigger: each is expected by at
//!    least one case.
//! 3. It verifies: `verify_corpus_with` (the validator and the reference reader) agrees with
//!    every case's verdicts, exact codes and virtual disk digest.
//! 4. Independent readers agree: every case with a digest is read by qemu-img, libvhdi
//!    (pyvhdi) and 7-Zip wherever each supports it, and the bytes must match the manifest's
//!    digest. The known disagreements are listed in [`KNOWN`] (and explained in
//!    `docs/CORPUS.md`); a disagreement not listed there fails, and so does a listed one that
//!    no longer happens.
//!
//! A missing oracle tool skips that reader with a note, unless `VHD_REQUIRE_ORACLES=1` (CI).
//! Cases whose virtual disk is larger than [`READER_MAX_VIRTUAL`] are not given to the
//! external readers (they would write and hash gigabytes); the validator's reader still
//! checks their digest in test 3.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use vhd_generator::corpus::check_corpus;
use vhd_validator::chain::ChainReader;
use vhd_validator::check::{CheckOptions, Layout};
use vhd_validator::format::bitmap::SectorBitmap;
use vhd_validator::format::footer::DiskType;
use vhd_validator::io::{FileSource, ReadAt};
use vhd_validator::manifest::{verify_corpus_with, Case, CodeMatch, Manifest};
use vhd_validator::rules;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus_dir() -> PathBuf {
    repo().join("corpus/generated")
}

fn manifest() -> Manifest {
    Manifest::load(&corpus_dir()).expect("corpus/generated/manifest.json loads (run `vhd-generate corpus`)")
}

#[test]
fn corpus_is_reproducible_from_specs() {
    let diffs = check_corpus(&repo().join("specs"), &corpus_dir()).expect("specs/ generates");
    assert!(
        diffs.is_empty(),
        "corpus/generated/ differs from a regeneration of specs/ (run `cargo run -p vhd-generator --bin \
         vhd-generate -- corpus`):\n{}",
        diffs.join("\n")
    );
}

#[test]
fn every_byte_triggerable_rule_is_expected_by_a_case() {
    let m = manifest();
    let mut by_code: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in &m.cases {
        for code in &c.expected_codes {
            by_code.entry(code.as_str()).or_default().push(c.id.as_str());
        }
    }
    let missing: Vec<&str> = rules::catalogue()
        .iter()
        .filter(|r| r.byte_triggerable && !by_code.contains_key(r.code))
        .map(|r| r.code)
        .collect();
    assert!(missing.is_empty(), "byte-triggerable rules no corpus case expects: {missing:?}");
    // The corpus covers every disk type and chain depths 1 to 4.
    assert!(m.cases.len() >= 150, "only {} cases", m.cases.len());
    for tag in ["fixed", "dynamic", "differencing", "chain-depth-1", "chain-depth-2", "chain-depth-3", "chain-depth-4"]
    {
        assert!(m.cases.iter().any(|c| c.tags.iter().any(|t| t == tag)), "no case tagged {tag}");
    }
}

/// What every mainstream writer produces is healthy: its producer scenario (`specs/producers/`)
/// passes the strict profile with no warning (infos may describe its peculiarities), and every
/// producer docs/PRODUCERS.md lists has a case.
#[test]
fn producer_cases_pass_strict_without_warnings() {
    let m = manifest();
    let producers: Vec<_> = m.cases.iter().filter(|c| c.id.starts_with("producers/")).collect();
    let docs = std::fs::read_to_string(repo().join("docs/PRODUCERS.md")).unwrap();
    for dir in ["hyper-v", "virtual-pc", "virtualbox", "qemu", "blktap", "mkimg", "azure", "disk2vhd"] {
        let prefix = format!("producers/{dir}/");
        assert!(producers.iter().any(|c| c.id.starts_with(&prefix)), "no producer case under {prefix}");
        assert!(docs.contains(&format!("`{prefix}")), "docs/PRODUCERS.md does not list {prefix}");
    }
    for c in producers {
        assert_eq!(
            c.verdict.get(&vhd_validator::Profile::Strict),
            Some(&vhd_validator::manifest::Verdict::Accept),
            "{} must pass strict with no warning",
            c.id
        );
    }
}

/// Every known fault (vhd_validator::faults) has its case in the corpus, labelled with the
/// fault in `exposes`; a row in docs/CONFORMANCE.md's "Known faults" table; and every expect
/// entry of docs/conformance/readers.expect for a case that exposes faults gives a fault id
/// first in its reason. Every `exposes` label is a known fault.
#[test]
fn every_known_fault_has_a_case_a_docs_row_and_named_expectations() {
    let m = manifest();
    let docs = std::fs::read_to_string(repo().join("docs/CONFORMANCE.md")).unwrap();
    let table = docs.split("\n## Known faults\n").nth(1).expect("docs/CONFORMANCE.md has a Known faults section");
    for f in vhd_validator::faults::FAULTS {
        let case = m.cases.iter().find(|c| c.id == f.case).unwrap_or_else(|| panic!("{}: no case {}", f.id, f.case));
        assert!(case.exposes.iter().any(|e| e == f.id), "{}: case {} does not list it in exposes", f.id, f.case);
        assert!(
            table.lines().any(|l| l.starts_with(&format!("| `{}` |", f.id)) && l.contains(f.case)),
            "{}: no row in docs/CONFORMANCE.md's Known faults table",
            f.id
        );
    }
    for c in &m.cases {
        for e in &c.exposes {
            assert!(vhd_validator::faults::is_known(e), "{}: exposes unknown fault {e}", c.id);
        }
    }
    // In the committed reader results, the implementations a fault was found in fail its case,
    // and their expect line's reason starts with the fault id.
    let expect = std::fs::read_to_string(repo().join("docs/conformance/readers.expect")).unwrap();
    let mut section = String::new();
    let mut named: Vec<(String, String, String)> = Vec::new(); // (implementation, case, first word)
    for line in expect.lines().map(str::trim).filter(|l| !l.starts_with('#') && !l.is_empty()) {
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_string();
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        if let (Some(case), Some(first)) = (w.first(), w.get(2)) {
            named.push((section.clone(), case.to_string(), first.to_string()));
        }
    }
    for f in vhd_validator::faults::FAULTS {
        for imp in f.found_in.iter().filter(|i| expect.contains(&format!("[{i}]"))) {
            assert!(
                named.iter().any(|(s, c, w)| s == imp && c == f.case && *w == format!("{}:", f.id)),
                "readers.expect [{imp}] has no line for {} whose reason starts with `{}:`",
                f.case,
                f.id
            );
        }
    }
    for (s, c, w) in &named {
        if let Some(id) = w.strip_suffix(':').filter(|id| id.contains('-') && !id.contains(' ')) {
            if m.cases.iter().any(|k| k.id == *c && !k.exposes.is_empty()) {
                assert!(vhd_validator::faults::is_known(id), "readers.expect [{s}] {c}: {id} is not a known fault id");
            }
        }
    }
}

#[test]
fn corpus_verifies() {
    let summary = verify_corpus_with(&corpus_dir(), &CheckOptions::default(), CodeMatch::Exact);
    assert!(summary.passed(), "{summary}");
    assert_eq!(summary.cases.len(), manifest().cases.len());
}

// ---------------------------------------------------------------------------------------------
// Independent readers.

/// Larger virtual disks are not given to the external readers (each would write and hash the
/// whole disk); the validator's own reader still checks them in `corpus_verifies`.
const READER_MAX_VIRTUAL: u64 = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Reader {
    /// `qemu-img convert -f vpc -O raw` (no differencing support: chains are skipped).
    Qemu,
    /// libvhdi through pyvhdi (`set_parent` for chains).
    Libvhdi,
    /// `7zz e -so -tvhd`.
    SevenZip,
}

/// What a reader did with a case, compared with the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// Same size, same SHA-256.
    Agrees,
    /// The reader failed (message).
    Refuses(String),
    /// Another virtual disk size (bytes).
    Size(u64),
    /// Same size, other content: the differing sectors (at most a few hundred listed) and how
    /// many there are.
    Differs(Vec<u64>, u64),
}

/// A disagreement this project knows about and has explained in docs/CORPUS.md.
#[derive(Clone, Copy, Debug)]
enum Known {
    /// The reader cannot open or read the case.
    Refuses,
    /// The reader presents a disk of this many bytes.
    Size(u64),
    /// Same size, other bytes (explained in docs/CORPUS.md).
    Differs,
    /// libvhdi 20210425's sector bitmap bug: in a differencing image, a sector whose bit is
    /// clear is read from that image (not the parent) when an earlier bit of the same bitmap
    /// byte is set. The test checks that the differing sectors are exactly those and hold
    /// exactly the bytes the bug predicts.
    LibvhdiBitmapBug,
}

use Known::*;
use Reader::*;

/// Every known disagreement: (case, reader, what it does). docs/CORPUS.md says for each which
/// reading the specification supports.
const KNOWN: &[(&str, Reader, Known)] = &[
    // Sizes: QEMU counts whole sectors (current size / 512, rounded down).
    ("dynamic/footer/size-align", Qemu, Size(1_048_576)),
    ("dynamic/size/odd-bytes-12345678", Qemu, Size(12_345_344)),
    // QEMU takes the sector bitmap of a block smaller than 4 KiB to be 0 bytes long.
    ("dynamic/block-size/512b", Qemu, Differs),
    ("dynamic/header/block-size-small", Qemu, Differs),
    // libvhdi sizes a disk from the original size.
    ("dynamic/footer/original-size", Libvhdi, Size(2_097_152)),
    ("dynamic/size/original-larger", Libvhdi, Size(8_388_608)),
    // libvhdi refuses sector bitmaps smaller than a sector's worth of bits (blocks < 4 KiB
    // have a bitmap of less than one byte, padded to a sector).
    ("dynamic/block-size/512b", Libvhdi, Refuses),
    ("dynamic/header/block-size-small", Libvhdi, Refuses),
    // libvhdi and 7-Zip do not read 511-byte footers.
    ("dynamic/file/short-footer", Libvhdi, Refuses),
    ("fixed/layout/short-footer", Libvhdi, Refuses),
    ("differencing/layout/short-footer", Libvhdi, Refuses),
    ("dynamic/file/short-footer", SevenZip, Refuses),
    ("fixed/layout/short-footer", SevenZip, Refuses),
    ("differencing/layout/short-footer", SevenZip, Refuses),
    // libvhdi refuses a BAT of 0 entries (current size 0).
    ("dynamic/footer/size-zero", Libvhdi, Refuses),
    // libvhdi and 7-Zip insist that the parent's unique id equals the child's parent unique
    // id; the all-zero one (blktap's raw-parent mark) does not.
    ("differencing/chain/parent-uuid-null", Libvhdi, Refuses),
    ("differencing/chain/parent-uuid-null", SevenZip, Refuses),
    // 7-Zip finds a parent by the W2ru locator and the parent name, never by W2ku (known fault
    // w2ku-locator-ignored).
    ("differencing/locator/w2ku-only-resolves", SevenZip, Refuses),
    // A child larger than its parent: both fail reading past the parent's end.
    ("differencing/chain/size-child-larger", Libvhdi, Refuses),
    ("differencing/chain/size-child-larger", SevenZip, Refuses),
    // 7-Zip refuses more BAT entries than the size needs and non-zero reserved
    // bytes in the footer (C21), the dynamic disk header and a parent locator entry (C12).
    ("dynamic/bat/entries-beyond-size", SevenZip, Refuses),
    ("dynamic/header/max-table-entries-too-large", SevenZip, Refuses),
    ("fixed/footer/reserved", SevenZip, Refuses),
    ("fixed/footer/blktap-hidden", SevenZip, Refuses),
    ("dynamic/header/reserved", SevenZip, Refuses),
    ("differencing/locator/reserved", SevenZip, Refuses),
    // 7-Zip reads a fixed disk's data as the current size bytes just before the footer, so
    // slack between the data and the footer shifts the whole disk.
    ("fixed/file/fixed-size-long", SevenZip, Differs),
    // 7-Zip finds a parent by the parent unicode name or a W2ru locator, never by W2ku alone.
    ("explored/7zip-w2ku-only", SevenZip, Refuses),
    // libvhdi's bitmap bug (see LibvhdiBitmapBug).
    ("differencing/bitmap/partial-bytes", Libvhdi, LibvhdiBitmapBug),
    ("differencing/chain/depth-1-fixed", Libvhdi, LibvhdiBitmapBug),
    ("differencing/chain/depth-2", Libvhdi, LibvhdiBitmapBug),
    ("differencing/chain/depth-3-fixed-base", Libvhdi, LibvhdiBitmapBug),
    ("differencing/chain/depth-3-mixed-blocks", Libvhdi, LibvhdiBitmapBug),
    ("differencing/chain/depth-4", Libvhdi, LibvhdiBitmapBug),
    ("differencing/chain/small-child-blocks", Libvhdi, LibvhdiBitmapBug),
    ("differencing/layout/bat-at-end", Libvhdi, LibvhdiBitmapBug),
    ("differencing/layout/descending", Libvhdi, LibvhdiBitmapBug),
    ("differencing/layout/gaps", Libvhdi, LibvhdiBitmapBug),
    ("differencing/layout/hyper-v-style", Libvhdi, LibvhdiBitmapBug),
    ("differencing/layout/padding-before-footer", Libvhdi, LibvhdiBitmapBug),
    ("examples/differencing-depth2", Libvhdi, LibvhdiBitmapBug),
    ("explored/libvhdi-bitmap-mid-byte", Libvhdi, LibvhdiBitmapBug),
];

/// The layout of each file of a case's chain (child first).
fn layouts(chain: &[PathBuf]) -> Vec<(FileSource, Layout)> {
    chain
        .iter()
        .map(|p| {
            let src = FileSource::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let layout = Layout::parse(&src);
            (src, layout)
        })
        .collect()
}

/// QEMU sizes a disk by its CHS geometry unless the creator is one of these or the geometry
/// is the maximum (QEMU `vpc_open`); then `force_size_calc=current_size` is needed.
fn qemu_sizes_by_current_size(layout: &Layout) -> bool {
    let Some(f) = layout.footer() else { return true };
    let g = f.geometry;
    [*b"win ", *b"qem2", *b"d2v ", *b"CTXS", *b"tap\0"].contains(&f.creator_application)
        || (g.cylinders, g.heads, g.sectors_per_track) == (65535, 16, 255)
}

fn sha256_file(path: &Path) -> (String, u64) {
    let mut f = File::open(path).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).unwrap();
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    (vhd_validator::hex::encode(&h.finalize()), n)
}

/// Compares a reader's raw output with the manifest, and when the bytes differ, with the
/// validator's reader sector by sector.
fn judge(case: &Case, image: &Path, out: &Path) -> Outcome {
    let (sha, size) = sha256_file(out);
    if size != case.virtual_size {
        return Outcome::Size(size);
    }
    if Some(&sha) == case.virtual_disk_sha256.as_ref() {
        return Outcome::Agrees;
    }
    let reference = ChainReader::open(image, &CheckOptions::default()).expect("the validator reads the case");
    let mut f = File::open(out).unwrap();
    let (mut a, mut b) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    let (mut sectors, mut count, mut off) = (Vec::new(), 0u64, 0u64);
    while off < size {
        let n = (size - off).min(1 << 20) as usize;
        f.read_exact(&mut a[..n]).unwrap();
        reference.read_at(off, &mut b[..n]).unwrap();
        for (i, (x, y)) in a[..n].chunks(512).zip(b[..n].chunks(512)).enumerate() {
            if x != y {
                count += 1;
                if sectors.len() < 512 {
                    sectors.push(off / 512 + i as u64);
                }
            }
        }
        off += n as u64;
    }
    Outcome::Differs(sectors, count)
}

/// What libvhdi 20210425 reads differently from the specification, per sector: in a
/// differencing image a clear bit preceded by a set bit of the same bitmap byte makes it read
/// the sector from that image (its stored bytes, zero when nothing was written) instead of the
/// parent. Returns the sectors whose content the bug changes and the bytes it reads there.
fn libvhdi_bitmap_bug(chain: &[PathBuf], reference: &ChainReader) -> BTreeMap<u64, Vec<u8>> {
    let levels = layouts(chain);
    let size_sectors = reference.size().div_ceil(512);
    // Sector -> (level, bitmap bit set?) for the first level (child first) that claims it
    // under libvhdi's reading.
    let mut claimed: BTreeMap<u64, (usize, bool)> = BTreeMap::new();
    for (li, (src, layout)) in levels.iter().enumerate() {
        if layout.disk_type() != Some(DiskType::Differencing) {
            break;
        }
        let geom = layout.block.expect("a differencing level has a block size");
        for (block, sector) in layout.bat.allocated() {
            let mut bm = vec![0u8; geom.bitmap_bytes() as usize];
            src.read_exact_at(u64::from(sector) * 512, &mut bm).unwrap();
            let bits = SectorBitmap(&bm);
            for i in 0..geom.sectors_per_block {
                let s = block * geom.sectors_per_block + i;
                if s >= size_sectors {
                    break;
                }
                let set = bits.is_set(i);
                let bug = !set && (i - i % 8..i).any(|j| bits.is_set(j));
                if set || bug {
                    claimed.entry(s).or_insert((li, set));
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    for (&s, &(li, set)) in &claimed {
        if set {
            continue;
        }
        let (src, layout) = &levels[li];
        let geom = layout.block.unwrap();
        let block = s / geom.sectors_per_block;
        let entry = layout.bat.get(block).expect("claimed sectors are in allocated blocks");
        let at = (u64::from(entry) + geom.bitmap_sectors + s % geom.sectors_per_block) * 512;
        let mut bug = vec![0u8; 512];
        src.read_exact_at(at, &mut bug).unwrap();
        let mut right = vec![0u8; 512];
        reference.read_at(s * 512, &mut right).unwrap();
        if bug != right {
            out.insert(s, bug);
        }
    }
    out
}

/// Checks a libvhdi output against the bug's prediction; returns a problem, if any.
fn check_bitmap_bug(chain: &[PathBuf], out: &Path) -> Option<String> {
    let reference = ChainReader::open(&chain[0], &CheckOptions::default()).unwrap();
    let predicted = libvhdi_bitmap_bug(chain, &reference);
    if predicted.is_empty() {
        return Some("the bitmap bug predicts no difference for this case".into());
    }
    let bytes = std::fs::read(out).unwrap();
    let mut want = vec![0u8; 512];
    for s in 0..reference.size().div_ceil(512) {
        let lo = (s * 512) as usize;
        let hi = (lo + 512).min(bytes.len());
        let got = &bytes[lo..hi];
        match predicted.get(&s) {
            Some(p) if p[..hi - lo] != *got => return Some(format!("sector {s}: not the bytes the bug predicts")),
            Some(_) => {}
            None => {
                reference.read_at(lo as u64, &mut want[..hi - lo]).unwrap();
                if want[..hi - lo] != *got {
                    return Some(format!("sector {s} differs but the bitmap bug does not explain it"));
                }
            }
        }
    }
    None
}

/// pyvhdi reads every job's chain and writes the virtual disk (sparse) to `out`; one JSON line
/// per job. Reads are `chunk` bytes, aligned, so that no read crosses a block boundary:
/// libvhdi 20210425 fills a read that starts in a run of clear sector bits and crosses into
/// the next block with zeros (docs/CORPUS.md).
const PYVHDI: &str = r#"
import json, sys, pyvhdi
for j in json.load(open(sys.argv[1])):
    try:
        files = []
        for p in reversed(j["chain"]):
            f = pyvhdi.file()
            f.open(p)
            if files:
                f.set_parent(files[-1])
            files.append(f)
        f = files[-1]
        size, chunk, off = f.get_media_size(), j["chunk"], 0
        with open(j["out"], "wb") as o:
            while off < size:
                n = min(chunk - off % chunk, size - off)
                b = f.read_buffer_at_offset(n, off)
                if len(b) != n:
                    raise IOError("short read at %d" % off)
                if b.count(0) != n:
                    o.seek(off)
                    o.write(b)
                off += n
            o.truncate(size)
        r = {"id": j["id"], "ok": True}
    except Exception as e:
        r = {"id": j["id"], "ok": False, "error": str(e)}
    print(json.dumps(r), flush=True)
"#;

fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// Runs pyvhdi over `jobs` (case id, chain, output path, chunk) and returns an error message
/// per case that failed.
fn run_libvhdi(jobs: &[(String, Vec<PathBuf>, PathBuf, u64)], tmp: &Path) -> BTreeMap<String, Option<String>> {
    let list: Vec<serde_json::Value> = jobs
        .iter()
        .map(|(id, chain, out, chunk)| {
            serde_json::json!({
                "id": id,
                "chain": chain.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                "out": out.display().to_string(),
                "chunk": chunk,
            })
        })
        .collect();
    let jobs_file = tmp.join("libvhdi-jobs.json");
    std::fs::write(&jobs_file, serde_json::to_string(&list).unwrap()).unwrap();
    let o = Command::new(python()).arg("-c").arg(PYVHDI).arg(&jobs_file).output().expect("python3 runs");
    assert!(o.status.success(), "pyvhdi script failed: {}", String::from_utf8_lossy(&o.stderr));
    let mut res = BTreeMap::new();
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap().to_string();
        let err = if v["ok"].as_bool() == Some(true) { None } else { Some(v["error"].to_string()) };
        res.insert(id, err);
    }
    res
}

fn command_outcome(mut cmd: Command, case: &Case, image: &Path, out: &Path) -> Outcome {
    let o = cmd.output().expect("reader runs");
    if !o.status.success() {
        let msg = String::from_utf8_lossy(&o.stderr).split_whitespace().collect::<Vec<_>>().join(" ");
        return Outcome::Refuses(msg.chars().take(300).collect());
    }
    judge(case, image, out)
}

#[test]
fn independent_readers_agree() {
    let dir = corpus_dir();
    let m = manifest();
    let have_qemu = vhd_testkit::have_qemu();
    let have_7z = vhd_testkit::have_7zz();
    let have_vhdi = vhd_testkit::have_pyvhdi();
    let tmp = tempfile::tempdir().unwrap();
    let known: BTreeMap<(&str, Reader), Known> = KNOWN.iter().map(|&(c, r, k)| ((c, r), k)).collect();
    let mut outcomes: BTreeMap<(String, Reader), Outcome> = BTreeMap::new();
    let mut vhdi_jobs = Vec::new();
    let mut skipped_large = Vec::new();
    for (n, case) in m.cases.iter().enumerate() {
        if case.virtual_disk_sha256.is_none() {
            continue;
        }
        if case.virtual_size > READER_MAX_VIRTUAL {
            skipped_large.push(case.id.clone());
            continue;
        }
        let chain: Vec<PathBuf> = case.chain.iter().map(|p| dir.join(p)).collect();
        let image = dir.join(&case.image);
        let levels = layouts(&chain);
        let differencing = chain.len() > 1 || levels[0].1.disk_type() == Some(DiskType::Differencing);
        if have_qemu && !differencing {
            let out = tmp.path().join(format!("{n}.qemu.raw"));
            let mut cmd = Command::new("qemu-img");
            cmd.arg("convert");
            if qemu_sizes_by_current_size(&levels[0].1) {
                cmd.args(["-f", "vpc"]).arg(&image);
            } else {
                cmd.arg("--image-opts")
                    .arg(format!("driver=vpc,force_size_calc=current_size,file.filename={}", image.display()));
            }
            cmd.args(["-O", "raw"]).arg(&out);
            outcomes.insert((case.id.clone(), Qemu), command_outcome(cmd, case, &image, &out));
            let _ = std::fs::remove_file(&out);
        }
        if have_7z {
            let out = tmp.path().join(format!("{n}.7z.raw"));
            let mut cmd = Command::new("7zz");
            cmd.args(["e", "-so", "-tvhd"]).arg(&image).stdout(File::create(&out).unwrap());
            outcomes.insert((case.id.clone(), SevenZip), command_outcome(cmd, case, &image, &out));
            let _ = std::fs::remove_file(&out);
        }
        if have_vhdi {
            // Reads never cross a block boundary of any level (capped at 1 MiB).
            let chunk = levels.iter().filter_map(|(_, l)| l.block.map(|g| g.block_size)).min().unwrap_or(1 << 20);
            let out = tmp.path().join(format!("{n}.vhdi.raw"));
            vhdi_jobs.push((case.id.clone(), chain.clone(), out, chunk.min(1 << 20)));
        }
    }
    if have_vhdi {
        let results = run_libvhdi(&vhdi_jobs, tmp.path());
        for (id, chain, out, _) in &vhdi_jobs {
            let case = m.cases.iter().find(|c| &c.id == id).unwrap();
            let outcome = match results.get(id) {
                Some(None) => judge(case, &chain[0], out),
                Some(Some(e)) => Outcome::Refuses(e.clone()),
                None => Outcome::Refuses("no result from the pyvhdi script".into()),
            };
            if known.get(&(id.as_str(), Libvhdi)).is_some_and(|k| matches!(k, LibvhdiBitmapBug))
                && matches!(outcome, Outcome::Differs(..))
            {
                if let Some(problem) = check_bitmap_bug(chain, out) {
                    outcomes.insert((id.clone(), Libvhdi), Outcome::Refuses(format!("unexplained: {problem}")));
                    let _ = std::fs::remove_file(out);
                    continue;
                }
            }
            outcomes.insert((id.clone(), Libvhdi), outcome);
            let _ = std::fs::remove_file(out);
        }
    }

    let mut failures = Vec::new();
    let mut agree: BTreeMap<Reader, usize> = BTreeMap::new();
    for ((id, reader), outcome) in &outcomes {
        let k = known.get(&(id.as_str(), *reader));
        let ok = match (outcome, k) {
            (Outcome::Agrees, None) => {
                *agree.entry(*reader).or_default() += 1;
                true
            }
            (Outcome::Refuses(_), Some(Refuses)) => true,
            (Outcome::Size(n), Some(Size(m))) => n == m,
            (Outcome::Differs(..), Some(Differs | LibvhdiBitmapBug)) => true,
            _ => false,
        };
        println!("{reader:?} {id}: {outcome:?}{}", k.map_or(String::new(), |k| format!(" (known: {k:?})")));
        if !ok {
            failures.push(format!("{reader:?} on {id}: {outcome:?}, known: {k:?}"));
        }
    }
    // Known disagreements must refer to cases that were read.
    for (case, reader, k) in KNOWN {
        let ran = match reader {
            Qemu => have_qemu,
            SevenZip => have_7z,
            Libvhdi => have_vhdi,
        };
        if ran && !outcomes.contains_key(&(case.to_string(), *reader)) {
            failures.push(format!("known disagreement {reader:?} on {case} ({k:?}) names no case that reader read"));
        }
    }
    println!("agreeing readings: {agree:?}; not given to external readers (virtual size > 1 GiB): {skipped_large:?}");
    assert!(
        failures.is_empty(),
        "reader disagreements not in KNOWN (explain them in docs/CORPUS.md and list them), or listed ones \
         that changed:\n{}",
        failures.join("\n")
    );
}
