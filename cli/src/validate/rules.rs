//! `vhd-validate rules`: the rule catalogue as text, JSON, or the Markdown of docs/RULES.md.

use crate::report::{tool, Tool, FORMAT_VERSION};
use crate::{Outcome, Status};
use clap::ValueEnum;
use serde::Serialize;
use std::io::{self, Write};
use vhd_validator::rules::{catalogue, Rule};
use vhd_validator::{Family, Severity};

/// The command that regenerates docs/RULES.md (quoted in the file and by the staleness test).
pub const REGENERATE: &str =
    "cargo run -p vhd-cli --bin vhd-validate -- rules --format markdown > docs/RULES.md";

/// List the rule catalogue: every code, its severity per profile and its summary.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format; `markdown` is exactly docs/RULES.md.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `--format` values of `rules`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per rule, grouped by family.
    Text,
    /// One JSON document with a `rules` array.
    Json,
    /// The Markdown of docs/RULES.md.
    Markdown,
}

/// Runs `rules`.
pub fn run(args: Args) -> Outcome {
    let mut out = crate::stdout();
    match args.format {
        Format::Text => write_text(&mut out)?,
        Format::Json => write_json(&mut out)?,
        Format::Markdown => out.write_all(markdown().as_bytes())?,
    }
    out.flush()?;
    Ok(Status::Pass)
}

/// What each family covers (the headings of docs/RULES.md).
pub fn family_description(f: Family) -> &'static str {
    match f {
        Family::File => "File size, alignment, truncation, and where the hard disk footer sits.",
        Family::Footer => "The hard disk footer: 512 bytes at the end of the file (511 for pre-2004 Virtual PC).",
        Family::FooterCopy => {
            "The footer copy at offset 0 of dynamic and differencing disks, against the trailing footer."
        }
        Family::Header => "The dynamic disk header: 1024 bytes at the footer's data offset.",
        Family::Bat => "The block allocation table (BAT): one big-endian sector offset per block.",
        Family::Bitmap => "Per-block sector bitmaps and the block data they describe.",
        Family::Locator => "The eight parent locator entries of a differencing disk and the paths they point to.",
        Family::Chain => "Differencing chain linkage between a child and its parent images (needs the parent files).",
        _ => "",
    }
}

fn rules_of(f: Family) -> impl Iterator<Item = &'static Rule> {
    catalogue().iter().filter(move |r| r.family == f)
}

fn write_text(out: &mut dyn Write) -> io::Result<()> {
    let width = catalogue().iter().map(|r| r.code.len()).max().unwrap_or(0);
    writeln!(
        out,
        "{:width$}  {:7}  {:7}  summary",
        "code", "strict", "compat"
    )?;
    for f in Family::ALL {
        writeln!(out, "\n[{f}] {}", family_description(f))?;
        for r in rules_of(f) {
            writeln!(
                out,
                "{:width$}  {:7}  {:7}  {}",
                r.code,
                r.strict.as_str(),
                r.compat.as_str(),
                r.summary
            )?;
        }
    }
    Ok(())
}

/// One rule in the JSON catalogue (fields documented in docs/REPORT.md).
#[derive(Serialize)]
pub struct RuleOut {
    code: &'static str,
    family: Family,
    strict: Severity,
    compat: Severity,
    byte_triggerable: bool,
    summary: &'static str,
    spec: &'static str,
    enforced_by: &'static str,
    tolerated_by: &'static str,
    breaks: &'static [&'static str],
    detail: &'static str,
}

impl RuleOut {
    /// The JSON form of `r`.
    pub fn of(r: &'static Rule) -> RuleOut {
        RuleOut {
            code: r.code,
            family: r.family,
            strict: r.strict,
            compat: r.compat,
            byte_triggerable: r.byte_triggerable,
            summary: r.summary,
            spec: r.spec,
            enforced_by: r.enforced_by,
            tolerated_by: r.tolerated_by,
            breaks: r.breaks,
            detail: r.detail,
        }
    }
}

#[derive(Serialize)]
struct Catalogue {
    format_version: u32,
    tool: Tool,
    rules: Vec<RuleOut>,
}

fn write_json(out: &mut dyn Write) -> io::Result<()> {
    let doc = Catalogue {
        format_version: FORMAT_VERSION,
        tool: tool(),
        rules: catalogue().iter().map(RuleOut::of).collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// The readers a rule breaks, comma-separated; "none" when it names none.
pub fn breaks(r: &Rule) -> String {
    if r.breaks.is_empty() {
        "none".to_string()
    } else {
        r.breaks.join(", ")
    }
}

/// Escapes text for a Markdown table cell (one line, no column breaks).
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// Text for a Markdown paragraph; an empty field reads as an em dash.
fn para(s: &str) -> &str {
    let s = s.trim();
    if s.is_empty() {
        "—"
    } else {
        s
    }
}

/// The Markdown catalogue: docs/RULES.md.
pub fn markdown() -> String {
    let mut s = String::new();
    s.push_str("# Rule catalogue\n\n");
    s.push_str(&format!(
        "<!-- Generated from validator/src/rules/catalogue.rs; do not edit. Regenerate with:\n     {REGENERATE} -->\n\n"
    ));
    s.push_str(&format!(
        "{} rules. Every finding `vhd-validate check` reports carries one of these codes. Codes are \
         stable: they are never renamed or reused; messages may change.\n\n",
        catalogue().len()
    ));
    s.push_str(
        "Severities: **error** (a spec \"must\" is violated, or readers would reject the image or \
         return different bytes), **warning** (a named reader refuses or misreads the image: the \
         rule's \"Breaks\" line says which), **info** (a peculiarity that breaks no reader: a legal \
         but unusual layout, a deprecated feature). Every rule's detail ends with the reason for its \
         grading. The \
         **strict** profile (the default) reads the VHD specification v1.0 literally; **compat** \
         grades by what mainstream readers (Hyper-V, QEMU, VirtualBox, libvhdi, 7-Zip) accept. A \
         profile changes severities, never which findings exist. `vhd-validate explain CODE` prints \
         one rule.\n\n",
    );
    s.push_str("| family | rules | covers |\n|---|---|---|\n");
    for f in Family::ALL {
        s.push_str(&format!(
            "| [{f}](#family-{f}) | {} | {} |\n",
            rules_of(f).count(),
            cell(family_description(f))
        ));
    }
    for f in Family::ALL {
        s.push_str(&format!(
            "\n## Family: {f}\n\n{}\n\n",
            family_description(f)
        ));
        s.push_str("| code | strict | compat | summary | spec |\n|---|---|---|---|---|\n");
        for r in rules_of(f) {
            s.push_str(&format!(
                "| [`{}`](#{}) | {} | {} | {} | {} |\n",
                r.code,
                r.code.to_ascii_lowercase(),
                r.strict,
                r.compat,
                cell(r.summary),
                cell(r.spec)
            ));
        }
        for r in rules_of(f) {
            s.push_str(&format!("\n### {}\n\n", r.code));
            s.push_str(&format!("{}\n\n", para(r.summary)));
            s.push_str(&format!(
                "- Severity: {} (strict), {} (compat)\n- Spec: {}\n- Enforced by: {}\n- Tolerated by: {}\n- Breaks: {}\n",
                r.strict,
                r.compat,
                cell(r.spec),
                cell(r.enforced_by),
                cell(r.tolerated_by),
                breaks(r)
            ));
            if !r.byte_triggerable {
                s.push_str("- Triggered by the environment, not by image bytes\n");
            }
            s.push_str(&format!("\n{}\n", para(r.detail)));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_on_one_line_and_escape_pipes() {
        assert_eq!(cell("a |b\n  c"), "a \\|b c");
    }

    #[test]
    fn markdown_has_a_section_and_a_row_per_rule() {
        let md = markdown();
        for r in catalogue() {
            assert!(
                md.contains(&format!("\n### {}\n", r.code)),
                "{} has no section",
                r.code
            );
            assert!(
                md.contains(&format!("| [`{}`](#", r.code)),
                "{} has no table row",
                r.code
            );
        }
        for f in Family::ALL {
            assert!(md.contains(&format!("\n## Family: {f}\n")));
        }
    }
}
