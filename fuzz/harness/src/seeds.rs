//! What the fuzz targets need besides their input, from the embedded files
//! ([`crate::embedded`]): the chains `mutate_corpus` patches, and every target's seed inputs.
//!
//! A target binary started with `VHD_FUZZ_WRITE_SEEDS=DIR` in its environment writes its seed
//! inputs to `DIR` as `seed-NAME` files and exits ([`init`]); `.clusterfuzzlite/build.sh` and
//! `fuzz/fuzz.sh seed` make the seed corpora that way, with no other build.

use crate::bodies::{self, CorpusChain};
use crate::embedded::{SEED_IMAGES, SPECS};
use std::path::Path;
use std::sync::OnceLock;

/// The fuzz targets, in `fuzz/Cargo.toml` order.
pub const TARGETS: [&str; 5] =
    ["validate_image", "validate_chain", "mutate_corpus", "scenario_roundtrip", "check_chain"];

/// Writes the embedded seed images into a new temporary directory.
fn seed_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (name, bytes) in SEED_IMAGES {
        std::fs::write(dir.path().join(name), bytes).expect("write an embedded seed image");
    }
    dir
}

/// The chains `mutate_corpus` patches ([`bodies::mutation_corpus`] over the embedded seed
/// images: the built-in chains, then each seed image with its parents), loaded once per
/// process.
///
/// # Panics
/// When the embedded images cannot be written to a temporary directory and loaded.
pub fn mutation_corpus() -> &'static [CorpusChain] {
    static CORPUS: OnceLock<Vec<CorpusChain>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = seed_dir();
        let chains = bodies::mutation_corpus(dir.path()).expect("load the embedded seed images");
        assert!(chains.len() > bodies::builtin_chains().len(), "no seed image embedded");
        chains
    })
}

/// The seed inputs of fuzz target `target` as (name, bytes): [`bodies::seed_inputs`] over the
/// embedded seed images for the validator's targets, [`crate::scenario::seed_inputs`] over the
/// embedded scenarios for `scenario_roundtrip`.
pub fn seed_inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    if target == "scenario_roundtrip" {
        return crate::scenario::seed_inputs(SPECS.iter().map(|(name, text)| (*name, *text)));
    }
    let dir = seed_dir();
    bodies::seed_inputs(target, dir.path()).expect("seed inputs from the embedded images")
}

/// Writes the seed inputs of `target` into `dir` as `seed-NAME`; returns how many.
///
/// # Errors
/// I/O errors creating `dir` or writing a file.
pub fn write_seeds(target: &str, dir: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let seeds = seed_inputs(target);
    for (name, bytes) in &seeds {
        std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
    }
    Ok(seeds.len())
}

/// The `init` of every fuzz target: when `VHD_FUZZ_WRITE_SEEDS` names a directory, writes the
/// target's seeds there and exits (status 0, or 1 on an I/O error) before fuzzing starts.
pub fn init(target: &str) {
    let Some(dir) = std::env::var_os("VHD_FUZZ_WRITE_SEEDS") else { return };
    match write_seeds(target, Path::new(&dir)) {
        Ok(n) => {
            eprintln!("{target}: wrote {n} seed inputs to {}", Path::new(&dir).display());
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("{target}: cannot write seeds to {}: {e}", Path::new(&dir).display());
            std::process::exit(1);
        }
    }
}
