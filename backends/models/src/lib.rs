//! Real model checkpoints read into the shared Llama contract of
//! `inferbench_backend::llama`: a [`LlamaConfig`](inferbench_backend::LlamaConfig)
//! and one f32 safetensors file with Hugging Face names and layout.
//!
//! - [`hf_config`]: `config.json` to and from `LlamaConfig`;
//! - [`gguf`]: a llama.cpp GGUF file's config and dequantized tensors;
//! - [`gguf_folder`]: a GGUF file converted once into a HF folder in the
//!   model cache (weights, `config.json`, tokenizer files);
//! - [`convert_hf_cached`]: a HF folder (sharded, any float dtype) converted
//!   once into one f32 safetensors file in the model cache;
//! - [`cache`]: content hashes and atomic, verified cache files;
//! - [`TextTokenizer`]: `tokenizer.json` through the `tokenizers` crate;
//! - [`ChatTemplate`]: chat turns to prompt text by the model's template.
//!
//! It sits below the harness, so the backends' tests and the reference
//! crate's fixtures can use it too.

pub mod bert_folder;
pub mod cache;
mod chat_template;
mod config_keys;
mod error;
mod f32_safetensors;
pub mod gguf;
pub mod gguf_folder;
mod gguf_tokenizer;
pub mod hf_config;
mod hf_folder;
mod safetensors_file;
mod tokenizer;

pub use chat_template::{ChatTemplate, plain_chat};
pub use error::ModelError;
pub use f32_safetensors::write_f32_safetensors;
pub use gguf::GgufFile;
pub use gguf_folder::convert_gguf_cached;
pub use hf_config::{hf_config_json, parse_hf_config, read_hf_config};
pub use hf_folder::convert_hf_cached;
pub use safetensors_file::SafetensorsFile;
pub use tokenizer::TextTokenizer;

/// A model read into the shared contract.
#[derive(Debug, Clone)]
pub struct ConvertedModel {
    pub config: inferbench_backend::LlamaConfig,
    /// The folder with `config.json` and the tokenizer files
    /// (`tokenizer.json`, `tokenizer_config.json`): the user's HF folder, or
    /// the one derived from a GGUF file in the cache.
    pub folder: std::path::PathBuf,
    /// One f32 safetensors file with HF names and layout.
    pub weights: std::path::PathBuf,
}
