//! Hostile input: empty and tiny files, seeded random bytes, and structures whose size fields
//! claim far more than the file holds. Each must give findings (or a clear error from the
//! reader) without a panic, quickly, and with bounded memory.
//!
//! Memory is measured on the CLI binary (`vhd-validate check`, `vhd-validate digest`) with
//! `/usr/bin/time -v` (maximum resident set size) when it is installed, otherwise by polling
//! the child's `VmHWM` in `/proc/PID/status`; the cap is a generous 64 MiB. No assertion is
//! timed.

mod common;

use common::build::{self, BlockSpec, SparseSpec};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use vhd_validator::chain::ChainReader;
use vhd_validator::check::check_image;
use vhd_validator::format::{DiskType, DynamicDiskHeader, ParentLocatorEntry, PlatformCode};
use vhd_validator::Severity;

/// Peak memory cap for one CLI run on any hostile input, in KiB.
const RSS_CAP_KIB: u64 = 64 * 1024;

/// A dynamic image of `size` bytes (512 KiB blocks, block 0 written) whose header `edit` changes
/// (then resealed, so that only the edited field is wrong).
fn dynamic_with_header(size: u64, edit: impl FnOnce(&mut DynamicDiskHeader)) -> Vec<u8> {
    let mut img = build::sparse(&SparseSpec {
        kind: DiskType::Dynamic,
        size,
        block_size: 512 * 1024,
        unique_id: build::uuid(0x66),
        timestamp: vhd_time(1_704_067_200),
        parent: None,
        blocks: vec![BlockSpec::full(0, 1024)],
        seed: 6,
    })
    .bytes;
    let mut raw = [0u8; 1024];
    raw.copy_from_slice(&img[512..1536]);
    let mut h = DynamicDiskHeader::decode(&raw);
    edit(&mut h);
    h.seal();
    img[512..1536].copy_from_slice(&h.encode());
    img
}

/// The hostile inputs: (name, bytes).
fn cases() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = Vec::new();
    v.push(("empty".into(), Vec::new()));
    v.push(("zeros-511".into(), vec![0u8; 511]));
    // 511 bytes that are a legacy short footer of a fixed disk claiming 1 MiB.
    let f = build::footer(DiskType::Fixed, 1 << 20, build::uuid(1), 0);
    v.push(("short-footer-only-511".into(), f.encode()[..511].to_vec()));

    // Seeded random bytes of several sizes, alone and with valid footers around them.
    let mut rng = Rng(0x5EED);
    for size in [1usize, 512, 513, 1024, 3072, 4096, 65_536, (1 << 20) + 511] {
        let mut b = vec![0u8; size];
        rng.fill(&mut b);
        v.push((format!("random-{size}"), b));
    }
    for size in [2048usize, 8192, 1 << 20] {
        let mut b = vec![0u8; size];
        rng.fill(&mut b);
        let f = build::footer(DiskType::Dynamic, 1 << 40, build::uuid(2), 0).encode();
        b[..512].copy_from_slice(&f);
        let n = b.len();
        b[n - 512..].copy_from_slice(&f);
        v.push((format!("random-{size}-dynamic-footers"), b));
    }
    for size in [4096usize, 1 << 20] {
        let mut b = vec![0u8; size];
        rng.fill(&mut b);
        let f = build::footer(DiskType::Differencing, 1 << 30, build::uuid(3), 0).encode();
        b[..512].copy_from_slice(&f);
        b[512..520].copy_from_slice(b"cxsparse");
        let n = b.len();
        b[n - 512..].copy_from_slice(&f);
        v.push((format!("random-{size}-differencing-footers"), b));
    }

    // A header claiming 2^32-1 BAT entries in a 3 KiB file: footer copy, header, 1 KiB of BAT
    // (0xFF), footer.
    {
        let f = build::footer(DiskType::Dynamic, 1 << 30, build::uuid(4), 0);
        let mut h = DynamicDiskHeader::new(1536, u32::MAX, 2 << 20);
        h.seal();
        let mut b = Vec::new();
        b.extend_from_slice(&f.encode());
        b.extend_from_slice(&h.encode());
        b.extend_from_slice(&[0xFF; 1024]);
        b.extend_from_slice(&f.encode());
        assert_eq!(b.len(), 3072);
        v.push(("bat-entries-4g-in-3k".into(), b));
    }
    // The same with every BAT entry that fits allocated at sector 3 (the BAT itself).
    {
        let f = build::footer(DiskType::Dynamic, 1 << 30, build::uuid(5), 0);
        let mut h = DynamicDiskHeader::new(1536, u32::MAX, 2 << 20);
        h.seal();
        let mut b = Vec::new();
        b.extend_from_slice(&f.encode());
        b.extend_from_slice(&h.encode());
        for _ in 0..256 {
            b.extend_from_slice(&3u32.to_be_bytes());
        }
        b.extend_from_slice(&f.encode());
        v.push(("bat-entries-4g-all-pointing-at-bat".into(), b));
    }

    // A differencing disk whose locators claim 4 GiB of data length and space.
    {
        let f = build::footer(DiskType::Differencing, 1 << 20, build::uuid(6), 0);
        let mut h = DynamicDiskHeader::new(1536, 2, 512 * 1024);
        h.parent_unique_id = build::uuid(7);
        h.set_parent_name("parent.vhd");
        h.parent_locators[0] = ParentLocatorEntry {
            platform_code: PlatformCode::W2ku.raw(),
            platform_data_space: u32::MAX,
            platform_data_length: u32::MAX,
            reserved: 0,
            platform_data_offset: 2048,
        };
        h.parent_locators[1] = ParentLocatorEntry {
            platform_code: PlatformCode::W2ru.raw(),
            platform_data_space: u32::MAX,
            platform_data_length: u32::MAX,
            reserved: 0,
            platform_data_offset: u64::MAX - 100,
        };
        h.parent_locators[2] = ParentLocatorEntry {
            platform_code: PlatformCode::MacX.raw(),
            platform_data_space: 1 << 23,
            platform_data_length: 1 << 31,
            reserved: 0,
            platform_data_offset: 2048,
        };
        h.seal();
        let mut b = Vec::new();
        b.extend_from_slice(&f.encode());
        b.extend_from_slice(&h.encode());
        b.extend_from_slice(&[0xFF; 512]);
        b.extend_from_slice(&build::locator_payload(PlatformCode::W2ku, "C:\\x\\parent.vhd"));
        b.resize(2560, 0);
        b.extend_from_slice(&f.encode());
        v.push(("locator-4g-length-and-space".into(), b));
    }

    // A fixed footer claiming a current size of 2^63 bytes (and the original size too).
    {
        let mut b = vec![0x42u8; 1 << 20];
        let mut f = build::footer(DiskType::Fixed, 1 << 20, build::uuid(8), 0);
        f.current_size = 1 << 63;
        f.original_size = 1 << 63;
        f.seal();
        b.extend_from_slice(&f.encode());
        v.push(("fixed-current-size-2-63".into(), b));
    }
    // A dynamic footer claiming 2^63 bytes over a small BAT.
    {
        let mut b = dynamic_with_header(1 << 20, |_| {});
        let n = b.len();
        build::edit_footer(&mut b, true, true, |f| f.current_size = 1 << 63);
        assert_eq!(b.len(), n);
        v.push(("dynamic-current-size-2-63".into(), b));
    }

    // Dynamic headers with block size 2^31 and 0 (block 0 allocated).
    v.push(("block-size-2-31".into(), dynamic_with_header(1 << 20, |h| h.block_size = 1 << 31)));
    v.push(("block-size-0".into(), dynamic_with_header(1 << 20, |h| h.block_size = 0)));
    v.push((
        "block-size-512-huge-table".into(),
        dynamic_with_header(1 << 20, |h| {
            h.block_size = 512;
            h.max_table_entries = u32::MAX;
        }),
    ));
    v.push(("table-offset-past-end".into(), dynamic_with_header(1 << 20, |h| h.table_offset = u64::MAX - 3)));
    v.push(("header-offset-past-end".into(), {
        let mut b = dynamic_with_header(1 << 20, |_| {});
        build::edit_footer(&mut b, true, true, |f| f.data_offset = u64::MAX - 511);
        b
    }));
    v
}

fn write_cases(dir: &Path) -> Vec<(String, PathBuf)> {
    cases()
        .into_iter()
        .map(|(name, bytes)| {
            let p = dir.join(format!("{name}.vhd"));
            std::fs::write(&p, bytes).expect("write case");
            (name, p)
        })
        .collect()
}

#[test]
fn checker_reports_errors_without_panicking() {
    let opts = fixed_opts();
    for (name, bytes) in cases() {
        let report = check_image(&bytes, &name, &opts);
        assert!(
            report.findings.iter().any(|f| f.severity == Severity::Error),
            "{name}: hostile input gave no error finding:\n{}",
            list(&report.findings.iter().collect::<Vec<_>>())
        );
        for f in &report.findings {
            assert!(!f.message.is_empty() && !f.path.is_empty(), "{name}: finding without message or path: {f:?}");
        }
    }
}

#[test]
fn check_path_follows_no_parent_of_hostile_differencing_disks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = fixed_opts();
    for (name, path) in write_cases(dir.path()) {
        let report = check(&path, &opts);
        assert!(!report.passes(), "{name}: a hostile input passed:\n{}", list(&all_findings(&report)));
        assert_eq!(
            report.images.len(),
            1,
            "{name}: no parent exists, yet the chain has {} images",
            report.images.len()
        );
    }
}

#[test]
fn reader_refuses_or_reads_within_bounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = fixed_opts();
    for (name, path) in write_cases(dir.path()) {
        match ChainReader::open(&path, &opts) {
            Err(e) => assert!(!e.to_string().is_empty(), "{name}: empty error message"),
            Ok(r) => {
                let mut buf = vec![0u8; 1 << 16];
                r.read_at(0, &mut buf).unwrap_or_else(|e| panic!("{name}: read_at(0): {e}"));
                let last = r.size().saturating_sub(buf.len() as u64);
                r.read_at(last, &mut buf).unwrap_or_else(|e| panic!("{name}: read_at({last}): {e}"));
                r.read_at(u64::MAX - 10, &mut buf[..8]).unwrap_or_else(|e| panic!("{name}: read_at(MAX-10): {e}"));
                let extents = r.extents();
                assert!(extents.len() <= 1 << 20, "{name}: {} extents", extents.len());
                for x in &extents {
                    assert!(x.end() <= r.size(), "{name}: extent {x:?} past the disk ({} bytes)", r.size());
                }
                // Whole-disk reads only where the disk is small (a 2^63-byte disk is legal to
                // open if the reader says so, but not to hash in a test).
                if r.size() <= 64 << 20 {
                    r.digest().unwrap_or_else(|e| panic!("{name}: digest: {e}"));
                }
            }
        }
    }
}

/// Runs the CLI with `args` and returns (exit code, stderr, peak RSS in KiB if measured).
fn run_measured(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, Option<u64>) {
    let exe = env!("CARGO_BIN_EXE_vhd-validate");
    if let Some(time) = which("/usr/bin/time") {
        let out = Command::new(time).arg("-v").arg(exe).args(args).output().expect("run /usr/bin/time");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let rss = stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|v| v.trim().parse().ok());
        return (out.status.code(), stderr, rss);
    }
    // Fallback: poll the child's high-water mark until it exits.
    let mut child = Command::new(exe)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = None;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = Some(peak.unwrap_or(0).max(kib));
            }
        }
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    (status.code(), stderr, peak)
}

#[test]
fn cli_check_and_digest_have_bounded_memory_and_no_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    if which("/usr/bin/time").is_none() {
        eprintln!("note: /usr/bin/time is not installed; measuring VmHWM by polling /proc");
    }
    let mut worst = (0u64, String::new());
    for (name, path) in write_cases(dir.path()) {
        let out_raw = dir.path().join(format!("{name}.raw"));
        let mut runs: Vec<(&str, Vec<&std::ffi::OsStr>)> = vec![(
            "check",
            vec!["check".as_ref(), "--now".as_ref(), "2027-01-01T00:00:00Z".as_ref(), path.as_os_str()],
        )];
        // Whole-disk commands only where the reader refuses the input or its disk is small
        // (see `reader_refuses_disks_beyond_the_format_maximum` for the others).
        let small = ChainReader::open(&path, &fixed_opts()).map_or(true, |r| r.size() <= 64 << 20);
        if small {
            runs.push(("digest", vec!["digest".as_ref(), path.as_os_str()]));
            runs.push(("cat", vec!["cat".as_ref(), "--output".as_ref(), out_raw.as_os_str(), path.as_os_str()]));
        }
        for (what, args) in runs {
            let (code, stderr, rss) = run_measured(&args);
            assert!(!stderr.contains("panicked"), "{name}: vhd-validate {what} panicked:\n{stderr}");
            match what {
                // Every hostile input has an error finding (1) or cannot be read at all (2).
                "check" => assert!(matches!(code, Some(1 | 2)), "{name}: check exit {code:?}\n{stderr}"),
                // The reader may give some inputs a meaning (0) or refuse them (1/2); no crash.
                _ => assert!(matches!(code, Some(0..=2)), "{name}: {what} exit {code:?}\n{stderr}"),
            }
            if let Some(kib) = rss {
                assert!(kib <= RSS_CAP_KIB, "{name}: vhd-validate {what} peaked at {kib} KiB (cap {RSS_CAP_KIB} KiB)");
                if kib > worst.0 {
                    worst = (kib, format!("{what} {name}"));
                }
            }
            let _ = std::fs::remove_file(&out_raw);
        }
    }
    eprintln!("note: highest peak RSS {} KiB ({})", worst.0, worst.1);
}

/// A footer claiming more than the format's maximum (2040 GiB, 0xFF000000 sectors: BAT entries
/// are 32-bit sector numbers; QEMU refuses such images with EFBIG) gives the virtual disk no
/// meaning: the reader must refuse it rather than offer `digest`/`write_raw` over 2^63 bytes
/// (8 EiB of zeros behind a 1 MiB file, which would run for practically ever).
#[test]
fn reader_refuses_disks_beyond_the_format_maximum() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, path) in write_cases(dir.path()) {
        if !name.contains("current-size-2-63") {
            continue;
        }
        match ChainReader::open(&path, &fixed_opts()) {
            Err(e) => assert!(!e.to_string().is_empty()),
            Ok(r) => panic!("{name}: ChainReader::open accepted a virtual disk of {} bytes", r.size()),
        }
    }
}
