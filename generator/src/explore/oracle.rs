//! One scenario, one implementation: build the case, ask the references, run it through
//! conform, and describe any disagreement.
//!
//! The references are the validator (its findings give the case's expected codes and verdicts)
//! and the reference chain reader (its SHA-256 of the virtual disk is what a reader must
//! return). The implementation runs through [`vhd_conform::run_reader`] on a
//! one-case manifest, so the judging is conform's own.

use crate::case::{generate_case, verdicts, GenOptions};
use crate::corpus::generator_name;
use crate::error::GenError;
use crate::plan;
use crate::scenario::{Kind, Scenario};
use std::path::Path;
use vhd_conform::{self, Adapter, CaseResult, Outcome, ReaderOptions};
use vhd_validator::chain::ChainReader;
use vhd_validator::check::{check_path, CheckOptions};
use vhd_validator::hex::encode as hex;
use vhd_validator::manifest::{safe_join, Case, Manifest};
use vhd_validator::rules::{Code, Profile, Severity};

/// The case id every explored case gets in its one-case manifest.
pub const CASE_ID: &str = "explored/case";

/// A case built in a directory, with the references' expectations.
#[derive(Clone, Debug)]
pub struct Built {
    /// The one-case manifest (written as `manifest.json` by [`build`]).
    pub manifest: Manifest,
    /// The structure path of the first finding of error severity (strict), if any.
    pub first_error_path: Option<String>,
}

impl Built {
    /// The case.
    pub fn case(&self) -> Option<&Case> {
        self.manifest.cases.first()
    }
}

fn check_options(s: &Scenario) -> CheckOptions {
    let mut o = CheckOptions::default();
    if let Some(d) = s.check.as_ref().and_then(|c| c.max_depth) {
        o.max_depth = d;
    }
    o
}

/// Builds `s` under `dir` (case directory `dir/explored/case`, `manifest.json` in `dir`) and
/// replaces the generator's declarations with the references' judgement: the validator's codes
/// and verdicts, the reference reader's virtual size and SHA-256 (when the compat profile
/// accepts).
///
/// # Errors
/// [`GenError`] when the scenario cannot be laid out or written.
pub fn build(s: &Scenario, dir: &Path) -> Result<Built, GenError> {
    let opts = GenOptions { seed: None, force: true };
    let mut case = generate_case(s, CASE_ID, None, &dir.join(CASE_ID), CASE_ID, &[], &opts)?;
    let image = safe_join(dir, &case.image).unwrap_or_else(|| dir.join(CASE_ID));
    let copts = check_options(s);
    let report =
        check_path(&image, &copts).map_err(|e| GenError::Invalid { path: CASE_ID.into(), message: e.to_string() })?;
    let mut codes: Vec<Code> = report.findings().map(|f| f.code).collect();
    codes.sort();
    codes.dedup();
    let mut errors: Vec<(u64, String)> = report
        .findings()
        .filter(|f| f.code.rule().strict == Severity::Error)
        .map(|f| (f.offset, f.path.to_string()))
        .collect();
    errors.sort();
    case.expected_codes = codes.clone();
    case.verdict = verdicts(&codes);
    // The generator's content model (when no mutation changed the content) is what a lenient
    // reader of a rejected case must return; an accepted case must read as the reference
    // reader reads it.
    let model = case.reference_sha256.take().or(case.virtual_disk_sha256.take());
    if case.verdict.get(&Profile::Compat) == Some(&vhd_validator::manifest::Verdict::Reject) {
        case.reference_sha256 = model;
    } else if let Ok(r) = ChainReader::open(&image, &copts) {
        case.virtual_size = r.size();
        case.virtual_disk_sha256 = r.digest().ok().map(|d| hex(&d));
    }
    let mut manifest = Manifest::new(generator_name());
    manifest.cases.push(case);
    crate::corpus::write_manifest(dir, &manifest, true)?;
    Ok(Built { manifest, first_error_path: errors.into_iter().next().map(|(_, p)| p) })
}

/// What an implementation did with one explored case.
#[derive(Clone, Debug)]
pub struct Observation {
    /// The built case.
    pub built: Built,
    /// conform's result.
    pub result: CaseResult,
    /// Where the disagreement lies (see [`locus`]).
    pub locus: String,
}

impl Observation {
    /// The case's codes of warning or error severity (strict), what a reduction must keep.
    pub fn key_codes(&self) -> Vec<String> {
        key_codes(&self.result.codes)
    }
}

/// The codes among `codes` whose strict severity is warning or error.
pub fn key_codes(codes: &[String]) -> Vec<String> {
    codes.iter().filter(|c| Code::parse(c).is_some_and(|k| k.rule().strict >= Severity::Warning)).cloned().collect()
}

/// Runs `adapter` on `s` built under `dir`. `Ok(None)` when the scenario cannot be laid out.
///
/// # Errors
/// A conform error (the implementation cannot be started, a scratch directory cannot be made).
pub fn observe(
    s: &Scenario,
    dir: &Path,
    adapter: &Adapter,
    ropts: &ReaderOptions,
) -> Result<Option<Observation>, vhd_conform::ConformError> {
    let _ = std::fs::remove_dir_all(dir);
    let Ok(built) = build(s, dir) else {
        return Ok(None);
    };
    let run =
        vhd_conform::run_reader(dir, &built.manifest, std::slice::from_ref(adapter), ropts, None, &mut |_, _| {})?;
    let Some(result) = run.implementations.into_iter().next().and_then(|i| i.results.into_iter().next()) else {
        return Ok(None);
    };
    let locus = locus(s, &built, &result);
    Ok(Some(Observation { built, result, locus }))
}

/// Where a disagreement lies, as a short phrase: for a misread, the chain level the reference
/// reads the first differing sector from, and whether that sector shares a sector-bitmap byte
/// of the main image with sectors of the other state (set among clear, or clear among set);
/// for an accepted corrupt (or accepted and misread) image, the structure path of the first
/// error finding.
pub fn locus(s: &Scenario, built: &Built, r: &CaseResult) -> String {
    match r.outcome {
        Outcome::WrongBytes => r.first_difference.map_or_else(|| "bytes".to_string(), |b| sector_locus(s, b / 512)),
        Outcome::AcceptedCorrupt | Outcome::AcceptedMisread => {
            built.first_error_path.clone().unwrap_or_else(|| "image".into())
        }
        Outcome::WrongSize => "virtual size".into(),
        _ => "-".into(),
    }
}

fn sector_locus(s: &Scenario, sector: u64) -> String {
    let Ok(plans) = plan::plan_chain(s, s.seed) else {
        return format!("sector {sector}");
    };
    let mut from = "zeros (no level holds it)".to_string();
    for p in &plans {
        let m = &p.model;
        if m.kind == Kind::Fixed || m.bits.covers(sector, sector.saturating_add(1)) {
            from = if p.level == 0 { "the main image".into() } else { format!("parent level {}", p.level) };
            break;
        }
        if m.kind == Kind::Dynamic {
            break;
        }
    }
    let shared = plans.first().is_some_and(|p| {
        let lo = sector & !7;
        p.model.kind == Kind::Differencing
            && p.model.bits.intersects(lo, lo.saturating_add(8))
            && !p.model.bits.covers(lo, lo.saturating_add(8))
    });
    if shared {
        format!("sector read from {from}, in a sector-bitmap byte shared by set and clear bits")
    } else {
        format!("sector read from {from}")
    }
}
