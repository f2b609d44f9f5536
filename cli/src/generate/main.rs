//! `vhd-generate`: YAML scenarios to VHD images and a manifest.
//!
//! ```text
//! vhd-generate SCENARIO.yaml|DIR... -o OUT [--seed N] [--force]
//! vhd-generate random --count N --seed S -o OUT [--corrupt-ratio R] [--force]
//! vhd-generate corpus [--check] [--specs specs] [--out corpus/generated]
//! (every command also takes --jobs N: cases at once, default one per core)
//! vhd-generate recipes -o DIR [--force]
//! vhd-generate schemas -o docs [--check]
//! vhd-generate explore [--impl NAME]... [--cmd TEMPLATE --name NAME] [--seed S] [--budget N|Ns|Nm]
//!                      [--out DIR] [--timeout SECS] [--max-shrink N] [--valid-only] [--force]
//! vhd-generate promote FAULT_DIR|SCENARIO.yaml --id ID [--specs specs] [--tag T]... [--force]
//! ```
//! `explore` exits 0 when no fault was found, 1 when one was, 2 on an error.
//! Exit status: 0 success, 1 a difference (`--check`), 2 an error.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use vhd_cli::bar::{hook, Bar};
use vhd_generator::{corpus, explore, random, schema, GenError, GenOptions};
use vhd_validator::progress::Progress;

#[derive(Parser)]
#[command(
    name = "vhd-generate",
    version,
    about = "Turns YAML scenarios into valid and corrupt VHD images with a manifest"
)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Scenario files and directories (searched recursively for *.yaml, *.yml).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output directory (gets one directory per case and manifest.json).
    #[arg(short, long, required = true)]
    out: Option<PathBuf>,
    /// Replace every scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
    /// Cases generated (or compared) at once (default: one per core); the output does not
    /// depend on it.
    #[arg(short, long, global = true, value_name = "N")]
    jobs: Option<usize>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Random valid and corrupt scenarios of every disk type (chains up to depth 4); each
    /// case's scenario.yaml is saved beside its images.
    Random {
        /// Number of cases.
        #[arg(long)]
        count: usize,
        /// Seed of the whole run.
        #[arg(long)]
        seed: u64,
        /// Output directory.
        #[arg(short, long)]
        out: PathBuf,
        /// Fraction of corrupt cases, 0..=1.
        #[arg(long, default_value_t = 0.5)]
        corrupt_ratio: f64,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Rebuild the golden corpus from specs/ (or, with --check, regenerate into a temporary
    /// directory and compare byte for byte: exit 1 on any difference).
    Corpus {
        /// Compare instead of rebuilding.
        #[arg(long)]
        check: bool,
        /// Scenario directory.
        #[arg(long, default_value = "specs")]
        specs: PathBuf,
        /// Generated corpus directory.
        #[arg(long, default_value = "corpus/generated")]
        out: PathBuf,
        /// Instead of rebuilding: write the corpus directory (--out) as one deterministic,
        /// versioned tar archive to FILE: `vhd-corpus-VERSION/` with manifest.json, its JSON
        /// Schema and every listed file, each checked against the manifest (docs/ADOPTING.md).
        #[arg(long, value_name = "FILE", conflicts_with = "check")]
        archive: Option<PathBuf>,
    },
    /// Write one scenario per byte-triggerable rule (the recipes) as DIR/<code>.yaml, a
    /// starting point for corpus scenarios.
    Recipes {
        /// Directory to write the YAML files to.
        #[arg(short, long)]
        out: PathBuf,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Differential exploration: random scenarios run through conform's adapters; each
    /// disagreement with the validator and the reference chain reader is shrunk and reported
    /// once per signature (see docs/EXPLORE.md).
    Explore(ExploreArgs),
    /// Turn an exploration reproducer (a fault folder or its scenario.yaml) into a scenario
    /// under specs/ with its codes declared as the validator reports them.
    Promote {
        /// A fault folder of `explore --out` or a scenario YAML file.
        reproducer: PathBuf,
        /// Case id (and path under --specs, without `.yaml`).
        #[arg(long)]
        id: String,
        /// Scenario directory.
        #[arg(long, default_value = "specs")]
        specs: PathBuf,
        /// Extra feature tags (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Replace an existing scenario file.
        #[arg(long)]
        force: bool,
    },
    /// Write (or with --check compare) the JSON Schemas of the scenario and manifest formats.
    Schemas {
        /// Directory of the schema files.
        #[arg(short, long, default_value = "docs")]
        out: PathBuf,
        /// Compare instead of writing: exit 1 when a file differs.
        #[arg(long)]
        check: bool,
    },
}

#[derive(clap::Args)]
struct ExploreArgs {
    /// A built-in implementation: qemu-img, libvhdi, 7zip (repeatable).
    #[arg(long = "impl")]
    impls: Vec<String>,
    /// A command template as for `vhd-validate conform --cmd` (repeatable, named by --name).
    #[arg(long)]
    cmd: Vec<String>,
    /// Names of the --cmd implementations, in order (default cmd1, cmd2, ...).
    #[arg(long)]
    name: Vec<String>,
    /// Seed of the run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Draws (`200`) or seconds (`600s`, `10m`).
    #[arg(long, default_value = "100")]
    budget: String,
    /// Directory for the fault folders and summaries.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Time limit per implementation run, seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Most reductions tried per shrink.
    #[arg(long, default_value_t = 200)]
    max_shrink: usize,
    /// Draw valid scenarios only (no mutation): hunts misreads and refusals.
    #[arg(long)]
    valid_only: bool,
    /// Use an --out directory that already has files.
    #[arg(long)]
    force: bool,
    /// Python interpreter of the libvhdi built-in (it must import pyvhdi).
    #[arg(long, value_name = "PATH", default_value = vhd_conform::adapter::DEFAULT_PYTHON)]
    python: String,
}

struct BarListener(Option<Bar>);

impl explore::Listener for BarListener {
    fn draw_done(&mut self, draw: u64, faults: usize) {
        if let Some(b) = &self.0 {
            b.step(&format!("draw {} · {faults} faults", draw + 1));
        }
    }
    fn fault(&mut self, f: &explore::Fault, new: bool) {
        let what = if new { "fault" } else { "smaller" };
        let line = format!("{what} {} [{}] after {:.1} s: {}", f.id, f.codes.join(","), f.first_found_s, f.locus);
        match &self.0 {
            Some(b) => b.println(&line),
            None => eprintln!("{line}"),
        }
    }
}

fn run_explore(a: ExploreArgs) -> ExitCode {
    use vhd_conform::{Adapter, Builtin};
    let mut adapters = Vec::new();
    for n in &a.impls {
        match Builtin::parse(n) {
            Some(b) => adapters.push(b.adapter_with_python(&a.python)),
            None => {
                eprintln!("vhd-generate: unknown implementation {n:?} (qemu-img, libvhdi, 7zip)");
                return ExitCode::from(2);
            }
        }
    }
    for (i, c) in a.cmd.iter().enumerate() {
        let name = a.name.get(i).cloned().unwrap_or_else(|| format!("cmd{}", i + 1));
        match Adapter::from_template(&name, c) {
            Ok(ad) => adapters.push(ad),
            Err(e) => {
                eprintln!("vhd-generate: --cmd {c:?}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if adapters.is_empty() {
        eprintln!("vhd-generate: explore needs at least one --impl or --cmd");
        return ExitCode::from(2);
    }
    let Some(budget) = explore::Budget::parse(&a.budget) else {
        eprintln!("vhd-generate: --budget {:?}: give draws (200) or seconds (600s, 10m)", a.budget);
        return ExitCode::from(2);
    };
    if let Some(out) = &a.out {
        let non_empty = std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some());
        if non_empty && !a.force {
            eprintln!("vhd-generate: {} already has files (--force to use it anyway)", out.display());
            return ExitCode::from(2);
        }
    }
    let mut opts = explore::ExploreOptions::new(adapters);
    opts.seed = a.seed;
    opts.budget = budget;
    opts.reader.timeout = std::time::Duration::from_secs(a.timeout.max(1));
    opts.max_shrink_tries = a.max_shrink;
    opts.valid_only = a.valid_only;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed)) {
        eprintln!("vhd-generate: cannot catch Ctrl-C: {e}");
    }
    let bar = match budget {
        explore::Budget::Cases(n) => Bar::items("explore", n),
        _ => Bar::counter("explore"),
    };
    let mut listener = BarListener(bar);
    let result = explore::explore(&opts, a.out.as_deref(), &stop, &mut listener);
    drop(listener);
    match result {
        Ok(e) => {
            print!("{}", explore::report::markdown(&e));
            if e.faults.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("vhd-generate: explore: {e}");
            ExitCode::from(2)
        }
    }
}

fn fail(e: &GenError) -> ExitCode {
    eprintln!("vhd-generate: {e}");
    if let GenError::Yaml(y) = e {
        if !y.snippet.is_empty() {
            eprintln!("{}", y.snippet);
        }
    }
    ExitCode::from(2)
}

fn write_recipes(out: &std::path::Path, force: bool) -> Result<usize, GenError> {
    let all = vhd_generator::recipes::all();
    corpus::stage_output(out, force, |dir| {
        for r in &all {
            let mut s = r.scenario()?;
            s.id = None;
            let text =
                vhd_generator::yaml::to_yaml(&s).map_err(|m| GenError::Invalid { path: r.code.into(), message: m })?;
            let path = dir.join(format!("{}.yaml", r.code.to_ascii_lowercase()));
            std::fs::write(&path, text).map_err(|e| GenError::Io { path, source: e })?;
        }
        Ok(all.len())
    })
}

/// Runs `f` with a progress bar on stderr (a terminal only) counting cases; the bar is cleared
/// when `f` returns.
fn with_bar<T>(label: &str, f: impl FnOnce(&dyn Progress) -> T) -> T {
    f(hook(&Bar::counter(label)))
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    vhd_cli::janitor::serve_if_asked();
    let _janitor = vhd_cli::janitor::install();
    let cli = Cli::parse();
    if let Err(e) = vhd_validator::parallel::set_jobs(cli.jobs) {
        eprintln!("vhd-generate: {e}");
        return ExitCode::from(2);
    }
    match cli.cmd {
        None => {
            let opts = GenOptions::default().with_seed(cli.seed).with_force(cli.force);
            let Some(out) = cli.out else { return ExitCode::from(2) };
            let result = corpus::collect_inputs(&cli.inputs)
                .and_then(|i| with_bar("generate", |p| corpus::generate_inputs_with(&i, &out, &opts, p)));
            match result {
                Ok(m) => {
                    println!("{} cases written to {}", m.cases.len(), out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Some(Cmd::Random { count, seed, out, corrupt_ratio, force }) => {
            let result =
                with_bar("random", |p| random::generate_random_with(count, seed, corrupt_ratio, &out, force, p));
            match result {
                Ok(m) => {
                    println!("{} random cases written to {}", m.cases.len(), out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Some(Cmd::Corpus { archive: Some(dest), out, .. }) => {
            match vhd_generator::archive::write_archive(&out, &dest) {
                Ok(top) => {
                    println!("{} written to {} ({top}/)", out.display(), dest.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Some(Cmd::Corpus { check: false, specs, out, archive: None }) => {
            match with_bar("corpus", |p| corpus::rebuild_corpus_with(&specs, &out, p)) {
                Ok(m) => {
                    println!("{} cases written to {}", m.cases.len(), out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Some(Cmd::Corpus { check: true, specs, out, archive: None }) => match with_bar("corpus --check", |p| {
            corpus::check_corpus_with(&specs, &out, p)
        }) {
            Ok(d) if d.is_empty() => {
                println!("{} is reproducible from {}", out.display(), specs.display());
                ExitCode::SUCCESS
            }
            Ok(d) => {
                for line in &d {
                    println!("{line}");
                }
                println!("{} differences between {} and a regeneration of {}", d.len(), out.display(), specs.display());
                ExitCode::from(1)
            }
            Err(e) => fail(&e),
        },
        Some(Cmd::Recipes { out, force }) => match write_recipes(&out, force) {
            Ok(n) => {
                println!("{n} recipes written to {}", out.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Some(Cmd::Explore(a)) => run_explore(a),
        Some(Cmd::Promote { reproducer, id, specs, tags, force }) => {
            match explore::promote::promote(&reproducer, &id, &specs, &tags, force) {
                Ok(path) => {
                    println!("{}", path.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Some(Cmd::Schemas { out, check }) => {
            let mut differ = false;
            for (name, text) in schema::all() {
                let path = out.join(name);
                if check {
                    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                        println!("stale: {}", path.display());
                        differ = true;
                    }
                } else if let Err(e) = std::fs::write(&path, text) {
                    eprintln!("vhd-generate: {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
            if differ {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
