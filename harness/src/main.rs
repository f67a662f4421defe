//! The `inferbench` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use inferbench::exit_status::{FAILURE, USAGE, exit};
use inferbench::export::{self, TelemetryOptions};
use inferbench::gate::baseline;
use inferbench::gate::command as gate;
use inferbench::history::store::default_path as history_path;
use inferbench::results::RunFolder;
use inferbench::results::environment::Environment;
use inferbench::results::json::RunDocument;
use inferbench::runner::protocol::WorkerJob;
use inferbench::runner::worker::execute;
use inferbench::runner::{Isolation, RunnerOptions};
use inferbench::scenario::{self, Case};
use inferbench::sinks::{
    self, HistorySink, ParetoSink, ProgressSink, ReportSink, RunEnd, RunSink, TableSink,
    TelemetrySink, WarningsSink,
};

#[derive(Parser)]
#[command(
    name = "inferbench",
    version,
    about = "Benchmark and regression harness for ML inference"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write results/runs/<run-id>/.
    Run(RunArgs),
    /// Send a stored run (results/runs/<run-id>/) to telemetry sinks.
    Export {
        /// The run folder (holds results.json).
        run_dir: PathBuf,
        #[command(flatten)]
        telemetry: TelemetryOptions,
    },
    /// Check a scenario file; exit 0 when valid, 2 with a located error otherwise.
    Validate { scenario: PathBuf },
    /// Print the JSON Schema of scenario files (for editor completion).
    Schema,
    /// List the backends and whether each can run here.
    Backends,
    /// Compare two runs or a baseline and a run; exit 1 on a regression.
    Compare(gate::CompareArgs),
    /// Manage saved baselines (results/baselines/).
    #[command(subcommand)]
    Baseline(gate::BaselineCommand),
    /// Change points in the run history, with the commit each began at.
    History(inferbench::history::command::HistoryArgs),
    /// Write a run's HTML report (one self-contained file; `run` writes
    /// it into every run folder as report.html).
    Report {
        /// The run folder (holds results.json).
        run_dir: PathBuf,
        /// Where to write the page [default: RUN_DIR/report.html].
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Split a scenario's cases into shards balanced by estimated time:
    /// the case table, or a plan file for `run --plan`.
    Plan(inferbench::shard::command::PlanArgs),
    /// Merge shard run folders (`run --shard`) into one run folder.
    Merge(inferbench::shard::command::MergeArgs),
    /// Probe a scenario's generation cases continuously (a served endpoint
    /// or an in-process model), serving the figures at /metrics for
    /// Prometheus and pushing them over OTLP; runs until SIGINT, SIGTERM or
    /// --duration.
    Monitor(inferbench::monitor::MonitorArgs),
    /// Measure each backend's own matmul peak (f32 and half precisions,
    /// per thread count) and the machine's FMA rate.
    Peak(inferbench::peak::command::PeakArgs),
    /// Internal: measure one backend's peak on one thread count (started
    /// by `peak` and `run --peak`).
    #[command(hide = true)]
    PeakWorker {
        #[arg(long)]
        job: String,
    },
    /// Internal: run one case (started by `run` for each case).
    #[command(hide = true)]
    Worker {
        #[arg(long)]
        job: PathBuf,
        #[arg(long)]
        report: PathBuf,
    },
}

/// The regression gate's options of `run`.
#[derive(clap::Args)]
struct RunGateArgs {
    /// After the run, compare it with this baseline (a name in
    /// results/baselines/ or a file) and exit 1 on a regression.
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,
    /// The history store the run's summaries are appended to
    /// [default: history.jsonl beside the --out folder].
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// Do not append to the history store.
    #[arg(long)]
    no_history: bool,
    /// With --baseline: judge latency and memory even when the baseline
    /// ran on another CPU or with other linked runtimes.
    #[arg(long)]
    allow_env_mismatch: bool,
    /// Test knob for gate calibration: make each measured pass PCT percent
    /// slower with a busy-wait.
    #[arg(long, hide = true, value_name = "PCT", default_value_t = 0.0)]
    inject_slowdown: f64,
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Turns a case into a smoke-test case: minimal warm-up and measurement.
fn quick(case: &mut Case) {
    case.warmup.iterations = 1;
    case.warmup.seconds = 0.0;
    case.measurement.min_iterations = 3;
    case.measurement.min_seconds = 0.0;
    case.measurement.max_iterations = case.measurement.max_iterations.max(3);
    case.measurement.max_seconds = case.measurement.max_seconds.min(5.0);
    if let Some(g) = case.generation.as_mut() {
        g.requests = g.requests.min(4);
    }
}

/// The options of `inferbench run`.
#[derive(clap::Args)]
struct RunArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// Smoke run: 1 warm-up and 3 measured iterations per case, at most
    /// 4 requests per generation case.
    #[arg(long)]
    quick: bool,
    /// Folder that receives the run folder.
    #[arg(long, default_value = "results/runs")]
    out: PathBuf,
    /// Run each case in its own process (default) or all in this one.
    #[arg(long, value_enum, default_value = "process")]
    isolation: Isolation,
    /// Only cases whose id contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Where generated models and reference outputs are cached
    /// [default: $INFERBENCH_CACHE_DIR, else ~/.cache/inferbench].
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// The ONNX Runtime library (libonnxruntime.so) to load
    /// [default: $ORT_DYLIB_PATH, else vendor/onnxruntime/ from `ci/setup.sh`].
    #[arg(long, value_name = "PATH")]
    ort_lib: Option<PathBuf>,
    /// Also measure each case's backend's own matmul peak (reused from the
    /// cache when this machine measured it with the same runtime): a `peak`
    /// section in environment.json and a `peak_fraction` for every case.
    #[arg(long)]
    peak: bool,
    #[command(flatten)]
    telemetry: TelemetryOptions,
    #[command(flatten)]
    gate: RunGateArgs,
    #[command(flatten)]
    shard: inferbench::shard::ShardArgs,
}

fn export_stored(run_dir: &Path, telemetry: &TelemetryOptions) -> Result<ExitCode> {
    let exporters = telemetry.exporters()?;
    if exporters.is_empty() {
        eprintln!(
            "error: nothing to export to; give --otlp, --pushgateway or --tensorboard \
             (or set OTEL_EXPORTER_OTLP_ENDPOINT)"
        );
        return Ok(exit(USAGE));
    }
    let report = export::export_run_dir(exporters, run_dir)?;
    Ok(if report.print() {
        ExitCode::SUCCESS
    } else {
        exit(FAILURE)
    })
}

/// The scenario's cases, narrowed by `--filter` and shortened by `--quick`.
fn selected_cases(mut cases: Vec<Case>, args: &RunArgs) -> Vec<Case> {
    if let Some(f) = &args.filter {
        cases.retain(|c| c.id.contains(f.as_str()));
    }
    if args.quick {
        cases.iter_mut().for_each(quick);
    }
    cases
}

/// Every output of the run, in the order each sees an event: the run
/// folder first (the others read its files), the table last.
fn sinks(
    folder: RunFolder,
    progress: ProgressSink,
    exporters: Vec<Box<dyn export::Exporter>>,
    args: &RunArgs,
) -> Vec<Box<dyn RunSink>> {
    let dir = folder.dir.clone();
    let bar = progress.bar();
    let mut sinks: Vec<Box<dyn RunSink>> = vec![
        Box::new(folder),
        Box::new(progress),
        Box::new(WarningsSink::new(cores(), bar)),
    ];
    if !exporters.is_empty() {
        sinks.push(Box::new(TelemetrySink::new(exporters, dir.clone())));
    }
    sinks.push(Box::new(ParetoSink::new(dir.clone())));
    if !args.gate.no_history {
        let file = args.gate.history.clone();
        let file = file.unwrap_or_else(|| history_path(&args.out));
        sinks.push(Box::new(HistorySink::new(file)));
    }
    sinks.push(Box::new(ReportSink::new(dir.clone())));
    sinks.push(Box::new(TableSink::new(dir)));
    sinks
}

/// `inferbench run`: load → expand → drive the sinks → the exit code.
fn run(args: RunArgs) -> Result<ExitCode> {
    // A telemetry setting that cannot work is found before measuring.
    let exporters = args.telemetry.exporters()?;
    if let Some(name) = &args.gate.baseline {
        gate::check_baseline(name, Path::new(baseline::DEFAULT_DIR))?;
    }
    let scenario::LoadedScenario {
        name,
        source,
        cases,
        ..
    } = match scenario::load_file(&args.scenario, cores()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit(USAGE));
        }
    };
    let cases = selected_cases(cases, &args);
    let (cases, shard) = match &args.shard.shard {
        Some(spec) => {
            let sha = inferbench::results::environment::sha256_hex(source.as_bytes());
            let (cases, record) = inferbench::shard::select::select(
                &args.shard,
                spec,
                (&name, &sha),
                cases,
                cores(),
            )?;
            (cases, Some(record))
        }
        None => (cases, None),
    };
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(inferbench_models::cache::default_cache_dir);
    let peak = args
        .peak
        .then(|| inferbench::peak::command::for_run(&cases, &cache_dir));
    let progress = ProgressSink::new(cases.len());
    let options = RunnerOptions {
        isolation: args.isolation,
        wait_notice: Some(progress.wait_notice()),
        cache_dir,
        inject_slowdown_pct: args.gate.inject_slowdown,
        peak: peak.clone().map(std::sync::Arc::new),
    };
    let mut environment = Environment::capture(&args.scenario.display().to_string(), &source);
    environment.peak = peak;
    let (folder, mut document) = RunFolder::create(&args.out, &name, &source, environment)?;
    let dir = folder.dir.clone();
    let part = shard.as_ref().map_or(String::new(), |r| {
        format!(" (shard {} of {})", r.shard.index, r.shard.count)
    });
    eprintln!(
        "run {} — {} cases{part} → {}",
        document.run_id,
        cases.len(),
        dir.display()
    );
    if let Some(record) = &shard {
        record.write(&dir)?;
    }
    let mut sinks = sinks(folder, progress, exporters, &args);
    let end = sinks::drive(&cases, &options, &mut document, &mut sinks)?;
    exit_code(end, &document, &dir, &args.gate)
}

/// Interrupted: 128 + the signal; a case errored or failed: 1; otherwise
/// the gate's verdict when `--baseline` asked for one.
fn exit_code(end: RunEnd, run: &RunDocument, dir: &Path, gate: &RunGateArgs) -> Result<ExitCode> {
    if let RunEnd::Interrupted { signal, name } = end {
        eprintln!(
            "error: interrupted by {name}; the finished cases are in {}",
            dir.display()
        );
        // The shell's convention for a process ended by a signal: 128 + N.
        return Ok(ExitCode::from(128 + signal as u8));
    }
    if let Some(code) = inferbench::exit_status::failing_cases(&run.cases) {
        return Ok(code);
    }
    match &gate.baseline {
        Some(name) => gate::gate_run(
            dir,
            name,
            Path::new(baseline::DEFAULT_DIR),
            gate.allow_env_mismatch,
        ),
        None => Ok(ExitCode::SUCCESS),
    }
}

fn validate(path: &Path) -> ExitCode {
    match scenario::load_file(path, cores()) {
        Ok(l) => {
            println!("{}: valid, {} cases", path.display(), l.cases.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit(USAGE)
        }
    }
}

fn worker(job: &Path, report: &Path) -> Result<ExitCode> {
    let bytes = std::fs::read(job).with_context(|| format!("reading job {}", job.display()))?;
    let job: WorkerJob = serde_json::from_slice(&bytes).context("parsing the job")?;
    let result = execute(&job);
    let json = serde_json::to_vec(&result).context("encoding the report")?;
    std::fs::write(report, json).with_context(|| format!("writing report {}", report.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// `inferbench peak-worker`: measures one job, prints its outcomes.
fn peak_worker(job: &str) -> Result<ExitCode> {
    let job: inferbench::peak::process::PeakJob =
        serde_json::from_str(job).context("parsing the peak job")?;
    println!("{}", inferbench::peak::process::work(&job));
    Ok(ExitCode::SUCCESS)
}

/// Makes `path` the ONNX Runtime library of this process and of the worker
/// processes it starts (they inherit the environment variable the ort
/// adapter reads first). A relative path is made absolute first, since
/// workers may resolve it differently. Called at start-up, before any other
/// thread exists.
fn use_ort_library(path: &Path) {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    // SAFETY: called from `main` before any thread is spawned, so no other
    // thread can read the environment concurrently.
    unsafe { std::env::set_var(inferbench_ort::library::LIBRARY_ENV, path) };
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Run(RunArgs {
        ort_lib: Some(path),
        ..
    }) = &cli.command
    {
        use_ort_library(path);
    }
    let outcome = match cli.command {
        Command::Run(args) => run(args),
        Command::Export { run_dir, telemetry } => export_stored(&run_dir, &telemetry),
        Command::Compare(args) => gate::run_compare(&args),
        Command::Baseline(command) => gate::run_baseline(&command),
        Command::History(args) => inferbench::history::command::run_history(&args),
        Command::Report { run_dir, output } => {
            inferbench::report::write_run_report(&run_dir, output.as_deref())
                .map(|path| {
                    println!("report: {}", path.display());
                    ExitCode::SUCCESS
                })
                .map_err(anyhow::Error::from)
        }
        Command::Validate { scenario } => Ok(validate(&scenario)),
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&scenario::json_schema()).expect("schema is JSON")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Backends => {
            print!("{}", inferbench::registry::listing());
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan(args) => inferbench::shard::command::run_plan(&args, cores()),
        Command::Merge(args) => inferbench::shard::command::run_merge(&args),
        Command::Monitor(args) => inferbench::monitor::run_monitor(&args, cores()),
        Command::Peak(args) => inferbench::peak::command::run_peak(&args),
        Command::PeakWorker { job } => peak_worker(&job),
        Command::Worker { job, report } => worker(&job, &report),
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        exit(USAGE)
    })
}
