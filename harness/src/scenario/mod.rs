//! Scenario files: the TOML format, its loading with located errors, and its
//! expansion into a matrix of cases.

mod axis;
mod case;
mod expand;
mod load;
mod suggest;

use std::collections::BTreeMap;
use std::fmt;

use inferbench_backend::{Device, Precision};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use axis::Axis;
pub use case::{AccuracyLimits, Case, Measurement, ModelCase, Warmup};
pub use load::{LoadedScenario, ScenarioError, load_file, parse_str};

/// The backends inferbench knows, compiled in or not.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// candle (pure Rust).
    Candle,
    /// ONNX Runtime.
    Ort,
    /// libtorch through tch.
    Tch,
}

impl BackendKind {
    pub const ALL: [BackendKind; 3] = [BackendKind::Candle, BackendKind::Ort, BackendKind::Tch];

    pub fn as_str(&self) -> &'static str {
        match self {
            BackendKind::Candle => "candle",
            BackendKind::Ort => "ort",
            BackendKind::Tch => "tch",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The built-in synthetic GPT's size knobs. Each may be a list, to sweep
/// model size (every combination becomes a model variant).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Label in result rows; default `gpt-v{vocab}-h{hidden}-l{layers}`.
    pub name: Option<String>,
    /// Vocabulary size (default 1024).
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
    /// Minimum warm-up iterations (default 3).
    pub iterations: Option<u64>,
    /// Minimum warm-up time in seconds (default 0.5).
    pub seconds: Option<f64>,
}

/// How long to measure: until both minimums are met, never past a maximum.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasurementConfig {
    /// Minimum measured iterations (default 10).
    pub min_iterations: Option<u64>,
    /// Minimum measured time in seconds (default 3).
    pub min_seconds: Option<f64>,
    /// Stop after this many iterations (default 100000).
    pub max_iterations: Option<u64>,
    /// Stop after this many seconds even if `min_iterations` is not met (default 60).
    pub max_seconds: Option<f64>,
}

/// What accuracy is measured against, and the limits a case must meet.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccuracyConfig {
    /// `f64`: the built-in f64 reference implementation (the default);
    /// `none`: no accuracy check.
    pub reference: Option<ReferenceKind>,
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
}

/// How the inputs are generated.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputsConfig {
    /// Seed of the token ids (default 0).
    pub seed: Option<u64>,
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
            /// Backends to run: `candle`, `ort`, `tch`.
            pub backends: Option<Axis<BackendKind>>,
            /// Devices: `cpu`, `cuda`, `cuda:N` (default `cpu`).
            pub devices: Option<Axis<Device>>,
            /// Precisions: f32, f16, bf16, int8, q8_0, q4_0, q4k (default f32).
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
            /// Backend-specific options, e.g. `[options.ort] graph_optimization = "all"`.
            pub options: Option<BTreeMap<BackendKind, BTreeMap<String, serde_json::Value>>>,
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
