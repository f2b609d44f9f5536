//! What the two command lines share: the progress bar they draw on a terminal, and the janitor
//! that removes a killed command's temporary outputs.
//!
//! The binaries are `vhd-validate` (`src/validate/`: check, rules, explain, cat, digest, analyze,
//! corpus, conform, conform-writer, explore) and `vhd-generate` (`src/generate/`: scenarios to
//! images and manifests, corpus, random, explore, promote). The reports of `vhd-validate` (text,
//! JSON, SARIF, JUnit, SVG, Markdown) are rendered here, not in the libraries. The JSON of `check`
//! and of the rule catalogue is defined by this crate's types (docs/REPORT.md); the JSON of
//! `analyze` serializes `vhd_validator::analyze::Analysis` (docs/ANALYZE.md) and the conformance
//! results serialize `vhd_conform`'s result types (docs/CONFORMANCE.md). What `vhd-generate`
//! produces (cases, `manifest.json`, exploration folders) is written by `vhd_generator`.
#![forbid(unsafe_code)]

pub mod bar;
pub mod janitor;
