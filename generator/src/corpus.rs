//! Generating whole output directories: scenario files and directories to cases plus
//! `manifest.json`, the golden corpus rebuild, and byte-for-byte tree comparison.

use crate::case::{generate_case, valid_id, GenOptions};
use crate::error::GenError;
use crate::scenario::Scenario;
use crate::yaml;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use vhd_validator::manifest::{Case, Manifest, MANIFEST_FILE};
use vhd_validator::progress::{NoProgress, Progress};

/// The generator's name and version as recorded in manifests.
pub fn generator_name() -> String {
    format!("vhd-generator {}", env!("CARGO_PKG_VERSION"))
}

/// A scenario file found in an input, with the case id it gets by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The YAML file.
    pub path: PathBuf,
    /// Default case id: the path under the input directory without extension (a file given
    /// directly: its stem).
    pub default_id: String,
    /// The path recorded as the case's source (`/`-separated, relative to the input root).
    pub source: String,
}

fn is_yaml(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), GenError> {
    let io = |e| GenError::Io { path: dir.to_path_buf(), source: e };
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).map_err(io)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>().map_err(io)?;
    entries.sort();
    for p in entries {
        let meta = std::fs::symlink_metadata(&p).map_err(|e| GenError::Io { path: p.clone(), source: e })?;
        if meta.is_dir() {
            walk(&p, out)?;
        } else if is_yaml(&p) {
            // Decided by stat, never by opening: a FIFO or device named *.yaml is not waited on.
            match std::fs::metadata(&p).map(|m| vhd_validator::io::not_regular(&m)) {
                Ok(None) => out.push(p),
                Ok(Some(what)) => eprintln!("vhd-generate: note: skipping {}: it is {what}", p.display()),
                Err(e) => eprintln!("vhd-generate: note: skipping {}: {e}", p.display()),
            }
        }
    }
    Ok(())
}

fn rel_slash(p: &Path, root: &Path) -> String {
    let rel = p.strip_prefix(root).unwrap_or(p);
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

/// Expands files and directories (searched recursively for `*.yaml` / `*.yml`, sorted) into
/// inputs. Symbolic links to directories are not followed (no cycles); entries that are not
/// regular files are skipped with a note on stderr. The recipe table at the top of a directory
/// ([`crate::recipes::TABLE_FILE`]) is not a scenario and is skipped.
///
/// # Errors
/// [`GenError::Io`] when a path cannot be read.
pub fn collect_inputs(paths: &[PathBuf]) -> Result<Vec<Input>, GenError> {
    let mut v = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files = Vec::new();
            walk(p, &mut files)?;
            for f in files {
                let rel = rel_slash(&f, p);
                if rel == crate::recipes::TABLE_FILE {
                    continue;
                }
                let id = rel.rsplit_once('.').map_or(rel.clone(), |(a, _)| a.to_string());
                v.push(Input { path: f, default_id: id, source: rel });
            }
        } else {
            let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let name = p.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            v.push(Input { path: p.clone(), default_id: stem, source: name });
        }
    }
    Ok(v)
}

/// Generates every input into `out` and writes `out/manifest.json` (cases sorted by id).
///
/// # Errors
/// The first [`GenError`]: a scenario error names its file; duplicate ids are refused.
pub fn generate_inputs(inputs: &[Input], out: &Path, opts: &GenOptions) -> Result<Manifest, GenError> {
    generate_inputs_with(inputs, out, opts, &NoProgress)
}

/// [`generate_inputs`], reporting one unit of `progress` per input (case) done.
///
/// Cases are generated in parallel on rayon's pool (`--jobs`), the largest virtual disks
/// first; the manifest, the error reported (the first failing input in input order) and every
/// file are the same whatever the number of threads.
///
/// # Errors
/// As [`generate_inputs`].
pub fn generate_inputs_with(
    inputs: &[Input],
    out: &Path,
    opts: &GenOptions,
    progress: &dyn Progress,
) -> Result<Manifest, GenError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    stage_output(out, opts.force, |dir| {
        let mut manifest = Manifest::new(generator_name());
        progress.start(inputs.len() as u64);
        // Scenarios are read (and their ids claimed) first, in input order.
        let mut seen = std::collections::BTreeMap::new();
        let mut jobs = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            jobs.push((i, input, load_input(input, &mut seen)?));
        }
        // After a failure only earlier inputs still run, so the error reported is the first one.
        let first_failure = AtomicUsize::new(usize::MAX);
        let cost = |(_, _, s): &(usize, &Input, Option<Scenario>)| s.as_ref().map_or(0, |s| s.image.size.0);
        let results = vhd_validator::parallel::map_costliest_first(&jobs, cost, |(i, input, s)| {
            if *i > first_failure.load(Ordering::Relaxed) {
                return None;
            }
            let r = generate_input(input, s.as_ref(), dir, opts);
            if r.is_err() {
                first_failure.fetch_min(*i, Ordering::Relaxed);
            }
            progress.advance(1);
            Some(r)
        });
        for ((_, input, _), r) in jobs.iter().zip(results) {
            let Some(case) = r.transpose()? else { continue };
            let file = input.path.display().to_string();
            // A foreign case's id is known once it is read.
            if file.ends_with(crate::foreign::SUFFIX) {
                if let Some(prev) = seen.insert(case.id.clone(), file.clone()) {
                    let message = format!("case id {} is also used by {prev}", case.id);
                    return Err(GenError::Invalid { path: "id".into(), message }.in_file(&file));
                }
            }
            manifest.cases.push(case);
        }
        manifest.cases.sort_by(|a, b| a.id.cmp(&b.id));
        write_manifest(dir, &manifest, false)?;
        Ok(manifest)
    })
}

/// Runs `fill` on a new temporary directory beside `out` (in `out`'s parent) and moves what it
/// wrote into `out` only when it succeeded: a failure (an invalid scenario, a full disk) leaves
/// nothing behind and touches nothing that existed.
///
/// When `out` does not exist the staged directory is renamed to it. When it exists, its files
/// and directories are merged in: a file that already exists is an error
/// ([`GenError::Exists`]), unless `force`, which replaces regular files only. Nothing in `out`
/// that is not a regular file or a directory (a symbolic link, even a dangling one, a FIFO, a
/// device) is ever written through or replaced, and `out` itself must be a directory, not a
/// symbolic link. Conflicts are all checked before anything is moved.
///
/// # Errors
/// The error of `fill`; [`GenError::Exists`] or [`GenError::Invalid`] for a conflict;
/// [`GenError::Io`].
pub fn stage_output<T>(
    out: &Path,
    force: bool,
    fill: impl FnOnce(&Path) -> Result<T, GenError>,
) -> Result<T, GenError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GenError::Io { path, source }
    };
    let existing = std::fs::symlink_metadata(out).ok();
    if let Some(m) = &existing {
        if !m.is_dir() {
            let what = vhd_validator::io::not_regular(m).unwrap_or("a file");
            return Err(refuse(out, what));
        }
    }
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp =
        tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".tmp").tempdir_in(parent).map_err(io(parent))?;
    // Removed by the process's janitor if the process is killed before the end.
    vhd_validator::cleanup::watch(tmp.path());
    let value = fill(tmp.path())?;
    if existing.is_none() {
        let kept = tmp.keep();
        if let Err(e) = std::fs::rename(&kept, out) {
            let _ = std::fs::remove_dir_all(&kept);
            return Err(GenError::Io { path: out.to_path_buf(), source: e });
        }
        vhd_validator::cleanup::release(&kept);
        return Ok(value);
    }
    let mut moves = Vec::new();
    plan_merge(tmp.path(), out, force, &mut moves)?;
    for (from, to) in moves {
        std::fs::rename(&from, &to).map_err(io(&to))?;
    }
    Ok(value)
}

fn refuse(path: &Path, what: &str) -> GenError {
    GenError::Invalid {
        path: path.display().to_string(),
        message: format!("is {what}; output is written only into directories and over regular files"),
    }
}

/// Plans the renames that merge the staged tree `from` into the existing directory `to`.
fn plan_merge(from: &Path, to: &Path, force: bool, moves: &mut Vec<(PathBuf, PathBuf)>) -> Result<(), GenError> {
    let io = |e| GenError::Io { path: from.to_path_buf(), source: e };
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(from).map_err(io)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>().map_err(io)?;
    entries.sort();
    for src in entries {
        let Some(name) = src.file_name() else { continue };
        let dst = to.join(name);
        let staged_dir = std::fs::symlink_metadata(&src).map_err(io)?.is_dir();
        match std::fs::symlink_metadata(&dst) {
            Err(_) => moves.push((src, dst)),
            Ok(m) if m.is_dir() && staged_dir => plan_merge(&src, &dst, force, moves)?,
            Ok(m) if m.is_file() && !staged_dir => {
                if !force {
                    return Err(GenError::Exists(dst));
                }
                moves.push((src, dst));
            }
            Ok(m) => return Err(refuse(&dst, vhd_validator::io::not_regular(&m).unwrap_or("a regular file"))),
        }
    }
    Ok(())
}

/// Reads a scenario input and claims its case id in `seen` (ids mapped to their files;
/// duplicates are refused). A foreign case is read when it is generated (`None`).
fn load_input(
    input: &Input,
    seen: &mut std::collections::BTreeMap<String, String>,
) -> Result<Option<Scenario>, GenError> {
    let file = input.path.display().to_string();
    if file.ends_with(crate::foreign::SUFFIX) {
        return Ok(None);
    }
    let s = yaml::load_scenario(&input.path)?;
    let id = s.id.clone().unwrap_or_else(|| input.default_id.clone());
    if !valid_id(&id) {
        return Err(
            GenError::Invalid { path: "id".into(), message: format!("{id:?} is not a valid case id") }.in_file(&file)
        );
    }
    if let Some(prev) = seen.insert(id.clone(), file.clone()) {
        return Err(GenError::Invalid { path: "id".into(), message: format!("case id {id} is also used by {prev}") }
            .in_file(&file));
    }
    Ok(Some(s))
}

/// Generates one input (the scenario `s` read by [`load_input`], or a foreign case) into `out`.
fn generate_input(input: &Input, s: Option<&Scenario>, out: &Path, opts: &GenOptions) -> Result<Case, GenError> {
    let file = input.path.display().to_string();
    let Some(s) = s else {
        let default_id = input.default_id.strip_suffix(".foreign").unwrap_or(&input.default_id);
        return crate::foreign::generate_foreign(&input.path, default_id, out, opts).map_err(|e| e.in_file(&file));
    };
    let id = s.id.clone().unwrap_or_else(|| input.default_id.clone());
    generate_case(s, &id, Some(input.source.clone()), &out.join(&id), &id, &[], opts).map_err(|e| e.in_file(&file))
}

/// Writes `dir/manifest.json` (refusing to overwrite unless `force`).
///
/// # Errors
/// [`GenError::Exists`] or [`GenError::Io`].
pub fn write_manifest(dir: &Path, m: &Manifest, force: bool) -> Result<(), GenError> {
    let path = dir.join(MANIFEST_FILE);
    if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
        return Err(refuse(&path, "not a regular file"));
    }
    if !force && std::fs::symlink_metadata(&path).is_ok() {
        return Err(GenError::Exists(path));
    }
    std::fs::create_dir_all(dir).map_err(|e| GenError::Io { path: dir.to_path_buf(), source: e })?;
    std::fs::write(&path, m.to_json()).map_err(|e| GenError::Io { path, source: e })
}

/// Every regular file under `root`, as sorted `/`-separated relative paths.
///
/// # Errors
/// [`GenError::Io`] when a directory cannot be read.
pub fn list_files(root: &Path) -> Result<Vec<String>, GenError> {
    fn go(dir: &Path, root: &Path, out: &mut Vec<String>) -> Result<(), GenError> {
        let io = |e| GenError::Io { path: dir.to_path_buf(), source: e };
        for e in std::fs::read_dir(dir).map_err(io)? {
            let p = e.map_err(io)?.path();
            if p.is_dir() {
                go(&p, root, out)?;
            } else {
                out.push(rel_slash(&p, root));
            }
        }
        Ok(())
    }
    let mut v = Vec::new();
    if root.exists() {
        go(root, root, &mut v)?;
    }
    v.sort();
    Ok(v)
}

fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = f.read(buf.get_mut(filled..).unwrap_or_default())?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

fn same_bytes(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (mut fa, mut fb) = (File::open(a)?, File::open(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let na = read_full(&mut fa, &mut ba)?;
        let nb = read_full(&mut fb, &mut bb)?;
        if na != nb || ba.get(..na) != bb.get(..nb) {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

/// Compares two trees byte for byte; returns one line per difference (missing, extra or
/// differing file). Empty means identical.
///
/// # Errors
/// [`GenError::Io`] when a tree cannot be read.
pub fn compare_trees(expected: &Path, actual: &Path) -> Result<Vec<String>, GenError> {
    let a = list_files(expected)?;
    let b = list_files(actual)?;
    let size = |f: &String| std::fs::metadata(actual.join(f)).map_or(0, |m| m.len());
    let common: Vec<String> = a.iter().filter(|f| b.binary_search(f).is_ok()).cloned().collect();
    let same = vhd_validator::parallel::map_costliest_first(&common, size, |f| {
        same_bytes(&expected.join(f), &actual.join(f)).map_err(|e| GenError::Io { path: actual.join(f), source: e })
    });
    let mut same = common.iter().zip(same);
    let mut diffs = Vec::new();
    for f in &a {
        if b.binary_search(f).is_err() {
            diffs.push(format!("only in {}: {f}", expected.display()));
        } else if let Some((_, r)) = same.next() {
            if !r? {
                diffs.push(format!("differs: {f}"));
            }
        }
    }
    for f in &b {
        if a.binary_search(f).is_err() {
            diffs.push(format!("not in {}: {f}", expected.display()));
        }
    }
    Ok(diffs)
}

/// Regenerates `specs` into `out` (e.g. `corpus/generated`): the cases are written into a
/// temporary directory beside `out`, which then replaces `out`.
///
/// # Errors
/// Any [`GenError`] of generation; `out` is left untouched then.
pub fn rebuild_corpus(specs: &Path, out: &Path) -> Result<Manifest, GenError> {
    rebuild_corpus_with(specs, out, &NoProgress)
}

/// [`rebuild_corpus`], reporting one unit of `progress` per case generated.
///
/// # Errors
/// As [`rebuild_corpus`].
pub fn rebuild_corpus_with(specs: &Path, out: &Path, progress: &dyn Progress) -> Result<Manifest, GenError> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| GenError::Io { path: parent.to_path_buf(), source: e })?;
    let tmp = tempfile::Builder::new()
        .prefix(".generated-")
        .tempdir_in(parent)
        .map_err(|e| GenError::Io { path: parent.to_path_buf(), source: e })?;
    vhd_validator::cleanup::watch(tmp.path());
    let inputs = collect_inputs(&[specs.to_path_buf()])?;
    let m = generate_inputs_with(&inputs, tmp.path(), &GenOptions::default(), progress)?;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| GenError::Io { path: out.to_path_buf(), source: e })?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, out).map_err(|e| GenError::Io { path: out.to_path_buf(), source: e })?;
    vhd_validator::cleanup::release(&kept);
    Ok(m)
}

/// Regenerates `specs` into a temporary directory and compares it with `out`; returns the
/// differences (empty: reproducible).
///
/// # Errors
/// Any [`GenError`] of generation or reading.
pub fn check_corpus(specs: &Path, out: &Path) -> Result<Vec<String>, GenError> {
    check_corpus_with(specs, out, &NoProgress)
}

/// [`check_corpus`], reporting one unit of `progress` per case regenerated.
///
/// # Errors
/// As [`check_corpus`].
pub fn check_corpus_with(specs: &Path, out: &Path, progress: &dyn Progress) -> Result<Vec<String>, GenError> {
    let tmp = tempfile::tempdir().map_err(|e| GenError::Io { path: std::env::temp_dir(), source: e })?;
    vhd_validator::cleanup::watch(tmp.path());
    let inputs = collect_inputs(&[specs.to_path_buf()])?;
    generate_inputs_with(&inputs, tmp.path(), &GenOptions::default(), progress)?;
    compare_trees(out, tmp.path())
}
