//! The `inferbench monitor` command: load the scenario, bind the listener,
//! start a probe loop per case, wait for a signal or the duration, stop.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tokio::sync::watch;

use super::listener;
use super::metrics::Exposition;
use super::prober::{Prober, Tally};
use super::push::Push;
use super::sink::{CaseSeries, ProbeSink, Sinks};
use crate::exit_status::{FAILURE, USAGE, exit};
use crate::export::{OtlpConfig, OtlpOptions};
use crate::runner::{interrupt, warm};
use crate::scenario::{self, Case};

/// The options of `inferbench monitor`.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitorArgs {
    /// The scenario file (TOML); every case needs a [generation] table, and
    /// its [monitor] table says how often to probe it.
    pub scenario: PathBuf,
    /// Serve the probes' metrics at http://ADDR/metrics (Prometheus and
    /// OpenMetrics text).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9464")]
    pub listen: String,
    /// Stop after this long (e.g. 90s, 10m, 2h; a bare number is seconds)
    /// [default: until SIGINT or SIGTERM].
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Only cases whose id contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Also push the metrics, and a span per probe, over OTLP to this
    /// endpoint [default: $OTEL_EXPORTER_OTLP_ENDPOINT].
    #[arg(long, value_name = "ENDPOINT")]
    pub otlp: Option<String>,
    /// OTLP protocol: grpc or http/protobuf [default:
    /// $OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf].
    #[arg(long, value_name = "PROTOCOL")]
    pub otlp_protocol: Option<String>,
    /// Seconds between OTLP metric pushes.
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0)]
    pub otlp_interval: f64,
    /// Where generated models and reference outputs are cached
    /// [default: $INFERBENCH_CACHE_DIR, else ~/.cache/inferbench].
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

/// `90`, `90s`, `500ms`, `10m`, `2h`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write e.g. 90s, 10m or 2h"))?;
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "m" => 60.0,
        "h" => 3600.0,
        other => return Err(format!("unknown unit `{other}`; use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(value * scale)
        .map_err(|_| format!("`{text}` is not a duration of zero or more"))
}

/// The scenario's cases to probe: narrowed by `--filter`; each must be a
/// generation workload.
fn cases(args: &MonitorArgs, cores: usize) -> Result<Result<Vec<Case>, ExitCode>> {
    let loaded = match scenario::load_file(&args.scenario, cores) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Err(exit(USAGE)));
        }
    };
    let mut cases = loaded.cases;
    if let Some(f) = &args.filter {
        cases.retain(|c| c.id.contains(f.as_str()));
    }
    if cases.is_empty() {
        let filter = args.filter.as_deref().unwrap_or_default();
        bail!(
            "{}: no case id contains `{filter}` (--filter)",
            args.scenario.display()
        );
    }
    let forward: Vec<&str> = cases
        .iter()
        .filter(|c| c.generation.is_none())
        .map(|c| c.id.as_str())
        .collect();
    if !forward.is_empty() {
        bail!(
            "`inferbench monitor` probes generation workloads; these cases have no [generation] \
             table: {} (narrow the cases with --filter, or add one)",
            forward.join(", ")
        );
    }
    Ok(Ok(cases))
}

/// Binds the listener, with what to do when the address is taken.
fn bind(addr: &str) -> Result<std::net::TcpListener> {
    listener::bind(addr).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                " (another process listens there: stop it, or choose another address with --listen)"
            }
            _ => " (give --listen HOST:PORT, e.g. 127.0.0.1:9464)",
        };
        anyhow!("cannot listen on {addr}: {e}{hint}")
    })
}

/// The outputs: the exposition (shared with the listener), and the OTLP
/// push when configured.
fn sinks(
    args: &MonitorArgs,
    series: &[CaseSeries],
) -> Result<(Arc<Exposition>, Arc<dyn ProbeSink>)> {
    let exposition = Arc::new(Exposition::new(series));
    let mut all: Vec<Box<dyn ProbeSink>> = vec![Box::new(exposition.clone())];
    let options = OtlpOptions {
        endpoint: args.otlp.clone(),
        protocol: args.otlp_protocol.clone(),
    };
    if let Some(config) = OtlpConfig::resolve(&options)? {
        let interval = Duration::try_from_secs_f64(args.otlp_interval)
            .ok()
            .filter(|d| !d.is_zero())
            .context("--otlp-interval must be a positive number of seconds")?;
        let push = Push::start(&config, series, interval).map_err(|e| anyhow!("--otlp: {e}"))?;
        all.push(Box::new(push));
    }
    Ok((exposition, Arc::new(Sinks(all))))
}

/// Each case's start: its index, and why it could not start.
type Ready = mpsc::Receiver<(usize, Result<(), String>)>;

/// The probe threads: each case's counts, its start, and the end of each
/// probe loop.
struct Started {
    tallies: Vec<Arc<Tally>>,
    ready: Ready,
    done: mpsc::Receiver<()>,
}

/// Starts a thread per case that makes its generator and probes; each
/// reports on `ready` once probing (or why it could not start), and on
/// `done` when its probe loop ended. The threads are not joined: a
/// generator still busy at the stop (a model decoding the probes queued
/// for it) ends with the process.
fn start(
    cases: &[Case],
    cache_dir: &std::path::Path,
    sinks: &Arc<dyn ProbeSink>,
    runtime: &tokio::runtime::Handle,
    stop: &watch::Receiver<bool>,
) -> Started {
    let ((ready_tx, ready), (done_tx, done)) = (mpsc::channel(), mpsc::channel());
    let seed = crate::time::unix_nanos();
    let tallies = cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let settings = case.monitor.unwrap_or_default();
            let tally = Arc::new(Tally::default());
            let prober = Prober {
                case: i,
                settings,
                seed: seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                sinks: sinks.clone(),
                tally: tally.clone(),
            };
            let (case, cache_dir) = (case.clone(), cache_dir.to_path_buf());
            let (ready_tx, runtime, stop) = (ready_tx.clone(), runtime.clone(), stop.clone());
            let done_tx = done_tx.clone();
            std::thread::spawn(move || {
                let probing =
                    warm::with_generator(&case, &cache_dir, settings.max_in_flight, |w| {
                        let _ = ready_tx.send((i, Ok(())));
                        runtime.block_on(prober.run(w, stop));
                        let _ = done_tx.send(());
                    });
                if let Err(e) = probing {
                    let _ = ready_tx.send((i, Err(e.to_string())));
                }
            });
            tally
        })
        .collect();
    Started {
        tallies,
        ready,
        done,
    }
}

/// Waits until every case started or failed to; the number started, and
/// whether one failed (each failure printed).
fn wait_started(cases: &[Case], ready: &Ready) -> (usize, bool) {
    let (mut started, mut failed) = (0, false);
    for _ in 0..cases.len() {
        match ready.recv() {
            Ok((_, Ok(()))) => started += 1,
            Ok((i, Err(e))) => {
                eprintln!("error: {}: {e}", cases[i].id);
                failed = true;
            }
            Err(_) => failed = true,
        }
    }
    (started, failed)
}

/// Waits for SIGINT, SIGTERM or the end of `duration`; says which.
fn wait_for_stop(duration: Option<Duration>) -> String {
    let started = Instant::now();
    loop {
        if let Some(signal) = interrupt::received() {
            return interrupt::name(signal).to_string();
        }
        if duration.is_some_and(|d| started.elapsed() >= d) {
            return "--duration reached".into();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `inferbench monitor`.
pub fn run_monitor(args: &MonitorArgs, cores: usize) -> Result<ExitCode> {
    let cases = match cases(args, cores)? {
        Ok(cases) => cases,
        Err(code) => return Ok(code),
    };
    let listener = bind(&args.listen)?;
    let address = listener.local_addr()?;
    let series: Vec<CaseSeries> = cases.iter().map(CaseSeries::of).collect();
    let (exposition, sinks) = sinks(args, &series)?;
    interrupt::install();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("inferbench-monitor")
        .build()
        .context("cannot start the async runtime")?;
    let (stop_tx, stop) = watch::channel(false);
    runtime.spawn(listener::serve(listener, exposition, stop.clone()));
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(inferbench_models::cache::default_cache_dir);
    let started = start(&cases, &cache_dir, &sinks, runtime.handle(), &stop);
    let (probing, failed) = wait_started(&cases, &started.ready);
    let reason = if failed {
        "a case could not start".to_string()
    } else {
        eprintln!(
            "monitor: probing {} cases of {}; metrics at http://{address}/metrics",
            cases.len(),
            args.scenario.display()
        );
        wait_for_stop(args.duration)
    };
    let _ = stop_tx.send(true);
    // Each probe loop ends within its grace (0.5 s) of the stop.
    let deadline = Instant::now() + Duration::from_secs(1);
    for _ in 0..probing {
        let left = deadline.saturating_duration_since(Instant::now());
        if started.done.recv_timeout(left).is_err() {
            break;
        }
    }
    runtime.shutdown_timeout(Duration::from_millis(100));
    sinks.flush();
    let count = |f: fn(&Tally) -> &AtomicU64| -> u64 {
        started
            .tallies
            .iter()
            .map(|t| f(t).load(Ordering::Relaxed))
            .sum()
    };
    let (probes, errors) = (count(|t| &t.probes), count(|t| &t.errors));
    eprintln!("monitor: stopped ({reason}) after {probes} probes, {errors} failed");
    Ok(if failed {
        exit(FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_usual_units() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("soon").unwrap_err().contains("90s"));
        assert!(
            parse_duration("3d")
                .unwrap_err()
                .contains("unknown unit `d`")
        );
        assert!(parse_duration("-1s").is_err());
    }
}
