//! Real images written by other implementations (`shared/fixtures/real`, see its README) and the
//! committed seed corpus (`corpus/seed`).
//!
//! For each real image the expected findings are written down as (code, severity under the
//! strict profile) with the reason each is true of the file. They were established by reading
//! the files' bytes (footer, header, BAT and sector bitmaps decoded by hand with a short Python
//! script), `qemu-img info`, `vhdiinfo` and `7zz l`, not by running the validator. The virtual
//! disk our reader returns must equal what QEMU (`qemu-img convert -O raw`), libvhdi (pyvhdi)
//! and 7-Zip (`7zz e -so`) return for the same file.
//!
//! The fixtures directory lies outside the repository (`../../shared/fixtures/real` from the
//! crate); when it is absent the real-image tests print a note and pass, unless
//! `VHD_REQUIRE_ORACLES=1`, when they fail.

use vhd_testkit as common;

use common::*;
use std::path::Path;
use std::process::Command;
use vhd_validator::Severity::{self, Error, Info};

/// What is true of one real image.
struct RealImage {
    file: &'static str,
    disk_type: &'static str,
    /// Virtual size in bytes (the footer's current size; equal to the original size in all five).
    size: u64,
    /// (code, strict severity, why it is true of the file).
    findings: &'static [(&'static str, Severity, &'static str)],
}

/// Facts that are *not* findings: the mkimg images' fixed time stamp 0x01234567 (2000-08-08) is
/// in the past, and their unique ids of repeated 0x04 bytes are not null; every footer copy
/// equals its trailing footer; every checksum, cookie, version and reserved area is valid;
/// `max table entries` is exactly ceil(current size / 2 MiB) in all three dynamic images.
const REAL: &[RealImage] = &[
    RealImage {
        file: "windows-fixed.vhd",
        disk_type: "fixed",
        size: 10 << 20,
        // Geometry 301/4/17 is the spec's CHS for 10 MiB; C*H*S*512 = 10479616 < current size,
        // but creator "win " is sized by current size everywhere, so no divergence finding.
        findings: &[],
    },
    RealImage {
        file: "windows-dynamic.vhd",
        disk_type: "dynamic",
        size: 10 << 20,
        findings: &[
            (
                "FILE-GAP-BEFORE-FOOTER",
                Info,
                "3584 zero bytes between the end of block 1 (6307840) and the trailing footer (6311424): Windows pads the file to 4 KiB",
            ),
            ("BAT-ORDER", Info, "block 3 (sector 4119) is stored before block 1 (sector 8223)"),
            (
                "BAT-BLOCK-UNALIGNED-GRID",
                Info,
                "blocks start at sectors 15, 4119, 8223: a 4104-sector stride (4097-sector span rounded to 4 KiB), not a multiple of the 4097-sector span",
            ),
        ],
    },
    RealImage {
        file: "mkimg-fixed-1x1-512-gpt.vhd",
        disk_type: "fixed",
        size: 5 << 20,
        findings: &[
            ("FOOTER-CREATOR-UNKNOWN", Info, "creator application \"*img\" (FreeBSD mkimg) is not a known writer"),
            (
                "FOOTER-GEOMETRY-SIZE-QEMU-LEGACY",
                Info,
                "150/4/17 = 5222400 bytes vs current size 5242880 with creator \"*img\": QEMU before 10.0 sized it by geometry (QEMU 10 uses the current size for every creator but \"vpc \"/\"qemu\")",
            ),
        ],
    },
    RealImage {
        file: "mkimg-dynamic-1x1-512-gpt.vhd",
        disk_type: "dynamic",
        size: 4_352_000,
        findings: &[
            ("FOOTER-CREATOR-UNKNOWN", Info, "creator application \"*img\" (FreeBSD mkimg) is not a known writer"),
            ("FOOTER-SIZE-MIB-ALIGN", Info, "current size 4352000 (= 125*4*17 sectors) is not a whole number of MiB"),
            (
                "BITMAP-PAST-END",
                Info,
                "block 2's bitmap has all 4096 bits set but the disk ends 308 sectors into block 2",
            ),
        ],
    },
    RealImage {
        file: "qemu-dynamic-sleuthkit.vhd",
        disk_type: "dynamic",
        size: 104_448,
        findings: &[
            ("FOOTER-SIZE-MIB-ALIGN", Info, "current size 104448 (= 3*4*17 sectors) is not a whole number of MiB"),
            (
                "BITMAP-PAST-END",
                Info,
                "block 0's bitmap has all 4096 bits set (QEMU sets every bit) but the disk has 204 sectors",
            ),
        ],
    },
];

#[test]
fn every_real_fixture_is_described() {
    let Some(dir) = real_fixtures() else { return };
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("read fixtures dir")
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".vhd"))
        .collect();
    on_disk.sort();
    let mut described: Vec<String> = REAL.iter().map(|r| r.file.to_string()).collect();
    described.sort();
    assert_eq!(on_disk, described, "a fixture was added or removed: write down what is true of it here");
}

#[test]
fn real_images_get_exactly_the_true_findings() {
    let Some(dir) = real_fixtures() else { return };
    let opts = fixed_opts();
    for img in REAL {
        let path = dir.join(img.file);
        let report = check(&path, &opts);
        assert_eq!(report.images.len(), 1, "{}: not a differencing disk", img.file);
        let image = &report.images[0];
        assert_eq!(image.disk_type.as_deref(), Some(img.disk_type), "{}: disk type", img.file);
        assert_eq!(image.virtual_size, Some(img.size), "{}: virtual size", img.file);
        assert_codes(img.file, &report, img.findings);
        assert!(report.passes(), "{}: no expected finding is an error, so the image must pass", img.file);
        assert!(img.findings.iter().all(|(_, s, _)| *s != Error));
        // Healthy images from real producers pass strict with no warning (infos only).
        let noisy: Vec<String> = report.findings().filter(|f| f.severity != Info).map(|f| f.to_string()).collect();
        assert!(
            noisy.is_empty(),
            "{}: a healthy producer's image must get no warning:\n{}",
            img.file,
            noisy.join("\n")
        );
    }
}

/// Findings carry locations inside the file and structure paths (spot checks of the ones whose
/// position is certain).
#[test]
fn real_image_findings_are_located() {
    let Some(dir) = real_fixtures() else { return };
    let opts = fixed_opts();
    let locate = |file: &str, code: &str| {
        let report = check(&dir.join(file), &opts);
        let f = report.findings().find(|f| f.code.as_str() == code).cloned();
        f.unwrap_or_else(|| panic!("{file}: no {code}"))
    };
    let gap = locate("windows-dynamic.vhd", "FILE-GAP-BEFORE-FOOTER");
    assert_eq!(gap.offset, 6_307_840, "gap starts where block 1 ends: {gap}");
    let past = locate("qemu-dynamic-sleuthkit.vhd", "BITMAP-PAST-END");
    assert!(past.path.starts_with("block[0]"), "{past}");
    // Block 0's bitmap is at sector 4 (byte 2048); the finding points into it.
    assert!((2048..2560).contains(&past.offset), "{past}");
    let past = locate("mkimg-dynamic-1x1-512-gpt.vhd", "BITMAP-PAST-END");
    assert!(past.path.starts_with("block[2]"), "{past}");
    // Block 2's bitmap is at sector 0x2006 (byte 4197376).
    assert!((4_197_376..4_197_888).contains(&past.offset), "{past}");
    let f = locate("mkimg-fixed-1x1-512-gpt.vhd", "FOOTER-GEOMETRY-SIZE-QEMU-LEGACY");
    // The trailing footer is the last 512 bytes of the 5243392-byte file.
    assert!((5_242_880..5_243_392).contains(&f.offset), "{f}");
    assert!(f.path.starts_with("footer"), "{f}");
}

#[test]
fn real_images_read_like_qemu() {
    let Some(dir) = real_fixtures() else { return };
    if !have_qemu() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let opts = fixed_opts();
    for img in REAL {
        let path = dir.join(img.file);
        let (size, ours) = reader_digest(&path, &opts);
        assert_eq!(size, img.size, "{}: ChainReader::size", img.file);
        let q = qemu_read(&path, tmp.path(), size);
        if q.forced_current_size {
            eprintln!(
                "note: {}: QEMU sized the disk {} bytes by CHS; compared with force_size_calc=current_size",
                img.file, q.auto_size
            );
        }
        assert_eq!(q.size, size, "{}: QEMU raw size", img.file);
        assert_eq!(hex(&ours), hex(&q.digest), "{}: digest vs qemu-img convert", img.file);
        let _ = std::fs::remove_file(&q.raw);
    }
}

#[test]
fn real_images_read_like_libvhdi() {
    let Some(dir) = real_fixtures() else { return };
    if !have_pyvhdi() {
        return;
    }
    let opts = fixed_opts();
    for img in REAL {
        let path = dir.join(img.file);
        let (size, ours) = reader_digest(&path, &opts);
        // libvhdi reports the original size; all five images have original size
        // == current size, so the two sizes must agree here.
        let (lsize, theirs) = vhdi_digest(&[&path]).unwrap_or_else(|e| panic!("{}: libvhdi: {e}", img.file));
        assert_eq!(lsize, size, "{}: libvhdi media size", img.file);
        assert_eq!(hex(&ours), hex(&theirs), "{}: digest vs libvhdi", img.file);
    }
}

#[test]
fn real_images_read_like_7zip() {
    let Some(dir) = real_fixtures() else { return };
    if !have_7zz() {
        return;
    }
    let opts = fixed_opts();
    for img in REAL {
        let path = dir.join(img.file);
        let (size, ours) = reader_digest(&path, &opts);
        let r = sevenzip_read(&path);
        assert_eq!(r.code, Some(0), "{}: 7zz: {}", img.file, r.stderr);
        assert_eq!(r.bytes.len() as u64, size, "{}: 7-Zip size", img.file);
        assert_eq!(hex(&ours), hex(&sha256(&r.bytes)), "{}: digest vs 7-Zip", img.file);
    }
}

/// The encoder-made files in `corpus/seed` are exactly what `common::seed` builds
/// (`VHD_REGEN_SEED=1` rewrites them).
#[test]
fn seed_corpus_encoder_files_are_current() {
    let dir = seed_dir();
    let regen = std::env::var("VHD_REGEN_SEED").is_ok_and(|v| v == "1");
    for (name, bytes) in seed::encoder_files() {
        let path = dir.join(name);
        if regen {
            std::fs::create_dir_all(&dir).expect("create corpus/seed");
            std::fs::write(&path, &bytes).expect("write seed file");
            continue;
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (run VHD_REGEN_SEED=1 cargo test --test real_images seed_corpus)", path.display())
        });
        assert!(on_disk == bytes, "{name} differs from common::seed's builder (regenerate with VHD_REGEN_SEED=1)");
    }
}

/// Each seed file gets the verdict and findings `corpus/seed/README.md` states; every `.vhd`
/// there is listed.
#[test]
fn seed_corpus_verdicts() {
    let dir = seed_dir();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("read corpus/seed")
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".vhd"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = seed::VERDICTS.iter().map(|v| v.file.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "corpus/seed and common::seed::VERDICTS list different files");

    let readme = std::fs::read_to_string(dir.join("README.md")).expect("corpus/seed/README.md");
    // The QEMU-made files carry the time they were made: judge with the wall clock, as the
    // README's command does.
    let opts = wall_opts();
    for v in seed::VERDICTS {
        assert!(readme.contains(v.file), "README.md does not describe {}", v.file);
        let report = check(&dir.join(v.file), &opts);
        let all = all_findings(&report);
        assert_eq!(report.passes(), v.passes, "{}: verdict; findings:\n{}", v.file, list(&all));
        let mut want: Vec<(String, Severity)> = v.findings.iter().map(|(c, s)| (c.to_string(), *s)).collect();
        want.sort();
        for (code, _) in &want {
            assert!(readme.contains(code.as_str()), "README.md does not name {code} for {}", v.file);
        }
        assert_eq!(code_set(&report, None), want, "{}: findings:\n{}", v.file, list(&all));
    }
}

/// The README's command: `vhd-validate check corpus/` over the seed images shows passes and
/// failures, exits 1, and names every seed file.
#[test]
fn seed_corpus_cli_check_shows_passes_and_failures() {
    let dir = seed_dir();
    let out =
        Command::new(env!("CARGO_BIN_EXE_vhd-validate")).arg("check").arg(&dir).output().expect("run vhd-validate");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "exit status; output:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for v in seed::VERDICTS {
        let line = text
            .lines()
            .find(|l| l.contains(v.file) && (l.contains(": PASS") || l.contains(": FAIL")))
            .unwrap_or_else(|| panic!("no verdict line for {} in:\n{text}", v.file));
        let want = if v.passes { ": PASS" } else { ": FAIL" };
        assert!(line.contains(want), "{}: {line}", v.file);
    }
}

/// The seed chain reads the same through our reader and 7-Zip, and its model.
#[test]
fn seed_chain_reads_like_its_model_and_7zip() {
    let parent = seed::chain_parent();
    let child = seed::chain_child(&parent);
    let model = common::build::compose(&[&parent, &child]);
    let path: &Path = &seed_dir().join("enc-diff-child.vhd");
    let tmp = tempfile::tempdir().expect("tempdir");
    let ours = reader_write_raw(path, &fixed_opts(), tmp.path());
    assert_same_bytes("seed chain: ChainReader vs model", &ours, &model);
    if have_7zz() {
        let r = sevenzip_read(path);
        assert_eq!(r.code, Some(0), "7zz: {}", r.stderr);
        assert_same_bytes("seed chain: 7-Zip vs model", &r.bytes, &model);
    }
}
