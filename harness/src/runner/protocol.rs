//! The worker protocol: the job a worker process is given and the report it
//! writes back, as JSON files. Both are plain data, read by the runner and
//! by [`crate::results`]; nothing here runs anything.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::accuracy::AccuracyDeltas;
use crate::generation::GenerationSummary;
use crate::model::encoder::EncoderJob;
use crate::model::perplexity::Perplexity;
use crate::scenario::Case;

/// Everything a worker needs, as one JSON document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerJob {
    pub case: Case,
    pub weights: PathBuf,
    pub spec_dir: PathBuf,
    /// A Llama checkpoint's config; `weights` is then its f32 safetensors
    /// file and `spec_dir` the converted folder, both in the model cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llama: Option<inferbench_backend::LlamaConfig>,
    /// A checkpoint's tokenizer files (`tokenizer.json`, and
    /// `tokenizer_config.json` with its chat template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer_dir: Option<PathBuf>,
    /// An encoder's config, pooling and folder; `weights` is then its f32
    /// safetensors file and `spec_dir` the converted folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<EncoderJob>,
    /// Percent added to each pass by a busy-wait (gate calibration only).
    #[serde(default)]
    pub inject_slowdown_pct: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "lowercase")]
pub enum Outcome {
    Measured,
    Skipped(String),
    Error(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerReport {
    pub outcome: Outcome,
    pub runtime_version: Option<String>,
    #[serde(default, with = "crate::results::float::option")]
    pub load_ms: Option<f64>,
    pub warmup_iterations: u64,
    #[serde(with = "crate::results::float")]
    pub warmup_ms: f64,
    #[serde(with = "crate::results::float")]
    pub measure_ms: f64,
    /// One value per measured pass (generation: per request) for each
    /// measurement taken, in the same order; see [`Series`].
    #[serde(default)]
    pub series: Vec<Series>,
    pub peak_rss_bytes: Option<u64>,
    pub weight_bytes: Option<u64>,
    pub model_file_bytes: Option<u64>,
    pub accuracy: Option<AccuracyDeltas>,
    #[serde(with = "crate::results::float")]
    pub accuracy_ms: f64,
    /// NaN or ±inf values among the last measured pass's outputs.
    #[serde(default)]
    pub nonfinite_outputs: Option<u64>,
    /// Perplexity on the `[inputs] text` windows.
    #[serde(default)]
    pub perplexity: Option<Perplexity>,
    /// Set for generation workloads.
    #[serde(default)]
    pub generation: Option<GenerationSummary>,
    /// Wall clock (Unix epoch, ns) when loading began.
    #[serde(default)]
    pub load_started_at_unix_ns: Option<u64>,
    /// Set for encoder cases: the real and the computed (padded) tokens of
    /// the batch each pass runs.
    #[serde(default)]
    pub encoder_tokens: Option<EncoderTokens>,
}

/// Tokens of an encoder case's batch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EncoderTokens {
    /// Sentence tokens (the mask's ones).
    pub real: u64,
    /// Positions computed: batch × padded length.
    pub computed: u64,
}

impl WorkerReport {
    pub fn empty() -> Self {
        Self {
            outcome: Outcome::Measured,
            runtime_version: None,
            load_ms: None,
            warmup_iterations: 0,
            warmup_ms: 0.0,
            measure_ms: 0.0,
            series: Vec::new(),
            peak_rss_bytes: None,
            weight_bytes: None,
            model_file_bytes: None,
            accuracy: None,
            accuracy_ms: 0.0,
            nonfinite_outputs: None,
            perplexity: None,
            generation: None,
            load_started_at_unix_ns: None,
            encoder_tokens: None,
        }
    }

    pub fn failed(message: String) -> Self {
        Self {
            outcome: Outcome::Error(message),
            ..Self::empty()
        }
    }

    /// A case that never reached a worker (no backend, a model it cannot
    /// run): nothing measured, and why.
    pub fn skipped(reason: String) -> Self {
        Self {
            outcome: Outcome::Skipped(reason),
            ..Self::empty()
        }
    }

    /// The values of the series `name` (empty when it was not taken).
    pub fn series(&self, name: &str) -> &[u64] {
        self.series
            .iter()
            .find(|s| s.name == name)
            .map_or(&[], |s| s.values.as_slice())
    }

    /// Wall-clock time of every measured pass (generation: every
    /// request's end-to-end latency), ns.
    pub fn wall_ns(&self) -> &[u64] {
        self.series(WALL)
    }
}

/// The series every case has: wall-clock time per pass.
pub const WALL: &str = "wall";
/// Process CPU time per pass (all threads).
pub const CPU: &str = "cpu";

/// The values one [`Measurement`](super::measurement::Measurement) took,
/// one per measured pass: `wall` and `cpu` today, device-synchronized time
/// on GPUs next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    /// The unit of `values`, e.g. `ns`.
    pub unit: String,
    pub values: Vec<u64>,
}

impl Series {
    pub fn new(name: &str, unit: &str) -> Self {
        Self {
            name: name.to_string(),
            unit: unit.to_string(),
            values: Vec::new(),
        }
    }

    /// Wall-clock values taken outside the measured loop (a generation
    /// workload's per-request latencies).
    pub fn wall_ns(values: Vec<u64>) -> Self {
        Self {
            values,
            ..Self::new(WALL, "ns")
        }
    }
}
