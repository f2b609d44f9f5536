//! Expect files: the failures an implementation is known to have, each with a reason.
//!
//! ```text
//! # Comments start with `#`; blank lines are ignored.
//! # Lines before any section apply to every implementation.
//! [qemu-img]
//! footer/checksum-*      accepted-corrupt   QEMU reads the footer copy at offset 0 and ignores the trailing footer
//! differencing/*         fail               QEMU's vpc driver has no backing-file support
//! [libvhdi]
//! fixed/odd-size         wrong-size,wrong-bytes   libvhdi sizes the disk from the original size
//! ```
//!
//! Each entry is `PATTERN OUTCOMES REASON`: `PATTERN` is a case id (reader) or row id (writer)
//! where `*` matches any run of characters (`/` included) and `?` one character; `OUTCOMES` is a
//! comma-separated list of failing outcomes, or `fail` for any failing outcome; `REASON` (the rest
//! of the line) is required. A `[NAME]` line starts a section that applies to the implementation
//! called `NAME` only. The first entry that matches a case (in file order, sections and global
//! entries alike) decides.
//!
//! A case that fails with a listed outcome is an *expected failure*; one that fails otherwise
//! is a failure (the entry is named in the detail); one that passes is an *unexpected pass*,
//! reported and counted as a failure so that lists stay honest. Entries that match no case of a
//! run are reported as unused.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// The `OUTCOMES` word that matches any failing outcome.
pub(crate) const ANY_FAILURE: &str = "fail";

/// One expected failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExpectEntry {
    /// The implementation the entry is for (`None`: every implementation).
    pub implementation: Option<String>,
    /// The case (or row) pattern.
    pub pattern: String,
    /// The failing outcomes expected (kebab-case names); empty means any failing outcome.
    pub outcomes: Vec<String>,
    /// Why the implementation fails the case.
    pub reason: String,
    /// 1-based line number in the file.
    pub line: usize,
}

impl ExpectEntry {
    /// Whether the entry applies to `implementation` and `id`.
    pub(crate) fn matches(&self, implementation: &str, id: &str) -> bool {
        self.implementation.as_deref().is_none_or(|i| i == implementation) && glob_match(&self.pattern, id)
    }

    /// Whether `outcome` (a failing outcome's name) is one the entry expects.
    pub(crate) fn expects(&self, outcome: &str) -> bool {
        self.outcomes.is_empty() || self.outcomes.iter().any(|o| o == outcome)
    }

    /// The outcomes as written (`fail` for any).
    pub(crate) fn outcomes_text(&self) -> String {
        if self.outcomes.is_empty() {
            ANY_FAILURE.to_string()
        } else {
            self.outcomes.join(",")
        }
    }
}

/// A parsed expect file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectFile {
    /// Where it was read from (empty for a string).
    pub path: PathBuf,
    /// The entries, in file order.
    pub entries: Vec<ExpectEntry>,
}

/// Why an expect file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExpectError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{path}:{line}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl ExpectFile {
    /// Reads and parses `path`; `failing` lists the outcome names an entry may expect.
    ///
    /// # Errors
    /// [`ExpectError`] when the file cannot be read or a line is malformed.
    pub fn load(path: &Path, failing: &[&str]) -> Result<ExpectFile, ExpectError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ExpectError::Io { path: path.to_path_buf(), source })?;
        ExpectFile::parse(&text, path, failing)
    }

    /// Parses expect-file text (`path` only names it in errors).
    ///
    /// # Errors
    /// [`ExpectError::Syntax`] for a malformed section line, an entry without outcomes or
    /// reason, or an outcome that is not in `failing` (nor `fail`).
    pub(crate) fn parse(text: &str, path: &Path, failing: &[&str]) -> Result<ExpectFile, ExpectError> {
        let err = |line: usize, message: String| ExpectError::Syntax { path: path.to_path_buf(), line, message };
        let mut section: Option<String> = None;
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i.saturating_add(1);
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            if let Some(rest) = l.strip_prefix('[') {
                let name =
                    rest.strip_suffix(']').map(str::trim).filter(|n| !n.is_empty() && !n.contains(char::is_whitespace));
                let Some(name) = name else {
                    return Err(err(line, format!("a section line is `[IMPLEMENTATION]`, found `{l}`")));
                };
                section = Some(name.to_string());
                continue;
            }
            let (pattern, rest) = split_word(l);
            let (outcomes_word, reason) = split_word(rest);
            let pattern = pattern.to_string();
            if outcomes_word.is_empty() || reason.is_empty() {
                return Err(err(line, format!("an entry is `CASE OUTCOMES REASON` (reason required), found `{l}`")));
            }
            let mut outcomes = Vec::new();
            for o in outcomes_word.split(',') {
                if o == ANY_FAILURE {
                    outcomes.clear();
                    break;
                }
                if !failing.contains(&o) {
                    return Err(err(
                        line,
                        format!("`{o}` is not a failing outcome (one of: {}, or `{ANY_FAILURE}`)", failing.join(", ")),
                    ));
                }
                outcomes.push(o.to_string());
            }
            entries.push(ExpectEntry {
                implementation: section.clone(),
                pattern,
                outcomes,
                reason: reason.to_string(),
                line,
            });
        }
        Ok(ExpectFile { path: path.to_path_buf(), entries })
    }

    /// The index and entry that decide for `implementation` and `id` (first match in file order).
    pub fn lookup(&self, implementation: &str, id: &str) -> Option<(usize, &ExpectEntry)> {
        self.entries.iter().enumerate().find(|(_, e)| e.matches(implementation, id))
    }
}

/// The first blank-separated word of `s` and the rest (trimmed).
fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (s.get(..i).unwrap_or_default(), s.get(i..).unwrap_or_default().trim()),
        None => (s, ""),
    }
}

/// Glob match of `text` against `pattern`: `*` any run of characters, `?` any one character,
/// everything else literally.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position of the last `*` in the pattern and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAILING: &[&str] = &["wrong-bytes", "wrong-size", "accepted-corrupt", "crash"];

    #[test]
    fn globs() {
        assert!(glob_match("a/b", "a/b"));
        assert!(!glob_match("a/b", "a/bc"));
        assert!(glob_match("a/*", "a/b/c"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*-tail", "footer/checksum-tail"));
        assert!(!glob_match("*-tail", "footer/checksum-head"));
        assert!(glob_match("f?o*r*", "footer"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
        assert!(!glob_match("*a*b", "xxaxxbxx"));
    }

    #[test]
    fn parses_sections_and_entries() {
        let text = "# header\n\nall/* fail applies to everyone\n[qemu-img]\nfooter/*  accepted-corrupt,wrong-size  reads the copy\n\n[7zip]\nx crash   crashes\n";
        let f = ExpectFile::parse(text, Path::new("e.txt"), FAILING).unwrap();
        assert_eq!(f.entries.len(), 3);
        assert_eq!(f.entries[0].implementation, None);
        assert!(f.entries[0].outcomes.is_empty());
        assert_eq!(f.entries[0].reason, "applies to everyone");
        assert_eq!(f.entries[1].implementation.as_deref(), Some("qemu-img"));
        assert_eq!(f.entries[1].outcomes, ["accepted-corrupt", "wrong-size"]);
        assert_eq!(f.entries[1].line, 5);
        assert_eq!(f.entries[1].outcomes_text(), "accepted-corrupt,wrong-size");
        assert!(f.lookup("qemu-img", "footer/x").is_some_and(|(i, _)| i == 1));
        assert!(f.lookup("libvhdi", "footer/x").is_none());
        assert!(f.lookup("libvhdi", "all/y").is_some_and(|(i, _)| i == 0));
        assert!(f.lookup("7zip", "x").is_some_and(|(_, e)| e.expects("crash") && !e.expects("wrong-bytes")));
        assert!(f.entries[0].expects("anything"));
    }

    #[test]
    fn rejects_malformed_lines() {
        for (text, line) in [
            ("a wrong-size\n", 1),
            ("\n\na\n", 3),
            ("a pass because\n", 1),
            ("[bad name]\n", 1),
            ("[]\n", 1),
            ("[x\n", 1),
            ("a wrong-size,bogus reason\n", 1),
        ] {
            match ExpectFile::parse(text, Path::new("e"), FAILING) {
                Err(ExpectError::Syntax { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }
}
