//! `inferbench peak` (the table), and the rows `run --peak` needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use inferbench_backend::{Backend, BackendStatus, Device, Precision, Support};

use super::cache::PeakCache;
use super::process::{PeakJob, measure_in_child};
use super::{PRECISIONS, PeakOutcome, PeakReport, PeakRow, PeakSettings, fma};
use crate::registry;
use crate::scenario::Case;

/// The options of `inferbench peak`.
#[derive(clap::Args, Debug)]
pub struct PeakArgs {
    /// Only this backend (repeatable) [default: every registered one].
    #[arg(long = "backend", value_name = "NAME")]
    pub backends: Vec<String>,
    /// Thread counts, comma-separated [default: 1 and every core].
    #[arg(long, value_delimiter = ',', value_name = "N")]
    pub threads: Vec<usize>,
    /// Precisions, comma-separated, among f32, f16 and bf16 [default: each
    /// one the backend runs on the CPU].
    #[arg(long, value_delimiter = ',', value_name = "P")]
    pub precisions: Vec<Precision>,
    /// Square matrix sizes, comma-separated; the best rate among them is
    /// the peak [default: 512,1024,2048].
    #[arg(long, value_delimiter = ',', value_name = "N")]
    pub sizes: Vec<usize>,
    /// Seconds of measured products per size (at least 3 products).
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    pub seconds: f64,
    /// Reuse the peaks this machine measured last with the same runtime
    /// (the cache `run --peak` reads) instead of measuring them again.
    #[arg(long)]
    pub cached: bool,
    /// Also write the table as JSON (environment.json's `peak` section).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Where measured peaks are cached
    /// [default: $INFERBENCH_CACHE_DIR, else ~/.cache/inferbench].
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

/// One row to fill: what the backend answered up front (unavailable, a
/// precision it does not run) or `None`, to be measured.
struct Slot {
    backend: Arc<dyn Backend>,
    row: PeakRow,
    known: Option<PeakOutcome>,
}

fn runtime_version(backend: &dyn Backend) -> Result<String, String> {
    match backend.status() {
        BackendStatus::Ready { runtime_version } => Ok(runtime_version),
        BackendStatus::Unavailable { reason, hint } => Err(format!("{reason} (hint: {hint})")),
    }
}

fn slot(backend: &Arc<dyn Backend>, precision: Precision, threads: usize) -> Slot {
    let runtime = runtime_version(backend.as_ref());
    let known = match (&runtime, backend.supports(Device::Cpu, precision)) {
        (Err(reason), _) => Some(reason.clone()),
        (Ok(_), Support::No(reason)) => Some(reason),
        (Ok(_), Support::Yes) => None,
    }
    .map(|reason| PeakOutcome::NotMeasured { reason });
    Slot {
        backend: backend.clone(),
        row: PeakRow {
            backend: backend.name().to_string(),
            runtime_version: runtime.ok(),
            precision,
            threads,
            outcome: PeakOutcome::NotMeasured {
                reason: String::new(),
            },
        },
        known,
    }
}

/// Each backend × thread count × precision it runs on the CPU; a backend
/// that runs none of `precisions` gets one row per thread count, in the
/// first, saying why.
fn slots(backends: &[Arc<dyn Backend>], threads: &[usize], precisions: &[Precision]) -> Vec<Slot> {
    let mut out = Vec::new();
    for backend in backends {
        for &n in threads {
            let mut mine: Vec<Slot> = precisions.iter().map(|&p| slot(backend, p, n)).collect();
            if mine.iter().all(|s| s.known.is_some()) {
                mine.truncate(1);
            } else {
                mine.retain(|s| s.known.is_none());
            }
            out.extend(mine);
        }
    }
    out
}

/// Fills every slot: from what the backend said, from the cache when
/// `reuse`, else measured, one worker process per backend and thread
/// count; measured rows go into the cache.
fn fill(slots: Vec<Slot>, settings: &PeakSettings, cache: &PeakCache, reuse: bool) -> Vec<PeakRow> {
    let mut rows: Vec<Option<PeakRow>> = Vec::new();
    let mut jobs: BTreeMap<(String, usize), Vec<usize>> = BTreeMap::new();
    for (i, s) in slots.iter().enumerate() {
        let ready = match &s.known {
            Some(outcome) => Some(PeakRow {
                outcome: outcome.clone(),
                ..s.row.clone()
            }),
            None if reuse => cache.get(&s.row),
            None => None,
        };
        if ready.is_none() {
            let key = (s.backend.name().to_string(), s.row.threads);
            jobs.entry(key).or_default().push(i);
        }
        rows.push(ready);
    }
    for ((backend, threads), indices) in jobs {
        let job = PeakJob {
            backend: backend.clone(),
            threads,
            precisions: indices.iter().map(|&i| slots[i].row.precision).collect(),
            settings: settings.clone(),
        };
        eprintln!("peak: measuring {backend} on {threads} thread(s)...");
        for (&i, outcome) in indices.iter().zip(measure_in_child(&job)) {
            let row = PeakRow {
                outcome,
                ..slots[i].row.clone()
            };
            cache.put(&row);
            rows[i] = Some(row);
        }
    }
    rows.into_iter().flatten().collect()
}

/// Timed runs of the FMA loop (a few ms each); the best counts, so a busy
/// machine needs several for one to run undisturbed.
const FMA_REPEATS: usize = 10;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The backends `names` picks, every registered one when empty.
fn chosen_backends(names: &[String]) -> Result<Vec<Arc<dyn Backend>>> {
    if names.is_empty() {
        return Ok(registry::all());
    }
    names
        .iter()
        .map(|name| {
            registry::find(name).with_context(|| {
                format!(
                    "no backend named `{name}` (known: {})",
                    registry::names().join(", ")
                )
            })
        })
        .collect()
}

/// The settings and thread counts `args` asks for, checked.
fn settings(args: &PeakArgs) -> Result<(PeakSettings, Vec<usize>, Vec<Precision>)> {
    let mut settings = PeakSettings::default();
    if !args.sizes.is_empty() {
        settings.sizes = args.sizes.clone();
    }
    if settings.sizes.iter().any(|&n| n == 0 || n > 16_384) {
        bail!("--sizes must be between 1 and 16384");
    }
    if !(args.seconds.is_finite() && args.seconds >= 0.0) {
        bail!("--seconds must be a number of seconds >= 0");
    }
    settings.seconds = args.seconds;
    let mut threads = args.threads.clone();
    if threads.is_empty() {
        threads = vec![1, cores()];
    }
    if threads.contains(&0) {
        bail!("--threads must be at least 1");
    }
    threads.dedup();
    let precisions = if args.precisions.is_empty() {
        PRECISIONS.to_vec()
    } else {
        args.precisions.clone()
    };
    if let Some(p) = precisions.iter().find(|p| !PRECISIONS.contains(p)) {
        bail!("--precisions: a peak is measured in f32, f16 or bf16, not {p}");
    }
    Ok((settings, threads, precisions))
}

/// `inferbench peak`: measures, prints the table, writes `--json`.
pub fn run_peak(args: &PeakArgs) -> Result<ExitCode> {
    let (settings, threads, precisions) = settings(args)?;
    let backends = chosen_backends(&args.backends)?;
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(inferbench_models::cache::default_cache_dir);
    let rows = fill(
        slots(&backends, &threads, &precisions),
        &settings,
        &PeakCache::new(&cache_dir),
        args.cached,
    );
    let report = PeakReport {
        fma: fma::measure(threads.iter().copied().max().unwrap_or(1), FMA_REPEATS),
        rows,
    };
    print!("{}", super::table::render(&report));
    if let Some(path) = &args.json {
        let json = serde_json::to_vec_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The peaks `cases` are read against (`run --peak`): each CPU case's
/// backend, precision and threads, from the cache where this machine
/// measured them before.
pub fn for_run(cases: &[Case], cache_dir: &Path) -> PeakReport {
    let mut wanted: Vec<(String, Precision, usize)> = cases
        .iter()
        .filter(|c| c.device == Device::Cpu && PRECISIONS.contains(&c.precision))
        .map(|c| (c.backend.to_string(), c.precision, c.threads))
        .collect();
    wanted.sort();
    wanted.dedup();
    let slots = wanted
        .into_iter()
        .filter_map(|(name, precision, threads)| {
            Some(slot(&registry::find(&name)?, precision, threads))
        })
        .collect();
    let rows = fill(
        slots,
        &PeakSettings::default(),
        &PeakCache::new(cache_dir),
        true,
    );
    PeakReport {
        fma: fma::measure(cores(), FMA_REPEATS),
        rows,
    }
}
