//! Random scenarios (`vhd-generate random`): valid images of every disk type with random sizes,
//! block sizes, writes and layout options (chains up to depth 4), and corrupt ones drawn from
//! the [`crate::recipes`] with a fresh seed.
//!
//! A random valid scenario declares the findings its own choices imply (`expect_findings`),
//! worked out from the laid-out plan, not guessed: a block order that is not increasing in the
//! file gives BAT-ORDER, blocks off one grid BAT-BLOCK-UNALIGNED-GRID, a size that is not a whole
//! MiB FOOTER-SIZE-MIB-ALIGN, a block size other than 512 KiB and 2 MiB
//! HEADER-BLOCK-SIZE-UNUSUAL, a child block size other than its parent's
//! CHAIN-BLOCK-SIZE-MISMATCH, padding before a sparse image's footer FILE-GAP-BEFORE-FOOTER.

use crate::case::{generate_case, GenOptions};
use crate::corpus::{generator_name, write_manifest};
use crate::error::GenError;
use crate::pattern::{self, Purpose};
use crate::plan::{self, ImagePlan};
use crate::recipes;
use crate::scenario::{
    BitmapMode, BlockOrder, Image, Kind, LayoutSpec, LocatorCode, LocatorSpec, Pattern, Scenario, Write,
};
use crate::values::Size;
use crate::yaml;
use rand::{Rng, RngExt};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use vhd_validator::manifest::Manifest;
use vhd_validator::rules::Code;

fn pick<T: Copy>(r: &mut ChaCha8Rng, items: &[T]) -> Option<T> {
    if items.is_empty() {
        return None;
    }
    items.get(r.random_range(0..items.len())).copied()
}

fn chance(r: &mut ChaCha8Rng, percent: u32) -> bool {
    r.random_range(0..100u32) < percent
}

const MIB: u64 = 1 << 20;

fn random_size(r: &mut ChaCha8Rng) -> u64 {
    if chance(r, 25) {
        // Odd sizes: whole sectors, not whole MiB.
        r.random_range(1..16u64) * MIB / 2 + r.random_range(1..64u64) * 512
    } else {
        pick(r, &[MIB, 2 * MIB, 3 * MIB, 4 * MIB, 8 * MIB, 10 * MIB, 16 * MIB]).unwrap_or(MIB)
    }
}

fn random_block_size(r: &mut ChaCha8Rng) -> u64 {
    if chance(r, 80) {
        pick(r, &[512 << 10, 2 * MIB]).unwrap_or(2 * MIB)
    } else {
        pick(r, &[4 << 10, 64 << 10, 256 << 10, MIB, 4 * MIB]).unwrap_or(MIB)
    }
}

fn random_writes(r: &mut ChaCha8Rng, size: u64, sparse: bool) -> Vec<Write> {
    let sectors = size / 512;
    if sectors == 0 {
        return Vec::new();
    }
    let n = r.random_range(0..6usize);
    let mut v = Vec::new();
    for _ in 0..n {
        let start = r.random_range(0..sectors);
        let max = (sectors - start).min(if chance(r, 20) { sectors } else { 4096 });
        let count = r.random_range(1..=max);
        let pattern = match r.random_range(0..4u32) {
            0 => Pattern::Fill(r.random_range(1..=255u8)),
            1 => Pattern::Counter(r.random_range(0..1_000_000u64)),
            2 => Pattern::Random(None),
            _ => Pattern::Zero,
        };
        let bitmap = if sparse && chance(r, 20) { BitmapMode::Block } else { BitmapMode::Written };
        v.push(Write {
            sector: Some(start),
            count: Some(count),
            offset: None,
            length: None,
            pattern,
            bitmap,
            repeat: None,
        });
    }
    v
}

fn random_layout(r: &mut ChaCha8Rng, kind: Kind) -> LayoutSpec {
    let mut l = LayoutSpec::default();
    if kind.is_sparse() {
        if chance(r, 20) {
            l.block_order = pick(r, &[1u8, 2]).map_or(BlockOrder::Ascending, |k| {
                if k == 1 {
                    BlockOrder::Descending
                } else {
                    BlockOrder::Shuffle
                }
            });
        }
        if chance(r, 10) {
            l.gap_between_blocks = Some(Size(512 * r.random_range(1..9u64)));
        }
        if chance(r, 10) {
            l.gap_after_metadata = Some(Size(4096));
        }
        if chance(r, 10) {
            l.data_alignment = Some(Size(4096));
        }
        if chance(r, 20) {
            l.bat_padding = Some(0);
        }
        if kind == Kind::Differencing && chance(r, 20) {
            l.locators_before_bat = true;
        }
    }
    if chance(r, 5) && kind.is_sparse() {
        l.padding_before_footer = Some(Size(512 * r.random_range(1..9u64)));
    }
    l
}

fn random_image(r: &mut ChaCha8Rng, kind: Kind, size: u64) -> Image {
    Image {
        kind,
        size: Size(size),
        block_size: kind.is_sparse().then(|| Size(random_block_size(r))),
        file: None,
        footer: Default::default(),
        header: Default::default(),
        layout: random_layout(r, kind),
        locators: None,
        parent: None,
        writes: random_writes(r, size, kind.is_sparse()),
        allocate: Vec::new(),
    }
}

/// The findings a valid scenario's layout implies (see the module docs), from its plan.
pub fn implied_findings(s: &Scenario, plans: &[ImagePlan]) -> Vec<Code> {
    let mut f = Vec::new();
    let chain = plan::chain_of(s);
    for (i, img) in chain.iter().enumerate() {
        if img.size.0 % MIB != 0 {
            f.push(Code::FooterSizeMibAlign);
        }
        let bs = img.block_size.map_or(plan::DEFAULT_BLOCK_SIZE, |b| b.0);
        if img.kind.is_sparse() {
            if bs != 512 << 10 && bs != 2 * MIB {
                f.push(Code::HeaderBlockSizeUnusual);
            }
            if img.layout.padding_before_footer.is_some_and(|p| p.0 > 0) {
                f.push(Code::FileGapBeforeFooter);
            }
            if let Some(parent) = chain.get(i + 1).filter(|p| p.kind.is_sparse() && img.kind == Kind::Differencing) {
                if parent.block_size.map_or(plan::DEFAULT_BLOCK_SIZE, |b| b.0) != bs {
                    f.push(Code::ChainBlockSizeMismatch);
                }
            }
        }
    }
    for p in plans {
        let Some(sp) = &p.sparse else { continue };
        let offs: Vec<u64> = sp.blocks.values().copied().collect();
        if offs.windows(2).any(|w| w.first() > w.get(1)) {
            f.push(Code::BatOrder);
        }
        if let Some(&first) = offs.iter().min() {
            let span = sp.geom.span_bytes();
            if offs.iter().any(|&o| (o - first) % span != 0) {
                f.push(Code::BatBlockUnalignedGrid);
            }
        }
    }
    // Alphabetical, as scenarios written by hand list them.
    f.sort_unstable_by_key(|c| c.as_str());
    f.dedup();
    f
}

/// A random valid scenario (chains up to depth 4) with its implied findings declared.
pub fn random_valid(r: &mut ChaCha8Rng, seed: u64) -> Scenario {
    let kind = pick(r, &[Kind::Fixed, Kind::Dynamic, Kind::Differencing]).unwrap_or(Kind::Dynamic);
    random_valid_of(r, seed, kind)
}

/// [`random_valid`] with the main image's disk type given.
pub fn random_valid_of(r: &mut ChaCha8Rng, seed: u64, kind: Kind) -> Scenario {
    let size = random_size(r);
    let mut image = random_image(r, kind, size);
    if kind == Kind::Differencing {
        let depth = r.random_range(1..=4usize);
        let root = pick(r, &[Kind::Fixed, Kind::Dynamic]).unwrap_or(Kind::Dynamic);
        let mut parent = random_image(r, root, size);
        for _ in 1..depth {
            let mut p = random_image(r, Kind::Differencing, size);
            p.parent = Some(Box::new(parent));
            parent = p;
        }
        image.parent = Some(Box::new(parent));
    }
    let desc = format!("Random valid {} image of {} (generated by `vhd-generate random`).", kind.name(), Size(size));
    let mut s = Scenario {
        id: None,
        description: desc,
        spec: String::new(),
        tags: vec!["random".to_string()],
        seed,
        expect_findings: Vec::new(),
        check: None,
        exposes: Vec::new(),
        reference_reading: false,
        image,
        mutations: Vec::new(),
        update: None,
    };
    if let Ok(plans) = plan::plan_chain(&s, seed) {
        s.expect_findings = implied_findings(&s, &plans);
    }
    s
}

/// A random corrupt scenario: a recipe with a fresh seed.
pub fn random_corrupt(r: &mut ChaCha8Rng, seed: u64) -> Option<Scenario> {
    let all = recipes::all();
    let recipe = all.get(r.random_range(0..all.len().max(1)))?;
    let mut s = recipe.scenario().ok()?;
    s.id = None;
    s.seed = seed;
    s.tags.push("random".to_string());
    s.description = format!("{} (recipe {}, random seed)", s.description.trim(), recipe.code);
    Some(s)
}

/// The parent locator sets a random differencing disk may carry (`None`: the default `W2ku`
/// and `W2ru` pair).
fn random_locators(r: &mut ChaCha8Rng) -> Option<Vec<LocatorSpec>> {
    use LocatorCode::{MacX, W2ku, W2ru, Wi2k, Wi2r};
    let sets: [&[LocatorCode]; 7] = [&[W2ku], &[W2ru], &[MacX], &[W2ku, W2ru, MacX], &[W2ru, W2ku], &[Wi2k], &[Wi2r]];
    let set = sets.get(r.random_range(0..sets.len()))?;
    Some(set.iter().map(|&c| crate::shrink::plain_locator(c)).collect())
}

/// A scenario for differential exploration (`vhd-generate explore`): a random valid scenario
/// (half the time with varied parent locators on its differencing disks), or one with a
/// single mutation taken from a recipe whose main image has the same disk type, or a recipe
/// with a fresh seed (`valid_only`: neither of the last two). Whether the result can be laid out is the caller's to check (a grafted
/// mutation may not fit the image); the declared codes are not meant to be exact, the explorer
/// asks the validator.
pub fn random_explore(r: &mut ChaCha8Rng, seed: u64, valid_only: bool) -> Scenario {
    let roll = if valid_only { 50 } else { r.random_range(0..100u32) };
    if roll < 20 {
        if let Some(s) = random_corrupt(r, seed) {
            return s;
        }
    }
    let mut s = random_valid(r, seed);
    let mut lvl = Some(&mut s.image);
    let mut level = 0usize;
    while let Some(img) = lvl {
        if img.kind == Kind::Differencing && chance(r, 40) {
            img.locators = random_locators(r);
            if chance(r, 30) {
                // Hyper-V style: the parent unicode name holds the parent's full Windows path.
                img.header.parent_name = Some(format!("C:\\vms\\parent{}.vhd", level + 1));
            }
        }
        level += 1;
        lvl = img.parent.as_deref_mut();
    }
    if roll >= 60 {
        let kind = s.image.kind;
        let all: Vec<Scenario> = recipes::all()
            .iter()
            .filter_map(|x| x.scenario().ok())
            .filter(|x| x.image.kind == kind && x.mutations.len() == 1 && x.mutations.iter().all(|m| m.image.is_none()))
            .collect();
        if let Some(donor) = all.get(r.random_range(0..all.len().max(1))) {
            s.mutations = donor.mutations.clone();
            s.description = format!("{} With the mutation of {}.", s.description, donor.id.clone().unwrap_or_default());
        }
    }
    s
}

/// Generates `count` random cases under `seed` into `out` (`out/random/NNNN/` each with its
/// `scenario.yaml`) and writes `out/manifest.json`. `corrupt_ratio` (0..=1) is the share of
/// corrupt cases.
///
/// # Errors
/// [`GenError`] on I/O failure or when a generated scenario cannot be laid out (a bug).
pub fn generate_random(
    count: usize,
    seed: u64,
    corrupt_ratio: f64,
    out: &Path,
    force: bool,
) -> Result<Manifest, GenError> {
    generate_random_with(count, seed, corrupt_ratio, out, force, &vhd_validator::progress::NoProgress)
}

/// [`generate_random`], reporting one unit of `progress` per case written.
///
/// # Errors
/// As [`generate_random`].
pub fn generate_random_with(
    count: usize,
    seed: u64,
    corrupt_ratio: f64,
    out: &Path,
    force: bool,
    progress: &dyn vhd_validator::progress::Progress,
) -> Result<Manifest, GenError> {
    crate::corpus::stage_output(out, force, |stage| {
        progress.start(count as u64);
        let mut manifest = Manifest::new(generator_name());
        let ratio = if corrupt_ratio.is_finite() { corrupt_ratio.clamp(0.0, 1.0) } else { 0.0 };
        let threshold = (ratio * 1_000_000.0) as u64;
        for i in 0..count {
            let mut r = pattern::rng(seed, Purpose::RandomCase, i as u64);
            let case_seed = r.next_u64();
            let corrupt = r.random_range(0..1_000_000u64) < threshold;
            let s = if corrupt { random_corrupt(&mut r, case_seed) } else { None }
                .unwrap_or_else(|| random_valid(&mut r, case_seed));
            let id = format!("random/{i:04}");
            let dir = stage.join(&id);
            std::fs::create_dir_all(&dir).map_err(|e| GenError::Io { path: dir.clone(), source: e })?;
            let text = yaml::to_yaml(&s).map_err(|m| GenError::Invalid { path: id.clone(), message: m })?;
            let yaml_path = dir.join("scenario.yaml");
            if !force && yaml_path.exists() {
                return Err(GenError::Exists(yaml_path));
            }
            std::fs::write(&yaml_path, text).map_err(|e| GenError::Io { path: yaml_path.clone(), source: e })?;
            let opts = GenOptions { seed: None, force };
            let case = generate_case(
                &s,
                &id,
                Some(format!("{id}/scenario.yaml")),
                &dir,
                &id,
                &["scenario.yaml".to_string()],
                &opts,
            )?;
            manifest.cases.push(case);
            progress.advance(1);
        }
        write_manifest(stage, &manifest, false)?;
        Ok(manifest)
    })
}
