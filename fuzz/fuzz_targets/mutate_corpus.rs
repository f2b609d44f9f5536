//! A built-in small image or an embedded seed image (corpus/seed/, with its parents) plus
//! arbitrary byte patches: no panic, the same verdict and bytes whatever read size the checker
//! and the reader use, and a patch that changes the meaning is detected.
//! The body, its input format and its oracles: `vhd_fuzz_harness::bodies::mutate_corpus`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vhd_fuzz_harness::seeds::{init, mutation_corpus};

fuzz_target!(init: init("mutate_corpus"), |data: &[u8]| {
    vhd_fuzz_harness::bodies::mutate_corpus(mutation_corpus(), data);
});
