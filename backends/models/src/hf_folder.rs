//! A Hugging Face style model folder (`config.json`, one or more
//! `*.safetensors` files, sharded through `model.safetensors.index.json`,
//! any float dtype) converted once into the shared contract's single f32
//! safetensors file in the model cache, keyed by the content hashes of the
//! config and the shards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cache::{is_intact, record_hash, sha256_file};
use crate::{ConvertedModel, ModelError, SafetensorsFile, read_hf_config, write_f32_safetensors};

/// Converts `folder` into `cache_dir/models/hf-<hash>/model.safetensors`, or
/// reuses an intact earlier conversion. The tokenizer stays in `folder`.
pub fn convert_hf_cached(folder: &Path, cache_dir: &Path) -> Result<ConvertedModel, ModelError> {
    let config = read_hf_config(&folder.join("config.json"))?;
    let weights = convert_folder_cached(folder, cache_dir, "hf", &config.weight_shapes())?;
    Ok(ConvertedModel {
        config,
        folder: folder.to_path_buf(),
        weights,
    })
}

/// The f32 safetensors file holding exactly the weights of `plan` (HF
/// names, shapes checked) from `folder`'s shards, in
/// `cache_dir/models/<tag>-<hash>/model.safetensors`, keyed by the content
/// hashes of `config.json` and the shards; written once, reused while intact.
pub(crate) fn convert_folder_cached(
    folder: &Path,
    cache_dir: &Path,
    tag: &str,
    plan: &[(String, Vec<usize>)],
) -> Result<PathBuf, ModelError> {
    let config_path = folder.join("config.json");
    let shard_paths = shard_paths(folder)?;
    let mut key = Sha256::new();
    for path in std::iter::once(&config_path).chain(&shard_paths) {
        key.update(sha256_file(path)?);
    }
    let key: String = key
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let out_dir = cache_dir.join("models").join(format!("{tag}-{key}"));
    std::fs::create_dir_all(&out_dir).map_err(|e| ModelError::io(&out_dir, e))?;
    let weights = out_dir.join("model.safetensors");
    if !is_intact(&weights)? {
        let mut shards = shard_paths
            .iter()
            .map(|p| SafetensorsFile::open(p))
            .collect::<Result<Vec<_>, _>>()?;
        let owners = locate_weights(folder, &shards, plan)?;
        let metadata = BTreeMap::from([("format".to_string(), "pt".to_string())]);
        write_f32_safetensors(&weights, plan, &metadata, |i| {
            let (name, shape) = &plan[i];
            shards[owners[i]].read_f32(name, shape)
        })?;
        record_hash(&weights)?;
    }
    Ok(weights)
}

/// The shard files: those `model.safetensors.index.json` maps weights to,
/// else every `*.safetensors` file in the folder.
fn shard_paths(folder: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let index = folder.join("model.safetensors.index.json");
    if index.exists() {
        let text = std::fs::read_to_string(&index).map_err(|e| ModelError::io(&index, e))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| ModelError::invalid(&index, format!("not valid JSON: {e}")))?;
        let map = json
            .get("weight_map")
            .and_then(|m| m.as_object())
            .ok_or_else(|| ModelError::invalid(&index, "missing object `weight_map`"))?;
        let mut files: Vec<PathBuf> = Vec::new();
        for (name, file) in map {
            let file = file.as_str().ok_or_else(|| {
                ModelError::invalid(&index, format!("`weight_map.{name}` must be a file name"))
            })?;
            let path = folder.join(file);
            if !files.contains(&path) {
                files.push(path);
            }
        }
        files.sort();
        return Ok(files);
    }
    let entries = std::fs::read_dir(folder).map_err(|e| ModelError::io(folder, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ModelError::invalid(
            folder,
            "no `*.safetensors` weight files",
        ));
    }
    Ok(files)
}

/// Which shard holds each planned weight; every weight must be somewhere.
fn locate_weights(
    folder: &Path,
    shards: &[SafetensorsFile],
    plan: &[(String, Vec<usize>)],
) -> Result<Vec<usize>, ModelError> {
    plan.iter()
        .map(|(name, _)| {
            shards.iter().position(|s| s.contains(name)).ok_or_else(|| {
                ModelError::invalid(
                    folder,
                    format!("tensor `{name}` missing from the safetensors files"),
                )
            })
        })
        .collect()
}
