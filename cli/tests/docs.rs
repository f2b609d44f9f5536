//! The documentation names only what exists: every repository path in a Markdown file (an inline
//! code span or a relative link) is a file or directory of the checkout, and every
//! `cargo run|test|bench|build ... -p PACKAGE --bin|--test|--example|--bench NAME` command names a
//! package of the workspace (or of `fuzz/`) and a target of that package.
//!
//! Paths under what `.gitignore` ignores (build and run outputs such as `target/` or
//! `fuzz/cflite/`) are outputs, not checked. A source path given relative to its crate
//! (`chain/reader.rs`) must be the tail of some file of the checkout.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("cli/ has a parent").to_path_buf()
}

/// The Markdown files of the project: top-level ones, `docs/`, `corpus/` (but not the generated
/// cases), `specs/` and the crates' own.
fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["", "validator", "validator/testkit", "generator", "conform", "cli", "fuzz", "fuzz/harness"] {
        files(&root.join(dir), false, &mut out);
    }
    for dir in ["docs", "corpus/seed", "specs"] {
        files(&root.join(dir), true, &mut out);
    }
    if let Ok(rd) = fs::read_dir(root.join("corpus")) {
        for e in rd.flatten() {
            if e.path().extension().is_some_and(|x| x == "md") {
                out.push(e.path());
            }
        }
    }
    out.retain(|p| p.extension().is_some_and(|x| x == "md"));
    out.sort();
    out.dedup();
    out
}

fn files(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if recursive {
                files(&p, true, out);
            }
        } else {
            out.push(p);
        }
    }
}

/// Every file of the checkout outside build outputs and the generated corpus, as `/`-separated
/// paths relative to `root`, each with a leading `/` (so a tail match is a whole-component match).
fn all_files(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().replace('\\', "/");
            if p.is_dir() {
                if !matches!(rel.as_str(), ".git" | "target" | "fuzz/target" | "fuzz/cflite" | "corpus/generated") {
                    walk(root, &p, out);
                }
            } else {
                out.push(format!("/{rel}"));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

/// The prefixes `.gitignore` ignores at the root (the text before any `*`), without the `/`.
fn ignored_prefixes(root: &Path) -> Vec<String> {
    let text = fs::read_to_string(root.join(".gitignore")).unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with('/'))
        .map(|l| l.split('*').next().unwrap_or("").trim_start_matches('/').trim_end_matches('/').to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The inline code spans of `line` (not inside a fenced block).
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// The targets of the Markdown links of `line`: `[text](target)`.
fn link_targets(line: &str) -> Vec<&str> {
    line.match_indices("](")
        .filter_map(|(i, _)| {
            let rest = &line[i + 2..];
            rest.find(')').map(|end| &rest[..end])
        })
        .collect()
}

/// `token` with a trailing `:LINE` or `:LINE-LINE`, `#anchor` and `/` removed.
fn strip_suffixes(token: &str) -> &str {
    let mut t = token.split('#').next().unwrap_or("");
    if let Some((head, tail)) = t.rsplit_once(':') {
        if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit() || c == '-') {
            t = head;
        }
    }
    t.trim_end_matches('/')
}

/// Whether `t` can be a path at all (no placeholders, globs, URLs, spaces or shell syntax).
fn path_like(t: &str) -> bool {
    !t.is_empty()
        && !t.contains("...")
        && !t.contains("://")
        && !t.starts_with(['~', '/', '-', '.'].as_slice())
        && !t.chars().any(|c| c.is_whitespace() || "<>{}[]*$…|\\=,;()'\"".contains(c))
}

/// Whether a component of `t` is a placeholder such as `NAME` in `specs/explored/NAME.yaml`.
fn has_placeholder(t: &str) -> bool {
    const WORDS: [&str; 10] = ["ID", "NAME", "TARGET", "CASE", "OUT", "FILE", "DIR", "IMPL", "OUTCOME", "NNN"];
    t.split('/').any(|c| c.split(['.', '-']).any(|w| WORDS.contains(&w)))
}

const SOURCE_EXTENSIONS: [&str; 8] = [".rs", ".sh", ".toml", ".py", ".yml", ".yaml", ".md", ".json"];

struct Checkout {
    root: PathBuf,
    top: Vec<String>,
    ignored: Vec<String>,
    files: Vec<String>,
}

impl Checkout {
    fn new() -> Checkout {
        let root = root();
        let mut top: Vec<String> = fs::read_dir(&root)
            .expect("read the checkout")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        top.retain(|n| n != "target" && n != ".git");
        Checkout { ignored: ignored_prefixes(&root), files: all_files(&root), top, root }
    }

    fn is_output(&self, rel: &str) -> bool {
        self.ignored.iter().any(|p| rel == p || rel.starts_with(&format!("{p}/")) || rel.starts_with(p.as_str()))
    }

    /// The problem with a path-like `token` of `md`, if any.
    fn check_path(&self, md: &Path, token: &str, is_link: bool) -> Option<String> {
        let t = strip_suffixes(token.trim());
        if is_link {
            if t.is_empty() || t.contains("://") || t.starts_with("mailto:") {
                return None;
            }
            let p = md.parent().unwrap_or(&self.root).join(t);
            return (!p.exists()).then(|| format!("link target `{token}` does not exist"));
        }
        if !path_like(t) {
            return None;
        }
        let first = t.split('/').next().unwrap_or("");
        if self.top.iter().any(|n| n == first) && (t.contains('/') || self.root.join(t).is_file()) {
            if self.is_output(t) || self.root.join(t).exists() || has_placeholder(t) {
                return None;
            }
            return Some(format!("`{token}` does not exist"));
        }
        if t.contains('/') && SOURCE_EXTENSIONS.iter().any(|e| t.ends_with(e)) {
            let tail = format!("/{t}");
            if !self.files.iter().any(|f| f.ends_with(&tail)) {
                return Some(format!("`{token}` is the tail of no file of the checkout"));
            }
        }
        None
    }
}

/// Package name → directory, for the root workspace's members and the cargo-fuzz workspace.
fn packages(root: &Path) -> BTreeMap<String, PathBuf> {
    let manifest = fs::read_to_string(root.join("Cargo.toml")).expect("read Cargo.toml");
    let members = manifest
        .split("members = [")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .expect("the root Cargo.toml lists its members");
    let mut dirs: Vec<PathBuf> = members
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(|m| root.join(m))
        .collect();
    dirs.push(root.join("fuzz"));
    let mut out = BTreeMap::new();
    for d in dirs {
        let toml = fs::read_to_string(d.join("Cargo.toml")).expect("read a member's Cargo.toml");
        let name = package_name(&toml).expect("a member's Cargo.toml names its package");
        out.insert(name, d);
    }
    out
}

/// The `name` of the `[package]` section.
fn package_name(toml: &str) -> Option<String> {
    let section = toml.split("[package]").nth(1)?;
    section.lines().take_while(|l| !l.starts_with('[')).find_map(|l| quoted_value(l, "name"))
}

/// The quoted value of `key = "value"` on `line`.
fn quoted_value(line: &str, key: &str) -> Option<String> {
    let (k, v) = line.split_once('=')?;
    (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
}

/// Whether the package in `dir` has a target of `kind` called `name`.
fn has_target(dir: &Path, kind: &str, name: &str) -> bool {
    let toml = fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
    let section = format!("[[{kind}]]");
    let declared = toml.split(section.as_str()).skip(1).any(|s| {
        s.lines().take_while(|l| !l.starts_with('[')).any(|l| quoted_value(l, "name").as_deref() == Some(name))
    });
    let file = match kind {
        "bin" => {
            dir.join(format!("src/bin/{name}.rs")).is_file()
                || (package_name(&toml).as_deref() == Some(name) && dir.join("src/main.rs").is_file())
        }
        "test" => dir.join(format!("tests/{name}.rs")).is_file() || dir.join(format!("tests/{name}/main.rs")).is_file(),
        "example" => dir.join(format!("examples/{name}.rs")).is_file(),
        "bench" => dir.join(format!("benches/{name}.rs")).is_file(),
        _ => false,
    };
    declared || file
}

/// The problem with the cargo command starting `cmd` (the rest of the line after `cargo `).
fn check_cargo(root: &Path, pkgs: &BTreeMap<String, PathBuf>, cmd: &str) -> Option<String> {
    let cmd = cmd.split(['`', ';', '|', '#', '&']).next().unwrap_or("");
    let words: Vec<&str> = cmd.split_whitespace().collect();
    if words.first() == Some(&"install") {
        return check_install(root, pkgs, cmd, &words);
    }
    if !matches!(words.first(), Some(&("run" | "test" | "bench" | "build"))) {
        return None;
    }
    let words: Vec<&str> = words.into_iter().take_while(|w| *w != "--").collect();
    let value = |flag: &str| words.windows(2).find(|w| w[0] == flag).map(|w| w[1]);
    let mut dirs: Vec<&PathBuf> = pkgs.values().collect();
    if let Some(p) = value("-p").or_else(|| value("--package")) {
        match pkgs.get(p) {
            Some(d) => dirs = vec![d],
            None => return Some(format!("`cargo {cmd}`: no package `{p}`")),
        }
    } else if let Some(m) = value("--manifest-path") {
        let d = pkgs.values().find(|d| root.join(m).parent() == Some(d.as_path()))?;
        dirs = vec![d];
    }
    for kind in ["bin", "test", "example", "bench"] {
        if let Some(name) = value(&format!("--{kind}")) {
            if !dirs.iter().any(|d| has_target(d, kind, name)) {
                return Some(format!("`cargo {cmd}`: no {kind} target `{name}`"));
            }
        }
    }
    None
}

/// `cargo install --path P`: P (relative to the checkout, or to a directory holding it) is a
/// package with a binary.
fn check_install(root: &Path, pkgs: &BTreeMap<String, PathBuf>, cmd: &str, words: &[&str]) -> Option<String> {
    let path = words.windows(2).find(|w| w[0] == "--path")?[1];
    let rel = Path::new(path);
    let dir = [rel, rel.strip_prefix(rel.components().next()?).unwrap_or(rel)]
        .into_iter()
        .map(|r| root.join(r))
        .find(|d| pkgs.values().any(|p| p == d));
    let Some(dir) = dir else {
        return Some(format!("`cargo {cmd}`: `{path}` is not a package of the workspace"));
    };
    let toml = fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
    let has_bin = toml.contains("[[bin]]") || dir.join("src/main.rs").is_file() || dir.join("src/bin").is_dir();
    (!has_bin).then(|| format!("`cargo {cmd}`: `{path}` has no binary to install"))
}

#[test]
fn docs_paths_exist() {
    let co = Checkout::new();
    let pkgs = packages(&co.root);
    let mds = markdown_files(&co.root);
    assert!(mds.iter().any(|p| p.ends_with("docs/ARCHITECTURE.md")), "the docs were not found");
    let mut problems = Vec::new();
    for md in &mds {
        let text = fs::read_to_string(md).expect("read a Markdown file");
        let rel = md.strip_prefix(&co.root).unwrap_or(md).display().to_string();
        let mut fenced = false;
        for (n, line) in text.lines().enumerate() {
            let mut found = Vec::new();
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                continue;
            }
            if !fenced {
                for span in code_spans(line) {
                    found.extend(co.check_path(md, span, false));
                }
                for target in link_targets(line) {
                    found.extend(co.check_path(md, target, true));
                }
            }
            for (i, _) in line.match_indices("cargo ") {
                found.extend(check_cargo(&co.root, &pkgs, &line[i + "cargo ".len()..]));
            }
            problems.extend(found.into_iter().map(|p| format!("{rel}:{}: {p}", n + 1)));
        }
    }
    assert!(problems.is_empty(), "the docs name what does not exist:\n{}", problems.join("\n"));
}

#[test]
fn the_checks_catch_what_they_are_for() {
    let co = Checkout::new();
    let md = co.root.join("docs/ARCHITECTURE.md");
    assert!(co.check_path(&md, "validator/src/lib.rs", false).is_none());
    assert!(co.check_path(&md, "validator/src/no_such_module.rs:12", false).is_some());
    assert!(co.check_path(&md, "chain/reader.rs", false).is_none());
    assert!(co.check_path(&md, "nowhere/reader.rs", false).is_some());
    assert!(co.check_path(&md, "target/release/vhd-validate", false).is_none(), "outputs are not checked");
    assert!(co.check_path(&md, "specs/explored/NAME.yaml", false).is_none(), "placeholders are not checked");
    assert!(co.check_path(&md, "../fuzz/README.md", true).is_none());
    assert!(co.check_path(&md, "../fuzz/NOPE.md", true).is_some());
    let pkgs = packages(&co.root);
    assert!(check_cargo(&co.root, &pkgs, "run -p vhd-cli --bin vhd-validate -- rules").is_none());
    assert!(check_cargo(&co.root, &pkgs, "test -p vhd-cli --test docs").is_none());
    assert!(check_cargo(&co.root, &pkgs, "test -p vhd-cli --test no_such_test").is_some());
    assert!(check_cargo(&co.root, &pkgs, "run -p no-such-package --bin x").is_some());
    assert!(check_cargo(&co.root, &pkgs, "run --release -p vhd-fuzz-harness --example replay").is_none());
    assert!(check_cargo(&co.root, &pkgs, "install --locked --path cli").is_none());
    assert!(check_cargo(&co.root, &pkgs, "install --locked --path checkout/cli").is_none());
    assert!(check_cargo(&co.root, &pkgs, "install --locked --path validator").is_some(), "a library has no binary");
}
