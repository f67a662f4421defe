//! Runs cases one after another, each in its own worker process by default,
//! and turns what the workers report into [`CaseResult`]s.

pub mod measurement;
pub mod memory;
mod process;
mod references;
pub mod slowdown;
pub mod worker;

use std::path::PathBuf;

use inferbench_backend::{BackendStatus, Support};

use crate::model::synthetic::{ensure_weights, spec_dir};
use crate::registry::backend_for;
use crate::results::CaseResult;
use crate::scenario::Case;
use worker::{WorkerJob, WorkerReport};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Isolation {
    /// Each case in its own worker process (peak memory per case, crash-safe).
    Process,
    /// All cases in this process: faster to start, but thread counts are
    /// fixed by the first case and a crash ends the run.
    None,
}

#[derive(Debug, Clone)]
pub struct RunnerOptions {
    pub isolation: Isolation,
    pub cache_dir: PathBuf,
    /// Test knob of the regression gate: make every measured pass this many
    /// percent slower (see `slowdown.rs`); 0 in real runs.
    pub inject_slowdown_pct: f64,
}

/// Runs one case to a result: skipped (with the reason) when the backend is
/// missing or does not run the combination, otherwise measured or errored.
pub fn run_case(case: &Case, options: &RunnerOptions) -> CaseResult {
    let started_at = crate::time::unix_nanos();
    let mut result = run_case_untimed(case, options);
    result.started_at_unix_ns = Some(started_at);
    result.finished_at_unix_ns = Some(crate::time::unix_nanos());
    result
}

fn run_case_untimed(case: &Case, options: &RunnerOptions) -> CaseResult {
    let backend = match backend_for(&case.backend) {
        Ok(backend) => backend,
        Err(e) => return CaseResult::skipped(case, e.to_string()),
    };
    if let BackendStatus::Unavailable { reason, hint } = backend.status() {
        return CaseResult::skipped(case, format!("{reason} (hint: {hint})"));
    }
    if let Support::No(reason) = backend.supports(case.device, case.precision) {
        return CaseResult::skipped(case, reason);
    }
    // A model file needs no generated weights.
    let weights = match &case.model.file {
        Some(file) => file.path.clone(),
        None => match ensure_weights(&options.cache_dir, &case.model.spec) {
            Ok(path) => path,
            Err(e) => return CaseResult::from_report(case, WorkerReport::failed(error_chain(&e))),
        },
    };
    let job = WorkerJob {
        case: case.clone(),
        weights,
        spec_dir: spec_dir(&options.cache_dir, &case.model.spec),
        inject_slowdown_pct: options.inject_slowdown_pct,
    };
    let report = match options.isolation {
        Isolation::None => worker::execute(&job),
        Isolation::Process => match tempfile::tempdir() {
            Ok(scratch) => process::run_in_child(&job, scratch.path()),
            Err(e) => WorkerReport::failed(format!("cannot create a scratch folder: {e}")),
        },
    };
    CaseResult::from_report(case, report)
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
