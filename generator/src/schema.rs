//! JSON Schemas of the scenario format (`docs/scenario.schema.json`) and of the manifest
//! (`docs/manifest.schema.json`), generated from the types with schemars. A test regenerates
//! both and compares them with the committed files; `vhd-generate schemas -o docs` rewrites them.

use crate::scenario::Scenario;
use vhd_validator::manifest::Manifest;

/// File name of the scenario schema.
pub const SCENARIO_SCHEMA_FILE: &str = "scenario.schema.json";
/// File name of the manifest schema.
pub const MANIFEST_SCHEMA_FILE: &str = "manifest.schema.json";

fn pretty(v: &impl serde::Serialize) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// The JSON Schema of [`Scenario`], pretty-printed with a trailing newline.
pub fn scenario_schema() -> String {
    pretty(&schemars::schema_for!(Scenario))
}

/// The JSON Schema of [`Manifest`], pretty-printed with a trailing newline.
pub fn manifest_schema() -> String {
    pretty(&schemars::schema_for!(Manifest))
}

/// Both schemas as (file name, text).
pub fn all() -> Vec<(&'static str, String)> {
    vec![(SCENARIO_SCHEMA_FILE, scenario_schema()), (MANIFEST_SCHEMA_FILE, manifest_schema())]
}
