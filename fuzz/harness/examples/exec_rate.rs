//! In-process rate of the `validate_image` body over a directory of inputs, without libFuzzer's
//! instrumentation or mutation: `cargo run --release -p vhd-fuzz-harness --example exec_rate --
//! DIR ROUNDS`. Runs the body on every regular file of DIR, ROUNDS times over, and prints the
//! executions per second (wall clock). docs/PERFORMANCE.md compares it with `cargo fuzz run`.
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(Ok(rounds))) = (args.first(), args.get(1).map(|r| r.parse::<u64>())) else {
        eprintln!("usage: exec_rate DIR ROUNDS");
        return ExitCode::from(2);
    };
    let mut inputs = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{dir}: {e}");
            return ExitCode::from(2);
        }
    };
    for p in entries.flatten().map(|e| e.path()) {
        if p.is_file() {
            match std::fs::read(&p) {
                Ok(b) => inputs.push(b),
                Err(e) => {
                    eprintln!("{}: {e}", p.display());
                    return ExitCode::from(2);
                }
            }
        }
    }
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for data in &inputs {
            vhd_fuzz_harness::bodies::validate_image(data);
        }
    }
    let execs = inputs.len() as f64 * rounds as f64;
    println!("{} inputs x {rounds} rounds: {:.0} exec/s (wall)", inputs.len(), execs / start.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}
