//! End-to-end tests of the `vhd-validate` binary: exit statuses, the bare `PATH` form,
//! directory input, the text and JSON reports (and that docs/REPORT.md documents every JSON
//! field), profiles, `--now`, the rule catalogue and docs/RULES.md, `explain`, `cat` and
//! `digest`.
//!
//! Images are written with the crate's format encoders (a fixed disk of known bytes, so the
//! expected digest is known without any reader) or with `qemu-img create -f vpc`.

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use vhd_validator::format::{DiskType, HardDiskFooter};

/// 2024-01-01T00:00:00Z as a VHD time stamp: the creation time of the test images.
const CREATED_VHD: u32 = 1_704_067_200 - 946_684_800;
/// A "now" safely after [`CREATED_VHD`] (2025-01-01T00:00:00Z).
const NOW: &str = "2025-01-01T00:00:00Z";
/// One MiB.
const MIB: usize = 1 << 20;

fn vhd_validate() -> assert_cmd::Command {
    cargo_bin_cmd!("vhd-validate")
}

/// Runs the binary with `args` and returns its output (whatever the status).
fn run(args: &[&str]) -> Output {
    vhd_validate().args(args).output().expect("run vhd-validate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// The exit code, with stdout and stderr in the panic message when it is not `want`.
#[track_caller]
fn assert_status(o: &Output, want: i32) {
    assert_eq!(o.status.code(), Some(want), "exit status\n--- stdout\n{}\n--- stderr\n{}", stdout(o), stderr(o));
}

/// `size` bytes of a recognisable pattern (never all zero).
fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 7 + i / 512) as u8).collect()
}

/// A fixed disk holding `data`, written as by Windows, with a non-null unique id and a 2024 time stamp; `edit` may
/// change the footer after it is sealed (and reseal it).
fn fixed_image(data: &[u8], edit: impl FnOnce(&mut HardDiskFooter)) -> Vec<u8> {
    let mut f = HardDiskFooter::new(DiskType::Fixed, data.len() as u64, u64::MAX);
    f.unique_id = *b"\x3b\x1f\x52\x90\xa4\x47\x4c\x1d\x9e\x08\x6a\x21\x7d\xc5\x13\xf6";
    f.timestamp = CREATED_VHD;
    // Windows' creator: QEMU then sizes the disk by its current size, not its CHS geometry.
    f.creator_application = *b"win ";
    f.creator_version = 0x000A_0000;
    f.seal();
    edit(&mut f);
    let mut img = data.to_vec();
    img.extend_from_slice(&f.encode());
    img
}

/// A clean 1 MiB fixed disk.
fn clean() -> Vec<u8> {
    fixed_image(&pattern(MIB), |_| {})
}

/// A 1 MiB fixed disk whose footer checksum is off by one (FOOTER-CHECKSUM, an error under
/// every profile).
fn bad_checksum() -> Vec<u8> {
    fixed_image(&pattern(MIB), |f| f.checksum = f.checksum.wrapping_add(1))
}

/// A 1 MiB fixed disk with the reserved feature bit clear (FOOTER-FEATURES-RESERVED-BIT: an
/// error under strict, a warning under compat).
fn reserved_bit_clear() -> Vec<u8> {
    fixed_image(&pattern(MIB), |f| {
        f.features = 0;
        f.seal();
    })
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Makes a dynamic VHD with QEMU.
fn qemu_dynamic(path: &Path, size: &str) {
    let st = Command::new("qemu-img")
        .args(["create", "-q", "-f", "vpc", s(path), size])
        .status()
        .expect("qemu-img is installed (apt-get install qemu-utils)");
    assert!(st.success(), "qemu-img create failed");
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{}", stdout(o)))
}

fn codes_of(image: &Value) -> Vec<String> {
    image["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// check: exit statuses and text report

#[test]
fn clean_image_passes_with_status_0() {
    let dir = tempfile::tempdir().unwrap();
    let img = write(dir.path(), "clean.vhd", &clean());
    let o = run(&["check", "--now", NOW, s(&img)]);
    assert_status(&o, 0);
    let out = stdout(&o);
    let last = out.lines().last().unwrap();
    assert_eq!(last, format!("{}: PASS [fixed, 1 MiB]", s(&img)), "{out}");
    assert!(!out.contains("ERROR ") && !out.contains("WARNING "), "{out}");
}

#[test]
fn error_finding_gives_status_1_and_a_located_line() {
    let dir = tempfile::tempdir().unwrap();
    let img = write(dir.path(), "bad.vhd", &bad_checksum());
    let o = run(&["check", "--now", NOW, s(&img)]);
    assert_status(&o, 1);
    let out = stdout(&o);
    // SEVERITY CODE file:offset path: message (expected X, found Y)
    let prefix = format!("ERROR FOOTER-CHECKSUM {}:{} footer.checksum: ", s(&img), MIB + 64);
    let line = out.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {prefix}\n{out}"));
    assert!(line.contains("(expected ") && line.contains(", found "), "{line}");
    let verdict = out.lines().last().unwrap();
    assert!(verdict.starts_with(&format!("{}: FAIL (", s(&img))), "{verdict}");
    assert!(verdict.ends_with(" [fixed, 1 MiB]"), "{verdict}");
    assert!(verdict.contains(" error") && verdict.contains(" warning") && verdict.contains(" info"), "{verdict}");
}

#[test]
fn bare_path_means_check() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "clean.vhd", &clean());
    let bad = write(dir.path(), "bad.vhd", &bad_checksum());
    for img in [&good, &bad] {
        let with = run(&["check", "--now", NOW, s(img)]);
        let bare = run(&[s(img), "--now", NOW]);
        let flags_first = run(&["--now", NOW, s(img)]);
        assert_eq!(bare.status.code(), with.status.code());
        assert_eq!(stdout(&bare), stdout(&with));
        assert_eq!(stdout(&flags_first), stdout(&with));
    }
    assert_status(&run(&[s(&good), "--now", NOW]), 0);
    assert_status(&run(&[s(&bad), "--now", NOW]), 1);
}

#[test]
fn profile_changes_severities_not_findings() {
    let dir = tempfile::tempdir().unwrap();
    let img = write(dir.path(), "features.vhd", &reserved_bit_clear());
    let strict = run(&["check", "--now", NOW, s(&img)]);
    let compat = run(&["check", "--now", NOW, "--profile", "compat", s(&img)]);
    assert_status(&strict, 1);
    assert_status(&compat, 0);
    assert!(stdout(&strict).contains("ERROR FOOTER-FEATURES-RESERVED-BIT "), "{}", stdout(&strict));
    assert!(stdout(&compat).contains("WARNING FOOTER-FEATURES-RESERVED-BIT "), "{}", stdout(&compat));
    assert!(stdout(&compat).lines().last().unwrap().contains(": PASS with "), "{}", stdout(&compat));

    let js = json(&run(&["check", "--format", "json", "--now", NOW, s(&img)]));
    let jc = json(&run(&["check", "--format", "json", "--now", NOW, "--profile", "compat", s(&img)]));
    assert_eq!(js["profile"], "strict");
    assert_eq!(jc["profile"], "compat");
    assert_eq!(codes_of(&js["images"][0]), codes_of(&jc["images"][0]));
    assert_eq!(js["images"][0]["verdict"], "fail");
    assert_ne!(jc["images"][0]["verdict"], "fail");
}

#[test]
fn directory_input_is_recursive_filtered_and_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "b-clean.vhd", &clean());
    write(d, "sub/deeper/a-bad.AVHD", &bad_checksum());
    write(d, "notes.txt", b"not an image");
    write(d, "other.vhdx", b"not a VHD");
    qemu_dynamic(&d.join("C-qemu.VHD"), "8M");
    let o = run(&["--now", NOW, s(d)]);
    assert_status(&o, 1);
    let out = stdout(&o);
    let verdicts: Vec<&str> = out.lines().filter(|l| l.contains(": PASS") || l.contains(": FAIL")).collect();
    let files: Vec<String> = verdicts.iter().map(|l| l.split(": ").next().unwrap().to_string()).collect();
    let expect = [d.join("C-qemu.VHD"), d.join("b-clean.vhd"), d.join("sub/deeper/a-bad.AVHD")];
    assert_eq!(files, expect.iter().map(|p| s(p).to_string()).collect::<Vec<_>>(), "{out}");
    // (QEMU rounds the size to whole CHS cylinders: 8 MiB becomes 8194 KiB.)
    assert!(verdicts[0].contains(": PASS") && verdicts[0].contains(" [dynamic, "), "{out}");
    assert!(verdicts[2].contains(": FAIL ("), "{out}");
    assert!(out.lines().last().unwrap().starts_with("summary: 3 images checked ("), "{out}");
}

/// `check DIR` runs images on several threads; every report (and the exit status) is the same
/// as with one, in the same order, parents shared by chains included.
#[test]
fn check_dir_output_does_not_depend_on_jobs() {
    let corpus = repo_root().join("corpus/generated");
    for format in ["text", "json", "sarif"] {
        let with = |jobs: &str| run(&["check", "--now", NOW, "--format", format, "-j", jobs, s(&corpus)]);
        let one = with("1");
        assert!(stdout(&one).len() > 10_000, "{format}: {}", stderr(&one));
        for jobs in ["2", "5"] {
            let many = with(jobs);
            assert_eq!(many.status.code(), one.status.code(), "{format} -j {jobs}");
            assert!(many.stdout == one.stdout && many.stderr == one.stderr, "{format} -j {jobs}");
        }
    }
}

#[test]
fn directory_without_images_passes_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "readme.txt", b"nothing here");
    let o = run(&["check", s(dir.path())]);
    assert_status(&o, 0);
    assert!(stderr(&o).contains("no .vhd or .avhd files under"), "{}", stderr(&o));
}

#[test]
fn unreadable_input_gives_status_2_but_others_are_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "clean.vhd", &clean());
    let missing = dir.path().join("missing.vhd");
    let o = run(&["check", "--now", NOW, s(&missing)]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("cannot open") && stderr(&o).contains("missing.vhd"), "{}", stderr(&o));

    let o = run(&["check", "--now", NOW, s(&good), s(&missing)]);
    assert_status(&o, 2);
    assert!(stdout(&o).contains(&format!("{}: PASS", s(&good))), "{}", stdout(&o));

    let o = run(&["check", "--format", "json", "--now", NOW, s(&good), s(&missing)]);
    assert_status(&o, 2);
    let v = json(&o);
    assert_eq!(v["images"].as_array().unwrap().len(), 1);
    assert_eq!(v["errors"][0]["file"], s(&missing));
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("cannot open"));
    assert_eq!(v["summary"]["unreadable"], 1);
    assert_eq!(v["summary"]["exit_status"], 2);
}

#[test]
fn usage_errors_give_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let img = write(dir.path(), "clean.vhd", &clean());
    for args in [
        &[][..],
        &["check"],
        &["check", "--profile", "lenient", s(&img)],
        &["check", "--format", "xml", s(&img)],
        &["check", "--max-depth", "0", s(&img)],
        &["check", "--now", "yesterday", s(&img)],
        &["rules", "--format", "csv"],
        &["explain"],
        &["cat", s(&img)],
    ] {
        let o = run(args);
        assert_status(&o, 2);
        assert!(!stderr(&o).is_empty(), "{args:?} printed nothing on stderr");
    }
    let o = run(&["--help"]);
    assert_status(&o, 0);
    assert!(stdout(&o).contains("check") && stdout(&o).contains("explain"));
    assert_status(&run(&["--version"]), 0);
}

// ---------------------------------------------------------------------------------------------
// check: --now, --no-data

#[test]
fn now_accepts_rfc3339_and_unix_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let img = write(dir.path(), "clean.vhd", &clean());
    let a = json(&run(&["check", "--format", "json", "--now", "2025-01-01T01:00:00+01:00", s(&img)]));
    let b = json(&run(&["check", "--format", "json", "--now", "1735689600", s(&img)]));
    assert_eq!(a["now_unix"], 1_735_689_600);
    assert_eq!(a["now"], "2025-01-01T00:00:00Z");
    assert_eq!(a, b);
}

#[test]
fn now_decides_the_future_time_stamp_rule() {
    let dir = tempfile::tempdir().unwrap();
    let img = write(dir.path(), "clean.vhd", &clean());
    // The image was stamped 2024-01-01; a day earlier it lies in the future.
    let before = json(&run(&["check", "--format", "json", "--now", "2023-12-31T00:00:00Z", s(&img)]));
    let after = json(&run(&["check", "--format", "json", "--now", NOW, s(&img)]));
    assert!(codes_of(&before["images"][0]).contains(&"FOOTER-TIMESTAMP-FUTURE".to_string()));
    assert!(!codes_of(&after["images"][0]).contains(&"FOOTER-TIMESTAMP-FUTURE".to_string()));
}

#[test]
fn options_are_echoed_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let img = write(dir.path(), "clean.vhd", &clean());
    let v = json(&run(&[
        "check",
        "--format",
        "json",
        "--now",
        NOW,
        "--no-data",
        "--max-depth",
        "3",
        "--parent-dir",
        s(dir.path()),
        s(&img),
    ]));
    assert_eq!(v["options"]["read_block_data"], false);
    assert_eq!(v["options"]["max_depth"], 3);
    assert_eq!(v["options"]["parent_dirs"][0], s(dir.path()));
}

// ---------------------------------------------------------------------------------------------
// check: JSON report and docs/REPORT.md

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Every object key in `v`, with the dotted path of its parent (array elements as `[]`).
fn keys(v: &Value, at: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                out.insert(p.clone());
                keys(v, &p, out);
            }
        }
        Value::Array(a) => {
            for v in a {
                keys(v, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn json_report_parses_and_has_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "a-clean.vhd", &clean());
    let bad = write(dir.path(), "b-bad.vhd", &bad_checksum());
    let o = run(&["check", "--format", "json", "--now", NOW, s(dir.path())]);
    assert_status(&o, 1);
    let v = json(&o);
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["tool"]["name"], "vhd-validate");
    assert_eq!(v["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["profile"], "strict");
    assert_eq!(v["now"], NOW);
    let images = v["images"].as_array().unwrap();
    assert_eq!(images.len(), 2);
    assert_eq!(images[0]["file"], s(&good));
    assert_eq!(images[0]["disk_type"], "fixed");
    assert_eq!(images[0]["virtual_size"], MIB);
    assert_eq!(images[0]["verdict"], "pass");
    assert_eq!(images[0]["counts"]["error"], 0);
    assert_eq!(images[0]["chain"].as_array().unwrap().len(), 1);
    assert_eq!(images[0]["chain"][0]["file"], s(&good));

    assert_eq!(images[1]["file"], s(&bad));
    assert_eq!(images[1]["verdict"], "fail");
    let f = images[1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "FOOTER-CHECKSUM")
        .expect("FOOTER-CHECKSUM finding");
    assert_eq!(f["family"], "footer");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["file"], s(&bad));
    assert_eq!(f["offset"], MIB + 64);
    assert_eq!(f["length"], 4);
    assert_eq!(f["path"], "footer.checksum");
    assert!(f["expected"].is_string() && f["actual"].is_string() && f["message"].is_string());
    let errors = images[1]["findings"].as_array().unwrap().iter().filter(|f| f["severity"] == "error").count();
    assert_eq!(images[1]["counts"]["error"], errors);

    let sum = &v["summary"];
    assert_eq!(sum["images"], 2);
    assert_eq!(sum["pass"], 1);
    assert_eq!(sum["fail"], 1);
    assert_eq!(sum["pass_with_warnings"], 0);
    assert_eq!(sum["unreadable"], 0);
    assert_eq!(sum["exit_status"], 1);
    assert_eq!(sum["counts"]["error"], errors);
    assert!(v["errors"].as_array().unwrap().is_empty());

    // Every key the report uses is documented in docs/REPORT.md as `dotted.path`.
    let doc = std::fs::read_to_string(repo_root().join("docs/REPORT.md")).expect("docs/REPORT.md");
    let mut all = BTreeSet::new();
    keys(&v, "", &mut all);
    let missing = run(&["check", "--format", "json", "--now", NOW, s(&dir.path().join("missing.vhd"))]);
    keys(&json(&missing), "", &mut all);
    for k in &all {
        assert!(doc.contains(&format!("`{k}`")), "docs/REPORT.md does not document `{k}`");
    }
}

// ---------------------------------------------------------------------------------------------
// rules, explain

#[test]
fn rules_json_lists_the_catalogue() {
    let o = run(&["rules", "--format", "json"]);
    assert_status(&o, 0);
    let v = json(&o);
    assert_eq!(v["format_version"], 1);
    let rules = v["rules"].as_array().unwrap();
    assert!(rules.len() >= 60, "only {} rules", rules.len());
    assert_eq!(rules.len(), vhd_validator::rules::catalogue().len());
    let mut codes = BTreeSet::new();
    for r in rules {
        for field in ["code", "family", "strict", "compat", "summary", "spec", "enforced_by", "tolerated_by", "detail"]
        {
            assert!(r[field].is_string(), "{field} of {r}");
        }
        assert!(r["byte_triggerable"].is_boolean());
        // Every warning-grade rule names the readers it breaks.
        let breaks = r["breaks"].as_array().unwrap_or_else(|| panic!("breaks of {r}"));
        assert!(breaks.iter().all(|b| b.as_str().is_some_and(|s| !s.is_empty())), "{r}");
        if r["strict"] == "warning" || r["compat"] == "warning" {
            assert!(!breaks.is_empty(), "{} is a warning but names no reader it breaks", r["code"]);
        }
        assert!(r["detail"].as_str().unwrap().contains(" Grading: "), "{}", r["code"]);
        assert!(codes.insert(r["code"].as_str().unwrap().to_string()));
    }
    let gap = rules.iter().find(|r| r["code"] == "FILE-GAP-BEFORE-FOOTER").unwrap();
    assert_eq!((gap["strict"].as_str(), gap["breaks"].as_array().map(Vec::len)), (Some("info"), Some(0)));
    let fixed_long = rules.iter().find(|r| r["code"] == "FILE-FIXED-SIZE-LONG").unwrap();
    assert_eq!(fixed_long["breaks"][0], "Azure upload");
    assert!(codes.contains("FOOTER-CHECKSUM"));

    let text = stdout(&run(&["rules"]));
    for c in &codes {
        assert!(text.lines().any(|l| l.starts_with(&format!("{c} "))), "{c} missing from `rules`");
    }
}

#[test]
fn rules_md_is_up_to_date() {
    let o = run(&["rules", "--format", "markdown"]);
    assert_status(&o, 0);
    let path = repo_root().join("docs/RULES.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == stdout(&o),
        "docs/RULES.md is stale: regenerate it from the repository root with\n    \
         cargo run -p vhd-cli --bin vhd-validate -- rules --format markdown > docs/RULES.md"
    );
}

#[test]
fn explain_prints_one_rule() {
    let rule = vhd_validator::rules::lookup("FOOTER-CHECKSUM").unwrap();
    for typed in ["FOOTER-CHECKSUM", "footer-checksum", "footer_checksum"] {
        let o = run(&["explain", typed]);
        assert_status(&o, 0);
        let out = stdout(&o);
        assert!(out.starts_with(&format!("FOOTER-CHECKSUM: {}", rule.summary)), "{out}");
        assert!(out.contains(rule.spec) && out.contains(rule.detail.trim()), "{out}");
        assert!(out.contains("breaks:        QEMU, 7-Zip, blktap, Hyper-V\n"), "{out}");
    }
    let v = json(&run(&["explain", "--format", "json", "BAT-ORDER"]));
    assert_eq!(v["code"], "BAT-ORDER");
    assert_eq!(v["family"], "bat");
    assert_eq!(v["breaks"], serde_json::json!([]));
}

#[test]
fn explain_unknown_code_suggests_close_ones() {
    let o = run(&["explain", "FOOTER-CHEKSUM"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("did you mean FOOTER-CHECKSUM?"), "{}", stderr(&o));
    let o = run(&["explain", "checksum"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("FOOTER-CHECKSUM") && stderr(&o).contains("HEADER-CHECKSUM"), "{}", stderr(&o));
    let o = run(&["explain", "NOTHING-LIKE-ANY-CODE-AT-ALL"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("vhd-validate rules"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

// ---------------------------------------------------------------------------------------------
// cat, digest

#[test]
fn cat_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let img = write(dir.path(), "clean.vhd", &clean());
    let out = write(dir.path(), "out.raw", b"keep me");
    let o = run(&["cat", s(&img), "-o", s(&out)]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");

    // Not even with --force may the output be the input.
    let before = std::fs::read(&img).unwrap();
    let o = run(&["cat", s(&img), "-o", s(&img), "--force"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("is an input"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&img).unwrap(), before);
    // Nor another name of it.
    let link = dir.path().join("link.raw");
    std::fs::hard_link(&img, &link).unwrap();
    let o = run(&["cat", s(&img), "-o", s(&link), "--force"]);
    assert_status(&o, 2);
    assert_eq!(std::fs::read(&img).unwrap(), before);

    let o = run(&["cat", s(&img), "-o", s(&out), "--force"]);
    assert_status(&o, 0);
    assert_eq!(std::fs::read(&out).unwrap(), pattern(MIB));
}

#[test]
fn cat_writes_the_virtual_disk() {
    let dir = tempfile::tempdir().unwrap();
    let img = write(dir.path(), "clean.vhd", &clean());
    let out = dir.path().join("disk.raw");
    let o = run(&["cat", s(&img), "--output", s(&out)]);
    assert_status(&o, 0);
    assert_eq!(std::fs::read(&out).unwrap(), pattern(MIB));
    // A dynamic disk QEMU just made reads as zeros.
    let dynamic = dir.path().join("empty.vhd");
    qemu_dynamic(&dynamic, "3M");
    let raw = dir.path().join("empty.raw");
    assert_status(&run(&["cat", s(&dynamic), "-o", s(&raw)]), 0);
    let bytes = std::fs::read(&raw).unwrap();
    assert!(!bytes.is_empty() && bytes.iter().all(|&b| b == 0));
}

#[test]
fn digest_prints_sha256_size_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let img = write(dir.path(), "clean.vhd", &clean());
    let missing = dir.path().join("missing.vhd");
    let o = run(&["digest", s(&img)]);
    assert_status(&o, 0);
    let want = vhd_validator::hex::encode(&Sha256::digest(pattern(MIB)));
    assert_eq!(stdout(&o), format!("{want}  {MIB}  {}\n", s(&img)));

    let o = run(&["digest", s(&img), s(&missing)]);
    assert_status(&o, 2);
    assert_eq!(stdout(&o), format!("{want}  {MIB}  {}\n", s(&img)));
    assert!(stderr(&o).contains("missing.vhd"), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------------------------
// differencing chains: --parent-dir

/// Copies the seed corpus's differencing chain into `child_dir` (the child) and `parent_dir`
/// (its parent), so that the parent is found only by name in a `--parent-dir`.
fn split_chain(child_dir: &Path, parent_dir: &Path) -> (PathBuf, PathBuf) {
    let seed = repo_root().join("corpus/seed");
    let child = child_dir.join("enc-diff-child.vhd");
    let parent = parent_dir.join("enc-diff-parent.vhd");
    std::fs::copy(seed.join("enc-diff-child.vhd"), &child).expect("corpus/seed/enc-diff-child.vhd");
    std::fs::copy(seed.join("enc-diff-parent.vhd"), &parent).expect("corpus/seed/enc-diff-parent.vhd");
    (child, parent)
}

#[test]
fn parent_dir_completes_the_chain() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (child, _parent) = split_chain(a.path(), b.path());

    let alone = run(&["check", "--format", "json", "--now", NOW, s(&child)]);
    assert_status(&alone, 1);
    let v = json(&alone);
    assert_eq!(v["images"][0]["chain"].as_array().unwrap().len(), 1);
    assert!(codes_of(&v["images"][0]).contains(&"CHAIN-PARENT-MISSING".to_string()));

    let found = run(&["check", "--format", "json", "--now", NOW, "--parent-dir", s(b.path()), s(&child)]);
    assert_status(&found, 0);
    let v = json(&found);
    let chain = v["images"][0]["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0]["file"], s(&child));
    assert_eq!(chain[0]["disk_type"], "differencing");
    assert!(chain[1]["file"].as_str().unwrap().ends_with("enc-diff-parent.vhd"));
    assert_eq!(chain[1]["disk_type"], "dynamic");

    let text = stdout(&run(&["check", "--now", NOW, "--parent-dir", s(b.path()), s(&child)]));
    assert!(text.lines().last().unwrap().ends_with(", chain of 2]"), "{text}");

    // cat and digest follow the same chain and agree with each other.
    let raw = a.path().join("disk.raw");
    assert_status(&run(&["cat", s(&child), "-o", s(&raw), "--parent-dir", s(b.path())]), 0);
    let bytes = std::fs::read(&raw).unwrap();
    let want = vhd_validator::hex::encode(&Sha256::digest(&bytes));
    let o = run(&["digest", s(&child), "--parent-dir", s(b.path())]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o), format!("{want}  {}  {}\n", bytes.len(), s(&child)));
    assert!(bytes.iter().any(|&b| b != 0), "the chain holds data");

    // Without the parent the virtual disk has no meaning: digest cannot run.
    assert_status(&run(&["digest", s(&child)]), 2);
}
