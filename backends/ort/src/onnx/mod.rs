//! ONNX files written from Rust: the protobuf subset, a graph builder, the
//! synthetic GPT exporter (cached on disk), and ONNX test-data tensors
//! (`input_N.pb` / `output_N.pb`, the layout of the ONNX model zoo).

mod gpt;
mod graph;
pub mod proto;
pub mod samples;
pub mod test_data;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use inferbench_backend::{BackendError, GptSpec, read_f32_safetensors, write_atomically};
use prost::Message;
use sha2::{Digest, Sha256};

pub use gpt::{
    GptExport, INPUT, OUTPUT, WeightFormat, Weights, gpt_graph, gpt_model, past_key, past_value,
    present_key, present_value, weight_bytes,
};
pub use graph::{
    Dim, GraphBuilder, OPSET, attr_int, attr_ints, f16_tensor, f32_tensor, i64_tensor, model,
};

/// Bumped whenever the exported graph changes, so stale caches are rebuilt.
const GPT_GRAPH_VERSION: &str = "synthetic-gpt-onnx-v2";

/// File name of the exported f32 GPT: a hash of the graph version and the spec.
pub fn gpt_file_name(spec: &GptSpec) -> String {
    gpt_variant_file_name(spec, GptExport::F32)
}

/// File name of one exported variant: the f32 file's hash, then the weight
/// format and `-decoder` for the KV-cache graph, so the variants of one
/// spec sit side by side.
pub fn gpt_variant_file_name(spec: &GptSpec, export: GptExport) -> String {
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
    export: GptExport,
) -> Result<PathBuf, BackendError> {
    let path = cache_dir.join(gpt_variant_file_name(spec, export));
    if path.is_file() {
        return Ok(path);
    }
    let weights_table = read_f32_safetensors(weights)?;
    let model =
        gpt_graph(spec, &weights_table, export).map_err(|message| BackendError::ModelFile {
            path: weights.to_path_buf(),
            message,
        })?;
    let write_err = |e: io::Error| BackendError::Load(format!("writing {}: {e}", path.display()));
    fs::create_dir_all(cache_dir).map_err(write_err)?;
    write_atomically(&path, &model.encode_to_vec()).map_err(write_err)?;
    Ok(path)
}
