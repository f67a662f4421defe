//! Scenario files: the TOML format, its loading with located errors, and its
//! expansion into a matrix of cases.

mod axis;
mod case;
mod expand;
mod inputs;
mod load;
#[cfg(test)]
mod load_properties;
mod paths;
pub mod ranges;
mod sentences;
mod suggest;

mod backend_settings;

use std::collections::BTreeMap;

use inferbench_backend::{Device, Precision};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use axis::Axis;
pub use backend_settings::{BackendOptions, KnownBackend};
pub use case::{
    AccuracyLimits, Case, CheckpointFormat, GenerationCase, LlamaCheckpoint, Measurement,
    ModelCase, ModelFile, MonitorCase, ReferenceCase, SentenceInputs, TextPrompt, Warmup,
};
pub use load::{LoadedScenario, ScenarioError, load_file, parse_str};

/// The model: the built-in synthetic GPT's size knobs (each may be a list,
/// to sweep model size: every combination becomes a model variant), or a
/// model `file` of the user's.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Label in result rows; default `gpt-v{vocab}-h{hidden}-l{layers}`, or
    /// the file's stem.
    pub name: Option<String>,
    /// A model file to run instead of the synthetic GPT (a format some
    /// backend takes: `inferbench backends` lists them), relative to the
    /// scenario file. Its inputs are generated from the names, types
    /// and shapes it declares.
    pub file: Option<std::path::PathBuf>,
    /// A llama.cpp GGUF file of a Llama-family model (`general.architecture
    /// = llama`), relative to the scenario file. Converted once to f32 in
    /// the model cache for the backends that can't read GGUF.
    pub gguf: Option<std::path::PathBuf>,
    /// A Hugging Face model folder (`config.json` with `model_type` llama,
    /// qwen2 or mistral, or an encoder: bert, roberta or xlm-roberta, with
    /// sentence-transformers' pooling when `modules.json` lists it;
    /// `*.safetensors`, sharded or not, any float dtype), relative to the
    /// scenario file.
    pub hf: Option<std::path::PathBuf>,
    /// Sizes of a model file's free (symbolic) dimensions, by name, e.g.
    /// `{ num_boxes = 8 }`. Dimensions named like `batch` or `seq`/`len`
    /// take the case's `batch` and `seq_len` without being listed.
    pub dims: Option<BTreeMap<String, usize>>,
    /// Vocabulary size (default 1024). For a model file: the range token-id
    /// inputs are drawn from.
    pub vocab_size: Option<Axis<usize>>,
    /// Model width (default 128).
    pub hidden: Option<Axis<usize>>,
    /// Number of decoder blocks (default 2).
    pub layers: Option<Axis<usize>>,
    /// Attention heads; must divide `hidden` (default 4).
    pub heads: Option<Axis<usize>>,
    /// Longest sequence the position table holds (default 256).
    pub max_seq: Option<Axis<usize>>,
    /// Seed the weights are drawn from (default 0).
    pub seed: Option<Axis<u64>>,
}

/// Warm-up before measuring: runs until both minimums are met.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WarmupConfig {
    /// Minimum warm-up iterations (default 3; 0 skips warm-up).
    pub iterations: Option<u64>,
    /// Minimum warm-up time in seconds (default 0.5; finite, 0 to one year).
    pub seconds: Option<f64>,
}

/// How long to measure: until both minimums are met, never past a maximum.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasurementConfig {
    /// Minimum measured iterations (default 10; at least 1).
    pub min_iterations: Option<u64>,
    /// Minimum measured time in seconds (default 3; finite, 0 to `max_seconds`).
    pub min_seconds: Option<f64>,
    /// Stop after this many iterations (default 100000; at least `min_iterations`).
    pub max_iterations: Option<u64>,
    /// Stop after this many seconds even if `min_iterations` is not met
    /// (default 60; finite, above 0, at most one year).
    pub max_seconds: Option<f64>,
}

/// What accuracy is measured against, and the limits a case must meet.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccuracyConfig {
    /// `f64`: the built-in f64 reference implementation (the default for
    /// the synthetic GPT); `none`: no accuracy check (the default for a model
    /// file); `golden`: stored outputs (see `golden`); `case`: the same
    /// model run another way (see `reference_case`).
    pub reference: Option<ReferenceKind>,
    /// For `reference = "golden"`: a folder of ONNX test data,
    /// `input_0.pb`, ... and `output_0.pb`, ... (serialized TensorProtos, as
    /// in the ONNX model zoo's `test_data_set_0`), relative to the scenario.
    pub golden: Option<std::path::PathBuf>,
    /// For `reference = "case"`: how the reference run differs from the
    /// measured case.
    pub reference_case: Option<ReferenceCaseConfig>,
    /// A case whose max |Δ| exceeds this is `failed`.
    pub max_abs: Option<f64>,
    /// A case whose relative L2 error exceeds this is `failed`.
    pub max_rel_l2: Option<f64>,
    /// A case whose mean KL divergence (nats) exceeds this is `failed`.
    pub max_kl: Option<f64>,
    /// A case whose top-1 agreement is below this is `failed`.
    pub min_top1: Option<f64>,
    /// A case whose cosine similarity is below this is `failed`.
    pub min_cosine: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReferenceKind {
    F64,
    None,
    Golden,
    Case,
}

/// The reference run of `reference = "case"`: the measured case's inputs
/// through another backend, device, precision or file. Unset keys keep the
/// measured case's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferenceCaseConfig {
    pub backend: Option<KnownBackend>,
    pub device: Option<Device>,
    pub precision: Option<Precision>,
    /// Another model file with the same inputs (e.g. the f32 original of a
    /// quantized model), relative to the scenario.
    pub file: Option<std::path::PathBuf>,
}

/// MLPerf LoadGen's scenarios, plus N closed-loop streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoadPattern {
    /// One request at a time, back to back.
    SingleStream,
    /// All requests at once, processed in batches of `batch`.
    Offline,
    /// Poisson arrivals at `rate`; latency includes queueing.
    Server,
    /// `concurrency` closed-loop streams sharing the requests, each
    /// sending its next request when its last one finished.
    Concurrency,
}

impl LoadPattern {
    pub fn as_str(&self) -> &'static str {
        match self {
            LoadPattern::SingleStream => "single_stream",
            LoadPattern::Offline => "offline",
            LoadPattern::Server => "server",
            LoadPattern::Concurrency => "concurrency",
        }
    }
}

/// A generation workload: greedy decoding with a KV cache instead of a
/// single forward pass.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerationConfig {
    /// Prompt tokens per request (default 32).
    pub prompt_len: Option<usize>,
    /// Tokens generated per request (default 16).
    pub gen_len: Option<usize>,
    /// Requests per case (default 16).
    pub requests: Option<usize>,
    /// Load pattern(s) (default single_stream).
    pub pattern: Option<Axis<LoadPattern>>,
    /// server: mean arrival rate, requests/s; a list sweeps it.
    pub rate: Option<Axis<f64>>,
    /// Alias of `[slo] ttft_ms`, kept for older scenarios.
    pub target_p99_ttft_ms: Option<f64>,
    /// server: search the highest rate whose p99 meets every `[slo]` limit
    /// (needs at least one).
    pub search_rate: Option<bool>,
    /// server: gamma-distributed gaps of this shape instead of exponential
    /// ones, as vLLM's `--burstiness` (default 1: Poisson; below 1 burstier,
    /// above 1 more regular; the mean rate stays `rate`).
    pub burstiness: Option<f64>,
    /// Generate all `gen_len` tokens even past the end-of-sequence token
    /// (default true, so every backend and server generates the same
    /// number); sent to an endpoint as `ignore_eos` and `min_tokens`.
    pub ignore_eos: Option<bool>,
    /// concurrency: closed-loop streams (in-process: parallel sessions);
    /// a list sweeps it (default 1).
    pub concurrency: Option<Axis<usize>>,
    /// Seed of the arrival schedule (default 0).
    pub seed: Option<u64>,
    /// A request slower than this end to end counts as an error (timeout).
    pub timeout_ms: Option<f64>,
    /// Highest fraction of requests that may fail or time out (0 to 1,
    /// default 0.1); above it the case is `failed` (exit 1).
    pub max_error_rate: Option<f64>,
}

/// What the cases read: random token ids by default; real text for models
/// with a tokenizer.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputsConfig {
    /// Seed of random token ids (default 0).
    pub seed: Option<u64>,
    /// One text prompt for every generation request.
    pub prompt: Option<String>,
    /// A JSONL file of prompts, relative to the scenario: one object a line
    /// with `prompt` (text) or `messages` (chat turns, rendered with the
    /// model's chat template, or as `role: content` lines ending in
    /// `assistant:` when it has none); requests cycle through them.
    pub prompts: Option<std::path::PathBuf>,
    /// A UTF-8 text file, relative to the scenario, for the forward passes
    /// of a `gguf` or `hf` model: tokenized as one stream with the model's
    /// tokenizer and cut into consecutive `batch` windows of `seq_len`
    /// tokens. Perplexity is scored on those windows as llama.cpp's
    /// `llama-perplexity` does (the second half of each window).
    pub text: Option<std::path::PathBuf>,
    /// A text file of sentences for an encoder model, one a line (blank
    /// lines skipped), relative to the scenario: a case embeds the first
    /// `batch` of them (cycled), tokenized and truncated to `seq_len`.
    pub sentences: Option<std::path::PathBuf>,
    /// How a batch of sentences is padded: `longest` (to the longest
    /// sentence, the default) or `max_length` (to `seq_len`).
    pub padding: Option<crate::model::encoder::Padding>,
}

/// Service-level objectives of generation workloads, in milliseconds; every
/// pattern reports goodput (requests/s meeting all of them) and the server
/// pattern's rate search looks for the highest rate whose p99 meets them.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SloConfig {
    /// Time to first token.
    pub ttft_ms: Option<f64>,
    /// Time per output token after the first.
    pub tpot_ms: Option<f64>,
    /// End-to-end latency of a request.
    pub e2e_ms: Option<f64>,
}

/// How `inferbench monitor` probes a case: one request of the case's
/// `[generation]` workload every `interval_s` seconds (or `rate` a second),
/// each gap jittered. `inferbench run` ignores it.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorConfig {
    /// Seconds between probes (default 15, Prometheus's default scrape
    /// interval); give this or `rate`.
    pub interval_s: Option<f64>,
    /// Probes per second, instead of `interval_s`.
    pub rate: Option<f64>,
    /// Each gap is drawn uniformly within ± this fraction of the interval
    /// (0 to 1, default 0.1), so the probes of several cases and monitors
    /// do not fall into step.
    pub jitter: Option<f64>,
    /// Probes unanswered at once, at most (default 64): a probe falling due
    /// while this many wait counts as a `backlog` error instead of piling
    /// up on a stalled endpoint.
    pub max_in_flight: Option<usize>,
}

/// Fields that a scenario sets for all its cases and that each `[[cases]]`
/// entry may override. Written once here so the top level and the cases
/// cannot drift apart (serde's `flatten` would lose `deny_unknown_fields`
/// and the error locations).
macro_rules! with_case_settings {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// Backends to run (default `candle`); `inferbench backends` lists them.
            pub backends: Option<Axis<KnownBackend>>,
            /// Devices: `cpu`, `cuda`, `cuda:N` (default `cpu`).
            pub devices: Option<Axis<Device>>,
            /// Precisions: f32, f16, bf16, int8, q8_0, q4_0, q4_1, q4k, gguf (the GGUF
            /// file's own types, as stored) (default f32).
            pub precisions: Option<Axis<Precision>>,
            /// Sequences per forward pass (default 1).
            pub batch: Option<Axis<usize>>,
            /// Tokens per sequence (default 32).
            pub seq_len: Option<Axis<usize>>,
            /// Threads the backend may use (default: all cores).
            pub threads: Option<Axis<usize>>,
            /// The model; in a case, only the knobs it changes.
            pub model: Option<ModelConfig>,
            pub warmup: Option<WarmupConfig>,
            pub measurement: Option<MeasurementConfig>,
            pub accuracy: Option<AccuracyConfig>,
            /// Generation workload instead of single forward passes.
            pub generation: Option<GenerationConfig>,
            /// Service-level objectives of the generation workload.
            pub slo: Option<SloConfig>,
            /// The served model of the `openai` backend.
            pub endpoint: Option<inferbench_openai::EndpointConfig>,
            /// How `inferbench monitor` probes the cases.
            pub monitor: Option<MonitorConfig>,
            /// Backend-specific options, e.g. `[options.ort] graph_optimization = "all"`.
            pub options: Option<BackendOptions>,
        }
    };
}

with_case_settings! {
    /// A scenario file.
    pub struct Scenario {
        /// Name used in result rows and run folders (default: the file name).
        pub name: Option<String>,
        /// Free text shown in reports.
        pub description: Option<String>,
        /// How inputs are generated.
        pub inputs: Option<InputsConfig>,
        /// Regression-gate thresholds used when this scenario's runs are
        /// compared (`inferbench compare`, `run --baseline`).
        pub gate: Option<crate::gate::settings::GateConfig>,
        /// Groups of cases, each overriding some settings; without any, the
        /// top-level settings expand as one group.
        pub cases: Option<Vec<CaseSettings>>,
        /// The most cases the file may expand to (default 10000); counted
        /// before the matrix is built.
        pub max_cases: Option<usize>,
    }
}

with_case_settings! {
    /// One `[[cases]]` entry: a group of cases overriding the scenario's settings.
    pub struct CaseSettings {
        /// Label of the group, shown in reports.
        pub name: Option<String>,
    }
}

/// The JSON Schema of scenario files, for editor completion.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).expect("a schema is plain JSON")
}
