//! Findings: what the validator reports. Findings are data, never the first error.

use crate::rules::{Code, Profile, Severity};
use serde::Serialize;
use std::fmt;

/// One departure from the specification, located precisely.
///
/// `offset` and `length` are in bytes from the start of `file`. `path` names the structure in
/// the field's terms, e.g. `footer.checksum`, `bat[17]`, `header.parent_locator[2].data_offset`,
/// `block[3].bitmap`, `chain[1]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule code (see the catalogue).
    pub code: Code,
    /// Severity under the profile the report was made with.
    pub severity: Severity,
    /// The file the finding is about, as given on the command line or resolved for a parent.
    pub file: String,
    /// Byte offset into `file`.
    pub offset: u64,
    /// Length in bytes of the offending range (0 when the finding is about a position only).
    pub length: u64,
    /// Structure path.
    pub path: String,
    /// What the spec (or consistency) requires, when it is a single value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What the image holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Human-readable explanation; may change between versions, unlike `code`.
    pub message: String,
}

impl Finding {
    /// A finding with the rule's strict severity and no file name yet (the checker fills it in).
    pub fn new(code: Code, offset: u64, length: u64, path: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: code.rule().strict,
            file: String::new(),
            offset,
            length,
            path: path.into(),
            expected: None,
            actual: None,
            message: message.into(),
        }
    }

    /// Sets the expected value.
    pub fn expected(mut self, v: impl fmt::Display) -> Finding {
        self.expected = Some(v.to_string());
        self
    }

    /// Sets the actual value.
    pub fn actual(mut self, v: impl fmt::Display) -> Finding {
        self.actual = Some(v.to_string());
        self
    }

    /// Re-grades the finding for `profile` (a profile never adds or removes findings).
    pub fn with_profile(mut self, profile: Profile) -> Finding {
        self.severity = self.code.rule().severity(profile);
        self
    }

    /// Deterministic report order: file, offset, code, path.
    pub fn sort_key(&self) -> (&str, u64, Code, &str, u64) {
        (&self.file, self.offset, self.code, &self.path, self.length)
    }
}

/// Sorts findings into the deterministic report order and removes exact duplicates.
pub fn normalize(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
}

/// The highest severity among `findings`, if any.
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} {}:{} [{}] {}", self.severity, self.code, self.file, self.offset, self.path, self.message)?;
        match (&self.expected, &self.actual) {
            (Some(e), Some(a)) => write!(f, " (expected {e}, found {a})"),
            (None, Some(a)) => write!(f, " (found {a})"),
            (Some(e), None) => write!(f, " (expected {e})"),
            (None, None) => Ok(()),
        }
    }
}

/// Makes text from an image or a file name inert for a terminal and a line-oriented report:
/// every control character becomes a visible escape (`\n`, `\r`, `\t`, `\0`, `\x1b` for the
/// other C0 controls and DEL, `\u{85}` for C1 controls, line and paragraph separators,
/// bidirectional and zero-width format characters), so a string can neither end a line, forge
/// another, nor move, recolour or retitle a terminal. Everything else (backslashes too) is kept.
pub fn escape_text(s: &str) -> std::borrow::Cow<'_, str> {
    fn hostile(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}')
            || matches!(c, '\u{2066}'..='\u{2069}' | '\u{feff}')
    }
    if !s.chars().any(hostile) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if hostile(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod escape_tests {
    use super::escape_text;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(escape_text("plain C:\\dir\\p.vhd"), "plain C:\\dir\\p.vhd");
        assert_eq!(escape_text("a\nb: PASS\r\0"), "a\\nb: PASS\\r\\0");
        assert_eq!(escape_text("\x1b]0;title\x07\x7f"), "\\x1b]0;title\\x07\\x7f");
        assert_eq!(escape_text("\u{85}\u{202e}\u{2028}x"), "\\u{85}\\u{202e}\\u{2028}x");
        assert!(!escape_text(&(0u8..=0x7f).map(char::from).collect::<String>()).chars().any(char::is_control));
    }
}
