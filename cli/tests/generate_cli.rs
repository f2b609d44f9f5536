//! The `vhd-generate` command line: generation, refusal to overwrite, the examples verify,
//! and `corpus --check` detects any byte that differs.

use std::path::Path;
use std::process::Command;
use vhd_validator::check::CheckOptions;
use vhd_validator::manifest::verify_corpus;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vhd-generate"))
}

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/examples")
}

#[test]
fn examples_generate_and_verify() {
    let out = tempfile::tempdir().unwrap();
    let st = bin().arg(examples()).arg("-o").arg(out.path()).status().unwrap();
    assert!(st.success());
    let summary = verify_corpus(out.path(), &CheckOptions::default());
    assert!(summary.passed(), "{summary}");
    assert!(summary.cases.len() >= 4);
    // A second run refuses to overwrite; --force allows it.
    let o = bin().arg(examples()).arg("-o").arg(out.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    assert!(bin().arg(examples()).arg("-o").arg(out.path()).arg("--force").status().unwrap().success());
}

#[test]
fn jobs_change_nothing_in_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    for e in std::fs::read_dir(examples()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, specs.join(p.file_name().unwrap())).unwrap();
    }
    // Two failing inputs: the error named is the first in input order, whatever the threads.
    let bad = "description: x\nimage:\n  type: fixed\n  size: 1 MiB\n  writes: [{sector: 4096}]\n";
    std::fs::write(specs.join("zz-bad-1.yaml"), bad).unwrap();
    std::fs::write(specs.join("zz-bad-2.yaml"), bad).unwrap();
    let mut runs = Vec::new();
    for jobs in ["1", "3"] {
        let out = dir.path().join(format!("out-{jobs}"));
        let o = bin().arg(&specs).arg("-o").arg(&out).args(["--jobs", jobs]).output().unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(err.contains("zz-bad-1.yaml"), "{err}");
        runs.push(err);
    }
    assert_eq!(runs[0], runs[1]);
    std::fs::remove_file(specs.join("zz-bad-1.yaml")).unwrap();
    std::fs::remove_file(specs.join("zz-bad-2.yaml")).unwrap();
    for jobs in ["1", "3"] {
        let out = dir.path().join(format!("ok-{jobs}"));
        assert!(bin().arg(&specs).arg("-o").arg(&out).args(["-j", jobs]).status().unwrap().success());
    }
    let (one, three) = (dir.path().join("ok-1"), dir.path().join("ok-3"));
    assert_eq!(vhd_generator::corpus::compare_trees(&one, &three).unwrap(), Vec::<String>::new());
    let o = Command::new(env!("CARGO_BIN_EXE_vhd-generate"))
        .args(["corpus", "-j", "0", "--check", "--specs"])
        .arg(&specs)
        .arg("--out")
        .arg(&one)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn bad_scenario_reports_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.yaml");
    std::fs::write(&f, "description: x\nimage:\n  type: fixed\n  size: 1 MiB\n  colour: blue\n").unwrap();
    let o = bin().arg(&f).arg("-o").arg(dir.path().join("out")).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.yaml:5:"), "{err}");
    assert!(err.contains("colour"), "{err}");
}

#[test]
fn corpus_check_detects_differences() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    let out = dir.path().join("corpus/generated");
    std::fs::create_dir_all(specs.join("fixed")).unwrap();
    std::fs::write(
        specs.join("fixed/small.yaml"),
        "description: small\nimage:\n  type: fixed\n  size: 64 KiB\n  writes: [{sector: 0, count: 4, pattern: {fill: 3}}]\nexpect_findings: [FOOTER-SIZE-MIB-ALIGN]\n",
    )
    .unwrap();
    let run = |check: bool| {
        let mut c = bin();
        c.arg("corpus").arg("--specs").arg(&specs).arg("--out").arg(&out);
        if check {
            c.arg("--check");
        }
        c.output().unwrap()
    };
    assert!(run(false).status.success());
    assert!(out.join("fixed/small/disk.vhd").exists() && out.join("manifest.json").exists());
    assert_eq!(run(true).status.code(), Some(0));
    // Rebuilding is idempotent.
    assert!(run(false).status.success());
    assert_eq!(run(true).status.code(), Some(0));
    // One flipped byte is found.
    let img = out.join("fixed/small/disk.vhd");
    let mut b = std::fs::read(&img).unwrap();
    b[100] ^= 1;
    std::fs::write(&img, b).unwrap();
    let o = run(true);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("differs: fixed/small/disk.vhd"));
    // So is a stray file.
    std::fs::write(out.join("extra.txt"), "x").unwrap();
    assert!(String::from_utf8_lossy(&run(true).stdout).contains("extra.txt"));
}

/// `vhd-validate corpus` takes the expected codes as a floor; `--exact-codes` fails a case that
/// reports a code its manifest entry does not list.
#[test]
fn corpus_exact_codes_fail_on_an_unlisted_code() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&specs).unwrap();
    let small = "description: small\nimage:\n  type: fixed\n  size: 64 KiB\n";
    let validate = |exact: bool| {
        assert!(bin().arg(&specs).arg("-o").arg(&out).arg("--force").status().unwrap().success());
        let mut c = Command::new(env!("CARGO_BIN_EXE_vhd-validate"));
        c.arg("corpus");
        if exact {
            c.arg("--exact-codes");
        }
        let o = c.arg(&out).output().unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned())
    };
    // A 64 KiB disk yields FOOTER-SIZE-MIB-ALIGN (info), which the scenario does not declare.
    std::fs::write(specs.join("small.yaml"), small).unwrap();
    let (code, text) = validate(false);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("(1 passing cases report extra codes"), "{text}");
    let (code, text) = validate(true);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("FAIL small\n    unexpected codes (exact codes"), "{text}");
    assert!(text.contains(": FOOTER-SIZE-MIB-ALIGN\ncorpus: 0 passed, 1 failed"), "{text}");
    // Declared, it passes both ways; a misspelt code is a parse error of the scenario.
    std::fs::write(specs.join("small.yaml"), format!("{small}expect_findings: [FOOTER-SIZE-MIB-ALIGN]\n")).unwrap();
    assert_eq!(validate(true), (Some(0), "corpus: 1 passed, 0 failed\n".to_string()));
    std::fs::write(specs.join("small.yaml"), format!("{small}expect_findings: [FOOTER-SIZE-MIB-ALIGNED]\n")).unwrap();
    let o = bin().arg(&specs).arg("-o").arg(&out).arg("--force").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown rule code `FOOTER-SIZE-MIB-ALIGNED`: not in the rule catalogue"), "{err}");
}
