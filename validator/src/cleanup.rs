//! Temporary outputs a killed process must not leave behind.
//!
//! Every command writes its output beside the destination first (a hidden temporary file or
//! directory) and renames it into place at the end. A failure removes the temporary copy; a
//! process killed by a signal cannot. The crates that create such temporary paths announce
//! them here with [`watch`] as soon as they exist; a command line installs a [`Watcher`] (with
//! [`set_watcher`]) that removes whatever still exists at an announced path when the process
//! dies, however it dies (`vhd_cli::janitor` does that from a second process, so that even
//! `SIGKILL` leaves nothing).
//!
//! A path renamed into place or removed no longer exists under its temporary name, so it needs
//! no withdrawal; [`release`] only keeps the watcher's list short in long runs. Temporary
//! names are random and never reused, so nothing but a temporary output is ever removed.
//!
//! Without a watcher both calls do nothing. This library itself creates no temporary paths.

use std::path::Path;
use std::sync::OnceLock;

/// Told of every temporary output path of the process.
pub trait Watcher: Send + Sync {
    /// `path` (absolute) was created and must be removed if the process dies now.
    fn watch(&self, path: &Path);
    /// `path` was renamed into place or removed: it is no longer to be removed.
    fn release(&self, path: &Path);
}

static WATCHER: OnceLock<Box<dyn Watcher>> = OnceLock::new();

/// Installs the process's watcher.
///
/// # Errors
/// Gives `watcher` back when one is already installed.
pub fn set_watcher(watcher: Box<dyn Watcher>) -> Result<(), Box<dyn Watcher>> {
    WATCHER.set(watcher)
}

/// Announces a temporary output path (made absolute against the current directory).
pub fn watch(path: &Path) {
    if let (Some(w), Ok(abs)) = (WATCHER.get(), std::path::absolute(path)) {
        w.watch(&abs);
    }
}

/// Withdraws a path announced with [`watch`].
pub fn release(path: &Path) {
    if let (Some(w), Ok(abs)) = (WATCHER.get(), std::path::absolute(path)) {
        w.release(&abs);
    }
}
