//! Read-only random access to image bytes.
//!
//! Every parser reads through [`ReadAt`], so the same code runs on files (opened read-only) and
//! on in-memory buffers (fuzzing, tests). No function here writes.

use std::fs::File;
use std::io;
use std::path::Path;

/// Positioned reads of an immutable byte source.
pub trait ReadAt {
    /// Length of the source in bytes.
    fn len(&self) -> u64;

    /// Whether the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads up to `buf.len()` bytes at byte `offset`; returns how many were read (0 at or past
    /// the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// Reads exactly `buf.len()` bytes at `offset`.
    ///
    /// # Errors
    /// `UnexpectedEof` when the range passes the end of the source; other I/O errors as they come.
    fn read_exact_at(&self, mut offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.read_at(offset, buf)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "read past end of image"));
            }
            buf = &mut buf[n..];
            offset = offset.saturating_add(n as u64);
        }
        Ok(())
    }

    /// Whether `[offset, offset + len)` lies inside the source (false on overflow).
    fn contains(&self, offset: u64, len: u64) -> bool {
        offset.checked_add(len).is_some_and(|end| end <= self.len())
    }
}

/// An image file opened read-only.
#[derive(Debug)]
pub struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    /// Opens `path` read-only and records its length.
    ///
    /// # Errors
    /// Any error from opening or `stat`ing the file; a directory is refused.
    pub fn open(path: &Path) -> io::Result<FileSource> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "is a directory"));
        }
        Ok(FileSource { file, len: meta.len() })
    }
}

impl ReadAt for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let room = usize::try_from(self.len - offset).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        read_file_at(&self.file, &mut buf[..want], offset)
    }
}

#[cfg(unix)]
fn read_file_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_file_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

impl ReadAt for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else { return Ok(0) };
        let Some(src) = self.get(start..) else { return Ok(0) };
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        Ok(n)
    }
}

impl ReadAt for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for Box<T> {
    fn len(&self) -> u64 {
        (**self).len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }
}

/// Wraps a source so that each read returns at most `chunk` bytes: the verdict and the bytes
/// read must not depend on it (a metamorphic oracle for tests and fuzzing).
#[derive(Debug)]
pub struct ChunkLimited<R> {
    inner: R,
    chunk: usize,
}

impl<R: ReadAt> ChunkLimited<R> {
    /// `chunk` is clamped to at least 1.
    pub fn new(inner: R, chunk: usize) -> ChunkLimited<R> {
        ChunkLimited { inner, chunk: chunk.max(1) }
    }
}

impl<R: ReadAt> ReadAt for ChunkLimited<R> {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk);
        self.inner.read_at(offset, &mut buf[..n])
    }
}
