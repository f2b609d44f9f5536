//! Random scenarios.
use crate::error::GenError;
use std::path::Path;
use vhd_validator::manifest::Manifest;

/// Placeholder.
pub fn generate_random(_count: usize, _seed: u64, _ratio: f64, _out: &Path, _force: bool) -> Result<Manifest, GenError> {
    Err(GenError::Invalid { path: String::new(), message: "todo".into() })
}
