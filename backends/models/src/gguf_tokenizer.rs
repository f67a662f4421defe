//! A Hugging Face `tokenizer.json` (and `tokenizer_config.json`) built from a
//! GGUF file's `tokenizer.ggml.*` metadata, for GPT-2 style byte-level BPE
//! (`tokenizer.ggml.model = "gpt2"`). The pre-tokenizer is chosen by
//! `tokenizer.ggml.pre` with the regexes llama.cpp uses for that name
//! (`llama-vocab.cpp`, `LLAMA_VOCAB_PRE_TYPE_*`), written the way the
//! models' own `tokenizer.json` files write them.

use candle_core::quantized::gguf_file::Value;
use serde_json::{Map, Value as Json, json};

use crate::ModelError;
use crate::gguf::GgufFile;

/// llama.cpp's token types (`llama_token_type`): 3 = control, 4 = user
/// defined; both are matched whole before BPE, as HF's added tokens.
const CONTROL: i64 = 3;
const USER_DEFINED: i64 = 4;

/// The Llama 3 / Qwen2 split regexes (from their `tokenizer.json`).
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The tokenizer files, or `None` when the file has no vocabulary.
pub struct DerivedTokenizer {
    pub tokenizer_json: Json,
    pub tokenizer_config_json: Json,
}

pub fn derive_tokenizer(gguf: &GgufFile) -> Result<Option<DerivedTokenizer>, ModelError> {
    let Some(tokens) = string_array(gguf, "tokenizer.ggml.tokens")? else {
        return Ok(None);
    };
    let invalid = |m: String| ModelError::invalid(gguf.path(), m);
    let model = gguf.string("tokenizer.ggml.model").unwrap_or("");
    if model != "gpt2" {
        return Err(invalid(format!(
            "tokenizer.ggml.model `{model}` is not supported; supported: gpt2 (byte-level BPE)"
        )));
    }
    let merges = string_array(gguf, "tokenizer.ggml.merges")?
        .ok_or_else(|| invalid("metadata key `tokenizer.ggml.merges` missing".into()))?;
    let pre = gguf.string("tokenizer.ggml.pre").unwrap_or("default");
    let pre_tokenizer = pre_tokenizer(pre).ok_or_else(|| {
        invalid(format!(
            "tokenizer.ggml.pre `{pre}` is not supported; supported: default, gpt2, smollm, llama-bpe, llama3, qwen2"
        ))
    })?;
    let types = token_types(gguf, tokens.len())?;
    let vocab: Map<String, Json> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), json!(i)))
        .collect();
    let added: Vec<Json> = tokens
        .iter()
        .zip(&types)
        .enumerate()
        .filter(|(_, (_, t))| **t == CONTROL || **t == USER_DEFINED)
        .map(|(id, (content, t))| {
            json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": *t == CONTROL})
        })
        .collect();
    let tokenizer_json = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                  "ignore_merges": false, "vocab": vocab, "merges": merges},
    });
    let token = |key: &str| -> Option<String> {
        let id = gguf.metadata().get(key)?.to_u32().ok()?;
        tokens.get(id as usize).cloned()
    };
    let add_bos = matches!(
        gguf.metadata().get("tokenizer.ggml.add_bos_token"),
        Some(Value::Bool(true))
    );
    let tokenizer_config_json = json!({
        "bos_token": token("tokenizer.ggml.bos_token_id"),
        "eos_token": token("tokenizer.ggml.eos_token_id"),
        "unk_token": token("tokenizer.ggml.unknown_token_id"),
        "pad_token": token("tokenizer.ggml.padding_token_id"),
        "add_bos_token": add_bos,
        "chat_template": gguf.string("tokenizer.chat_template"),
        "model_max_length": gguf.metadata().get("llama.context_length").and_then(|v| v.to_u64().ok()),
        "tokenizer_class": "GPT2Tokenizer",
    });
    Ok(Some(DerivedTokenizer {
        tokenizer_json,
        tokenizer_config_json,
    }))
}

/// The pre-tokenizer HF uses for the model llama.cpp names `pre`.
fn pre_tokenizer(pre: &str) -> Option<Json> {
    let byte_level = |use_regex: bool| json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": use_regex});
    let split = |regex: &str| json!({"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": false});
    Some(match pre {
        "default" | "gpt2" => byte_level(true),
        // SmolLM / StarCoder: each digit alone, then GPT-2's split.
        "smollm" | "starcoder" => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true}, byte_level(true)]}),
        "llama-bpe" | "llama3" => {
            json!({"type": "Sequence", "pretokenizers": [split(LLAMA3_SPLIT), byte_level(false)]})
        }
        "qwen2" => {
            json!({"type": "Sequence", "pretokenizers": [split(QWEN2_SPLIT), byte_level(false)]})
        }
        _ => return None,
    })
}

fn string_array(gguf: &GgufFile, key: &str) -> Result<Option<Vec<String>>, ModelError> {
    let Some(value) = gguf.metadata().get(key) else {
        return Ok(None);
    };
    let invalid = || {
        ModelError::invalid(
            gguf.path(),
            format!("metadata `{key}` must be an array of strings"),
        )
    };
    let items = value.to_vec().map_err(|_| invalid())?;
    items
        .iter()
        .map(|v| v.to_string().cloned().map_err(|_| invalid()))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `tokenizer.ggml.token_type`, or all normal (1) when absent.
fn token_types(gguf: &GgufFile, count: usize) -> Result<Vec<i64>, ModelError> {
    let key = "tokenizer.ggml.token_type";
    let Some(value) = gguf.metadata().get(key) else {
        return Ok(vec![1; count]);
    };
    let invalid = || {
        ModelError::invalid(
            gguf.path(),
            format!("metadata `{key}` must be an array of {count} integers"),
        )
    };
    let items = value.to_vec().map_err(|_| invalid())?;
    if items.len() != count {
        return Err(invalid());
    }
    items
        .iter()
        .map(|v| match v {
            Value::I32(n) => Ok(*n as i64),
            Value::U32(n) => Ok(*n as i64),
            Value::I8(n) => Ok(*n as i64),
            Value::U8(n) => Ok(*n as i64),
            _ => Err(invalid()),
        })
        .collect()
}
