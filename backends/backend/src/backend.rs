use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::{
    BackendError, BertConfig, Capabilities, CaseContext, Device, EncoderBatch, GptSpec, HostTensor,
    InputSpec, LlamaConfig, Matmul, MatmulSpec, ModelKind, NamedTensor, OptionSpec, Precision,
    TokenBatch, check_options,
};

/// Whether a backend can run at all on this machine.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendStatus {
    Ready {
        runtime_version: String,
    },
    /// Compiled out (cargo feature off) or its native runtime is missing.
    Unavailable {
        reason: String,
        hint: String,
    },
}

/// Whether a backend runs a (device, precision) combination.
#[derive(Debug, Clone, PartialEq)]
pub enum Support {
    Yes,
    No(String),
}

/// What to load. The synthetic GPT comes as its spec plus a safetensors file
/// of f32 weights that every backend reads, so all backends run the very same
/// numbers; `cache_dir` is where a backend may keep converted forms (an ONNX
/// graph, a GGUF file) keyed by the spec's hash.
#[derive(Debug, Clone)]
pub enum ModelSource {
    SyntheticGpt {
        spec: GptSpec,
        weights: PathBuf,
        cache_dir: PathBuf,
    },
    /// A model file the user names (an `.onnx` file; later TorchScript).
    /// Its inputs come from [`Session::inputs`], filled by the harness and
    /// handed over with [`Session::prepare_named`].
    File { path: PathBuf, format: ModelFormat },
    /// A Llama-family decoder with trained weights (see [`crate::llama`]):
    /// its config and one f32 safetensors file with Hugging Face names and
    /// layout. The harness converts what the user names (a HF folder with
    /// sharded safetensors of any dtype, or a GGUF file) into that file
    /// once, in its cache, so every backend reads the same numbers. `gguf`
    /// is the original GGUF file when the model came as one, for backends
    /// that run its own quantization as stored. `cache_dir` is where a
    /// backend may keep converted forms (an ONNX graph, a re-quantized GGUF)
    /// keyed by the weights' content.
    Llama {
        config: LlamaConfig,
        weights: PathBuf,
        gguf: Option<PathBuf>,
        cache_dir: PathBuf,
    },
    /// A BERT-family encoder with trained weights (see [`crate::bert`]):
    /// its config and one f32 safetensors file with `BertModel` names, and
    /// the sentence-transformers pooling on top (`None`: the model's output
    /// is its last hidden state). `cache_dir` as for `Llama`.
    Bert {
        config: BertConfig,
        weights: PathBuf,
        pooling: Option<crate::SentencePooling>,
        cache_dir: PathBuf,
    },
}

impl ModelSource {
    /// The kind of model, as backends declare what they take.
    pub fn kind(&self) -> ModelKind {
        match self {
            ModelSource::SyntheticGpt { .. } => ModelKind::SyntheticGpt,
            ModelSource::Llama { .. } => ModelKind::Llama,
            ModelSource::Bert { .. } => ModelKind::Bert,
            ModelSource::File { format, .. } => ModelKind::File(*format),
        }
    }
}

/// What a model file holds, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelFormat {
    Onnx,
    TorchScript,
}

impl ModelFormat {
    pub const ALL: [ModelFormat; 2] = [ModelFormat::Onnx, ModelFormat::TorchScript];

    /// File name extensions (lowercase, without the dot) of the format.
    pub fn extensions(&self) -> &'static [&'static str] {
        match self {
            ModelFormat::Onnx => &["onnx"],
            ModelFormat::TorchScript => &["pt", "ts", "torchscript"],
        }
    }

    /// The format whose extension `path` has.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|f| f.extensions().contains(&extension.as_str()))
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ModelFormat::Onnx => "onnx",
            ModelFormat::TorchScript => "torchscript",
        }
    }
}

/// How to load: where, at what precision, with how many threads, plus
/// backend-specific options from the scenario (e.g. ORT's graph optimization
/// level) as strings the backend parses and rejects with a clear message.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub device: Device,
    pub precision: Precision,
    pub threads: usize,
    pub options: BTreeMap<String, String>,
}

/// A runtime adapter: candle, ONNX Runtime, libtorch... It declares its
/// name, options, models and capabilities; the harness's registry reads
/// them to validate scenarios, list backends and write the reference docs.
pub trait Backend: Send + Sync {
    /// Stable lowercase name used in scenario files and result rows.
    fn name(&self) -> &'static str;

    /// The keys of its `[options.<name>]` table, checked at `validate` time.
    fn options(&self) -> &'static [OptionSpec] {
        &[]
    }

    /// The models it takes and what it can do.
    fn capabilities(&self) -> Capabilities;

    /// Warnings about a case that only this backend can give (e.g. ORT's
    /// spinning pool threads), each a sentence that says what to do.
    fn warnings(&self, _case: &CaseContext<'_>) -> Vec<String> {
        Vec::new()
    }

    fn status(&self) -> BackendStatus;

    fn supports(&self, device: Device, precision: Precision) -> Support;

    /// Loads a model into a session ready to run. Timed as `load_ms`.
    ///
    /// Runs [`check_load`](Backend::check_load) and then
    /// [`open`](Backend::open), so every backend refuses an unsupported
    /// (device, precision) pair and an undeclared option the same way,
    /// before it reads a byte. Adapters implement `open`, not this.
    fn load(
        &self,
        model: &ModelSource,
        options: &LoadOptions,
    ) -> Result<Box<dyn Session>, BackendError> {
        self.check_load(options)?;
        self.open(model, options)
    }

    /// The adapter's own loading, called by [`load`](Backend::load) once
    /// `options` have passed [`check_load`](Backend::check_load): their
    /// device and precision are ones it supports and their keys are ones
    /// it declares.
    fn open(
        &self,
        model: &ModelSource,
        options: &LoadOptions,
    ) -> Result<Box<dyn Session>, BackendError>;

    /// The runtime's own dense matrix product with `spec`'s operands
    /// prepared, for measuring its peak (`inferbench peak`; see
    /// [`crate::matmul`]). Optional: a backend without one (a served model,
    /// the null backend) keeps this default, and `inferbench peak` lists
    /// it with the reason. `spec.threads` is the thread count the process
    /// was started for; an adapter whose runtime fixes its thread count
    /// per process refuses any other rather than measure the wrong one.
    fn matmul(&self, spec: &MatmulSpec) -> Result<Box<dyn Matmul>, BackendError> {
        let _ = spec;
        Err(crate::matmul::no_matmul(self.name()))
    }

    /// What [`load`](Backend::load) checks first: the (device, precision) pair is one it
    /// [`supports`](Backend::supports) (else `Unsupported`, a skip), and
    /// every option is one it [declares](Backend::options) (else `Load`).
    fn check_load(&self, options: &LoadOptions) -> Result<(), BackendError> {
        if let Support::No(reason) = self.supports(options.device, options.precision) {
            return Err(BackendError::Unsupported(reason));
        }
        let given = options.options.iter().map(|(k, v)| (k.as_str(), v.clone()));
        check_options(self.name(), self.options(), given)
            .map_err(|(_, message)| BackendError::Load(message))
    }
}

/// A loaded model. The harness calls `prepare` once (untimed), then `run`
/// many times (each call timed), then `outputs` once (untimed): input
/// creation and output copying stay out of the measured region.
pub trait Session {
    /// Builds the runtime's own input tensors from host token ids.
    fn prepare(&mut self, input: &TokenBatch) -> Result<(), BackendError>;

    /// The inputs a model file declares (names, element types, shapes with
    /// free dimensions); empty for backends that only run the synthetic GPT.
    fn inputs(&self) -> Vec<InputSpec> {
        Vec::new()
    }

    /// Like [`Session::prepare`], for a model file's named inputs.
    fn prepare_named(&mut self, _inputs: &[NamedTensor]) -> Result<(), BackendError> {
        Err(BackendError::Unsupported(
            "this backend does not run model files".into(),
        ))
    }

    /// Like [`Session::prepare`], for an encoder's padded batch with its
    /// attention mask (see [`crate::bert`] for the outputs it yields).
    fn prepare_encoder(&mut self, _input: &EncoderBatch) -> Result<(), BackendError> {
        Err(BackendError::Unsupported(
            "this backend does not run encoder models".into(),
        ))
    }

    /// One forward pass on the prepared inputs. Must not return before the
    /// result is computed (synchronize asynchronous devices).
    fn run(&mut self) -> Result<(), BackendError>;

    /// The last run's outputs, copied to host as f32. For the synthetic GPT
    /// the first output is the logits, `[batch, seq_len, vocab_size]`; for a
    /// model file, every output in the order the file declares them.
    fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError>;

    /// Bytes the loaded weights occupy in the runtime's memory, if known.
    fn weight_bytes(&self) -> Option<u64> {
        None
    }

    /// An incremental decoder with a KV cache over this session's model, for
    /// generation workloads. Backends without one say so (a skipped case).
    fn decoder(&mut self) -> Result<Box<dyn Decoder + '_>, BackendError> {
        Err(BackendError::Unsupported(
            "this backend does not implement incremental (KV-cache) decoding".into(),
        ))
    }

    /// What the backend did differently from what was asked, for the
    /// result row, e.g. "q4k: 181 tensors fell back to q5_0 (rows of 576
    /// don't fit blocks of 256): model.layers.0.self_attn.q_proj.weight, ...".
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Size of the model file this session was loaded from (the converted
    /// form, e.g. a quantized GGUF or an ONNX graph), if known.
    fn model_file_bytes(&self) -> Option<u64> {
        None
    }
}

/// Incremental (KV-cache) decoding of a causal language model: the prompt
/// once, then one token per sequence per step. Logits come back on the host
/// because choosing the next token needs them, as in a real server.
pub trait Decoder {
    /// Runs the prompt `[batch, prompt_len]`, filling the cache; returns the
    /// logits of each sequence's last position, `[batch, vocab]`.
    fn prefill(&mut self, prompt: &TokenBatch) -> Result<HostTensor, BackendError>;

    /// Appends one token per sequence; returns the next logits `[batch, vocab]`.
    fn step(&mut self, tokens: &[i64]) -> Result<HostTensor, BackendError>;
}
