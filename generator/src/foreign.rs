//! Cases whose images another implementation wrote (e.g. `qemu-img create`): a
//! `NAME.foreign.yaml` file beside the committed image files describes the case, and
//! generation copies the files into the case directory and writes its manifest entry, so such
//! images sit in the same manifest as the generated ones (docs/SCENARIOS.md "Foreign images").
//!
//! Nothing here is derived from this project's reader: the expected codes and the virtual disk
//! digest are the description's (the digest as the writing tool reads its own image back).

use crate::case::{valid_id, verdicts, GenOptions};
use crate::error::GenError;
use serde::Deserialize;
use std::path::Path;
use vhd_validator::manifest::{file_sha256, Case, CaseFile, Verdict};
use vhd_validator::rules::{Code, Profile};

/// File name suffix of a foreign case description.
pub const SUFFIX: &str = ".foreign.yaml";

/// A foreign case description (`*.foreign.yaml`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ForeignCase {
    /// Case id; default: the path under the input directory without `.foreign.yaml`.
    #[serde(default)]
    pub id: Option<String>,
    /// What the case is and why it yields what it yields.
    pub description: String,
    /// Specification reference.
    #[serde(default)]
    pub spec: String,
    /// The commands that made the files (recorded as the manifest's `source`).
    pub source: String,
    /// Extra tags (`foreign` and the disk type are added).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The files of the case: plain file names in the description's directory, copied into
    /// the case directory.
    pub files: Vec<String>,
    /// The image to check (one of `files`).
    pub image: String,
    /// The differencing chain, child first (default: `[image]`).
    #[serde(default)]
    pub chain: Vec<String>,
    /// Virtual disk size in bytes as the writing tool reads it.
    pub virtual_size: u64,
    /// Rule codes the image yields (a code not in the catalogue fails the parse).
    #[serde(default)]
    pub expected_codes: Vec<Code>,
    /// SHA-256 of the virtual disk as the writing tool reads it (e.g. `qemu-img convert -O
    /// raw` then `sha256sum`); required when some profile does not reject the case.
    #[serde(default)]
    pub virtual_disk_sha256: Option<String>,
    /// Disk type tag (`fixed`, `dynamic`, `differencing`).
    #[serde(rename = "type")]
    pub kind: String,
}

fn invalid(path: &str, message: impl Into<String>) -> GenError {
    GenError::Invalid { path: path.to_string(), message: message.into() }
}

fn plain_name(n: &str) -> bool {
    !n.is_empty() && n != "." && n != ".." && !n.contains(['/', '\\'])
}

/// Copies the regular file `from` (opened without blocking: a FIFO or device is refused) to a
/// new file `to` (replaced only when `force`).
fn copy_regular(from: &Path, to: &Path, force: bool) -> Result<(), GenError> {
    let io = |p: &Path| {
        let path = p.to_path_buf();
        move |source| GenError::Io { path, source }
    };
    let mut src = vhd_validator::io::open_regular(from).map_err(io(from))?;
    let mut o = std::fs::OpenOptions::new();
    o.write(true);
    if force {
        o.create(true).truncate(true);
    } else {
        o.create_new(true);
    }
    let mut dst = o.open(to).map_err(io(to))?;
    std::io::copy(&mut src, &mut dst).map_err(io(to))?;
    Ok(())
}

/// Copies the files of the foreign case described at `yaml` into `out/<id>/` (created; files
/// are refused if they exist, unless `opts.force`) and returns its manifest entry. `default_id`
/// is the id when the description gives none.
///
/// # Errors
/// [`GenError::Yaml`] for a bad description; [`GenError::Invalid`] for an unknown code, a bad
/// file name or id, an image not among the files, a missing digest on an accepted case;
/// [`GenError::Io`] / [`GenError::Exists`] for file problems.
pub fn generate_foreign(yaml: &Path, default_id: &str, out: &Path, opts: &GenOptions) -> Result<Case, GenError> {
    let f: ForeignCase = crate::yaml::load(yaml)?;
    let id = f.id.clone().unwrap_or_else(|| default_id.to_string());
    if !valid_id(&id) {
        return Err(invalid("id", format!("{id:?} is not a valid case id")));
    }
    let mut codes = f.expected_codes.clone();
    codes.sort();
    codes.dedup();
    if !["fixed", "dynamic", "differencing"].contains(&f.kind.as_str()) {
        return Err(invalid("type", "must be fixed, dynamic or differencing"));
    }
    for (i, n) in f.files.iter().enumerate() {
        if !plain_name(n) {
            return Err(invalid(&format!("files[{i}]"), format!("{n:?} is not a plain file name")));
        }
    }
    let chain = if f.chain.is_empty() { vec![f.image.clone()] } else { f.chain.clone() };
    if chain.first() != Some(&f.image) {
        return Err(invalid("chain", "must start with the image"));
    }
    if let Some(n) = chain.iter().find(|n| !f.files.contains(n)) {
        return Err(invalid("chain", format!("{n} is not one of the files")));
    }
    let verdict = verdicts(&codes);
    let accepted = verdict.get(&Profile::Compat) != Some(&Verdict::Reject);
    if accepted && f.virtual_disk_sha256.is_none() {
        return Err(invalid("virtual_disk_sha256", "required: some profile accepts the case"));
    }
    if let Some(d) = &f.virtual_disk_sha256 {
        if d.len() != 64 || !d.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(invalid("virtual_disk_sha256", "must be 64 lower-case hex digits"));
        }
    }
    let src_dir = yaml.parent().unwrap_or(Path::new("."));
    let case_dir = out.join(&id);
    let rel_dir = id.as_str();
    std::fs::create_dir_all(&case_dir).map_err(|e| GenError::Io { path: case_dir.clone(), source: e })?;
    let join = |name: &str| format!("{rel_dir}/{name}");
    let mut files = Vec::new();
    for n in &f.files {
        let from = src_dir.join(n);
        let to = case_dir.join(n);
        if !opts.force && to.exists() {
            return Err(GenError::Exists(to));
        }
        copy_regular(&from, &to, opts.force)?;
        let (sha256, size) = file_sha256(&to).map_err(|e| GenError::Io { path: to.clone(), source: e })?;
        files.push(CaseFile { path: join(n), size, sha256 });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut tags = f.tags.clone();
    tags.extend(["foreign".to_string(), f.kind.clone()]);
    tags.sort();
    tags.dedup();
    Ok(Case {
        id: id.clone(),
        description: f.description.trim().to_string(),
        spec: f.spec.clone(),
        source: Some(f.source.trim().to_string()),
        seed: None,
        tags,
        files,
        image: join(&f.image),
        chain: chain.iter().map(|n| join(n)).collect(),
        virtual_size: f.virtual_size,
        expected_codes: codes,
        verdict,
        virtual_disk_sha256: if accepted { f.virtual_disk_sha256.clone() } else { None },
        reference_sha256: None,
        exposes: Vec::new(),
        check: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESC: &str = "id: foreign/x\ntype: fixed\ndescription: d\nsource: made by hand\nfiles: [a.vhd]\nimage: a.vhd\nvirtual_size: 512\nexpected_codes: [FOOTER-SIZE-MIB-ALIGN]\nvirtual_disk_sha256: 076a27c79e5ace2a3d47f9dd2e83e4ff6ea8872b3c2218f66c92b89b55f36560\n";

    fn setup(desc: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.vhd"), [7u8; 1024]).unwrap();
        let y = d.path().join("x.foreign.yaml");
        std::fs::write(&y, desc).unwrap();
        (d, y)
    }

    #[test]
    fn copies_files_and_describes_the_case() {
        let (d, y) = setup(DESC);
        let out = d.path().join("out");
        let c = generate_foreign(&y, "ignored", &out, &GenOptions::default()).unwrap();
        assert_eq!(c.id, "foreign/x");
        assert_eq!(c.image, "foreign/x/a.vhd");
        assert_eq!(c.chain, vec!["foreign/x/a.vhd".to_string()]);
        assert_eq!(c.files.len(), 1);
        assert_eq!(c.files[0].size, 1024);
        assert_eq!(std::fs::read(out.join("foreign/x/a.vhd")).unwrap(), vec![7u8; 1024]);
        assert_eq!(c.source.as_deref(), Some("made by hand"));
        assert_eq!(c.verdict.get(&Profile::Strict), Some(&Verdict::Accept));
        assert!(c.tags.contains(&"foreign".to_string()) && c.tags.contains(&"fixed".to_string()));
        // A second run refuses to overwrite without force.
        assert!(matches!(generate_foreign(&y, "x", &out, &GenOptions::default()), Err(GenError::Exists(_))));
        let force = GenOptions { force: true, ..GenOptions::default() };
        assert!(generate_foreign(&y, "x", &out, &force).is_ok());
    }

    #[test]
    fn refuses_bad_descriptions() {
        for (from, to) in [
            ("files: [a.vhd]", "files: [../a.vhd]"),
            ("image: a.vhd", "image: b.vhd"),
            ("[FOOTER-SIZE-MIB-ALIGN]", "[NO-SUCH-RULE]"),
            ("virtual_disk_sha256: 076a", "bogus: 1\nvirtual_disk_sha256: 076a"),
            ("type: fixed", "type: raw"),
        ] {
            let (d, y) = setup(&DESC.replace(from, to));
            let r = generate_foreign(&y, "x", &d.path().join("out"), &GenOptions::default());
            assert!(r.is_err(), "{to} accepted");
        }
        // An accepted case needs a digest.
        let no_digest = DESC.lines().filter(|l| !l.starts_with("virtual_disk_sha256")).collect::<Vec<_>>().join("\n");
        let (d, y) = setup(&no_digest);
        let r = generate_foreign(&y, "x", &d.path().join("out"), &GenOptions::default());
        assert!(matches!(r, Err(GenError::Invalid { ref path, .. }) if path == "virtual_disk_sha256"), "{r:?}");
    }
}
