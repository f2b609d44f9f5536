//! Embeds the committed seed images (`corpus/seed/*.vhd`) and every scenario (`specs/**/*.yaml`)
//! into this crate (`src/embedded.rs` includes the generated list), so that each fuzz target is
//! self-contained: it never reads the source tree at run time (ClusterFuzzLite and OSS-Fuzz run
//! the binaries away from it).
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files(dir: &Path, ext: &str, recursive: bool, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if recursive {
                files(&p, ext, true, out);
            }
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

fn table(out: &mut String, name: &str, root: &Path, list: &[PathBuf]) {
    writeln!(out, "pub static {name}: &[(&str, &[u8])] = &[").unwrap();
    for p in list {
        let rel = p.strip_prefix(root).unwrap_or(p).to_string_lossy().replace('\\', "/");
        writeln!(out, "    ({rel:?}, include_bytes!({:?})),", p.display().to_string()).unwrap();
    }
    writeln!(out, "];").unwrap();
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR")).join("../..");
    let (seed, specs) = (root.join("corpus/seed"), root.join("specs"));
    let (mut images, mut scenarios) = (Vec::new(), Vec::new());
    files(&seed, "vhd", false, &mut images);
    files(&specs, "yaml", true, &mut scenarios);
    // The recipe table is not a scenario (the generator embeds it on its own).
    scenarios.retain(|p| p != &specs.join("recipes.yaml"));
    images.sort();
    scenarios.sort();
    let mut out = String::new();
    table(&mut out, "SEED_IMAGES", &seed, &images);
    table(&mut out, "SPECS", &specs, &scenarios);
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("embedded.rs");
    std::fs::write(dest, out).expect("write embedded.rs");
    println!("cargo:rerun-if-changed={}", seed.display());
    println!("cargo:rerun-if-changed={}", specs.display());
    println!("cargo:rerun-if-changed=build.rs");
}
