//! A built-in small image or a committed seed image (corpus/seed/, with its parents) plus arbitrary byte patches: no
//! panic, and the same verdict and bytes whatever read size the checker and the reader use.
//! The body, its input format and its oracles: `vhd_validator::fuzzing::mutate_corpus`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;
use vhd_validator::fuzzing::{mutate_corpus, mutation_corpus, CorpusChain};

/// The built-in chains and corpus/seed of this checkout, loaded once per fuzzing process.
fn corpus() -> &'static [CorpusChain] {
    static CORPUS: OnceLock<Vec<CorpusChain>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/seed");
        let chains = mutation_corpus(&dir).unwrap_or_else(|e| panic!("cannot load {}: {e}", dir.display()));
        assert!(!chains.is_empty(), "no .vhd file in {}", dir.display());
        chains
    })
}

fuzz_target!(|data: &[u8]| {
    mutate_corpus(corpus(), data);
});
