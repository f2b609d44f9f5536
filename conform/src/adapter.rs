//! Adapters: how to run an implementation on one case, and what it declares about itself.
//!
//! An adapter is a command template plus the implementation's name, version, the feature tags
//! it declares unsupported and its [`ExitContract`]: which exit codes mean "read", "refused this
//! image" and "unsupported feature". It runs the command and reports the raw outcome
//! ([`super::exec::RawOutcome`]); judging it against the manifest is the runner's job alone.
//!
//! Built-in reader adapters ([`Builtin`]):
//! - `qemu-img`: `qemu-img convert -q -f vpc -O raw {image} {out}`. Declares `differencing`
//!   unsupported: QEMU's vpc driver has no backing-file support and reads a differencing disk
//!   as a standalone dynamic disk (unallocated blocks as zeros) without an error.
//! - `libvhdi`: `/usr/bin/python3 -c <libvhdi_read.py> {image} {out}`, pyvhdi from
//!   python3-libvhdi (the interpreter is [`DEFAULT_PYTHON`] unless another is given to
//!   [`Builtin::adapter_with_python`]); parents are opened as libvhdi's vhdimount opens them (the stored parent
//!   file name, in the child's directory) and attached with `set_parent`.
//! - `7zip`: `7zz e -so -tvhd -bd {image}`, the virtual disk on standard output. 7-Zip looks for
//!   a differencing disk's parent beside the image by itself.

use super::exec::{self, Invocation};
use super::template::{Placeholder, Template, TemplateError};
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

/// The pyvhdi script of the `libvhdi` adapter (`src/libvhdi_read.py`).
pub(crate) const LIBVHDI_SCRIPT: &str = include_str!("libvhdi_read.py");

/// The Python interpreter the `libvhdi` adapter uses by default: Debian's python3-libvhdi
/// installs pyvhdi for the system interpreter, which a virtual environment's `python3` earlier on
/// `PATH` would hide. [`Builtin::adapter_with_python`] (`vhd-validate conform --python`) names
/// another one.
pub const DEFAULT_PYTHON: &str = "/usr/bin/python3";

/// An implementation as the runner sees it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Adapter {
    /// Short name used in reports and in expect-file sections (`qemu-img`, `mytool`).
    pub name: String,
    /// Version string as the implementation reports it, when known.
    pub version: Option<String>,
    /// The command of one case.
    pub template: Template,
    /// Feature tags (manifest `tags`) the implementation does not support: cases carrying one
    /// are `skipped`.
    pub unsupported: Vec<String>,
    /// What the command's exit codes mean.
    pub exit: ExitContract,
    /// Why the unsupported tags are unsupported, for reports.
    pub note: Option<String>,
}

impl Adapter {
    /// An adapter for a user's command template (`--cmd`).
    ///
    /// # Errors
    /// [`TemplateError`] when the template does not parse or uses neither `{image}` nor
    /// `{chain}` nor `{dir}`.
    pub fn from_template(name: &str, template: &str) -> Result<Adapter, TemplateError> {
        let template = Template::parse(template, Placeholder::READER)?;
        template.require(&[Placeholder::Image, Placeholder::Chain, Placeholder::Dir])?;
        Ok(Adapter {
            name: name.to_string(),
            version: None,
            template,
            unsupported: Vec::new(),
            exit: ExitContract::default(),
            note: None,
        })
    }

    /// Whether the command writes the virtual disk to standard output (no `{out}`).
    pub(crate) fn stdout_is_output(&self) -> bool {
        !self.template.uses(Placeholder::Out)
    }

    /// The unsupported tags among `tags`.
    pub(crate) fn unsupported_in<'t>(&self, tags: &'t [String]) -> Vec<&'t str> {
        tags.iter().filter(|t| self.unsupported.contains(t)).map(String::as_str).collect()
    }
}

/// What a reader command's exit status means (the adapter contract of `--cmd`,
/// docs/CONFORMANCE.md "The adapter contract").
///
/// - a code in `ok`: the image was read and the virtual disk written (default `0`);
/// - a code in `refused`: the implementation refused this image (default `1`);
/// - a code in `unsupported`: the image uses a feature the implementation does not support; the
///   case is skipped, never a pass (default `77`, the Automake convention);
/// - killed by a signal, or an exit code 128+N (N a signal number, 1 to 64: what a shell
///   reports for a child killed by signal N) not listed above: a crash;
/// - any other exit code: a harness error, always a failure (a wrapper that cannot find its
///   program, a usage error, an uncaught exception of an unexpected kind).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ExitContract {
    /// Exit codes that mean "read without error".
    pub ok: Vec<i32>,
    /// Exit codes that mean "refused this image".
    pub refused: Vec<i32>,
    /// Exit codes that mean "unsupported feature".
    pub unsupported: Vec<i32>,
}

impl Default for ExitContract {
    fn default() -> ExitContract {
        ExitContract { ok: vec![0], refused: vec![1], unsupported: vec![77] }
    }
}

/// What an exit code means under an [`ExitContract`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum ExitMeaning {
    /// Read without error.
    Ok,
    /// Refused the image.
    Refused,
    /// Unsupported feature.
    Unsupported,
    /// 128+N from a shell: the program behind it was killed by signal N.
    Signal(i32),
    /// Anything else: the harness failed.
    HarnessError,
}

impl ExitContract {
    /// A contract with the given code lists. An empty list keeps the default of that kind,
    /// less the codes the other lists give (so `--ok-exit 0,1` alone makes 1 a success).
    pub fn with(ok: &[i32], refused: &[i32], unsupported: &[i32]) -> ExitContract {
        let d = ExitContract::default();
        let given: Vec<i32> = ok.iter().chain(refused).chain(unsupported).copied().collect();
        let pick = |v: &[i32], def: Vec<i32>| {
            if v.is_empty() {
                def.into_iter().filter(|c| !given.contains(c)).collect()
            } else {
                v.to_vec()
            }
        };
        ExitContract {
            ok: pick(ok, d.ok),
            refused: pick(refused, d.refused),
            unsupported: pick(unsupported, d.unsupported),
        }
    }

    /// The meaning of exit code `code` (a listed code wins over the 128+N rule).
    pub(crate) fn meaning(&self, code: i32) -> ExitMeaning {
        if self.ok.contains(&code) {
            ExitMeaning::Ok
        } else if self.refused.contains(&code) {
            ExitMeaning::Refused
        } else if self.unsupported.contains(&code) {
            ExitMeaning::Unsupported
        } else if (129..=192).contains(&code) {
            ExitMeaning::Signal(code - 128)
        } else {
            ExitMeaning::HarnessError
        }
    }

    /// A code listed under two meanings, if any.
    pub fn overlap(&self) -> Option<i32> {
        let lists = [&self.ok, &self.refused, &self.unsupported];
        lists
            .iter()
            .enumerate()
            .find_map(|(i, a)| a.iter().copied().find(|c| lists.iter().skip(i + 1).any(|b| b.contains(c))))
    }
}

/// The built-in reader adapters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Builtin {
    /// QEMU's `qemu-img convert`.
    QemuImg,
    /// libvhdi through pyvhdi.
    Libvhdi,
    /// 7-Zip's `7zz`.
    SevenZip,
}

impl Builtin {
    /// Every built-in.
    pub const ALL: [Builtin; 3] = [Builtin::QemuImg, Builtin::Libvhdi, Builtin::SevenZip];

    /// The name in reports and on the command line (`qemu-img`, `libvhdi`, `7zip`).
    pub fn name(self) -> &'static str {
        match self {
            Builtin::QemuImg => "qemu-img",
            Builtin::Libvhdi => "libvhdi",
            Builtin::SevenZip => "7zip",
        }
    }

    /// Parses a built-in's name.
    pub fn parse(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The adapter (version not probed yet: see [`probe_version`]), libvhdi's with
    /// [`DEFAULT_PYTHON`].
    pub fn adapter(self) -> Adapter {
        self.adapter_with_python(DEFAULT_PYTHON)
    }

    /// The adapter, libvhdi's run by the Python interpreter `python` (a path, or a name looked up
    /// on `PATH`); the other built-ins do not use it.
    pub fn adapter_with_python(self, python: &str) -> Adapter {
        let r = Placeholder::READER;
        let words = |w: &[&str]| Template::from_words(w, r, &w.join(" "));
        let (template, unsupported, note) = match self {
            Builtin::QemuImg => (
                words(&["qemu-img", "convert", "-q", "-f", "vpc", "-O", "raw", "{image}", "{out}"]),
                vec!["differencing".to_string()],
                Some(
                    "QEMU's vpc driver has no backing-file support: it reads a differencing disk as a \
                     standalone dynamic disk, without an error"
                        .to_string(),
                ),
            ),
            Builtin::Libvhdi => (
                Template::from_words(
                    &[python, "-c", LIBVHDI_SCRIPT, "{image}", "{out}"],
                    r,
                    &format!("{python} -c \"$(cat conform/src/libvhdi_read.py)\" {{image}} {{out}}"),
                ),
                Vec::new(),
                None,
            ),
            Builtin::SevenZip => (words(&["7zz", "e", "-so", "-tvhd", "-bd", "{image}"]), Vec::new(), None),
        };
        // 7-Zip exits 2 on a fatal error (an archive it cannot open) and 1 on a warning.
        let exit = match self {
            Builtin::SevenZip => ExitContract::with(&[0], &[1, 2], &[]),
            Builtin::QemuImg | Builtin::Libvhdi => ExitContract::default(),
        };
        Adapter { name: self.name().to_string(), version: None, template, unsupported, exit, note }
    }

    /// The command that prints the implementation's version ([`DEFAULT_PYTHON`] for libvhdi).
    pub fn version_command(self) -> Vec<&'static str> {
        self.version_command_with_python(DEFAULT_PYTHON)
    }

    /// The command that prints the implementation's version, libvhdi's run by `python`.
    pub fn version_command_with_python(self, python: &str) -> Vec<&str> {
        match self {
            Builtin::QemuImg => vec!["qemu-img", "--version"],
            Builtin::Libvhdi => {
                vec![python, "-c", "import pyvhdi; print('libvhdi ' + pyvhdi.get_version() + ' (pyvhdi)')"]
            }
            Builtin::SevenZip => vec!["7zz"],
        }
    }
}

/// Runs `argv` (time limit `timeout`, in a scratch directory under `scratch`) and returns the
/// first non-empty line it prints, trimmed of a trailing `: Copyright ...` (7-Zip's banner).
/// `None` when the command cannot run, fails or prints nothing.
pub fn probe_version(argv: &[&str], scratch: &Path, timeout: Duration) -> Option<String> {
    let inv = Invocation {
        argv: argv.iter().map(OsString::from).collect(),
        cwd: scratch.to_path_buf(),
        env: Vec::new(),
        output: scratch.join("version.out"),
        stdout_is_output: false,
        messages: scratch.join("version.txt"),
        timeout,
        hash_output: false,
    };
    let raw = exec::run(&inv).ok()?;
    if raw.exit_code != Some(0) {
        return None;
    }
    let line = raw.first_message_line()?;
    let line = line.split(" : Copyright").next().unwrap_or(line).trim();
    (!line.is_empty()).then(|| line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_declare() {
        for b in Builtin::ALL {
            let a = b.adapter();
            assert_eq!(Builtin::parse(&a.name), Some(b));
            assert!(a.template.uses(Placeholder::Image), "{}", a.name);
            assert_eq!(a.exit.ok, [0]);
            assert_eq!(a.exit.meaning(1), ExitMeaning::Refused);
        }
        assert!(Builtin::SevenZip.adapter().stdout_is_output());
        assert!(!Builtin::QemuImg.adapter().stdout_is_output());
        let q = Builtin::QemuImg.adapter();
        let tags = vec!["dynamic".to_string(), "differencing".to_string()];
        assert_eq!(q.unsupported_in(&tags), ["differencing"]);
        let argv = Builtin::Libvhdi.adapter().template.expand(&|p| vec![OsString::from(p.name())]);
        assert_eq!(argv.len(), 5);
        assert_eq!(argv[2], LIBVHDI_SCRIPT);
        assert_eq!(&argv[3..], ["image", "out"]);
        assert_eq!(
            Builtin::Libvhdi.adapter().template.as_str(),
            "/usr/bin/python3 -c \"$(cat conform/src/libvhdi_read.py)\" {image} {out}"
        );
        let other = Builtin::Libvhdi.adapter_with_python("/opt/py/bin/python3");
        assert_eq!(other.template.expand(&|p| vec![OsString::from(p.name())])[0], "/opt/py/bin/python3");
        assert!(other.template.as_str().starts_with("/opt/py/bin/python3 -c "));
        assert_eq!(Builtin::Libvhdi.version_command_with_python("py")[0], "py");
        assert_eq!(Builtin::QemuImg.adapter_with_python("py").template, Builtin::QemuImg.adapter().template);
    }

    #[test]
    fn exit_contract() {
        let c = ExitContract::default();
        assert_eq!(c.meaning(0), ExitMeaning::Ok);
        assert_eq!(c.meaning(1), ExitMeaning::Refused);
        assert_eq!(c.meaning(77), ExitMeaning::Unsupported);
        assert_eq!(c.meaning(139), ExitMeaning::Signal(11));
        for other in [2, 3, 126, 127, 128, 255, -1] {
            assert_eq!(c.meaning(other), ExitMeaning::HarnessError, "{other}");
        }
        let r = ExitContract::with(&[], &[3], &[4]);
        assert_eq!(
            (r.meaning(0), r.meaning(3), r.meaning(4), r.meaning(1)),
            (ExitMeaning::Ok, ExitMeaning::Refused, ExitMeaning::Unsupported, ExitMeaning::HarnessError)
        );
        assert_eq!(ExitContract::with(&[0], &[0], &[]).overlap(), Some(0));
        let ok01 = ExitContract::with(&[0, 1], &[], &[]);
        assert_eq!((ok01.meaning(1), ok01.refused.is_empty(), ok01.overlap()), (ExitMeaning::Ok, true, None));
        assert_eq!(c.overlap(), None);
    }

    #[test]
    fn templates_must_name_the_image() {
        assert!(Adapter::from_template("x", "cp {image} {out}").is_ok());
        assert!(Adapter::from_template("x", "tool {chain}").is_ok());
        assert!(matches!(Adapter::from_template("x", "tool {out}"), Err(TemplateError::Missing(_))));
    }

    #[test]
    fn version_probe_reads_the_first_line() {
        let d = tempfile::tempdir().unwrap();
        let v = probe_version(
            &["sh", "-c", "echo; echo '7-Zip (z) 1.0 : Copyright x'; echo more"],
            d.path(),
            Duration::from_secs(5),
        );
        assert_eq!(v.as_deref(), Some("7-Zip (z) 1.0"));
        assert_eq!(probe_version(&["sh", "-c", "exit 1"], d.path(), Duration::from_secs(5)), None);
        assert_eq!(probe_version(&["/nonexistent/x"], d.path(), Duration::from_secs(5)), None);
    }
}
