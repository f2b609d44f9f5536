//! Differential exploration (`vhd-generate explore`, `vhd-validate explore`): finds faults of
//! other VHD implementations that no corpus case was written for.
//!
//! Each draw is a scenario from the generator's random strategies
//! ([`crate::random::random_explore`]: valid images of every type, chains to depth 4, varied
//! parent locators, odd sizes and block sizes, partial sector bitmaps, and the same with one
//! mutation taken from a recipe). It is built in a scratch directory; the validator and the
//! reference chain reader say what a reader must do ([`oracle::build`]); every implementation
//! runs through conform's adapters and is judged by conform ([`oracle::observe`]).
//!
//! A failing draw is **shrunk** with [`crate::shrink`] while the same implementation still
//! fails it with the same outcome and the same warning and error codes, then filed under its
//! **signature**: implementation, outcome, those codes, the scenario's features (disk types,
//! locators, partial bitmaps, mutations) and the locus (first differing sector's source, or the
//! first error's structure). A draw whose unshrunk signature was seen before only counts.
//!
//! The same seed and implementation give the same draws in the same order; a budget in seconds
//! only decides how many.

pub mod oracle;
pub mod promote;
pub mod report;

use crate::pattern::{self, Purpose};
use crate::random;
use crate::scenario::Scenario;
use crate::shrink;
use rand::Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use vhd_conform::{Adapter, ConformError, Judging, Outcome, ReaderOptions};
use vhd_validator::rules::{Code, Severity};

/// How long an exploration runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Budget {
    /// This many draws.
    Cases(u64),
    /// Draws until this many seconds have passed (the draw under way finishes).
    Seconds(u64),
}

impl Budget {
    /// Parses `N` (draws) or `Ns` / `Nm` (seconds / minutes).
    pub fn parse(s: &str) -> Option<Budget> {
        let s = s.trim();
        if let Some(n) = s.strip_suffix('s') {
            return n.parse().ok().map(Budget::Seconds);
        }
        if let Some(n) = s.strip_suffix('m') {
            return n.parse::<u64>().ok().and_then(|m| m.checked_mul(60)).map(Budget::Seconds);
        }
        s.parse().ok().map(Budget::Cases)
    }
}

/// Options of an exploration.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ExploreOptions {
    /// Seed of the whole run.
    pub seed: u64,
    /// How long to run.
    pub budget: Budget,
    /// The implementations.
    pub adapters: Vec<Adapter>,
    /// conform's options (time limit, judging, scratch directory); `cases` is ignored.
    pub reader: ReaderOptions,
    /// Most reductions tried per shrink.
    pub max_shrink_tries: usize,
    /// Draw valid scenarios only (no mutation, no recipe): hunts misreads and refusals.
    pub valid_only: bool,
}

impl ExploreOptions {
    /// Defaults: seed 0, 100 draws, conform's defaults with the adapters' unsupported tags
    /// ignored (a misread of an unsupported feature is worth reporting) and no sanity pass (one
    /// misread case is the finding here, not a reason to stop), 200 shrink tries.
    pub fn new(adapters: Vec<Adapter>) -> ExploreOptions {
        let mut reader = ReaderOptions::default();
        reader.run_unsupported = true;
        reader.sanity = false;
        reader.judging = Judging::Either;
        ExploreOptions {
            seed: 0,
            budget: Budget::Cases(100),
            adapters,
            reader,
            max_shrink_tries: 200,
            valid_only: false,
        }
    }
}

/// One distinct fault.
#[derive(Clone, Debug, Serialize)]
pub struct Fault {
    /// `NNN-implementation-outcome`, the folder name.
    pub id: String,
    /// The implementation.
    pub implementation: String,
    /// conform's outcome.
    pub outcome: Outcome,
    /// The signature (see the module docs).
    pub signature: String,
    /// Warning and error codes of the reproducer.
    pub codes: Vec<String>,
    /// Every code of the reproducer.
    pub all_codes: Vec<String>,
    /// Features of the reproducer.
    pub features: Vec<String>,
    /// Where the disagreement lies.
    pub locus: String,
    /// Draws that showed it.
    pub count: u64,
    /// The first draw that showed it.
    pub first_draw: u64,
    /// Seconds from the start of the run to its first find (shrinking included).
    pub first_found_s: f64,
    /// The reproducer.
    #[serde(skip)]
    pub scenario: Scenario,
    /// [`shrink::weight`] of the reproducer.
    pub weight: u64,
    /// Reductions taken.
    pub shrink_steps: Vec<&'static str>,
    /// conform's detail for the reproducer.
    pub detail: String,
    /// The generated explanation.
    pub explanation: String,
}

/// Per-implementation counts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImplStats {
    /// Draws run.
    pub draws: u64,
    /// Draws the implementation failed.
    pub failing: u64,
    /// Shrinks made.
    pub shrinks: u64,
    /// Implementation runs (draws and shrink candidates).
    pub runs: u64,
}

/// The result of an exploration.
#[derive(Clone, Debug, Serialize)]
pub struct Exploration {
    /// Seed.
    pub seed: u64,
    /// Budget.
    pub budget: Budget,
    /// Draws made.
    pub draws: u64,
    /// Draws that could not be laid out (skipped).
    pub unbuildable: u64,
    /// Wall-clock seconds.
    pub elapsed_s: f64,
    /// Whether the run was interrupted.
    pub interrupted: bool,
    /// Per implementation.
    pub implementations: BTreeMap<String, ImplStats>,
    /// The distinct faults, in order of first find.
    pub faults: Vec<Fault>,
}

/// What the caller hears while the run goes on.
pub trait Listener {
    /// A draw is done (`draw` counts from 0).
    fn draw_done(&mut self, _draw: u64, _faults: usize) {}
    /// A new fault was found, or a known one got a smaller reproducer (`new` false).
    fn fault(&mut self, _fault: &Fault, _new: bool) {}
}

/// A listener that ignores everything.
pub struct Quiet;
impl Listener for Quiet {}

/// The scenario features a signature names: disk types of the chain, partial bitmaps, legacy
/// footers, mutations, and (for a refusal, where they decide whether the parent is found) the
/// parent locator kinds.
fn features(tags: &[String], outcome: Outcome) -> Vec<String> {
    let keep = |t: &str| {
        matches!(
            t,
            "fixed" | "dynamic" | "differencing" | "partial-bitmap" | "511-footer" | "zero-size" | "header-offset"
        ) || t.starts_with("parent-")
            || t.starts_with("mutation-")
            || (outcome == Outcome::RejectedValid && t.starts_with("locator-"))
    };
    tags.iter().filter(|t| keep(t)).cloned().collect()
}

fn signature(implementation: &str, o: &oracle::Observation) -> String {
    let tags = o.built.case().map(|c| features(&c.tags, o.result.outcome)).unwrap_or_default();
    format!("{implementation} | {} | {} | {} | {}", o.result.outcome, o.key_codes().join(","), tags.join(","), o.locus)
}

/// The scenario of draw `i` under `seed` (`valid_only`: see [`ExploreOptions::valid_only`]).
pub fn draw(seed: u64, i: u64, valid_only: bool) -> Scenario {
    let mut r = pattern::rng(seed, Purpose::Explore, i);
    let case_seed = r.next_u64();
    let mut s = random::random_explore(&mut r, case_seed, valid_only);
    s.id = None;
    s.tags.retain(|t| t != "random");
    s.tags.push("explored".into());
    s
}

/// Runs an exploration. Stops at the budget or when `stop` becomes true (after the step under
/// way, keeping every fault found). Each new or improved fault is written under `out` (when
/// given) at once, the summaries at the end.
///
/// # Errors
/// A conform error that stops every run (an implementation that cannot be started, no scratch
/// directory), or an I/O error writing `out`.
pub fn explore(
    opts: &ExploreOptions,
    out: Option<&std::path::Path>,
    stop: &AtomicBool,
    listener: &mut dyn Listener,
) -> Result<Exploration, ExploreError> {
    let start = Instant::now();
    let scratch_parent = opts.reader.scratch.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = tempfile::Builder::new()
        .prefix("vhd-explore-")
        .tempdir_in(&scratch_parent)
        .map_err(|e| ExploreError::Io(scratch_parent.clone(), e))?;
    vhd_validator::cleanup::watch(scratch.path());
    let mut ropts = opts.reader.clone();
    ropts.cases.clear();
    ropts.scratch = Some(scratch.path().to_path_buf());
    let mut faults: Vec<Fault> = Vec::new();
    let mut by_signature: BTreeMap<String, usize> = BTreeMap::new();
    let mut stats: BTreeMap<String, ImplStats> = BTreeMap::new();
    let mut draws = 0u64;
    let mut unbuildable = 0u64;
    let work = scratch.path().join("work");
    let out_of_budget = |draws: u64| match opts.budget {
        Budget::Cases(n) => draws >= n,
        Budget::Seconds(s) => start.elapsed() >= Duration::from_secs(s),
    };
    while !out_of_budget(draws) && !stop.load(Ordering::Relaxed) {
        let i = draws;
        draws += 1;
        let s = draw(opts.seed, i, opts.valid_only);
        let mut built_once = false;
        for adapter in &opts.adapters {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let st = stats.entry(adapter.name.clone()).or_default();
            let Some(obs) = oracle::observe(&s, &work, adapter, &ropts)? else {
                continue;
            };
            if stop.load(Ordering::Relaxed) {
                // Stopped while it ran: leave this draw out, keep what was found.
                break;
            }
            built_once = true;
            st.draws += 1;
            st.runs += 1;
            if !obs.result.outcome.is_failure() {
                continue;
            }
            st.failing += 1;
            let pre = signature(&adapter.name, &obs);
            if let Some(&k) = by_signature.get(&pre) {
                if let Some(f) = faults.get_mut(k) {
                    f.count += 1;
                }
                continue;
            }
            st.shrinks += 1;
            let (outcome, key, errors) = (obs.result.outcome, obs.key_codes(), error_codes(&obs.result.codes));
            let mut runs = 0u64;
            let mut holds = |c: &Scenario| {
                if stop.load(Ordering::Relaxed) {
                    return false;
                }
                runs += 1;
                matches!(oracle::observe(c, &work, adapter, &ropts),
                    Ok(Some(o)) if same_disagreement(&o, outcome, &key, &errors))
            };
            let shrunk = shrink::shrink(&s, opts.max_shrink_tries, &mut holds);
            if let Some(st) = stats.get_mut(&adapter.name) {
                st.runs += runs;
            }
            let final_obs = match oracle::observe(&shrunk.scenario, &work, adapter, &ropts)? {
                Some(o) if o.result.outcome == outcome => (o, shrunk),
                _ => (obs, shrink::Shrunk::unchanged(&s)),
            };
            let (o, shrunk) = final_obs;
            let sig = signature(&adapter.name, &o);
            let weight = shrink::weight(&shrunk.scenario);
            let found = start.elapsed().as_secs_f64();
            let idx = by_signature.get(&sig).copied();
            by_signature.insert(pre, idx.unwrap_or(faults.len()));
            match idx.and_then(|k| faults.get_mut(k)) {
                Some(f) => {
                    f.count += 1;
                    if weight < f.weight {
                        report::refresh(f, &adapter.name, &o, shrunk);
                        if let Some(dir) = out {
                            report::write_fault(dir, f, adapter, &ropts)?;
                        }
                        listener.fault(f, false);
                    }
                }
                None => {
                    by_signature.insert(sig.clone(), faults.len());
                    let id = format!("{:03}-{}-{}", faults.len() + 1, slug(&adapter.name), o.result.outcome);
                    let mut f = Fault {
                        id,
                        implementation: adapter.name.clone(),
                        outcome,
                        signature: sig,
                        codes: Vec::new(),
                        all_codes: Vec::new(),
                        features: Vec::new(),
                        locus: String::new(),
                        count: 1,
                        first_draw: i,
                        first_found_s: found,
                        scenario: s.clone(),
                        weight,
                        shrink_steps: Vec::new(),
                        detail: String::new(),
                        explanation: String::new(),
                    };
                    report::refresh(&mut f, &adapter.name, &o, shrunk);
                    if let Some(dir) = out {
                        report::write_fault(dir, &f, adapter, &ropts)?;
                    }
                    listener.fault(&f, true);
                    faults.push(f);
                }
            }
        }
        if !built_once {
            unbuildable += 1;
        }
        listener.draw_done(i, faults.len());
    }
    let _ = std::fs::remove_dir_all(&work);
    let e = Exploration {
        seed: opts.seed,
        budget: opts.budget,
        draws,
        unbuildable,
        elapsed_s: start.elapsed().as_secs_f64(),
        interrupted: stop.load(Ordering::Relaxed),
        implementations: stats,
        faults,
    };
    if let Some(dir) = out {
        report::write_summaries(dir, &e)?;
    }
    Ok(e)
}

fn error_codes(codes: &[String]) -> Vec<String> {
    codes.iter().filter(|c| Code::parse(c).is_some_and(|k| k.rule().strict == Severity::Error)).cloned().collect()
}

/// Whether a reduced case shows the same disagreement: the same outcome, no warning or error
/// code the original lacks, and (for an accepted or refused case, where the codes are the
/// reason) the same error codes.
fn same_disagreement(o: &oracle::Observation, outcome: Outcome, key: &[String], errors: &[String]) -> bool {
    o.result.outcome == outcome
        && o.key_codes().iter().all(|c| key.contains(c))
        && (!matches!(outcome, Outcome::AcceptedCorrupt | Outcome::AcceptedMisread | Outcome::RejectedValid)
            || error_codes(&o.result.codes) == errors)
}

fn slug(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

/// Why an exploration stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExploreError {
    /// conform could not run.
    #[error(transparent)]
    Conform(#[from] ConformError),
    /// Writing the output failed.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// A scenario could not be rendered or rebuilt.
    #[error(transparent)]
    Gen(#[from] crate::error::GenError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse() {
        assert_eq!(Budget::parse("200"), Some(Budget::Cases(200)));
        assert_eq!(Budget::parse("90s"), Some(Budget::Seconds(90)));
        assert_eq!(Budget::parse("10m"), Some(Budget::Seconds(600)));
        assert_eq!(Budget::parse("ten"), None);
    }

    #[test]
    fn draws_are_deterministic_and_buildable() {
        let mut built = 0;
        for i in 0..20 {
            let s = draw(3, i, false);
            assert_eq!(s, draw(3, i, false));
            built += usize::from(crate::plan::plan_chain(&s, s.seed).is_ok());
        }
        assert!(built >= 15, "{built} of 20 draws can be laid out");
    }

    #[test]
    fn features_keep_locators_for_refusals_only() {
        let tags: Vec<String> = ["differencing", "locator-w2ku", "block-size-4k", "mutation-append", "parent-dynamic"]
            .map(String::from)
            .to_vec();
        assert_eq!(features(&tags, Outcome::WrongBytes), ["differencing", "mutation-append", "parent-dynamic"]);
        assert!(features(&tags, Outcome::RejectedValid).contains(&"locator-w2ku".to_string()));
    }
}
