//! Images made by QEMU (`qemu-img create -f vpc`, data written with `qemu-io`) checked and read
//! against QEMU's own raw conversion.
//!
//! Sizes 1 MiB, 10 MiB, 12345678 bytes and 127 MiB, fixed and dynamic, with `force_size` off
//! (creator `qemu`: QEMU rounds the size up to the next CHS product and stores that as the
//! current size) and on (creator `qem2`: current size is the size asked, rounded up to a sector;
//! geometry 65535/16/255). For each: `check_path` reports no error and exactly the findings that
//! are true of such a file, and our reader's size and SHA-256 equal those of
//! `qemu-img convert -f vpc -O raw`.
//!
//! QEMU decides the size of a vpc image by its creator application: QEMU 10 sizes `vpc ` and
//! `qemu` images from C x H x S, every other creator (and any image with geometry 65535/16/255)
//! from the current size. QEMU-made images always agree with themselves, but where QEMU's raw
//! output size differs from our virtual size the conversion is redone with
//! `qemu-img convert --image-opts driver=vpc,force_size_calc=current_size,file.filename=PATH -O raw OUT`
//! (the option spelling of QEMU 10.0), and the fallback is printed.

use vhd_testkit as common;

use common::*;
use std::path::Path;
use std::process::Command;
use vhd_validator::chain::ChainReader;
use vhd_validator::Severity::{self, Info, Warning};

const MIB: u64 = 1 << 20;
const SIZES: [&str; 4] = ["1M", "10M", "12345678", "127M"];

/// Creates `path` with `qemu-img create -f vpc -o subformat=...[,force_size=on] path size`.
fn create(path: &Path, subformat: &str, force_size: bool, size: &str) {
    let mut o = format!("subformat={subformat}");
    if force_size {
        o.push_str(",force_size=on");
    }
    run_ok(Command::new("qemu-img").args(["create", "-q", "-f", "vpc", "-o", &o]).arg(path).arg(size));
}

/// The qemu-io writes for a disk of `size` bytes, in this order: a pattern at 0, one at 3 MiB
/// (disks of 4 MiB and more), an unaligned one in the middle written *before* the 3 MiB one
/// (so that a dynamic disk's blocks are not in BAT order), zeros over part of the first, and a
/// pattern ending at the last byte of the disk.
fn writes(size: u64) -> Vec<String> {
    let mid = size / 2 + 123;
    let mut w = vec!["write -P 0xab 0 64k".to_string(), format!("write -P 0x33 {mid} 5000")];
    if size >= 4 * MIB {
        w.push("write -P 0x5c 3M 1M".into());
    }
    w.push("write -z 32k 4k".into());
    w.push(format!("write -P 0xe7 {} 4096", size - 4096));
    w
}

fn qemu_io(path: &Path, cmds: &[String]) {
    let mut c = Command::new("qemu-io");
    c.args(["-f", "vpc"]);
    for cmd in cmds {
        c.arg("-c").arg(cmd);
    }
    c.arg(path);
    run_ok(&mut c);
}

/// What is true of a QEMU-made image of virtual size `vsize` after [`writes`]: the (code,
/// strict severity, reason) list.
fn expected(dynamic: bool, force_size: bool, vsize: u64) -> Vec<(&'static str, Severity, &'static str)> {
    let mut e = Vec::new();
    if !vsize.is_multiple_of(MIB) {
        e.push(("FOOTER-SIZE-MIB-ALIGN", Info, "QEMU's size is not a whole number of MiB"));
    }
    if force_size {
        e.push(("FOOTER-GEOMETRY", Info, "force_size stores geometry 65535/16/255, larger than the spec's CHS"));
    }
    if dynamic {
        let block = 2 * MIB;
        if !vsize.is_multiple_of(block) {
            e.push((
                "BITMAP-PAST-END",
                Info,
                "QEMU sets every bit of the last block's bitmap, which extends past the end of the disk",
            ));
        }
        if vsize >= 4 * MIB {
            e.push(("BAT-ORDER", Info, "the middle block was allocated before the block at 3 MiB"));
        }
    }
    e
}

fn one_case(dir: &Path, subformat: &str, force_size: bool, size: &str) {
    let what = format!("{subformat}{} {size}", if force_size { ",force_size" } else { "" });
    let path = dir.join(format!("{subformat}-{}-{size}.vhd", if force_size { "qem2" } else { "qemu" }));
    create(&path, subformat, force_size, size);
    let vsize = qemu_virtual_size(&path);
    qemu_io(&path, &writes(vsize));

    let report = check(&path, &wall_opts());
    assert_no_errors(&what, &report);
    assert_eq!(report.images[0].virtual_size, Some(vsize), "{what}: virtual size vs qemu-img info");
    assert_codes(&what, &report, &expected(subformat == "dynamic", force_size, vsize));

    let reader = ChainReader::open(&path, &wall_opts()).unwrap_or_else(|e| panic!("{what}: open: {e}"));
    let ours = reader.digest().unwrap_or_else(|e| panic!("{what}: digest: {e}"));
    let q = qemu_read(&path, dir, reader.size());
    if q.forced_current_size {
        eprintln!(
            "note: {what}: QEMU sized the disk {} bytes by CHS; compared with force_size_calc=current_size",
            q.auto_size
        );
    }
    assert_eq!(q.size, reader.size(), "{what}: raw size");
    if hex(&ours) != hex(&q.digest) {
        // Name the first differing byte.
        let raw = std::fs::read(&q.raw).expect("read qemu raw");
        let mut mine = vec![0u8; raw.len()];
        reader.read_at(0, &mut mine).expect("read_at");
        assert_same_bytes(&format!("{what}: ChainReader vs qemu-img convert"), &mine, &raw);
        panic!("{what}: digest differs from the SHA-256 of read_at's bytes");
    }
    let _ = std::fs::remove_file(&q.raw);
    let _ = std::fs::remove_file(&path);
}

fn all_sizes(subformat: &str, force_size: bool) {
    if !have_qemu() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for size in SIZES {
        one_case(dir.path(), subformat, force_size, size);
    }
}

#[test]
fn fixed_chs_sized() {
    all_sizes("fixed", false);
}

#[test]
fn fixed_force_size() {
    all_sizes("fixed", true);
}

#[test]
fn dynamic_chs_sized() {
    all_sizes("dynamic", false);
}

#[test]
fn dynamic_force_size() {
    all_sizes("dynamic", true);
}

/// Allocated extents of a QEMU dynamic image are the blocks `qemu-img map` reports as data.
#[test]
fn dynamic_extents_match_qemu_map() {
    if !have_qemu() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("map.vhd");
    create(&path, "dynamic", true, "20M");
    qemu_io(&path, &["write -P 1 9M 4k".into(), "write -P 2 0 1k".into(), "write -P 3 19M 1M".into()]);
    let out = run_ok(Command::new("qemu-img").args(["map", "--output=json", "-f", "vpc"]).arg(&path));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("map JSON");
    let mut theirs: Vec<(u64, u64)> = Vec::new();
    for e in v.as_array().expect("array") {
        if e["data"].as_bool() == Some(true) {
            let (s, l) = (e["start"].as_u64().expect("start"), e["length"].as_u64().expect("length"));
            match theirs.last_mut() {
                Some(last) if last.0 + last.1 == s => last.1 += l,
                _ => theirs.push((s, l)),
            }
        }
    }
    let reader = ChainReader::open(&path, &wall_opts()).expect("open");
    let mut ours: Vec<(u64, u64)> = Vec::new();
    for x in reader.extents() {
        match ours.last_mut() {
            Some(last) if last.0 + last.1 == x.offset => last.1 += x.length,
            _ => ours.push((x.offset, x.length)),
        }
    }
    // Blocks 0, 4 and 9 (2 MiB each) hold data; QEMU sets every bitmap bit.
    assert_eq!(theirs, vec![(0, 2 * MIB), (8 * MIB, 2 * MIB), (18 * MIB, 2 * MIB)], "qemu-img map");
    assert_eq!(ours, theirs, "ChainReader::extents vs qemu-img map");
}

/// `vhd-validate digest` prints the same SHA-256 as QEMU's raw conversion.
#[test]
fn cli_digest_matches_qemu() {
    if !have_qemu() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.vhd");
    create(&path, "dynamic", false, "10M");
    qemu_io(&path, &writes(qemu_virtual_size(&path)));
    let q = qemu_read(&path, dir.path(), qemu_virtual_size(&path));
    let out = run_ok(Command::new(env!("CARGO_BIN_EXE_vhd-validate")).arg("digest").arg(&path));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&hex(&q.digest)),
        "vhd-validate digest printed {text:?}, QEMU's SHA-256 is {}",
        hex(&q.digest)
    );
}

/// A fixed image whose creator is `vpc ` (Virtual PC) and whose geometry is the spec's CHS for
/// 10 MiB (301/4/17 = 10479616 bytes): QEMU sizes it by geometry, so the comparison needs
/// `force_size_calc=current_size`, and the validator reports the divergence.
#[test]
fn chs_sized_creator_is_compared_at_current_size() {
    if !have_qemu() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vpc.vhd");
    create(&path, "fixed", true, "10M");
    qemu_io(&path, &writes(10 * MIB));
    let mut img = std::fs::read(&path).expect("read");
    common::build::edit_footer(&mut img, false, true, |f| {
        f.creator_application = *b"vpc ";
        f.geometry = vhd_validator::format::Geometry::for_current_size(10 * MIB);
    });
    std::fs::write(&path, &img).expect("write");
    assert_eq!(qemu_virtual_size(&path), 10_479_616, "QEMU sizes a `vpc ` image by C x H x S");

    let report = check(&path, &wall_opts());
    assert_codes(
        "vpc creator",
        &report,
        &[("FOOTER-GEOMETRY-SIZE-DIVERGENCE", Warning, "QEMU reads 10479616 bytes, everyone else 10485760")],
    );
    let (size, ours) = reader_digest(&path, &wall_opts());
    assert_eq!(size, 10 * MIB);
    let q = qemu_read(&path, dir.path(), size);
    assert!(q.forced_current_size && q.auto_size == 10_479_616, "QEMU's default size was {}", q.auto_size);
    assert_eq!(hex(&ours), hex(&q.digest), "digest vs qemu-img convert with force_size_calc=current_size");
}
