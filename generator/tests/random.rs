//! Random scenarios: valid and corrupt cases verify against the validator and the reference
//! reader, and each saved scenario.yaml regenerates its case byte for byte.

use vhd_generator::corpus::{collect_inputs, generate_inputs};
use vhd_generator::random::generate_random;
use vhd_generator::GenOptions;
use vhd_validator::check::CheckOptions;
use vhd_validator::manifest::verify_corpus;

#[test]
fn random_cases_verify() {
    let dir = tempfile::tempdir().unwrap();
    let m = generate_random(40, 11, 0.4, dir.path(), false).unwrap();
    assert_eq!(m.cases.len(), 40);
    assert!(m.cases.iter().any(|c| c.tags.iter().any(|t| t == "corrupt")));
    assert!(m.cases.iter().any(|c| c.tags.iter().any(|t| t == "differencing")));
    let summary = verify_corpus(dir.path(), &CheckOptions::default());
    assert!(summary.passed(), "{summary}");
}

#[test]
fn saved_scenarios_reproduce_alone() {
    let dir = tempfile::tempdir().unwrap();
    generate_random(6, 5, 0.5, dir.path(), false).unwrap();
    for i in 0..6 {
        let case = dir.path().join(format!("random/{i:04}"));
        let again = tempfile::tempdir().unwrap();
        let inputs = collect_inputs(&[case.join("scenario.yaml")]).unwrap();
        generate_inputs(&inputs, again.path(), &GenOptions::default()).unwrap();
        for name in ["disk.vhd", "parent1.vhd", "parent2.vhd"] {
            let a = case.join(name);
            if a.exists() {
                let b = again.path().join("scenario").join(name);
                assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "{}", a.display());
            }
        }
    }
}
