//! The explorer finds and shrinks a planted fault: a toy reader that ignores sector bitmaps
//! (`tests/data/toy_reader_ignores_bitmaps.py`) misreads differencing disks whose blocks are
//! partly present, and the reproducer comes back small.

use std::sync::atomic::AtomicBool;
use vhd_conform::{Adapter, Outcome};
use vhd_generator::explore::{self, Budget, ExploreOptions, Quiet};
use vhd_generator::plan;
use vhd_generator::scenario::Kind;

fn toy() -> Adapter {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/toy_reader_ignores_bitmaps.py");
    Adapter::from_template("toy", &format!("python3 {script} {{image}} {{out}}")).unwrap()
}

#[test]
fn finds_and_shrinks_a_reader_that_ignores_bitmaps() {
    let mut opts = ExploreOptions::new(vec![toy()]);
    opts.seed = 7;
    // Draw 0 of seed 7 is a differencing chain with a partly present block.
    opts.budget = Budget::Cases(1);
    opts.valid_only = true;
    let out = tempfile::tempdir().unwrap();
    let e = explore::explore(&opts, Some(out.path()), &AtomicBool::new(false), &mut Quiet).unwrap();
    let f = e
        .faults
        .iter()
        .find(|f| f.outcome == Outcome::WrongBytes)
        .unwrap_or_else(|| panic!("no misread found in {} draws: {:?}", e.draws, e.faults));
    // The bug needs a differencing disk over a parent with data and a partly present block.
    let s = &f.scenario;
    let chain = plan::chain_of(s);
    assert_eq!(s.image.kind, Kind::Differencing);
    assert_eq!(chain.len(), 2, "one parent level is enough: {s:?}");
    let writes: usize = chain.iter().map(|i| i.writes.len()).sum();
    assert!(writes <= 2, "at most a write per level: {s:?}");
    assert!(s.mutations.is_empty());
    assert!(s.image.size.0 <= 64 << 10, "a small disk: {}", s.image.size.0);
    assert!(f.features.contains(&"partial-bitmap".to_string()), "{:?}", f.features);
    assert!(!f.shrink_steps.is_empty());
    // The folder replays: its manifest and images, its scenario, and the explanation.
    let dir = out.path().join(&f.id);
    for name in ["scenario.yaml", "explanation.md", "result.json", "case/manifest.json"] {
        assert!(dir.join(name).is_file(), "{name} missing in {}", dir.display());
    }
    assert!(out.path().join("summary.json").is_file() && out.path().join("summary.md").is_file());
    // Deterministic for the seed: the same draw is the same scenario.
    assert_eq!(explore::draw(7, 0, true), explore::draw(7, 0, true));
    assert_ne!(explore::draw(7, 0, true), explore::draw(8, 0, true));
}

#[test]
fn a_stop_request_ends_the_run_at_once() {
    let mut opts = ExploreOptions::new(vec![toy()]);
    opts.budget = Budget::Cases(1000);
    let e = explore::explore(&opts, None, &AtomicBool::new(true), &mut Quiet).unwrap();
    assert_eq!(e.draws, 0);
    assert!(e.interrupted);
}
