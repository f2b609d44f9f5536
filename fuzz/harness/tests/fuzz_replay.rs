//! Replays the fuzz targets' inputs on stable through the library bodies in
//! `vhd_fuzz_harness::bodies`, so a crash the fuzzer found stays fixed without `cargo fuzz`:
//!
//! - every committed regression under `fuzz/corpus/<target>/regressions/`;
//! - the seed inputs each target gets from `corpus/seed/` (`bodies::seed_inputs`);
//! - a few hundred deterministic pseudo-random inputs per target (a small fuzz run on stable).
//!
//! Every `[[bin]]` of `fuzz/Cargo.toml` must have a replay here ([`replay`]) or be listed in
//! [`REPLAYED_ELSEWHERE`] with the test that replays it (`scenario_roundtrip`: `tests/replay.rs`);
//! a target without one fails `every_fuzz_target_has_a_replay`.
//!
//! A regression file whose name starts with `known-bug-` records a bug that is not fixed yet:
//! its replay must still panic (when the bug is fixed, the test says so, and the file is renamed
//! without the prefix so that it guards the fix). Every other input must replay without a panic.
//!
//! `VHD_WRITE_FUZZ_SEEDS=1 cargo test -p vhd-fuzz-harness --test fuzz_replay seeds` also writes the
//! seed inputs to `fuzz/corpus/<target>/seed-*` (git ignores them), which is how the fuzzers'
//! starting corpora are made (see fuzz/README.md).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use vhd_fuzz_harness::bodies::{self, CorpusChain};
use vhd_testkit::Rng;

/// Targets that [`replay`] knows.
const REPLAYED: &[&str] = &["validate_image", "validate_chain", "mutate_corpus", "check_chain"];

/// Targets replayed by another test file (relative to the workspace): `scenario_roundtrip`'s
/// body (`vhd_fuzz_harness::scenario`) drives the generator, and `tests/replay.rs` replays it.
const REPLAYED_ELSEWHERE: &[(&str, &str)] = &[("scenario_roundtrip", "fuzz/harness/tests/replay.rs")];

/// File-name prefix of a committed regression that still reproduces an unfixed bug.
const KNOWN_BUG: &str = "known-bug-";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn seed_dir() -> PathBuf {
    workspace().join("corpus/seed")
}

fn corpus() -> &'static [CorpusChain] {
    static CORPUS: OnceLock<Vec<CorpusChain>> = OnceLock::new();
    CORPUS.get_or_init(|| bodies::mutation_corpus(&seed_dir()).expect("load corpus/seed"))
}

/// Runs fuzz target `target`'s body on `data`.
fn replay(target: &str, data: &[u8]) {
    match target {
        "validate_image" => bodies::validate_image(data),
        "validate_chain" => bodies::validate_chain(data),
        "mutate_corpus" => bodies::mutate_corpus(corpus(), data),
        "check_chain" => bodies::check_chain(data),
        other => panic!("no replay for fuzz target {other}"),
    }
}

/// The `[[bin]]` names of fuzz/Cargo.toml.
fn fuzz_targets() -> Vec<String> {
    let toml = std::fs::read_to_string(workspace().join("fuzz/Cargo.toml")).expect("read fuzz/Cargo.toml");
    let mut out = Vec::new();
    let mut in_bin = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if let Some(v) = line.strip_prefix("name").map(str::trim).and_then(|v| v.strip_prefix('=')) {
            if in_bin {
                out.push(v.trim().trim_matches('"').to_string());
            }
        }
    }
    out
}

thread_local! {
    /// Where the last panic on this thread happened (`file:line`), recorded by [`record_sites`].
    static PANIC_SITE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Installs (once) a panic hook that records each panic's `file:line` for [`run_sited`] and
/// prints one line instead of the default report (replays panic on purpose: known bugs).
fn record_sites() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        std::panic::set_hook(Box::new(|info| {
            let site = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
            let msg = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("");
            let first = msg.lines().next().unwrap_or("");
            eprintln!("panic at {}: {first}", site.as_deref().unwrap_or("unknown"));
            PANIC_SITE.with(|s| *s.borrow_mut() = site);
        }));
    });
}

/// Runs `target` on `data` on its own thread, for at most [`bodies::REPLAY_BUDGET`];
/// `Err((message, file:line))` when it panicked, `Err((message, "timeout"))` when it ran over.
fn run_sited(target: &str, data: &[u8]) -> Result<(), (String, String)> {
    record_sites();
    let (target, data) = (target.to_string(), data.to_vec());
    bodies::within_budget(bodies::REPLAY_BUDGET, move || {
        PANIC_SITE.with(|s| *s.borrow_mut() = None);
        catch_unwind(AssertUnwindSafe(|| replay(&target, &data))).map_err(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic".into());
            let site = PANIC_SITE.with(|s| s.borrow_mut().take()).unwrap_or_else(|| "unknown".into());
            (msg, site)
        })
    })
    .unwrap_or_else(|| {
        Err((format!("over the per-input time budget of {:?}", bodies::REPLAY_BUDGET), "timeout".into()))
    })
}

/// Runs `target` on `data`; `Err(message)` when it panicked.
fn run_caught(target: &str, data: &[u8]) -> Result<(), String> {
    run_sited(target, data).map_err(|(msg, site)| format!("{msg} (at {site})"))
}

/// The committed `known-bug-*` regressions of `target` with the `file:line` where each panics.
fn known_bug_sites(target: &str) -> Vec<(String, String)> {
    let dir = workspace().join("fuzz/corpus").join(target).join("regressions");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut out = Vec::new();
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(KNOWN_BUG) {
            if let Err((_, site)) = run_sited(target, &std::fs::read(&path).unwrap()) {
                out.push((name, site));
            }
        }
    }
    out
}

/// Classifies the crash inputs a fuzz run left in `$VHD_FUZZ_ARTIFACTS/<target>/` (CI runs the
/// fuzzers with `-fork=1 -ignore_crashes=1`, then this): a crash that panics at the same
/// `file:line` as a committed `known-bug-*` regression of its target is a known bug and is only
/// noted; any other crash, a crash that does not reproduce here, and any timeout or
/// out-of-memory input fail.
#[test]
#[ignore = "run by .ci/run after the fuzzers, with VHD_FUZZ_ARTIFACTS set"]
fn classify_fuzz_artifacts() {
    let dir = PathBuf::from(std::env::var("VHD_FUZZ_ARTIFACTS").expect("VHD_FUZZ_ARTIFACTS names the artifacts dir"));
    let mut failures = Vec::new();
    let mut known = 0;
    for target in fuzz_targets() {
        let Ok(entries) = std::fs::read_dir(dir.join(&target)) else { continue };
        let mut files: Vec<PathBuf> =
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
        files.sort();
        let sites = if REPLAYED.contains(&target.as_str()) && !files.is_empty() {
            known_bug_sites(&target)
        } else {
            Vec::new()
        };
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with("crash-") {
                failures.push(format!("{target}/{name}: not a crash (timeout, out of memory or slow input)"));
                continue;
            }
            if !REPLAYED.contains(&target.as_str()) {
                failures.push(format!("{target}/{name}: a crash (no stable classification for this target)"));
                continue;
            }
            match run_sited(&target, &std::fs::read(&path).unwrap()) {
                Ok(()) => failures.push(format!("{target}/{name}: crashed under the fuzzer but not here")),
                Err((msg, site)) => match sites.iter().find(|(_, s)| *s == site) {
                    Some((bug, _)) => {
                        known += 1;
                        eprintln!("note: {target}/{name} is the known bug {bug} ({site})");
                    }
                    None => failures.push(format!("{target}/{name}: NEW crash at {site}: {msg}")),
                },
            }
        }
    }
    eprintln!("{known} crash input(s) matched known bugs");
    assert!(failures.is_empty(), "{} fuzz artifact(s) need attention:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_fuzz_target_has_a_replay() {
    let targets = fuzz_targets();
    assert!(targets.len() >= 3, "fuzz/Cargo.toml lists too few targets: {targets:?}");
    for t in &targets {
        if let Some((_, file)) = REPLAYED_ELSEWHERE.iter().find(|(name, _)| name == t) {
            let text = std::fs::read_to_string(workspace().join(file))
                .unwrap_or_else(|e| panic!("fuzz target {t} is replayed by {file}, which cannot be read: {e}"));
            assert!(text.contains(t.as_str()), "{file} does not replay fuzz target {t}");
            continue;
        }
        assert!(REPLAYED.contains(&t.as_str()), "fuzz target {t} (fuzz/Cargo.toml) has no replay in fuzz_replay.rs");
    }
    for t in REPLAYED {
        assert!(targets.iter().any(|x| x == t), "replay for {t}, which fuzz/Cargo.toml does not list");
    }
}

#[test]
fn committed_regressions_replay() {
    let mut failures = Vec::new();
    let mut count = 0;
    for target in fuzz_targets().into_iter().filter(|t| REPLAYED.contains(&t.as_str())) {
        let dir = workspace().join("fuzz/corpus").join(&target).join("regressions");
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<PathBuf> =
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
        files.sort();
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') || name.ends_with(".md") {
                continue;
            }
            count += 1;
            let data = std::fs::read(&path).unwrap();
            let result = run_caught(&target, &data);
            match (name.starts_with(KNOWN_BUG), result) {
                (false, Err(msg)) => failures.push(format!("{target}/{name}: panicked: {msg}")),
                (true, Ok(())) => failures.push(format!(
                    "{target}/{name}: no longer panics: the bug is fixed; rename the file without the \
                     `{KNOWN_BUG}` prefix so that it guards the fix"
                )),
                (true, Err(msg)) => eprintln!("note: {target}/{name} still reproduces a known bug: {msg}"),
                (false, Ok(())) => {}
            }
        }
    }
    eprintln!("replayed {count} committed regressions");
    assert!(failures.is_empty(), "{} regression(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn seeds_replay() {
    let write = std::env::var("VHD_WRITE_FUZZ_SEEDS").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for target in REPLAYED {
        let seeds = bodies::seed_inputs(target, &seed_dir()).expect("seed inputs");
        assert!(!seeds.is_empty(), "{target}: no seed input made from corpus/seed");
        if write {
            let dir = workspace().join("fuzz/corpus").join(target);
            std::fs::create_dir_all(&dir).unwrap();
            for (name, bytes) in &seeds {
                std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
            }
            eprintln!("wrote {} seeds to {}", seeds.len(), dir.display());
        }
        for (name, bytes) in &seeds {
            if let Err(msg) = run_caught(target, bytes) {
                failures.push(format!("{target}/{name}: {msg}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} seed(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// The built-in chains the fuzzers start from are valid images (no error finding; only their
/// small size, 4 KiB blocks and locator data space in bytes are reported) that the reader opens
/// with the expected depth.
#[test]
fn builtin_chains_are_valid() {
    use vhd_fuzz_harness::bodies::{fuzz_options, SliceSource};
    use vhd_validator::check::check_image;
    use vhd_validator::{Profile, Severity};
    let chains = bodies::builtin_chains();
    assert_eq!(chains.len(), 4);
    for c in &chains {
        for (i, l) in c.levels.iter().enumerate() {
            assert!(l.len() <= 20 << 10, "{}: level {i} is {} bytes", c.name, l.len());
            let r = check_image(&SliceSource(l), &c.name, &fuzz_options(Profile::Strict));
            let errors: Vec<_> = r.findings.iter().filter(|f| f.severity == Severity::Error).collect();
            assert!(errors.is_empty(), "{} level {i}: {errors:#?}", c.name);
            for f in &r.findings {
                assert!(
                    ["HEADER-BLOCK-SIZE-UNUSUAL", "FOOTER-SIZE-MIB-ALIGN", "LOCATOR-SPACE-UNITS"]
                        .contains(&f.code.as_str()),
                    "{} level {i}: {f}",
                    c.name
                );
            }
        }
        let sources: Vec<Box<dyn vhd_validator::io::ReadAt>> =
            c.levels.iter().map(|l| Box::new(l.clone()) as Box<dyn vhd_validator::io::ReadAt>).collect();
        let reader = vhd_validator::chain::ChainReader::from_sources(sources).expect("reader opens the chain");
        assert_eq!(reader.depth(), c.levels.len(), "{}", c.name);
    }
}

/// `n` bytes, each the low byte of the next 64 bits of `rng`.
fn low_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

/// A small deterministic fuzz run of `mutate_corpus` on stable: random patch lists over every
/// seed chain. The inputs are reproducible from the seed printed on failure.
#[test]
fn mutate_corpus_random_patches() {
    let chains = corpus().len();
    let mut failures = Vec::new();
    for i in 0..(chains * 40) {
        let mut rng = Rng(0xF0CC_0000 + i as u64);
        let mut data = ((i % chains) as u16).to_be_bytes().to_vec();
        let n = (rng.next_u64() % 96) as usize;
        data.extend(low_bytes(&mut rng, 2 + n));
        if let Err(msg) = run_caught("mutate_corpus", &data) {
            failures.push(format!("input {i} ({}): {msg}", vhd_validator::hex::encode(&data)));
        }
    }
    assert!(failures.is_empty(), "{} input(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// Random bytes of many lengths as one image, and as child and parent; then each seed image
/// with a random run of bytes overwritten (reproducible from the index printed on failure).
#[test]
fn validate_random_bytes() {
    let mut failures = Vec::new();
    for i in 0..200u64 {
        let mut rng = Rng(0xB17E_0000 + i);
        let len = match i % 4 {
            0 => (rng.next_u64() % 600) as usize,
            1 => 512 * (1 + (rng.next_u64() % 8) as usize),
            2 => (rng.next_u64() % 5000) as usize,
            _ => 511 + 512 * (rng.next_u64() % 4) as usize,
        };
        let data = low_bytes(&mut rng, len);
        for target in ["validate_image", "validate_chain"] {
            if let Err(msg) = run_caught(target, &data) {
                failures.push(format!("{target} random input {i}: {msg}"));
            }
        }
    }
    for (i, chain) in corpus().iter().enumerate() {
        let base = &chain.levels[0];
        for k in 0..8u64 {
            let mut rng = Rng(0xC0DE_0000 + 8 * i as u64 + k);
            let mut img = base.clone();
            let at = (rng.next_u64() % img.len() as u64) as usize;
            let n = (1 + rng.next_u64() % 32) as usize;
            for b in img.iter_mut().skip(at).take(n) {
                *b = rng.next_u64() as u8;
            }
            if let Err(msg) = run_caught("validate_image", &img) {
                failures
                    .push(format!("validate_image {} overwritten at {at} ({n} bytes, case {k}): {msg}", chain.name));
            }
        }
    }
    assert!(failures.is_empty(), "{} input(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// The reference model of the read path gives every built-in chain a meaning (so oracle 6 is
/// not vacuous) equal to the reader's bytes, and stays out of what it does not model.
#[test]
fn reference_model_reads_the_builtin_chains() {
    for c in bodies::builtin_chains() {
        let views: Vec<&[u8]> = c.levels.iter().map(Vec::as_slice).collect();
        let model = bodies::reference_disk(&views, 1 << 20).unwrap_or_else(|| panic!("{}: no meaning", c.name));
        let sources: Vec<Box<dyn vhd_validator::io::ReadAt>> =
            c.levels.iter().map(|l| Box::new(l.clone()) as Box<dyn vhd_validator::io::ReadAt>).collect();
        let reader = vhd_validator::chain::ChainReader::from_sources(sources).expect("reader opens the chain");
        let mut bytes = vec![0u8; model.len()];
        reader.read_at(0, &mut bytes).unwrap();
        assert!(bytes == model, "{}: the reader and the reference model differ", c.name);
        assert!(model.iter().any(|&b| b != 0), "{}: all zero", c.name);
        // A differencing child without its parent, a broken footer checksum, a disk over the
        // cap: no opinion.
        if c.levels.len() > 1 {
            assert!(bodies::reference_disk(&views[..1], 1 << 20).is_none(), "{}", c.name);
        }
        let mut broken = c.levels[0].clone();
        let n = broken.len();
        broken[n - 512 + 64] ^= 1;
        assert!(bodies::reference_disk(&[&broken], 1 << 20).is_none(), "{}", c.name);
        assert!(bodies::reference_disk(&views, 4096).is_none(), "{}", c.name);
    }
}

/// The seeds of `check_chain` run clean and, between them, reach the chain rules: every broken
/// link the input format offers is reported.
#[test]
fn seeds_of_check_chain_reach_the_chain_rules() {
    use vhd_validator::check::{check_path, CheckOptions};
    let mut codes = std::collections::BTreeSet::new();
    let seeds = bodies::seed_inputs("check_chain", &seed_dir()).unwrap();
    assert!(seeds.len() >= 16, "{} seeds", seeds.len());
    for (name, bytes) in &seeds {
        if let Err(m) = run_caught("check_chain", bytes) {
            panic!("{name}: {m}");
        }
        let (dir, _) = bodies::chain_files(bytes);
        let report = check_path(&dir.path().join("level0.vhd"), &CheckOptions::default()).unwrap();
        codes.extend(report.findings().map(|f| f.code.as_str().to_string()).filter(|c| c.starts_with("CHAIN-")));
    }
    for code in [
        "CHAIN-PARENT-UUID",
        "CHAIN-PARENT-UUID-NULL",
        "CHAIN-PARENT-TIMESTAMP",
        "CHAIN-PARENT-MISSING",
        "CHAIN-CYCLE",
        "CHAIN-SIZE-CHILD-LARGER",
        "CHAIN-LOCATOR-UNRESOLVED",
    ] {
        assert!(codes.contains(code), "no seed reaches {code}; reached {codes:?}");
    }
}

/// Inputs that engage `mutate_corpus`'s mutation-detection oracle: patches inside the footer
/// and header of a valid built-in image that change what it means (current size, block size,
/// disk type), resealed so that no checksum rule is what catches them. Each must be detected
/// (the body panics otherwise).
#[test]
fn mutation_detection_oracle_on_metadata_patches() {
    // chain 1 = builtin-dynamic, chain 2 = builtin-diff; selectors; then patches:
    // op, level, anchor (1 footer, 2 header), u16 offset, operand; op 5 reseals (anchor, offset
    // read and ignored).
    let reseal = [5u8, 0, 0, 0, 0];
    let cases: [(&str, Vec<u8>); 4] = [
        ("current size 512", [&[0u8, 1, 6, 1, 3, 0, 1, 0, 48, 2][..], &reseal].concat()),
        ("current size 2^32", [&[0u8, 1, 6, 1, 3, 0, 1, 0, 48, 8][..], &reseal].concat()),
        ("disk type 2", [&[0u8, 1, 6, 1, 2, 0, 1, 0, 60, 2][..], &reseal].concat()),
        ("block size 512", [&[0u8, 2, 6, 1, 2, 0, 2, 0, 32, 5][..], &reseal].concat()),
    ];
    for (what, input) in cases {
        if let Err(m) = run_caught("mutate_corpus", &input) {
            panic!("{what}: {m}");
        }
    }
}
