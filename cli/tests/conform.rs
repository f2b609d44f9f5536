//! The conformance runner end to end (`vhd-validate conform`, `conform-writer`, and `check
//! --format sarif`).
//!
//! Each test builds a small corpus with the encoder-based builders of `common::build` (a fixed
//! disk, a dynamic disk, a differencing chain, and a fixed disk with a broken footer checksum),
//! with a manifest whose expected codes and verdicts come from the validator and whose
//! virtual-disk SHA-256 comes from the builders' independent model. Every case directory also
//! holds `virtual.raw`, the model's raw bytes, so that small command templates can play
//! implementations: one that copies the right bytes, one that crashes, one that sleeps past the
//! time limit, one that returns wrong bytes, one that returns too few, one that accepts
//! everything, one that rejects everything. Then QEMU's `qemu-img` runs as a real
//! implementation, and 7-Zip and libvhdi when installed.

use vhd_testkit as common;

use assert_cmd::Command;
use common::build::{self, BlockSpec, ParentSpec, SparseSpec};
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use vhd_validator::format::{DiskType, PlatformCode};
use vhd_validator::manifest::{Case, CaseFile, Manifest, Verdict};
use vhd_validator::Profile;

/// The time stamp of every corpus image (2024-01-01).
const TS: i64 = 1_704_067_200;

fn bin() -> Command {
    Command::cargo_bin("vhd-validate").expect("vhd-validate is built")
}

fn sha_hex(bytes: &[u8]) -> String {
    hex(&sha256(bytes))
}

/// Writes one case: `files` (name, bytes) into `root/id/`, plus `virtual.raw` when `raw` is
/// given, and returns its manifest entry (codes and verdicts from the validator).
fn add_case(
    root: &Path,
    m: &mut Manifest,
    id: &str,
    tags: &[&str],
    files: &[(&str, &[u8])],
    raw: Option<&[u8]>,
    expected_codes: Option<Vec<vhd_validator::Code>>,
) {
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let mut listed = Vec::new();
    let mut all: Vec<(String, Vec<u8>)> = files.iter().map(|(n, b)| (n.to_string(), b.to_vec())).collect();
    if let Some(r) = raw {
        all.push(("virtual.raw".to_string(), r.to_vec()));
    }
    for (name, bytes) in &all {
        std::fs::write(dir.join(name), bytes).unwrap();
        listed.push(CaseFile { path: format!("{id}/{name}"), size: bytes.len() as u64, sha256: sha_hex(bytes) });
    }
    listed.sort_by(|a, b| a.path.cmp(&b.path));
    let image = format!("{id}/{}", files[0].0);
    let opts = vhd_validator::check::CheckOptions::default().with_now(m.check_time_unix);
    let report = check(&dir.join(files[0].0), &opts);
    let mut codes: Vec<vhd_validator::Code> = report.findings().map(|f| f.code).collect();
    codes.sort_by_key(|c| c.as_str());
    codes.dedup();
    let verdict: BTreeMap<Profile, Verdict> = Profile::ALL.iter().map(|p| (*p, Verdict::of(&codes, *p))).collect();
    let chain = report.images.iter().map(|i| {
        let p = Path::new(&i.file);
        format!("{id}/{}", p.file_name().unwrap().to_string_lossy())
    });
    m.cases.push(Case {
        id: id.to_string(),
        description: format!("test case {id}"),
        spec: String::new(),
        source: None,
        seed: None,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        files: listed,
        image,
        chain: chain.collect(),
        virtual_size: report.images[0].virtual_size.unwrap(),
        expected_codes: expected_codes.unwrap_or(codes),
        verdict,
        virtual_disk_sha256: raw.map(sha_hex),
        reference_sha256: None,
        exposes: vec![],
        check: None,
    });
}

/// The test corpus (see the module doc); returns its directory's guard.
fn corpus() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let ts = vhd_time(TS);
    let mut m = Manifest::new("conform test");
    m.check_time_unix = FIXED_NOW_UNIX;

    let fixed = build::fixed(1 << 20, build::uuid(1), ts, 7, |n| n % 3 != 0);
    add_case(root, &mut m, "valid/fixed", &["fixed", "valid"], &[("disk.vhd", &fixed.bytes)], Some(&fixed.data), None);

    let spb = (2u64 << 20) / 512;
    let dynamic = build::sparse(&SparseSpec {
        kind: DiskType::Dynamic,
        size: 4 << 20,
        block_size: 2 << 20,
        unique_id: build::uuid(2),
        timestamp: ts,
        parent: None,
        blocks: vec![BlockSpec::full(1, spb), BlockSpec::runs(0, &[(3, 10)])],
        seed: 9,
    });
    add_case(
        root,
        &mut m,
        "valid/dynamic",
        &["dynamic", "valid"],
        &[("disk.vhd", &dynamic.bytes)],
        Some(&dynamic.data),
        None,
    );

    let parent = build::sparse(&SparseSpec {
        kind: DiskType::Dynamic,
        size: 4 << 20,
        block_size: 2 << 20,
        unique_id: build::uuid(3),
        timestamp: ts,
        parent: None,
        blocks: vec![BlockSpec::full(0, spb)],
        seed: 11,
    });
    let child = build::sparse(&SparseSpec {
        kind: DiskType::Differencing,
        size: 4 << 20,
        block_size: 2 << 20,
        unique_id: build::uuid(4),
        timestamp: ts,
        parent: Some(ParentSpec {
            unique_id: build::uuid(3),
            timestamp: ts,
            name: "parent.vhd".into(),
            locators: vec![
                (PlatformCode::W2ru, ".\\parent.vhd".into()),
                (PlatformCode::W2ku, "C:\\x\\parent.vhd".into()),
            ],
        }),
        blocks: vec![BlockSpec::runs(0, &[(0, 8)])],
        seed: 12,
    });
    let composed = build::compose(&[&parent, &child]);
    add_case(
        root,
        &mut m,
        "differencing/two-levels",
        &["differencing", "dynamic", "valid"],
        &[("disk.vhd", &child.bytes), ("parent.vhd", &parent.bytes)],
        Some(&composed),
        None,
    );

    let broken_disk = build::fixed(1 << 20, build::uuid(5), ts, 8, |_| true);
    let mut broken = broken_disk.bytes.clone();
    build::edit_footer(&mut broken, false, false, |f| f.checksum ^= 1);
    let reference = broken_disk.data.clone();
    add_case(
        root,
        &mut m,
        "footer/checksum",
        &["corrupt", "fixed"],
        &[("disk.vhd", &broken), ("reference.raw", &reference)],
        None,
        None,
    );
    // A lenient reader that accepts the bad checksum must still read the data.
    if let Some(c) = m.cases.iter_mut().find(|c| c.id == "footer/checksum") {
        c.reference_sha256 = Some(sha_hex(&reference));
    }

    m.cases.sort_by(|a, b| a.id.cmp(&b.id));
    std::fs::write(root.join("manifest.json"), m.to_json()).unwrap();
    d
}

/// Runs `conform` with `args` on `corpus` and returns (exit code, JSON document).
fn conform_json(corpus: &Path, args: &[&str]) -> (i32, Value) {
    let out = bin().arg("conform").arg(corpus).args(args).args(["--format", "json"]).output().unwrap();
    let code = out.status.code().unwrap();
    assert!(code < 2, "conform failed to run: {}", String::from_utf8_lossy(&out.stderr));
    (code, serde_json::from_slice(&out.stdout).unwrap())
}

/// `case id -> outcome` of the first implementation.
fn outcomes(doc: &Value) -> BTreeMap<String, String> {
    outcomes_of(&doc["implementations"][0])
}

fn outcomes_of(imp: &Value) -> BTreeMap<String, String> {
    imp["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["case"].as_str().unwrap().to_string(), r["outcome"].as_str().unwrap().to_string()))
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

const COPY: &str = "cp {dir}/virtual.raw {out}";

/// The start of a shell script that reads the sanity pass's case (`valid/fixed`, the plainest
/// valid case of the test corpus) correctly and goes on with the rest of the script otherwise.
const SANE: &str = r#"[ "$VHD_CASE" = valid/fixed ] && exec cp "$VHD_DIR/virtual.raw" "$VHD_OUT";"#;

/// `sh -c 'SANE BODY' {image}`.
fn sane(body: &str) -> String {
    format!("sh -c '{SANE} {body}' {{image}}")
}

/// Runs `conform` with `args` on `corpus`, expecting it to stop (exit 2); returns its messages.
fn conform_stops(corpus: &Path, args: &[&str]) -> String {
    let out = bin().arg("conform").arg(corpus).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} must stop the run: {err}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty() || !String::from_utf8_lossy(&out.stdout).contains("PASS"), "{args:?}");
    err
}

#[test]
fn the_test_corpus_verifies() {
    let c = corpus();
    let s = vhd_validator::manifest::verify_corpus(c.path(), &Default::default());
    assert!(s.passed(), "{s}");
    let m = Manifest::load(c.path()).unwrap();
    let broken = m.cases.iter().find(|c| c.id == "footer/checksum").unwrap();
    assert_eq!(broken.verdict_for(Profile::Compat), Some(Verdict::Reject), "{broken:?}");
    assert!(broken.expected_codes.contains(&vhd_validator::Code::FooterChecksum));
}

#[test]
fn a_correct_implementation_passes_everything() {
    let c = corpus();
    let (code, doc) = conform_json(c.path(), &["--cmd", COPY, "--name", "copier"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(
        outcomes(&doc),
        map(&[
            ("differencing/two-levels", "pass"),
            ("footer/checksum", "pass"),
            ("valid/dynamic", "pass"),
            ("valid/fixed", "pass"),
        ])
    );
    let imp = &doc["implementations"][0];
    assert_eq!(imp["name"], "copier");
    assert_eq!(imp["command"], COPY);
    assert_eq!(doc["format_version"], 2);
    assert_eq!(imp["sanity_case"], "valid/fixed");
    assert_eq!(doc["kind"], "reader");
    assert_eq!(doc["corpus"]["cases"], 4);
    assert_eq!(imp["summary"]["outcomes"]["pass"], 4);
    let broken = imp["results"].as_array().unwrap().iter().find(|r| r["case"] == "footer/checksum").unwrap();
    assert_eq!(broken["behaviour"], "refused");
    assert_eq!(broken["requirement"], "reject");
    assert!(broken["codes"].as_array().unwrap().contains(&Value::from("FOOTER-CHECKSUM")));
    assert_eq!(broken["group"], "footer");
    let fixed = imp["results"].as_array().unwrap().iter().find(|r| r["case"] == "valid/fixed").unwrap();
    assert_eq!(fixed["raw"]["exit_code"], 0);
    assert_eq!(fixed["raw"]["output"]["size"], 1 << 20);
    assert_eq!(fixed["expected_size"], 1 << 20);
    assert_eq!(fixed["expected_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(broken["expected_sha256"].as_str().unwrap().len(), 64, "the reference reading of a case to refuse");
}

#[test]
fn every_failing_outcome_is_detected() {
    let c = corpus();
    let p = c.path();
    // Crash: killed by SIGSEGV (the process itself: a signal).
    let (code, doc) = conform_json(p, &["--cmd", &sane("kill -SEGV $$")]);
    assert_eq!(code, 1);
    let o = outcomes(&doc);
    assert_eq!(o.values().filter(|o| *o == "crash").count(), 3, "{o:?}");
    let r0 = &doc["implementations"][0]["results"][0];
    assert_eq!(r0["raw"]["signal"], 11);
    assert_eq!(r0["behaviour"], "crashed");

    // Timeout: sleeps past a short limit; the whole run stays short.
    let t0 = std::time::Instant::now();
    let (code, doc) = conform_json(
        p,
        &["--cmd", &sane("sleep 20"), "--timeout", "0.3", "--timeout-per-gib", "0", "--case", "valid/*"],
    );
    assert_eq!(code, 1);
    assert_eq!(outcomes(&doc), map(&[("valid/dynamic", "timeout"), ("valid/fixed", "pass")]));
    assert!(t0.elapsed() < std::time::Duration::from_secs(15), "time limit not enforced");
    assert_eq!(doc["timeout_ms"], 300);
    assert_eq!(doc["corpus"]["selected"], 2);

    // Wrong bytes: right size, every byte plus one; the corrupt case has no raw file, so the
    // command refuses it (exit 1), which is the right answer there.
    let (code, doc) = conform_json(
        p,
        &[
            "--cmd",
            &sane(
                r#"[ -f "$VHD_DIR/virtual.raw" ] || exit 1; tr "\000-\377" "\001-\377\000" < "$VHD_DIR/virtual.raw" > "$VHD_OUT""#,
            ),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        outcomes(&doc),
        map(&[
            ("differencing/two-levels", "wrong-bytes"),
            ("footer/checksum", "pass"),
            ("valid/dynamic", "wrong-bytes"),
            ("valid/fixed", "pass"),
        ])
    );
    let r =
        doc["implementations"][0]["results"].as_array().unwrap().iter().find(|r| r["case"] == "valid/dynamic").unwrap();
    assert_eq!(r["first_difference"], 0, "the reference reader locates the first differing byte");

    // Wrong size: the first 1000 bytes only, on standard output (no {out}).
    let head = r#"sh -c '[ "$VHD_CASE" = valid/fixed ] && exec cat "$VHD_DIR/virtual.raw"; head -c 1000 "$VHD_DIR/virtual.raw"' {image}"#;
    let (code, doc) = conform_json(p, &["--cmd", head]);
    assert_eq!(code, 1);
    let o = outcomes(&doc);
    assert_eq!(o["valid/dynamic"], "wrong-size");
    assert_eq!(o["footer/checksum"], "pass", "head fails (exit 1) on the missing raw file");
    let r =
        doc["implementations"][0]["results"].as_array().unwrap().iter().find(|r| r["case"] == "valid/dynamic").unwrap();
    assert_eq!(r["first_difference"], 1000, "the result is a correct prefix");
    assert_eq!(doc["implementations"][0]["stdout_is_output"], true);

    // Accepted corrupt: reads the broken case as its reference reading.
    let lenient = sane(r#"cp "$VHD_DIR/virtual.raw" "$VHD_OUT" 2>/dev/null || cp "$VHD_DIR/reference.raw" "$VHD_OUT""#);
    let (code, doc) = conform_json(p, &["--cmd", &lenient]);
    assert_eq!(code, 1);
    assert_eq!(outcomes(&doc)["footer/checksum"], "accepted-corrupt");
    assert_eq!(outcomes(&doc)["valid/dynamic"], "pass");

    // Accepted misread: reads the broken case, wrongly (zeros instead of its data).
    let misreader =
        sane(r#"cp "$VHD_DIR/virtual.raw" "$VHD_OUT" 2>/dev/null || head -c 1048576 /dev/zero > "$VHD_OUT""#);
    let (code, doc) = conform_json(p, &["--cmd", &misreader]);
    assert_eq!(code, 1);
    assert_eq!(outcomes(&doc)["footer/checksum"], "accepted-misread");
    let r = doc["implementations"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["case"] == "footer/checksum")
        .unwrap();
    assert!(r["detail"].as_str().unwrap().contains("wrongly"), "{r:#}");

    // Rejected valid: refuses everything but the sanity pass's case.
    let (code, doc) = conform_json(p, &["--cmd", &sane("exit 1")]);
    assert_eq!(code, 1);
    assert_eq!(
        outcomes(&doc),
        map(&[
            ("differencing/two-levels", "rejected-valid"),
            ("footer/checksum", "pass"),
            ("valid/dynamic", "rejected-valid"),
            ("valid/fixed", "pass"),
        ])
    );

    // Unsupported (exit 77): skipped, never a pass; the exit codes can be remapped.
    let (code, doc) = conform_json(p, &["--cmd", &sane("exit 77")]);
    assert_eq!(code, 0);
    let o = outcomes(&doc);
    assert_eq!(o["footer/checksum"], "skipped");
    assert_eq!(o["valid/dynamic"], "skipped");
    let (_, doc) = conform_json(p, &["--cmd", &sane("exit 3"), "--unsupported-exit", "3"]);
    assert_eq!(outcomes(&doc)["valid/dynamic"], "skipped");
    let (_, doc) = conform_json(p, &["--cmd", &sane("exit 3"), "--refused-exit", "3"]);
    assert_eq!(outcomes(&doc)["footer/checksum"], "pass");
    assert_eq!(outcomes(&doc)["valid/dynamic"], "rejected-valid");

    // Skipped: the implementation declares differencing unsupported.
    let (code, doc) = conform_json(p, &["--cmd", COPY, "--unsupported", "differencing"]);
    assert_eq!(code, 0);
    assert_eq!(outcomes(&doc)["differencing/two-levels"], "skipped");
    assert_eq!(doc["implementations"][0]["summary"]["statuses"]["skipped"], 1);
    assert!(doc["implementations"][0]["results"][0].get("raw").is_none(), "a skipped case is not run");
}

/// The adapter contract's acceptance: each of these commands makes the run fail loudly (stop
/// with exit 2, or fail with exit 1) instead of scoring refusals as passes.
#[test]
fn the_harness_cannot_be_fooled() {
    let c = corpus();
    let p = c.path();
    // 1. A program that does not exist: the run stops.
    let err = conform_stops(p, &["--cmd", "/nonexistent/vhd-reader {image} {out}"]);
    assert!(err.contains("cannot run"), "{err}");
    conform_stops(p, &["--cmd", "no-such-vhd-reader-on-path {image} {out}"]);

    // 2. A script path that does not resolve from the scratch directory (the command's working
    //    directory): a correct reader script, given relative to where the user stands.
    let user = tempfile::tempdir().unwrap();
    std::fs::write(user.path().join("reader.sh"), "#!/bin/sh\ncp \"$(dirname \"$1\")/virtual.raw\" \"$2\"\n").unwrap();
    let run_from_user = |args: &[&str]| {
        let out = bin().current_dir(user.path()).arg("conform").arg(p).args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run_from_user(&["--cmd", "sh reader.sh {image} {out}"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("sanity pass failed") && err.contains("harness-error"), "{err}");
    let (code, err) = run_from_user(&["--cmd", "./reader.sh {image} {out}"]);
    assert_eq!(code, Some(2), "{err}");
    // Given by absolute path, the same script passes.
    let abs = format!("sh {}/reader.sh {{image}} {{out}}", user.path().display());
    let (code, doc) = conform_json(p, &["--cmd", &abs, "--case", "valid/*"]);
    assert_eq!(code, 0, "{doc:#}");

    // 3. A wrapper that exits 3 on everything ("unsupported" in its own convention): the run
    //    stops; exiting 3 on everything but the plainest case, every other case is a harness
    //    error, never a pass.
    let err = conform_stops(p, &["--cmd", "sh -c 'exit 3' {image}"]);
    assert!(err.contains("exit 3"), "{err}");
    let (code, doc) = conform_json(p, &["--cmd", &sane("exit 3")]);
    assert_eq!(code, 1);
    let o = outcomes(&doc);
    assert_eq!(o.values().filter(|o| *o == "harness-error").count(), 3, "{o:?}");
    assert_eq!(o["footer/checksum"], "harness-error", "not a pass: exit 3 is not the refused code");

    // 4. A wrapper (a shell that does not exec) whose reader kills itself with SIGSEGV on corrupt
    //    input: the shell exits 139, a crash.
    let wrapper = r#"sh -c 'if [ -f "$VHD_DIR/virtual.raw" ]; then cp "$VHD_DIR/virtual.raw" "$VHD_OUT"; else sh -c "kill -SEGV \$\$"; fi' {image}"#;
    let (code, doc) = conform_json(p, &["--cmd", wrapper]);
    assert_eq!(code, 1);
    let r = doc["implementations"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["case"] == "footer/checksum")
        .unwrap()
        .clone();
    assert_eq!(r["outcome"], "crash", "{r:#}");
    assert_eq!(r["raw"]["exit_code"], 139);
    assert!(r["detail"].as_str().unwrap().contains("SIGSEGV"), "{r:#}");

    // 5. A reader that writes nothing and exits 0: the run stops (to a file or to standard
    //    output); past the sanity pass, a harness error on every case.
    let err = conform_stops(p, &["--cmd", "true {image} {out}"]);
    assert!(err.contains("no result was written"), "{err}");
    let err = conform_stops(p, &["--cmd", "true {image}"]);
    assert!(err.contains("0 bytes were read"), "{err}");
    let (code, doc) = conform_json(p, &["--cmd", &sane("exit 0")]);
    assert_eq!(code, 1);
    let o = outcomes(&doc);
    assert_eq!(o.values().filter(|o| *o == "harness-error").count(), 3, "{o:?}");
}

#[test]
fn versions_of_commands_are_recorded() {
    let c = corpus();
    let (_, doc) =
        conform_json(c.path(), &["--cmd", COPY, "--version-cmd", "echo 'copier 1.2.3'", "--case", "valid/*"]);
    assert_eq!(doc["implementations"][0]["version"], "copier 1.2.3");
}

#[test]
fn success_exit_codes_are_the_adapters() {
    let c = corpus();
    let t = sane(r#"cp "$VHD_DIR/virtual.raw" "$VHD_OUT" && exit 1"#);
    let (_, doc) = conform_json(c.path(), &["--cmd", &t, "--case", "valid/dynamic"]);
    assert_eq!(outcomes(&doc)["valid/dynamic"], "rejected-valid");
    let (_, doc) = conform_json(c.path(), &["--cmd", &t, "--case", "valid/dynamic", "--ok-exit", "0,1"]);
    assert_eq!(outcomes(&doc)["valid/dynamic"], "pass");
}

#[test]
fn expect_files_turn_failures_into_expected_failures_and_report_passes() {
    let c = corpus();
    let e = c.path().join("expect.txt");
    std::fs::write(
        &e,
        "# known problems\n[cmd]\nvalid/dynamic rejected-valid  refuses dynamic disks\ndifferencing/* wrong-bytes  wrong outcome listed\nfooter/checksum fail  listed but passes\nnothing/* fail  matches no case\n[other]\nvalid/fixed fail  another implementation\n",
    )
    .unwrap();
    let refuser = sane("exit 1");
    let out = bin()
        .args(["conform", "--cmd", &refuser, "--expect"])
        .arg(&e)
        .arg(c.path())
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a failure outside the list and an unexpected pass fail the run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("matched no case"));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let imp = &doc["implementations"][0];
    let status: BTreeMap<String, String> = imp["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["case"].as_str().unwrap().to_string(), r["status"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        status,
        map(&[
            ("differencing/two-levels", "fail"),
            ("footer/checksum", "unexpected-pass"),
            ("valid/dynamic", "expected-failure"),
            ("valid/fixed", "ok"),
        ])
    );
    let dynamic = imp["results"].as_array().unwrap().iter().find(|r| r["case"] == "valid/dynamic").unwrap();
    assert_eq!(dynamic["expect"]["reason"], "refuses dynamic disks");
    assert_eq!(dynamic["expect"]["line"], 3);
    assert_eq!(imp["unused_expectations"], serde_json::json!(["6: nothing/*"]));

    // With only the honest entries, the run passes.
    std::fs::write(
        &e,
        "[cmd]\nvalid/dynamic rejected-valid  refuses dynamic disks\ndifferencing/* fail  refuses chains\n",
    )
    .unwrap();
    bin().args(["conform", "--cmd", &refuser, "--expect"]).arg(&e).arg(c.path()).assert().code(0);

    // Malformed expect files stop the run.
    std::fs::write(&e, "valid/fixed pass because\n").unwrap();
    let out = bin().args(["conform", "--cmd", COPY, "--expect"]).arg(&e).arg(c.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a failing outcome"));
}

#[test]
fn junit_markdown_and_text_reports() {
    let c = corpus();
    let junit = c.path().join("junit.xml");
    let md = c.path().join("matrix.md");
    let e = c.path().join("expect.txt");
    std::fs::write(&e, "[crasher]\nvalid/dynamic crash  known crash\n").unwrap();
    let crasher = sane("echo first line >&2; echo last line >&2; kill -SEGV $$");
    let out = bin()
        .arg("conform")
        .arg(c.path())
        .args(["--cmd", COPY, "--name", "copier", "--cmd", &crasher, "--name", "crasher"])
        .args(["--unsupported", "differencing", "--expect"])
        .arg(&e)
        .arg("--junit")
        .arg(&junit)
        .arg("--markdown")
        .arg(&md)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("XFAIL valid/dynamic crash"), "{text}");
    assert!(text.contains("FAIL  footer/checksum crash"), "{text}");
    assert!(text.contains("copier: 4 cases: 3 pass, 1 skipped"), "{text}");
    assert!(
        text.trim_end().ends_with("result: FAIL (1 failures, 0 unexpected passes over 2 implementations)"),
        "{text}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    let report = quick_junit::Report::deserialize_from_str(&xml).expect("the JUnit XML parses");
    assert_eq!(report.test_suites.len(), 2);
    let copier = &report.test_suites[0];
    assert_eq!(copier.name.as_str(), "reader: copier");
    assert_eq!(copier.test_cases.len(), 4);
    assert_eq!(copier.failures, 0);
    let crasher = &report.test_suites[1];
    assert_eq!(crasher.failures, 1, "footer/checksum crashes unexpectedly");
    assert_eq!(crasher.tests, 4);
    let xfail = crasher.test_cases.iter().find(|t| t.name.as_str() == "valid/dynamic").unwrap();
    assert!(
        matches!(xfail.status, quick_junit::TestCaseStatus::Success { .. }),
        "an expected failure is a passing test case with a property, not a skip"
    );
    let prop = |t: &quick_junit::TestCase, name: &str| {
        t.properties.iter().find(|p| p.name.as_str() == name).map(|p| p.value.as_str().to_string())
    };
    assert_eq!(prop(xfail, "expected-failure").as_deref(), Some("crash: known crash (expect line 2)"));
    assert_eq!(prop(xfail, "expected-size").as_deref(), Some("4194304"));
    assert_eq!(prop(xfail, "expected-sha256").map(|s| s.len()), Some(64));
    let skipped = crasher.test_cases.iter().find(|t| t.name.as_str() == "differencing/two-levels").unwrap();
    assert!(matches!(skipped.status, quick_junit::TestCaseStatus::Skipped { .. }));
    let group = vhd_conform::case_group(
        Manifest::load(c.path()).unwrap().cases.iter().find(|k| k.id == "valid/dynamic").unwrap(),
    );
    assert_eq!(xfail.classname.as_ref().map(|c| c.as_str().to_string()), Some(format!("crasher.{group}")));
    assert!(xml.contains("killed by signal 11 (SIGSEGV)"));
    let failed = crasher.test_cases.iter().find(|t| t.name.as_str() == "footer/checksum").unwrap();
    let err = failed.system_err.as_ref().map(|s| s.as_str().to_string()).unwrap_or_default();
    assert!(err.contains("last line"), "the stderr tail: {err}");

    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("| Case | Rule codes | Expected | copier | crasher |"), "{md}");
    assert!(md.contains("\n## footer\n"), "{md}");
    let row = |id: &str| md.lines().find(|l| l.starts_with(&format!("| `{id}` |"))).unwrap().to_string();
    assert!(row("valid/dynamic").ends_with("| read | pass | *crash* (expected) |"), "{md}");
    assert!(row("differencing/two-levels").ends_with("| read | skipped | skipped |"), "{md}");
    assert!(row("footer/checksum").contains("FOOTER-CHECKSUM"), "{md}");
    assert!(row("footer/checksum").ends_with("| reject | pass | **crash** |"), "{md}");
    assert!(md.find("## footer").unwrap() < md.find("## Details").unwrap(), "{md}");
}

#[test]
fn usage_errors_exit_2() {
    let c = corpus();
    for args in [
        vec!["conform"],
        vec!["conform", "--cmd", "tool {out}"],
        vec!["conform", "--cmd", "tool {bogus} {image}"],
        vec!["conform", "--cmd", "a {image}", "--name", "x", "--name", "y"],
        vec!["conform", "--cmd", "/nonexistent/reader {image}"],
        vec!["conform", "--cmd", COPY, "--case", "no/such/*"],
        vec!["conform", "--cmd", COPY, "--timeout", "0"],
        vec!["conform", "--cmd", COPY, "--unsupported", "diferencing"],
        vec!["conform", "--cmd", COPY, "--ok-exit", "0", "--refused-exit", "0"],
        vec!["conform", "--cmd", COPY, "--version-cmd", "/nonexistent/reader --version"],
    ] {
        let out = bin().args(&args).arg(c.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // A corpus whose files do not match the manifest is refused before anything runs.
    std::fs::write(c.path().join("valid/fixed/disk.vhd"), b"tampered").unwrap();
    let out = bin().args(["conform", "--cmd", COPY]).arg(c.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match its manifest"));
}

#[test]
fn the_corpus_is_not_touched_by_the_implementation() {
    let c = corpus();
    let before = std::fs::read(c.path().join("valid/dynamic/disk.vhd")).unwrap();
    let (code, _) =
        conform_json(c.path(), &["--cmd", &sane(r#"echo junk > "$VHD_IMAGE"; exit 1"#), "--case", "valid/dynamic"]);
    assert_eq!(code, 1);
    assert_eq!(std::fs::read(c.path().join("valid/dynamic/disk.vhd")).unwrap(), before, "cases run on copies");
}

#[test]
fn qemu_img_end_to_end() {
    if !have_qemu() {
        return;
    }
    let c = corpus();
    let (_, doc) = conform_json(c.path(), &["--impl", "qemu-img"]);
    let imp = &doc["implementations"][0];
    assert_eq!(imp["name"], "qemu-img");
    assert!(imp["version"].as_str().unwrap().starts_with("qemu-img version "), "{imp:#}");
    assert_eq!(imp["command"], "qemu-img convert -q -f vpc -O raw {image} {out}");
    assert_eq!(imp["unsupported"], serde_json::json!(["differencing"]));
    let o = outcomes(&doc);
    // QEMU sizes some disks from the CHS geometry rather than the current size (by creator
    // application), so whether a valid case passes or is `wrong-size` depends only on whether
    // QEMU's size equals the current size; the bytes it reads are never judged wrong here.
    for id in ["valid/fixed", "valid/dynamic"] {
        let r = imp["results"].as_array().unwrap().iter().find(|r| r["case"] == id).unwrap();
        let qemu_size = r["raw"]["output"]["size"].as_u64().unwrap();
        let want = if qemu_size == r_virtual(c.path(), id) { "pass" } else { "wrong-size" };
        assert_eq!(o[id], want, "{r:#}");
    }
    assert_eq!(o["differencing/two-levels"], "skipped");
    // A fixed disk has no footer copy: QEMU refuses a bad footer checksum ("Incorrect header
    // checksum").
    assert_eq!(o["footer/checksum"], "pass", "{doc:#}");
    let r = imp["results"].as_array().unwrap().iter().find(|r| r["case"] == "footer/checksum").unwrap();
    assert_eq!(r["behaviour"], "refused");
    assert!(r["detail"].as_str().unwrap().contains("checksum"), "{r:#}");

    // Run the differencing case anyway: QEMU reads the child alone, without its parent.
    let (_, doc) = conform_json(c.path(), &["--impl", "qemu-img", "--run-unsupported", "--case", "differencing/*"]);
    assert_eq!(outcomes(&doc)["differencing/two-levels"], "wrong-bytes");
}

fn r_virtual(corpus: &Path, id: &str) -> u64 {
    let m = Manifest::load(corpus).unwrap();
    m.cases.iter().find(|c| c.id == id).unwrap().virtual_size
}

#[test]
fn sevenzip_and_libvhdi_end_to_end() {
    let c = corpus();
    let mut args = Vec::new();
    if have_7zz() {
        args.extend(["--impl", "7zip"]);
    }
    if have_pyvhdi() {
        args.extend(["--impl", "libvhdi"]);
    }
    if args.is_empty() {
        return;
    }
    let (_, doc) = conform_json(c.path(), &args);
    for imp in doc["implementations"].as_array().unwrap() {
        let o = outcomes_of(imp);
        assert!(imp["version"].is_string(), "{imp:#}");
        // Both read the two valid single images and the chain correctly.
        for id in ["valid/fixed", "valid/dynamic", "differencing/two-levels"] {
            assert_eq!(o[id], "pass", "{}: {id}: {imp:#}", imp["name"]);
        }
        assert!(["pass", "accepted-corrupt"].contains(&o["footer/checksum"].as_str()));
    }
}

#[test]
fn writer_conformance_with_templates_and_qemu() {
    // A writer that copies a fixed disk made by the encoders (only for 1 MiB fixed), and fails
    // otherwise; a writer that writes garbage.
    let d = tempfile::tempdir().unwrap();
    let img = d.path().join("fixed-1m.vhd");
    let fixed = build::fixed(1 << 20, build::uuid(9), vhd_time(TS), 1, |_| false);
    std::fs::write(&img, &fixed.bytes).unwrap();
    let tmpl = format!("sh -c 'test \"$VHD_TYPE\" = fixed && test \"$VHD_SIZE\" = 1048576 && cp {} \"$VHD_OUT\"' {{size}} {{type}} {{out}}", img.display());
    let out = bin()
        .args([
            "conform-writer",
            "--cmd",
            &tmpl,
            "--name",
            "copier",
            "--cmd",
            "sh -c 'echo garbage' {size}",
            "--name",
            "garbage",
        ])
        .args(["--sizes", "1M,3M", "--format", "json", "--now", "2025-01-01T00:00:00Z"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["kind"], "writer");
    let get = |imp: usize| -> BTreeMap<String, String> {
        doc["implementations"][imp]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_str().unwrap().to_string(), r["outcome"].as_str().unwrap().to_string()))
            .collect()
    };
    assert_eq!(
        get(0),
        map(&[
            ("fixed/1048576", "pass"),
            ("fixed/3145728", "failed"),
            ("dynamic/1048576", "failed"),
            ("dynamic/3145728", "failed")
        ])
    );
    assert!(get(1).values().all(|o| o == "invalid"), "{:?}", get(1));

    if !have_qemu() {
        return;
    }
    let junit = d.path().join("w.xml");
    let out = bin()
        .args(["conform-writer", "--impl", "qemu-img", "--sizes", "1M,12345678", "--format", "json", "--junit"])
        .arg(&junit)
        .output()
        .unwrap();
    assert!(out.status.code().unwrap() < 2, "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> =
        doc["implementations"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["qemu-img", "qemu-img-force-size"]);
    assert!(doc["implementations"][0]["version"].as_str().unwrap().starts_with("qemu-img version"));
    // With force_size QEMU keeps the size asked (rounded up to a sector) and makes valid images.
    for o in get_outcomes(&doc["implementations"][1]).values() {
        assert_eq!(o, "pass", "{doc:#}");
    }
    // Without it, QEMU rounds 12345678 bytes up to a CHS geometry.
    let plain = get_outcomes(&doc["implementations"][0]);
    assert_eq!(plain["fixed/12345678"], "resized");
    assert_eq!(plain["dynamic/12345678"], "resized");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(report.test_suites.len(), 2);
    assert_eq!(report.test_suites[1].tests, 4);
}

fn get_outcomes(imp: &Value) -> BTreeMap<String, String> {
    imp["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r["outcome"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn check_writes_sarif() {
    let c = corpus();
    let broken = c.path().join("footer/checksum/disk.vhd");
    let good = c.path().join("valid/fixed/disk.vhd");
    let missing = c.path().join("missing.vhd");
    let out = bin()
        .args(["check", "--format", "sarif", "--now", "2025-01-01T00:00:00Z"])
        .arg(&broken)
        .arg(&good)
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "an unreadable input makes the status 2");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    assert!(doc["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &doc["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "vhd-validate");
    assert!(driver["version"].is_string());
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), vhd_validator::rules::catalogue().len());
    for r in rules {
        assert!(r["id"].is_string() && r["shortDescription"]["text"].is_string(), "{r:#}");
        assert!(["error", "warning", "note"].contains(&r["defaultConfiguration"]["level"].as_str().unwrap()));
    }
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], id, "ruleIndex points at the rule");
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.starts_with("file:///") && uri.ends_with("/disk.vhd"), "{loc:#}");
        assert!(loc["region"]["byteOffset"].is_u64());
    }
    let checksum = results.iter().find(|r| r["ruleId"] == "FOOTER-CHECKSUM").expect("the broken checksum is reported");
    assert_eq!(checksum["level"], "error");
    assert_eq!(checksum["locations"][0]["physicalLocation"]["region"]["byteOffset"], (1u64 << 20) + 64);
    assert_eq!(checksum["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "footer.checksum");
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert_eq!(inv["toolExecutionNotifications"].as_array().unwrap().len(), 1);
    assert_eq!(inv["properties"]["profile"], "strict");
}
