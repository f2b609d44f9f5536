//! vhd-validator: the conformance authority for Microsoft VHD images.
//!
//! - [`format`](mod@format): decode/encode of every on-disk structure (hard disk footer, dynamic
//!   disk header, parent locators, BAT, sector bitmaps) with one typed field table each, the
//!   tolerant layout parse, the CHS geometry algorithm, checksums, timestamps.
//! - [`chain`]: the reference chain reader (parent resolution, `read_at`, extents, digest).
//! - [`rules`]: the rule catalogue (stable codes, severities per profile).
//! - [`finding`]: the finding data model.
//! - [`check`]: image and chain validation, one module per rule family.
//! - [`manifest`]: the corpus manifest and corpus verification; [`faults`]: the known faults
//!   of other implementations that corpus cases expose.
//! - [`analyze`]: chain analysis (ownership, waste, alignment, template updates).
//! - [`io`]: read-only random access to image bytes.
//! - [`progress`]: the progress hook long operations report to (front ends draw it).
//! - [`parallel`]: case-level parallelism with results in input order.
//! - [`cleanup`]: the hook through which temporary outputs are announced, so that a killed
//!   process leaves none behind.
//!
//! Dependencies run one way: `format` ← `chain` (the reader) ← `check` (the rules). The library
//! renders nothing, reads no clock and depends on nothing a command line needs; the command
//! lines are the `vhd-cli` crate (docs/ARCHITECTURE.md).
#![forbid(unsafe_code)]

pub mod analyze;
pub mod chain;
pub mod check;
pub mod cleanup;
pub mod faults;
pub mod finding;
pub mod format;
pub mod hex;
pub mod io;
pub mod manifest;
pub mod parallel;
pub mod progress;
pub mod rules;

pub use finding::{Finding, Text};
pub use rules::{Code, Family, Profile, Severity};
