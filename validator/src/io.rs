//! Read-only random access to image bytes.
//!
//! Every parser reads through [`ReadAt`], so the same code runs on files (opened read-only) and
//! on in-memory buffers (fuzzing, tests). No function here writes. [`open_regular`] is the one
//! way image files are opened: only regular files, never blocking.
//!
//! It also holds the zero-run helpers shared by every SHA-256 over a virtual disk or a sparse
//! file ([`hash_zeros`], [`data_segment`], [`file_sha256_range`]): runs of zeros are hashed
//! from one static, cache-resident buffer and never read.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io;
use std::path::Path;

/// Zeros hashed and written without reading (64 KiB: stays in the CPU cache).
pub static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

/// Feeds `len` zero bytes to `hasher` from [`ZEROS`] (nothing is allocated or read).
pub fn hash_zeros(hasher: &mut Sha256, mut len: u64) {
    while len > 0 {
        let n = usize::try_from(len).map_or(ZEROS.len(), |l| l.min(ZEROS.len()));
        hasher.update(&ZEROS[..n]);
        len -= n as u64;
    }
}

/// The first data segment of `file` inside `[from, end)` (byte offsets), as `[start, stop)`;
/// `None` when the rest of the range is a hole (reads as zeros).
///
/// Uses `lseek(SEEK_DATA)` and `lseek(SEEK_HOLE)` on Linux; where the file system (or the
/// system) cannot tell, the whole rest of the range counts as data, so callers stay correct
/// and only lose the shortcut.
///
/// # Errors
/// I/O errors of `lseek` other than "no more data" and "not supported".
pub fn data_segment(file: &File, from: u64, end: u64) -> io::Result<Option<(u64, u64)>> {
    if from >= end {
        return Ok(None);
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{seek, SeekFrom};
        let start = match seek(file, SeekFrom::Data(from)) {
            Ok(d) => d,
            Err(rustix::io::Errno::NXIO) => return Ok(None),
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::OPNOTSUPP) => return Ok(Some((from, end))),
            Err(e) => return Err(e.into()),
        };
        if start >= end {
            return Ok(None);
        }
        let stop = match seek(file, SeekFrom::Hole(start)) {
            Ok(h) => h.min(end),
            Err(rustix::io::Errno::NXIO) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some((start.max(from), stop.max(start.max(from)))))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        Ok(Some((from, end)))
    }
}

/// Feeds bytes `[start, end)` of `file` to `hasher`: data segments are read (1 MiB at a time
/// into `buf`), holes are hashed as zeros without reading them (see [`data_segment`]).
///
/// # Errors
/// I/O errors; `UnexpectedEof` when the file is shorter than `end`.
pub fn file_sha256_range(file: &File, start: u64, end: u64, hasher: &mut Sha256) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = start;
    while pos < end {
        let (d, stop) = data_segment(file, pos, end)?.unwrap_or((end, end));
        hash_zeros(hasher, d - pos);
        pos = d;
        while pos < stop {
            let want = usize::try_from(stop - pos).map_or(buf.len(), |l| l.min(buf.len()));
            let piece = &mut buf[..want];
            let n = read_file_at(file, piece, pos)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank while it was hashed"));
            }
            hasher.update(&piece[..n]);
            pos += n as u64;
        }
    }
    Ok(())
}

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

    /// Fails when the source no longer has the length it had when opened (a file changed
    /// while it was read). Sources that cannot change (buffers) always pass.
    ///
    /// # Errors
    /// `InvalidData` naming both lengths, or the error of asking the length.
    fn check_unchanged(&self) -> io::Result<()> {
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
    /// The first [`HEAD_CACHE`] bytes and the last [`TAIL_CACHE`] bytes (all of a file of at
    /// most `HEAD_CACHE` bytes), read once at open: the hard disk footer, its copy, the dynamic
    /// disk header and, for small disks, the BAT and the first sector bitmap are then one read
    /// each instead of one read per structure.
    head: Box<[u8]>,
    tail: Box<[u8]>,
    #[cfg(unix)]
    dev_ino: (u64, u64),
}

impl FileSource {
    /// Opens `path` read-only with [`open_regular`] and records its length (from the same
    /// `fstat` that found it a regular file).
    ///
    /// # Errors
    /// Any error from opening or `stat`ing the file; anything but a regular file is refused.
    pub fn open(path: &Path) -> io::Result<FileSource> {
        let (file, meta) = open_checked(path, false)?;
        Ok(FileSource::from_parts(file, &meta))
    }

    /// Wraps a file already opened (and checked) by [`open_regular`] or
    /// [`open_regular_nofollow`].
    ///
    /// # Errors
    /// An error from `stat`ing the file.
    pub fn from_file(file: File) -> io::Result<FileSource> {
        let meta = file.metadata()?;
        Ok(FileSource::from_parts(file, &meta))
    }

    fn from_parts(file: File, meta: &std::fs::Metadata) -> FileSource {
        #[cfg(unix)]
        let dev_ino = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        let len = meta.len();
        let read = |offset: u64, n: u64| -> Box<[u8]> {
            let mut b = vec![0u8; usize::try_from(n).unwrap_or(0)];
            match read_file_at(&file, &mut b, offset) {
                Ok(got) if got == b.len() => b.into_boxed_slice(),
                _ => Box::default(),
            }
        };
        let head = read(0, len.min(HEAD_CACHE));
        // What of the last TAIL_CACHE bytes the head does not hold (none of a small file).
        let tail_len = len.saturating_sub(HEAD_CACHE).min(TAIL_CACHE);
        let tail = read(len - tail_len, tail_len);
        FileSource {
            file,
            len,
            head,
            tail,
            #[cfg(unix)]
            dev_ino,
        }
    }
}

/// Which file an opened image is, so that two paths to one file are known as one (a cycle in
/// a differencing chain, a parent shared by many children): the device and inode numbers
/// recorded when it was opened on Unix (no further system call; hard links are one file),
/// the canonical path elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileId(#[cfg(unix)] (u64, u64), #[cfg(not(unix))] std::path::PathBuf);

impl FileId {
    /// The identity of `src`, opened from `path` (`path` is used only where there are no
    /// inode numbers: then it is canonicalized, or taken as given when that fails).
    pub fn of(src: &FileSource, path: &Path) -> FileId {
        #[cfg(unix)]
        {
            let _ = path;
            FileId(src.dev_ino)
        }
        #[cfg(not(unix))]
        {
            let _ = src;
            FileId(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
        }
    }
}

/// What a non-regular file is, in words (`a FIFO (named pipe)`, `a socket`, `a character
/// device`, `a block device`, `a directory`, `a symbolic link` for `symlink_metadata`); `None`
/// for a regular file.
pub fn not_regular(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    if t.is_symlink() {
        return Some("a symbolic link");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_socket() {
            return Some("a socket");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
    }
    Some("not a regular file")
}

/// Opens `path` read-only as an image: without blocking (`O_NONBLOCK`, so a FIFO does not hang
/// the open), then decides by `fstat` of the open file, never by the name. Anything but a
/// regular file is refused with an error naming what it is (a FIFO, a socket, a character or
/// block device, a directory), and so is a file of the `proc` or `sysfs` file systems (whose
/// sizes are not their contents). Symbolic links are followed.
///
/// # Errors
/// The error of `open`/`fstat`, or `InvalidInput` saying what the file is.
pub fn open_regular(path: &Path) -> io::Result<File> {
    open_checked(path, false).map(|(file, _)| file)
}

/// [`open_regular`], but a symbolic link as the last component is refused (`O_NOFOLLOW`): for
/// paths already resolved by the caller.
///
/// # Errors
/// As [`open_regular`]; `ELOOP` for a symbolic link.
pub fn open_regular_nofollow(path: &Path) -> io::Result<File> {
    open_checked(path, true).map(|(file, _)| file)
}

/// [`open_regular`] (or its `nofollow` form), with the metadata its `fstat` gave.
fn open_checked(path: &Path, nofollow: bool) -> io::Result<(File, std::fs::Metadata)> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = OFlags::NONBLOCK;
        if nofollow {
            flags |= OFlags::NOFOLLOW;
        }
        o.custom_flags(flags.bits() as i32);
    }
    // Without O_NOFOLLOW, a symbolic link as the last component is refused before the open (a
    // check that can race with a rename; the Unix path above cannot).
    #[cfg(not(unix))]
    if nofollow && std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "is a symbolic link, not a regular file"));
    }
    let file = o.open(path)?;
    let meta = file.metadata()?;
    if let Some(what) = not_regular(&meta) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("is {what}, not a regular file")));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Ok(fs) = rustix::fs::fstatfs(&file) {
        const SYSFS_MAGIC: rustix::fs::FsWord = 0x6265_6572;
        if fs.f_type == rustix::fs::PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a file of the proc or sysfs pseudo file system, not an image",
            ));
        }
    }
    Ok((file, meta))
}

impl ReadAt for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    /// Fails when the file's length is no longer the length recorded at open (the image
    /// changed while it was being read: a reader's result would mix two versions).
    ///
    /// # Errors
    /// `InvalidData` naming both lengths, or the error of `stat`.
    fn check_unchanged(&self) -> io::Result<()> {
        let now = self.file.metadata()?.len();
        if now == self.len {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the file changed size while it was read (from {} to {now} bytes)", self.len),
            ))
        }
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let room = usize::try_from(self.len - offset).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        let (head_len, tail_len) = (<[u8]>::len(&self.head), <[u8]>::len(&self.tail));
        let tail_start = self.len - tail_len as u64;
        let cached = match offset.checked_add(want as u64) {
            Some(end) if end <= head_len as u64 => {
                usize::try_from(offset).ok().and_then(|o| self.head.get(o..)?.get(..want))
            }
            Some(_) if offset >= tail_start && tail_len > 0 => {
                usize::try_from(offset - tail_start).ok().and_then(|o| self.tail.get(o..)?.get(..want))
            }
            _ => None,
        };
        if let Some(bytes) = cached {
            buf[..want].copy_from_slice(bytes);
            return Ok(want);
        }
        read_file_at(&self.file, &mut buf[..want], offset)
    }
}

/// Bytes at the start of an image file read once at open ([`FileSource`]).
const HEAD_CACHE: u64 = 4096;

/// Bytes at the end of an image file read once at open: the hard disk footer.
const TAIL_CACHE: u64 = 512;

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

    fn check_unchanged(&self) -> io::Result<()> {
        (**self).check_unchanged()
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

#[cfg(test)]
mod tests {
    use super::{FileSource, ReadAt, HEAD_CACHE, TAIL_CACHE};

    /// Reads served from the bytes cached at open are the file's bytes: inside the head, inside
    /// the tail, across either edge, short at the end of the file; for files smaller than the
    /// head, the size of the head, and larger.
    #[test]
    fn cached_reads_are_the_files_bytes() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0u64, 100, HEAD_CACHE, HEAD_CACHE + 1, HEAD_CACHE + 300, 3 * HEAD_CACHE] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let path = dir.path().join(format!("f{len}"));
            std::fs::write(&path, &bytes).unwrap();
            let src = FileSource::open(&path).unwrap();
            let edges = [0, 1, HEAD_CACHE - 1, HEAD_CACHE, len.saturating_sub(TAIL_CACHE), len.saturating_sub(1), len];
            for &at in &edges {
                for n in [0usize, 1, 2, 511, 512, 513, 4096, 5000] {
                    let mut buf = vec![0xEEu8; n];
                    let got = src.read_at(at, &mut buf).unwrap();
                    let want = bytes.get(at as usize..).map_or(&[][..], |b| &b[..n.min(b.len())]);
                    assert_eq!(&buf[..got], want, "file of {len} bytes, {n} at {at}");
                }
            }
        }
    }
}
