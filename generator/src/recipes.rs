//! Recipes: one small scenario per rule of the catalogue that bytes can trigger, each
//! declaring the codes it yields. They prove that the mutations (and layout options) reach
//! every `byte_triggerable` rule, serve as copyable examples for corpus authors, and are the
//! corrupt cases `vhd-generate random` draws from.
//!
//! The recipes are data: the table `specs/recipes.yaml` ([`TABLE_FILE`]), embedded at build
//! time with the corpus scenarios it names. An entry is either a corpus case at full size
//! (`from`: its file under `specs/`; `patch`: a JSON Merge Patch, RFC 7396, applied to the
//! case's scenario) or a `scenario` of its own. Either way the result is parsed as a
//! [`Scenario`], so it is checked as every scenario is (unknown keys refused).

use crate::scenario::{Kind, Scenario};
use crate::yaml::{self, YamlError};
use serde::Deserialize;
use std::sync::OnceLock;
use vhd_validator::rules::{self, Code};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/recipes.rs"));
}

/// File name of the recipe table at the top of the scenario directory (`specs/`). Corpus
/// generation skips it: it is not a case.
pub const TABLE_FILE: &str = "recipes.yaml";

/// One entry of the table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    code: String,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    patch: Option<serde_json::Value>,
    #[serde(default)]
    scenario: Option<Scenario>,
}

/// One recipe: the rule it targets and its scenario.
#[derive(Clone, Debug)]
pub struct Recipe {
    /// The rule the recipe triggers.
    pub code: &'static str,
    /// The corpus case the recipe is made from (its file under `specs/`), if any.
    pub from: Option<&'static str>,
    scenario: Result<Scenario, YamlError>,
}

impl Recipe {
    /// The parsed scenario with `id` `recipes/<code in lower case>` and the rule's spec
    /// reference.
    ///
    /// # Errors
    /// A YAML error: the `from` case does not parse, or the patched scenario is not a
    /// scenario (a bug in the table; a test builds every recipe).
    pub fn scenario(&self) -> Result<Scenario, YamlError> {
        let mut s = self.scenario.clone()?;
        s.id = Some(self.id());
        if let Some(r) = rules::lookup(self.code) {
            s.spec = r.spec.to_string();
        }
        Ok(s)
    }

    /// `recipes/<code in lower case>`.
    pub fn id(&self) -> String {
        format!("recipes/{}", self.code.to_ascii_lowercase())
    }

    /// The disk type of the recipe's main image, when it parses.
    pub fn kind(&self) -> Option<Kind> {
        self.scenario.as_ref().ok().map(|s| s.image.kind)
    }
}

fn table_error(message: String) -> YamlError {
    YamlError { file: format!("specs/{TABLE_FILE}"), line: 0, column: 0, message, snippet: String::new() }
}

/// RFC 7396: `patch` merged into `target`.
fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let serde_json::Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(serde_json::Map::new());
    }
    if let serde_json::Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
    }
}

/// The scenario of one entry.
fn build(e: &Entry, from: Option<&(&'static str, &'static str)>) -> Result<Scenario, YamlError> {
    let at = |m: String| table_error(format!("recipe {}: {m}", e.code));
    let base = match (&e.scenario, from) {
        (Some(s), None) => s.clone(),
        (None, Some((path, text))) => yaml::parse_scenario(text, &format!("specs/{path}"))?,
        _ => return Err(at("give either `from` or `scenario`".into())),
    };
    let Some(patch) = &e.patch else { return Ok(base) };
    let mut v = serde_json::to_value(&base).map_err(|m| at(m.to_string()))?;
    merge_patch(&mut v, patch);
    serde_json::from_value(v).map_err(|m| at(format!("the patched scenario: {m}")))
}

/// Parses the embedded table.
fn load() -> Result<Vec<Recipe>, YamlError> {
    let entries: Vec<Entry> = yaml::parse(embedded::TABLE, &format!("specs/{TABLE_FILE}"))?;
    let mut out = Vec::with_capacity(entries.len());
    for e in &entries {
        let code =
            rules::lookup(&e.code).map(|r| r.code).ok_or_else(|| table_error(format!("{} is not a code", e.code)))?;
        if out.iter().any(|r: &Recipe| r.code == code) {
            return Err(table_error(format!("{code} has two recipes")));
        }
        let from = match &e.from {
            Some(f) => Some(
                embedded::SOURCES
                    .iter()
                    .find(|(p, _)| p == f)
                    .ok_or_else(|| table_error(format!("recipe {code}: no scenario specs/{f}")))?,
            ),
            None => None,
        };
        out.push(Recipe { code, from: from.map(|(p, _)| *p), scenario: build(e, from) });
    }
    Ok(out)
}

/// The recipe table, parsed once.
///
/// # Errors
/// A [`YamlError`] when the table does not parse, names an unknown code twice or at all, or a
/// `from` file that does not exist (a bug in the table; a test loads it).
pub fn table() -> Result<&'static [Recipe], &'static YamlError> {
    static TABLE: OnceLock<Result<Vec<Recipe>, YamlError>> = OnceLock::new();
    TABLE.get_or_init(load).as_deref()
}

/// Every recipe, in the order of the table (none if the table does not parse: see [`table`]).
pub fn all() -> Vec<Recipe> {
    table().map(<[Recipe]>::to_vec).unwrap_or_default()
}

/// The recipe for `code`, if there is one.
pub fn for_code(code: Code) -> Option<Recipe> {
    table().ok()?.iter().find(|r| r.code == code.as_str()).cloned()
}

/// Byte-triggerable rules of the catalogue that no recipe targets.
pub fn uncovered() -> Vec<&'static str> {
    let have = table().unwrap_or_default();
    rules::catalogue()
        .iter()
        .filter(|r| r.byte_triggerable && !have.iter().any(|h| h.code == r.code))
        .map(|r| r.code)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::merge_patch;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut v = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        merge_patch(&mut v, &json!({"a": "z", "c": {"f": null, "h": 1}, "l": [3]}));
        assert_eq!(v, json!({"a": "z", "c": {"d": "e", "h": 1}, "l": [3]}));
        let mut s = json!("x");
        merge_patch(&mut s, &json!({"k": {"n": null, "m": 2}}));
        assert_eq!(s, json!({"k": {"m": 2}}));
    }
}
