//! The rule catalogue: every check the validator can report, as one table in code.
//!
//! Each rule has a stable code (`FAMILY-NAME`, upper-case kebab, e.g. `FOOTER-CHECKSUM`), a
//! family, a severity per [`Profile`], a one-line summary, the spec section it implements and the
//! known implementations that enforce or tolerate it. Codes are never renamed or reused; messages
//! may change. `docs/RULES.md` is generated from this table (`vhd-validate rules --format markdown`)
//! and a test fails when it is stale.

mod catalogue;

pub use catalogue::Code;

use serde::{Deserialize, Serialize};
use std::fmt;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// A fact worth knowing that breaks no reader (a legal but unusual layout, a deprecated
    /// feature).
    Info,
    /// A named reader refuses or misreads the image (the rule's `breaks` says which).
    Warning,
    /// A spec "must" is violated, or readers would reject the image or return different bytes.
    Error,
}

impl Severity {
    /// Lower-case name as printed in reports (`info`, `warning`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validation profile. A profile changes severities, never which findings exist.
///
/// Ordered by name (`compat < strict`), so maps keyed by profile (the manifest's `verdict`)
/// serialize in alphabetical order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Profile {
    /// The VHD specification v1.0 read literally (the default).
    #[default]
    Strict,
    /// What mainstream readers (Hyper-V, QEMU, VirtualBox, libvhdi, 7-Zip) accept.
    Compat,
}

impl Profile {
    /// Every profile, in documentation order.
    pub const ALL: [Profile; 2] = [Profile::Strict, Profile::Compat];

    /// Lower-case name (`strict`, `compat`).
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Strict => "strict",
            Profile::Compat => "compat",
        }
    }

    /// Parses a profile name; `None` for an unknown name.
    pub fn parse(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl PartialOrd for Profile {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Profile {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The structure family a rule belongs to (`docs/RULES.md` groups by it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Family {
    /// File size, alignment, truncation, where the footer sits.
    File,
    /// The hard disk footer (512 bytes at the end of the file).
    Footer,
    /// The footer copy at offset 0 of dynamic and differencing disks vs the trailing footer.
    FooterCopy,
    /// The dynamic disk header (1024 bytes at the footer's data offset).
    Header,
    /// The block allocation table.
    Bat,
    /// Per-block sector bitmaps and block data.
    Bitmap,
    /// The eight parent locator entries and their data.
    Locator,
    /// Differencing chain linkage (needs the parent files).
    Chain,
}

impl Family {
    /// Every family, in report order.
    pub const ALL: [Family; 8] = [
        Family::File,
        Family::Footer,
        Family::FooterCopy,
        Family::Header,
        Family::Bat,
        Family::Bitmap,
        Family::Locator,
        Family::Chain,
    ];

    /// Kebab-case name (`file`, `footer`, `footer-copy`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Family::File => "file",
            Family::Footer => "footer",
            Family::FooterCopy => "footer-copy",
            Family::Header => "header",
            Family::Bat => "bat",
            Family::Bitmap => "bitmap",
            Family::Locator => "locator",
            Family::Chain => "chain",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the catalogue.
#[derive(Debug, Serialize)]
pub struct Rule {
    /// Stable code, e.g. `FOOTER-CHECKSUM`.
    pub code: &'static str,
    /// Structure family.
    pub family: Family,
    /// Severity under [`Profile::Strict`].
    pub strict: Severity,
    /// Severity under [`Profile::Compat`].
    pub compat: Severity,
    /// One-line summary of the condition that triggers the rule.
    pub summary: &'static str,
    /// Spec section(s) it implements, e.g. `§Hard Disk Footer Format: Checksum`.
    pub spec: &'static str,
    /// Known implementations whose code rejects the condition.
    pub enforced_by: &'static str,
    /// Known implementations that accept the condition.
    pub tolerated_by: &'static str,
    /// The readers (or upload services) that refuse or misread an image with this condition:
    /// the reason a rule is graded warning or error. Every rule with a warning severity names at
    /// least one; infos usually name none.
    pub breaks: &'static [&'static str],
    /// Full explanation: why it matters, what readers do, how to fix it.
    pub detail: &'static str,
    /// Whether the bytes of an image (or chain) can trigger it; rules that need the environment
    /// (an unreadable file, a clock) are `false`. The generator's corpus must cover every `true`.
    pub byte_triggerable: bool,
}

impl Rule {
    /// Severity of this rule under `profile`.
    pub fn severity(&self, profile: Profile) -> Severity {
        match profile {
            Profile::Strict => self.strict,
            Profile::Compat => self.compat,
        }
    }
}

/// The whole catalogue, in code order within families.
pub fn catalogue() -> &'static [Rule] {
    catalogue::RULES
}

/// Looks a rule up by its code string (case-sensitive); `None` for an unknown code.
pub fn lookup(code: &str) -> Option<&'static Rule> {
    catalogue::RULES.iter().find(|r| r.code == code)
}

impl Code {
    /// The catalogue row for this code.
    pub fn rule(self) -> &'static Rule {
        // `Code` discriminants are the indices into `RULES` by construction of the macro.
        &catalogue::RULES[self as usize]
    }

    /// The stable code string.
    pub fn as_str(self) -> &'static str {
        self.rule().code
    }

    /// Parses a code string; `None` for an unknown code.
    pub fn parse(code: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == code)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serialized as the code string (`FOOTER-CHECKSUM`).
impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Parsed from the code string; a string that is not a code of the catalogue is an error
/// naming it.
impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Code, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Code::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rule code `{s}`: not in the rule catalogue")))
    }
}

/// The JSON Schema of a code: one of the catalogue's code strings.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Code {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Code".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        schemars::json_schema!({
            "description": "A rule code of the catalogue (docs/RULES.md).",
            "type": "string",
            "enum": codes,
        })
    }
}

/// Builds the `Code` enum and the `RULES` table from one list, so that the two cannot drift.
macro_rules! rules {
    ($( $variant:ident => {
        code: $code:literal,
        family: $family:ident,
        strict: $strict:ident,
        compat: $compat:ident,
        bytes: $bytes:literal,
        summary: $summary:literal,
        spec: $spec:literal,
        enforced_by: $enf:literal,
        tolerated_by: $tol:literal,
        breaks: [$($breaks:literal),* $(,)?],
        detail: $detail:literal $(,)?
    } ),* $(,)?) => {
        /// Stable rule codes; see the catalogue for each one's meaning.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(usize)]
        #[non_exhaustive]
        pub enum Code { $( #[doc = $summary] $variant ),* }

        impl Code {
            /// Every code, in catalogue order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant ),* ];
        }

        pub(super) static RULES: &[super::Rule] = &[ $( super::Rule {
            code: $code,
            family: super::Family::$family,
            strict: super::Severity::$strict,
            compat: super::Severity::$compat,
            summary: $summary,
            spec: $spec,
            enforced_by: $enf,
            tolerated_by: $tol,
            breaks: &[$($breaks),*],
            detail: $detail,
            byte_triggerable: $bytes,
        } ),* ];
    };
}
pub(crate) use rules;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_index_the_table() {
        for (i, c) in Code::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
            assert_eq!(lookup(c.as_str()).map(|r| r.code), Some(c.as_str()));
        }
    }

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for r in catalogue() {
            assert!(seen.insert(r.code), "duplicate code {}", r.code);
            assert!(
                r.code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'),
                "bad code {}",
                r.code
            );
            let prefix = r.code.split('-').next().unwrap_or("");
            let expected = match r.family {
                Family::File => "FILE",
                Family::Footer => "FOOTER",
                Family::FooterCopy => "FOOTER",
                Family::Header => "HEADER",
                Family::Bat => "BAT",
                Family::Bitmap => "BITMAP",
                Family::Locator => "LOCATOR",
                Family::Chain => "CHAIN",
            };
            assert_eq!(prefix, expected, "{} is in family {}", r.code, r.family);
            assert!(!r.summary.is_empty() && !r.spec.is_empty() && !r.detail.is_empty());
        }
        assert!(catalogue().len() >= 60, "only {} rules", catalogue().len());
    }

    #[test]
    fn every_family_has_rules() {
        for f in Family::ALL {
            assert!(catalogue().iter().any(|r| r.family == f), "no rule in {f}");
        }
    }

    #[test]
    fn every_warning_names_the_readers_it_breaks() {
        for r in catalogue() {
            if r.strict == Severity::Warning || r.compat == Severity::Warning {
                assert!(!r.breaks.is_empty(), "{} is a warning but names no reader it breaks", r.code);
            }
        }
    }

    #[test]
    fn every_detail_ends_with_its_grading() {
        for r in catalogue() {
            let Some((_, grading)) = r.detail.rsplit_once(" Grading: ") else {
                panic!("{}: the detail does not end with \"Grading: <reason>\"", r.code);
            };
            assert!(grading.ends_with('.') && grading.len() > 20, "{}: grading {grading:?}", r.code);
            assert!(
                grading.starts_with(r.strict.as_str()) || grading.starts_with(&format!("strict {}", r.strict)),
                "{}: grading {grading:?} does not start with its strict severity {}",
                r.code,
                r.strict
            );
        }
    }

    #[test]
    fn compat_is_never_stricter_than_strict() {
        for r in catalogue() {
            assert!(r.compat <= r.strict, "{} is stricter under compat", r.code);
        }
    }
}
