//! `vhd-validate digest`: SHA-256 of the virtual disk of an image (or chain).

use crate::{error, progress, Outcome, Status};
use std::io::Write;
use std::path::PathBuf;
use vhd_validator::chain::ChainReader;

/// Print the SHA-256 of the virtual disk of each IMAGE (with its differencing chain).
///
/// One line per image: `<lowercase sha256>  <virtual size in bytes>  <file>`. The digest covers
/// every byte of the virtual disk, unallocated ranges as zeros, so images with the same contents
/// have the same digest whatever their type or layout (a 2040 GiB disk hashes 2040 GiB, zeros
/// included, at about 1 GiB/s). A progress bar is drawn on stderr when it is a terminal
/// (virtual disks of 256 MiB or more).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Images (each the child of its chain).
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,

    #[command(flatten)]
    pub chain: crate::ChainArgs,

}

/// Runs `digest`. Every image is attempted; any failure makes the status 2.
pub fn run(args: Args) -> Outcome {
    let opts = args.chain.read_options();
    let mut out = crate::stdout();
    let mut status = Status::Pass;
    for image in &args.images {
        let result = ChainReader::open(image, &opts).and_then(|r| {
            // A bar on stderr for large disks when it is a terminal (SHA-256 runs at about
            // 1 GiB/s, and a 2040 GiB disk hashes all its zeros).
            let bar = progress::Bar::bytes(&image.display().to_string(), r.size());
            let sum = r.digest_with(progress::hook(&bar));
            drop(bar);
            Ok((sum?, r.size()))
        });
        match result {
            Ok((sum, size)) => {
                let name = image.display().to_string();
                writeln!(out, "{}  {size}  {}", vhd_validator::hex::encode(&sum), vhd_validator::finding::escape_text(&name))?
            }
            Err(e) => {
                out.flush()?;
                error(format!("cannot read {}: {e}", image.display()));
                status = Status::Fatal;
            }
        }
    }
    out.flush()?;
    Ok(status)
}
