//! vhd-generator: turns YAML scenarios into valid and deliberately corrupt VHD images, with a
//! `manifest.json` that says what each case must yield.
//!
//! - [`scenario`]: the scenario types (the format of `specs/**/*.yaml`), parsed by [`yaml`].
//! - [`plan`]: lays out fixed, dynamic and differencing images and whole chains, and writes
//!   them as sparse files with the validator's encoders.
//! - [`mutate`]: corruptions applied after the valid layout, each declaring its rule codes.
//! - [`model`]: the content model and the virtual disk's SHA-256, computed without a reader.
//! - [`case`]: one scenario to one manifest case; [`corpus`]: directories, the golden corpus;
//!   [`foreign`]: cases whose images another implementation wrote.
//! - [`recipes`]: one corruption per byte-triggerable rule; [`random`]: random scenarios.
//! - [`shrink`]: the structure-aware scenario reducer; [`explore`]: differential exploration
//!   of other implementations (random scenarios, conform's judging, shrinking, dedup).
//! - [`schema`]: the JSON Schemas of the scenario and manifest formats.
#![forbid(unsafe_code)]

pub mod archive;
pub mod case;
pub mod corpus;
pub mod error;
pub mod explore;
pub mod foreign;
pub mod model;
pub mod mutate;
pub mod pattern;
pub mod plan;
pub mod random;
pub mod recipes;
pub mod scenario;
pub mod schema;
pub mod shrink;
pub mod values;
pub mod yaml;

pub use case::{generate_case, GenOptions};
pub use error::GenError;
pub use scenario::Scenario;
