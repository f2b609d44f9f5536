//! What an exploration leaves behind: one folder per fault and the JSON and Markdown summaries.
//!
//! A fault folder `OUT/<id>/` holds `scenario.yaml` (the shrunk reproducer, its declared codes
//! set to what the validator reports), `case/` (the built images and a one-case
//! `manifest.json` that `vhd-validate conform` replays), `result.json` (conform's result with
//! the raw outcome), `stderr.txt` (the implementation's messages) and `explanation.md` (one
//! generated paragraph). `OUT/summary.json` and `OUT/summary.md` list every fault. Each folder
//! is written beside its final name and renamed into place.

use super::oracle::{self, Observation};
use super::{Exploration, ExploreError, Fault};
use crate::plan;
use crate::scenario::{Kind, Scenario};
use crate::shrink::Shrunk;
use crate::yaml;
use std::path::Path;
use vhd_conform::{self, Adapter, Outcome, ReaderOptions};
use vhd_validator::manifest::Verdict;
use vhd_validator::rules::{Code, Profile};

fn io(path: &Path) -> impl Fn(std::io::Error) -> ExploreError + '_ {
    move |e| ExploreError::Io(path.to_path_buf(), e)
}

/// Sets the declared codes of `s` to `codes` (what the validator reports): each mutation keeps
/// the declared codes that fire (all of them when none does), `expect_findings` gets the rest.
pub fn declare(s: &mut Scenario, codes: &[Code]) {
    let mut by_mutations = Vec::new();
    for m in &mut s.mutations {
        let fired: Vec<Code> = m.expect.iter().filter(|c| codes.contains(c)).copied().collect();
        if !fired.is_empty() {
            m.expect = fired;
        }
        by_mutations.extend_from_slice(&m.expect);
    }
    s.expect_findings = codes.iter().filter(|c| !by_mutations.contains(c)).copied().collect();
}

fn kind_phrase(s: &Scenario) -> String {
    let chain = plan::chain_of(s);
    let main = s.image.kind.name();
    let mut p = match chain.len() {
        1 => format!("a {main} disk"),
        n => {
            let parents: Vec<&str> = chain.iter().skip(1).map(|i| i.kind.name()).collect();
            format!(
                "a {main} disk with {} parent level{} ({})",
                n - 1,
                if n > 2 { "s" } else { "" },
                parents.join(" over ")
            )
        }
    };
    p.push_str(&format!(" of {}", crate::values::Size(s.image.size.0)));
    if s.image.kind.is_sparse() {
        p.push_str(&format!(
            ", {} blocks",
            crate::values::Size(s.image.block_size.map_or(plan::DEFAULT_BLOCK_SIZE, |b| b.0))
        ));
    }
    let writes: usize = chain.iter().map(|i| i.writes.len()).sum();
    p.push_str(&format!(", {writes} write{}", if writes == 1 { "" } else { "s" }));
    if let Some(l) = chain.iter().find(|i| i.kind == Kind::Differencing).and_then(|i| i.locators.as_ref()) {
        let names: Vec<&str> = l.iter().filter_map(|x| x.code.name()).collect();
        p.push_str(&format!(", parent locators {}", if names.is_empty() { "none".into() } else { names.join("+") }));
    }
    for m in &s.mutations {
        p.push_str(&format!(", mutation `{}`", m.op.name()));
    }
    p
}

/// The one-paragraph explanation of a fault.
pub fn explain(implementation: &str, o: &Observation, s: &Scenario, count: u64, steps: usize) -> String {
    let r = &o.result;
    let verb = match r.outcome {
        Outcome::WrongBytes => "reads other bytes than the reference chain reader from",
        Outcome::WrongSize => "reads another virtual size than the reference chain reader from",
        Outcome::AcceptedCorrupt => "reads without an error",
        Outcome::AcceptedMisread => "reads without an error, and other bytes than a lenient reader must return,",
        Outcome::HarnessError => "breaks the adapter's exit-code contract on",
        Outcome::RejectedValid => "refuses",
        Outcome::Crash => "crashes on",
        Outcome::Timeout => "does not finish in time on",
        _ => "disagrees with the references on",
    };
    let codes: Vec<Code> = r.codes.iter().filter_map(|c| Code::parse(c)).collect();
    let verdict = |p: Profile| Verdict::of(codes.iter(), p).as_str();
    let finding_text = if r.codes.is_empty() { "no finding".to_string() } else { r.codes.join(", ") };
    let size = o.built.case().map_or(0, |c| c.virtual_size);
    let mut t = format!(
        "{implementation} {verb} {} ({}). The validator reports {finding_text} (strict: {}, compat: {}), so under \
         conform's judging the case must be {}; the reference chain reader reads {size} bytes. {}{}.",
        kind_phrase(s),
        r.outcome,
        verdict(Profile::Strict),
        verdict(Profile::Compat),
        match r.requirement {
            vhd_conform::Requirement::Read => "read",
            vhd_conform::Requirement::Reject => "refused",
            _ => "read correctly or refused",
        },
        if o.locus == "-" { String::new() } else { format!("{}: ", o.locus) },
        r.detail,
    );
    t.push_str(&format!(
        " The reproducer was shrunk in {steps} step{} and the fault was seen in {count} draw{}.",
        if steps == 1 { "" } else { "s" },
        if count == 1 { "" } else { "s" }
    ));
    t
}

/// Fills `f` from the observation of its (new or smaller) reproducer.
pub fn refresh(f: &mut Fault, implementation: &str, o: &Observation, shrunk: Shrunk) {
    let mut s = shrunk.scenario;
    let codes: Vec<Code> = o.result.codes.iter().filter_map(|c| Code::parse(c)).collect();
    declare(&mut s, &codes);
    s.description = format!("Explored: {implementation} {} ({}).", o.result.outcome, o.locus);
    f.codes = o.key_codes();
    f.all_codes = o.result.codes.clone();
    f.features = o.built.case().map(|c| super::features(&c.tags, o.result.outcome)).unwrap_or_default();
    f.locus = o.locus.clone();
    f.weight = crate::shrink::weight(&s);
    f.shrink_steps = shrunk.steps;
    f.detail = o.result.detail.clone();
    f.explanation = explain(implementation, o, &s, f.count, f.shrink_steps.len());
    f.scenario = s;
}

/// Writes `f`'s folder under `out` (replacing an older one), running `adapter` once more on
/// the built reproducer for its messages.
///
/// # Errors
/// [`ExploreError`] on I/O failure or when the reproducer no longer builds.
pub fn write_fault(out: &Path, f: &Fault, adapter: &Adapter, ropts: &ReaderOptions) -> Result<(), ExploreError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let tmp = out.join(format!(".{}.tmp", f.id));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    vhd_validator::cleanup::watch(&tmp);
    let text = yaml::to_yaml(&f.scenario)
        .map_err(|m| crate::error::GenError::Invalid { path: "scenario".into(), message: m })?;
    std::fs::write(tmp.join("scenario.yaml"), text).map_err(io(&tmp))?;
    let case_dir = tmp.join("case");
    let built = oracle::build(&f.scenario, &case_dir)?;
    let run = vhd_conform::run_reader(
        &case_dir,
        &built.manifest,
        std::slice::from_ref(adapter),
        ropts,
        None,
        &mut |_, _| {},
    )?;
    if let Some(r) = run.implementations.first().and_then(|i| i.results.first()) {
        let json = serde_json::to_string_pretty(r).unwrap_or_default();
        std::fs::write(tmp.join("result.json"), json + "\n").map_err(io(&tmp))?;
        let stderr = r.raw.as_ref().map(|x| x.stderr.clone()).unwrap_or_default();
        std::fs::write(tmp.join("stderr.txt"), stderr).map_err(io(&tmp))?;
    }
    std::fs::write(tmp.join("explanation.md"), format!("# {}\n\n{}\n", f.id, f.explanation)).map_err(io(&tmp))?;
    let dest = out.join(&f.id);
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::rename(&tmp, &dest).map_err(io(&dest))
}

/// The Markdown summary.
pub fn markdown(e: &Exploration) -> String {
    let mut m = String::from("# Exploration summary\n\n");
    m.push_str(&format!(
        "Seed {}, {} draws ({} not buildable) in {:.0} s{}.\n\n",
        e.seed,
        e.draws,
        e.unbuildable,
        e.elapsed_s,
        if e.interrupted { ", interrupted" } else { "" }
    ));
    m.push_str("| implementation | draws | failing | shrinks | runs |\n|---|--:|--:|--:|--:|\n");
    for (name, s) in &e.implementations {
        m.push_str(&format!("| {name} | {} | {} | {} | {} |\n", s.draws, s.failing, s.shrinks, s.runs));
    }
    m.push_str(
        "\n| fault | outcome | codes | features | locus | draws | first find (s) |\n|---|---|---|---|---|--:|--:|\n",
    );
    for f in &e.faults {
        m.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.1} |\n",
            f.id,
            f.outcome,
            f.codes.join(", "),
            f.features.join(", "),
            f.locus.replace('|', "/"),
            f.count,
            f.first_found_s
        ));
    }
    m.push('\n');
    for f in &e.faults {
        m.push_str(&format!("## {}\n\n{}\n\n", f.id, f.explanation));
    }
    m
}

/// Writes `summary.json` and `summary.md` under `out`.
///
/// # Errors
/// [`ExploreError::Io`].
pub fn write_summaries(out: &Path, e: &Exploration) -> Result<(), ExploreError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    for (name, text) in
        [("summary.json", serde_json::to_string_pretty(e).unwrap_or_default() + "\n"), ("summary.md", markdown(e))]
    {
        let tmp = out.join(format!(".{name}.tmp"));
        vhd_validator::cleanup::watch(&tmp);
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, out.join(name)).map_err(io(out))?;
    }
    Ok(())
}
