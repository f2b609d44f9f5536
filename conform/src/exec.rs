//! Running one command of an implementation: its own process group, a time limit, standard
//! error captured to a file, and the raw outcome (exit status or signal, output size and
//! SHA-256, messages, time) handed back unjudged.
//!
//! On Unix the command runs in a process group of its own, and the whole group is killed with
//! `SIGKILL` at the time limit and when the command ends (so a wrapper script's background
//! children do not outlive it); a death by signal is reported as such. On other platforms only
//! the command's own process is killed, and [`RawOutcome::signal`] is always `None`.
//!
//! This is the only place in the library that reads a clock: [`std::time::Instant`], a monotonic
//! clock, to enforce the per-command time limit and to report how long a command ran. No
//! verdict depends on it except `timeout`.

use serde::Serialize;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// The default time limit of one command: 10 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a command's messages (standard error, and standard output when it is not the
/// result) a raw outcome keeps, in bytes.
pub(crate) const MESSAGE_LIMIT: usize = 4096;

/// One command to run.
#[derive(Clone, Debug)]
pub(crate) struct Invocation {
    /// Program and arguments (the program is looked up on `PATH` when it has no `/`).
    pub argv: Vec<OsString>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Extra environment variables.
    pub env: Vec<(String, OsString)>,
    /// Where the command's result is expected: with `stdout_is_output`, standard output is
    /// redirected to this file; otherwise the command writes it itself.
    pub output: PathBuf,
    /// Whether standard output is the result (a template without `{out}`).
    pub stdout_is_output: bool,
    /// File that receives standard error (and standard output when it is not the result).
    pub messages: PathBuf,
    /// Time limit; the process group (on Unix; elsewhere the process) is killed when it is
    /// reached.
    pub timeout: Duration,
    /// Whether to compute the result's SHA-256 (a reader's virtual disk) or only its size (a
    /// writer's image, which may be a large sparse file).
    pub hash_output: bool,
}

/// Size and SHA-256 of a command's result file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutputDigest {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex (absent when the invocation did not ask for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// What happened when a command ran, unjudged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RawOutcome {
    /// Exit code when the command exited (not killed by a signal, not timed out).
    pub exit_code: Option<i32>,
    /// The signal that killed the command, when one did and the time limit was not the cause.
    pub signal: Option<i32>,
    /// Whether the time limit was reached (the process group was then killed).
    pub timed_out: bool,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// The result file's size and SHA-256, when the command left one (not computed after a
    /// time-out).
    pub output: Option<OutputDigest>,
    /// The last 4096 bytes of the command's messages (the tail: where a failing
    /// command says why), lossily decoded.
    pub stderr: String,
    /// Whether the messages were longer than that (their beginning was cut).
    pub stderr_truncated: bool,
}

impl RawOutcome {
    /// Whether the command exited with one of `success` codes and left a result file.
    pub(crate) fn succeeded(&self, success: &[i32]) -> bool {
        !self.timed_out
            && self.signal.is_none()
            && self.exit_code.is_some_and(|c| success.contains(&c))
            && self.output.is_some()
    }

    /// A short description: `exit 0`, `exit 2`, `killed by signal 11 (SIGSEGV)`, `timed out`.
    pub(crate) fn status_text(&self) -> String {
        if self.timed_out {
            format!("timed out after {} ms", self.elapsed_ms)
        } else if let Some(s) = self.signal {
            format!("killed by signal {s} ({})", signal_name(s))
        } else if let Some(c) = self.exit_code {
            format!("exit {c}")
        } else {
            "ended without an exit status".to_string()
        }
    }

    /// The first non-empty line of the messages.
    pub(crate) fn first_message_line(&self) -> Option<&str> {
        self.stderr.lines().map(str::trim).find(|l| !l.is_empty())
    }

    /// The messages on one line, for reports: non-empty lines joined by ` / `, leaving out the
    /// frames of a Python traceback (its last line, the exception, stays), cut to `limit`
    /// characters.
    pub(crate) fn message_summary(&self, limit: usize) -> Option<String> {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .map(str::trim)
            .filter(|l| {
                !l.is_empty() && !l.starts_with("Traceback (most recent call last)") && !l.starts_with("File \"")
            })
            .collect();
        if lines.is_empty() {
            return None;
        }
        let joined = lines.join(" / ");
        let mut cut: String = joined.chars().take(limit).collect();
        if cut.len() < joined.len() {
            cut.push_str("...");
        }
        Some(cut)
    }

    /// Replaces `prefix` in the messages (a scratch directory, so that reports show paths
    /// relative to the case root and do not change from run to run).
    pub(crate) fn strip_prefix_in_messages(&mut self, prefix: &str) {
        if !prefix.is_empty() {
            self.stderr = self.stderr.replace(prefix, "");
        }
    }
}

/// The conventional name of a Linux signal number.
pub(crate) fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => "signal",
    }
}

/// Why a command could not be run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The command has no program.
    #[error("empty command")]
    Empty,
    /// A file for the output or the messages could not be created.
    #[error("cannot create {path}: {source}")]
    Create {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The program could not be started (not found, not executable).
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Waiting for the process failed.
    #[error("cannot wait for `{program}`: {source}")]
    Wait {
        /// The program.
        program: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn create(path: &Path) -> Result<File, ExecError> {
    File::create(path).map_err(|source| ExecError::Create { path: path.to_path_buf(), source })
}

/// Process isolation: a process group of its own on Unix, killed whole.
#[cfg(unix)]
mod group {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::{Child, Command, ExitStatus};

    /// Makes the command the leader of a new process group.
    pub(super) fn isolate(cmd: &mut Command) {
        cmd.process_group(0);
    }

    /// Sends `SIGKILL` to the process group `child` leads (ignoring "no such process").
    pub(super) fn kill(child: &mut Child) {
        if let Some(p) = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
        }
    }

    /// The signal that ended the process, if one did.
    pub(super) fn signal(status: ExitStatus) -> Option<i32> {
        status.signal()
    }
}

/// Process isolation where there are no process groups: only the command itself is killed.
#[cfg(not(unix))]
mod group {
    use std::process::{Child, Command, ExitStatus};

    /// Nothing to do: the command runs as an ordinary child.
    pub(super) fn isolate(_cmd: &mut Command) {}

    /// Kills the command's own process (its children, if any, are not reached).
    pub(super) fn kill(child: &mut Child) {
        let _ = child.kill();
    }

    /// No signals: every end is an exit code.
    pub(super) fn signal(_status: ExitStatus) -> Option<i32> {
        None
    }
}

/// Runs `inv`: in a new process group (on Unix), standard input empty, standard error (and
/// standard output unless it is the result) to `inv.messages`. When the time limit passes the
/// whole process group is killed with `SIGKILL`; when the command ends, whatever it left running
/// in its group is killed too. Elsewhere only the command's own process is killed.
///
/// # Errors
/// [`ExecError`] when the command cannot be started (the implementation is missing): that is
/// not an outcome of a case but a problem of the run.
pub(crate) fn run(inv: &Invocation) -> Result<RawOutcome, ExecError> {
    let Some((program, args)) = inv.argv.split_first() else {
        return Err(ExecError::Empty);
    };
    let program_name = program.to_string_lossy().into_owned();
    let messages = create(&inv.messages)?;
    let stdout = if inv.stdout_is_output {
        Stdio::from(create(&inv.output)?)
    } else {
        Stdio::from(messages.try_clone().map_err(|source| ExecError::Create { path: inv.messages.clone(), source })?)
    };
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(&inv.cwd).stdin(Stdio::null()).stdout(stdout).stderr(Stdio::from(messages));
    group::isolate(&mut cmd);
    for (k, v) in &inv.env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|source| ExecError::Spawn { program: program_name.clone(), source })?;
    let (status, timed_out) = match child.wait_timeout(inv.timeout) {
        Ok(Some(status)) => (status, false),
        Ok(None) => {
            group::kill(&mut child);
            match child.wait() {
                Ok(status) => (status, true),
                Err(source) => return Err(ExecError::Wait { program: program_name, source }),
            }
        }
        Err(source) => {
            group::kill(&mut child);
            let _ = child.wait();
            return Err(ExecError::Wait { program: program_name, source });
        }
    };
    // Leave nothing behind (a background child of a wrapper script, say).
    group::kill(&mut child);
    let elapsed_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (stderr, stderr_truncated) = read_tail(&inv.messages, MESSAGE_LIMIT);
    let output = if timed_out {
        None
    } else if inv.hash_output {
        vhd_validator::manifest::file_sha256(&inv.output)
            .ok()
            .map(|(sha, size)| OutputDigest { size, sha256: Some(sha) })
    } else {
        std::fs::metadata(&inv.output)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| OutputDigest { size: m.len(), sha256: None })
    };
    Ok(RawOutcome {
        exit_code: if timed_out { None } else { status.code() },
        signal: if timed_out { None } else { group::signal(status) },
        timed_out,
        elapsed_ms,
        output,
        stderr,
        stderr_truncated,
    })
}

/// The last `limit` bytes of a file, lossily decoded, and whether there was more before them.
fn read_tail(path: &Path, limit: usize) -> (String, bool) {
    use std::io::{Seek, SeekFrom};
    let Ok(mut f) = File::open(path) else {
        return (String::new(), false);
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let cap = u64::try_from(limit).unwrap_or(u64::MAX);
    let start = len.saturating_sub(cap);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return (String::new(), false);
    }
    let mut buf = Vec::new();
    if f.take(cap).read_to_end(&mut buf).is_err() {
        return (String::new(), false);
    }
    (String::from_utf8_lossy(&buf).into_owned(), start > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(dir: &Path, argv: &[&str], timeout_ms: u64, stdout_is_output: bool) -> Invocation {
        Invocation {
            argv: argv.iter().map(OsString::from).collect(),
            cwd: dir.to_path_buf(),
            env: vec![("VHD_TEST".into(), "v".into())],
            output: dir.join("out"),
            stdout_is_output,
            messages: dir.join("messages"),
            timeout: Duration::from_millis(timeout_ms),
            hash_output: true,
        }
    }

    #[test]
    fn exit_status_output_and_messages() {
        let d = tempfile::tempdir().unwrap();
        let r = run(&inv(d.path(), &["sh", "-c", "printf abc; echo oops >&2; echo $VHD_TEST >&2; exit 3"], 5000, true))
            .unwrap();
        assert_eq!(r.exit_code, Some(3));
        assert_eq!(r.signal, None);
        assert!(!r.timed_out);
        assert_eq!(r.stderr, "oops\nv\n");
        assert_eq!(r.first_message_line(), Some("oops"));
        assert_eq!(r.message_summary(100).as_deref(), Some("oops / v"));
        assert_eq!(r.message_summary(3).as_deref(), Some("oop..."));
        let out = r.output.clone().unwrap();
        assert_eq!(out.size, 3);
        assert_eq!(out.sha256.as_deref(), Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        assert!(!r.succeeded(&[0]) && r.succeeded(&[0, 3]));
    }

    #[test]
    fn python_tracebacks_are_summarised_by_their_exception() {
        let mut r = RawOutcome {
            exit_code: Some(1),
            signal: None,
            timed_out: false,
            elapsed_ms: 1,
            output: None,
            stderr: "Traceback (most recent call last):\n  File \"<string>\", line 52, in <module>\nOSError: /tmp/x/a/disk.vhd: bad\n".into(),
            stderr_truncated: false,
        };
        r.strip_prefix_in_messages("/tmp/x/");
        assert_eq!(r.message_summary(200).as_deref(), Some("OSError: a/disk.vhd: bad"));
    }

    #[test]
    fn stdout_goes_to_messages_when_it_is_not_the_output() {
        let d = tempfile::tempdir().unwrap();
        let r = run(&inv(d.path(), &["sh", "-c", "echo hello"], 5000, false)).unwrap();
        assert_eq!(r.exit_code, Some(0));
        assert_eq!(r.stderr, "hello\n");
        assert_eq!(r.output, None, "no result file was written");
        assert!(!r.succeeded(&[0]));
    }

    #[test]
    fn signals_are_reported() {
        let d = tempfile::tempdir().unwrap();
        let r = run(&inv(d.path(), &["sh", "-c", "kill -SEGV $$"], 5000, true)).unwrap();
        assert_eq!(r.signal, Some(11));
        assert_eq!(r.exit_code, None);
        assert!(r.status_text().contains("SIGSEGV"));
    }

    #[test]
    fn time_limit_kills_the_whole_group() {
        let d = tempfile::tempdir().unwrap();
        let marker = d.path().join("grandchild-survived");
        let script = format!("(sleep 2; touch '{}') & sleep 30", marker.display());
        let t0 = Instant::now();
        let r = run(&inv(d.path(), &["sh", "-c", &script], 200, false)).unwrap();
        assert!(r.timed_out);
        assert_eq!((r.exit_code, r.signal), (None, None));
        assert!(t0.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(2500));
        assert!(!marker.exists(), "the background grandchild outlived the time-out");
    }

    #[test]
    fn missing_programs_are_errors_not_outcomes() {
        let d = tempfile::tempdir().unwrap();
        let e = run(&inv(d.path(), &["/nonexistent/vhd-reader"], 1000, false)).unwrap_err();
        assert!(matches!(e, ExecError::Spawn { .. }), "{e}");
    }

    #[test]
    fn long_messages_keep_their_tail() {
        let d = tempfile::tempdir().unwrap();
        let script = "head -c 10000 /dev/zero | tr '\\0' x >&2; echo the-reason >&2";
        let r = run(&inv(d.path(), &["sh", "-c", script], 5000, true)).unwrap();
        assert_eq!(r.stderr.len(), MESSAGE_LIMIT);
        assert!(r.stderr_truncated);
        assert!(r.stderr.ends_with("xthe-reason\n"), "{:?}", &r.stderr[4000..]);
    }
}
