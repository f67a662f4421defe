//! A case: one fully resolved cell of a scenario's matrix, a plain value
//! handed to a worker process as JSON.

use std::collections::BTreeMap;
use std::path::PathBuf;

use inferbench_backend::{Device, GptSpec, Precision};
use serde::{Deserialize, Serialize};

use super::{LoadPattern, ReferenceKind};
use crate::accuracy::AccuracyDeltas;
use crate::registry::BackendName;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCase {
    pub name: String,
    /// The synthetic GPT's knobs; unused when `file` is set.
    pub spec: GptSpec,
    /// A user's model file, run instead of the synthetic GPT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<ModelFile>,
    /// A Llama-family checkpoint, run instead of the synthetic GPT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llama: Option<LlamaCheckpoint>,
    /// A BERT-family encoder's HF folder (`[model] hf` whose config.json
    /// names bert, roberta or xlm-roberta), run instead of the synthetic GPT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<PathBuf>,
}

/// The sentences an encoder case embeds (`[inputs] sentences`, `padding`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentenceInputs {
    /// The file, one sentence a line (absolute).
    pub path: PathBuf,
    pub padding: crate::model::encoder::Padding,
}

/// Where a Llama-family checkpoint comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaCheckpoint {
    pub format: CheckpointFormat,
    /// Resolved against the scenario file's folder.
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointFormat {
    /// A GGUF file (`[model] gguf`).
    Gguf,
    /// A Hugging Face folder (`[model] hf`).
    Hf,
}

impl CheckpointFormat {
    /// The scenario key that names it.
    pub fn key(&self) -> &'static str {
        match self {
            CheckpointFormat::Gguf => "gguf",
            CheckpointFormat::Hf => "hf",
        }
    }
}

/// A model file and how to fill its inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// Resolved against the scenario file's folder.
    pub path: PathBuf,
    /// Sizes of free dimensions, by name.
    pub dims: BTreeMap<String, usize>,
    /// Range of token-id inputs, when the scenario sets `vocab_size`.
    pub vocab_size: Option<usize>,
}

/// The reference run of `reference = "case"`, fully resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceCase {
    pub backend: BackendName,
    pub device: Device,
    pub precision: Precision,
    pub file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Warmup {
    pub iterations: u64,
    pub seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub min_iterations: u64,
    pub min_seconds: f64,
    pub max_iterations: u64,
    pub max_seconds: f64,
}

/// Accuracy limits a case must meet; `None` means not checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct AccuracyLimits {
    pub max_abs: Option<f64>,
    pub max_rel_l2: Option<f64>,
    pub max_kl: Option<f64>,
    pub min_top1: Option<f64>,
    pub min_cosine: Option<f64>,
}

impl AccuracyLimits {
    /// One sentence per breached limit, naming the figure and the limit.
    pub fn breaches(&self, d: &AccuracyDeltas) -> Vec<String> {
        let mut out = Vec::new();
        let mut above = |name: &str, value: f64, limit: Option<f64>| {
            if let Some(limit) = limit
                // NaN is never within a limit.
                && (value.is_nan() || value > limit)
            {
                out.push(format!("{name} {value:.3e} exceeds the limit {limit:e}"));
            }
        };
        above("max_abs", d.max_abs, self.max_abs);
        above("rel_l2", d.rel_l2, self.max_rel_l2);
        above("kl", d.kl, self.max_kl);
        let mut below = |name: &str, value: f64, limit: Option<f64>| {
            if let Some(limit) = limit
                && (value.is_nan() || value < limit)
            {
                out.push(format!("{name} {value:.6} is below the limit {limit}"));
            }
        };
        below("top1", d.top1, self.min_top1);
        below("cosine", d.cosine, self.min_cosine);
        out
    }
}

/// A resolved generation workload (see `GenerationConfig` for meanings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationCase {
    pub prompt_len: usize,
    pub gen_len: usize,
    pub requests: usize,
    pub pattern: LoadPattern,
    pub rate: Option<f64>,
    /// Limits of `[slo]` (with `target_p99_ttft_ms` as `ttft_ms`).
    #[serde(default)]
    pub slo: crate::generation::slo::Slo,
    pub search_rate: bool,
    /// Shape of the gamma inter-arrival gaps of `server` (1: Poisson).
    #[serde(default = "one")]
    pub burstiness: f64,
    #[serde(default = "yes")]
    pub ignore_eos: bool,
    /// Text prompts of `[inputs]`, cycled through; empty for token prompts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<TextPrompt>,
    pub concurrency: usize,
    pub seed: u64,
    pub timeout_ms: Option<f64>,
    /// Highest fraction of failed or timed-out requests a measured case may
    /// have; `None` is [`GenerationCase::DEFAULT_MAX_ERROR_RATE`].
    #[serde(default)]
    pub max_error_rate: Option<f64>,
}

impl GenerationCase {
    /// Above this error rate a generation case is `failed`: its latency
    /// figures then describe the few requests that got through, not the
    /// workload asked for.
    pub const DEFAULT_MAX_ERROR_RATE: f64 = 0.1;

    pub fn max_error_rate(&self) -> f64 {
        self.max_error_rate.unwrap_or(Self::DEFAULT_MAX_ERROR_RATE)
    }
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

/// A resolved `[monitor]` table (see `MonitorConfig` for meanings).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MonitorCase {
    pub interval_s: f64,
    pub jitter: f64,
    pub max_in_flight: usize,
}

impl Default for MonitorCase {
    fn default() -> Self {
        Self {
            interval_s: 15.0,
            jitter: 0.1,
            max_in_flight: 64,
        }
    }
}

/// One prompt of `[inputs]`: raw text, or chat turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TextPrompt {
    Text {
        prompt: String,
    },
    Chat {
        messages: Vec<inferbench_backend::ChatMessage>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub scenario: String,
    /// The `[[cases]]` entry's name, if it has one.
    pub group: Option<String>,
    /// Unique within the scenario and stable across runs, so baselines match
    /// cases by it: `model/backend/device/precision/bB/tT/thN`.
    pub id: String,
    pub backend: BackendName,
    pub device: Device,
    pub precision: Precision,
    pub batch: usize,
    pub seq_len: usize,
    pub threads: usize,
    pub model: ModelCase,
    pub warmup: Warmup,
    pub measurement: Measurement,
    pub input_seed: u64,
    /// The `[inputs] text` file whose token windows a forward pass of a
    /// checkpoint reads instead of random ids (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<PathBuf>,
    /// The sentences of an encoder case; without them it runs random ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentences: Option<SentenceInputs>,
    pub reference: ReferenceKind,
    /// The golden-output folder of `reference = "golden"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub golden: Option<PathBuf>,
    /// The reference run of `reference = "case"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_case: Option<ReferenceCase>,
    pub limits: AccuracyLimits,
    /// Backend-specific options as strings; the backend parses them.
    pub options: BTreeMap<String, String>,
    /// Set for generation workloads; `seq_len` is then the prompt length.
    #[serde(default)]
    pub generation: Option<GenerationCase>,
    /// The served model of the `openai` backend (the API key by name only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<inferbench_openai::EndpointConfig>,
    /// How `inferbench monitor` probes it, when the scenario says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<MonitorCase>,
}

impl Case {
    pub fn tokens_per_forward(&self) -> usize {
        self.batch * self.seq_len
    }

    /// Matrix-product FLOPs of one forward pass of the synthetic GPT; 0
    /// (unknown here) for any other model, whose size is not in `spec`.
    pub fn flops_per_forward(&self) -> u64 {
        if self.model.file.is_some() || self.model.llama.is_some() || self.model.encoder.is_some() {
            return 0;
        }
        self.model.spec.flops_per_forward(self.batch, self.seq_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaches_name_the_figure_and_limit() {
        let limits = AccuracyLimits {
            max_kl: Some(0.01),
            min_top1: Some(0.99),
            ..Default::default()
        };
        let d = AccuracyDeltas {
            max_abs: 1.0,
            rel_l2: 0.1,
            cosine: 0.99,
            cosine_mean: None,
            top1: 0.95,
            kl: 0.02,
            ppl_ratio: None,
            nonfinite: 0,
        };
        let b = limits.breaches(&d);
        assert_eq!(b.len(), 2, "{b:?}");
        assert!(b[0].starts_with("kl 2.000e-2 exceeds"), "{}", b[0]);
        assert!(
            b[1].starts_with("top1 0.950000 is below the limit 0.99"),
            "{}",
            b[1]
        );
        let ok = AccuracyDeltas {
            top1: 1.0,
            kl: 0.0,
            ..d
        };
        assert!(limits.breaches(&ok).is_empty());
        // NaN never passes a limit.
        assert_eq!(
            limits
                .breaches(&AccuracyDeltas { kl: f64::NAN, ..ok })
                .len(),
            1
        );
    }
}
