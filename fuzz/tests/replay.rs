//! Replays the `scenario_roundtrip` target on stable (`cargo test` in `fuzz/`): every committed
//! regression under `corpus/scenario_roundtrip/regressions/` (a file named `known-bug-*` must
//! still panic, as in `validator/tests/fuzz_replay.rs`), the seeds of
//! `vhd_conformance_fuzz::scenario::seed_inputs` (random valid and corrupt scenarios, and every
//! scenario under `specs/`), and a few dozen more random valid and corrupt scenarios.
//!
//! `VHD_WRITE_FUZZ_SEEDS=1 cargo test --test replay seeds` also writes the seeds to
//! `corpus/scenario_roundtrip/seed-*`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use vhd_conformance_fuzz::scenario::{scenario_roundtrip, seed_inputs};

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_caught(data: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| scenario_roundtrip(data))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic".into())
    })
}

#[test]
fn regressions() {
    let dir = fuzz_dir().join("corpus/scenario_roundtrip/regressions");
    let mut failures = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    for p in files {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') || name.ends_with(".md") {
            continue;
        }
        let result = run_caught(&std::fs::read(&p).unwrap());
        match (name.starts_with("known-bug-"), result) {
            (false, Err(m)) => failures.push(format!("{name}: panicked: {m}")),
            (true, Ok(())) => failures.push(format!("{name}: no longer panics; drop the known-bug- prefix")),
            (true, Err(m)) => eprintln!("note: {name} still reproduces a known bug: {m}"),
            (false, Ok(())) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn seeds() {
    let specs = fuzz_dir().join("../specs");
    let seeds = seed_inputs(Path::new(&specs));
    assert!(seeds.len() > 16, "too few seeds: {}", seeds.len());
    if std::env::var("VHD_WRITE_FUZZ_SEEDS").is_ok_and(|v| v == "1") {
        let out = fuzz_dir().join("corpus/scenario_roundtrip");
        std::fs::create_dir_all(&out).unwrap();
        for (name, bytes) in &seeds {
            std::fs::write(out.join(format!("seed-{name}")), bytes).unwrap();
        }
    }
    let failures: Vec<String> =
        seeds.iter().filter_map(|(name, bytes)| run_caught(bytes).err().map(|m| format!("{name}: {m}"))).collect();
    assert!(failures.is_empty(), "{} seed(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// Random valid and corrupt scenarios for 24 more seeds each.
#[test]
fn random_scenarios() {
    let mut failures = Vec::new();
    for seed in 100..124u64 {
        for mode in [1u8, 2] {
            let mut v = vec![mode];
            v.extend_from_slice(&seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
            if let Err(m) = run_caught(&v) {
                failures.push(format!("mode {mode} seed input {}: {m}", hex(&v)));
            }
        }
    }
    assert!(failures.is_empty(), "{} input(s) failed:\n{}", failures.len(), failures.join("\n"));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
