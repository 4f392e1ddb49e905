//! In-process throughput of `virtstrap_butane::translate` (plain
//! `std::time::Instant` loops, no external harness).
//!
//! Run with `cargo bench -p virtstrap-butane --bench translate`.
//!
//! Two workloads:
//!
//! * `write-up`: the Butane config from the write-up (embedded below),
//!   translated and serialised with `to_json(false)` in a loop.
//! * `write-up, no_auto_compression`: the same with gzip disabled, to
//!   show what compression costs.
//! * `corpus`: every `*.bu` in the conformance corpus
//!   (`../shared/conformance/butane/corpus/valid`, found relative to this
//!   crate's `CARGO_MANIFEST_DIR`, or `$VIRTSTRAP_BUTANE_CORPUS`), each with
//!   the files-dir named by its `.args` file; one pass over the corpus
//!   translates every config once. The bench fails if the corpus is absent.
//!
//! Reported: configs/s, MB/s of Butane input (1 MB = 10^6 bytes) and mean
//! µs per config. `BENCH_SECS` (default 3) sets the measuring time per
//! workload.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use virtstrap_butane::{translate, Options};

/// The write-up's Butane config, verbatim (examples/seed/node.bu).
const WRITE_UP: &str = include_str!("../../../examples/seed/node.bu");

/// Target for the write-up file, configs/s.
const TARGET_CONFIGS_PER_SEC: f64 = 20_000.0;

struct Case {
    name: String,
    input: Vec<u8>,
    opts: Options,
}

struct Result_ {
    workload: String,
    configs: u64,
    bytes: u64,
    elapsed: Duration,
}

impl Result_ {
    fn configs_per_sec(&self) -> f64 {
        self.configs as f64 / self.elapsed.as_secs_f64()
    }
    fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.elapsed.as_secs_f64()
    }
    fn us_per_config(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e6 / self.configs as f64
    }
}

/// Translates every case once and serialises it; returns bytes of input.
fn pass(cases: &[Case]) -> u64 {
    let mut bytes = 0;
    for c in cases {
        let t = translate(black_box(&c.input), &c.opts);
        if let Ok(t) = t {
            black_box(t.to_json(false));
        }
        bytes += c.input.len() as u64;
    }
    bytes
}

/// Runs whole passes over `cases` for at least `budget` after a warm-up.
fn measure(workload: &str, cases: &[Case], budget: Duration) -> Result_ {
    let warm = Instant::now();
    while warm.elapsed() < budget / 10 {
        pass(cases);
    }
    let start = Instant::now();
    let (mut configs, mut bytes) = (0u64, 0u64);
    loop {
        bytes += pass(cases);
        configs += cases.len() as u64;
        if start.elapsed() >= budget {
            break;
        }
    }
    Result_ {
        workload: workload.to_owned(),
        configs,
        bytes,
        elapsed: start.elapsed(),
    }
}

fn corpus_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("VIRTSTRAP_BUTANE_CORPUS") {
        return PathBuf::from(d);
    }
    // crates/butane -> workspace root -> its parent holds shared/.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/butane/corpus/valid")
}

fn load_corpus(dir: &Path) -> Result<Vec<Case>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "conformance corpus not found at {}: {e} (set VIRTSTRAP_BUTANE_CORPUS)",
            dir.display()
        )
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "bu"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!("no *.bu files in {}", dir.display()));
    }
    let mut cases = Vec::with_capacity(paths.len());
    for p in paths {
        let input = std::fs::read(&p).map_err(|e| format!("reading {}: {e}", p.display()))?;
        let mut opts = Options::default();
        let args_path = p.with_extension("args");
        if let Ok(args) = std::fs::read_to_string(&args_path) {
            let mut words = args.split_whitespace();
            while let Some(w) = words.next() {
                match w {
                    "--files-dir" | "-d" => {
                        let d = words.next().ok_or_else(|| {
                            format!("{}: --files-dir without value", args_path.display())
                        })?;
                        opts.files_dir = Some(dir.join(d));
                    }
                    other => {
                        return Err(format!(
                            "{}: unsupported argument {other:?}",
                            args_path.display()
                        ))
                    }
                }
            }
        }
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        cases.push(Case { name, input, opts });
    }
    Ok(cases)
}

fn main() -> ExitCode {
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let budget = Duration::from_secs_f64(secs);

    let write_up = vec![Case {
        name: "write-up".into(),
        input: WRITE_UP.as_bytes().to_vec(),
        opts: Options::default(),
    }];
    if let Err(e) = translate(&write_up[0].input, &write_up[0].opts) {
        eprintln!("error: the write-up config does not translate: {e}");
        return ExitCode::FAILURE;
    }

    let dir = corpus_dir();
    let corpus = match load_corpus(&dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let failing: Vec<&str> = corpus
        .iter()
        .filter(|c| translate(&c.input, &c.opts).is_err())
        .map(|c| c.name.as_str())
        .collect();
    if !failing.is_empty() {
        eprintln!(
            "warning: {} of {} corpus configs fail to translate (still timed): {}",
            failing.len(),
            corpus.len(),
            failing.join(", ")
        );
    }
    let corpus_bytes: usize = corpus.iter().map(|c| c.input.len()).sum();

    let write_up_nc = vec![Case {
        name: "write-up, no_auto_compression".into(),
        input: WRITE_UP.as_bytes().to_vec(),
        opts: Options {
            no_auto_compression: true,
            ..Options::default()
        },
    }];
    let results = [
        measure(
            &format!("write-up ({} B)", write_up[0].input.len()),
            &write_up,
            budget,
        ),
        measure("write-up, no_auto_compression", &write_up_nc, budget),
        measure(
            &format!("corpus ({} files, {} B)", corpus.len(), corpus_bytes),
            &corpus,
            budget,
        ),
    ];

    println!();
    println!(
        "| {:<30} | {:>10} | {:>12} | {:>8} | {:>10} |",
        "workload", "configs", "configs/s", "MB/s", "µs/config"
    );
    println!(
        "|{:-<32}|{:->12}|{:->14}|{:->10}|{:->12}|",
        "", "", "", "", ""
    );
    for r in &results {
        println!(
            "| {:<30} | {:>10} | {:>12.0} | {:>8.2} | {:>10.2} |",
            r.workload,
            r.configs,
            r.configs_per_sec(),
            r.mb_per_sec(),
            r.us_per_config()
        );
    }
    let w = results[0].configs_per_sec();
    println!();
    println!(
        "target: write-up > {TARGET_CONFIGS_PER_SEC:.0} configs/s: {} ({w:.0})",
        if w > TARGET_CONFIGS_PER_SEC {
            "MET"
        } else {
            "NOT MET"
        }
    );
    ExitCode::SUCCESS
}
