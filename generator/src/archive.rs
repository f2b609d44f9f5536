//! The corpus as one versioned, deterministic archive (`vhd-generate corpus --archive FILE`).
//!
//! A POSIX ustar archive (uncompressed; compress it with any tool) whose single top directory is
//! `vhd-corpus-<version>/`, `<version>` being the generator's version and the first 12 hex
//! digits of the manifest's SHA-256. It holds `manifest.json`, `manifest.schema.json` (the JSON
//! Schema of the manifest) and every file the manifest lists, in path order. Every entry has mode
//! 0644 (directories 0755), owner 0/0, no owner names and modification time 0, so the same corpus
//! gives the same archive bytes. Each listed file is checked against its size and SHA-256 while it
//! is copied; the archive is written to a temporary file beside `dest` and renamed at the end.

use crate::error::GenError;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use vhd_validator::hex::encode as hex;
use vhd_validator::manifest::{safe_join, Manifest, MANIFEST_FILE};

/// ustar header and block size, bytes.
const BLOCK: usize = 512;

/// The largest entry size an ustar size field (11 octal digits) holds: 8 GiB - 1.
const MAX_ENTRY: u64 = (1 << 33) - 1;

fn io_err(path: &Path, e: std::io::Error) -> GenError {
    GenError::Io { path: path.to_path_buf(), source: e }
}

fn invalid(what: &str, why: String) -> GenError {
    GenError::Invalid { path: what.to_string(), message: why }
}

/// Writes `value` as `width - 1` octal digits and a NUL into `field`.
fn octal(field: &mut [u8], value: u64) {
    let width = field.len();
    let text = format!("{value:0w$o}\0", w = width.saturating_sub(1));
    field.copy_from_slice(text.as_bytes().get(..width).unwrap_or_default());
}

/// One ustar header. `name` is split into prefix and name where it is longer than 100 bytes.
fn header(name: &str, size: u64, dir: bool) -> Result<[u8; BLOCK], GenError> {
    let mut h = [0u8; BLOCK];
    let bytes = name.as_bytes();
    let (prefix, base) = if bytes.len() <= 100 {
        (&[][..], bytes)
    } else {
        // Split at a '/' so that the prefix has at most 155 bytes and the name at most 100.
        let cut = (0..bytes.len())
            .rev()
            .find(|&i| bytes.get(i) == Some(&b'/') && i <= 155 && bytes.len() - i - 1 <= 100)
            .ok_or_else(|| invalid("archive", format!("path {name:?} is too long for an ustar header")))?;
        (bytes.get(..cut).unwrap_or_default(), bytes.get(cut + 1..).unwrap_or_default())
    };
    if size > MAX_ENTRY {
        return Err(invalid("archive", format!("{name}: {size} bytes is too large for an ustar entry")));
    }
    h[..base.len()].copy_from_slice(base);
    octal(&mut h[100..108], if dir { 0o755 } else { 0o644 });
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], if dir { 0 } else { size });
    octal(&mut h[136..148], 0);
    h[148..156].fill(b' ');
    h[156] = if dir { b'5' } else { b'0' };
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[345..345 + prefix.len()].copy_from_slice(prefix);
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
    Ok(h)
}

/// Zero bytes that pad `size` to a whole block.
fn padding(size: u64) -> usize {
    let rem = usize::try_from(size % BLOCK as u64).unwrap_or(0);
    if rem == 0 {
        0
    } else {
        BLOCK - rem
    }
}

/// The archive's top directory for `manifest_json` (the manifest's bytes).
pub fn top_dir(manifest_json: &[u8]) -> String {
    let sha = hex(&Sha256::digest(manifest_json));
    format!("vhd-corpus-{}-{}", env!("CARGO_PKG_VERSION"), sha.get(..12).unwrap_or_default())
}

/// Writes the corpus in `corpus` (a directory with `manifest.json`) as an archive to `dest`
/// (module doc) and returns the archive's top directory name.
///
/// # Errors
/// [`GenError`] when the manifest cannot be read, a listed file is missing or does not match its
/// size or SHA-256, a path is too long for ustar, or the archive cannot be written.
pub fn write_archive(corpus: &Path, dest: &Path) -> Result<String, GenError> {
    let manifest_path = corpus.join(MANIFEST_FILE);
    let manifest_json = std::fs::read(&manifest_path).map_err(|e| io_err(&manifest_path, e))?;
    let manifest = Manifest::load(corpus).map_err(|e| invalid("manifest", e.to_string()))?;
    let top = top_dir(&manifest_json);
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp =
        tempfile::Builder::new().prefix(".vhd-corpus-archive-").tempfile_in(parent).map_err(|e| io_err(dest, e))?;
    vhd_validator::cleanup::watch(tmp.path());
    {
        let mut w = BufWriter::new(tmp.as_file());
        let mut put = |bytes: &[u8]| w.write_all(bytes).map_err(|e| io_err(dest, e));
        let mut files: Vec<(&str, u64, &str)> = manifest
            .cases
            .iter()
            .flat_map(|c| c.files.iter().map(|f| (f.path.as_str(), f.size, f.sha256.as_str())))
            .collect();
        files.sort_unstable();
        files.dedup();
        let mut dirs: Vec<String> = vec![String::new()];
        for (p, _, _) in &files {
            let mut acc = String::new();
            for seg in p.split('/').collect::<Vec<_>>().iter().rev().skip(1).rev() {
                acc = if acc.is_empty() { (*seg).to_string() } else { format!("{acc}/{seg}") };
                dirs.push(acc.clone());
            }
        }
        dirs.sort_unstable();
        dirs.dedup();
        for d in &dirs {
            let name = if d.is_empty() { format!("{top}/") } else { format!("{top}/{d}/") };
            put(&header(&name, 0, true)?)?;
        }
        let schema = crate::schema::manifest_schema();
        for (name, bytes) in
            [(MANIFEST_FILE, manifest_json.as_slice()), (crate::schema::MANIFEST_SCHEMA_FILE, schema.as_bytes())]
        {
            let len = bytes.len() as u64;
            put(&header(&format!("{top}/{name}"), len, false)?)?;
            put(bytes)?;
            put(&[0u8; BLOCK][..padding(len)])?;
        }
        let mut buf = vec![0u8; 1 << 20];
        for (rel, size, sha) in files {
            let path = safe_join(corpus, rel)
                .ok_or_else(|| invalid("manifest", format!("{rel:?} is not a plain relative path")))?;
            let mut f = File::open(&path).map_err(|e| io_err(&path, e))?;
            put(&header(&format!("{top}/{rel}"), size, false)?)?;
            let mut h = Sha256::new();
            let mut left = size;
            while left > 0 {
                let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
                let chunk = buf.get_mut(..n).unwrap_or_default();
                f.read_exact(chunk).map_err(|e| io_err(&path, e))?;
                h.update(&*chunk);
                put(chunk)?;
                left -= n as u64;
            }
            let mut extra = [0u8; 1];
            if f.read(&mut extra).map_err(|e| io_err(&path, e))? != 0 || hex(&h.finalize()) != sha {
                return Err(invalid(
                    "archive",
                    format!("{rel} does not match the manifest (size {size}, SHA-256 {sha})"),
                ));
            }
            put(&[0u8; BLOCK][..padding(size)])?;
        }
        put(&[0u8; 2 * BLOCK])?;
        w.flush().map_err(|e| io_err(dest, e))?;
    }
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(|e| io_err(dest, e))?;
    }
    let tmp_path = tmp.path().to_path_buf();
    tmp.persist(dest).map_err(|e| io_err(dest, e.error))?;
    vhd_validator::cleanup::release(&tmp_path);
    Ok(top)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_ustar_with_a_valid_checksum() {
        let h = header("vhd-corpus-1/a/disk.vhd", 1000, false).unwrap();
        assert_eq!(&h[..23], b"vhd-corpus-1/a/disk.vhd");
        assert_eq!(&h[124..136], b"00000001750\0");
        assert_eq!(&h[257..263], b"ustar\0");
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        let mut blank = h;
        blank[148..156].fill(b' ');
        assert_eq!(stored, blank.iter().map(|&b| u32::from(b)).sum::<u32>());
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        let h = header(&long, 1, false).unwrap();
        assert_eq!(&h[..90], "f".repeat(90).as_bytes());
        assert_eq!(&h[345..465], "d".repeat(120).as_bytes());
        assert!(header(&"x".repeat(300), 1, false).is_err());
        assert_eq!((padding(0), padding(1), padding(512), padding(513)), (0, 511, 0, 511));
    }
}
