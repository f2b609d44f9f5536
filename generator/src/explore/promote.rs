//! `vhd-generate promote`: an exploration reproducer becomes a corpus scenario.

use super::oracle;
use super::report::declare;
use crate::case::valid_id;
use crate::error::GenError;
use crate::yaml;
use std::path::{Path, PathBuf};

/// Reads the reproducer at `from` (a fault folder with `scenario.yaml`, or a scenario file),
/// gives it `id`, the tag `explored` and `tags`, declares its codes as the validator reports
/// them on the built images, and writes `specs/<id>.yaml`. Returns the path written.
///
/// # Errors
/// [`GenError`] for a bad id, an unreadable or unbuildable scenario, an existing file without
/// `force`, or an I/O failure.
pub fn promote(from: &Path, id: &str, specs: &Path, tags: &[String], force: bool) -> Result<PathBuf, GenError> {
    if !valid_id(id) {
        return Err(GenError::Invalid { path: "--id".into(), message: format!("{id:?} is not a valid case id") });
    }
    let file = if from.is_dir() { from.join("scenario.yaml") } else { from.to_path_buf() };
    let mut s = yaml::load_scenario(&file)?;
    let scratch = tempfile::tempdir().map_err(|e| GenError::Io { path: std::env::temp_dir(), source: e })?;
    vhd_validator::cleanup::watch(scratch.path());
    let built = oracle::build(&s, scratch.path())?;
    let codes = built.case().map(|c| c.expected_codes.clone()).unwrap_or_default();
    declare(&mut s, &codes);
    s.id = Some(id.to_string());
    s.tags.retain(|t| t != "random");
    for t in std::iter::once("explored").chain(tags.iter().map(String::as_str)) {
        if !s.tags.iter().any(|x| x == t) {
            s.tags.push(t.to_string());
        }
    }
    let text = yaml::to_yaml(&s).map_err(|m| GenError::Invalid { path: id.into(), message: m })?;
    let dest = specs.join(format!("{id}.yaml"));
    if !force && dest.exists() {
        return Err(GenError::Exists(dest));
    }
    let dir = dest.parent().unwrap_or(specs);
    std::fs::create_dir_all(dir).map_err(|e| GenError::Io { path: dir.to_path_buf(), source: e })?;
    let tmp = dest.with_extension("yaml.tmp");
    vhd_validator::cleanup::watch(&tmp);
    std::fs::write(&tmp, text).map_err(|e| GenError::Io { path: tmp.clone(), source: e })?;
    std::fs::rename(&tmp, &dest).map_err(|e| GenError::Io { path: dest.clone(), source: e })?;
    Ok(dest)
}
