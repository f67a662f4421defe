//! Running a case in its own child process (`inferbench worker`), so its
//! peak memory is its own, its thread settings apply from the first
//! instruction, and a crash becomes an `error` row instead of ending the run.

use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::worker::{WorkerJob, WorkerReport};

/// Longest a worker may take beyond its own measurement limits (loading,
/// warm-up, reference computation) before it is killed as hung.
const GRACE: Duration = Duration::from_secs(600);

pub fn run_in_child(job: &WorkerJob, scratch: &Path) -> WorkerReport {
    match try_run_in_child(job, scratch) {
        Ok(report) => report,
        Err(message) => WorkerReport::failed(message),
    }
}

fn try_run_in_child(job: &WorkerJob, scratch: &Path) -> Result<WorkerReport, String> {
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

    let m = &job.case.measurement;
    let deadline = Duration::from_secs_f64(m.max_seconds + job.case.warmup.seconds) + GRACE;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| io("waiting for the worker", e))?
        {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the worker did not finish within {} s and was killed{}",
                deadline.as_secs(),
                log_tail(&log_path)
            ));
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
