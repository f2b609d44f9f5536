//! A killed command leaves nothing behind: `vhd-generate` killed with `SIGKILL` or `SIGTERM`
//! while it hashes a huge, empty disk (before any image file exists) or while it writes a dense
//! one leaves no staging directory and no partial image beside its output; the janitor
//! (`vhd_cli::janitor`) removes them once the process is gone.
#![cfg(unix)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Polls `cond` every 10 ms for at most `secs` seconds.
fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// Every path under `dir`, recursively, relative to it, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).unwrap_or(&p).display().to_string());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Whether a file with data exists anywhere under `dir` (an image being written).
fn has_data_file(dir: &Path) -> bool {
    tree(dir).iter().any(|p| {
        let m = std::fs::metadata(dir.join(p));
        m.is_ok_and(|m| m.is_file() && m.len() > 0 && !p.ends_with(".yaml"))
    })
}

fn generate(dir: &Path, scenario: &str) -> Child {
    std::fs::write(dir.join("s.yaml"), scenario).unwrap();
    Command::new(env!("CARGO_BIN_EXE_vhd-generate"))
        .arg(dir.join("s.yaml"))
        .arg("-o")
        .arg(dir.join("out"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Kills `child` with `signal` (`KILL` or `TERM`; not `INT`, which a shell starting a command
/// in the background makes it ignore) and reaps it.
fn kill(child: &mut Child, signal: &str) {
    let status = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap();
    assert!(status.success(), "kill -{signal} failed");
    let exit = child.wait().unwrap();
    assert!(!exit.success(), "the run ended on its own before the signal: {exit}");
}

/// Runs `scenario`, waits until `ready` holds for the output's parent directory (the run is
/// in the phase under test), kills the run with `signal` and asserts that only the scenario
/// file remains.
fn killed_run_leaves_nothing(scenario: &str, signal: &str, ready: fn(&Path) -> bool) {
    let d = tempfile::tempdir().unwrap();
    let mut child = generate(d.path(), scenario);
    let reached = wait_for(60, || ready(d.path()));
    if !reached {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the run never reached the phase under test: {:?}", tree(d.path()));
    }
    kill(&mut child, signal);
    let clean = wait_for(20, || tree(d.path()) == ["s.yaml"]);
    assert!(clean, "a run killed with SIG{signal} left {:?}", tree(d.path()));
}

/// A dynamic disk of 256 GiB with nothing written: its digest (SHA-256 of 256 GiB of zeros,
/// about two minutes) is taken after the staging directory exists and before any image.
const HUGE_EMPTY: &str = "description: huge and empty\nimage:\n  type: dynamic\n  size: 256 GiB\n";

/// A fixed disk of 1 GiB written whole: its image is written (and hashed on the way).
const DENSE: &str = "description: dense\nimage:\n  type: fixed\n  size: 1 GiB\n  writes:\n    - {offset: 0, length: 1 GiB, pattern: {counter: 0}}\n";

fn staging_exists(d: &Path) -> bool {
    tree(d).iter().any(|p| p.starts_with(".out."))
}

#[test]
fn sigkill_while_hashing_a_huge_empty_disk_leaves_nothing() {
    killed_run_leaves_nothing(HUGE_EMPTY, "KILL", staging_exists);
}

#[test]
fn sigterm_while_hashing_a_huge_empty_disk_leaves_nothing() {
    killed_run_leaves_nothing(HUGE_EMPTY, "TERM", staging_exists);
}

#[test]
fn sigkill_while_writing_a_dense_disk_leaves_nothing() {
    killed_run_leaves_nothing(DENSE, "KILL", has_data_file);
}

#[test]
fn a_run_that_ends_normally_keeps_its_output() {
    let d = tempfile::tempdir().unwrap();
    let mut child = generate(d.path(), "description: small\nimage:\n  type: dynamic\n  size: 4 MiB\n");
    assert!(child.wait().unwrap().success());
    // The janitor has ended and removed nothing: the output is whole, no staging is left.
    std::thread::sleep(Duration::from_millis(200));
    let t = tree(d.path());
    assert!(t.iter().any(|p| p.ends_with(".vhd")), "{t:?}");
    assert!(t.iter().any(|p| p == "out/manifest.json"), "{t:?}");
    assert!(!t.iter().any(|p| p.contains(".tmp") || p.contains(".vhd-generate-")), "{t:?}");
}
