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

use crate::backends::backend_for;
use crate::model::synthetic::{ensure_weights, spec_dir};
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
    let backend = backend_for(case.backend);
    if let BackendStatus::Unavailable { reason, hint } = backend.status() {
        return CaseResult::skipped(case, format!("{reason} (hint: {hint})"));
    }
    if let Support::No(reason) = backend.supports(case.device, case.precision) {
        return CaseResult::skipped(case, reason);
    }
    let (weights, folder, llama) = match model_weights(case, &options.cache_dir) {
        Ok(found) => found,
        Err(message) => return CaseResult::from_report(case, WorkerReport::failed(message)),
    };
    let job = WorkerJob {
        case: case.clone(),
        weights,
        spec_dir: folder,
        llama,
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

/// The weights file, the folder for converted forms, and a Llama
/// checkpoint's config: a GGUF file or HF folder converted once into the
/// model cache; a model file as it is; the synthetic GPT's generated weights.
fn model_weights(
    case: &Case,
    cache_dir: &std::path::Path,
) -> Result<(PathBuf, PathBuf, Option<inferbench_backend::LlamaConfig>), String> {
    if let Some(checkpoint) = &case.model.llama {
        let converted = match checkpoint.format {
            crate::scenario::CheckpointFormat::Gguf => {
                inferbench_models::convert_gguf_cached(&checkpoint.path, cache_dir)
            }
            crate::scenario::CheckpointFormat::Hf => {
                inferbench_models::convert_hf_cached(&checkpoint.path, cache_dir)
            }
        }
        .map_err(|e| e.to_string())?;
        let folder = converted
            .weights
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        return Ok((converted.weights, folder, Some(converted.config)));
    }
    let folder = spec_dir(cache_dir, &case.model.spec);
    match &case.model.file {
        // A model file needs no generated weights.
        Some(file) => Ok((file.path.clone(), folder, None)),
        None => ensure_weights(cache_dir, &case.model.spec)
            .map(|path| (path, folder, None))
            .map_err(|e| error_chain(&e)),
    }
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
