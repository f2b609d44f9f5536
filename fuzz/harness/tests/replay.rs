//! Replays the `scenario_roundtrip` target on stable (`cargo test -p vhd-fuzz-harness --test
//! replay`, part of `cargo test --workspace`): every committed regression under
//! `fuzz/corpus/scenario_roundtrip/regressions/` (a file named `known-bug-*` must
//! still panic, as in `fuzz/harness/tests/fuzz_replay.rs`), the seeds of
//! `vhd_fuzz_harness::scenario::seed_inputs` (random valid and corrupt scenarios, and every
//! scenario under `specs/`), and a few dozen more random valid and corrupt scenarios.
//!
//! It also checks that the targets are self-contained: the embedded seed images are
//! `corpus/seed/`, and every target has seeds.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use vhd_fuzz_harness::bodies::{self, within_budget, REPLAY_BUDGET};
use vhd_fuzz_harness::scenario::scenario_roundtrip;
use vhd_fuzz_harness::seeds::{mutation_corpus, seed_inputs, write_seeds, TARGETS};

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the body on `data` for at most [`REPLAY_BUDGET`]: a slow input fails as a timeout.
fn run_caught(data: &[u8]) -> Result<(), String> {
    let data = data.to_vec();
    within_budget(REPLAY_BUDGET, move || {
        catch_unwind(AssertUnwindSafe(|| scenario_roundtrip(&data))).map_err(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic".into())
        })
    })
    .unwrap_or_else(|| Err(format!("timeout: over the per-input time budget of {REPLAY_BUDGET:?}")))
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
    let seeds = seed_inputs("scenario_roundtrip");
    assert!(seeds.len() > 16, "too few seeds: {}", seeds.len());
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
                failures.push(format!("mode {mode} seed input {}: {m}", vhd_validator::hex::encode(&v)));
            }
        }
    }
    assert!(failures.is_empty(), "{} input(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// The images embedded in the fuzz binaries are exactly `corpus/seed/*.vhd`, and they load into
/// the same chains as the files.
#[test]
fn embedded_seed_images_are_corpus_seed() {
    let dir = fuzz_dir().join("../corpus/seed");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".vhd"))
        .collect();
    names.sort();
    let embedded: Vec<&str> = vhd_fuzz_harness::embedded::SEED_IMAGES.iter().map(|(n, _)| *n).collect();
    assert_eq!(embedded, names);
    let from_files = bodies::mutation_corpus(&dir).unwrap();
    let embedded = mutation_corpus();
    assert_eq!(embedded.len(), from_files.len());
    for (a, b) in embedded.iter().zip(&from_files) {
        assert_eq!((&a.name, &a.levels), (&b.name, &b.levels));
    }
}

/// Every target writes seeds (what `VHD_FUZZ_WRITE_SEEDS` makes a target binary do).
#[test]
fn every_target_writes_seeds() {
    let dir = tempfile::tempdir().unwrap();
    for t in TARGETS {
        let n = write_seeds(t, &dir.path().join(t)).unwrap();
        assert!(n >= 4, "{t}: {n} seeds");
    }
}
