//! `vhd-validate cat`: export the virtual disk of an image (or chain) as raw bytes.

use crate::{progress, Fatal, Outcome, Status};
use std::path::{Path, PathBuf};
use vhd_validator::chain::{ChainReader, ReadError};
use vhd_validator::check::check_path;

/// Write the virtual disk of IMAGE (with its differencing chain) to OUT as a raw image.
///
/// Zero ranges are left as holes. Inputs are opened read-only; OUT is never one of them. A
/// progress bar is drawn on stderr when it is a terminal (virtual disks of 256 MiB or more).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The image (child of the chain).
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,

    /// Output file (raw bytes, the size of the virtual disk), or `-` for standard output. It is
    /// written as a new temporary file beside OUT and renamed into place when complete.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,

    #[command(flatten)]
    pub chain: crate::ChainArgs,


    /// Replace OUT if it exists and is a regular file (never a device, FIFO, directory or
    /// symbolic link).
    #[arg(long)]
    pub force: bool,
}

/// Whether `a` and `b` name the same existing file (same device and inode on Unix, so hard
/// links and symbolic links count; the same canonical path elsewhere).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// Runs `cat`.
pub fn run(args: Args) -> Outcome {
    let opts = args.chain.read_options();
    let out_path = &args.output;
    if out_path.as_os_str() == "-" {
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            return Err(Fatal::msg("refusing to write a raw disk to a terminal (redirect standard output)"));
        }
        let reader = ChainReader::open(&args.image, &opts)
            .map_err(|e| Fatal::msg(format!("cannot read {}: {e}", args.image.display())))?;
        let mut out = crate::stdout();
        return match reader.write_stream_with(&mut out, &vhd_validator::progress::NoProgress) {
            Ok(()) => Ok(Status::Pass),
            Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Fatal::Output(e)),
            Err(e) => Err(Fatal::msg(format!("cannot write the virtual disk of {}: {e}", args.image.display()))),
        };
    }
    let existing = std::fs::symlink_metadata(out_path).ok();
    if let Some(meta) = &existing {
        if !args.force {
            return Err(Fatal::msg(format!(
                "{} exists; refusing to overwrite it (pass --force to replace it)",
                out_path.display()
            )));
        }
        if let Some(what) = vhd_validator::io::not_regular(meta) {
            return Err(Fatal::msg(format!(
                "{} is {what}; --force replaces regular files only",
                out_path.display()
            )));
        }
    }
    let reader = ChainReader::open(&args.image, &opts)
        .map_err(|e| Fatal::msg(format!("cannot read {}: {e}", args.image.display())))?;
    if existing.is_some() {
        // --force: never replace an input of the chain.
        let mut inputs = vec![args.image.clone()];
        if let Ok(chain) = check_path(&args.image, &opts) {
            inputs.extend(chain.images.iter().map(|i| PathBuf::from(&i.file)));
        }
        if let Some(input) = inputs.iter().find(|i| same_file(i, out_path)) {
            return Err(Fatal::msg(format!(
                "{} is an input of the chain ({}); refusing to overwrite it",
                out_path.display(),
                input.display()
            )));
        }
    }
    // A new temporary file beside OUT, renamed into place only when complete: an error leaves
    // nothing behind and touches nothing that existed.
    let dir = match out_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = out_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Fatal::msg(format!("cannot create a temporary file in {}: {e}", dir.display())))?;
    // A 2 TiB sparse temporary file must not outlive a killed `cat`: the janitor removes it.
    vhd_validator::cleanup::watch(tmp.path());
    let bar = progress::Bar::bytes(&args.image.display().to_string(), reader.size());
    let written = reader.write_raw_with(tmp.as_file_mut(), progress::hook(&bar));
    drop(bar);
    let cannot = |e: &dyn std::fmt::Display| Fatal::msg(format!("cannot write {}: {e}", out_path.display()));
    written.map_err(|e| cannot(&e))?;
    // Not fsynced, as `cp` and `qemu-img convert` do not: waiting for the disk costs more than
    // the copy itself. The rename still makes OUT appear complete or not at all for every
    // other process.
    let placed = if args.force { tmp.persist(out_path) } else { tmp.persist_noclobber(out_path) };
    placed.map_err(|e| cannot(&e.error))?;
    Ok(Status::Pass)
}
