//! The committed conformance results (docs/conformance/) against the current corpus and expect
//! files, without running any implementation: the JSON documents parse and have the current
//! format version; the reader results cover exactly the cases of corpus/generated/manifest.json,
//! each with what the manifest asks of it now (requirement, size, SHA-256, rule codes, group);
//! every status follows from its outcome and the committed expect file, no result fails the run,
//! and the summaries and the Markdown tables say what the results say. A corpus or expect-file
//! change that makes the committed results stale fails here: run the oracles again
//! (docs/conformance/README.md) and commit their results.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use vhd_conform::writer::WriterOutcome;
use vhd_conform::{case_group, ExpectFile, Judging, Outcome, Requirement, Status};
use vhd_validator::manifest::Manifest;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load_json(rel: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn array(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))
}

/// Checks each result's status against the expect file (and that none makes the run fail),
/// the implementation's summary against its results, and its unused expect entries; returns
/// the implementations' names. `id` is the results' key of the case id.
fn check_statuses(
    doc: &Value,
    expect: &ExpectFile,
    id: &str,
    failing: &[&str],
    outcomes: &[&'static str],
) -> Vec<String> {
    let mut names = Vec::new();
    for imp in array(&doc["implementations"]) {
        let name = text(&imp["name"]);
        names.push(name.to_string());
        let mut used = BTreeSet::new();
        let mut tally: BTreeMap<&str, usize> = outcomes.iter().map(|o| (*o, 0)).collect();
        let mut statuses: BTreeMap<&str, usize> = BTreeMap::new();
        for r in array(&imp["results"]) {
            let case = text(&r[id]);
            let outcome = text(&r["outcome"]);
            assert!(outcomes.contains(&outcome), "{name} {case}: unknown outcome {outcome}");
            let entry = expect.lookup(name, case);
            if let Some((i, _)) = entry {
                used.insert(i);
            }
            let status = Status::of(failing.contains(&outcome), outcome == "skipped", outcome, entry.map(|(_, e)| e));
            assert_eq!(
                text(&r["status"]),
                status.as_str(),
                "{name} {case}: the committed status disagrees with {} (outcome {outcome})",
                expect.path.display()
            );
            assert!(!status.is_bad(), "{name} {case}: the committed results fail the run ({status})");
            assert_eq!(r["expect"].is_object(), entry.is_some(), "{name} {case}: expect note");
            *tally.entry(outcome).or_insert(0) += 1;
            *statuses.entry(status.as_str()).or_insert(0) += 1;
        }
        let summary = &imp["summary"];
        assert_eq!(summary["cases"], array(&imp["results"]).len(), "{name}: summary.cases");
        for (o, n) in &tally {
            assert_eq!(summary["outcomes"][*o], *n, "{name}: summary of outcome {o}");
        }
        for (s, n) in &statuses {
            assert_eq!(summary["statuses"][*s], *n, "{name}: summary of status {s}");
        }
        let unused = vhd_conform::unused(Some(expect), name, &used);
        let recorded: Vec<&str> = array(&imp["unused_expectations"]).iter().map(text).collect();
        assert_eq!(recorded, unused, "{name}: unused expect entries");
    }
    names
}

/// The "Results" cell of an implementation: its outcome counts in report order, then the
/// expected failures.
fn results_cell(imp: &Value, outcomes: &[&'static str]) -> String {
    let counts: Vec<String> = outcomes
        .iter()
        .filter_map(|o| {
            let n = imp["summary"]["outcomes"][*o].as_u64().unwrap_or(0);
            (n > 0).then(|| format!("{n} {o}"))
        })
        .collect();
    let expected = imp["summary"]["statuses"]["expected-failure"].as_u64().unwrap_or(0);
    let mut cell = counts.join(", ");
    if expected > 0 {
        cell.push_str(&format!(" ({expected} expected failures)"));
    }
    cell
}

/// Checks the summary table of a Markdown report: one row per implementation with its version,
/// command and counts.
fn check_summary_rows(doc: &Value, md_rel: &str, outcomes: &[&'static str]) {
    let md = std::fs::read_to_string(repo().join(md_rel)).unwrap_or_else(|e| panic!("{md_rel}: {e}"));
    for imp in array(&doc["implementations"]) {
        let name = text(&imp["name"]);
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| {name} | ")))
            .unwrap_or_else(|| panic!("{md_rel} has no summary row for {name}"));
        assert!(row.contains(&format!("| {} |", text(&imp["version"]))), "{name}: version in {row}");
        assert!(row.contains(&format!("`{}`", text(&imp["command"]))), "{name}: command in {row}");
        assert!(row.ends_with(&format!("| {} |", results_cell(imp, outcomes))), "{name}: results in {row}");
    }
}

#[test]
fn reader_results_match_the_corpus_and_the_expect_file() {
    let doc = load_json("docs/conformance/readers.json");
    assert_eq!(doc["format_version"], vhd_conform::FORMAT_VERSION);
    assert_eq!(doc["kind"], "reader");
    let corpus_dir = text(&doc["corpus"]["dir"]);
    assert_eq!(corpus_dir, "corpus/generated");
    let manifest = Manifest::load(&repo().join(corpus_dir)).expect("the corpus manifest loads");
    assert_eq!(doc["corpus"]["cases"], manifest.cases.len(), "readers.json was made on another corpus");
    assert_eq!(doc["corpus"]["selected"], manifest.cases.len(), "readers.json covers part of the corpus");
    assert_eq!(doc["judging"], "either");
    let judging = Judging::Either;

    let expect_rel = text(&doc["expect_file"]);
    assert_eq!(expect_rel, "docs/conformance/readers.expect");
    let expect = ExpectFile::load(&repo().join(expect_rel), &Outcome::FAILING).expect("readers.expect parses");
    let all: Vec<&'static str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
    let names = check_statuses(&doc, &expect, "case", &Outcome::FAILING, &all);
    assert_eq!(names, ["qemu-img", "libvhdi", "7zip"]);

    let by_id: BTreeMap<&str, _> = manifest.cases.iter().map(|c| (c.id.as_str(), c)).collect();
    for imp in array(&doc["implementations"]) {
        let name = text(&imp["name"]);
        let ids: BTreeSet<&str> = array(&imp["results"]).iter().map(|r| text(&r["case"])).collect();
        let want: BTreeSet<&str> = by_id.keys().copied().collect();
        let stale: Vec<_> = ids.symmetric_difference(&want).collect();
        assert!(stale.is_empty(), "{name}: case ids differ from the corpus manifest: {stale:?}");
        for r in array(&imp["results"]) {
            let id = text(&r["case"]);
            let case = by_id[id];
            let requirement = Requirement::of(case, judging);
            assert_eq!(r["requirement"], requirement.as_str(), "{name} {id}: requirement");
            assert_eq!(r["expected_size"], case.virtual_size, "{name} {id}: virtual size");
            let sha =
                if requirement == Requirement::Reject { &case.reference_sha256 } else { &case.virtual_disk_sha256 };
            assert_eq!(r["expected_sha256"].as_str(), sha.as_deref(), "{name} {id}: virtual disk SHA-256");
            assert_eq!(r["codes"], serde_json::to_value(&case.expected_codes).unwrap(), "{name} {id}: rule codes");
            assert_eq!(r["tags"], serde_json::to_value(&case.tags).unwrap(), "{name} {id}: tags");
            assert_eq!(r["group"], case_group(case), "{name} {id}: group");
        }
    }

    // The Markdown report: one summary row per implementation and one row per case.
    check_summary_rows(&doc, "docs/conformance/readers.md", &all);
    let md = std::fs::read_to_string(repo().join("docs/conformance/readers.md")).expect("readers.md");
    for case in &manifest.cases {
        let requirement = Requirement::of(case, judging);
        let prefix = format!("| `{}` | ", case.id);
        let row = md.lines().find(|l| l.starts_with(&prefix));
        let row = row.unwrap_or_else(|| panic!("readers.md has no row for {}", case.id));
        assert!(row.contains(&format!(" | {} | ", requirement.as_str())), "{}: requirement in {row}", case.id);
    }
}

#[test]
fn writer_results_match_the_expect_file() {
    let doc = load_json("docs/conformance/writers.json");
    assert_eq!(doc["format_version"], vhd_conform::FORMAT_VERSION);
    assert_eq!(doc["kind"], "writer");
    let expect_rel = text(&doc["expect_file"]);
    assert_eq!(expect_rel, "docs/conformance/writers.expect");
    let expect = ExpectFile::load(&repo().join(expect_rel), &WriterOutcome::FAILING).expect("writers.expect parses");
    let all: Vec<&'static str> = WriterOutcome::ALL.iter().map(|o| o.as_str()).collect();
    let names = check_statuses(&doc, &expect, "id", &WriterOutcome::FAILING, &all);
    assert_eq!(names, ["qemu-img", "qemu-img-force-size"]);
    check_summary_rows(&doc, "docs/conformance/writers.md", &all);
}
