//! Removes a killed command's temporary outputs: a second process, started the first time a
//! temporary output is announced ([`vhd_validator::cleanup`]), that outlives the command.
//!
//! The command writes each announced path (absolute) to the janitor's standard input; the
//! janitor waits for the end of that input, which comes when the command ends, however it ends
//! (an error, `SIGINT`, `SIGTERM`, even `SIGKILL`: the kernel closes the pipe). It then removes
//! whatever still exists at an announced path (a file, or a directory with everything in it;
//! symbolic links are removed, never followed) and exits. A command that ended normally has
//! renamed or removed all of them, so the janitor finds nothing to do.
//!
//! The janitor is the same executable started with [`JANITOR_ARG`] as its only argument, in a
//! process group of its own (a terminal's Ctrl-C and a signal to the command's process group
//! do not reach it), with `/` as its working directory and its standard output and error
//! discarded, so that it holds nothing of the command's open. Unix only; elsewhere temporary
//! outputs are removed on errors but not after a kill.
//!
//! Records on the pipe: one byte (`+` announced, `-` withdrawn), the path's bytes, a NUL byte
//! (a Unix path holds no NUL).

use std::path::{Path, PathBuf};

/// The argument that makes a binary of this crate serve as a janitor (never shown in help).
pub const JANITOR_ARG: &str = "--vhd-janitor";

/// Serves as the janitor when the process was started as one (see [`JANITOR_ARG`]), then exits;
/// returns otherwise. Call it first in `main`.
pub fn serve_if_asked() {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() == Some(std::ffi::OsStr::new(JANITOR_ARG)) && args.next().is_none() {
        serve(std::io::stdin().lock());
        std::process::exit(0);
    }
}

/// Installs the janitor as the process's cleanup watcher (started lazily, on the first
/// announced path). The returned guard, dropped at the end of `main`, ends the janitor and waits
/// for it, so that a normal exit leaves no process behind either.
pub fn install() -> Guard {
    let client = std::sync::Arc::new(Client::default());
    #[cfg(unix)]
    let _ = vhd_validator::cleanup::set_watcher(Box::new(Shared(client.clone())));
    Guard(client)
}

/// Ends the janitor when dropped (see [`install`]).
pub struct Guard(std::sync::Arc<Client>);

impl Drop for Guard {
    fn drop(&mut self) {
        let state = std::mem::take(&mut *self.0.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if let State::Running { mut child, stdin } = state {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

#[derive(Default)]
enum State {
    /// Not started yet.
    #[default]
    Idle,
    /// Running; records go to `stdin`.
    Running { child: std::process::Child, stdin: std::process::ChildStdin },
    /// Could not be started, or its pipe broke: announcements are dropped.
    Failed,
}

#[derive(Default)]
struct Client {
    state: std::sync::Mutex<State>,
}

struct Shared(std::sync::Arc<Client>);

impl Client {
    fn send(&self, op: u8, path: &Path) {
        use std::io::Write;
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if matches!(*state, State::Idle) {
            if op == b'-' {
                return;
            }
            *state = start().map_or(State::Failed, |(child, stdin)| State::Running { child, stdin });
        }
        if let State::Running { stdin, .. } = &mut *state {
            if stdin.write_all(&record(op, path)).is_err() {
                *state = State::Failed;
            }
        }
    }
}

impl vhd_validator::cleanup::Watcher for Shared {
    fn watch(&self, path: &Path) {
        self.0.send(b'+', path);
    }

    fn release(&self, path: &Path) {
        self.0.send(b'-', path);
    }
}

/// Starts the janitor: this executable with [`JANITOR_ARG`], in a process group of its own.
#[cfg(unix)]
fn start() -> Option<(std::process::Child, std::process::ChildStdin)> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().ok()?;
    let mut child = Command::new(exe)
        .arg(JANITOR_ARG)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .ok()?;
    let stdin = child.stdin.take()?;
    Some((child, stdin))
}

#[cfg(not(unix))]
fn start() -> Option<(std::process::Child, std::process::ChildStdin)> {
    None
}

#[cfg(unix)]
fn record(op: u8, path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    let mut r = Vec::with_capacity(bytes.len() + 2);
    r.push(op);
    r.extend_from_slice(bytes);
    r.push(0);
    r
}

#[cfg(not(unix))]
fn record(_op: u8, _path: &Path) -> Vec<u8> {
    Vec::new()
}

/// The janitor's work: reads records until the end of `input`, then removes what still exists
/// at every path announced and not withdrawn. A record without its closing NUL (the command
/// died while writing it) is ignored.
fn serve(mut input: impl std::io::Read) {
    let mut bytes = Vec::new();
    let _ = input.read_to_end(&mut bytes);
    for path in pending(&bytes) {
        remove(&path);
    }
}

/// The paths announced and not withdrawn, in announcement order.
fn pending(bytes: &[u8]) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut records = bytes.split(|&b| b == 0);
    // The last piece follows the last NUL: empty, or a record cut short.
    let complete = bytes.iter().filter(|&&b| b == 0).count();
    for r in records.by_ref().take(complete) {
        let Some((&op, path)) = r.split_first() else { continue };
        let Some(path) = path_of(path) else { continue };
        match op {
            b'+' => paths.push(path),
            b'-' => paths.retain(|p| *p != path),
            _ => {}
        }
    }
    paths
}

#[cfg(unix)]
fn path_of(bytes: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let p = PathBuf::from(std::ffi::OsStr::from_bytes(bytes));
    p.is_absolute().then_some(p)
}

#[cfg(not(unix))]
fn path_of(_bytes: &[u8]) -> Option<PathBuf> {
    None
}

/// Removes `path` if something is there: a directory with its contents, anything else as one
/// entry (a symbolic link itself, not its target).
fn remove(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::{pending, record, serve};
    use std::path::{Path, PathBuf};

    #[test]
    fn withdrawn_and_cut_records_are_not_removed() {
        let mut bytes = Vec::new();
        for (op, p) in [(b'+', "/a/one"), (b'+', "/a/two"), (b'-', "/a/one"), (b'+', "relative")] {
            bytes.extend(record(op, Path::new(p)));
        }
        bytes.extend_from_slice(b"+/a/cut-short");
        assert_eq!(pending(&bytes), vec![PathBuf::from("/a/two")]);
    }

    #[test]
    fn serve_removes_what_is_left_and_nothing_else() {
        let d = tempfile::tempdir().unwrap();
        let staged = d.path().join(".out.x.tmp");
        std::fs::create_dir_all(staged.join("case")).unwrap();
        std::fs::write(staged.join("case/disk.vhd"), b"x").unwrap();
        let file = d.path().join(".file.tmp");
        std::fs::write(&file, b"y").unwrap();
        let done = d.path().join(".done.tmp");
        std::fs::write(&done, b"z").unwrap();
        let keep = d.path().join("kept.vhd");
        std::fs::write(&keep, b"k").unwrap();
        // A symbolic link announced is removed itself; its target stays.
        let link = d.path().join(".link.tmp");
        std::os::unix::fs::symlink(&keep, &link).unwrap();
        let mut bytes = Vec::new();
        for (op, p) in [(b'+', &staged), (b'+', &file), (b'+', &done), (b'-', &done), (b'+', &link)] {
            bytes.extend(record(op, p));
        }
        bytes.extend(record(b'+', &d.path().join("never-created")));
        serve(bytes.as_slice());
        assert!(!staged.exists() && !file.exists() && std::fs::symlink_metadata(&link).is_err());
        assert!(done.exists() && keep.exists());
    }
}
