//! End-to-end tests of `vhd-validate analyze`: exit statuses of the template-update verdict, the
//! JSON document, the SVG map (atomic write, exact for small disks), several children in one
//! table, escaping of names in text output. The chain is the corpus case
//! `examples/differencing-depth2` (child over a differencing parent over a dynamic base); new
//! parents are byte-patched copies of its parent, so what changed is known.

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use vhd_validator::chain::{ChainReader, Piece};
use vhd_validator::check::CheckOptions;
use vhd_validator::format::{DiskType, HardDiskFooter};

fn case_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/generated/examples/differencing-depth2")
}

fn run(dir: &Path, args: &[&str]) -> Output {
    cargo_bin_cmd!("vhd-validate").current_dir(dir).arg("analyze").args(args).output().expect("run vhd-validate")
}

/// The chain copied into a temporary directory, and a new parent with the parent's bytes of
/// sectors `patch` changed (each sector's first byte inverted).
fn setup(patch: &[u64]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["disk.vhd", "parent1.vhd", "parent2.vhd"] {
        std::fs::copy(case_dir().join(f), dir.path().join(f)).unwrap();
    }
    let r = ChainReader::open(&dir.path().join("disk.vhd"), &CheckOptions::default()).unwrap();
    let mut bytes = std::fs::read(dir.path().join("parent1.vhd")).unwrap();
    for &s in patch {
        r.pieces(1, s * 512, 512, &mut |_, piece| {
            match piece {
                Piece::File { level: 1, offset } => bytes[offset as usize] ^= 0xFF,
                other => panic!("sector {s} is not in the parent's file: {other:?}"),
            }
            Ok(())
        })
        .unwrap();
    }
    std::fs::write(dir.path().join("new.vhd"), bytes).unwrap();
    dir
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn conflicts_exit_1_and_are_split_from_safe_changes() {
    // The child owns sectors 10..15 (0xCC); the parent supplies sectors 0..1024.
    let dir = setup(&[10, 11, 100]);
    let out = run(dir.path(), &["disk.vhd", "--new-parent", "new.vhd", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    let c = &v["chains"][0];
    assert_eq!(c["files"].as_array().unwrap().len(), 3);
    let u = &c["update"];
    assert_eq!(u["changed_sectors"], 3);
    assert_eq!(u["safe"]["sectors"], 1);
    assert_eq!(u["safe"]["listed"][0]["offset"], 100 * 512);
    assert_eq!(u["conflicts"]["sectors"], 2);
    assert_eq!(u["conflicts"]["count"], 1);
    assert_eq!(u["conflicts"]["listed"][0], serde_json::json!({"offset": 5120, "length": 1024}));
    assert_eq!(u["conflict_clusters"][0]["clusters"], 1);
    assert_eq!(c["verdict"], "2 conflicting sectors");
    assert_eq!(c["levels"][0]["owned_sectors"], 5);
    assert_eq!(c["levels"][0]["supplied_bytes"], 5 * 512);
}

#[test]
fn unchanged_parent_is_safe_and_several_children_share_one_table() {
    let dir = setup(&[100]);
    std::fs::copy(dir.path().join("disk.vhd"), dir.path().join("twin.vhd")).unwrap();
    let out = run(dir.path(), &["disk.vhd", "twin.vhd", "--new-parent", "new.vhd"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let table = text.split("template update to new.vhd:").nth(1).expect("update table");
    assert_eq!(table.matches("safe to re-point").count(), 2, "{text}");
}

#[test]
fn new_parent_of_another_size_is_refused() {
    let dir = setup(&[]);
    let f = HardDiskFooter::new(DiskType::Fixed, 1 << 20, u64::MAX);
    let mut img = vec![0u8; 1 << 20];
    img.extend_from_slice(&f.encode());
    std::fs::write(dir.path().join("small.vhd"), &img).unwrap();
    let out = run(dir.path(), &["disk.vhd", "--new-parent", "small.vhd"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("virtual size"));
}

#[test]
fn map_is_written_atomically_and_exact_for_a_small_disk() {
    let dir = setup(&[10]);
    let out = run(dir.path(), &["disk.vhd", "--new-parent", "new.vhd", "--map", "map.svg"]);
    assert_eq!(out.status.code(), Some(1));
    let svg = std::fs::read_to_string(dir.path().join("map.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("#ff0000") && svg.contains("one cell ="), "{svg}");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 5, "no temporary file is left: {names:?}");

    // A 1 MiB fixed disk: one cell per sector.
    let mut f = HardDiskFooter::new(DiskType::Fixed, 1 << 20, u64::MAX);
    f.seal();
    let mut img = vec![7u8; 1 << 20];
    img.extend_from_slice(&f.encode());
    std::fs::write(dir.path().join("small.vhd"), &img).unwrap();
    let out = run(dir.path(), &["small.vhd", "--map", "small.svg"]);
    assert_eq!(out.status.code(), Some(0));
    let svg = std::fs::read_to_string(dir.path().join("small.svg")).unwrap();
    assert!(svg.contains("exact: one cell per sector"), "{svg}");

    let out = run(dir.path(), &["disk.vhd", "small.vhd", "--map", "x.svg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("x.svg").exists());
}

#[test]
fn names_are_escaped_in_text_output() {
    let dir = setup(&[]);
    let name = "evil\u{1b}[31m.vhd";
    std::fs::copy(dir.path().join("disk.vhd"), dir.path().join(name)).unwrap();
    let out = run(dir.path(), &[name]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}') && text.contains("evil\\x1b[31m.vhd"), "{text}");
}
