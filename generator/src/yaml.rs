//! The only module that touches YAML (serde-saphyr): parsing scenarios with located errors and
//! writing them back.

use crate::scenario::Scenario;
use std::fmt;
use std::path::Path;

/// A scenario that could not be parsed: the file, the 1-based line and column, and what was
/// expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// The scenario file as given.
    pub file: String,
    /// 1-based line (0 when the parser gave no location).
    pub line: u64,
    /// 1-based column (0 when the parser gave no location).
    pub column: u64,
    /// What went wrong, e.g. "unknown field `blocksize`, expected one of type, size, ...".
    pub message: String,
    /// The parser's rendering with a source snippet.
    pub snippet: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

impl std::error::Error for YamlError {}

/// Strips serde-saphyr's "error: line L column C: " prefix from a message.
fn bare_message(s: &str) -> String {
    let first = s.lines().next().unwrap_or("").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    if let Some(rest) = first.strip_prefix("line ") {
        if let Some(pos) = rest.find(": ") {
            return rest.get(pos + 2..).unwrap_or("").to_string();
        }
    }
    first.to_string()
}

/// A YAML budget breach (the parser's limits against hostile YAML: alias bombs, deep nesting,
/// huge documents) in words.
fn budget_message(b: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    let what = match b {
        B::Events { events } => format!("more than {events} YAML parser events"),
        B::Aliases { aliases } => format!("{aliases} aliases (*name)"),
        B::Anchors { anchors } => format!("{anchors} anchors (&name)"),
        B::Depth { depth } => format!("sequences and mappings nested {depth} levels deep"),
        B::Documents { documents } => format!("{documents} YAML documents in one file"),
        B::Nodes { nodes } => format!("{nodes} YAML nodes"),
        B::ScalarBytes { total_scalar_bytes } => format!("{total_scalar_bytes} bytes of scalar text"),
        B::MergeKeys { merge_keys } => format!("{merge_keys} merge keys (<<)"),
        B::AliasAnchorRatio { aliases, anchors } => {
            format!("{aliases} aliases for {anchors} anchors (an alias expansion bomb)")
        }
        B::SequenceUnbalanced => "an unbalanced structure (truncated YAML)".to_string(),
        other => format!("a breach of the parser's limits ({other:?})"),
    };
    format!("the YAML exceeds a safety limit of the parser: {what}")
}

/// Largest generator input read (16 MiB): scenario and foreign case files are text of a few
/// KiB; anything larger is refused before it is read whole.
pub const MAX_INPUT_BYTES: u64 = 16 << 20;

/// Reads a generator input file: a regular file only (opened without blocking, so a FIFO or
/// device is refused, not waited on), at most [`MAX_INPUT_BYTES`], UTF-8.
///
/// # Errors
/// A message naming what the file is, that it is too large, or the I/O error.
pub fn read_input(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = vhd_validator::io::open_regular(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut buf = Vec::new();
    file.take(MAX_INPUT_BYTES + 1).read_to_end(&mut buf).map_err(|e| format!("cannot read: {e}"))?;
    if buf.len() as u64 > MAX_INPUT_BYTES {
        return Err(format!("is larger than the {} MiB a generator input may have", MAX_INPUT_BYTES >> 20));
    }
    String::from_utf8(buf).map_err(|e| format!("is not UTF-8 text: {e}"))
}

/// Parses a scenario from YAML text; `file` names it in errors.
///
/// # Errors
/// [`YamlError`] for malformed YAML, a wrong type, a missing required field or an unknown
/// field, located by line and column.
pub fn parse_scenario(text: &str, file: &str) -> Result<Scenario, YamlError> {
    parse(text, file)
}

/// Parses any `deny_unknown_fields` type of this crate from YAML text (scenarios, foreign
/// case descriptions); `file` names it in errors.
///
/// # Errors
/// As [`parse_scenario`].
pub fn parse<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T, YamlError> {
    serde_saphyr::from_str::<T>(text).map_err(|e| {
        let loc = e.location();
        let message = match &e {
            serde_saphyr::Error::Budget { breach, .. } => budget_message(breach),
            _ => bare_message(&e.without_snippet().to_string()),
        };
        YamlError {
            file: file.to_string(),
            line: loc.as_ref().map_or(0, |l| l.line()),
            column: loc.as_ref().map_or(0, |l| l.column()),
            message,
            snippet: e.to_string().replace("<input>", file),
        }
    })
}

/// Reads and parses a scenario file.
///
/// # Errors
/// [`YamlError`] (with line 0) when the file cannot be read, or as [`parse_scenario`].
pub fn load_scenario(path: &Path) -> Result<Scenario, YamlError> {
    load(path)
}

/// Reads and parses a YAML file into `T` (see [`parse`]).
///
/// # Errors
/// [`YamlError`] (with line 0) when the file cannot be read, or as [`parse`].
pub fn load<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, YamlError> {
    let file = path.display().to_string();
    let text = read_input(path).map_err(|message| YamlError {
        file: file.clone(),
        line: 0,
        column: 0,
        message,
        snippet: String::new(),
    })?;
    parse(&text, &file)
}

/// Writes a scenario as YAML that [`parse_scenario`] reads back to an equal value.
///
/// # Errors
/// A message if serialization fails (it does not for scenarios built by this crate).
pub fn to_yaml(s: &Scenario) -> Result<String, String> {
    serde_saphyr::to_string(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use serde_saphyr::budget::BudgetBreach;

    #[test]
    fn budget_breaches_read_as_words() {
        let m = super::budget_message(&BudgetBreach::ScalarBytes { total_scalar_bytes: 67_108_865 });
        assert_eq!(m, "the YAML exceeds a safety limit of the parser: 67108865 bytes of scalar text");
        let m = super::budget_message(&BudgetBreach::Depth { depth: 65 });
        assert!(m.ends_with("nested 65 levels deep") && !m.contains('{'), "{m}");
    }
}
