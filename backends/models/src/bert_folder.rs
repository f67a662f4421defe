//! A BERT-family model folder read into the shared encoder contract of
//! `inferbench_backend::bert`: `config.json` into a [`BertConfig`], and
//! sentence-transformers' `modules.json` + `<pooling>/config.json` into
//! its [`SentencePooling`].
//!
//! Key names and defaults are those of `transformers`' `BertConfig` /
//! `RobertaConfig`; the pooling files are those sentence-transformers
//! writes (`sentence_transformers.models.Pooling` with
//! `pooling_mode_{cls_token,mean_tokens,max_tokens}`, then
//! `sentence_transformers.models.Normalize`).

use std::path::{Path, PathBuf};

use inferbench_backend::{BertArch, BertConfig, PoolingMode, SentencePooling};
use serde_json::Value;

use crate::ModelError;
use crate::config_keys::{config_object, optional_f64, optional_u64, string_key, usize_key};

/// An encoder folder read into the shared contract.
#[derive(Debug, Clone)]
pub struct ConvertedEncoder {
    pub config: BertConfig,
    /// `None`: no sentence-transformers pooling; the output is the last
    /// hidden state.
    pub pooling: Option<SentencePooling>,
    /// The user's folder, with `tokenizer.json`.
    pub folder: PathBuf,
    /// One f32 safetensors file with exactly the encoder's weights
    /// (`BertModel` names without a prefix), in the model cache.
    pub weights: PathBuf,
}

/// Reads `folder`'s config and pooling, and converts its weights (sharded
/// or not, any float dtype) once into
/// `cache_dir/models/<model_type>-<hash>/model.safetensors`. A tensor the
/// config needs that is missing or misshapen is an error naming it and the
/// folder; tensors the encoder does not use (`pooler.*`, `position_ids`)
/// are left out.
pub fn convert_bert_cached(
    folder: &Path,
    cache_dir: &Path,
) -> Result<ConvertedEncoder, ModelError> {
    let config = read_bert_config(&folder.join("config.json"))?;
    let pooling = read_sentence_pooling(folder)?;
    let weights = crate::hf_folder::convert_folder_cached(
        folder,
        cache_dir,
        config.arch.as_str(),
        &config.weight_shapes(),
    )?;
    Ok(ConvertedEncoder {
        config,
        pooling,
        folder: folder.to_path_buf(),
        weights,
    })
}

/// Whether `folder/config.json` names an encoder architecture; `false`
/// when it can't be read (the Llama reader then reports why).
pub fn is_bert_folder(folder: &Path) -> bool {
    std::fs::read_to_string(folder.join("config.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|v| v.get("model_type")?.as_str().map(is_bert_model_type))
        .unwrap_or(false)
}

/// Whether a `config.json`'s `model_type` is one of the encoders.
pub fn is_bert_model_type(model_type: &str) -> bool {
    BertArch::from_model_type(model_type).is_some()
}

/// Reads and validates `config.json` of a BERT-family model.
pub fn read_bert_config(path: &Path) -> Result<BertConfig, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    parse_bert_config(&text).map_err(|m| ModelError::invalid(path, m))
}

/// Parses the text of a `config.json`; the error names the key.
pub fn parse_bert_config(text: &str) -> Result<BertConfig, String> {
    let keys = &config_object(text)?;
    let model_type = string_key(keys, "model_type")?;
    let arch = BertArch::from_model_type(model_type).ok_or_else(|| {
        let supported: Vec<&str> = BertArch::ALL.iter().map(|a| a.as_str()).collect();
        format!(
            "model_type `{model_type}` is not an encoder inferbench runs; supported: {}",
            supported.join(", ")
        )
    })?;
    // Only what the network computes is checked: the exact GELU and
    // absolute positions; anything else would give other numbers.
    if let Some(act) = keys.get("hidden_act").and_then(Value::as_str)
        && act != "gelu"
    {
        return Err(format!(
            "`hidden_act` is `{act}`; the encoder implements `gelu` (exact erf)"
        ));
    }
    if let Some(kind) = keys.get("position_embedding_type").and_then(Value::as_str)
        && kind != "absolute"
    {
        return Err(format!(
            "`position_embedding_type` is `{kind}`; the encoder implements `absolute`"
        ));
    }
    let config = BertConfig {
        arch,
        vocab_size: usize_key(keys, "vocab_size")?,
        hidden_size: usize_key(keys, "hidden_size")?,
        intermediate_size: usize_key(keys, "intermediate_size")?,
        num_hidden_layers: usize_key(keys, "num_hidden_layers")?,
        num_attention_heads: usize_key(keys, "num_attention_heads")?,
        max_position_embeddings: usize_key(keys, "max_position_embeddings")?,
        type_vocab_size: optional_u64(keys, "type_vocab_size")?.unwrap_or(2) as usize,
        layer_norm_eps: optional_f64(keys, "layer_norm_eps")?.unwrap_or(1e-12),
        pad_token_id: u32::try_from(optional_u64(keys, "pad_token_id")?.unwrap_or(0))
            .map_err(|_| "`pad_token_id` is too large".to_string())?,
    };
    config.validate()?;
    Ok(config)
}

/// The sentence-transformers pooling of `folder`: `None` (the model's
/// output is its last hidden state) when the folder has no `modules.json`
/// or it lists no `Pooling` module. A `modules.json` that names a pooling
/// folder without a readable `config.json` is an error, not a fallback.
pub fn read_sentence_pooling(folder: &Path) -> Result<Option<SentencePooling>, ModelError> {
    let modules_path = folder.join("modules.json");
    if !modules_path.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&modules_path).map_err(|e| ModelError::io(&modules_path, e))?;
    let modules: Vec<Value> = serde_json::from_str(&text)
        .map_err(|e| ModelError::invalid(&modules_path, format!("not a JSON list: {e}")))?;
    let module_of = |kind: &str| {
        modules.iter().find(|m| {
            m.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with(&format!(".{kind}")))
        })
    };
    let Some(pooling) = module_of("Pooling") else {
        return Ok(None);
    };
    let dir = pooling.get("path").and_then(Value::as_str).unwrap_or("");
    let config_path = folder.join(dir).join("config.json");
    let text =
        std::fs::read_to_string(&config_path).map_err(|e| ModelError::io(&config_path, e))?;
    let mode = parse_pooling_mode(&text).map_err(|m| ModelError::invalid(&config_path, m))?;
    Ok(Some(SentencePooling {
        mode,
        normalize: module_of("Normalize").is_some(),
    }))
}

/// The one mode a `Pooling` config turns on; the error names the keys.
pub fn parse_pooling_mode(text: &str) -> Result<PoolingMode, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let on = |key: &str| value.get(key).and_then(Value::as_bool).unwrap_or(false);
    let modes = [
        ("pooling_mode_cls_token", PoolingMode::Cls),
        ("pooling_mode_mean_tokens", PoolingMode::Mean),
        ("pooling_mode_max_tokens", PoolingMode::Max),
    ];
    let unsupported = [
        "pooling_mode_mean_sqrt_len_tokens",
        "pooling_mode_weightedmean_tokens",
        "pooling_mode_lasttoken",
    ];
    if let Some(key) = unsupported.iter().find(|k| on(k)) {
        return Err(format!(
            "`{key}` is not a pooling mode inferbench implements"
        ));
    }
    let chosen: Vec<PoolingMode> = modes
        .iter()
        .filter(|(k, _)| on(k))
        .map(|&(_, m)| m)
        .collect();
    match chosen.as_slice() {
        [mode] => Ok(*mode),
        [] => Err("no `pooling_mode_*` key is true".into()),
        _ => Err(
            "more than one `pooling_mode_*` key is true (concatenated modes are not implemented)"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINILM: &str = r#"{"model_type": "bert", "hidden_act": "gelu", "hidden_size": 384,
        "intermediate_size": 1536, "layer_norm_eps": 1e-12, "max_position_embeddings": 512,
        "num_attention_heads": 12, "num_hidden_layers": 6, "pad_token_id": 0,
        "position_embedding_type": "absolute", "type_vocab_size": 2, "vocab_size": 30522}"#;

    #[test]
    fn reads_minilm_config() {
        let config = parse_bert_config(MINILM).unwrap();
        assert_eq!(config.arch, BertArch::Bert);
        assert_eq!((config.hidden_size, config.num_hidden_layers), (384, 6));
        assert_eq!(config.head_dim(), 32);
    }

    #[test]
    fn errors_name_the_key() {
        let missing = MINILM.replace(r#""hidden_size": 384,"#, "");
        assert!(
            parse_bert_config(&missing)
                .unwrap_err()
                .contains("`hidden_size`")
        );
        let relu = MINILM.replace(r#""gelu""#, r#""relu""#);
        assert!(parse_bert_config(&relu).unwrap_err().contains("hidden_act"));
        let gpt = MINILM.replace(r#""bert""#, r#""gpt2""#);
        assert!(parse_bert_config(&gpt).unwrap_err().contains("gpt2"));
    }

    #[test]
    fn pooling_modes() {
        let mean = r#"{"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": false}"#;
        assert_eq!(parse_pooling_mode(mean).unwrap(), PoolingMode::Mean);
        let two = r#"{"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": true}"#;
        assert!(
            parse_pooling_mode(two)
                .unwrap_err()
                .contains("more than one")
        );
        let sqrt = r#"{"pooling_mode_mean_sqrt_len_tokens": true}"#;
        assert!(
            parse_pooling_mode(sqrt)
                .unwrap_err()
                .contains("mean_sqrt_len")
        );
    }

    #[test]
    fn a_folder_without_modules_has_no_pooling_and_a_missing_pooling_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_sentence_pooling(dir.path()).unwrap(), None);
        let modules = r#"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]"#;
        std::fs::write(dir.path().join("modules.json"), modules).unwrap();
        let message = read_sentence_pooling(dir.path()).unwrap_err().to_string();
        assert!(message.contains("1_Pooling/config.json"), "{message}");
        std::fs::create_dir(dir.path().join("1_Pooling")).unwrap();
        std::fs::write(
            dir.path().join("1_Pooling/config.json"),
            r#"{"pooling_mode_cls_token": true}"#,
        )
        .unwrap();
        let pooling = read_sentence_pooling(dir.path()).unwrap().unwrap();
        assert_eq!((pooling.mode, pooling.normalize), (PoolingMode::Cls, false));
    }
}
