//! Shrinks a failing `scenario_roundtrip` input by its decoded scenario, not its bytes:
//! `cargo run --release --example shrink -- INPUT OUTPUT` (or `fuzz/fuzz.sh shrink INPUT`).
//! The input must panic; every candidate is judged by running the target's oracles on it as
//! the input's mode would (`vhd_generator::shrink`), and the smallest scenario that still panics
//! is written to OUTPUT as a mode-3 (YAML) input and printed. A failure that only the input's
//! mode checks (random valid or corrupt scenarios) is judged that way while shrinking; replaying
//! OUTPUT then runs the YAML-mode checks.
use std::panic::{catch_unwind, AssertUnwindSafe};
use vhd_fuzz_harness::scenario::{decode, roundtrip_as, yaml_input};
use vhd_generator::shrink::{shrink, DEFAULT_MAX_STEPS};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: shrink INPUT OUTPUT");
        std::process::exit(2);
    };
    let data = std::fs::read(input).unwrap_or_else(|e| {
        eprintln!("{input}: {e}");
        std::process::exit(2);
    });
    let Some((mode, scenario)) = decode(&data) else {
        eprintln!("{input} does not decode to a scenario");
        std::process::exit(2);
    };
    std::panic::set_hook(Box::new(|_| {}));
    let mut fails = |s: &vhd_generator::Scenario| catch_unwind(AssertUnwindSafe(|| roundtrip_as(mode, s))).is_err();
    if !fails(&scenario) {
        eprintln!("{input} does not fail: nothing to shrink");
        std::process::exit(1);
    }
    let r = shrink(&scenario, DEFAULT_MAX_STEPS, &mut fails);
    let bytes = yaml_input(&r.scenario).unwrap_or_else(|e| {
        eprintln!("the shrunk scenario cannot be written as YAML: {e}\n{:#?}", r.scenario);
        std::process::exit(1);
    });
    std::fs::write(output, &bytes).unwrap_or_else(|e| {
        eprintln!("{output}: {e}");
        std::process::exit(2);
    });
    eprintln!("{} candidates tried, {} kept; wrote {output}", r.tries, r.steps.len());
    println!("{}", String::from_utf8_lossy(&bytes[1..]));
}
