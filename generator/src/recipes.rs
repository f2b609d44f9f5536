//! Recipes: one small scenario per rule of the catalogue that bytes can trigger, each
//! declaring the codes it yields. They prove that the mutations (and layout options) reach
//! every `byte_triggerable` rule, serve as copyable examples for corpus authors, and are the
//! corrupt cases `vhd-generate random` draws from.

use crate::scenario::{Kind, Scenario};
use crate::yaml;
use vhd_validator::rules::{self, Code};

#[path = "recipes_table.rs"]
mod table;

/// One recipe: the rule it targets and its scenario YAML.
#[derive(Clone, Copy, Debug)]
pub struct Recipe {
    /// The rule the recipe triggers.
    pub code: &'static str,
    /// The scenario (without `id` and `spec`, which [`Recipe::scenario`] fills in).
    pub yaml: &'static str,
}

impl Recipe {
    /// The parsed scenario with `id` `recipes/<code in lower case>` and the rule's spec
    /// reference.
    ///
    /// # Errors
    /// A YAML error (a bug in the table; a test parses every recipe).
    pub fn scenario(&self) -> Result<Scenario, yaml::YamlError> {
        let mut s = yaml::parse_scenario(self.yaml, &format!("recipe {}", self.code))?;
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
        self.scenario().ok().map(|s| s.image.kind)
    }
}

/// Every recipe, in catalogue order of the code they target.
pub fn all() -> Vec<Recipe> {
    table::RECIPES.iter().map(|&(code, yaml)| Recipe { code, yaml }).collect()
}

/// The recipe for `code`, if there is one.
pub fn for_code(code: Code) -> Option<Recipe> {
    all().into_iter().find(|r| r.code == code.as_str())
}

/// Byte-triggerable rules of the catalogue that no recipe targets.
pub fn uncovered() -> Vec<&'static str> {
    let have: Vec<&str> = table::RECIPES.iter().map(|&(c, _)| c).collect();
    rules::catalogue().iter().filter(|r| r.byte_triggerable && !have.contains(&r.code)).map(|r| r.code).collect()
}
