//! The reference reader (stub API; to be written).

use crate::check::CheckOptions;
use std::path::Path;

/// Why the virtual disk cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// I/O error on an image file.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The image or chain is too damaged to give its virtual disk a meaning.
    #[error("unreadable image: {0}")]
    Unreadable(String),
}

/// A range of the virtual disk where some image in the chain holds data (bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// Virtual byte offset.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
}

/// Reads the virtual disk of an image or differencing chain.
#[derive(Debug)]
pub struct ChainReader {
    size: u64,
}

impl ChainReader {
    /// Opens `path` and resolves its parents as `opts` says.
    ///
    /// # Errors
    /// [`ReadError`] when a file cannot be read or the chain has no meaning.
    pub fn open(path: &Path, opts: &CheckOptions) -> Result<ChainReader, ReadError> {
        let _ = (path, opts);
        Err(ReadError::Unreadable("reader not written yet".into()))
    }

    /// Virtual disk size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Fills `buf` with virtual disk bytes from `offset`; bytes past the end read as zero.
    ///
    /// # Errors
    /// [`ReadError`] on I/O failure.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let _ = offset;
        buf.fill(0);
        Ok(())
    }

    /// Allocated extents in increasing order.
    pub fn extents(&self) -> Vec<Extent> {
        Vec::new()
    }

    /// SHA-256 of the whole virtual disk.
    ///
    /// # Errors
    /// [`ReadError`] on I/O failure.
    pub fn digest(&self) -> Result<[u8; 32], ReadError> {
        Err(ReadError::Unreadable("reader not written yet".into()))
    }

    /// Writes the virtual disk as raw bytes to `out`, leaving holes where it is zero.
    ///
    /// # Errors
    /// [`ReadError`] on I/O failure.
    pub fn write_raw(&self, out: &mut std::fs::File) -> Result<(), ReadError> {
        let _ = out;
        Err(ReadError::Unreadable("reader not written yet".into()))
    }
}
