//! The summary of one case: the figures users read (percentiles,
//! throughput, GFLOP/s, accuracy deltas, status) and the raw samples they
//! come from. `runner::summarize` builds it from a worker's report.

use serde::{Deserialize, Serialize};

use crate::accuracy::AccuracyDeltas;
use crate::generation::GenerationSummary;
use crate::model::perplexity::Perplexity;
use crate::scenario::Case;
use crate::stats::Summary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Measured, and within its accuracy limits.
    Measured,
    /// Not run: the backend is missing or does not run this combination.
    Skipped,
    /// The backend failed (load, run, crash, timeout).
    Error,
    /// Measured, but outside its accuracy limits.
    Failed,
    /// Stopped by SIGINT/SIGTERM before it finished; the run stopped there.
    Interrupted,
    /// In a merged run (`merge --allow-partial`): its shard never reported it.
    Missing,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Measured => "measured",
            Status::Skipped => "skipped",
            Status::Error => "error",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
            Status::Missing => "missing",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub case: Case,
    pub status: Status,
    /// Why a case was skipped, errored or failed.
    pub message: Option<String>,
    pub runtime_version: Option<String>,
    pub iterations: usize,
    pub warmup_iterations: u64,
    /// Latency per forward pass in milliseconds.
    pub latency_ms: Option<Summary>,
    #[serde(default, with = "crate::results::float::option")]
    pub throughput_seq_per_s: Option<f64>,
    #[serde(default, with = "crate::results::float::option")]
    pub throughput_tokens_per_s: Option<f64>,
    pub flops_per_forward: u64,
    #[serde(default, with = "crate::results::float::option")]
    pub gflop_per_s: Option<f64>,
    /// `gflop_per_s` over the backend's own matmul peak at the same
    /// precision and threads (`run --peak`; see `crate::peak`).
    #[serde(default, with = "crate::results::float::option")]
    pub peak_fraction: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    pub weight_bytes: Option<u64>,
    /// Size on disk of the model file the backend loaded.
    pub model_file_bytes: Option<u64>,
    #[serde(default, with = "crate::results::float::option")]
    pub load_ms: Option<f64>,
    #[serde(with = "crate::results::float")]
    pub warmup_ms: f64,
    #[serde(with = "crate::results::float")]
    pub measure_ms: f64,
    #[serde(with = "crate::results::float")]
    pub accuracy_ms: f64,
    pub accuracy: Option<AccuracyDeltas>,
    /// NaN or ±inf values in the last pass's outputs (counted with or
    /// without a reference; with one they also make the case `failed`).
    #[serde(default)]
    pub nonfinite_outputs: Option<u64>,
    /// Every measured iteration, nanoseconds, in order (for generation
    /// workloads: each request's end-to-end latency).
    pub samples_ns: Vec<u64>,
    /// Perplexity on the `[inputs] text` windows, beside the reference's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perplexity: Option<Perplexity>,
    /// TTFT, TPOT, rates… of a generation workload.
    #[serde(default)]
    pub generation: Option<GenerationSummary>,
    /// Wall-clock bounds of the case (Unix epoch, ns), from the runner;
    /// telemetry traces place their spans with them.
    #[serde(default)]
    pub started_at_unix_ns: Option<u64>,
    #[serde(default)]
    pub finished_at_unix_ns: Option<u64>,
    /// When the worker began loading the model (Unix epoch, ns); the phase
    /// durations above follow it in order.
    #[serde(default)]
    pub load_started_at_unix_ns: Option<u64>,
    /// Process CPU time of every measured iteration, ns (regression gate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_samples_ns: Vec<u64>,
    /// Encoder cases: the share of computed positions that were padding.
    #[serde(default, with = "crate::results::float::option")]
    pub padding_share: Option<f64>,
}
