//! `vhdbench`: the helper of `scripts/bench.sh` (docs/PERFORMANCE.md). Not a benchmark itself:
//! `cargo bench` runs it without arguments and it only prints its usage.
//!
//! ```text
//! vhdbench full-dynamic PATH SIZE_MIB          fully written dynamic disk (random data)
//! vhdbench sparse-dynamic PATH SIZE_GIB        huge dynamic disk with 3 small writes
//! vhdbench chain DIR SIZE_MIB DEPTH WRITES     DIR/base.vhd + DEPTH differencing levels
//! vhdbench sha256 FILE [CHUNK_KIB]             SHA-256 of a flat file with sha2 (the baseline)
//! vhdbench sha256-zeros BYTES                  SHA-256 of BYTES zeros from a static buffer (the
//!                                              generator's floor: nothing read or written)
//! vhdbench digest IMAGE [CHUNK_KIB]            ChainReader::digest with a given chunk size
//! vhdbench cat IMAGE OUT [CHUNK_KIB]           ChainReader::write_raw with a given chunk size
//! ```

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vhd_testkit::bench as support;
use vhd_validator::chain::ChainReader;
use vhd_validator::check::CheckOptions;

fn num(args: &[String], i: usize, what: &str) -> Result<u64, String> {
    let s = args.get(i).ok_or_else(|| format!("missing {what}"))?;
    s.parse().map_err(|_| format!("{what}: `{s}` is not a number"))
}

fn chunk(args: &[String], i: usize) -> Result<Option<usize>, String> {
    match args.get(i) {
        None => Ok(None),
        Some(_) => Ok(Some(usize::try_from(num(args, i, "CHUNK_KIB")? << 10).map_err(|e| e.to_string())?)),
    }
}

fn reader(image: &Path, chunk: Option<usize>) -> Result<ChainReader, String> {
    let r = ChainReader::open(image, &CheckOptions::default()).map_err(|e| e.to_string())?;
    Ok(match chunk {
        Some(c) => r.with_chunk_size(c),
        None => r,
    })
}

fn run(args: &[String]) -> Result<(), String> {
    let path = |i: usize| args.get(i).map(PathBuf::from).ok_or_else(|| "missing path".to_string());
    let io = |e: std::io::Error| e.to_string();
    match args.first().map(String::as_str) {
        Some("full-dynamic") => {
            support::write_full_dynamic(&path(1)?, num(args, 2, "SIZE_MIB")? << 20, 1).map_err(io)?;
        }
        Some("sparse-dynamic") => {
            let size = num(args, 2, "SIZE_GIB")? << 30;
            // As `qemu-io -c 'write 0 4M' -c 'write 1T 2M' -c 'write 2000G 64k'`.
            let ranges = [(0, 2 << 20), (2 << 20, 2 << 20), (1 << 40, 2 << 20), (2000 << 30, 64 << 10)];
            let ranges: Vec<(u64, u64)> = ranges.into_iter().filter(|&(o, l)| o + l <= size).collect();
            support::write_sparse_dynamic(&path(1)?, size, 2, &ranges).map_err(io)?;
        }
        Some("chain") => {
            let dir = path(1)?;
            let size = num(args, 2, "SIZE_MIB")? << 20;
            let depth = usize::try_from(num(args, 3, "DEPTH")?).map_err(|e| e.to_string())?;
            let writes = usize::try_from(num(args, 4, "WRITES")?).map_err(|e| e.to_string())?;
            std::fs::create_dir_all(&dir).map_err(io)?;
            let top = support::build_chain(&dir, &dir.join("base.vhd"), size, depth, writes).map_err(io)?;
            println!("{}", top.display());
        }
        Some("sha256") => {
            let mut f = std::fs::File::open(path(1)?).map_err(io)?;
            let mut buf = vec![0u8; chunk(args, 2)?.unwrap_or(64 << 10)];
            let mut h = Sha256::new();
            loop {
                let n = f.read(&mut buf).map_err(io)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            println!("{}", vhd_validator::hex::encode(&h.finalize()));
        }
        Some("sha256-zeros") => {
            let mut h = Sha256::new();
            vhd_validator::io::hash_zeros(&mut h, num(args, 1, "BYTES")?);
            println!("{}", vhd_validator::hex::encode(&h.finalize()));
        }
        Some("digest") => {
            let r = reader(&path(1)?, chunk(args, 2)?)?;
            println!("{}", vhd_validator::hex::encode(&r.digest().map_err(|e| e.to_string())?));
        }
        Some("cat") => {
            let r = reader(&path(1)?, chunk(args, 3)?)?;
            let _ = std::fs::remove_file(path(2)?);
            let mut out = std::fs::File::create(path(2)?).map_err(io)?;
            r.write_raw(&mut out).map_err(|e| e.to_string())?;
        }
        _ => {
            eprintln!(
                "vhdbench: helper of scripts/bench.sh; see the comment at the top of validator/benches/vhdbench.rs"
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    // `cargo bench` appends `--bench`; it is not ours.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vhdbench: {e}");
            ExitCode::from(2)
        }
    }
}
