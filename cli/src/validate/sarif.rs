//! SARIF 2.1.0 output of `check` (`--format sarif`), for CI systems that show code-scanning
//! results (docs/CONFORMANCE.md, "SARIF").
//!
//! One run; the tool driver lists the whole rule catalogue (`ruleIndex` is the catalogue
//! position); each finding is a result with the rule's level under the chosen profile
//! (`error`, `warning`, `note` for info), a message, and a binary region (`byteOffset`,
//! `byteLength`, and `startLine` 1, which GitHub code scanning requires of every region) in the
//! file it is about plus the structure path as a logical location; `partialFingerprints`
//! (`vhdFinding/v1`: SHA-256 of code, file, structure path and byte offset) lets code scanning
//! follow a finding from run to run.
//! Inputs that could not be checked are tool execution notifications, and make
//! `executionSuccessful` false.

use crate::report::Run;
use crate::time::format_rfc3339;
use serde_json::{json, Map, Value};
use std::io::{self, Write};
use vhd_validator::rules::catalogue;
use vhd_validator::{Code, Finding, Severity};

/// The SARIF version written.
pub const SARIF_VERSION: &str = "2.1.0";

/// The SARIF 2.1.0 JSON schema URI.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// SARIF level of a severity.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
        _ => "error",
    }
}

/// A file path as a SARIF artifact location: an absolute path becomes a `file://` URI, a
/// relative one stays relative to `%SRCROOT%` (the directory `check` ran in). Characters
/// outside RFC 3986's unreserved set and `/` are percent-encoded.
fn artifact_location(file: &str) -> Value {
    let mut enc = String::new();
    for b in file.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            enc.push(char::from(b));
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    if file.starts_with('/') {
        json!({ "uri": format!("file://{enc}") })
    } else {
        json!({ "uri": enc, "uriBaseId": "%SRCROOT%" })
    }
}

fn rule_descriptor(r: &vhd_validator::rules::Rule, code: Code) -> Value {
    json!({
        "id": r.code,
        "name": format!("{code:?}"),
        "shortDescription": { "text": r.summary },
        "fullDescription": { "text": r.detail },
        "help": { "text": format!("{}\nSpec: {}\nEnforced by: {}\nTolerated by: {}\nBreaks: {}", r.detail, r.spec, r.enforced_by, r.tolerated_by, crate::rules::breaks(r)) },
        "defaultConfiguration": { "level": level(r.strict) },
        "properties": {
            "family": r.family.as_str(),
            "spec": r.spec,
            "strict": r.strict.as_str(),
            "compat": r.compat.as_str(),
            "breaks": r.breaks,
            "tags": [r.family.as_str()],
        },
    })
}

fn result(f: &Finding) -> Value {
    let mut region = Map::new();
    region.insert("startLine".into(), json!(1));
    region.insert("byteOffset".into(), json!(f.offset));
    if f.length > 0 {
        region.insert("byteLength".into(), json!(f.length));
    }
    let mut text = f.message.to_string();
    match (&f.expected, &f.actual) {
        (Some(e), Some(a)) => text.push_str(&format!(" (expected {e}, found {a})")),
        (Some(e), None) => text.push_str(&format!(" (expected {e})")),
        (None, Some(a)) => text.push_str(&format!(" (found {a})")),
        (None, None) => {}
    }
    let mut props = Map::new();
    props.insert("severity".into(), json!(f.severity.as_str()));
    if let Some(e) = &f.expected {
        props.insert("expected".into(), json!(e));
    }
    if let Some(a) = &f.actual {
        props.insert("actual".into(), json!(a));
    }
    json!({
        "ruleId": f.code.as_str(),
        "ruleIndex": f.code as usize,
        "level": level(f.severity),
        "message": { "text": text },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact_location(&f.file),
                "region": Value::Object(region),
            },
            "logicalLocations": [{ "fullyQualifiedName": f.path, "kind": "member" }],
        }],
        "partialFingerprints": { "vhdFinding/v1": fingerprint(f) },
        "properties": Value::Object(props),
    })
}

/// The stable fingerprint of a finding: SHA-256 of its code, file, structure path and byte
/// offset (NUL-separated), lower-case hex.
fn fingerprint(f: &Finding) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [f.code.as_str(), f.file.as_str(), f.path.as_str(), &f.offset.to_string()] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    vhd_validator::hex::encode(&h.finalize())
}

/// The SARIF document of a `check` run.
pub fn document(run: &Run<'_>) -> Value {
    let rules: Vec<Value> = catalogue().iter().zip(Code::ALL.iter()).map(|(r, c)| rule_descriptor(r, *c)).collect();
    let results: Vec<Value> = run.checked.iter().flat_map(|c| c.report.findings()).map(result).collect();
    let notifications: Vec<Value> = run
        .unreadable
        .iter()
        .map(|u| {
            json!({
                "level": "error",
                "message": { "text": u.message },
                "locations": [{ "physicalLocation": { "artifactLocation": artifact_location(&u.file) } }],
            })
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {
                "driver": {
                    "name": crate::report::TOOL_NAME,
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                },
            },
            "invocations": [{
                "executionSuccessful": run.unreadable.is_empty(),
                "toolExecutionNotifications": notifications,
                "properties": {
                    "profile": run.profile.as_str(),
                    "now": format_rfc3339(run.now_unix),
                    "readBlockData": run.read_block_data,
                    "maxDepth": run.max_depth,
                    "maxListed": run.max_listed,
                },
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// Writes the SARIF document (pretty JSON and a newline).
pub fn write_sarif(out: &mut dyn Write, run: &Run<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(run))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(artifact_location("a b/c.vhd"), json!({"uri": "a%20b/c.vhd", "uriBaseId": "%SRCROOT%"}));
        assert_eq!(artifact_location("/x/ü.vhd"), json!({"uri": "file:///x/%C3%BC.vhd"}));
    }

    #[test]
    fn results_carry_rule_level_and_region() {
        let mut f = Finding::new(Code::FooterChecksum, 64, 4, "footer.checksum", "bad").expected("1").actual("2");
        f.file = "d.vhd".into();
        let v = result(&f);
        assert_eq!(v["ruleId"], "FOOTER-CHECKSUM");
        assert_eq!(v["ruleIndex"], json!(Code::FooterChecksum as usize));
        assert_eq!(v["level"], level(f.severity));
        assert_eq!(v["message"]["text"], "bad (expected 1, found 2)");
        assert_eq!(
            v["locations"][0]["physicalLocation"]["region"],
            json!({"startLine": 1, "byteOffset": 64, "byteLength": 4})
        );
        let fp = v["partialFingerprints"]["vhdFinding/v1"].as_str().unwrap();
        assert_eq!(fp.len(), 64);
        assert_eq!(result(&f)["partialFingerprints"]["vhdFinding/v1"], fp, "stable");
        assert_eq!(v["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "footer.checksum");
    }

    #[test]
    fn rule_descriptors_name_the_readers_a_rule_breaks() {
        let d = rule_descriptor(Code::FileFixedSizeLong.rule(), Code::FileFixedSizeLong);
        assert_eq!(d["properties"]["breaks"], json!(["Azure upload", "7-Zip"]));
        assert!(d["help"]["text"].as_str().unwrap().ends_with("\nBreaks: Azure upload, 7-Zip"), "{d}");
        let d = rule_descriptor(Code::BatOrder.rule(), Code::BatOrder);
        assert_eq!(d["properties"]["breaks"], json!([]));
        assert!(d["help"]["text"].as_str().unwrap().ends_with("\nBreaks: none"), "{d}");
    }
}
