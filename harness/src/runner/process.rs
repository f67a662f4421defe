//! Running a case in its own child process (`inferbench worker`), so its
//! peak memory is its own, its thread settings apply from the first
//! instruction, and a crash becomes an `error` row instead of ending the run.

use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::WaitNotice;
use super::interrupt;
use super::protocol::{WorkerJob, WorkerReport};

/// Longest a worker may take beyond its own measurement limits (loading,
/// warm-up, reference computation) before it is killed as hung. The whole
/// deadline is `warmup.seconds + measurement.max_seconds + GRACE` (README,
/// "When a worker hangs").
const GRACE: Duration = Duration::from_secs(600);

/// Longest a worker may sit stopped (SIGSTOP, a debugger, `T` in
/// /proc/PID/stat) before it is given up on: a stopped process makes no
/// progress, and waiting out the whole deadline would look like a hang.
const STOPPED_LIMIT: Duration = Duration::from_secs(60);

/// The deadline of a case's worker; saturates rather than panicking on
/// settings the scenario check would have refused.
fn deadline(job: &WorkerJob) -> Duration {
    let case_seconds = job.case.measurement.max_seconds + job.case.warmup.seconds;
    Duration::try_from_secs_f64(case_seconds)
        .unwrap_or(Duration::MAX)
        .saturating_add(GRACE)
}

/// Whether the process is stopped (state `T` or `t` in /proc/PID/stat).
fn is_stopped(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesized command name, which may hold spaces.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
        .is_some_and(|state| state == 'T' || state == 't')
}

pub fn run_in_child(job: &WorkerJob, scratch: &Path, notice: Option<&WaitNotice>) -> WorkerReport {
    match try_run_in_child(job, scratch, notice) {
        Ok(report) => report,
        Err(message) => WorkerReport::failed(message),
    }
}

fn try_run_in_child(
    job: &WorkerJob,
    scratch: &Path,
    notice: Option<&WaitNotice>,
) -> Result<WorkerReport, String> {
    let job_path = scratch.join("job.json");
    let report_path = scratch.join("report.json");
    let log_path = scratch.join("worker.log");
    let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
    fs::write(
        &job_path,
        serde_json::to_vec(job).map_err(|e| e.to_string())?,
    )
    .map_err(|e| io("writing the job file", e))?;
    let _ = fs::remove_file(&report_path);
    let log = File::create(&log_path).map_err(|e| io("creating the worker log", e))?;
    let exe = std::env::current_exe().map_err(|e| io("locating the inferbench binary", e))?;
    let threads = job.case.threads.to_string();
    let mut command = Command::new(exe);
    // libgomp (libtorch's intra-op pool) keeps idle threads spinning; on a
    // shared machine a spinning thread takes the core its busy sibling
    // needs, so every parallel region waits out a scheduler time slice
    // (measured with tch on a loaded 2-core machine: p50 50-90 ms spinning,
    // 15 ms passive). Passive unless the user chose a policy; read at start-up.
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        command.env("OMP_WAIT_POLICY", "PASSIVE");
    }
    let mut child = command
        .arg("worker")
        .arg("--job")
        .arg(&job_path)
        .arg("--report")
        .arg(&report_path)
        // Read once at start-up by rayon (candle), OpenMP (libtorch) and
        // OpenBLAS; only a fresh process can honour a per-case thread count.
        .env("RAYON_NUM_THREADS", &threads)
        .env("OMP_NUM_THREADS", &threads)
        .stdin(Stdio::null())
        .stdout(
            log.try_clone()
                .map_err(|e| io("opening the worker log", e))?,
        )
        .stderr(log)
        .spawn()
        .map_err(|e| io("starting the worker process", e))?;

    let deadline = deadline(job);
    let started = Instant::now();
    let mut stopped_since: Option<Instant> = None;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| io("waiting for the worker", e))?
        {
            break status;
        }
        let waited_for = if let Some(signal) = interrupt::received() {
            // Forwarded, so the worker's runtime can stop its threads; then
            // killed, so no orphan outlives the run.
            interrupt::forward(child.id(), signal);
            std::thread::sleep(Duration::from_millis(200));
            Some(format!("interrupted by {}", interrupt::name(signal)))
        } else if started.elapsed() > deadline {
            Some(format!(
                "the worker did not finish within {} s (warm-up seconds + max_seconds + {} s \
                 for loading and the reference) and was killed",
                deadline.as_secs(),
                GRACE.as_secs()
            ))
        } else if is_stopped(child.id()) {
            let since = *stopped_since.get_or_insert_with(|| {
                if let Some(WaitNotice(tell)) = notice {
                    tell(&format!(
                        "{}: the worker (pid {}) is stopped; giving up in {} s",
                        job.case.id,
                        child.id(),
                        STOPPED_LIMIT.as_secs()
                    ));
                }
                Instant::now()
            });
            (since.elapsed() > STOPPED_LIMIT).then(|| {
                format!(
                    "the worker (pid {}) was stopped for {} s (SIGSTOP or a debugger) and was killed",
                    child.id(),
                    STOPPED_LIMIT.as_secs()
                )
            })
        } else {
            stopped_since = None;
            None
        };
        if let Some(message) = waited_for {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{message}{}", log_tail(&log_path)));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // The report is written before the worker exits; if it exists, trust it
    // even when the exit was unclean (a crash in a runtime's destructor).
    if let Ok(bytes) = fs::read(&report_path)
        && let Ok(report) = serde_json::from_slice::<WorkerReport>(&bytes)
    {
        return Ok(report);
    }
    Err(format!(
        "the worker process ended with {status} before reporting{}",
        log_tail(&log_path)
    ))
}

/// The last lines the worker printed, to explain a crash.
fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let tail = &lines[lines.len().saturating_sub(5)..];
    format!("; its last output: {}", tail.join(" | "))
}
