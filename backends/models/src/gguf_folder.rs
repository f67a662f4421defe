//! A GGUF file turned, once, into a Hugging Face style folder in the model
//! cache: `config.json`, `model.safetensors` (every tensor dequantized to
//! f32, HF names and layout), and `tokenizer.json` + `tokenizer_config.json`
//! built from the GGUF metadata. The folder is keyed by the GGUF file's
//! content hash; the safetensors file's own hash is recorded and checked at
//! every use, so a truncated or edited cache entry is rebuilt, not read.

use std::collections::BTreeMap;
use std::path::Path;

use inferbench_backend::LlamaConfig;

use crate::cache::{is_intact, record_hash, sha256_file, write_atomically};
use crate::f32_safetensors::write_f32_safetensors;
use crate::gguf::{GgufFile, gguf_name, permuted_heads, unpermute_rows};
use crate::hf_config::hf_config_json;
use crate::{ConvertedModel, ModelError};

/// Converts `gguf` into `cache_dir/models/gguf-<hash>/`, or reuses an intact
/// earlier conversion.
pub fn convert_gguf_cached(gguf: &Path, cache_dir: &Path) -> Result<ConvertedModel, ModelError> {
    let hash = sha256_file(gguf)?;
    let folder = cache_dir
        .join("models")
        .join(format!("gguf-{}", &hash[..16]));
    std::fs::create_dir_all(&folder).map_err(|e| ModelError::io(&folder, e))?;
    let mut file = GgufFile::open(gguf)?;
    let config = file.llama_config()?;
    let weights = folder.join("model.safetensors");
    if !is_intact(&weights)? {
        write_hf_weights(&mut file, &config, &weights, &hash)?;
        record_hash(&weights)?;
    }
    let config_json =
        serde_json::to_vec_pretty(&hf_config_json(&config)).expect("JSON values serialize");
    write_atomically(&folder.join("config.json"), &config_json)?;
    if let Some(tokenizer) = crate::gguf_tokenizer::derive_tokenizer(&file)? {
        let pretty = |v| serde_json::to_vec_pretty(v).expect("JSON values serialize");
        write_atomically(
            &folder.join("tokenizer.json"),
            &pretty(&tokenizer.tokenizer_json),
        )?;
        write_atomically(
            &folder.join("tokenizer_config.json"),
            &pretty(&tokenizer.tokenizer_config_json),
        )?;
    }
    Ok(ConvertedModel {
        config,
        folder,
        weights,
    })
}

/// Every weight the config names, checked for presence and shape before
/// anything is written, then dequantized one at a time into `out`.
pub fn write_hf_weights(
    file: &mut GgufFile,
    config: &LlamaConfig,
    out: &Path,
    source_hash: &str,
) -> Result<(), ModelError> {
    let plan = config.weight_shapes();
    let mut names = Vec::with_capacity(plan.len());
    for (hf, shape) in &plan {
        let gguf = gguf_name(hf).ok_or_else(|| {
            ModelError::invalid(file.path(), format!("no GGUF name for weight `{hf}`"))
        })?;
        match file.tensor_shape(&gguf) {
            None => {
                return Err(ModelError::invalid(
                    file.path(),
                    format!("tensor `{gguf}` (`{hf}`) missing"),
                ));
            }
            Some(found) if found != shape.as_slice() => {
                return Err(ModelError::invalid(
                    file.path(),
                    format!(
                        "tensor `{gguf}` (`{hf}`) has shape {found:?}, the config implies {shape:?}"
                    ),
                ));
            }
            Some(_) => names.push(gguf),
        }
    }
    let metadata = BTreeMap::from([
        ("format".to_string(), "pt".to_string()),
        (
            "converted_from_gguf_sha256".to_string(),
            source_hash.to_string(),
        ),
    ]);
    write_f32_safetensors(out, &plan, &metadata, |i| {
        let values = file.dequantized(&names[i])?;
        let (hf, shape) = &plan[i];
        Ok(match permuted_heads(hf, config) {
            Some(heads) => unpermute_rows(&values, heads, shape.get(1).copied().unwrap_or(1)),
            None => values,
        })
    })
}
