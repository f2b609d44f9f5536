//! `vhd-validate explain CODE`: one rule of the catalogue in full.

use crate::rules::{family_description, RuleOut};
use crate::{Fatal, Outcome, Status};
use clap::ValueEnum;
use std::io::Write;
use vhd_validator::rules::{catalogue, lookup, Rule};

/// Explain one rule code in full: severities, spec section, which readers enforce or tolerate
/// it, and what to do about it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rule code, e.g. FOOTER-CHECKSUM (case-insensitive; `_` may stand for `-`).
    #[arg(value_name = "CODE")]
    pub code: String,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `--format` values of `explain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Labelled paragraphs.
    Text,
    /// The rule as one JSON object (the same fields as `rules --format json`).
    Json,
}

/// The canonical spelling of a code as typed: upper case, `_` and spaces as `-`.
fn normalize(code: &str) -> String {
    code.trim().to_ascii_uppercase().replace(['_', ' '], "-")
}

/// Levenshtein distance between two ASCII-ish strings, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Up to five catalogue codes close to `typed` (already normalized): codes containing it first,
/// then codes within a small edit distance, nearest first.
pub fn suggestions(typed: &str) -> Vec<&'static str> {
    let mut scored: Vec<(usize, usize, &'static str)> = Vec::new();
    let limit = (typed.len() / 3).max(2);
    for r in catalogue() {
        let d = distance(typed, r.code);
        if typed.len() >= 3 && r.code.contains(typed) {
            scored.push((0, r.code.len(), r.code));
        } else if d <= limit {
            scored.push((1, d, r.code));
        }
    }
    scored.sort();
    scored.into_iter().take(5).map(|(_, _, c)| c).collect()
}

/// Runs `explain`.
pub fn run(args: Args) -> Outcome {
    let code = normalize(&args.code);
    let Some(rule) = lookup(&code) else {
        let near = suggestions(&code);
        let hint = match near.as_slice() {
            [] => "run `vhd-validate rules` for the list of codes".to_string(),
            [one] => format!("did you mean {one}?"),
            many => format!("did you mean one of {}?", many.join(", ")),
        };
        return Err(Fatal::msg(format!(
            "unknown rule code `{}`; {hint}",
            args.code
        )));
    };
    let mut out = crate::stdout();
    match args.format {
        Format::Text => out.write_all(text(rule).as_bytes())?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &RuleOut::of(rule))
                .map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(Status::Pass)
}

/// The text form of one rule.
fn text(r: &Rule) -> String {
    let mut s = format!("{}: {}\n\n", r.code, r.summary);
    s.push_str(&format!(
        "family:        {} ({})\n",
        r.family,
        family_description(r.family)
    ));
    s.push_str(&format!(
        "severity:      {} (strict), {} (compat)\n",
        r.strict, r.compat
    ));
    s.push_str(&format!("spec:          {}\n", r.spec));
    s.push_str(&format!("enforced by:   {}\n", r.enforced_by));
    s.push_str(&format!("tolerated by:  {}\n", r.tolerated_by));
    s.push_str(&format!("breaks:        {}\n", crate::rules::breaks(r)));
    let trigger = if r.byte_triggerable {
        "image bytes"
    } else {
        "the environment, not image bytes"
    };
    s.push_str(&format!("triggered by:  {trigger}\n\n"));
    s.push_str(r.detail.trim());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("FOOTER-CHECKSUM", "FOOTER-CHECKSUM"), 0);
    }

    #[test]
    fn suggests_near_and_containing_codes() {
        assert_eq!(
            suggestions("FOOTER-CHEKSUM").first(),
            Some(&"FOOTER-CHECKSUM")
        );
        let s = suggestions("CHECKSUM");
        assert!(
            s.contains(&"FOOTER-CHECKSUM") && s.contains(&"HEADER-CHECKSUM"),
            "{s:?}"
        );
        assert!(suggestions("ZZZZZZZZZZZZZZZZZZZZZZ").is_empty());
        assert_eq!(normalize(" footer_checksum "), "FOOTER-CHECKSUM");
    }
}
