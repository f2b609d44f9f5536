//! Writes the images of one scenario (its chain and any template update) without the manifest,
//! so no virtual-disk digest is computed: for disks too large to hash in reasonable time (a
//! 2040 GiB chain hashes 2040 GiB of zeros). Used by scripts/analyze-2tib.sh.
//!
//! Usage: `cargo run --release -p vhd-generator --example write_chain -- SCENARIO.yaml OUT_DIR`

use std::path::PathBuf;
use vhd_generator::case::update_images;
use vhd_generator::plan::{plan_chain, write_image};
use vhd_generator::yaml::parse_scenario;
use vhd_generator::Scenario;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [yaml, out] = args.as_slice() else {
        return Err("usage: write_chain SCENARIO.yaml OUT_DIR".into());
    };
    let s = parse_scenario(&std::fs::read_to_string(yaml)?, &yaml.display().to_string())?;
    std::fs::create_dir_all(out)?;
    let plans = plan_chain(&s, s.seed)?;
    for p in &plans {
        write_image(p, &out.join(&p.file), false)?;
    }
    for (img, name) in update_images(&s, &plans, s.seed)? {
        let s2 = Scenario { image: img, mutations: Vec::new(), update: None, ..s.clone() };
        if let Some(top) = plan_chain(&s2, s.seed)?.first() {
            write_image(top, &out.join(&name), false)?;
        }
    }
    Ok(())
}
