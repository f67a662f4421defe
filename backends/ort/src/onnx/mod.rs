//! ONNX files written from Rust: the protobuf subset, a graph builder, the
//! exporters of the synthetic GPT and the Llama family (cached on disk),
//! and ONNX test-data tensors (`input_N.pb` / `output_N.pb`, the layout of
//! the ONNX model zoo).

mod bert;
mod gpt;
mod graph;
mod layers;
mod llama;
pub mod proto;
pub mod samples;
pub mod test_data;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use inferbench_backend::cache::{self, Integrity};
use inferbench_backend::{
    BackendError, BertConfig, GptSpec, LlamaConfig, SentencePooling, read_f32_safetensors,
};
use prost::Message;
use sha2::{Digest, Sha256};

pub use bert::{ATTENTION_MASK, INPUT_IDS, bert_graph, bert_weight_bytes};
#[cfg(test)]
pub(crate) use gpt::tests as gpt_tests;
pub use gpt::{gpt_graph, gpt_model, weight_bytes};
pub use graph::{
    Dim, GraphBuilder, OPSET, attr_int, attr_ints, f16_tensor, f32_tensor, float_tensor,
    i64_tensor, model,
};
pub use layers::{
    Export, INPUT, OUTPUT, WeightFormat, Weights, past_key, past_value, present_key, present_value,
};
pub use llama::{llama_graph, llama_weight_bytes};

/// Bumped whenever an exported graph changes, so stale caches are rebuilt.
const GPT_GRAPH_VERSION: &str = "synthetic-gpt-onnx-v2";
const LLAMA_GRAPH_VERSION: &str = "llama-onnx-v1";
const BERT_GRAPH_VERSION: &str = "bert-onnx-v2";

/// A model the writer exports: its architecture, the safetensors file of
/// its f32 weights, and the folder its exported graphs are cached in.
#[derive(Debug, Clone)]
pub struct ExportSource {
    pub model: ExportedModel,
    pub weights: PathBuf,
    pub cache_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub enum ExportedModel {
    SyntheticGpt(GptSpec),
    Llama(Box<LlamaConfig>),
}

/// What the decoder graph's cache looks like: per layer a key and a value
/// of `[batch, kv_heads, len, head_dim]`, `len` at most `max_positions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLayout {
    pub layers: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub max_positions: usize,
    /// Token ids are checked against it before they reach the graph.
    pub vocab_size: usize,
}

impl ExportSource {
    /// The `.onnx` file of one variant in the cache, written on first use.
    pub fn ensure(&self, export: Export) -> Result<PathBuf, BackendError> {
        match &self.model {
            ExportedModel::SyntheticGpt(spec) => {
                ensure_gpt_onnx(spec, &self.weights, &self.cache_dir, export)
            }
            ExportedModel::Llama(config) => {
                ensure_llama_onnx(config, &self.weights, &self.cache_dir, export)
            }
        }
    }

    pub fn cache_layout(&self) -> CacheLayout {
        match &self.model {
            ExportedModel::SyntheticGpt(spec) => CacheLayout {
                layers: spec.layers,
                kv_heads: spec.heads,
                head_dim: spec.head_dim(),
                max_positions: spec.max_seq,
                vocab_size: spec.vocab_size,
            },
            ExportedModel::Llama(config) => CacheLayout {
                layers: config.num_hidden_layers,
                kv_heads: config.num_key_value_heads,
                head_dim: config.head_dim,
                max_positions: config.max_position_embeddings,
                vocab_size: config.vocab_size,
            },
        }
    }

    /// Bytes of the weights the exported graph holds in `format`.
    pub fn weight_bytes(&self, format: WeightFormat) -> u64 {
        match &self.model {
            ExportedModel::SyntheticGpt(spec) => weight_bytes(spec, format),
            ExportedModel::Llama(config) => llama_weight_bytes(config, format),
        }
    }
}

/// File name of the exported f32 GPT: a hash of the graph version and the spec.
pub fn gpt_file_name(spec: &GptSpec) -> String {
    gpt_variant_file_name(spec, Export::F32)
}

/// File name of one exported variant: the f32 file's hash, then the weight
/// format and `-decoder` for the KV-cache graph, so the variants of one
/// spec sit side by side.
pub fn gpt_variant_file_name(spec: &GptSpec, export: Export) -> String {
    let text = format!(
        "{GPT_GRAPH_VERSION};opset={OPSET};vocab={};hidden={};layers={};heads={};max_seq={};seed={}",
        spec.vocab_size, spec.hidden, spec.layers, spec.heads, spec.max_seq, spec.seed
    );
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let format = match export.format {
        WeightFormat::F32 => String::new(),
        other => format!("-{}", other.as_str()),
    };
    let decoder = if export.kv_cache { "-decoder" } else { "" };
    format!("synthetic-gpt-{hex}{format}{decoder}.onnx")
}

/// Returns the `.onnx` file of one variant of the synthetic GPT in
/// `cache_dir`, writing it from the safetensors `weights` on first use.
pub fn ensure_gpt_onnx(
    spec: &GptSpec,
    weights: &Path,
    cache_dir: &Path,
    export: Export,
) -> Result<PathBuf, BackendError> {
    let path = cache_dir.join(gpt_variant_file_name(spec, export));
    write_once(&path, weights, |table| gpt_graph(spec, table, export))
}

/// File name of one exported Llama variant: the architecture, a hash of
/// the graph version, the config and the weights' content, the format and
/// `-decoder` for the KV-cache graph.
pub fn llama_file_name(config: &LlamaConfig, weights_digest: &str, export: Export) -> String {
    let text = format!("{LLAMA_GRAPH_VERSION};opset={OPSET};{config:?};weights={weights_digest}");
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let decoder = if export.kv_cache { "-decoder" } else { "" };
    let (arch, format) = (config.arch.as_str(), export.format.as_str());
    format!("{arch}-{hex}-{format}{decoder}.onnx")
}

/// Returns the `.onnx` file of one variant of a Llama-family model in
/// `cache_dir`, writing it from the safetensors `weights` on first use;
/// keyed by the weights' content, so new weights at the same path (a
/// re-derived GGUF) never meet a stale graph.
pub fn ensure_llama_onnx(
    config: &LlamaConfig,
    weights: &Path,
    cache_dir: &Path,
    export: Export,
) -> Result<PathBuf, BackendError> {
    let digest = content_digest(weights)?;
    let path = cache_dir.join(llama_file_name(config, &digest, export));
    write_once(&path, weights, |table| llama_graph(config, table, export))
}

/// Returns the `.onnx` file of a BERT-family encoder with its pooling in
/// `format` in `cache_dir`, writing it from the safetensors `weights` on
/// first use; named after the architecture and a hash of the graph
/// version, config, pooling and the weights' content.
pub fn ensure_bert_onnx(
    config: &BertConfig,
    pooling: Option<SentencePooling>,
    weights: &Path,
    cache_dir: &Path,
    format: WeightFormat,
) -> Result<PathBuf, BackendError> {
    let digest = content_digest(weights)?;
    let text =
        format!("{BERT_GRAPH_VERSION};opset={OPSET};{config:?};{pooling:?};weights={digest}");
    let hash = Sha256::digest(text.as_bytes());
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("{}-{hex}-{}.onnx", config.arch.as_str(), format.as_str());
    write_once(&cache_dir.join(name), weights, |table| {
        bert_graph(config, pooling, table, format)
    })
}

/// SHA-256 of a file's bytes, in hex, read in blocks.
fn content_digest(path: &Path) -> Result<String, BackendError> {
    let err = |e: io::Error| BackendError::ModelFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut file = fs::File::open(path).map_err(err)?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(err)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// `path` if it exists; otherwise the graph `build` makes from the
/// safetensors `weights`, written there.
fn write_once(
    path: &Path,
    weights: &Path,
    build: impl FnOnce(&Weights) -> Result<proto::ModelProto, String>,
) -> Result<PathBuf, BackendError> {
    let check_err = |e: io::Error| BackendError::Load(format!("reading {}: {e}", path.display()));
    // A file that does not match its recorded hash is rebuilt, never run.
    if cache::check(path).map_err(check_err)? == Integrity::Intact {
        return Ok(path.to_path_buf());
    }
    let located = |message: String| BackendError::ModelFile {
        path: weights.to_path_buf(),
        message,
    };
    let model = build(&read_f32_safetensors(weights)?).map_err(located)?;
    // A protobuf message is at most 2 GiB (protobuf's encoding limits);
    // larger models need ONNX's external data, which the writer lacks.
    if model.encoded_len() > i32::MAX as usize {
        return Err(BackendError::Unsupported(format!(
            "the exported ONNX graph of {} would be {} bytes, over protobuf's 2 GiB limit",
            weights.display(),
            model.encoded_len()
        )));
    }
    let write_err = |e: io::Error| BackendError::Load(format!("writing {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(write_err)?;
    }
    cache::write(path, &model.encode_to_vec()).map_err(write_err)?;
    Ok(path.to_path_buf())
}
