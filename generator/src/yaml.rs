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
        let message = bare_message(&e.without_snippet().to_string());
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
    let text = std::fs::read_to_string(path).map_err(|e| YamlError {
        file: file.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read: {e}"),
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
