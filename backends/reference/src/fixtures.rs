//! Fixtures for tests across the workspace: a tiny synthetic GPT, and the
//! real model SmolLM2-135M-Instruct from the GGUF file `ci/setup.sh` installs under
//! `vendor/models/smollm2/`, converted once into the model cache as the
//! shared Llama contract (config + f32 safetensors, HF names and layout),
//! so each backend's tests compare with [`LlamaReference`] on the same numbers.

use std::path::PathBuf;

use inferbench_backend::{GptSpec, LlamaConfig};
use inferbench_models::{
    ConvertedModel, ModelError, TextTokenizer, cache::default_cache_dir, convert_gguf_cached,
};

use crate::LlamaReference;

/// A synthetic GPT whose weights take microseconds to draw (17 tokens,
/// width 8, 2 layers of 2 heads, 8 positions, seed 5).
pub fn tiny_gpt() -> GptSpec {
    GptSpec {
        vocab_size: 17,
        hidden: 8,
        layers: 2,
        heads: 2,
        max_seq: 8,
        seed: 5,
    }
}

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
pub fn smollm2_reference() -> Result<LlamaReference, FixtureError> {
    let (config, weights) = smollm2()?;
    Ok(LlamaReference::load(&config, &weights)?)
}

pub type FixtureError = Box<dyn std::error::Error + Send + Sync>;

/// The fixed English text test prompts are cut from.
pub const PROMPT_TEXT: &str = "The old lighthouse keeper climbed the spiral stairs every evening \
to light the lamp. Ships passing the rocky coast relied on its beam to find the harbor. \
One stormy night, the wind howled and the waves crashed against the cliffs, but the keeper";

/// The first `n` token ids of [`PROMPT_TEXT`] (at most 48), tokenized by
/// SmolLM2's own tokenizer.
pub fn smollm2_prompt(n: usize) -> Result<Vec<u32>, FixtureError> {
    let folder = smollm2_folder()?.folder;
    let tokenizer = TextTokenizer::from_file(&folder.join("tokenizer.json"))?;
    let ids = tokenizer.encode(PROMPT_TEXT)?;
    if n > ids.len() {
        return Err(format!("the prompt text has {} tokens, {n} asked", ids.len()).into());
    }
    Ok(ids[..n].to_vec())
}

/// The reference's logits `[ids.len(), vocab]` for `ids`, computed once and
/// kept in the model cache (keyed by the weights' and the ids' content), as
/// the reference costs ~0.3 GFLOP per token.
pub fn smollm2_reference_logits(ids: &[u32]) -> Result<Vec<f64>, FixtureError> {
    let model = smollm2_folder()?;
    Ok(crate::cache::cached_logits(&model.folder, ids, || {
        LlamaReference::load(&model.config, &model.weights)?.forward(ids)
    })?)
}

/// The reference's greedy continuation of `prompt` by `n` tokens (with its
/// KV cache), computed once and cached like [`smollm2_reference_logits`].
pub fn smollm2_reference_greedy(prompt: &[u32], n: usize) -> Result<Vec<u32>, FixtureError> {
    let model = smollm2_folder()?;
    Ok(crate::cache::cached_greedy(
        &model.folder,
        prompt,
        n,
        || LlamaReference::load(&model.config, &model.weights)?.greedy(prompt, n),
    )?)
}
