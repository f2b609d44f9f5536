//! `vhd-validate cat`: export the virtual disk of an image (or chain) as raw bytes.

use crate::{progress, Fatal, Outcome, Status};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use vhd_validator::chain::ChainReader;
use vhd_validator::check::{check_path, CheckOptions, DEFAULT_MAX_DEPTH};

/// Write the virtual disk of IMAGE (with its differencing chain) to OUT as a raw image.
///
/// Zero ranges are left as holes. Inputs are opened read-only; OUT is never one of them. A
/// progress bar is drawn on stderr when it is a terminal (virtual disks of 256 MiB or more).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The image (child of the chain).
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,

    /// Output file (raw bytes, the size of the virtual disk).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,

    /// Directory searched for parent images (by file name) after the parent locators; repeatable.
    #[arg(long = "parent-dir", value_name = "DIR")]
    pub parent_dirs: Vec<PathBuf>,

    /// Maximum differencing chain length, child included.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_DEPTH,
          value_parser = crate::parse_depth)]
    pub max_depth: usize,

    /// Overwrite OUT if it exists.
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
    let out_path = &args.output;
    let exists = std::fs::symlink_metadata(out_path).is_ok();
    if exists && !args.force {
        return Err(Fatal::msg(format!(
            "{} exists; refusing to overwrite it (pass --force to replace it)",
            out_path.display()
        )));
    }
    let opts = CheckOptions {
        parent_dirs: args.parent_dirs.clone(),
        max_depth: args.max_depth,
        read_block_data: false,
        ..CheckOptions::default()
    };
    let reader = ChainReader::open(&args.image, &opts)
        .map_err(|e| Fatal::msg(format!("cannot read {}: {e}", args.image.display())))?;
    if exists {
        // --force: never truncate an input of the chain.
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
    let mut file = if args.force {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(out_path)
    } else {
        // create_new: a file that appeared since the check above is not overwritten either.
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(out_path)
    }
    .map_err(|e| Fatal::msg(format!("cannot create {}: {e}", out_path.display())))?;
    let bar = progress::Bar::bytes(&args.image.display().to_string(), reader.size());
    let written = reader.write_raw_with(&mut file, progress::hook(&bar));
    drop(bar);
    if let Err(e) = written.and_then(|()| file.sync_all().map_err(Into::into)) {
        drop(file);
        let _ = std::fs::remove_file(out_path);
        return Err(Fatal::msg(format!(
            "cannot write {}: {e}",
            out_path.display()
        )));
    }
    Ok(Status::Pass)
}
