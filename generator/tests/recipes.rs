//! Every recipe yields the codes it declares and the verdicts they imply, as the validator
//! (vhd_validator::check::check_path) and the manifest verification (verify_corpus) judge it.

use std::path::Path;
use vhd_generator::case::{generate_case, GenOptions};
use vhd_generator::corpus::write_manifest;
use vhd_generator::recipes;
use vhd_generator::yaml::load_scenario;
use vhd_generator::Scenario;
use vhd_validator::check::CheckOptions;
use vhd_validator::manifest::{verify_corpus, Manifest};
use vhd_validator::rules;

#[test]
fn every_byte_triggerable_rule_has_a_recipe() {
    if let Err(e) = recipes::table() {
        panic!("{e}\n{}", e.snippet);
    }
    assert_eq!(recipes::uncovered(), Vec::<&str>::new());
    for r in recipes::all() {
        let rule = rules::lookup(r.code).unwrap_or_else(|| panic!("{} is not a code", r.code));
        assert!(rule.byte_triggerable, "{} is not byte-triggerable", r.code);
        let s = r.scenario().unwrap_or_else(|e| panic!("{e}\n{}", e.snippet));
        assert!(declares(&s, r.code), "recipe {} does not declare its own code", r.code);
        if let Some(from) = r.from {
            // The corpus case a recipe is made from targets the same rule.
            let case = load_scenario(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs").join(from)).unwrap();
            assert!(declares(&case, r.code), "specs/{from} does not declare {}", r.code);
        }
    }
}

fn declares(s: &Scenario, code: &str) -> bool {
    s.expect_findings.iter().chain(s.mutations.iter().flat_map(|m| m.expect.iter())).any(|c| c.as_str() == code)
}

#[test]
fn every_recipe_yields_its_declared_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = Manifest::new("test");
    for r in recipes::all() {
        let s = r.scenario().unwrap();
        let id = r.id();
        let case = generate_case(&s, &id, None, &dir.path().join(&id), &id, &[], &GenOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", r.code));
        m.cases.push(case);
    }
    write_manifest(dir.path(), &m, false).unwrap();
    let summary = verify_corpus(dir.path(), &CheckOptions::default());
    println!("{summary}");
    for c in &summary.cases {
        if !c.passed() || !c.extra_codes.is_empty() {
            println!("{c}");
        }
    }
    assert!(summary.passed(), "{summary}");
}
