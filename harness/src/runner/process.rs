//! Running a case in its own child process (`inferbench worker`), so its
//! peak memory is its own, its thread settings apply from the first
//! instruction, and a crash becomes an `error` row instead of ending the run.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
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
    let files = ScratchFiles::in_folder(scratch);
    let mut child = spawn_worker(job, &files)?;
    let status = wait_for_worker(&mut child, job, notice, &files.log)?;
    // The report is written before the worker exits; if it exists, trust it
    // even when the exit was unclean (a crash in a runtime's destructor).
    if let Ok(bytes) = fs::read(&files.report)
        && let Ok(report) = serde_json::from_slice::<WorkerReport>(&bytes)
    {
        return Ok(report);
    }
    Err(format!(
        "the worker process ended with {status} before reporting{}",
        log_tail(&files.log)
    ))
}

/// The files a worker and its parent exchange, in the case's scratch folder.
struct ScratchFiles {
    job: PathBuf,
    report: PathBuf,
    log: PathBuf,
}

impl ScratchFiles {
    fn in_folder(scratch: &Path) -> Self {
        Self {
            job: scratch.join("job.json"),
            report: scratch.join("report.json"),
            log: scratch.join("worker.log"),
        }
    }
}

/// An I/O error as a message that says what was being done.
fn io(what: &str) -> impl FnOnce(std::io::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Writes the job file and starts `inferbench worker` on it, its output
/// going to the log.
fn spawn_worker(job: &WorkerJob, files: &ScratchFiles) -> Result<Child, String> {
    fs::write(
        &files.job,
        serde_json::to_vec(job).map_err(|e| e.to_string())?,
    )
    .map_err(io("writing the job file"))?;
    let _ = fs::remove_file(&files.report);
    let log = File::create(&files.log).map_err(io("creating the worker log"))?;
    let exe = std::env::current_exe().map_err(io("locating the inferbench binary"))?;
    let mut command = Command::new(exe);
    with_threads(&mut command, job.case.threads);
    command
        .arg("worker")
        .arg("--job")
        .arg(&files.job)
        .arg("--report")
        .arg(&files.report)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(io("opening the worker log"))?)
        .stderr(log)
        .spawn()
        .map_err(io("starting the worker process"))
}

/// Sets the environment a worker process that runs a backend on `threads`
/// threads starts with (a case's worker, a peak measurement's).
pub(crate) fn with_threads(command: &mut Command, threads: usize) {
    let threads = threads.to_string();
    // libgomp (libtorch's intra-op pool) keeps idle threads spinning; on a
    // shared machine a spinning thread takes the core its busy sibling
    // needs, so every parallel region waits out a scheduler time slice
    // (measured with tch on a loaded 2-core machine: p50 50-90 ms spinning,
    // 15 ms passive). Passive unless the user chose a policy; read at start-up.
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        command.env("OMP_WAIT_POLICY", "PASSIVE");
    }
    // Read once at start-up by rayon (candle), OpenMP (libtorch) and
    // OpenBLAS; only a fresh process can honour a per-case thread count.
    command
        .env("RAYON_NUM_THREADS", &threads)
        .env("OMP_NUM_THREADS", &threads);
}

/// Polls the worker until it exits; kills it (and says why, with the end
/// of its log) when the run is interrupted, the deadline passes or it stays
/// stopped.
fn wait_for_worker(
    child: &mut Child,
    job: &WorkerJob,
    notice: Option<&WaitNotice>,
    log: &Path,
) -> Result<ExitStatus, String> {
    let mut watchdog = Watchdog::new(job, notice);
    loop {
        if let Some(status) = child.try_wait().map_err(io("waiting for the worker"))? {
            return Ok(status);
        }
        if let Some(message) = watchdog.reason_to_kill(child.id()) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{message}{}", log_tail(log)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What decides that a running worker must go.
struct Watchdog<'a> {
    job: &'a WorkerJob,
    notice: Option<&'a WaitNotice>,
    deadline: Duration,
    started: Instant,
    /// When the worker was first seen stopped, while it stays stopped.
    stopped_since: Option<Instant>,
}

impl<'a> Watchdog<'a> {
    fn new(job: &'a WorkerJob, notice: Option<&'a WaitNotice>) -> Self {
        Self {
            job,
            notice,
            deadline: deadline(job),
            started: Instant::now(),
            stopped_since: None,
        }
    }

    /// Why the worker `pid` must be killed now, if it must.
    fn reason_to_kill(&mut self, pid: u32) -> Option<String> {
        if let Some(signal) = interrupt::received() {
            // Forwarded, so the worker's runtime can stop its threads; then
            // killed, so no orphan outlives the run.
            interrupt::forward(pid, signal);
            std::thread::sleep(Duration::from_millis(200));
            Some(format!("interrupted by {}", interrupt::name(signal)))
        } else if self.started.elapsed() > self.deadline {
            Some(format!(
                "the worker did not finish within {} s (warm-up seconds + max_seconds + {} s \
                 for loading and the reference) and was killed",
                self.deadline.as_secs(),
                GRACE.as_secs()
            ))
        } else if is_stopped(pid) {
            self.stopped_too_long(pid)
        } else {
            self.stopped_since = None;
            None
        }
    }

    /// Tells the user the first time the worker is seen stopped; gives up
    /// on it after [`STOPPED_LIMIT`].
    fn stopped_too_long(&mut self, pid: u32) -> Option<String> {
        let since = *self.stopped_since.get_or_insert_with(|| {
            if let Some(WaitNotice(tell)) = self.notice {
                tell(&format!(
                    "{}: the worker (pid {pid}) is stopped; giving up in {} s",
                    self.job.case.id,
                    STOPPED_LIMIT.as_secs()
                ));
            }
            Instant::now()
        });
        (since.elapsed() > STOPPED_LIMIT).then(|| {
            format!(
                "the worker (pid {pid}) was stopped for {} s (SIGSTOP or a debugger) and was killed",
                STOPPED_LIMIT.as_secs()
            )
        })
    }
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
