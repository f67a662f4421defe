//! Each backend and thread count is measured in its own process
//! (`inferbench peak-worker`), started with the thread settings a case's
//! worker gets: candle's pool and OpenMP's take their size from the
//! environment once per process, so only a fresh process measures a given
//! thread count, and the peak is measured the way the cases run.

use std::process::{Command, Stdio};

use inferbench_backend::Precision;
use serde::{Deserialize, Serialize};

use super::{PeakOutcome, PeakSettings, measure};
use crate::registry;

/// What one worker measures: `backend` on `threads` threads, in each of
/// `precisions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeakJob {
    pub backend: String,
    pub threads: usize,
    pub precisions: Vec<Precision>,
    pub settings: PeakSettings,
}

/// Runs `job` in a worker process; every precision gets an outcome, a
/// worker that fails gives each the reason.
pub fn measure_in_child(job: &PeakJob) -> Vec<PeakOutcome> {
    match try_in_child(job) {
        Ok(outcomes) if outcomes.len() == job.precisions.len() => outcomes,
        Ok(outcomes) => failed(
            job,
            format!(
                "the peak worker reported {} results for {} precisions",
                outcomes.len(),
                job.precisions.len()
            ),
        ),
        Err(reason) => failed(job, reason),
    }
}

fn failed(job: &PeakJob, reason: String) -> Vec<PeakOutcome> {
    let outcome = PeakOutcome::NotMeasured { reason };
    vec![outcome; job.precisions.len()]
}

fn try_in_child(job: &PeakJob) -> Result<Vec<PeakOutcome>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("locating inferbench: {e}"))?;
    let text = serde_json::to_string(job).map_err(|e| e.to_string())?;
    let mut command = Command::new(exe);
    crate::runner::process::with_threads(&mut command, job.threads);
    let output = command
        .args(["peak-worker", "--job", &text])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("starting the peak worker: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match serde_json::from_str(stdout.trim()) {
        Ok(outcomes) => Ok(outcomes),
        Err(_) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            Err(format!(
                "the peak worker ended with {} before reporting: {}",
                output.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ))
        }
    }
}

/// The worker's side: measures `job` in this process and returns the
/// outcomes as the one line of JSON its parent reads.
pub fn work(job: &PeakJob) -> String {
    let outcomes: Vec<PeakOutcome> = match registry::find(&job.backend) {
        Some(backend) => job
            .precisions
            .iter()
            .map(|&p| measure::measure(backend.as_ref(), p, job.threads, &job.settings))
            .collect(),
        None => {
            let reason = format!("backend `{}` is not registered", job.backend);
            vec![PeakOutcome::NotMeasured { reason }; job.precisions.len()]
        }
    };
    serde_json::to_string(&outcomes).expect("outcomes are plain values")
}
