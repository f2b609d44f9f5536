//! `vhd-generate` on hostile inputs and hostile output directories: FIFOs, devices and huge
//! files as inputs, symbolic links planted in OUT, failures half-way (an invalid scenario, a
//! full disk). Each must end with a clear error, without blocking, and leave nothing behind.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A small valid scenario (a 64 KiB fixed disk).
const SCENARIO: &str = "description: small\nimage:\n  type: fixed\n  size: 64 KiB\n";

/// Runs `vhd-generate` with `args`; a run still going after 60 seconds is killed and fails
/// the test (a hang is a failure).
fn generate(args: &[&std::ffi::OsStr]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vhd-generate"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vhd-generate");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("vhd-generate {args:?} hangs");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

fn args<'a>(v: &'a [&'a Path]) -> Vec<&'a std::ffi::OsStr> {
    v.iter().map(|p| p.as_os_str()).collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().expect("mkfifo").success());
}

#[test]
fn non_regular_and_huge_inputs_are_refused_without_blocking() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let specs = p.join("specs");
    std::fs::create_dir(&specs).unwrap();
    std::fs::write(specs.join("ok.yaml"), SCENARIO).unwrap();
    mkfifo(&specs.join("pipe.yaml"));
    std::os::unix::fs::symlink(".", specs.join("loop")).unwrap();
    // A FIFO inside a scanned directory is skipped with a note; a link cycle is not followed.
    let out = p.join("out");
    let o = generate(&args(&[&specs, Path::new("-o"), &out]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("skipping") && stderr(&o).contains("FIFO"), "{}", stderr(&o));
    assert_eq!(names(&out), ["manifest.json", "ok"]);
    // Named directly: an error naming what it is.
    let big = p.join("big.yaml");
    std::fs::write(&big, vec![b'#'; (16 << 20) + 1]).unwrap();
    for (input, what) in [
        (specs.join("pipe.yaml"), "FIFO"),
        ("/dev/zero".into(), "character device"),
        ("/dev/urandom".into(), "character device"),
        (big.clone(), "16 MiB"),
    ] {
        let out = p.join("out2");
        let o = generate(&args(&[&input, Path::new("-o"), &out]));
        assert_eq!(o.status.code(), Some(2), "{}", input.display());
        assert!(stderr(&o).contains(what), "{}: {}", input.display(), stderr(&o));
        assert!(!out.exists());
    }
}

#[test]
fn planted_links_in_out_are_never_followed() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let spec = p.join("ok.yaml");
    std::fs::write(&spec, SCENARIO).unwrap();
    let outside = p.join("outside");
    std::fs::create_dir(&outside).unwrap();
    // A dangling manifest.json link, and a case directory that is a link out of OUT.
    let out = p.join("out");
    std::fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink(outside.join("planted.json"), out.join("manifest.json")).unwrap();
    for force in [false, true] {
        let paths = [&*spec, Path::new("-o"), &out];
        let mut a = args(&paths);
        if force {
            a.push("--force".as_ref());
        }
        let o = generate(&a);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(names(&outside).is_empty(), "{:?}", names(&outside));
        assert_eq!(names(&out), ["manifest.json"]);
    }
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("ok")).unwrap();
    let o = generate(&[spec.as_os_str(), "-o".as_ref(), out.as_os_str(), "--force".as_ref()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(names(&outside).is_empty());
    // OUT itself a link: refused.
    let out2 = p.join("out2");
    std::os::unix::fs::symlink(&outside, &out2).unwrap();
    let o = generate(&args(&[&spec, Path::new("-o"), &out2]));
    assert_eq!(o.status.code(), Some(2));
    assert!(names(&outside).is_empty());
    // Staging leaves nothing beside OUT.
    assert_eq!(names(p), ["ok.yaml", "out", "out2", "outside"]);
}

#[test]
fn failures_leave_nothing_behind() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let specs = p.join("specs");
    std::fs::create_dir(&specs).unwrap();
    std::fs::write(specs.join("a.yaml"), SCENARIO).unwrap();
    std::fs::write(specs.join("b.yaml"), "description: bad\nimage:\n  type: fixed\n  size: 64 KiB\n  colour: blue\n")
        .unwrap();
    let out = p.join("out");
    let o = generate(&args(&[&specs, Path::new("-o"), &out]));
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists(), "the earlier case was left: {:?}", names(p));
    assert_eq!(names(p), ["specs"]);
    // Disk full (a file size limit, SIGXFSZ ignored so that the write fails): nothing is left,
    // and a rerun needs no --force.
    std::fs::remove_file(specs.join("b.yaml")).unwrap();
    std::fs::write(specs.join("b.yaml"), "description: big\nimage:\n  type: fixed\n  size: 2 MiB\n").unwrap();
    let exe = env!("CARGO_BIN_EXE_vhd-generate");
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f 1000; exec '{exe}' specs -o out"))
        .current_dir(p)
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(2));
    assert_eq!(names(p), ["specs"]);
    let o = generate(&args(&[&specs, Path::new("-o"), &out]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(names(&out), ["a", "b", "manifest.json"]);
}
