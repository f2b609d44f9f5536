//! The scenario format: located YAML errors, unknown fields and code-less mutations refused,
//! determinism, and the JSON Schemas kept current.

use std::path::Path;
use vhd_generator::case::{generate_case, GenOptions};
use vhd_generator::yaml::parse_scenario;
use vhd_generator::{schema, GenError};

const BASE: &str = "description: d\nseed: 9\nimage:\n  type: dynamic\n  size: 4 MiB\n  writes:\n    - {sector: 3, count: 700, pattern: {random: ~}}\n";

#[test]
fn yaml_errors_carry_file_line_and_column() {
    let text = "description: d\nimage:\n  type: dynamic\n  size: [1, 2]\n";
    let e = parse_scenario(text, "specs/x.yaml").unwrap_err();
    assert_eq!((e.file.as_str(), e.line), ("specs/x.yaml", 4));
    assert!(e.column > 0, "{e:?}");
    assert!(e.to_string().starts_with("specs/x.yaml:4:"), "{e}");
    assert!(e.message.contains("size"), "{e}");
    let e = parse_scenario("description: d\nimage:\n  type: floppy\n  size: 1\n", "f.yaml").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.message.contains("fixed") && e.message.contains("differencing"), "{e}");
}

#[test]
fn unknown_fields_are_refused() {
    let e = parse_scenario("description: d\nimage:\n  type: dynamic\n  size: 1 MiB\n  blocksize: 512K\n", "f.yaml")
        .unwrap_err();
    assert_eq!(e.line, 5);
    assert!(e.message.contains("blocksize") && e.message.contains("block_size"), "{e}");
    let nested =
        "description: d\nimage:\n  type: fixed\n  size: 1 MiB\n  layout: {short_footer: true, shortfooter: 1}\n";
    assert!(parse_scenario(nested, "f.yaml").unwrap_err().message.contains("shortfooter"));
    let mutation = format!(
        "{BASE}mutations:\n  - op: {{truncate: {{bytes: 1}}}}\n    expect: [FILE-TRUNCATED]\n    colour: red\n"
    );
    assert!(parse_scenario(&mutation, "f.yaml").unwrap_err().message.contains("colour"));
}

fn generate(text: &str, dir: &Path) -> Result<vhd_validator::manifest::Case, GenError> {
    let s = parse_scenario(text, "t.yaml").map_err(GenError::Yaml)?;
    generate_case(&s, "t", None, dir, "t", &[], &GenOptions::default())
}

#[test]
fn mutation_without_codes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{BASE}mutations:\n  - op: {{break-footer-checksum: {{}}}}\n    expect: []\n");
    let e = generate(&text, dir.path()).unwrap_err();
    assert!(e.to_string().contains("mutations[0].expect"), "{e}");
    assert!(!dir.path().join("disk.vhd").exists(), "nothing is written for a refused scenario");
    // `expect` is required at all.
    let text = format!("{BASE}mutations:\n  - op: {{break-footer-checksum: {{}}}}\n");
    assert!(parse_scenario(&text, "t.yaml").unwrap_err().message.contains("expect"));
    // Unknown codes are refused too.
    let text = format!("{BASE}mutations:\n  - op: {{break-footer-checksum: {{}}}}\n    expect: [FOOTER-CHECKSUMM]\n");
    assert!(generate(&text, dir.path()).unwrap_err().to_string().contains("FOOTER-CHECKSUMM"));
}

#[test]
fn never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    generate(BASE, dir.path()).unwrap();
    assert!(matches!(generate(BASE, dir.path()), Err(GenError::Exists(_))));
    let s = parse_scenario(BASE, "t.yaml").unwrap();
    let opts = GenOptions::default().with_force(true);
    generate_case(&s, "t", None, dir.path(), "t", &[], &opts).unwrap();
}

#[test]
fn same_scenario_and_seed_give_identical_files() {
    let text = "description: d\nseed: 42\nimage:\n  type: differencing\n  size: 3 MiB\n  layout: {block_order: shuffle}\n  writes:\n    - {sector: 0, pattern: {random: ~}, bitmap: block}\n  parent:\n    type: dynamic\n    size: 3 MiB\n    block_size: 512 KiB\n    writes:\n      - {sector: 100, count: 3000, pattern: {counter: 7}}\n";
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ca = generate(text, a.path()).unwrap();
    let cb = generate(text, b.path()).unwrap();
    assert_eq!(ca, cb);
    for f in ["disk.vhd", "parent1.vhd"] {
        assert_eq!(std::fs::read(a.path().join(f)).unwrap(), std::fs::read(b.path().join(f)).unwrap(), "{f}");
    }
    // Another seed changes unique ids and data.
    let s = parse_scenario(text, "t.yaml").unwrap();
    let cc = generate_case(&s, "t", None, c.path(), "t", &[], &GenOptions::default().with_seed(Some(43))).unwrap();
    assert_ne!(cc.files, ca.files);
    assert_ne!(cc.virtual_disk_sha256, ca.virtual_disk_sha256);
}

/// SHA-256 (hex) of bytes.
fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    vhd_validator::hex::encode(&sha2::Sha256::digest(bytes))
}

#[test]
fn hashes_follow_the_bytes_and_nothing_is_left_behind() {
    // A lone fixed disk: the file hash continues the virtual disk's SHA-256 state; it must
    // still be the SHA-256 of the file, and the unwritten data stays a hole.
    let fixed = "description: d\nseed: 5\nimage:\n  type: fixed\n  size: 3 MiB\n  writes:\n    - {sector: 2048, count: 9, pattern: {random: ~}}\n";
    let footer_field = "mutations:\n  - op: {set-footer-field: {field: creator-application, value: abcd, reseal: true}}\n    expect: [FOOTER-CREATOR-UNKNOWN]\n    alters_content: false\n";
    let flip = "mutations:\n  - op: {set-bytes: {at: file, offset: 1048577, hex: ff}}\n    expect: [FOOTER-CHECKSUM]\n    alters_content: false\n";
    for (i, text) in [fixed.to_string(), format!("{fixed}{footer_field}"), format!("{fixed}{flip}"), BASE.to_string()]
        .iter()
        .enumerate()
    {
        let dir = tempfile::tempdir().unwrap();
        let case = match generate(text, dir.path()) {
            Ok(c) => c,
            Err(e) => panic!("scenario {i}: {e}"),
        };
        let bytes = std::fs::read(dir.path().join("disk.vhd")).unwrap();
        assert_eq!(case.files[0].sha256, sha(&bytes), "scenario {i}");
        if i < 2 {
            let disk = bytes.get(..3 << 20).unwrap();
            assert_eq!(case.virtual_disk_sha256.as_deref(), Some(sha(disk).as_str()), "scenario {i}");
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["disk.vhd"], "scenario {i}: no staging directory is left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(dir.path().join("disk.vhd")).unwrap();
            assert!(m.blocks() * 512 < m.len() / 2, "scenario {i}: holes stay holes ({} blocks)", m.blocks());
        }
    }
    // A mutation that fails after the images were staged leaves nothing in the case directory.
    let dir = tempfile::tempdir().unwrap();
    let bad = format!("{BASE}mutations:\n  - op: {{set-bytes: {{at: {{block: 99}}, offset: 0, hex: ff}}}}\n    expect: [FOOTER-CHECKSUM]\n");
    assert!(generate(&bad, dir.path()).unwrap_err().to_string().contains("block 99"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn json_schemas_are_current() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let mut stale = Vec::new();
    for (name, text) in schema::all() {
        let path = docs.join(name);
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(stale.is_empty(), "stale JSON Schemas {stale:?}: run `cargo run -p vhd-generator -- schemas -o docs` (or UPDATE_SCHEMAS=1 cargo test)");
    let v: serde_json::Value = serde_json::from_str(&schema::scenario_schema()).unwrap();
    assert!(v["properties"]["image"].is_object(), "{v}");
}
