//! One scenario to one corpus case: validate, lay out, write, mutate, describe in the manifest.

use crate::error::GenError;
use crate::model;
use crate::mutate::{self, Level};
use crate::plan::{self, ImagePlan};
use crate::scenario::{BitmapMode, BlockOrder, Image, Kind, Op, Scenario};
use crate::values::UniqueId;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use vhd_validator::manifest::{self, file_sha256, Case, CaseCheck, CaseFile, Verdict};
use vhd_validator::rules::{Code, Profile};

/// How a scenario is generated.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct GenOptions {
    /// Replaces every scenario's seed.
    pub seed: Option<u64>,
    /// Overwrite existing output files.
    pub force: bool,
}

impl GenOptions {
    /// These options with `seed` replacing every scenario's seed (`None`: each keeps its own).
    #[must_use]
    pub fn with_seed(mut self, seed: Option<u64>) -> GenOptions {
        self.seed = seed;
        self
    }

    /// These options with `force` (overwrite existing output files).
    #[must_use]
    pub fn with_force(mut self, force: bool) -> GenOptions {
        self.force = force;
        self
    }
}

/// Whether `id` is a usable case id: `/`-separated segments of `[A-Za-z0-9._-]`, none of them
/// `.` or `..`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        })
}

fn invalid(path: &str, message: impl Into<String>) -> GenError {
    GenError::Invalid { path: path.to_string(), message: message.into() }
}

/// The codes a scenario declares (`expect_findings` and every mutation's `expect`), sorted and
/// unique; refuses a mutation without codes.
///
/// # Errors
/// [`GenError::Invalid`] naming the offending field.
pub fn declared_codes(s: &Scenario) -> Result<Vec<Code>, GenError> {
    let mut codes = s.expect_findings.clone();
    for (i, m) in s.mutations.iter().enumerate() {
        if m.expect.is_empty() {
            return Err(invalid(
                &format!("mutations[{i}].expect"),
                format!(
                    "the `{}` mutation names no rule code: every corruption must declare the codes it triggers",
                    m.op.name()
                ),
            ));
        }
        codes.extend_from_slice(&m.expect);
    }
    codes.sort();
    codes.dedup();
    Ok(codes)
}

fn size_tag(bytes: u64) -> String {
    for (unit, m) in [("g", 1u64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if bytes.is_multiple_of(m) {
            return format!("{}{unit}", bytes / m);
        }
    }
    format!("{bytes}b")
}

/// The automatic feature tags of a scenario (see `docs/SCENARIOS.md`).
pub fn auto_tags(s: &Scenario, plans: &[ImagePlan]) -> Vec<String> {
    let mut t = vec![s.image.kind.name().to_string()];
    let chain = plan::chain_of(s);
    if chain.len() > 1 {
        t.push(format!("chain-depth-{}", chain.len() - 1));
    }
    for (level, img) in chain.iter().enumerate() {
        if level > 0 {
            t.push(format!("parent-{}", img.kind.name()));
        }
        if img.kind.is_sparse() {
            t.push(format!("block-size-{}", size_tag(img.block_size.map_or(plan::DEFAULT_BLOCK_SIZE, |b| b.0))));
        }
        if img.layout.short_footer {
            t.push("511-footer".into());
        }
        if img.size.0 % (1 << 20) != 0 {
            t.push("odd-size".into());
        }
        if img.size.0 == 0 {
            t.push("zero-size".into());
        }
        match img.layout.block_order {
            BlockOrder::Ascending => {}
            BlockOrder::Descending => t.push("block-order-descending".into()),
            BlockOrder::Shuffle => t.push("block-order-shuffle".into()),
            BlockOrder::Explicit(_) => t.push("block-order-explicit".into()),
        }
        if img.layout.gap_between_blocks.is_some_and(|g| g.0 > 0)
            || img.layout.gap_after_metadata.is_some_and(|g| g.0 > 0)
        {
            t.push("gaps".into());
        }
        if img.layout.padding_before_footer.is_some_and(|g| g.0 > 0) {
            t.push("padding-before-footer".into());
        }
        if img.layout.header_offset.is_some_and(|o| o.0 != 512) {
            t.push("header-offset".into());
        }
        for l in img.locators.iter().flatten() {
            let name = l.code.name().map_or_else(|| "unknown".to_string(), str::to_lowercase);
            t.push(format!("locator-{name}"));
        }
        if img.writes.iter().any(|w| w.bitmap != BitmapMode::Written) {
            t.push("bitmap-mode".into());
        }
    }
    if let Some(p) = plans.first() {
        let m = &p.model;
        let content = model::content(std::slice::from_ref(m));
        if m.stored.is_empty() && m.bits.is_empty() {
            t.push("empty".into());
        } else if m.kind == Kind::Fixed && content.covers(0, m.sectors())
            || m.kind.is_sparse() && m.bits.covers(0, m.sectors())
        {
            t.push("full".into());
        }
        if let Some(sp) = &p.sparse {
            let spb = sp.geom.sectors_per_block;
            let partial = sp.blocks.keys().any(|&b| {
                let lo = b * spb;
                let hi = (lo + spb).min(m.sectors());
                m.bits.intersects(lo, hi) && !m.bits.covers(lo, hi)
            });
            if partial {
                t.push("partial-bitmap".into());
            }
        }
    }
    if s.mutations.is_empty() {
        t.push("valid".into());
    } else {
        t.push("corrupt".into());
        for m in &s.mutations {
            t.push(format!("mutation-{}", m.op.name()));
        }
    }
    t.extend(s.tags.iter().cloned());
    t.sort();
    t.dedup();
    t
}

/// Expected verdict per profile from the expected codes' severities.
pub fn verdicts(codes: &[Code]) -> BTreeMap<Profile, Verdict> {
    Profile::ALL.iter().map(|&p| (p, Verdict::of(codes, p))).collect()
}

/// Generates `s` into `case_dir` (created if needed; `rel_dir` is its path relative to the
/// manifest directory, `/`-separated) and returns its manifest entry. `extra_files` are
/// further files already in `case_dir` to list (e.g. the scenario's YAML copy).
///
/// The cost follows the data written, not the virtual size: the virtual disk's SHA-256 is
/// computed from the content model first (zero runs from a static buffer), before any file
/// exists, so a run killed during that long part leaves nothing; the images are then written
/// sparse into a hidden staging directory inside `case_dir`, mutated, hashed (holes are not
/// read; a lone fixed disk's file hash continues the virtual disk's SHA-256 state once
/// [`model::file_matches`] has confirmed its data) and moved into place.
///
/// # Errors
/// [`GenError`] for an invalid scenario or an I/O failure; nothing is left in `case_dir`
/// then.
pub fn generate_case(
    s: &Scenario,
    id: &str,
    source: Option<String>,
    case_dir: &Path,
    rel_dir: &str,
    extra_files: &[String],
    opts: &GenOptions,
) -> Result<Case, GenError> {
    if !valid_id(id) {
        return Err(invalid("id", format!("{id:?} is not a valid case id (segments of [A-Za-z0-9._-] joined by /)")));
    }
    let codes = declared_codes(s)?;
    let seed = opts.seed.unwrap_or(s.seed);
    let plans = plan::plan_chain(s, seed)?;
    if s.check.as_ref().and_then(|c| c.max_depth) == Some(0) {
        return Err(invalid("check.max_depth", "must be at least 1"));
    }
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| GenError::Io { path: p, source: e }
    };
    if !opts.force {
        if let Some(p) = plans.iter().map(|p| case_dir.join(&p.file)).find(|p| p.exists()) {
            return Err(GenError::Exists(p));
        }
    }
    let verdict = verdicts(&codes);
    let content_known = !s.mutations.iter().any(|m| m.alters_content());
    // A case rejected only for a chain depth limit of its own (`check.max_depth`) may be read:
    // its disk is defined, so it carries its digest.
    let depth_only =
        s.check.as_ref().is_some_and(|c| c.max_depth.is_some()) && manifest::rejected_only_for_depth(&codes);
    let compat_rejects = verdict.get(&Profile::Compat) == Some(&Verdict::Reject);
    let want_digest = content_known && (!compat_rejects || depth_only);
    if s.reference_reading && !(content_known && compat_rejects) {
        return Err(invalid(
            "reference_reading",
            "needs a case the compat profile rejects and no mutation that alters the content",
        ));
    }
    let want_reference = s.reference_reading && !want_digest;
    for f in &s.exposes {
        if !vhd_validator::faults::is_known(f) {
            return Err(invalid("exposes", format!("{f:?} is not a known fault id (vhd_validator::faults)")));
        }
    }
    let mut exposes = s.exposes.clone();
    exposes.sort();
    exposes.dedup();
    // A lone fixed disk's file is its virtual disk followed by the footer: one SHA-256 pass
    // serves both digests.
    let lone_fixed = plans.len() == 1 && plans.first().is_some_and(|p| p.sparse.is_none());
    let model_changes = s.mutations.iter().any(|m| matches!(m.op, Op::SetBitmapBits { .. } | Op::SetBatEntry { .. }));
    let content_of = |levels: &[ImagePlan]| {
        let models: Vec<model::ImageModel> = levels.iter().map(|p| p.model.clone()).collect();
        (model::content(&models), models.first().map_or(0, |m| m.size))
    };
    let virtual_state = |levels: &[ImagePlan]| {
        let (content, size) = content_of(levels);
        (model::hasher(&content, size), size)
    };
    let state_known = !model_changes && (want_digest || want_reference || lone_fixed && content_known);
    // The virtual digest is computed while the main image is written (each chunk of data
    // generated once for both) when that image holds most of the disk; otherwise (a huge,
    // mostly empty disk: hashing its zeros is the long part) before any file exists.
    let fused = state_known.then(|| content_of(&plans)).filter(|(_, size)| {
        plans.first().is_some_and(|p| size.saturating_sub(p.model.data_bytes()) <= p.model.data_bytes().max(FUSED_SIZE))
    });
    let early = (state_known && fused.is_none()).then(|| virtual_state(&plans));
    // Without mutations a file is exactly what was written: its hash comes from the writes
    // (a lone fixed disk's from the virtual disk's).
    let unmutated = s.mutations.is_empty();

    std::fs::create_dir_all(case_dir).map_err(io(case_dir))?;
    let staging = tempfile::Builder::new().prefix(".vhd-generate-").tempdir_in(case_dir).map_err(io(case_dir))?;
    vhd_validator::cleanup::watch(staging.path());
    let mut fused_state = None;
    let mut written = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        let path = staging.path().join(&p.file);
        let file_hash = unmutated && !lone_fixed;
        let h = match fused.as_ref().filter(|_| i == 0) {
            Some((content, size)) => {
                let mut disk = model::ModelHasher::new(content, *size);
                let h = plan::write_image_hashed(p, &path, false, Some(&mut disk), file_hash)?;
                fused_state = Some((disk.finish(), *size));
                h
            }
            None => plan::write_image_hashed(p, &path, false, None, file_hash)?,
        };
        written.push(h);
    }
    let mut update_files = Vec::new();
    for (img, name) in update_images(s, &plans, seed)? {
        let s2 = Scenario { image: img, mutations: Vec::new(), update: None, ..s.clone() };
        let p = plan::plan_chain(&s2, seed)?;
        if let Some(first) = p.first() {
            plan::write_image(first, &case_dir.join(&name), opts.force)?;
            update_files.push(name);
        }
    }
    let mut levels: Vec<Level> = plans
        .into_iter()
        .map(|p| Level {
            dir: staging.path().to_path_buf(),
            name: p.file.clone(),
            deleted: false,
            footer_at: p.footer_offset,
            plan: p,
        })
        .collect();
    for (i, m) in s.mutations.iter().enumerate() {
        mutate::apply(&mut levels, m, &format!("mutations[{i}] ({})", m.op.name()))?;
    }
    let plans_view: Vec<ImagePlan> = levels.iter().map(|l| l.plan.clone()).collect();
    let state = match early.or(fused_state) {
        Some(st) => Some(st),
        None if want_digest || want_reference => Some(virtual_state(&plans_view)),
        None => None,
    };
    let size = plans_view.first().map_or(0, |p| p.model.size);
    let model_digest = || state.as_ref().map(|(h, _)| vhd_validator::hex::encode(&h.clone().finalize()));
    let digest = if want_digest { model_digest() } else { None };
    let reference = if want_reference { model_digest() } else { None };
    let join = |name: &str| if rel_dir.is_empty() { name.to_string() } else { format!("{rel_dir}/{name}") };
    let chain: Vec<String> = levels.iter().filter(|l| !l.deleted).map(|l| join(&l.name)).collect();
    let mut files = Vec::new();
    for (l, h) in levels.iter().zip(written).filter(|(l, _)| !l.deleted) {
        let p = l.path();
        let (sha256, len) = match h {
            Some(h) => (vhd_validator::hex::encode(&h.finalize()), l.plan.file_len),
            None => {
                let shared = state.as_ref().filter(|_| lone_fixed);
                staged_sha256(&p, shared, &l.plan.model, unmutated).map_err(io(&p))?
            }
        };
        files.push(CaseFile { path: join(&l.name), size: len, sha256 });
    }
    for name in update_files.iter().chain(extra_files) {
        let p = case_dir.join(name);
        let (sha256, size) = file_sha256(&p).map_err(io(&p))?;
        files.push(CaseFile { path: join(name), size, sha256 });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for l in levels.iter().filter(|l| !l.deleted) {
        place(&l.path(), &case_dir.join(&l.name), opts.force)?;
    }
    Ok(Case {
        id: id.to_string(),
        description: s.description.trim().to_string(),
        spec: s.spec.clone(),
        source,
        seed: Some(seed),
        tags: auto_tags(s, &plans_view),
        image: join(&levels.first().map_or_else(String::new, |l| l.name.clone())),
        chain,
        files,
        virtual_size: size,
        expected_codes: codes,
        verdict,
        virtual_disk_sha256: digest,
        reference_sha256: reference,
        exposes,
        check: s.check.as_ref().and_then(|c| c.max_depth).map(|d| CaseCheck { max_depth: Some(d) }),
    })
}

/// Virtual size up to which the digest is always computed while the main image is written.
const FUSED_SIZE: u64 = 64 << 20;

/// Salt of the unique ids of a template update's images (so they differ from the chain's).
const UPDATE_SALT: u64 = 0x5550_4441_5445;

/// The images of `s.update` with their file names: the new parent (a copy of the main image's
/// parent with the update's writes added and its own unique id), then each extra child (a copy
/// of the main image with the child's writes). Their ancestors keep the chain's file names, so
/// each is planned as the top of a copy of the chain and only that top is written.
///
/// # Errors
/// [`GenError::Invalid`] when the main image is not a differencing disk or a name clashes.
pub fn update_images(s: &Scenario, plans: &[ImagePlan], seed: u64) -> Result<Vec<(Image, String)>, GenError> {
    let Some(u) = &s.update else { return Ok(Vec::new()) };
    let Some(parent) = s.image.parent.as_deref().filter(|_| s.image.kind == Kind::Differencing) else {
        return Err(invalid("update", "a template update needs a differencing main image"));
    };
    // Pin every ancestor's file name to the one the chain was written with.
    let pin = |img: &mut Image, from_level: usize| {
        let mut cur = img.parent.as_deref_mut();
        let mut level = from_level;
        while let Some(p) = cur {
            if let Some(pl) = plans.get(level) {
                p.file = Some(pl.file.clone());
                p.footer.unique_id = Some(UniqueId(pl.footer.unique_id));
                p.footer.timestamp = Some(pl.footer.timestamp);
            }
            level += 1;
            cur = p.parent.as_deref_mut();
        }
    };
    let mut out = Vec::new();
    let taken: Vec<&str> = plans.iter().map(|p| p.file.as_str()).collect();
    let check_name = |name: &str, path: &str, out: &Vec<(Image, String)>| {
        if !plan::plain_file_name(name) || taken.contains(&name) || out.iter().any(|(_, n)| n == name) {
            return Err(invalid(path, format!("{name:?} is not a plain file name unused by the case")));
        }
        Ok(())
    };
    let name = u.file.clone().unwrap_or_else(|| "new-parent.vhd".to_string());
    check_name(&name, "update.file", &out)?;
    let mut np = parent.clone();
    np.writes.extend(u.writes.iter().cloned());
    np.file = Some(name.clone());
    if np.footer.unique_id.is_none() {
        np.footer.unique_id = Some(UniqueId(plan::derived_unique_id(seed ^ UPDATE_SALT, 1)));
    }
    pin(&mut np, 2);
    out.push((np, name));
    for (i, c) in u.children.iter().enumerate() {
        check_name(&c.file, &format!("update.children[{i}].file"), &out)?;
        let mut img = s.image.clone();
        img.writes = c.writes.clone();
        img.file = Some(c.file.clone());
        img.footer.unique_id = Some(UniqueId(plan::derived_unique_id(seed ^ UPDATE_SALT, 2 + i)));
        pin(&mut img, 1);
        out.push((img, c.file.clone()));
    }
    Ok(out)
}

/// SHA-256 (hex) and length of a staged image file. With `shared` (the virtual disk's SHA-256
/// state after its `size` bytes, for a lone fixed disk) and a file whose first `size` bytes are
/// the model's (`unmutated`: as written, else checked by [`model::file_matches`]), only the
/// bytes after them are hashed; otherwise the whole file, holes hashed without reading.
fn staged_sha256(
    path: &Path,
    shared: Option<&(Sha256, u64)>,
    m: &model::ImageModel,
    unmutated: bool,
) -> std::io::Result<(String, u64)> {
    let f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let matches = |size| {
        if unmutated {
            return Ok(true);
        }
        model::file_matches(&f, &model::content(std::slice::from_ref(m)), size)
    };
    let mut h = match shared {
        Some((h, size)) if matches(*size)? => {
            let mut h = h.clone();
            vhd_validator::io::file_sha256_range(&f, *size, len, &mut h)?;
            h
        }
        _ => {
            let mut h = Sha256::new();
            vhd_validator::io::file_sha256_range(&f, 0, len, &mut h)?;
            h
        }
    };
    Ok((vhd_validator::hex::encode(&h.finalize_reset()), len))
}

/// Moves a staged file to `dest`: without `force` through a hard link (which refuses an
/// existing `dest` atomically), with it by renaming over `dest`.
fn place(staged: &Path, dest: &Path, force: bool) -> Result<(), GenError> {
    let io = |e| GenError::Io { path: dest.to_path_buf(), source: e };
    if force {
        return std::fs::rename(staged, dest).map_err(io);
    }
    match std::fs::hard_link(staged, dest) {
        Ok(()) => std::fs::remove_file(staged).map_err(io),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(GenError::Exists(dest.to_path_buf())),
        Err(e) => Err(io(e)),
    }
}
