//! Hostile input: empty and tiny files, seeded random bytes, and structures whose size fields
//! claim far more than the file holds. Each must give findings (or a clear error from the
//! reader) without a panic, quickly, and with bounded memory.
//!
//! Hostile file systems: parent locators and names pointing outside the child's directory
//! (absolute, `..`, symbolic links out, system files), link cycles, NUL and 64 KiB paths, FIFOs,
//! devices and /proc entries as images or parents, planted links and hard links as `cat`
//! outputs, a full disk, control characters in names, and a file changing size under the
//! reader. Each must be refused or reported without touching what it points at, blocking or
//! destroying anything.
//!
//! Memory is measured on the CLI binary (`vhd-validate check`, `vhd-validate digest`) with
//! `/usr/bin/time -v` (maximum resident set size) when it is installed, otherwise by polling
//! the child's `VmHWM` in `/proc/PID/status`; the cap is a generous 64 MiB. No assertion is
//! timed.

use vhd_testkit as common;

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

// ---- Hostile file systems: confined parent search, non-regular files, outputs, escaping ----

/// A dynamic base image (1 MiB, one block written) with unique id `uuid(tag)`.
fn base_image(tag: u8) -> Vec<u8> {
    build::sparse(&SparseSpec {
        kind: DiskType::Dynamic,
        size: 1 << 20,
        block_size: 512 * 1024,
        unique_id: build::uuid(tag),
        timestamp: vhd_time(1_704_067_200),
        parent: None,
        blocks: vec![BlockSpec::full(0, 1024)],
        seed: u64::from(tag),
    })
    .bytes
}

/// A differencing child of the base with unique id `uuid(parent_tag)`, naming its parent by
/// `name` and `locators`.
fn child_image(parent_tag: u8, name: &str, locators: Vec<(PlatformCode, String)>) -> Vec<u8> {
    build::sparse(&SparseSpec {
        kind: DiskType::Differencing,
        size: 1 << 20,
        block_size: 512 * 1024,
        unique_id: build::uuid(0x77),
        timestamp: vhd_time(1_704_067_300),
        parent: Some(build::ParentSpec {
            unique_id: build::uuid(parent_tag),
            timestamp: vhd_time(1_704_067_200),
            name: name.into(),
            locators,
        }),
        blocks: vec![BlockSpec::runs(0, &[(0, 8)])],
        seed: 9,
    })
    .bytes
}

/// Runs `vhd-validate` with `args` in `cwd`, killed (and the test failed) if it is still
/// running after 60 seconds: a hang is a failure, not a stuck test run.
fn cli_in(cwd: &Path, args: &[&std::ffi::OsStr]) -> std::process::Output {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vhd-validate"))
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn vhd-validate");
    let (mut out, mut err) = (child.stdout.take().expect("stdout"), child.stderr.take().expect("stderr"));
    let reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let ereader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("vhd-validate {args:?} hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    std::process::Output { status, stdout: reader.join().expect("stdout"), stderr: ereader.join().expect("stderr") }
}

fn os<'a>(v: &'a [&'a str]) -> Vec<&'a std::ffi::OsStr> {
    v.iter().map(std::ffi::OsStr::new).collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().expect("run mkfifo");
    assert!(st.success(), "mkfifo {}", path.display());
}

/// Every way an image can name a parent outside its directory, all pointing at a real, matching
/// parent elsewhere (and at system files): the default search refuses them unopened, the report
/// is the same whether or not the outside files exist, and `--parent-dir` or
/// `--parent-search anywhere` bring the chain back.
#[test]
fn confined_search_refuses_outside_parents_unopened() {
    let root = tempfile::tempdir().unwrap();
    let (inside, outside) = (root.path().join("in"), root.path().join("out"));
    std::fs::create_dir_all(&inside).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let parent = outside.join("parent.vhd");
    std::fs::write(&parent, base_image(0x42)).unwrap();
    std::os::unix::fs::symlink(&parent, inside.join("link.vhd")).unwrap();
    std::os::unix::fs::symlink(&outside, inside.join("linkdir")).unwrap();
    let abs = parent.display().to_string();
    let win = format!("C:{}", abs.replace('/', "\\"));
    let locators = vec![
        (PlatformCode::W2ku, win),
        (PlatformCode::W2ru, "..\\out\\parent.vhd".into()),
        (PlatformCode::MacX, abs.clone()),
        (PlatformCode::W2ru, ".\\link.vhd".into()),
        (PlatformCode::W2ru, ".\\linkdir\\parent.vhd".into()),
        (PlatformCode::W2ku, "C:\\etc\\passwd".into()),
        (PlatformCode::MacX, "/proc/self/mem".into()),
        (PlatformCode::MacX, "/dev/stdin".into()),
    ];
    std::fs::write(inside.join("child.vhd"), child_image(0x42, "/dev/zero", locators)).unwrap();
    let check = |extra: &[&str]| {
        let mut a = vec!["check", "--now", "2025-01-01T00:00:00Z"];
        a.extend_from_slice(extra);
        a.push("in/child.vhd");
        cli_in(root.path(), &os(&a))
    };
    let out = check(&[]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("INFO CHAIN-PARENT-OUTSIDE-SEARCH in/child.vhd"), "{report}");
    assert!(report.contains("(7 such candidates)"), "{report}");
    assert!(report.contains("CHAIN-PARENT-MISSING"), "{report}");
    assert!(report.contains("--parent-dir"), "{report}");
    assert!(!report.contains("CHAIN-PARENT-NOT-VHD"), "nothing outside was opened: {report}");
    // The same report whether or not the outside parent (and its directory) exist.
    std::fs::remove_file(&parent).unwrap();
    std::fs::remove_dir(&outside).unwrap();
    assert_eq!(text(&check(&[]).stdout), report);
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(&parent, base_image(0x42)).unwrap();
    // Trusted: the chain resolves either way.
    for extra in [&["--parent-dir", "out"][..], &["--parent-search", "anywhere"]] {
        let out = check(extra);
        let r = text(&out.stdout);
        assert!(r.contains("chain of 2"), "{extra:?}: {r}");
        assert!(!r.contains("CHAIN-PARENT-MISSING") && !r.contains("OUTSIDE-SEARCH"), "{extra:?}: {r}");
    }
    // The reader refuses the same way and names the hint.
    let out = cli_in(root.path(), &os(&["digest", "in/child.vhd"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--parent-dir"), "{}", text(&out.stderr));
    let out = cli_in(root.path(), &os(&["digest", "--parent-dir", "out", "in/child.vhd"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// A normal chain keeps working: parent beside the child (found by a relative locator, through
/// a symbolic link that stays inside, and with the child named by a path through a link).
#[test]
fn confined_search_keeps_normal_chains() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("chain");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::write(d.join("sub/base.vhd"), base_image(0x43)).unwrap();
    std::os::unix::fs::symlink("sub/base.vhd", d.join("base-link.vhd")).unwrap();
    let child = child_image(0x43, "base-link.vhd", vec![(PlatformCode::W2ru, ".\\base-link.vhd".into())]);
    std::fs::write(d.join("child.vhd"), child).unwrap();
    std::os::unix::fs::symlink(&d, root.path().join("alias")).unwrap();
    for name in ["chain/child.vhd", "alias/child.vhd"] {
        let out = cli_in(root.path(), &os(&["check", "--now", "0", name]));
        let r = text(&out.stdout);
        assert!(r.contains("chain of 2") && !r.contains("CHAIN-PARENT"), "{name}: {r}");
    }
}

/// Parent paths made to hurt: a NUL inside, 64 KiB long, a cycle of symbolic links, a link to
/// a FIFO, a FIFO and /dev/null as parents: findings, never a hang or a crash.
#[test]
fn hostile_parent_paths_give_findings() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::os::unix::fs::symlink("loop-b.vhd", p.join("loop-a.vhd")).unwrap();
    std::os::unix::fs::symlink("loop-a.vhd", p.join("loop-b.vhd")).unwrap();
    mkfifo(&p.join("fifo.vhd"));
    std::os::unix::fs::symlink("/dev/null", p.join("null.vhd")).unwrap();
    let long = format!(".\\{}.vhd", "a".repeat(32 * 1024));
    type Case<'a> = (&'a str, Vec<(PlatformCode, String)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("nul", vec![(PlatformCode::W2ru, ".\\par\0ent.vhd".into())], "CHAIN-PARENT-MISSING"),
        ("long", vec![(PlatformCode::W2ru, long)], "CHAIN-PARENT-MISSING"),
        ("cycle", vec![(PlatformCode::W2ru, ".\\loop-a.vhd".into())], "CHAIN-PARENT-MISSING"),
        ("fifo", vec![(PlatformCode::W2ru, ".\\fifo.vhd".into())], "FIFO"),
        ("null", vec![(PlatformCode::W2ru, ".\\null.vhd".into())], "CHAIN-PARENT-OUTSIDE-SEARCH"),
    ];
    for (name, locators, want) in cases {
        let file = format!("child-{name}.vhd");
        std::fs::write(p.join(&file), child_image(0x44, "", locators)).unwrap();
        let out = cli_in(p, &os(&["check", "--now", "0", &file]));
        let r = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{name}: {r}{}", text(&out.stderr));
        assert!(r.contains(want), "{name}: {r}");
        assert!(
            r.lines().all(|l| l.starts_with("ERROR ")
                || l.starts_with("WARNING ")
                || l.starts_with("INFO ")
                || l.starts_with(&file)),
            "{name}: {r}"
        );
        let out = cli_in(p, &os(&["check", "--now", "0", "--parent-search", "anywhere", &file]));
        assert_eq!(out.status.code(), Some(1), "{name} anywhere: {}", text(&out.stdout));
    }
}

/// FIFOs, devices, directories and /proc entries as images: an error naming what they are,
/// without blocking; inside a scanned directory they are skipped with a note.
#[test]
fn non_regular_files_are_refused_without_blocking() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    mkfifo(&p.join("pipe.vhd"));
    std::fs::create_dir(p.join("dir.vhd")).unwrap();
    std::fs::write(p.join("ok.vhd"), base_image(0x45)).unwrap();
    for (path, what) in [
        ("pipe.vhd", "FIFO"),
        ("/dev/null", "character device"),
        ("/proc/self/mem", "proc"),
        ("/proc/self/status", "proc"),
    ] {
        for cmd in ["check", "digest"] {
            let out = cli_in(p, &os(&[cmd, path]));
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} {path}: {err}");
            assert!(err.contains(what), "{cmd} {path}: {err}");
        }
    }
    let out = cli_in(p, &os(&["check", "--now", "0", "."]));
    let (r, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{r}{err}");
    assert!(err.contains("skipping ./pipe.vhd: it is a FIFO"), "{err}");
    assert!(r.contains("./ok.vhd: PASS"), "{r}");
}

/// `cat` never destroys: create-new without --force; --force replaces regular files only (never
/// a device, FIFO, directory or a link's target, never an input, also through a hard link);
/// a failed write (file size limit) leaves nothing; `-o -` streams the same bytes.
#[test]
fn cat_outputs_are_atomic_and_never_destroy() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("img.vhd"), base_image(0x46)).unwrap();
    std::fs::write(p.join("victim"), b"keep me").unwrap();
    std::os::unix::fs::symlink("victim", p.join("link")).unwrap();
    std::fs::hard_link(p.join("img.vhd"), p.join("hard.raw")).unwrap();
    mkfifo(&p.join("fifo"));
    std::fs::create_dir(p.join("dir")).unwrap();
    let before = std::fs::read(p.join("img.vhd")).unwrap();
    for (out, force) in
        [("victim", false), ("link", true), ("fifo", true), ("dir", true), ("/dev/null", true), ("hard.raw", true)]
    {
        let mut a = vec!["cat", "img.vhd", "-o", out];
        if force {
            a.push("--force");
        }
        let o = cli_in(p, &os(&a));
        assert_eq!(o.status.code(), Some(2), "cat -o {out}: {}", text(&o.stderr));
    }
    assert_eq!(std::fs::read(p.join("victim")).unwrap(), b"keep me");
    assert!(std::fs::symlink_metadata(p.join("link")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(p.join("img.vhd")).unwrap(), before);
    assert!(std::fs::metadata("/dev/null").map(|m| !m.is_file()).unwrap_or(true));
    // A regular file is replaced with --force; `-o -` gives the same bytes.
    let o = cli_in(p, &os(&["cat", "img.vhd", "-o", "victim", "--force"]));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let raw = std::fs::read(p.join("victim")).unwrap();
    assert_eq!(raw.len(), 1 << 20);
    let o = cli_in(p, &os(&["cat", "img.vhd", "-o", "-"]));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(o.stdout, raw);
    // Disk full (a file size limit; SIGXFSZ ignored so that the write fails): nothing is left.
    let exe = env!("CARGO_BIN_EXE_vhd-validate");
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f 64; exec '{exe}' cat img.vhd -o full.raw"))
        .current_dir(p)
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(2));
    let mut names: Vec<String> =
        std::fs::read_dir(p).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["dir", "fifo", "hard.raw", "img.vhd", "link", "victim"]);
}

/// Strings from images and file names cannot forge report lines or reach the terminal raw.
#[test]
fn text_report_escapes_image_strings() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let evil = "x\nok.vhd: PASS [fixed, 1 MiB]\r\x1b]0;pwned\x07\x1b[2J\u{202e}.vhd";
    let locators = vec![(PlatformCode::W2ru, format!(".\\{evil}")), (PlatformCode::MacX, format!("/{evil}"))];
    let file = "bad\nname\x1b[31m.vhd";
    std::fs::write(p.join(file), child_image(0x47, evil, locators)).unwrap();
    let out = cli_in(p, &os(&["check", "--now", "0", file]));
    let (r, err) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{r}{err}");
    assert!(!out.stdout.iter().any(|&b| b == 0x1b || b == b'\r' || b == 0x07), "{r:?}");
    assert!(!r.contains('\u{202e}'), "{r:?}");
    let lines: Vec<&str> = r.lines().collect();
    let verdicts: Vec<&&str> =
        lines.iter().filter(|l| !["ERROR ", "WARNING ", "INFO "].iter().any(|s| l.starts_with(s))).collect();
    assert_eq!(verdicts.len(), 1, "{r}");
    assert!(verdicts[0].starts_with("bad\\nname\\x1b[31m.vhd: FAIL"), "{r}");
    assert!(lines.iter().all(|l| ["ERROR ", "WARNING ", "INFO ", "bad\\n"].iter().any(|s| l.starts_with(s))), "{r}");
    assert!(r.contains("\\x1b]0;pwned\\x07"), "{r}");
    // Errors on stderr are escaped too.
    let out = cli_in(p, &os(&["check", "no\x1bsuch.vhd"]));
    assert!(!out.stderr.contains(&0x1b) && text(&out.stderr).contains("no\\x1bsuch.vhd"));
}

/// An image that changes size after it was opened makes `digest` and `cat` fail, not report a
/// digest of two versions.
#[test]
fn reader_fails_when_an_image_changes_size() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("img.vhd");
    let img = base_image(0x48);
    std::fs::write(&path, &img).unwrap();
    let opts = vhd_validator::check::CheckOptions::default();
    let r = ChainReader::open(&path, &opts).unwrap();
    assert!(r.digest().is_ok());
    for len in [img.len() as u64 + 512, img.len() as u64 - 512] {
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len).unwrap();
        let e = r.digest().expect_err("changed size").to_string();
        assert!(e.contains("changed size"), "{e}");
        let mut out = tempfile::tempfile().unwrap();
        assert!(r.write_raw(&mut out).is_err());
    }
}
