//! Independent reader: qemu-img reads valid fixed and dynamic images to exactly the digest the
//! content model gives (`convert -f vpc -O raw` with `force_size_calc=current_size`).

use sha2::{Digest, Sha256};
use std::process::Command;
use vhd_generator::case::{generate_case, GenOptions};
use vhd_generator::yaml::parse_scenario;

const SCENARIOS: &[&str] = &[
    // Fixed, odd size, several patterns.
    "description: f\nseed: 1\nimage:\n  type: fixed\n  size: 3000 KiB\n  writes:\n    - {sector: 0, count: 100, pattern: {counter: 3}}\n    - {sector: 50, count: 2000, pattern: {random: ~}}\n    - {offset: 2 MiB, length: 512 KiB, pattern: {fill: 0xEE}}\n",
    // Dynamic, 512 KiB blocks, partial bitmaps, shuffled blocks, gaps, 4 KiB data alignment.
    "description: d\nseed: 2\nimage:\n  type: dynamic\n  size: 5 MiB\n  block_size: 512 KiB\n  layout: {block_order: shuffle, gap_between_blocks: 1536, data_alignment: 4096, bat_padding: 0}\n  writes:\n    - {sector: 7, count: 3, pattern: {fill: 0x5A}}\n    - {sector: 1000, count: 3000, pattern: {random: 99}}\n    - {sector: 9000, count: 1240, pattern: {counter: 0}}\n",
    // Dynamic, 2 MiB blocks, whole-block bitmaps, descending order, data under a full write.
    "description: d2\nseed: 3\nimage:\n  type: dynamic\n  size: 7 MiB\n  layout: {block_order: descending}\n  writes:\n    - {sector: 0, pattern: {fill: 0x01}, bitmap: block}\n    - {sector: 5000, count: 10, pattern: zero}\n",
];

#[test]
fn qemu_img_reads_the_model_digest() {
    if !vhd_testkit::have_qemu() {
        return;
    }
    for (i, text) in SCENARIOS.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let s = parse_scenario(text, "q.yaml").unwrap();
        let case = generate_case(&s, "q", None, dir.path(), "", &[], &GenOptions::default()).unwrap();
        let want = case.virtual_disk_sha256.clone().expect("valid case has a digest");
        let raw = dir.path().join("out.raw");
        let opts =
            format!("driver=vpc,force_size_calc=current_size,file.filename={}", dir.path().join("disk.vhd").display());
        let st =
            Command::new("qemu-img").args(["convert", "--image-opts", &opts, "-O", "raw"]).arg(&raw).status().unwrap();
        assert!(st.success(), "qemu-img failed on scenario {i}");
        let bytes = std::fs::read(&raw).unwrap();
        assert_eq!(bytes.len() as u64, case.virtual_size, "scenario {i}");
        let got = vhd_validator::hex::encode(&Sha256::digest(&bytes));
        assert_eq!(got, want, "scenario {i}: qemu-img and the content model disagree");
        // Plain `-f vpc` too: the default creator makes QEMU size by current size.
        let st = Command::new("qemu-img")
            .args(["convert", "-f", "vpc", "-O", "raw"])
            .arg(dir.path().join("disk.vhd"))
            .arg(&raw)
            .status()
            .unwrap();
        assert!(st.success());
        let got = vhd_validator::hex::encode(&Sha256::digest(std::fs::read(&raw).unwrap()));
        assert_eq!(got, want, "scenario {i} (-f vpc)");
    }
}
