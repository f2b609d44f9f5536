//! Resource bounds on hostile files: each run of the CLI (`vhd-validate check`, and `digest`
//! where the virtual disk is small enough to hash) must complete, without a panic, with a peak
//! resident set size under [`RSS_CAP_KIB`] (64 MiB).
//!
//! The files:
//!
//! - a dynamic disk whose header claims 2^32-1 BAT entries, with 1 Mi entries (4 MiB) actually
//!   in the file, every other one allocated (512-byte blocks: half a million separate extents),
//!   once with a 2040 GiB disk (check only) and once with a 512 MiB one (check and digest);
//! - a dynamic disk with the largest block size, 2^31 bytes (a 512 KiB sector bitmap per
//!   block), whose 1020 BAT entries all point at the same fully set bitmap: 2040 GiB (check)
//!   and 1 MiB (check and digest);
//! - a differencing disk in a sparse 5 GiB file whose parent locators claim 4 GiB payloads
//!   (one lies wholly inside the file);
//! - a differencing chain 1000 images deep (checked and digested with `--max-depth 1001`, and
//!   with the default limit);
//! - cycles: an image that is its own parent, and two images that are each other's parent.
//!
//! Peak memory is the child's maximum resident set size from `/usr/bin/time -v` when it is
//! installed, otherwise the `VmHWM` of `/proc/PID/status` polled until it exits. Nothing is
//! timed: each run only has a generous hang guard ([`HANG_GUARD`]) after which it is killed and
//! the test fails.

use vhd_testkit as common;

use common::build::{self, BlockSpec, ParentSpec, SparseSpec};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vhd_validator::chain::reader::MAX_VIRTUAL_SIZE;
use vhd_validator::format::bat::padded_bat_bytes;
use vhd_validator::format::{DiskType, DynamicDiskHeader, ParentLocatorEntry, PlatformCode, UNALLOCATED};

/// Peak resident set size allowed for one CLI run, in KiB (64 MiB).
const RSS_CAP_KIB: u64 = 64 * 1024;

/// A run still going after this long is killed and fails the test (not a speed requirement:
/// every case finishes in seconds).
const HANG_GUARD: Duration = Duration::from_secs(600);

/// `--now` for every check, so that verdicts do not depend on the clock.
const NOW: &str = "2027-01-01T00:00:00Z";

/// The result of one CLI run.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Peak resident set size in KiB, when it could be measured.
    peak_kib: Option<u64>,
}

/// Runs `vhd-validate ARGS`, measuring its peak memory, killing it after [`HANG_GUARD`].
fn run_cli(args: &[OsString]) -> Run {
    let exe = env!("CARGO_BIN_EXE_vhd-validate");
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.is_file() {
        let mut c = Command::new(time);
        c.arg("-v").arg(exe);
        c
    } else {
        Command::new(exe)
    };
    let mut child = cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn vhd-validate");
    // Drain the pipes on threads so that a chatty child never blocks.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out_pipe, &mut s).ok();
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err_pipe, &mut s).ok();
        s
    });
    let status_path = format!("/proc/{}/status", child.id());
    let began = Instant::now();
    let mut polled: Option<u64> = None;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if !time.is_file() {
            if let Ok(s) = std::fs::read_to_string(&status_path) {
                let hwm = s
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
                if let Some(k) = hwm {
                    polled = Some(polled.unwrap_or(0).max(k));
                }
            }
        }
        if began.elapsed() > HANG_GUARD {
            // /usr/bin/time forwards no signal: kill the validator too (it is time's only child).
            let _ = Command::new("pkill").arg("-KILL").arg("-P").arg(child.id().to_string()).status();
            let _ = child.kill();
            let _ = child.wait();
            panic!("vhd-validate {args:?} still running after {HANG_GUARD:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = out_t.join().unwrap();
    let mut stderr = err_t.join().unwrap();
    let mut peak_kib = polled;
    let mut code = status.code();
    if time.is_file() {
        peak_kib = stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|v| v.trim().parse().ok());
        code = stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Exit status:"))
            .and_then(|v| v.trim().parse().ok())
            .or(code);
        if let Some(i) = stderr.find("\tCommand being timed:") {
            stderr.truncate(i);
        }
    }
    Run { code, stdout, stderr, peak_kib }
}

fn os(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    args.iter().map(|a| a.as_ref().to_os_string()).collect()
}

/// Runs `check` (and `digest` when `digest`) on `path` with `extra` arguments; asserts no panic,
/// the expected exit statuses and the memory cap; returns the check run.
fn bounded(what: &str, path: &Path, extra: &[&str], check_codes: &[i32], digest: Option<&[i32]>) -> Run {
    let mut args = os(&[&"check", &"--now", &NOW]);
    args.extend(extra.iter().map(OsString::from));
    args.push(path.as_os_str().to_os_string());
    let check = run_cli(&args);
    expect(what, "check", &check, check_codes);
    if let Some(codes) = digest {
        let mut args = os(&[&"digest"]);
        args.extend(extra.iter().map(OsString::from));
        args.push(path.as_os_str().to_os_string());
        let d = run_cli(&args);
        expect(what, "digest", &d, codes);
    }
    check
}

fn expect(what: &str, cmd: &str, r: &Run, codes: &[i32]) {
    assert!(!r.stderr.contains("panicked"), "{what}: vhd-validate {cmd} panicked:\n{}", r.stderr);
    assert!(
        r.code.is_some_and(|c| codes.contains(&c)),
        "{what}: vhd-validate {cmd} exited {:?}, expected one of {codes:?}\nstdout:\n{}\nstderr:\n{}",
        r.code,
        tail(&r.stdout),
        tail(&r.stderr)
    );
    match r.peak_kib {
        Some(kib) => {
            eprintln!("{what}: vhd-validate {cmd}: exit {:?}, peak RSS {kib} KiB", r.code);
            assert!(kib <= RSS_CAP_KIB, "{what}: vhd-validate {cmd} peaked at {kib} KiB (cap {RSS_CAP_KIB} KiB)");
        }
        None => eprintln!("note: {what}: peak RSS of vhd-validate {cmd} could not be measured"),
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A footer (sealed) of `kind` and `size` with data offset 512 (sparse) or all-ones (fixed).
fn footer(kind: DiskType, size: u64, tag: u8) -> [u8; 512] {
    build::footer(kind, size, build::uuid(tag), common::vhd_time(1_704_067_200)).encode()
}

/// A dynamic disk of `size` bytes with the given block size and `max_table_entries`, whose BAT
/// (at 1536) holds `bat` and whose file continues with `body` (placed right after the BAT,
/// padded to a sector), then the trailing footer.
fn dynamic(size: u64, block_size: u32, max_entries: u32, bat: &[u32], body: &[u8], tag: u8) -> Vec<u8> {
    let f = footer(DiskType::Dynamic, size, tag);
    let h = DynamicDiskHeader::new(1536, max_entries, block_size);
    let mut img = Vec::new();
    img.extend_from_slice(&f);
    img.extend_from_slice(&h.encode());
    for e in bat {
        img.extend_from_slice(&e.to_be_bytes());
    }
    img.resize(img.len().div_ceil(512) * 512, 0xFF);
    img.extend_from_slice(body);
    img.resize(img.len().div_ceil(512) * 512, 0);
    img.extend_from_slice(&f);
    img
}

/// 2^32-1 BAT entries claimed; 1 Mi in the file, every other one allocated (512-byte blocks).
/// The allocated entries point at one block whose bitmap bit is set and whose data is 0x5A.
fn huge_bat(size: u64) -> Vec<u8> {
    let entries = 1usize << 20;
    let bat_bytes = entries as u64 * 4;
    let block_sector = u32::try_from((1536 + bat_bytes) / 512).unwrap();
    let bat: Vec<u32> = (0..entries).map(|i| if i % 2 == 0 { block_sector } else { UNALLOCATED }).collect();
    let mut body = vec![0u8; 1024];
    body[0] = 0x80;
    body[512..].fill(0x5A);
    dynamic(size, 512, u32::MAX, &bat, &body, 0x71)
}

/// Block size 2^31: 1020 BAT entries (2040 GiB) all pointing at one 512 KiB bitmap of ones.
fn largest_blocks(size: u64) -> Vec<u8> {
    let block: u32 = 1 << 31;
    let entries = u32::try_from(size.div_ceil(u64::from(block))).unwrap();
    let bitmap_sector = u32::try_from((1536 + padded_bat_bytes(entries)) / 512).unwrap();
    let bat = vec![bitmap_sector; entries as usize];
    let body = vec![0xFFu8; 512 << 10];
    dynamic(size, block, entries, &bat, &body, 0x72)
}

#[test]
fn bat_with_2_32_minus_1_entries() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("bat-4g-entries-2040g.vhd");
    std::fs::write(&big, huge_bat(MAX_VIRTUAL_SIZE)).unwrap();
    bounded("2^32-1 BAT entries, 2040 GiB", &big, &[], &[1], None);
    let small = dir.path().join("bat-4g-entries-512m.vhd");
    std::fs::write(&small, huge_bat(512 << 20)).unwrap();
    bounded("2^32-1 BAT entries, 512 MiB", &small, &[], &[1], Some(&[0]));
}

#[test]
fn largest_block_size() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("block-2g-2040g.vhd");
    std::fs::write(&big, largest_blocks(MAX_VIRTUAL_SIZE)).unwrap();
    bounded("block size 2^31, 2040 GiB", &big, &[], &[1], None);
    let small = dir.path().join("block-2g-1m.vhd");
    std::fs::write(&small, largest_blocks(1 << 20)).unwrap();
    bounded("block size 2^31, 1 MiB", &small, &[], &[1], Some(&[0]));
}

#[test]
fn locator_of_4_gib_in_a_5_gib_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locator-4g.vhd");
    let len: u64 = 5 << 30;
    let f = footer(DiskType::Differencing, 1 << 20, 0x73);
    let mut h = DynamicDiskHeader::new(1536, 2, 512 << 10);
    h.parent_unique_id = build::uuid(0x74);
    h.set_parent_name("missing-parent.vhd");
    let locator = |code: PlatformCode, length: u32, space: u32, offset: u64| ParentLocatorEntry {
        platform_code: code.raw(),
        platform_data_space: space,
        platform_data_length: length,
        reserved: 0,
        platform_data_offset: offset,
    };
    // Wholly inside the file: 4 GiB - 1 bytes at 64 KiB.
    h.parent_locators[0] = locator(PlatformCode::W2ku, u32::MAX, u32::MAX, 64 << 10);
    // Past the end, and overflowing the offset.
    h.parent_locators[1] = locator(PlatformCode::W2ru, u32::MAX, u32::MAX, u64::MAX - 511);
    h.parent_locators[2] = locator(PlatformCode::MacX, 1 << 31, 1 << 23, len - 4096);
    h.seal();
    {
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(len).unwrap();
        use std::os::unix::fs::FileExt;
        file.write_all_at(&f, 0).unwrap();
        file.write_all_at(&h.encode(), 512).unwrap();
        file.write_all_at(&[0xFF; 512], 1536).unwrap();
        file.write_all_at(&f, len - 512).unwrap();
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    // The parent is missing: check finds errors (1), digest cannot read the chain (2).
    bounded("4 GiB locator in a 5 GiB file", &path, &[], &[1], Some(&[2]));
}

/// Writes a differencing chain `depth` images deep (`d0000.vhd` the child, each `dNNNN.vhd`
/// the child of `dNNNN+1.vhd` through a W2ru locator, the last one's parent `base.vhd`, a
/// dynamic disk), 64 KiB disks with 4 KiB blocks, each image holding one sector of its own.
fn deep_chain(dir: &Path, depth: usize) -> PathBuf {
    let size = 64 << 10;
    let t = common::vhd_time(1_704_067_200);
    let base = build::sparse(&SparseSpec {
        kind: DiskType::Dynamic,
        size,
        block_size: 4096,
        unique_id: build::uuid(0x01),
        timestamp: t,
        parent: None,
        blocks: vec![BlockSpec::full(0, 8)],
        seed: 1,
    });
    std::fs::write(dir.join("base.vhd"), &base.bytes).unwrap();
    let id = |i: usize| {
        let mut u = [0u8; 16];
        u[6] = 0x40;
        u[8] = 0x80;
        u[10..16].copy_from_slice(&(i as u64 + 1000).to_be_bytes()[2..]);
        u
    };
    let name = |i: usize| format!("d{i:04}.vhd");
    for i in (0..depth).rev() {
        let (parent_name, parent_id) =
            if i + 1 == depth { ("base.vhd".to_string(), build::uuid(0x01)) } else { (name(i + 1), id(i + 1)) };
        let img = build::sparse(&SparseSpec {
            kind: DiskType::Differencing,
            size,
            block_size: 4096,
            unique_id: id(i),
            timestamp: t,
            parent: Some(ParentSpec {
                unique_id: parent_id,
                timestamp: t,
                name: parent_name.clone(),
                locators: vec![(PlatformCode::W2ru, format!(".\\{parent_name}"))],
            }),
            blocks: vec![BlockSpec::runs((i % 16) as u32, &[((i % 8) as u64, 1)])],
            seed: i as u64 + 7,
        });
        std::fs::write(dir.join(name(i)), &img.bytes).unwrap();
    }
    dir.join(name(0))
}

#[test]
fn chain_1000_deep() {
    let dir = tempfile::tempdir().unwrap();
    let child = deep_chain(dir.path(), 1000);
    // Every image resolved and checked; warnings only (exit 0), and the digest reads 1001 levels.
    let r = bounded("chain 1000 deep", &child, &["--max-depth", "1001"], &[0, 1], Some(&[0]));
    assert!(!r.stdout.contains("CHAIN-DEPTH"), "the chain fits the limit:\n{}", tail(&r.stdout));
    assert!(r.stdout.contains("chain of 1001"), "the verdict line counts the whole chain:\n{}", tail(&r.stdout));
    // The default limit stops the walk with CHAIN-DEPTH (an error) and the reader refuses.
    let r = bounded("chain 1000 deep, default limit", &child, &[], &[1], Some(&[2]));
    assert!(r.stdout.contains("CHAIN-DEPTH"), "no CHAIN-DEPTH finding:\n{}", tail(&r.stdout));
}

#[test]
fn cycles() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::vhd_time(1_704_067_200);
    let diff = |own: u8, parent: u8, parent_name: &str| {
        build::sparse(&SparseSpec {
            kind: DiskType::Differencing,
            size: 1 << 20,
            block_size: 512 << 10,
            unique_id: build::uuid(own),
            timestamp: t,
            parent: Some(ParentSpec {
                unique_id: build::uuid(parent),
                timestamp: t,
                name: parent_name.into(),
                locators: vec![(PlatformCode::W2ru, format!(".\\{parent_name}"))],
            }),
            blocks: vec![BlockSpec::runs(0, &[(3, 2)])],
            seed: u64::from(own),
        })
        .bytes
    };
    let own = dir.path().join("self.vhd");
    std::fs::write(&own, diff(0x61, 0x61, "self.vhd")).unwrap();
    let r = bounded("image that is its own parent", &own, &[], &[1], Some(&[2]));
    assert!(r.stdout.contains("CHAIN-CYCLE"), "no CHAIN-CYCLE finding:\n{}", r.stdout);
    std::fs::write(dir.path().join("a.vhd"), diff(0x62, 0x63, "b.vhd")).unwrap();
    std::fs::write(dir.path().join("b.vhd"), diff(0x63, 0x62, "a.vhd")).unwrap();
    let r = bounded("two images each other's parent", &dir.path().join("a.vhd"), &[], &[1], Some(&[2]));
    assert!(r.stdout.contains("CHAIN-CYCLE"), "no CHAIN-CYCLE finding:\n{}", r.stdout);
}

/// A bug found by the `validate_chain` and `validate_image` fuzz targets, since fixed
/// (check/file.rs, `scan`): a dynamic disk header whose data offset lies within 511 of
/// `u64::MAX` overflowed the lower bound of the trailing-garbage scan (`div_ceil(512) * 512`).
/// Debug builds panicked ("attempt to multiply with overflow"); release builds wrapped the bound
/// to 0 and read the whole file into one buffer, so peak memory grew with the file (about
/// 200 MiB for a 200 MiB file). The input is
/// `fuzz/corpus/validate_image/regressions/file-scan-lo-overflow`, here padded with 64 MiB of
/// zeros before its last 512 bytes: the check must stay under the memory cap.
#[test]
fn trailing_garbage_scan_with_header_data_offset_near_u64_max() {
    let regression = common::workspace_dir().join("fuzz/corpus/validate_image/regressions/file-scan-lo-overflow");
    let small = std::fs::read(regression).unwrap();
    let cut = small.len() - 512;
    let mut img = small[..cut].to_vec();
    img.resize(cut + (64 << 20), 0);
    img.extend_from_slice(&small[cut..]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan-lo-overflow.vhd");
    std::fs::write(&path, img).unwrap();
    bounded("header data offset near u64::MAX, 64 MiB file", &path, &[], &[1], None);
}

/// 256 Ki allocated 512-byte blocks, each in its own place in a sparse 256 MiB file and every
/// sector bitmap empty (a hole): BITMAP-EMPTY-BLOCK holds for every block. Before the
/// sector-bitmap rules were capped (`--max-listed`), the report held one finding per block
/// (about 100 MiB for this file, one per block of a 2 TiB image); now it lists 100 and one
/// summary finding counts all 262,144.
#[test]
fn empty_sector_bitmap_in_every_block() {
    use std::io::{Seek, SeekFrom, Write};
    const BLOCKS: u32 = 256 << 10;
    let bat_bytes = u64::from(BLOCKS) * 4;
    let first = u32::try_from((1536 + bat_bytes) / 512).unwrap();
    // 512-byte blocks: a one-sector bitmap, then one data sector.
    let bat: Vec<u32> = (0..BLOCKS).map(|n| first + 2 * n).collect();
    let head = dynamic(u64::from(BLOCKS) * 512, 512, BLOCKS, &bat, &[], 0x73);
    let footer_at = (1536 + bat_bytes) + u64::from(BLOCKS) * 1024;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty-bitmaps.vhd");
    let mut f = std::fs::File::create(&path).unwrap();
    // `head` ends with the trailing footer right after the BAT; keep the BAT, move the footer.
    let footer = head[head.len() - 512..].to_vec();
    f.write_all(&head[..head.len() - 512]).unwrap();
    f.seek(SeekFrom::Start(footer_at)).unwrap();
    f.write_all(&footer).unwrap();
    drop(f);
    let r = bounded("256 Ki blocks with empty sector bitmaps", &path, &[], &[0, 1], None);
    let listed = r.stdout.lines().filter(|l| l.contains("BITMAP-EMPTY-BLOCK")).count();
    assert_eq!(listed, 101, "100 listed and one summary:\n{}", tail(&r.stdout));
    assert!(r.stdout.contains("262144 allocated blocks with an empty sector bitmap in all"), "{}", tail(&r.stdout));
}
