//! Embeds the recipe table (`specs/recipes.yaml`) and the corpus scenarios its `from:` keys
//! name, so the library carries its recipes without a checkout: writes
//! `$OUT_DIR/recipes.rs` with `TABLE` (the table's text) and `SOURCES` (path under `specs/`,
//! text) for `src/recipes.rs`.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
    let specs = dir.join("..").join("specs");
    let table = specs.join("recipes.yaml");
    println!("cargo:rerun-if-changed={}", table.display());
    let text = std::fs::read_to_string(&table).unwrap_or_else(|e| panic!("{}: {e}", table.display()));
    let mut out = format!("pub(super) const TABLE: &str = include_str!({:?});\n", table.display().to_string());
    out.push_str("pub(super) const SOURCES: &[(&str, &str)] = &[\n");
    let mut seen = std::collections::BTreeSet::new();
    for line in text.lines() {
        let Some(rel) = line.trim_start().strip_prefix("from:") else { continue };
        let rel = rel.trim().trim_matches(|c| c == '"' || c == '\'');
        let path = specs.join(rel);
        // A path that names no file is left out: the recipe then reports it unknown.
        if path.is_file() && seen.insert(rel.to_string()) {
            println!("cargo:rerun-if-changed={}", path.display());
            let _ = writeln!(out, "    ({rel:?}, include_str!({:?})),", path.display().to_string());
        }
    }
    out.push_str("];\n");
    let dest = std::env::var_os("OUT_DIR").map(PathBuf::from).unwrap_or_default().join("recipes.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
}
