//! The validation library stays a library:
//!
//! - it depends on nothing a command line needs: no argument parsing, terminal output, report
//!   formats, process control, temporary files or clock formatting, and none of the crates built
//!   on top of it. A crate that wants the checker or the reference reader as a dependency gets
//!   the format code and its few dependencies, not a command line's. Checked on
//!   `validator/Cargo.toml` (the direct dependencies, any target) and on the workspace's
//!   `Cargo.lock` (everything those pull in);
//! - Unix-only crates are dependencies only under `cfg(unix)`;
//! - it never reads the clock: "now" is an input (`CheckOptions::now_unix`), so the same image
//!   gets the same findings on every run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Crates that belong to a command line or to the crates above the library, never to it.
const COMMAND_LINE_CRATES: [&str; 18] = [
    "clap",
    "clap_builder",
    "indicatif",
    "console",
    "quick-junit",
    "svg",
    "tempfile",
    "assert_cmd",
    "trycmd",
    "jiff",
    "shlex",
    "shell-words",
    "wait-timeout",
    "process-wrap",
    "vhd-conform",
    "vhd-generator",
    "vhd-cli",
    "vhd-testkit",
];

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The dependency names of every `[dependencies]` and `[target.'...'.dependencies]` section of a
/// Cargo.toml, with the section each is in.
fn normal_dependencies(toml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut section = String::new();
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        let normal =
            section == "[dependencies]" || (section.starts_with("[target.") && section.ends_with(".dependencies]"));
        if !normal || line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((name, _)) = line.split_once('=') {
            // `name = ...`, or `name.workspace = true`.
            let name = name.trim().split('.').next().unwrap_or("").trim_matches('"');
            out.push((name.to_string(), section.clone()));
        }
    }
    out
}

/// Package name → the names it depends on, from a Cargo.lock.
fn lock_graph(lock: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let Some(name) = block.lines().find_map(|l| l.strip_prefix("name = ")) else { continue };
        let deps = graph.entry(name.trim_matches('"').to_string()).or_default();
        if let Some(list) = block.split("dependencies = [").nth(1).and_then(|s| s.split(']').next()) {
            for d in list.split(',') {
                let d = d.trim().trim_matches('"');
                if let Some(dep) = d.split_whitespace().next() {
                    deps.insert(dep.to_string());
                }
            }
        }
    }
    graph
}

/// Everything `roots` pull in according to `graph`, roots included.
fn closure(graph: &BTreeMap<String, BTreeSet<String>>, roots: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = roots.into_iter().collect();
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone()) {
            todo.extend(graph.get(&name).into_iter().flatten().cloned());
        }
    }
    seen
}

#[test]
fn the_library_depends_on_nothing_a_command_line_needs() {
    let toml = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).expect("read validator/Cargo.toml");
    let direct = normal_dependencies(&toml);
    assert!(direct.iter().any(|(n, _)| n == "sha2"), "no dependency was parsed from validator/Cargo.toml");
    let bad: Vec<_> = direct.iter().filter(|(n, _)| COMMAND_LINE_CRATES.contains(&n.as_str())).collect();
    assert!(bad.is_empty(), "validator/Cargo.toml depends on command-line crates: {bad:?}");

    let lock = std::fs::read_to_string(manifest_dir().join("../Cargo.lock")).expect("read the workspace's Cargo.lock");
    let graph = lock_graph(&lock);
    let all = closure(&graph, direct.into_iter().map(|(n, _)| n));
    let pulled: Vec<_> = all.iter().filter(|n| COMMAND_LINE_CRATES.contains(&n.as_str())).collect();
    assert!(pulled.is_empty(), "the validator's dependencies pull in command-line crates: {pulled:?}");
}

#[test]
fn unix_only_dependencies_are_behind_cfg_unix() {
    let toml = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).expect("read validator/Cargo.toml");
    for (name, section) in normal_dependencies(&toml) {
        if matches!(name.as_str(), "rustix" | "libc" | "nix") {
            assert!(section.contains("cfg(unix)"), "{name} is a dependency outside a cfg(unix) section: {section}");
        }
    }
}

#[test]
fn the_parsers_read_what_they_are_given() {
    let toml = "[package]\nname = \"x\"\n[dependencies]\nclap = \"4\"\nsha2.workspace = true\n# note\n[target.'cfg(unix)'.dependencies]\nrustix = { version = \"1\" }\n[dev-dependencies]\ntempfile = \"3\"\n";
    let deps = normal_dependencies(toml);
    assert_eq!(
        deps,
        [
            ("clap".to_string(), "[dependencies]".to_string()),
            ("sha2".to_string(), "[dependencies]".to_string()),
            ("rustix".to_string(), "[target.'cfg(unix)'.dependencies]".to_string())
        ]
    );
    let lock = "[[package]]\nname = \"a\"\ndependencies = [\n \"b\",\n \"c 1.0.0\",\n]\n\n[[package]]\nname = \"c\"\ndependencies = [\n \"d\",\n]\n";
    let all = closure(&lock_graph(lock), ["a".to_string()]);
    assert_eq!(all.into_iter().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read a source directory").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_library_never_reads_the_clock() {
    let mut files = Vec::new();
    rust_files(&manifest_dir().join("src"), &mut files);
    assert!(files.len() > 10, "the library's sources were not found");
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read a source file");
        for (n, line) in text.lines().enumerate() {
            if ["SystemTime::now", "Instant::now", "UNIX_EPOCH.elapsed"].iter().any(|c| line.contains(c)) {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "the library reads the clock:\n{}", found.join("\n"));
}
