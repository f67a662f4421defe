//! A Hugging Face `config.json` read into [`LlamaConfig`], and written back
//! (for the folder derived from a GGUF file). Key names and defaults are
//! those of `transformers`' `LlamaConfig`, `Qwen2Config` and `MistralConfig`.

use std::path::Path;

use inferbench_backend::llama::Llama3RopeScaling;
use inferbench_backend::{LlamaArch, LlamaConfig};
use serde_json::{Map, Value, json};

use crate::ModelError;
use crate::config_keys::{
    config_object, optional_bool, optional_f64, optional_usize, string_key, usize_key,
};

/// Reads and validates `config.json`.
pub fn read_hf_config(path: &Path) -> Result<LlamaConfig, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    parse_hf_config(&text).map_err(|m| ModelError::invalid(path, m))
}

/// Parses the text of a `config.json`; the error names the key.
pub fn parse_hf_config(text: &str) -> Result<LlamaConfig, String> {
    let keys = &config_object(text)?;
    let model_type = string_key(keys, "model_type")?;
    let arch = LlamaArch::from_model_type(model_type).ok_or_else(|| {
        let supported: Vec<&str> = LlamaArch::ALL.iter().map(|a| a.as_str()).collect();
        format!(
            "model_type `{model_type}` is not supported; supported: {}",
            supported.join(", ")
        )
    })?;
    let heads = usize_key(keys, "num_attention_heads")?;
    let hidden = usize_key(keys, "hidden_size")?;
    let config = LlamaConfig {
        arch,
        vocab_size: usize_key(keys, "vocab_size")?,
        hidden_size: hidden,
        intermediate_size: usize_key(keys, "intermediate_size")?,
        num_hidden_layers: usize_key(keys, "num_hidden_layers")?,
        num_attention_heads: heads,
        num_key_value_heads: optional_usize(keys, "num_key_value_heads")?.unwrap_or(heads),
        head_dim: optional_usize(keys, "head_dim")?.unwrap_or(hidden / heads.max(1)),
        rms_norm_eps: optional_f64(keys, "rms_norm_eps")?.unwrap_or(1e-6),
        rope_theta: optional_f64(keys, "rope_theta")?.unwrap_or(10000.0),
        rope_scaling: rope_scaling(keys.get("rope_scaling"))?,
        max_position_embeddings: optional_usize(keys, "max_position_embeddings")?.unwrap_or(2048),
        tie_word_embeddings: optional_bool(keys, "tie_word_embeddings")?.unwrap_or(false),
        bos_token_id: token_id(keys, "bos_token_id")?,
        eos_token_id: token_id(keys, "eos_token_id")?,
    };
    reject_sliding_window(keys, &config)?;
    config.validate()?;
    Ok(config)
}

/// A token id, or the first of a list (Llama 3 lists several EOS ids).
fn token_id(keys: &Map<String, Value>, key: &str) -> Result<Option<u32>, String> {
    let value = match keys.get(key) {
        Some(Value::Array(ids)) => ids.first(),
        other => other,
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("`{key}` must be a token id, found {v}")),
    }
}

/// `rope_scaling`: absent, null, or Llama 3's; other kinds would change the
/// numbers, so they are refused rather than ignored.
fn rope_scaling(value: Option<&Value>) -> Result<Option<Llama3RopeScaling>, String> {
    let Some(Value::Object(s)) = value else {
        return match value {
            None | Some(Value::Null) => Ok(None),
            Some(v) => Err(format!("`rope_scaling` must be an object, found {v}")),
        };
    };
    let kind = s
        .get("rope_type")
        .or_else(|| s.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind != "llama3" {
        return Err(format!(
            "`rope_scaling.rope_type` `{kind}` is not supported; supported: llama3"
        ));
    }
    let number =
        |k: &str| optional_f64(s, k)?.ok_or_else(|| format!("missing key `rope_scaling.{k}`"));
    Ok(Some(Llama3RopeScaling {
        factor: number("factor")?,
        low_freq_factor: number("low_freq_factor")?,
        high_freq_factor: number("high_freq_factor")?,
        original_max_position_embeddings: usize_key(s, "original_max_position_embeddings")
            .map_err(|e| format!("rope_scaling: {e}"))?,
    }))
}

/// A sliding window shorter than the context changes attention, which the
/// shared Llama contract does not model; refuse it instead of computing
/// something else.
fn reject_sliding_window(keys: &Map<String, Value>, config: &LlamaConfig) -> Result<(), String> {
    if optional_bool(keys, "use_sliding_window")? == Some(false) {
        return Ok(());
    }
    match optional_usize(keys, "sliding_window")? {
        Some(window) if window < config.max_position_embeddings => Err(format!(
            "`sliding_window` ({window}) shorter than `max_position_embeddings` ({}) is not supported",
            config.max_position_embeddings
        )),
        _ => Ok(()),
    }
}

/// The `config.json` a `transformers` `LlamaForCausalLM` (or Qwen2/Mistral)
/// loads for this config, with f32 weights.
pub fn hf_config_json(config: &LlamaConfig) -> Value {
    let class = match config.arch {
        LlamaArch::Llama => "LlamaForCausalLM",
        LlamaArch::Qwen2 => "Qwen2ForCausalLM",
        LlamaArch::Mistral => "MistralForCausalLM",
    };
    let rope_scaling = config.rope_scaling.map(|s| {
        json!({
            "rope_type": "llama3",
            "factor": s.factor,
            "low_freq_factor": s.low_freq_factor,
            "high_freq_factor": s.high_freq_factor,
            "original_max_position_embeddings": s.original_max_position_embeddings,
        })
    });
    json!({
        "architectures": [class],
        "model_type": config.arch.as_str(),
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "num_key_value_heads": config.num_key_value_heads,
        "head_dim": config.head_dim,
        "hidden_act": "silu",
        "rms_norm_eps": config.rms_norm_eps,
        "rope_theta": config.rope_theta,
        "rope_scaling": rope_scaling,
        "max_position_embeddings": config.max_position_embeddings,
        "tie_word_embeddings": config.tie_word_embeddings,
        "attention_bias": config.attention_bias(),
        "mlp_bias": false,
        "bos_token_id": config.bos_token_id,
        "eos_token_id": config.eos_token_id,
        "torch_dtype": "float32",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOLLM2: &str = r#"{"model_type": "llama", "vocab_size": 49152, "hidden_size": 576,
        "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
        "num_key_value_heads": 3, "rms_norm_eps": 1e-05, "rope_theta": 100000,
        "max_position_embeddings": 8192, "tie_word_embeddings": true,
        "bos_token_id": 1, "eos_token_id": 2, "rope_scaling": null}"#;

    #[test]
    fn reads_smollm2_config() {
        let config = parse_hf_config(SMOLLM2).unwrap();
        assert_eq!(config.head_dim, 64);
        assert_eq!(config.kv_group(), 3);
        assert_eq!(config.rope_theta, 100000.0);
        assert!(config.tie_word_embeddings);
        assert_eq!(config.eos_token_id, Some(2));
    }

    #[test]
    fn round_trips_through_the_written_json() {
        let config = parse_hf_config(SMOLLM2).unwrap();
        let written = hf_config_json(&config).to_string();
        assert_eq!(parse_hf_config(&written).unwrap(), config);
    }

    #[test]
    fn unknown_model_type_names_the_supported_ones() {
        let text = SMOLLM2.replace("\"llama\"", "\"gpt_neox\"");
        let err = parse_hf_config(&text).unwrap_err();
        assert_eq!(
            err,
            "model_type `gpt_neox` is not supported; supported: llama, qwen2, mistral"
        );
    }

    #[test]
    fn error_is_located_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, SMOLLM2.replace("\"llama\"", "\"gpt_neox\"")).unwrap();
        let err = read_hf_config(&path).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: model_type `gpt_neox`", path.display())));
    }

    #[test]
    fn missing_and_mistyped_keys_are_named() {
        let text = SMOLLM2.replace("\"hidden_size\": 576,", "");
        assert_eq!(
            parse_hf_config(&text).unwrap_err(),
            "missing key `hidden_size`"
        );
        let text = SMOLLM2.replace("\"rope_theta\": 100000", "\"rope_theta\": \"big\"");
        assert!(
            parse_hf_config(&text)
                .unwrap_err()
                .contains("`rope_theta` must be a number")
        );
    }

    #[test]
    fn llama3_eos_list_and_scaling() {
        let text = SMOLLM2
            .replace("\"eos_token_id\": 2", "\"eos_token_id\": [7, 8]")
            .replace(
                "\"rope_scaling\": null",
                r#""rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}"#,
            );
        let config = parse_hf_config(&text).unwrap();
        assert_eq!(config.eos_token_id, Some(7));
        assert_eq!(config.rope_scaling.unwrap().factor, 8.0);
        let text = SMOLLM2.replace(
            "\"rope_scaling\": null",
            r#""rope_scaling": {"type": "yarn"}"#,
        );
        assert!(
            parse_hf_config(&text)
                .unwrap_err()
                .contains("`yarn` is not supported")
        );
    }

    #[test]
    fn mistral_window_shorter_than_context_is_refused() {
        let text = SMOLLM2
            .replace("\"llama\"", "\"mistral\"")
            .replace("\"rope_scaling\": null", "\"sliding_window\": 4096");
        assert!(
            parse_hf_config(&text)
                .unwrap_err()
                .contains("`sliding_window` (4096)")
        );
        let text = SMOLLM2.replace("\"rope_scaling\": null", "\"sliding_window\": null");
        assert!(parse_hf_config(&text).is_ok());
    }
}
