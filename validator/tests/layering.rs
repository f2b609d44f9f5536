//! The library's modules depend on each other one way: `format` (structures, field tables, the
//! tolerant layout parse, locator payloads) ← `chain` (the reference reader) ← `check` (rules).
//! A source scan: no file of `src/format/` names `crate::chain` or `crate::check`, and no file
//! of `src/chain/` names `crate::check` (test-only code excepted: the unit tests may build
//! images with the checker's helpers).

use std::path::Path;

/// The non-test source of `file`: everything before its first `#[cfg(test)]`.
fn non_test_source(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    text.split("#[cfg(test)]").next().unwrap_or_default().to_string()
}

/// `(file, offending line)` for every line of the non-test `.rs` files under `src/<dir>` that
/// names one of `forbidden` (doc comments included: a doc link is a dependency too).
fn uses(dir: &str, forbidden: &[&str]) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&root).expect("source directory").flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(files.len() > 3, "{} has only {} files", root.display(), files.len());
    for file in files.iter().filter(|p| p.extension().is_some_and(|e| e == "rs")) {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if matches!(name, "tests.rs" | "testutil.rs") {
            continue;
        }
        for line in non_test_source(file).lines() {
            let code = line.replace(' ', "");
            if forbidden.iter().any(|f| code.contains(f)) {
                out.push((name.to_string(), line.trim().to_string()));
            }
        }
    }
    out
}

#[test]
fn format_depends_on_neither_the_reader_nor_the_checks() {
    let bad = uses("format", &["crate::chain", "crate::check", "super::super::"]);
    assert!(bad.is_empty(), "format/ reaches up the layering: {bad:#?}");
}

#[test]
fn the_chain_reader_does_not_depend_on_the_checks() {
    let bad = uses("chain", &["crate::check", "super::super::"]);
    assert!(bad.is_empty(), "chain/ imports the checks: {bad:#?}");
}

#[test]
fn the_scan_sees_an_import_when_there_is_one() {
    // The checks do use the reader: the same scan finds it there.
    assert!(!uses("check", &["crate::chain"]).is_empty());
}
