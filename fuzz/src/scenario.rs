//! `scenario_roundtrip`: a scenario is generated into a temporary directory, then checked
//! (`check_path`, the chain included) and read (`ChainReader`), and the generator's claims are
//! held against the validator's verdict and the reader's bytes.
//!
//! The first input byte picks where the scenario comes from (`mode % 4`):
//!
//! | mode | scenario | what the generator claims, and so what must hold |
//! |---|---|---|
//! | 0 | `Scenario::arbitrary` from the rest (the generator's `arbitrary` feature), mutations and declared findings dropped | nothing beyond (a) and (d) |
//! | 1 | `vhd_generator::random::random_valid` with the seed in the next 8 bytes | a valid image: (b) no error finding and every declared (implied) code found, (d) |
//! | 2 | `vhd_generator::random::random_corrupt` with that seed | (c) every declared rule code is found, (d) |
//! | 3 | the rest as YAML text (`vhd_generator::yaml::parse_scenario`) | (a), (d) |
//!
//! - (a) nothing panics: the generator refuses an unusable scenario with an error, the checker and
//!   the reader take whatever it wrote;
//! - (d) when the checker finds no error and the case states the virtual disk's SHA-256 (its
//!   content is known from the model), the reader opens the chain and its digest equals it:
//!   the reader's bytes equal the scenario model's.
//!
//! Scenarios whose files would exceed [`MAX_FILE`] bytes or whose disks exceed [`MAX_DISK`]
//! bytes (or chains longer than [`MAX_CHAIN`]) are skipped before anything is written.

use arbitrary::{Arbitrary, Unstructured};
use std::collections::BTreeSet;
use vhd_generator::pattern::{self, Purpose};
use vhd_generator::{generate_case, plan, random, yaml, GenOptions, Scenario};
use vhd_validator::chain::ChainReader;
use vhd_validator::check::{check_path, CheckOptions};
use vhd_validator::Severity;

/// Largest image file written, in bytes (64 MiB; files are sparse, this bounds the work).
pub const MAX_FILE: u64 = 64 << 20;
/// Largest virtual disk, in bytes (64 MiB), so that a digest stays quick.
pub const MAX_DISK: u64 = 64 << 20;
/// Longest chain, in images.
pub const MAX_CHAIN: usize = 6;

/// "Now" of the check runs (2027-01-15T08:00:00Z): generated time stamps are in the past.
const NOW_UNIX: i64 = 1_800_000_000;

/// Where the scenario of one input came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Arbitrary,
    RandomValid,
    RandomCorrupt,
    Yaml,
}

/// The fuzz target body (see the module documentation).
///
/// # Panics
/// Only when an oracle is violated, or when the generator, checker or reader panics.
pub fn scenario_roundtrip(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (source, scenario) = match mode % 4 {
        0 => {
            let mut u = Unstructured::new(rest);
            let Ok(mut s) = Scenario::arbitrary(&mut u) else { return };
            s.mutations.clear();
            s.expect_findings.clear();
            (Source::Arbitrary, s)
        }
        1 | 2 => {
            let mut seed = [0u8; 8];
            for (d, s) in seed.iter_mut().zip(rest) {
                *d = *s;
            }
            let seed = u64::from_be_bytes(seed);
            let mut r = pattern::rng(seed, Purpose::RandomCase, 0);
            if mode % 4 == 1 {
                (Source::RandomValid, random::random_valid(&mut r, seed))
            } else {
                let Some(s) = random::random_corrupt(&mut r, seed) else { return };
                (Source::RandomCorrupt, s)
            }
        }
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else { return };
            let Ok(s) = yaml::parse_scenario(text, "fuzz.yaml") else { return };
            (Source::Yaml, s)
        }
    };
    roundtrip(source, &scenario);
}

fn roundtrip(source: Source, s: &Scenario) {
    let Ok(plans) = plan::plan_chain(s, s.seed) else { return };
    if plans.len() > MAX_CHAIN || plans.iter().any(|p| p.file_len > MAX_FILE || p.model.size > MAX_DISK) {
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let case = match generate_case(s, "fuzz/case", None, dir.path(), "", &[], &GenOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            assert!(
                source != Source::RandomValid && source != Source::RandomCorrupt,
                "the generator cannot generate its own random scenario: {e}\n{s:#?}"
            );
            return;
        }
    };
    let main = dir.path().join(&case.image);
    let max_depth = case.check.as_ref().and_then(|c| c.max_depth).unwrap_or(vhd_validator::check::DEFAULT_MAX_DEPTH);
    let opts = CheckOptions { now_unix: Some(NOW_UNIX), max_depth, ..CheckOptions::default() };
    let Ok(report) = check_path(&main, &opts) else {
        // The scenario deleted or renamed its own main image (a mutation): nothing to check.
        return;
    };
    let found: BTreeSet<&str> = report.findings().map(|f| f.code.as_str()).collect();
    let errors: Vec<String> =
        report.findings().filter(|f| f.severity == Severity::Error).map(ToString::to_string).collect();
    let yaml = || yaml::to_yaml(s).unwrap_or_else(|e| format!("(not representable as YAML: {e})\n{s:#?}"));
    match source {
        Source::RandomValid => {
            assert!(
                errors.is_empty(),
                "a random valid scenario has error findings:\n{}\n{}",
                errors.join("\n"),
                yaml()
            );
            for code in &case.expected_codes {
                assert!(found.contains(code.as_str()), "declared (implied) finding {code} not found\n{}", yaml());
            }
        }
        Source::RandomCorrupt => {
            for code in &case.expected_codes {
                assert!(found.contains(code.as_str()), "declared code {code} not found (found {found:?})\n{}", yaml());
            }
        }
        Source::Arbitrary | Source::Yaml => {}
    }
    let Some(claimed) = &case.virtual_disk_sha256 else { return };
    if !errors.is_empty() {
        return;
    }
    let reader = match ChainReader::open(&main, &opts) {
        Ok(r) => r,
        Err(e) => panic!("the checker finds no error but the reader refuses the chain: {e}\n{}", yaml()),
    };
    assert_eq!(reader.size(), case.virtual_size, "virtual size differs from the model's\n{}", yaml());
    let digest = reader.digest().unwrap_or_else(|e| panic!("digest failed: {e}"));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(&hex, claimed, "the reader's bytes differ from the scenario model's\n{}", yaml());
}

/// Seed inputs: modes 1 and 2 with a few seeds, and every scenario YAML file under `specs_dir`
/// (mode 3), as (file name, bytes).
pub fn seed_inputs(specs_dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for seed in 0..8u64 {
        for mode in [1u8, 2] {
            let mut v = vec![mode];
            v.extend_from_slice(&seed.to_be_bytes());
            out.push((format!("random-{mode}-{seed}"), v));
        }
    }
    let mut stack = vec![specs_dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    for p in files {
        if let Ok(text) = std::fs::read(&p) {
            let name = p.strip_prefix(specs_dir).unwrap_or(&p).to_string_lossy().replace('/', "_");
            let mut v = vec![3u8];
            v.extend_from_slice(&text);
            out.push((format!("yaml-{name}"), v));
        }
    }
    out
}
