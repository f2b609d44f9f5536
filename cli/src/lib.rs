//! What the two command lines share: the progress bar they draw on a terminal.
//!
//! The binaries are `vhd-validate` (`src/validate/`: check, rules, explain, cat, digest, analyze,
//! corpus, conform, conform-writer, explore) and `vhd-generate` (`src/generate/`: scenarios to
//! images and manifests, corpus, random, explore, promote). Everything they render (text, JSON,
//! SARIF, JUnit, SVG, Markdown) is defined here, not in the libraries.
#![forbid(unsafe_code)]

pub mod bar;
