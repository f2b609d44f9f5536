//! Property tests over generated scenarios (`cargo test -p vhd-fuzz-harness --test
//! proptest_scenarios`, part of `cargo test --workspace`; they need the generator and the
//! validator together, so they live in the fuzz harness).
//!
//! Strategies: valid scenarios of every disk type (fixed, dynamic, differencing chains up to
//! depth 4 over a fixed or dynamic base) with random sizes, block sizes, block orders and
//! writes, whose implied findings are declared as `vhd-generate random` declares them; corrupt
//! scenarios drawn from the generator's recipes (one per byte-triggerable rule) with a random
//! seed. Both shrink: a failure is reported for a minimal scenario (smallest size, fewest writes,
//! shallowest chain, first recipe), which proptest records beside this file in
//! `proptest_scenarios.proptest-regressions` (commit it with the fix).
//!
//! Properties:
//! - a valid scenario yields no error finding, every finding it declares, and a virtual disk
//!   whose reader digest equals the model's;
//! - a corrupt scenario yields every rule code its mutations declare;
//! - the same scenario and seed give the same bytes, file for file;
//! - the verdict does not depend on the read size: each image's findings are the same through a
//!   source limited to 1..=4096-byte reads, and the reader's digest is the same for any chunk
//!   size.
//!
//! `PROPTEST_CASES=N` runs more cases than the default of each property.

use proptest::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;
use vhd_generator::plan;
use vhd_generator::random::implied_findings;
use vhd_generator::recipes;
use vhd_generator::scenario::{
    BlockOrder, Image, Kind, LayoutSpec, PartitionScheme, PartitionTable, Pattern, Repeat, Update, Write,
};
use vhd_generator::values::Size;
use vhd_generator::{generate_case, GenOptions, Scenario};
use vhd_validator::chain::ChainReader;
use vhd_validator::check::{check_image, check_path, CheckOptions};
use vhd_validator::io::{ChunkLimited, FileSource};
use vhd_validator::manifest::Case;
use vhd_validator::Severity;

/// "Now" of the check runs (generated time stamps are in the past).
const NOW_UNIX: i64 = 1_800_000_000;

fn opts() -> CheckOptions {
    CheckOptions::default().with_now(NOW_UNIX)
}

fn pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        (1u8..=255).prop_map(Pattern::Fill),
        any::<u64>().prop_map(Pattern::Counter),
        any::<u64>().prop_map(|s| Pattern::Random(Some(s))),
        (any::<bool>(), prop::option::of(0u64..4096), prop::option::of(1u64..8192)).prop_map(
            |(gpt, start, sectors)| {
                Pattern::PartitionTable(PartitionTable {
                    scheme: if gpt { PartitionScheme::Gpt } else { PartitionScheme::Mbr },
                    start,
                    sectors,
                })
            }
        ),
    ]
}

/// Up to 5 writes inside a disk of `sectors` sectors.
fn writes(sectors: u64) -> impl Strategy<Value = Vec<Write>> {
    prop::collection::vec((0..sectors, 1u64..=64, pattern(), 1u64..=4, 0u64..16), 0..=5).prop_map(move |ws| {
        ws.into_iter()
            .map(|(sector, count, pattern, copies, gap)| {
                let count = count.min(sectors - sector);
                // Cluster-like copies when they fit the disk.
                let stride = count + gap;
                let fits = (copies - 1) * stride + count <= sectors - sector;
                Write {
                    sector: Some(sector),
                    count: Some(count),
                    offset: None,
                    length: None,
                    pattern,
                    bitmap: Default::default(),
                    repeat: (copies > 1 && fits).then_some(Repeat { count: copies, stride }),
                }
            })
            .collect()
    })
}

fn block_order() -> impl Strategy<Value = BlockOrder> {
    prop_oneof![Just(BlockOrder::Ascending), Just(BlockOrder::Descending), Just(BlockOrder::Shuffle)]
}

fn image(kind: Kind, sectors: u64, block: u64, order: BlockOrder, writes: Vec<Write>) -> Image {
    Image {
        kind,
        size: Size(sectors * 512),
        block_size: (kind != Kind::Fixed).then_some(Size(block)),
        file: None,
        footer: Default::default(),
        header: Default::default(),
        // Block order applies to sparse disks only.
        layout: if kind == Kind::Fixed {
            LayoutSpec::default()
        } else {
            LayoutSpec { block_order: order, ..Default::default() }
        },
        locators: None,
        parent: None,
        writes,
        allocate: Vec::new(),
    }
}

/// A valid scenario: a base (fixed or dynamic) under 0..=4 differencing levels, all of one size.
fn valid_scenario() -> impl Strategy<Value = Scenario> {
    let shape = (
        prop_oneof![Just(Kind::Fixed), Just(Kind::Dynamic)],
        0usize..=4,
        1u64..=8192,
        prop_oneof![Just(4096u64), Just(64 << 10), Just(512 << 10), Just(2 << 20)],
        any::<u64>(),
    );
    shape.prop_flat_map(|(base, depth, sectors, block, seed)| {
        let levels = prop::collection::vec((writes(sectors), block_order()), depth + 1);
        // A template update of a differencing top: the parent's new version.
        let update = prop::option::of(writes(sectors));
        (levels, update).prop_map(move |(levels, update)| {
            let mut chain: Option<Image> = None;
            for (i, (ws, order)) in levels.into_iter().enumerate() {
                let kind = if i == 0 { base } else { Kind::Differencing };
                let mut img = image(kind, sectors, block, order, ws);
                img.parent = chain.take().map(Box::new);
                chain = Some(img);
            }
            let mut s = Scenario {
                id: None,
                description: "proptest valid scenario".into(),
                spec: String::new(),
                tags: Vec::new(),
                seed,
                expect_findings: Vec::new(),
                check: None,
                exposes: Vec::new(),
                reference_reading: false,
                image: chain.expect("at least one level"),
                mutations: Vec::new(),
                update: update.filter(|_| depth > 0).map(|writes| Update { writes, ..Default::default() }),
            };
            if let Ok(plans) = plan::plan_chain(&s, seed) {
                s.expect_findings = implied_findings(&s, &plans);
            }
            s
        })
    })
}

/// A corrupt scenario: recipe `index` of the generator with seed `seed`.
fn corrupt_scenario() -> impl Strategy<Value = (String, Scenario)> {
    let count = recipes::all().len();
    (0..count, any::<u64>()).prop_filter_map("recipe without a scenario", |(i, seed)| {
        let recipe = recipes::all().into_iter().nth(i)?;
        let mut s = recipe.scenario().ok()?;
        s.seed = seed;
        Some((recipe.code.to_string(), s))
    })
}

/// Generates `s` into `dir`; the case and the main image's path.
fn generate(s: &Scenario, dir: &Path) -> (Case, std::path::PathBuf) {
    let case = generate_case(s, "prop/case", None, dir, "", &[], &GenOptions::default())
        .unwrap_or_else(|e| panic!("the generator refused the scenario: {e}"));
    let main = dir.join(&case.image);
    (case, main)
}

/// Check options for `case`: [`opts`] with the depth limit the case records.
fn case_opts(case: &Case) -> CheckOptions {
    let mut o = opts();
    if let Some(d) = case.check.as_ref().and_then(|c| c.max_depth) {
        o.max_depth = d;
    }
    o
}

fn found_codes(case: &Case, main: &Path) -> (BTreeSet<String>, Vec<String>) {
    let report = check_path(main, &case_opts(case)).expect("check the main image");
    let codes = report.findings().map(|f| f.code.as_str().to_string()).collect();
    let errors = report.findings().filter(|f| f.severity == Severity::Error).map(ToString::to_string).collect();
    (codes, errors)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn valid_scenarios_pass_and_read_as_modelled(s in valid_scenario()) {
        let dir = tempfile::tempdir().unwrap();
        let (case, main) = generate(&s, dir.path());
        let (codes, errors) = found_codes(&case, &main);
        prop_assert!(errors.is_empty(), "error findings: {errors:#?}");
        for c in &case.expected_codes {
            prop_assert!(codes.contains(c.as_str()), "declared finding {c} not found (found {codes:?})");
        }
        let reader = ChainReader::open(&main, &opts()).expect("the reader opens a valid chain");
        prop_assert_eq!(reader.size(), case.virtual_size);
        let claimed = case.virtual_disk_sha256.clone().expect("a valid case states its digest");
        prop_assert_eq!(vhd_validator::hex::encode(&reader.digest().unwrap()), claimed);
    }

    #[test]
    fn corrupt_scenarios_yield_their_codes((recipe, s) in corrupt_scenario()) {
        let dir = tempfile::tempdir().unwrap();
        let (case, main) = generate(&s, dir.path());
        let report = check_path(&main, &case_opts(&case));
        // A mutation may delete or rename the main image itself; then there is nothing to check.
        if let Ok(report) = report {
            let codes: BTreeSet<&str> = report.findings().map(|f| f.code.as_str()).collect();
            for c in &case.expected_codes {
                prop_assert!(codes.contains(c.as_str()), "recipe {recipe}: declared {c} not found (found {codes:?})");
            }
        }
    }

    #[test]
    fn same_seed_same_bytes(s in valid_scenario()) {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (ca, _) = generate(&s, a.path());
        let (cb, _) = generate(&s, b.path());
        prop_assert_eq!(&ca.files, &cb.files);
        for f in &ca.files {
            let x = std::fs::read(a.path().join(&f.path)).unwrap();
            let y = std::fs::read(b.path().join(&f.path)).unwrap();
            prop_assert!(x == y, "{} differs between two generations", f.path);
        }
    }

    #[test]
    fn verdict_and_bytes_do_not_depend_on_read_size(s in valid_scenario(), chunk in 1usize..=4096) {
        let dir = tempfile::tempdir().unwrap();
        let (case, main) = generate(&s, dir.path());
        for name in &case.chain {
            let path = dir.path().join(name);
            let whole = check_image(&FileSource::open(&path).unwrap(), name, &opts());
            let limited = check_image(&ChunkLimited::new(FileSource::open(&path).unwrap(), chunk), name, &opts());
            prop_assert_eq!(&whole.findings, &limited.findings, "{} with {}-byte reads", name, chunk);
        }
        let a = ChainReader::open(&main, &opts()).unwrap();
        let b = ChainReader::open(&main, &opts()).unwrap().with_chunk_size(chunk.max(512) * 3 + 1);
        prop_assert_eq!(a.digest().unwrap(), b.digest().unwrap());
    }
}
