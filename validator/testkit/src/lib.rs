//! Test kit shared by the workspace's tests, benchmarks and fuzz targets: the one writer of
//! test images ([`layout`]), on which stand an encoder-based image builder with an independent
//! model of what each image's virtual disk holds ([`build`]), the seed images ([`seed`]) and the
//! benchmark images ([`bench`]); a seeded random generator ([`Rng`]); locating inputs; running
//! the independent readers (QEMU's `qemu-img`, libvhdi through `pyvhdi`, 7-Zip's `7zz`) as
//! oracles, and our own checker and reader.
//!
//! An oracle that is not installed makes the test print a note and return early, unless the
//! environment variable `VHD_REQUIRE_ORACLES=1` is set, in which case a missing oracle fails the
//! test (CI sets it on machines where the tools are installed).

#[cfg(unix)]
pub mod bench;
pub mod build;
pub mod layout;
pub mod seed;

/// Lower-case hex of bytes (the library's one encoder).
pub use vhd_validator::hex::encode as hex;

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use vhd_validator::chain::ChainReader;
use vhd_validator::check::{check_path, ChainReport, CheckOptions};
use vhd_validator::{Finding, Severity};

/// A fixed "now" (2027-01-15T08:00:00Z, Unix seconds) for encoder-made images, whose time stamps
/// are fixed in the past: verdicts must not depend on the clock.
pub const FIXED_NOW_UNIX: i64 = 1_800_000_000;

/// Unix time of the VHD epoch (2000-01-01T00:00:00Z).
pub const VHD_EPOCH_UNIX: i64 = 946_684_800;

/// The VHD time stamp (seconds since 2000-01-01 UTC) of a Unix time.
pub fn vhd_time(unix: i64) -> u32 {
    u32::try_from(unix - VHD_EPOCH_UNIX).expect("time stamp in VHD range")
}

/// The wall clock as Unix seconds (for images that QEMU stamps with the current time).
pub fn wall_clock_unix() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970");
    i64::try_from(d.as_secs()).expect("clock fits i64")
}

/// Check options with a fixed "now" (encoder-made and committed images).
pub fn fixed_opts() -> CheckOptions {
    CheckOptions::default().with_now(FIXED_NOW_UNIX)
}

/// Check options with the wall clock as "now" (images QEMU made a moment ago).
pub fn wall_opts() -> CheckOptions {
    CheckOptions::default().with_now(wall_clock_unix())
}

/// The validator crate's directory (`validator/`).
pub fn crate_dir() -> PathBuf {
    workspace_dir().join("validator")
}

/// The workspace root (this crate lives in `validator/testkit/`).
pub fn workspace_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `shared/fixtures/real` beside the workspace (`../../shared/fixtures/real` from the crate),
/// when present.
pub fn real_fixtures_dir() -> Option<PathBuf> {
    // `VHD_REAL_FIXTURES` names the directory when the checkout is not beside `shared/` (a git
    // worktree elsewhere, a CI clone).
    let d = match std::env::var_os("VHD_REAL_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => crate_dir().join("../../shared/fixtures/real"),
    };
    d.is_dir().then(|| d.canonicalize().unwrap_or(d))
}

/// `corpus/seed` in the workspace.
pub fn seed_dir() -> PathBuf {
    workspace_dir().join("corpus/seed")
}

/// Whether missing oracles must fail the tests (`VHD_REQUIRE_ORACLES=1`).
pub fn oracles_required() -> bool {
    std::env::var("VHD_REQUIRE_ORACLES").is_ok_and(|v| v == "1")
}

/// The full path of `name` on `PATH` (or `name` itself if it is a path to a file).
pub fn which(name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.is_file().then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|c| c.is_file())
}

/// The Python interpreter that has `pyvhdi` (Debian's python3-libvhdi), if any.
pub fn pyvhdi_python() -> Option<PathBuf> {
    let py = which("/usr/bin/python3")?;
    let ok = Command::new(&py)
        .args(["-c", "import pyvhdi"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(py)
}

/// Returns `true` when the oracle (a tool or the real fixtures) is available; otherwise prints a
/// note and returns `false`, or panics under `VHD_REQUIRE_ORACLES=1`. Every test that needs an
/// oracle decides through this function.
pub fn oracle_available(what: &str, available: bool) -> bool {
    if available {
        return true;
    }
    assert!(!oracles_required(), "{what} is not available and VHD_REQUIRE_ORACLES=1");
    eprintln!("note: {what} is not available; skipping what needs it");
    false
}

/// The real fixtures directory ([`real_fixtures_dir`]), or `None` with a note when it is absent
/// (a failure under `VHD_REQUIRE_ORACLES=1`).
pub fn real_fixtures() -> Option<PathBuf> {
    let d = real_fixtures_dir();
    oracle_available("the real fixtures (VHD_REAL_FIXTURES or ../shared/fixtures/real)", d.is_some())
        .then_some(d)
        .flatten()
}

/// Whether `qemu-img` and `qemu-io` are installed.
pub fn have_qemu() -> bool {
    oracle_available("qemu-img/qemu-io", which("qemu-img").is_some() && which("qemu-io").is_some())
}

/// Whether `7zz` is installed.
pub fn have_7zz() -> bool {
    oracle_available("7zz (7-Zip)", which("7zz").is_some())
}

/// Whether `/usr/bin/python3` with `pyvhdi` is installed.
pub fn have_pyvhdi() -> bool {
    oracle_available("pyvhdi (python3-libvhdi)", pyvhdi_python().is_some())
}

/// Runs `cmd`, panicking with its stderr when it cannot start or exits non-zero.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    out
}

/// SHA-256 of a byte slice.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// SHA-256 and length of a file's contents.
pub fn sha256_file(path: &Path) -> (u64, [u8; 32]) {
    let mut f = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).expect("read");
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    (n, h.finalize().into())
}

/// `qemu-img info --output=json -f vpc PATH`'s `virtual-size`, in bytes.
pub fn qemu_virtual_size(path: &Path) -> u64 {
    let out = run_ok(Command::new("qemu-img").args(["info", "--output=json", "-f", "vpc"]).arg(path));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("qemu-img info JSON");
    v["virtual-size"].as_u64().expect("virtual-size")
}

/// Converts `vhd` to raw with QEMU and returns the raw file's path.
///
/// `current_size` selects `--image-opts driver=vpc,force_size_calc=current_size,...`: QEMU then
/// takes the disk size from the footer's current size instead of deciding by creator
/// application (QEMU 10 sizes `vpc ` and `qemu` images from the CHS geometry).
pub fn qemu_convert_raw(vhd: &Path, out_dir: &Path, current_size: bool) -> PathBuf {
    let stem = vhd.file_name().expect("file name").to_string_lossy().into_owned();
    let raw = out_dir.join(format!("{stem}.{}.raw", if current_size { "cur" } else { "auto" }));
    let mut cmd = Command::new("qemu-img");
    cmd.arg("convert");
    if current_size {
        let mut opt = std::ffi::OsString::from("driver=vpc,force_size_calc=current_size,file.filename=");
        opt.push(vhd.as_os_str());
        cmd.arg("--image-opts").arg(opt);
    } else {
        cmd.args(["-f", "vpc"]).arg(vhd);
    }
    cmd.args(["-O", "raw"]).arg(&raw);
    run_ok(&mut cmd);
    raw
}

/// What QEMU reads from `vhd`: (size, SHA-256, how it was sized, raw file).
///
/// QEMU's default conversion is used when it yields `expected_size` bytes; otherwise (QEMU sized
/// the disk from the CHS geometry) the conversion is repeated with `force_size_calc=current_size`.
pub struct QemuRead {
    /// Bytes QEMU produced.
    pub size: u64,
    /// SHA-256 of those bytes.
    pub digest: [u8; 32],
    /// Whether `force_size_calc=current_size` was needed.
    pub forced_current_size: bool,
    /// QEMU's default-sizing result in bytes.
    pub auto_size: u64,
    /// The raw file.
    pub raw: PathBuf,
}

/// See [`QemuRead`].
pub fn qemu_read(vhd: &Path, out_dir: &Path, expected_size: u64) -> QemuRead {
    let raw = qemu_convert_raw(vhd, out_dir, false);
    let (auto_size, digest) = sha256_file(&raw);
    if auto_size == expected_size {
        return QemuRead { size: auto_size, digest, forced_current_size: false, auto_size, raw };
    }
    let _ = std::fs::remove_file(&raw);
    let raw = qemu_convert_raw(vhd, out_dir, true);
    let (size, digest) = sha256_file(&raw);
    QemuRead { size, digest, forced_current_size: true, auto_size, raw }
}

const PYVHDI_SCRIPT: &str = r#"
import hashlib, sys, pyvhdi
mode, chunk, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
files = []
for p in paths:
    f = pyvhdi.file()
    f.open(p)
    files.append(f)
for child, parent in zip(files, files[1:]):
    child.set_parent(parent)
top = files[0]
size = top.media_size
out = sys.stdout.buffer
h = hashlib.sha256()
off = 0
while off < size:
    want = min(chunk, size - off)
    b = top.read_buffer_at_offset(want, off)
    if not b:
        sys.exit("short read at %d" % off)
    if mode == "dump":
        out.write(b)
    else:
        h.update(b)
    off += len(b)
if mode != "dump":
    out.write(("%d %s\n" % (size, h.hexdigest())).encode())
"#;

fn pyvhdi_cmd(mode: &str, chunk: usize, chain: &[&Path]) -> Result<Vec<u8>, String> {
    let py = pyvhdi_python().ok_or("pyvhdi missing")?;
    let out = Command::new(py)
        .args(["-c", PYVHDI_SCRIPT, mode, &chunk.to_string()])
        .args(chain)
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !out.status.success() {
        return Err(format!("pyvhdi failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(out.stdout)
}

/// libvhdi's view of a chain (`chain[0]` the image, then its parent, grandparent, ...): media
/// size and SHA-256 of the whole media. libvhdi takes the media size from the footer's
/// *original* size (`libvhdi_file_footer_read_data`), so callers compare only images whose two sizes agree.
///
/// # Errors
/// libvhdi's error message when it cannot open or read the chain.
pub fn vhdi_digest(chain: &[&Path]) -> Result<(u64, [u8; 32]), String> {
    let out = pyvhdi_cmd("digest", 1 << 20, chain)?;
    let s = String::from_utf8_lossy(&out);
    let mut it = s.split_whitespace();
    let size = it.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("bad output {s:?}"))?;
    let d = it.next().ok_or_else(|| format!("bad output {s:?}"))?;
    let digest = vhd_validator::hex::decode(d).map_err(|e| e.to_string())?;
    Ok((size, digest.try_into().map_err(|_| format!("bad digest {d:?}"))?))
}

/// libvhdi's bytes of a (small) chain's whole media, read `chunk` bytes per call.
///
/// # Errors
/// As [`vhdi_digest`].
pub fn vhdi_read_all(chain: &[&Path], chunk: usize) -> Result<Vec<u8>, String> {
    pyvhdi_cmd("dump", chunk, chain)
}

/// What 7-Zip extracts from `vhd` (`7zz e -so -tvhd`): the bytes on stdout and the exit
/// status and stderr, unjudged (7-Zip reports some problems as warnings with exit status 1).
pub struct SevenZipRead {
    /// Extracted bytes.
    pub bytes: Vec<u8>,
    /// Exit code.
    pub code: Option<i32>,
    /// Standard error.
    pub stderr: String,
}

/// See [`SevenZipRead`]. 7-Zip looks for a differencing disk's parent beside the image.
pub fn sevenzip_read(vhd: &Path) -> SevenZipRead {
    let out = Command::new("7zz")
        .args(["e", "-so", "-tvhd", "-bd"])
        .arg(vhd)
        .output()
        .unwrap_or_else(|e| panic!("cannot run 7zz: {e}"));
    SevenZipRead {
        bytes: out.stdout,
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `7zz l -slt -tvhd` output (properties, including any parent and error flags).
pub fn sevenzip_list(vhd: &Path) -> String {
    let out = Command::new("7zz").args(["l", "-slt", "-tvhd"]).arg(vhd).output().expect("run 7zz");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Our reader's size and digest of the image (and its chain).
pub fn reader_digest(path: &Path, opts: &CheckOptions) -> (u64, [u8; 32]) {
    let r = ChainReader::open(path, opts).unwrap_or_else(|e| panic!("ChainReader::open({}): {e}", path.display()));
    let d = r.digest().unwrap_or_else(|e| panic!("digest({}): {e}", path.display()));
    (r.size(), d)
}

/// Our reader's bytes of the whole virtual disk, through `write_raw` into a file in `dir`.
pub fn reader_write_raw(path: &Path, opts: &CheckOptions, dir: &Path) -> Vec<u8> {
    let r = ChainReader::open(path, opts).unwrap_or_else(|e| panic!("ChainReader::open({}): {e}", path.display()));
    let out_path = dir.join(format!("{}.ours.raw", path.file_name().expect("name").to_string_lossy()));
    let mut f = File::create(&out_path).expect("create raw output");
    r.write_raw(&mut f).unwrap_or_else(|e| panic!("write_raw({}): {e}", path.display()));
    drop(f);
    let bytes = std::fs::read(&out_path).expect("read raw output");
    assert_eq!(bytes.len() as u64, r.size(), "write_raw wrote a file of the wrong length");
    bytes
}

/// The first byte offset where `a` and `b` differ (or the shorter length), for messages.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x != y).or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Asserts `ours == theirs` with a message naming the first differing byte.
pub fn assert_same_bytes(what: &str, ours: &[u8], theirs: &[u8]) {
    if let Some(at) = first_difference(ours, theirs) {
        panic!(
            "{what}: differ at byte {at} (sector {}): ours {:?} vs theirs {:?}; lengths {} vs {}",
            at / 512,
            ours.get(at..(at + 8).min(ours.len())),
            theirs.get(at..(at + 8).min(theirs.len())),
            ours.len(),
            theirs.len()
        );
    }
}

/// Checks `path` (and its chain) with our validator, panicking if it cannot be opened.
pub fn check(path: &Path, opts: &CheckOptions) -> ChainReport {
    check_path(path, opts).unwrap_or_else(|e| panic!("check_path({}): {e}", path.display()))
}

/// One finding per line, for assertion messages.
pub fn list(findings: &[&Finding]) -> String {
    if findings.is_empty() {
        return "  (none)".into();
    }
    findings.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n")
}

/// All findings of a report.
pub fn all_findings(report: &ChainReport) -> Vec<&Finding> {
    report.findings().collect()
}

/// Asserts that no finding of `report` has error severity.
pub fn assert_no_errors(what: &str, report: &ChainReport) {
    let all = all_findings(report);
    let errors: Vec<&Finding> = all.iter().copied().filter(|f| f.severity == Severity::Error).collect();
    assert!(errors.is_empty(), "{what}: error findings:\n{}\nall findings:\n{}", list(&errors), list(&all));
}

/// The distinct (code, severity) pairs of the findings about the file named `file` (every file
/// when `None`), sorted.
pub fn code_set(report: &ChainReport, file: Option<&str>) -> Vec<(String, Severity)> {
    let mut v: Vec<(String, Severity)> = report
        .findings()
        .filter(|f| file.is_none_or(|n| f.file == n))
        .map(|f| (f.code.as_str().to_string(), f.severity))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Asserts that the distinct (code, severity) pairs of `report` are exactly `expected`
/// (each given with a one-line reason, printed on failure).
pub fn assert_codes(what: &str, report: &ChainReport, expected: &[(&str, Severity, &str)]) {
    let got = code_set(report, None);
    let mut want: Vec<(String, Severity)> = expected.iter().map(|(c, s, _)| (c.to_string(), *s)).collect();
    want.sort();
    want.dedup();
    if got != want {
        let reasons: String = expected.iter().map(|(c, s, r)| format!("  {c} ({s}): {r}\n")).collect();
        panic!(
            "{what}: findings differ from what is true of the file.\nexpected:\n{reasons}got:\n{}",
            list(&all_findings(report))
        );
    }
}

/// A small deterministic generator (SplitMix64) for seeded random inputs: the one the tests,
/// benchmarks and fuzz replays use (`Rng(seed)`; its output for a seed never changes: the seed
/// corpus is made from it).
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}
