//! The corpus manifest (`manifest.json`) and corpus verification.
//!
//! A corpus directory holds test cases (one or more VHD files each) and one `manifest.json`
//! that says what every case must yield: the expected rule codes, the expected verdict under
//! each [`Profile`], and for cases that some profile accepts, the SHA-256 of the virtual disk
//! as the generator's own content model computed it (never read back through a reader).
//! `docs/MANIFEST.md` documents the format; `docs/manifest.schema.json` is its JSON Schema,
//! generated from these types (feature `schema`) and kept current by a test of the generator.
//!
//! [`verify_corpus`] runs the validator and the reference reader over every case and compares.
//!
//! # Verification rule
//! For each case and each profile:
//! - every expected code must be among the codes the validator reports for the case's main
//!   image and its chain (codes are the same under every profile);
//! - under [`CodeMatch::Exact`] (how the golden corpus is verified) every reported code must be
//!   expected too; under [`CodeMatch::Floor`] (the default, for manifests that list only some
//!   codes) a reported code the manifest does not list is listed in the result;
//! - the verdict computed from the **reported** findings under that profile ([`Verdict::of`])
//!   must equal the manifest's verdict. So under the floor an extra finding is tolerated only
//!   when it does not change the verdict (in practice: extra info findings, or extra findings of
//!   a severity already expected);
//! - when the manifest has `virtual_disk_sha256`, [`crate::chain::ChainReader::digest`] of the
//!   main image must equal it;
//! - every listed file must exist with the listed size and SHA-256.

use crate::chain::ChainReader;
use crate::check::{check_path, CheckOptions};
use crate::rules::{Code, Profile, Severity};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The manifest format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// File name of the manifest inside a corpus directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The "now" (Unix seconds) a corpus is checked at unless its manifest says otherwise:
/// 2025-01-01T00:00:00Z. Time-stamp-in-the-future rules depend on it; a fixed value keeps
/// verdicts reproducible.
pub const DEFAULT_CHECK_TIME_UNIX: i64 = 1_735_689_600;

/// What a reader should do with a case under one profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Verdict {
    /// No finding of warning or error severity.
    Accept,
    /// At least one warning, no error.
    AcceptWithWarnings,
    /// At least one error.
    Reject,
}

impl Verdict {
    /// The verdict for a worst severity: error → reject, warning → accept-with-warnings,
    /// info or nothing → accept.
    pub fn from_worst(worst: Option<Severity>) -> Verdict {
        match worst {
            Some(Severity::Error) => Verdict::Reject,
            Some(Severity::Warning) => Verdict::AcceptWithWarnings,
            Some(Severity::Info) | None => Verdict::Accept,
        }
    }

    /// The verdict that `codes` give under `profile`, from the catalogue's severities.
    pub fn of<'a>(codes: impl IntoIterator<Item = &'a Code>, profile: Profile) -> Verdict {
        Verdict::from_worst(codes.into_iter().map(|c| c.rule().severity(profile)).max())
    }

    /// Kebab-case name (`accept`, `accept-with-warnings`, `reject`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accept => "accept",
            Verdict::AcceptWithWarnings => "accept-with-warnings",
            Verdict::Reject => "reject",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `codes` (a case's expected codes) reject the case only for a chain depth limit:
/// `CHAIN-DEPTH` is the only code of error severity under the strict profile besides
/// `CHAIN-ERROR-IN-PARENT`, which the same limit makes a parent report. Such a case's disk is
/// defined (the limit is a policy, not something the bytes make wrong), so a case checked with
/// its own `check.max_depth` and rejected only for it carries its digest and may be read.
pub fn rejected_only_for_depth(codes: &[Code]) -> bool {
    let mut errors = codes.iter().filter(|c| c.rule().strict == Severity::Error && **c != Code::ChainErrorInParent);
    errors.next() == Some(&Code::ChainDepth) && errors.next().is_none()
}

/// How a case's expected codes are compared with the codes the validator reports.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CodeMatch {
    /// The expected codes are a floor: each must be reported; a reported code the manifest does
    /// not list is shown but fails the case only when it changes a verdict. For manifests of
    /// other implementations, which may list only the codes they care about.
    #[default]
    Floor,
    /// The reported codes must be exactly the expected ones: a reported code the manifest does
    /// not list fails the case. The golden corpus is verified this way.
    Exact,
}

/// One file of a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// Path relative to the manifest's directory, `/`-separated.
    pub path: String,
    /// File size in bytes.
    pub size: u64,
    /// SHA-256 of the file's bytes, lower-case hex.
    pub sha256: String,
}

/// Check options a case needs that differ from the defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CaseCheck {
    /// Chain depth limit (images, child included) to check the case with; default
    /// [`crate::check::DEFAULT_MAX_DEPTH`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<usize>,
}

/// One test case: a main image (and its differencing chain) and what it must yield.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Namespaced id, `/`-separated, e.g. `dynamic/bat/overlapping-blocks`. Unique in the manifest.
    pub id: String,
    /// What the case is and why it yields what it yields.
    pub description: String,
    /// Specification reference, e.g. `§Hard Disk Footer Format: Checksum`.
    #[serde(default)]
    pub spec: String,
    /// Where the case came from: the scenario file relative to the specs root, or the command
    /// that made an image written by another implementation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The scenario seed the images were generated with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Feature tags, sorted (e.g. `dynamic`, `differencing`, `511-footer`, `block-size-512k`,
    /// `chain-depth-3`, `corrupt`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Every file of the case (images, scenario copy), sorted by path.
    pub files: Vec<CaseFile>,
    /// The image to validate (path relative to the manifest's directory).
    pub image: String,
    /// The differencing chain, child first: `chain[0] == image`, then each parent. A single
    /// image for fixed and dynamic disks.
    pub chain: Vec<String>,
    /// Virtual disk size in bytes (the main image's current size as generated).
    pub virtual_size: u64,
    /// Rule codes the validator must report for the case (catalogue order, unique); a string
    /// that is not a code of the catalogue fails the parse.
    pub expected_codes: Vec<Code>,
    /// Expected verdict per profile (`compat`, `strict`).
    pub verdict: BTreeMap<Profile, Verdict>,
    /// SHA-256 (lower-case hex) of the whole virtual disk, from the generator's content model;
    /// present when some profile does not reject the case and the content is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_disk_sha256: Option<String>,
    /// For a case some profile rejects: the SHA-256 (lower-case hex) of the reading a lenient
    /// reader that accepts it must return, when the bytes define one (e.g. the data of a dynamic
    /// disk whose only fault is a header checksum). A reader that accepts the case and reads
    /// other bytes is `accepted-misread` in conformance runs, worse than `accepted-corrupt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_sha256: Option<String>,
    /// Ids of the known faults of other implementations the case exposes
    /// ([`crate::faults::FAULTS`]), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposes: Vec<String>,
    /// Check options the case must be validated with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CaseCheck>,
}

impl Case {
    /// The expected verdict under `profile` (`None` if the manifest does not list it).
    pub fn verdict_for(&self, profile: Profile) -> Option<Verdict> {
        self.verdict.get(&profile).copied()
    }
}

/// The whole `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Manifest format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The tool and version that wrote the manifest, e.g. `vhd-generator 0.1.0`.
    pub generator: String,
    /// "Now" (Unix seconds) the expectations were computed for; the time-stamp-in-the-future
    /// rules compare with it.
    pub check_time_unix: i64,
    /// The cases, sorted by id.
    pub cases: Vec<Case>,
}

impl Manifest {
    /// An empty manifest written by `generator`.
    pub fn new(generator: impl Into<String>) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            generator: generator.into(),
            check_time_unix: DEFAULT_CHECK_TIME_UNIX,
            cases: Vec::new(),
        }
    }

    /// Reads and parses `dir/manifest.json`.
    ///
    /// # Errors
    /// [`ManifestError`] when the file cannot be read, is not valid JSON of this schema, or has
    /// another format version.
    pub fn load(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Io { path: path.clone(), source })?;
        let m: Manifest =
            serde_json::from_str(&text).map_err(|source| ManifestError::Json { path: path.clone(), source })?;
        if m.format_version != FORMAT_VERSION {
            return Err(ManifestError::Version { path, found: m.format_version });
        }
        Ok(m)
    }

    /// The manifest as pretty JSON with a trailing newline (the on-disk form).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// Why a manifest could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The manifest file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The manifest path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The manifest is not valid JSON of the schema.
    #[error("{path}: {source}")]
    Json {
        /// The manifest path.
        path: PathBuf,
        /// The parse error (with line and column).
        source: serde_json::Error,
    },
    /// Unsupported format version.
    #[error("{path}: manifest format version {found} is not supported (expected {FORMAT_VERSION})")]
    Version {
        /// The manifest path.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
}

/// The outcome of verifying one case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// Expected codes the validator did not report.
    pub missing_codes: Vec<String>,
    /// Reported codes the manifest does not list (a failure only under [`CodeMatch::Exact`]).
    pub extra_codes: Vec<String>,
    /// How the codes were compared ([`verify_case`] gives [`CodeMatch::Floor`]).
    pub code_match: CodeMatch,
    /// Profiles whose verdict differs: (profile, expected, actual).
    pub verdict_mismatches: Vec<(Profile, Verdict, Verdict)>,
    /// Digest problem: expected vs actual, or why it could not be computed.
    pub digest_mismatch: Option<String>,
    /// File problems (missing file, size or SHA-256 differs, unreadable image, ...).
    pub problems: Vec<String>,
}

impl CaseResult {
    /// Whether the case verified.
    pub fn passed(&self) -> bool {
        self.missing_codes.is_empty()
            && (self.code_match == CodeMatch::Floor || self.extra_codes.is_empty())
            && self.verdict_mismatches.is_empty()
            && self.digest_mismatch.is_none()
            && self.problems.is_empty()
    }
}

impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", if self.passed() { "ok  " } else { "FAIL" }, self.id)?;
        for (p, want, got) in &self.verdict_mismatches {
            write!(f, "\n    verdict ({p}): expected {want}, got {got}")?;
        }
        if !self.missing_codes.is_empty() {
            write!(f, "\n    missing codes: {}", self.missing_codes.join(", "))?;
        }
        if !self.extra_codes.is_empty() {
            let what = match self.code_match {
                CodeMatch::Exact => "unexpected codes (exact codes: the manifest must list every reported code)",
                _ => "extra codes",
            };
            write!(f, "\n    {what}: {}", self.extra_codes.join(", "))?;
        }
        if let Some(d) = &self.digest_mismatch {
            write!(f, "\n    digest: {d}")?;
        }
        for p in &self.problems {
            write!(f, "\n    {p}")?;
        }
        Ok(())
    }
}

/// The outcome of [`verify_corpus`].
#[derive(Clone, Debug, Default)]
pub struct CorpusSummary {
    /// The corpus directory.
    pub dir: PathBuf,
    /// A problem with the manifest itself (then `cases` is empty).
    pub manifest_error: Option<String>,
    /// One result per case, in manifest order.
    pub cases: Vec<CaseResult>,
}

impl CorpusSummary {
    /// Number of cases that verified.
    pub fn passed_count(&self) -> usize {
        self.cases.iter().filter(|c| c.passed()).count()
    }

    /// Number of cases that did not verify.
    pub fn failed_count(&self) -> usize {
        self.cases.len() - self.passed_count()
    }

    /// Whether the manifest loaded and every case verified.
    pub fn passed(&self) -> bool {
        self.manifest_error.is_none() && self.failed_count() == 0
    }
}

impl fmt::Display for CorpusSummary {
    /// Failing cases in detail, then one closing line `N passed, N failed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = &self.manifest_error {
            writeln!(f, "corpus {}: {e}", self.dir.display())?;
        }
        for c in self.cases.iter().filter(|c| !c.passed()) {
            writeln!(f, "{c}")?;
        }
        let extra = self.cases.iter().filter(|c| c.passed() && !c.extra_codes.is_empty()).count();
        if extra > 0 {
            writeln!(f, "({extra} passing cases report extra codes that do not change their verdict)")?;
        }
        write!(f, "corpus: {} passed, {} failed", self.passed_count(), self.failed_count())
    }
}

/// SHA-256 (lower-case hex) and size of a file, streamed; holes of a sparse file are hashed
/// as zeros without being read ([`crate::io::file_sha256_range`]).
///
/// # Errors
/// Any I/O error reading the file, or the file shrinking while it is hashed.
pub fn file_sha256(path: &Path) -> std::io::Result<(String, u64)> {
    let f = File::open(path)?;
    let len = f.metadata()?.len();
    let mut h = Sha256::new();
    crate::io::file_sha256_range(&f, 0, len, &mut h)?;
    Ok((crate::hex::encode(&h.finalize()), len))
}

/// Joins a manifest-relative `/`-separated path to `dir`, refusing absolute paths and `..`.
pub fn safe_join(dir: &Path, rel: &str) -> Option<PathBuf> {
    let mut p = dir.to_path_buf();
    for part in rel.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.contains('\\') {
            return None;
        }
        p.push(part);
    }
    Some(p)
}

/// Verifies one case of a manifest whose directory is `dir`, with the expected codes as a floor
/// ([`CodeMatch::Floor`]; set the result's `code_match` to judge it otherwise).
pub fn verify_case(dir: &Path, manifest: &Manifest, case: &Case, base: &CheckOptions) -> CaseResult {
    let mut r = CaseResult { id: case.id.clone(), ..CaseResult::default() };
    for file in &case.files {
        let Some(p) = safe_join(dir, &file.path) else {
            r.problems.push(format!("file path {:?} is not a plain relative path", file.path));
            continue;
        };
        match file_sha256(&p) {
            Ok((sha, size)) => {
                if size != file.size {
                    r.problems.push(format!("{}: size {size}, manifest says {}", file.path, file.size));
                } else if sha != file.sha256 {
                    r.problems.push(format!("{}: SHA-256 {sha}, manifest says {}", file.path, file.sha256));
                }
            }
            Err(e) => r.problems.push(format!("{}: {e}", file.path)),
        }
    }
    let expected = &case.expected_codes;
    let Some(image) = safe_join(dir, &case.image) else {
        r.problems.push(format!("image path {:?} is not a plain relative path", case.image));
        return r;
    };
    let mut opts = base.clone();
    opts.now_unix = Some(manifest.check_time_unix);
    if let Some(d) = case.check.as_ref().and_then(|c| c.max_depth) {
        opts.max_depth = d;
    }
    // Each profile gets its own run: the findings are the same, but chain rules such as
    // CHAIN-ERROR-IN-PARENT depend on the severities of an ancestor's findings under the profile.
    let mut actual: Vec<Code> = Vec::new();
    for profile in Profile::ALL {
        opts.profile = profile;
        let report = match check_path(&image, &opts) {
            Ok(rep) => rep,
            Err(e) => {
                r.problems.push(format!("cannot check: {e}"));
                return r;
            }
        };
        if profile == Profile::Strict {
            actual = report.findings().map(|f| f.code).collect();
            actual.sort();
            actual.dedup();
        }
        let got = Verdict::from_worst(report.worst());
        match case.verdict_for(profile) {
            Some(want) if want == got => {}
            Some(want) => r.verdict_mismatches.push((profile, want, got)),
            None => r.problems.push(format!("manifest has no verdict for profile {profile}")),
        }
    }
    opts.profile = Profile::Strict;
    for c in expected {
        if !actual.contains(c) {
            r.missing_codes.push(c.as_str().to_string());
        }
    }
    for c in &actual {
        if !expected.contains(c) {
            r.extra_codes.push(c.as_str().to_string());
        }
    }
    if let Some(want) = &case.virtual_disk_sha256 {
        // The disk is defined whatever the case's own depth limit (a policy, not the bytes).
        opts.max_depth = base.max_depth;
        match ChainReader::open(&image, &opts).and_then(|reader| reader.digest()) {
            Ok(d) if crate::hex::encode(&d) == *want => {}
            Ok(d) => r.digest_mismatch = Some(format!("expected {want}, reader gives {}", crate::hex::encode(&d))),
            Err(e) => r.digest_mismatch = Some(format!("expected {want}, reader failed: {e}")),
        }
    }
    r
}

/// Verifies every case of the corpus in `dir` (which holds `manifest.json`).
///
/// `opts` supplies the options other than the profile (each profile gets its own check run,
/// because chain rules depend on an ancestor's severities under the profile), the validation time (the manifest's `check_time_unix` is used) and the depth
/// limit (a case's `check.max_depth` overrides it). The summary's [`fmt::Display`] prints the
/// failing cases and a closing `N passed, N failed` line. Cases are verified in parallel on
/// rayon's pool ([`crate::parallel`]); the summary lists them in manifest order. The expected
/// codes are a floor ([`CodeMatch::Floor`]); [`verify_corpus_with`] chooses.
pub fn verify_corpus(dir: &Path, opts: &CheckOptions) -> CorpusSummary {
    verify_corpus_with(dir, opts, CodeMatch::Floor)
}

/// [`verify_corpus`] with the expected codes compared as `codes` says.
pub fn verify_corpus_with(dir: &Path, opts: &CheckOptions, codes: CodeMatch) -> CorpusSummary {
    let mut summary = CorpusSummary { dir: dir.to_path_buf(), ..CorpusSummary::default() };
    let manifest = match Manifest::load(dir) {
        Ok(m) => m,
        Err(e) => {
            summary.manifest_error = Some(e.to_string());
            return summary;
        }
    };
    // The digest dominates a case's cost: SHA-256 over its whole virtual disk.
    let cost = |c: &Case| if c.virtual_disk_sha256.is_some() { c.virtual_size } else { 0 };
    summary.cases =
        crate::parallel::map_costliest_first(&manifest.cases, cost, |case| verify_case(dir, &manifest, case, opts));
    let mut seen = std::collections::BTreeSet::new();
    for (case, r) in manifest.cases.iter().zip(summary.cases.iter_mut()) {
        r.code_match = codes;
        if !seen.insert(case.id.as_str()) {
            r.problems.push("duplicate case id".to_string());
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_from_codes() {
        let none: [Code; 0] = [];
        assert_eq!(Verdict::of(&none, Profile::Strict), Verdict::Accept);
        let short = [Code::FileShortFooter];
        assert_eq!(Verdict::of(&short, Profile::Strict), Verdict::Reject);
        assert_eq!(Verdict::of(&short, Profile::Compat), Verdict::AcceptWithWarnings);
        let info = [Code::BatOrder];
        assert_eq!(Verdict::of(&info, Profile::Strict), Verdict::Accept);
    }

    /// A manifest of one accepted fixed-disk case `a/b` with `codes`.
    fn one_case(codes: Vec<Code>) -> Manifest {
        let mut m = Manifest::new("test 1");
        m.cases.push(Case {
            id: "a/b".into(),
            description: "d".into(),
            spec: String::new(),
            source: None,
            seed: Some(3),
            tags: vec!["fixed".into()],
            files: vec![CaseFile { path: "a/b/disk.vhd".into(), size: 1024, sha256: "00".into() }],
            image: "a/b/disk.vhd".into(),
            chain: vec!["a/b/disk.vhd".into()],
            virtual_size: 512,
            expected_codes: codes,
            verdict: [(Profile::Strict, Verdict::Accept)].into_iter().collect(),
            virtual_disk_sha256: None,
            reference_sha256: None,
            exposes: vec![],
            check: None,
        });
        m
    }

    #[test]
    fn manifest_round_trips_and_refuses_unknown_fields() {
        let m = one_case(vec![]);
        let json = m.to_json();
        assert!(json.contains("\"accept\""));
        let back: Manifest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let bad = json.replacen("\"format_version\"", "\"bogus\": 1, \"format_version\"", 1);
        assert!(serde_json::from_str::<Manifest>(&bad).is_err());
    }

    #[test]
    fn codes_and_profiles_are_typed() {
        let mut m = one_case(vec![Code::FooterChecksum, Code::BatOrder]);
        m.cases[0].verdict.insert(Profile::Compat, Verdict::AcceptWithWarnings);
        let json = m.to_json();
        // The codes keep their order; the profiles are listed by name.
        assert!(json.contains("\"FOOTER-CHECKSUM\",\n        \"BAT-ORDER\""), "{json}");
        assert!(json.find("\"compat\"") < json.find("\"strict\""), "{json}");
        assert_eq!(serde_json::from_str::<Manifest>(&json).unwrap(), m);
        let e = serde_json::from_str::<Manifest>(&json.replace("BAT-ORDER", "BAT-ORDRE")).unwrap_err();
        assert!(e.to_string().contains("unknown rule code `BAT-ORDRE`: not in the rule catalogue"), "{e}");
        assert!(serde_json::from_str::<Manifest>(&json.replace("\"compat\"", "\"lenient\"")).is_err());
    }

    #[test]
    fn exact_codes_fail_on_an_extra_code() {
        let mut r = CaseResult { id: "a".into(), extra_codes: vec!["BAT-ORDER".into()], ..CaseResult::default() };
        assert!(r.passed(), "a floor tolerates an extra code");
        assert!(r.to_string().contains("extra codes: BAT-ORDER"), "{r}");
        r.code_match = CodeMatch::Exact;
        assert!(!r.passed());
        assert!(r.to_string().starts_with("FAIL a\n    unexpected codes (exact codes"), "{r}");
        r.extra_codes.clear();
        assert!(r.passed());
    }

    #[test]
    fn a_depth_limit_alone_rejects() {
        use Code::*;
        assert!(rejected_only_for_depth(&[ChainDepth]));
        assert!(rejected_only_for_depth(&[BatOrder, ChainDepth, ChainErrorInParent]));
        assert!(!rejected_only_for_depth(&[ChainErrorInParent]));
        assert!(!rejected_only_for_depth(&[ChainDepth, FooterChecksum]));
        assert!(!rejected_only_for_depth(&[]));
    }

    #[test]
    fn case_paths_stay_inside() {
        let d = Path::new("/c");
        assert_eq!(safe_join(d, "x/y.vhd"), Some(PathBuf::from("/c/x/y.vhd")));
        assert_eq!(safe_join(d, "../y.vhd"), None);
        assert_eq!(safe_join(d, "/etc/passwd"), None);
    }
}
