//! Real-model fixtures for tests across the workspace:
//! SmolLM2-135M-Instruct from the GGUF file `ci/setup.sh` installs under
//! `vendor/models/smollm2/`, converted once into the model cache as the
//! shared Llama contract (config + f32 safetensors, HF names and layout),
//! so each backend's tests compare with [`LlamaReference`] on the same numbers.

use std::path::PathBuf;

use inferbench_backend::LlamaConfig;
use inferbench_models::{
    ConvertedModel, ModelError, cache::default_cache_dir, convert_gguf_cached,
};

use crate::LlamaReference;

/// The workspace root (this crate is `backends/reference`).
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `vendor/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf` (Q4_1 weights,
/// Q8_0 embedding, 30 layers, 9 query / 3 key-value heads, tied head).
pub fn smollm2_gguf() -> PathBuf {
    workspace_root().join("vendor/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// The SmolLM2 fixture converted into the model cache (`$INFERBENCH_CACHE_DIR`
/// or `~/.cache/inferbench`): the folder with `config.json`,
/// `model.safetensors` and the tokenizer files.
pub fn smollm2_folder() -> Result<ConvertedModel, ModelError> {
    let gguf = smollm2_gguf();
    if !gguf.exists() {
        return Err(ModelError::invalid(
            gguf,
            "fixture missing; run `bash ci/setup.sh` to install the real model fixtures",
        ));
    }
    convert_gguf_cached(&gguf, &default_cache_dir())
}

/// SmolLM2 as the shared contract: its config and the f32 safetensors file
/// with HF names and layout (what `ModelSource::Llama` carries).
pub fn smollm2() -> Result<(LlamaConfig, PathBuf), ModelError> {
    let converted = smollm2_folder()?;
    Ok((converted.config, converted.weights))
}

/// The f64 reference of SmolLM2 (loads ~540 MB of f32 weights).
pub fn smollm2_reference() -> Result<LlamaReference, Box<dyn std::error::Error + Send + Sync>> {
    let (config, weights) = smollm2()?;
    Ok(LlamaReference::load(&config, &weights)?)
}
