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
//! - (d) when the checker finds no error, the reader opens the chain (no error finding means
//!   the reader accepts), and when the case also states the virtual disk's SHA-256 (its
//!   content is known from the model), the reader's digest equals it: the reader's bytes equal
//!   the scenario model's;
//! - (e) YAML mode: the case's declared findings (`expect_findings` and the mutations'
//!   `expect`) are checked by the corpus runner (`vhd_validator::manifest::verify_case`), whose
//!   missing codes must be exactly those this body computes from the check; a YAML text that is one of the committed scenarios must verify (no code missing).
//!
//! Scenarios whose [`plan::scenario_cost`] passes [`COST_LIMIT`] (so also files above
//! [`MAX_FILE`] bytes, disks above [`MAX_DISK`] bytes, chains longer than [`MAX_CHAIN`]) are
//! skipped before they are planned: planning and writing stay bounded per input.

use crate::embedded::SPECS;
use arbitrary::{Arbitrary, Unstructured};
use std::collections::BTreeSet;
use std::path::Path;
use vhd_generator::pattern::{self, Purpose};
use vhd_generator::{generate_case, plan, random, yaml, GenOptions, Scenario};
use vhd_validator::chain::ChainReader;
use vhd_validator::check::{check_path, CheckOptions};
use vhd_validator::manifest::{verify_case, Case, Manifest};
use vhd_validator::Severity;

/// Largest image file written, in bytes (64 MiB; files are sparse, this bounds the work).
pub const MAX_FILE: u64 = 64 << 20;
/// Largest virtual disk, in bytes (64 MiB), so that a digest stays quick.
pub const MAX_DISK: u64 = 64 << 20;
/// Longest chain, in images.
pub const MAX_CHAIN: usize = 6;

/// What a scenario may cost ([`plan::scenario_cost`]) before it is planned: [`MAX_CHAIN`]
/// images, 2^16 BAT entries, 2^12 blocks, 64 MiB written, disks of [`MAX_DISK`] bytes.
pub const COST_LIMIT: plan::ScenarioCost = {
    let mut c = plan::ScenarioCost::ZERO;
    c.images = MAX_CHAIN as u64;
    c.bat_entries = 1 << 16;
    c.blocks = 1 << 12;
    c.write_bytes = MAX_FILE;
    c.max_disk = MAX_DISK;
    c
};

/// "Now" of the check runs (2027-01-15T08:00:00Z): generated time stamps are in the past.
const NOW_UNIX: i64 = 1_800_000_000;

/// Where the scenario of one input came from (the value is the input's mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Arbitrary = 0,
    RandomValid = 1,
    RandomCorrupt = 2,
    Yaml = 3,
}

/// The fuzz target body (see the module documentation).
///
/// # Panics
/// Only when an oracle is violated, or when the generator, checker or reader panics.
pub fn scenario_roundtrip(data: &[u8]) {
    if let Some((source, scenario, text)) = decode_input(data) {
        roundtrip(source, &scenario, text);
    }
}

/// Runs the body's oracles on scenario `s` as if it came from input mode `mode` (`mode % 4`,
/// see the module documentation; mode 3 holds it to the YAML-mode checks without a committed
/// text). For the structure-aware shrinker (`examples/shrink.rs`).
///
/// # Panics
/// As [`scenario_roundtrip`].
pub fn roundtrip_as(mode: u8, s: &Scenario) {
    let source = match mode % 4 {
        0 => Source::Arbitrary,
        1 => Source::RandomValid,
        2 => Source::RandomCorrupt,
        _ => Source::Yaml,
    };
    roundtrip(source, s, None);
}

/// The scenario an input decodes to, with its mode (`None` when it decodes to none).
pub fn decode(data: &[u8]) -> Option<(u8, Scenario)> {
    decode_input(data).map(|(source, s, _)| (source as u8, s))
}

/// The input of mode 3 (YAML text) for scenario `s`.
///
/// # Errors
/// When `s` cannot be written as YAML (the message).
pub fn yaml_input(s: &Scenario) -> Result<Vec<u8>, String> {
    let mut v = vec![3u8];
    v.extend_from_slice(yaml::to_yaml(s)?.as_bytes());
    Ok(v)
}

fn decode_input(data: &[u8]) -> Option<(Source, Scenario, Option<&str>)> {
    let (&mode, rest) = data.split_first()?;
    Some(match mode % 4 {
        0 => {
            let mut u = Unstructured::new(rest);
            let mut s = Scenario::arbitrary(&mut u).ok()?;
            s.mutations.clear();
            s.expect_findings.clear();
            (Source::Arbitrary, s, None)
        }
        1 | 2 => {
            let mut seed = [0u8; 8];
            for (d, s) in seed.iter_mut().zip(rest) {
                *d = *s;
            }
            let seed = u64::from_be_bytes(seed);
            let mut r = pattern::rng(seed, Purpose::RandomCase, 0);
            if mode % 4 == 1 {
                (Source::RandomValid, random::random_valid(&mut r, seed), None)
            } else {
                (Source::RandomCorrupt, random::random_corrupt(&mut r, seed)?, None)
            }
        }
        _ => {
            let text = std::str::from_utf8(rest).ok()?;
            (Source::Yaml, yaml::parse_scenario(text, "fuzz.yaml").ok()?, Some(text))
        }
    })
}

fn roundtrip(source: Source, s: &Scenario, yaml_text: Option<&str>) {
    if !plan::scenario_cost(s).within(&COST_LIMIT) {
        return;
    }
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
    let mut opts = CheckOptions::default().with_now(NOW_UNIX);
    opts.max_depth = max_depth;
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
        Source::Yaml => declared_findings_checked(dir.path(), &case, &found, yaml_text),
        Source::Arbitrary => {}
    }
    if !errors.is_empty() {
        return;
    }
    let reader = match ChainReader::open(&main, &opts) {
        Ok(r) => r,
        Err(e) => panic!("the checker finds no error but the reader refuses the chain: {e}\n{}", yaml()),
    };
    let Some(claimed) = &case.virtual_disk_sha256 else { return };
    assert_eq!(reader.size(), case.virtual_size, "virtual size differs from the model's\n{}", yaml());
    let digest = reader.digest().unwrap_or_else(|e| panic!("digest failed: {e}"));
    let hex = vhd_validator::hex::encode(&digest);
    assert_eq!(&hex, claimed, "the reader's bytes differ from the scenario model's\n{}", yaml());
}

/// Check (e): the corpus runner's verdict on the case equals this body's own reading of the
/// strict check (`found`), and a committed scenario verifies.
fn declared_findings_checked(dir: &Path, case: &Case, found: &BTreeSet<&str>, yaml_text: Option<&str>) {
    let mut manifest = Manifest::new("fuzz");
    manifest.check_time_unix = NOW_UNIX;
    let result = verify_case(dir, &manifest, case, &CheckOptions::default());
    let missing: Vec<&str> = case.expected_codes.iter().map(|c| c.as_str()).filter(|c| !found.contains(c)).collect();
    assert_eq!(
        result.missing_codes.iter().map(String::as_str).collect::<Vec<_>>(),
        missing,
        "the corpus runner and the check disagree on which declared codes are missing\n{result}"
    );
    assert!(result.problems.is_empty(), "the corpus runner cannot verify a case just generated:\n{result}");
    let committed = yaml_text.is_some_and(|t| SPECS.iter().any(|(_, spec)| *spec == t.as_bytes()));
    if committed {
        assert!(missing.is_empty(), "a committed scenario lacks declared codes {missing:?}\n{result}");
    }
}

/// Seed inputs: modes 1 and 2 with a few seeds, and every scenario of `specs` (path under
/// `specs/`, YAML text) in mode 3, as (file name, bytes).
pub fn seed_inputs<'a>(specs: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for seed in 0..8u64 {
        for mode in [1u8, 2] {
            let mut v = vec![mode];
            v.extend_from_slice(&seed.to_be_bytes());
            out.push((format!("random-{mode}-{seed}"), v));
        }
    }
    for (name, text) in specs {
        let mut v = vec![3u8];
        v.extend_from_slice(text);
        out.push((format!("yaml-{}", name.replace('/', "_")), v));
    }
    out
}
