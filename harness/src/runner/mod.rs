//! Runs cases one after another, each in its own worker process by default,
//! and turns what the workers report into [`CaseResult`]s.

mod checkpoint;
pub mod interrupt;
pub mod measurement;
pub mod memory;
pub(crate) mod process;
pub mod protocol;
mod references;
pub mod slowdown;
pub mod summarize;
pub mod warm;
pub mod worker;

use std::path::PathBuf;

use inferbench_backend::{BackendStatus, Support};

use crate::model::encoder::EncoderJob;
use crate::model::synthetic::{spec_dir, weights_path};
use crate::registry::backend_for;
use crate::results::CaseResult;
use crate::scenario::Case;
use protocol::{WorkerJob, WorkerReport};
use summarize::summarize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Isolation {
    /// Each case in its own worker process (peak memory per case, crash-safe).
    Process,
    /// All cases in this process: faster to start, but thread counts are
    /// fixed by the first case and a crash ends the run.
    None,
}

/// Told what the runner is waiting for when a worker stops making progress
/// (the progress line shows it).
#[derive(Clone)]
pub struct WaitNotice(pub std::sync::Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for WaitNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WaitNotice")
    }
}

#[derive(Debug, Clone)]
pub struct RunnerOptions {
    pub isolation: Isolation,
    /// Where a stopped worker is reported, if anywhere.
    pub wait_notice: Option<WaitNotice>,
    pub cache_dir: PathBuf,
    /// Test knob of the regression gate: make every measured pass this many
    /// percent slower (see `slowdown.rs`); 0 in real runs.
    pub inject_slowdown_pct: f64,
    /// Each backend's measured matmul peak (`run --peak`): every result
    /// gets its `peak_fraction` from it.
    pub peak: Option<std::sync::Arc<crate::peak::PeakReport>>,
}

/// Runs one case to a result: skipped (with the reason) when the backend is
/// missing or does not run the combination, otherwise measured or errored.
pub fn run_case(case: &Case, options: &RunnerOptions) -> CaseResult {
    let started_at = crate::time::unix_nanos();
    let mut result = run_case_untimed(case, options);
    result.peak_fraction = options.peak.as_ref().and_then(|p| p.fraction(&result));
    result.started_at_unix_ns = Some(started_at);
    result.finished_at_unix_ns = Some(crate::time::unix_nanos());
    result
}

/// Why this build skips `case` without starting a worker: its backend is
/// unknown, unavailable here, or does not run its device and precision.
pub fn skip_reason(case: &Case) -> Option<String> {
    let backend = match backend_for(&case.backend) {
        Ok(backend) => backend,
        Err(e) => return Some(e.to_string()),
    };
    if let BackendStatus::Unavailable { reason, hint } = backend.status() {
        return Some(format!("{reason} (hint: {hint})"));
    }
    match backend.supports(case.device, case.precision) {
        Support::No(reason) => Some(reason),
        _ => None,
    }
}

fn run_case_untimed(case: &Case, options: &RunnerOptions) -> CaseResult {
    if let Some(reason) = skip_reason(case) {
        return summarize(case, WorkerReport::skipped(reason));
    }
    if let Some(message) = memory::too_large_for_memory(case) {
        return summarize(case, WorkerReport::failed(message));
    }
    let job = match job_for(case, &options.cache_dir, options.inject_slowdown_pct) {
        Ok(job) => job,
        Err(message) => return summarize(case, WorkerReport::failed(message)),
    };
    let report = match options.isolation {
        Isolation::None => worker::execute(&job),
        Isolation::Process => match tempfile::tempdir() {
            Ok(scratch) => {
                process::run_in_child(&job, scratch.path(), options.wait_notice.as_ref())
            }
            Err(e) => WorkerReport::failed(format!("cannot create a scratch folder: {e}")),
        },
    };
    summarize(case, report)
}

/// The job of a case: the case and its model's files, converted into the
/// cache first when needed.
fn job_for(
    case: &Case,
    cache_dir: &std::path::Path,
    inject_slowdown_pct: f64,
) -> Result<WorkerJob, String> {
    let model = model_weights(case, cache_dir)?;
    Ok(WorkerJob {
        case: case.clone(),
        weights: model.weights,
        spec_dir: model.folder,
        llama: model.llama,
        tokenizer_dir: model.tokenizer_dir,
        encoder: model.encoder,
        inject_slowdown_pct,
    })
}

/// A case's model as its worker gets it.
struct ModelWeights {
    weights: PathBuf,
    /// The folder for converted forms and cached references.
    folder: PathBuf,
    llama: Option<inferbench_backend::LlamaConfig>,
    /// A Llama checkpoint's folder of tokenizer files.
    tokenizer_dir: Option<PathBuf>,
    encoder: Option<EncoderJob>,
}

/// A GGUF file or HF folder converted once into the model cache; a model
/// file as it is; the synthetic GPT's generated weights.
fn model_weights(case: &Case, cache_dir: &std::path::Path) -> Result<ModelWeights, String> {
    let parent =
        |weights: &std::path::Path| weights.parent().map(PathBuf::from).unwrap_or_default();
    if let Some(folder) = &case.model.encoder {
        let converted = inferbench_models::bert_folder::convert_bert_cached(folder, cache_dir)
            .map_err(|e| e.to_string())?;
        return Ok(ModelWeights {
            folder: parent(&converted.weights),
            weights: converted.weights,
            llama: None,
            tokenizer_dir: None,
            encoder: Some(EncoderJob {
                config: converted.config,
                pooling: converted.pooling,
                folder: converted.folder,
            }),
        });
    }
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
        return Ok(ModelWeights {
            folder: parent(&converted.weights),
            weights: converted.weights,
            llama: Some(converted.config),
            tokenizer_dir: Some(converted.folder),
            encoder: None,
        });
    }
    let folder = spec_dir(cache_dir, &case.model.spec);
    // A model file needs no generated weights; the synthetic GPT's are
    // generated by the worker (model-sized work never runs in this
    // process, where running out of memory would end the whole run).
    let weights = match &case.model.file {
        Some(file) => file.path.clone(),
        None => weights_path(cache_dir, &case.model.spec),
    };
    Ok(ModelWeights {
        weights,
        folder,
        llama: None,
        tokenizer_dir: None,
        encoder: None,
    })
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
