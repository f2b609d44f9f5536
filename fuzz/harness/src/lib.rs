//! The fuzz targets' bodies and oracles, outside the validator's public API.
//!
//! - [`bodies`]: the bodies of `validate_image`, `validate_chain`, `mutate_corpus` and
//!   `check_chain`: oracles over the checker and the reference chain reader that hold for any
//!   input, an independent sector-by-sector model of the read path, and the per-input work budget.
//! - [`scenario`]: the body of `scenario_roundtrip` (scenario → generator → checker and reader).
//! - [`seeds`], [`embedded`]: the committed seed images and scenarios, embedded at build time so
//!   that each target is self-contained.
//!
//! `fuzz/fuzz_targets/` holds thin `fuzz_target!` wrappers around these functions; this crate's
//! tests replay the committed seeds and regressions on stable (`cargo test --workspace`), and its
//! examples replay and shrink single inputs (`fuzz/fuzz.sh replay`, `fuzz/fuzz.sh shrink`).
#![forbid(unsafe_code)]

pub mod bodies;
pub mod embedded;
pub mod scenario;
pub mod seeds;
