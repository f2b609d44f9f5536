//! README.md against the real binaries, so that the README cannot drift from them:
//!
//! - the usage block names every subcommand of `vhd-validate` and `vhd-generate`, and for each
//!   command exactly the options its `-h` lists (a short or a long spelling; `-h`/`-V` aside,
//!   and a subcommand may leave out the options its program's top level already shows), with
//!   the same possible values where it spells them out (`--format text|json|sarif`);
//! - every example whose command is a `$ vhd-validate ...` line prints what the README shows
//!   (a shown line ending in `...` stands for any line starting with what precedes it), and
//!   `$ echo $?` shows its exit status. The examples run on the real images of the fixtures
//!   directory (`damaged.vhd` is its Windows-made fixed disk with the footer's reserved
//!   feature bit cleared); without them the examples are skipped with a note, or fail under
//!   `VHD_REQUIRE_ORACLES=1`;
//! - a `cargo run ... --bin NAME -- ARGS` block followed by a plain block: the plain block is
//!   that command's standard output (the main job).
//!
//! trycmd would need the examples' images inside the repository and its own markup in the
//! README (`console` blocks, `[..]`, `? failed`); the README stays plain Markdown instead.

use assert_cmd::cargo::cargo_bin_cmd;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use vhd_testkit::real_fixtures;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One fenced block: its info string and lines.
struct Fence {
    info: String,
    lines: Vec<String>,
}

fn fences(markdown: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut open: Option<Fence> = None;
    for line in markdown.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some(Fence { info: info.trim().to_string(), lines: Vec::new() }),
            (Some(_), Some(_)) => out.extend(open.take()),
            (Some(f), None) => f.lines.push(line.to_string()),
            (None, None) => {}
        }
    }
    out
}

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).expect("README.md")
}

fn program(name: &str) -> assert_cmd::Command {
    match name {
        "vhd-validate" => cargo_bin_cmd!("vhd-validate"),
        "vhd-generate" => cargo_bin_cmd!("vhd-generate"),
        other => panic!("README runs an unknown program {other}"),
    }
}

/// The short help of `args` (`PROGRAM [SUBCOMMAND] -h`).
fn help(args: &[&str]) -> String {
    let (prog, rest) = args.split_first().expect("a program");
    let out = program(prog).args(rest).arg("-h").output().expect("run -h");
    assert!(out.status.success(), "{args:?} -h failed");
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// The names listed under `Commands:` of a help text (`help` aside).
fn help_commands(help: &str) -> BTreeSet<String> {
    section(help, "Commands:")
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect()
}

fn section<'a>(help: &'a str, title: &'a str) -> impl Iterator<Item = &'a str> {
    help.lines().skip_while(move |l| *l != title).skip(1).take_while(|l| l.starts_with(' '))
}

/// One option of a help text.
#[derive(Debug)]
struct HelpOption {
    names: Vec<String>,
    values: Option<BTreeSet<String>>,
}

fn help_options(help: &str) -> Vec<HelpOption> {
    section(help, "Options:")
        .filter_map(|l| {
            let l = l.trim_start();
            if !l.starts_with('-') {
                return None;
            }
            let spec = l.split("  ").next().unwrap_or_default();
            let names: Vec<String> = spec
                .split([',', ' '])
                .filter(|w| w.starts_with('-'))
                .map(str::to_string)
                .filter(|n| !matches!(n.as_str(), "-h" | "--help" | "-V" | "--version"))
                .collect();
            let values = l
                .split("[possible values: ")
                .nth(1)
                .and_then(|v| v.split(']').next())
                .map(|v| v.split(", ").map(str::to_string).collect::<BTreeSet<String>>());
            (!names.is_empty()).then_some(HelpOption { names, values })
        })
        .collect()
}

/// The usage block's entries: one per command, continuation lines joined, comments dropped.
fn usage_entries(markdown: &str) -> Vec<String> {
    let usage = markdown.split("\n## Usage\n").nth(1).expect("README has a Usage section");
    let block = fences(usage).into_iter().next().expect("Usage starts with a block");
    let mut entries: Vec<String> = Vec::new();
    for line in &block.lines {
        let line = line.split(" # ").next().unwrap_or_default();
        match entries.last_mut() {
            Some(e) if line.starts_with(' ') => {
                e.push(' ');
                e.push_str(line.trim());
            }
            _ => entries.push(line.trim().to_string()),
        }
    }
    entries
}

/// The options an entry names, each with the values it spells out (`a|b|c`), if any.
fn entry_options(entry: &str) -> BTreeMap<String, Option<BTreeSet<String>>> {
    let cleaned: String = entry.chars().map(|c| if matches!(c, '[' | ']' | '(' | ')') { ' ' } else { c }).collect();
    let words: Vec<&str> = cleaned.split_whitespace().map(|w| w.trim_end_matches("...")).collect();
    let mut out = BTreeMap::new();
    for (i, w) in words.iter().enumerate() {
        if w.len() < 2 || !w.starts_with('-') || w.contains('|') {
            continue;
        }
        let values = words.get(i + 1).filter(|v| v.contains('|') && !v.starts_with('-')).and_then(|v| {
            let alts: BTreeSet<String> = v.split('|').map(str::to_string).collect();
            alts.iter()
                .all(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
                .then_some(alts)
        });
        out.insert((*w).to_string(), values);
    }
    out
}

#[test]
fn usage_lists_every_command_and_option() {
    let md = readme();
    let entries = usage_entries(&md);
    let mut problems = Vec::new();
    for prog in ["vhd-validate", "vhd-generate"] {
        let top = help(&[prog]);
        let top_options: BTreeSet<String> = help_options(&top).into_iter().flat_map(|o| o.names).collect();
        let commands = help_commands(&top);
        let mut seen = BTreeSet::new();
        for entry in entries.iter().filter(|e| e.split_whitespace().next() == Some(prog)) {
            let second = entry.split_whitespace().nth(1).unwrap_or_default();
            let (sub, help_args): (Option<&str>, Vec<&str>) = if commands.contains(second) {
                // `vhd-validate explore` forwards its arguments to `vhd-generate explore`.
                let args = if (prog, second) == ("vhd-validate", "explore") {
                    vec!["vhd-generate", "explore"]
                } else {
                    vec![prog, second]
                };
                (Some(second), args)
            } else {
                (None, vec![prog])
            };
            if let Some(s) = sub {
                seen.insert(s.to_string());
            }
            if entry.split_whitespace().any(|w| w == "...") || (prog == "vhd-validate" && sub.is_none()) {
                continue; // "the same as" another entry
            }
            let options = help_options(&help(&help_args));
            let named = entry_options(entry);
            for (flag, values) in &named {
                match options.iter().find(|o| o.names.contains(flag)) {
                    None => problems.push(format!("`{entry}`: {flag} is not an option of {help_args:?}")),
                    Some(o) => {
                        if let (Some(v), Some(h)) = (values, &o.values) {
                            if v != h {
                                problems.push(format!("`{entry}`: {flag} values {v:?}, the binary's {h:?}"));
                            }
                        }
                    }
                }
            }
            for o in &options {
                let inherited = sub.is_some() && o.names.iter().any(|n| top_options.contains(n));
                if !inherited && !o.names.iter().any(|n| named.contains_key(n)) {
                    problems.push(format!("`{entry}`: does not show {}", o.names.join("/")));
                }
            }
        }
        for c in commands.difference(&seen) {
            problems.push(format!("the usage block has no `{prog} {c}`"));
        }
    }
    assert!(problems.is_empty(), "README usage and the binaries disagree:\n{}", problems.join("\n"));
}

/// The README's examples: a command line (without `$ `), the lines it shows, and the exit
/// status shown by a following `$ echo $?`.
struct Example {
    command: String,
    shown: Vec<String>,
    status: Option<i32>,
}

fn examples(md: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    for f in fences(md) {
        if !f.info.is_empty() || !f.lines.first().is_some_and(|l| l.starts_with("$ vhd-")) {
            continue;
        }
        let mut lines = f.lines.iter().peekable();
        while let Some(l) = lines.next() {
            let command = l.strip_prefix("$ ").expect("a command line").to_string();
            let mut shown = Vec::new();
            while let Some(next) = lines.next_if(|n| !n.starts_with("$ ")) {
                shown.push(next.clone());
            }
            if command == "echo $?" {
                let last = out.last_mut().expect("`echo $?` follows a command");
                last.status = Some(shown.concat().trim().parse().expect("an exit status"));
            } else {
                out.push(Example { command, shown, status: None });
            }
        }
    }
    out
}

/// Whether `actual` is what the README shows (`...` at the end of a shown line: any rest).
fn same_lines(shown: &[String], actual: &str) -> bool {
    let actual: Vec<&str> = actual.lines().collect();
    shown.len() == actual.len()
        && shown.iter().zip(&actual).all(|(s, a)| match s.strip_suffix("...") {
            Some(prefix) => a.starts_with(prefix),
            None => s == a,
        })
}

/// The examples' images in a new directory: the fixtures' Windows-made disks, and
/// `damaged.vhd`, the fixed one with the footer's reserved feature bit (bit 1 of the features
/// field, footer offset 8) cleared and the checksum left alone.
fn example_images(fixtures: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ["windows-fixed.vhd", "windows-dynamic.vhd"] {
        std::fs::copy(fixtures.join(f), dir.path().join(f)).expect("copy a fixture");
    }
    let mut img = std::fs::read(fixtures.join("windows-fixed.vhd")).expect("read windows-fixed.vhd");
    let footer = img.len() - 512;
    assert_eq!(&img[footer..footer + 8], b"conectix");
    assert_eq!(img[footer + 11] & 2, 2, "the fixture's reserved feature bit is set");
    img[footer + 11] &= !2;
    std::fs::write(dir.path().join("damaged.vhd"), img).expect("write damaged.vhd");
    dir
}

#[test]
fn examples_print_what_the_readme_shows() {
    let md = readme();
    let examples = examples(&md);
    assert!(examples.len() >= 3, "the README's examples were not found");
    let Some(fixtures) = real_fixtures() else { return };
    let dir = example_images(&fixtures);
    let mut problems = Vec::new();
    for ex in &examples {
        let words: Vec<&str> = ex.command.split_whitespace().collect();
        let out = program(words[0]).args(&words[1..]).current_dir(dir.path()).output().expect("run an example");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !same_lines(&ex.shown, &stdout) {
            problems.push(format!(
                "$ {}\nREADME shows:\n{}\nthe binary prints:\n{stdout}",
                ex.command,
                ex.shown.join("\n")
            ));
        }
        if let Some(s) = ex.status {
            if out.status.code() != Some(s) {
                problems.push(format!(
                    "$ {}: README shows exit status {s}, the binary's is {:?}",
                    ex.command,
                    out.status.code()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "README examples drifted:\n{}", problems.join("\n\n"));
}

#[test]
fn the_main_job_prints_what_the_readme_shows() {
    let md = readme();
    let blocks = fences(&md);
    let mut checked = 0;
    for pair in blocks.windows(2) {
        let [cmd, shown] = pair else { continue };
        let Some(line) =
            cmd.lines.first().filter(|_| cmd.info == "sh" && cmd.lines.len() == 1 && shown.info.is_empty())
        else {
            continue;
        };
        let Some((head, args)) = line.split_once(" -- ") else { continue };
        let Some(bin) = head.split_whitespace().skip_while(|w| *w != "--bin").nth(1) else { continue };
        let args: Vec<&str> = args.split_whitespace().collect();
        let out = program(bin).args(&args).current_dir(repo()).output().expect("run the main job");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            same_lines(&shown.lines, &stdout),
            "`{line}` prints:\n{stdout}\nREADME shows:\n{}",
            shown.lines.join("\n")
        );
        checked += 1;
    }
    assert_eq!(checked, 1, "the README's main job and its output were not found");
}
