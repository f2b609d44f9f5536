//! Replays fuzz inputs on stable, outside libFuzzer: `cargo run --release --example replay --
//! TARGET FILE...` (or `fuzz/fuzz.sh replay TARGET FILE...`). Runs the target's body on each
//! file, prints `ok` or the panic with its time, and exits 1 when any input panicked or took
//! over the replay budget (`vhd_fuzz_harness::bodies::REPLAY_BUDGET`).
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;
use vhd_fuzz_harness::bodies::{self, within_budget, REPLAY_BUDGET};
use vhd_fuzz_harness::scenario::scenario_roundtrip;
use vhd_fuzz_harness::seeds::{mutation_corpus, TARGETS};

fn body(target: &str) -> fn(&[u8]) {
    match target {
        "validate_image" => bodies::validate_image,
        "validate_chain" => bodies::validate_chain,
        "mutate_corpus" => |d| bodies::mutate_corpus(mutation_corpus(), d),
        "scenario_roundtrip" => scenario_roundtrip,
        "check_chain" => bodies::check_chain,
        other => {
            eprintln!("unknown target {other}; one of {}", TARGETS.join(", "));
            std::process::exit(2);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((target, files)) = args.split_first().filter(|(_, f)| !f.is_empty()) else {
        eprintln!("usage: replay TARGET FILE...");
        std::process::exit(2);
    };
    let run = body(target);
    let mut failed = false;
    for file in files {
        let data = std::fs::read(file).unwrap_or_else(|e| {
            eprintln!("{file}: {e}");
            std::process::exit(2);
        });
        let start = Instant::now();
        let outcome = within_budget(REPLAY_BUDGET, move || catch_unwind(AssertUnwindSafe(|| run(&data))).is_ok());
        let took = start.elapsed();
        match outcome {
            Some(true) => println!("ok       {file} ({took:.2?})"),
            Some(false) => {
                failed = true;
                println!("PANICKED {file} ({took:.2?})");
            }
            None => {
                failed = true;
                println!("TIMEOUT  {file} (over {REPLAY_BUDGET:?})");
            }
        }
    }
    std::process::exit(i32::from(failed));
}
