//! `vhd-validate check`: validate images and their differencing chains.

use crate::report::{self, Checked, Run, Unreadable};
use crate::{note, Fatal, Outcome};
use clap::ValueEnum;
use std::io::Write;
use std::path::{Path, PathBuf};
use vhd_validator::check::chain::CheckCache;
use vhd_validator::check::{check_path_cached, CheckOptions, DEFAULT_MAX_LISTED};
use vhd_validator::Profile;

/// Check VHD images (a directory means every .vhd/.avhd file under it, recursively).
///
/// Prints one line per finding and a verdict per image chain. Exit status: 0 when no finding has
/// error severity, 1 when one does, 2 when an input could not be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Severity profile: `strict` reads the spec literally, `compat` grades by what mainstream
    /// readers accept. A profile changes severities, never which findings exist.
    #[arg(long, value_enum, default_value_t = ProfileArg::Strict)]
    pub profile: ProfileArg,

    /// Report format (JSON schema: docs/REPORT.md).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    #[command(flatten)]
    pub chain: crate::ChainArgs,

    /// "Now" for the time-stamp-in-the-future rules: RFC 3339 (2024-05-01T12:00:00Z) or Unix
    /// seconds. Default: the system clock. Pass it to make reports reproducible.
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_now)]
    pub now: Option<i64>,

    /// Do not read block data (skips the sector-bitmap rules that compare bitmaps with data;
    /// time then no longer grows with the allocated data).
    #[arg(long)]
    pub no_data: bool,


    /// Most findings listed per image by each per-entry or per-block rule (BAT entries, sector
    /// bitmaps, truncated blocks); the rest are counted in one summary finding at the BAT.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_LISTED,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_listed: u64,

    /// Images checked at once (default: one per core); the output order does not depend on it.
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Image files or directories.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// `--profile` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// The VHD specification v1.0 read literally.
    Strict,
    /// What mainstream readers (Hyper-V, QEMU, VirtualBox, libvhdi, 7-Zip) accept.
    Compat,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Profile {
        match p {
            ProfileArg::Strict => Profile::Strict,
            ProfileArg::Compat => Profile::Compat,
        }
    }
}

/// `--format` values of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per finding, one verdict line per image chain.
    Text,
    /// One JSON document (docs/REPORT.md).
    Json,
    /// SARIF 2.1.0, for code-scanning views in CI (docs/CONFORMANCE.md).
    Sarif,
}

/// Whether `path` names a VHD image by its extension (`.vhd`, `.avhd`, any case).
pub fn is_image_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("vhd") || e.eq_ignore_ascii_case("avhd"))
}

/// Collects the images under `dir`, recursively, sorted by path. Symbolic links to files are
/// followed; symbolic links to directories are not (no cycles); entries that are not regular
/// files (FIFOs, devices, sockets, dangling links) are skipped with a note.
///
/// # Errors
/// A message when a directory cannot be listed.
fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut listed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        // The type the directory listing gives (no stat; `lstat` where the file system does
        // not say), not followed through a symbolic link.
        let kind = entry.file_type().map_err(|e| format!("cannot stat {}: {e}", entry.path().display()))?;
        listed.push((entry.file_name(), kind));
    }
    // Entries of one directory: their names order them as their paths would.
    listed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (name, kind) in listed {
        let p = dir.join(name);
        if kind.is_dir() {
            walk(&p, found)?;
        } else if is_image_name(&p) {
            if kind.is_file() {
                found.push(p);
                continue;
            }
            // Decided by stat (which never blocks), following a symbolic link: only regular
            // files are images; a FIFO, device or socket named *.vhd is skipped with a note.
            match std::fs::metadata(&p).map(|m| vhd_validator::io::not_regular(&m)) {
                Ok(None) => found.push(p),
                Ok(Some(what)) => note(format!("skipping {}: it is {what}, not a regular file", p.display())),
                Err(e) => note(format!("skipping {}: {e}", p.display())),
            }
        }
    }
    Ok(())
}

/// Expands the command-line paths: files as given, directories into their images.
fn expand(paths: &[PathBuf], unreadable: &mut Vec<Unreadable>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                match walk(p, &mut found) {
                    Ok(()) if found.is_empty() => {
                        note(format!("no .vhd or .avhd files under {}", p.display()))
                    }
                    Ok(()) => {}
                    Err(message) => unreadable.push(Unreadable {
                        file: p.display().to_string(),
                        message,
                    }),
                }
                files.extend(found);
            }
            Ok(_) => files.push(p.clone()),
            Err(e) => unreadable.push(Unreadable {
                file: p.display().to_string(),
                message: format!("cannot open {}: {e}", p.display()),
            }),
        }
    }
    files
}

/// Runs `check`. Text and JSON reports are streamed: each chain is written as soon as it is
/// checked and then dropped, and an ancestor already reported in the run is referred to
/// instead of repeated ([`report::Seen`]), so memory and output do not grow with the number of
/// images times their chain length. SARIF is one document and is collected whole.
pub fn run(args: Args) -> Outcome {
    let mut opts = CheckOptions::default()
        .with_profile(args.profile.into())
        .with_now(args.now.unwrap_or_else(crate::time::system_now));
    opts.parent_dirs.clone_from(&args.chain.parent_dirs);
    opts.parent_search = args.chain.parent_search.into();
    opts.max_depth = args.chain.max_depth;
    opts.read_block_data = !args.no_data;
    opts.max_listed = args.max_listed;
    let mut unreadable = Vec::new();
    let files = expand(&args.paths, &mut unreadable);
    for u in &unreadable {
        crate::error(&u.message);
    }
    let parent_dirs: Vec<String> = args.chain.parent_dirs.iter().map(|p| p.display().to_string()).collect();
    let now_unix = opts.now_unix.unwrap_or_default();
    // `for_each_in_order` starts its own threads: no pool is built.
    let jobs = vhd_validator::parallel::jobs_wanted(args.jobs);
    let mut out = crate::stdout();
    // Images are checked on every core (each worker with its own cache of checked parents) and
    // reported one at a time in input order.
    let check_all = |emit: &mut dyn FnMut(Result<Checked, Unreadable>) -> Result<(), Fatal>| {
        let check = |cache: &mut CheckCache, file: &PathBuf| {
            let name = file.display().to_string();
            match check_path_cached(file, &opts, cache) {
                Ok(mut report) => {
                    // The reports do not use the parsed structures: they are freed here, on
                    // the worker that made them, not on the thread that prints.
                    for image in &mut report.images {
                        image.layout = None;
                    }
                    Ok(Checked { file: name, report })
                }
                Err(e) => Err(Unreadable { file: name, message: e.to_string() }),
            }
        };
        vhd_validator::parallel::for_each_in_order(&files, jobs, CheckCache::default, check, emit)
    };
    if args.format == Format::Sarif {
        let mut checked = Vec::new();
        check_all(&mut |r| {
            match r {
                Ok(c) => checked.push(c),
                Err(u) => {
                    crate::error(&u.message);
                    unreadable.push(u);
                }
            }
            Ok(())
        })?;
        let run = Run {
            profile: opts.profile,
            now_unix,
            read_block_data: opts.read_block_data,
            max_depth: opts.max_depth,
            max_listed: opts.max_listed,
            checked: &checked,
            unreadable: &unreadable,
        };
        crate::sarif::write_sarif(&mut out, &run)?;
        out.flush().map_err(Fatal::from)?;
        return Ok(report::exit_status(&run));
    }
    let json = args.format == Format::Json;
    let mut tally = report::Tally::default();
    for _ in &unreadable {
        tally.add_unreadable();
    }
    if json {
        let header = report::Header {
            profile: opts.profile,
            now_unix,
            read_block_data: opts.read_block_data,
            max_depth: opts.max_depth,
            max_listed: opts.max_listed,
            parent_dirs: &parent_dirs,
        };
        report::json_begin(&mut out, &header)?;
    }
    let mut seen = report::Seen::default();
    let mut first = true;
    check_all(&mut |r| {
        match r {
            Ok(c) => {
                let above = seen.mark(&c);
                if json {
                    report::json_chain(&mut out, &c, &above, first)?;
                } else {
                    report::text_chain(&mut out, &c, &above)?;
                }
                first = false;
                tally.add(&c);
            }
            Err(u) => {
                out.flush()?;
                crate::error(&u.message);
                tally.add_unreadable();
                unreadable.push(u);
            }
        }
        Ok(())
    })?;
    if json {
        report::json_end(&mut out, &unreadable, &tally)?;
    } else {
        report::text_end(&mut out, &tally, opts.profile)?;
    }
    out.flush().map_err(Fatal::from)?;
    Ok(tally.status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_are_matched_case_insensitively() {
        for yes in ["a.vhd", "b.VHD", "dir/c.avhd", "d.AVhd"] {
            assert!(is_image_name(Path::new(yes)), "{yes}");
        }
        for no in ["a.vhdx", "vhd", "a.vhd.gz", "a.img", ".vhd"] {
            assert!(!is_image_name(Path::new(no)), "{no}");
        }
    }

    #[test]
    fn walk_is_recursive_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("sub/deeper")).unwrap();
        for f in [
            "z.vhd",
            "a.VHD",
            "notes.txt",
            "sub/m.avhd",
            "sub/deeper/b.vhd",
            "sub/x.vhdx",
        ] {
            std::fs::write(d.join(f), b"").unwrap();
        }
        let mut found = Vec::new();
        walk(d, &mut found).unwrap();
        let rel: Vec<_> = found
            .iter()
            .map(|p| p.strip_prefix(d).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(rel, ["a.VHD", "sub/deeper/b.vhd", "sub/m.avhd", "z.vhd"]);
    }
}
