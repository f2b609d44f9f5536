//! Body of the `scenario_roundtrip` fuzz target, which needs both the generator and the
//! validator (the validator's own fuzz bodies live in `vhd_validator::fuzzing`; this one cannot,
//! since the generator depends on the validator).
//!
//! Called by `fuzz_targets/scenario_roundtrip.rs` and, on stable, by `tests/replay.rs`
//! (`cargo test` in `fuzz/`), which replays `corpus/scenario_roundtrip/regressions/` and the
//! seeds.
#![forbid(unsafe_code)]

pub mod embedded;
pub mod scenario;
pub mod seeds;
