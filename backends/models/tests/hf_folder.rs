//! HF folders converted to the shared contract: shards through
//! `model.safetensors.index.json` in f16 and bf16, and the bad inputs
//! (unknown architecture, missing tensor, wrong shape, truncated shard),
//! each with a located error.

use std::collections::HashMap;
use std::path::Path;

use inferbench_backend::LlamaConfig;
use inferbench_models::{SafetensorsFile, convert_hf_cached, hf_config_json};
use safetensors::{Dtype, tensor::TensorView};

mod common;

fn tiny() -> LlamaConfig {
    common::tiny_llama(false)
}

/// Values exact in f16 and bf16 (multiples of 1/8 below 16).
fn value(t: usize, i: usize) -> f32 {
    ((t * 7 + i) % 64) as f32 / 8.0
}

/// A shard's tensors: name, shape, little-endian bytes.
type Shard = Vec<(String, Vec<usize>, Vec<u8>)>;

/// Layer 0 and the embedding in an f16 shard, the rest in a bf16 shard.
fn write_folder(dir: &Path, config: &LlamaConfig, skip: Option<&str>, reshape: Option<&str>) {
    std::fs::write(dir.join("config.json"), hf_config_json(config).to_string()).unwrap();
    let mut shards: [Shard; 2] = [Vec::new(), Vec::new()];
    let mut index = serde_json::Map::new();
    for (t, (name, mut shape)) in config.weight_shapes().into_iter().enumerate() {
        if skip == Some(name.as_str()) {
            continue;
        }
        let n: usize = shape.iter().product();
        let first = name.starts_with("model.layers.0.") || name == "model.embed_tokens.weight";
        let bytes: Vec<u8> = (0..n)
            .flat_map(|i| {
                let v = value(t, i);
                if first {
                    half::f16::from_f32(v).to_le_bytes()
                } else {
                    half::bf16::from_f32(v).to_le_bytes()
                }
            })
            .collect();
        if reshape == Some(name.as_str()) {
            shape.reverse();
        }
        let shard = usize::from(!first);
        index.insert(
            name.clone(),
            format!("model-0000{}-of-00002.safetensors", shard + 1).into(),
        );
        shards[shard].push((name, shape, bytes));
    }
    for (s, tensors) in shards.iter().enumerate() {
        let dtype = if s == 0 { Dtype::F16 } else { Dtype::BF16 };
        let views: HashMap<String, TensorView> = tensors
            .iter()
            .map(|(n, shape, b)| (n.clone(), TensorView::new(dtype, shape.clone(), b).unwrap()))
            .collect();
        let path = dir.join(format!("model-0000{}-of-00002.safetensors", s + 1));
        safetensors::serialize_to_file(&views, None, &path).unwrap();
    }
    let index = serde_json::json!({"metadata": {}, "weight_map": index});
    std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();
}

#[test]
fn sharded_half_precision_folder_converts_to_f32() {
    let dir = tempfile::tempdir().unwrap();
    write_folder(dir.path(), &tiny(), None, None);
    let converted = convert_hf_cached(dir.path(), &dir.path().join("cache")).unwrap();
    assert_eq!(converted.config, tiny());
    let mut file = SafetensorsFile::open(&converted.weights).unwrap();
    for (t, (name, shape)) in tiny().weight_shapes().into_iter().enumerate() {
        let values = file.read_f32(&name, &shape).unwrap();
        let expected: Vec<f32> = (0..values.len()).map(|i| value(t, i)).collect();
        assert_eq!(values, expected, "{name}");
    }
}

fn conversion_error(skip: Option<&str>, reshape: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_folder(dir.path(), &tiny(), skip, reshape);
    let err = convert_hf_cached(dir.path(), &dir.path().join("cache")).unwrap_err();
    err.to_string()
}

#[test]
fn missing_tensor_is_named() {
    let err = conversion_error(Some("model.layers.1.mlp.up_proj.weight"), None);
    assert!(
        err.ends_with(
            "tensor `model.layers.1.mlp.up_proj.weight` missing from the safetensors files"
        ),
        "{err}"
    );
}

#[test]
fn wrong_shape_is_named() {
    let err = conversion_error(None, Some("model.layers.1.mlp.down_proj.weight"));
    assert!(
        err.contains(
            "tensor `model.layers.1.mlp.down_proj.weight` has shape [12, 8], expected [8, 12]"
        ),
        "{err}"
    );
}

#[test]
fn truncated_shard_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write_folder(dir.path(), &tiny(), None, None);
    let shard = dir.path().join("model-00002-of-00002.safetensors");
    let bytes = std::fs::read(&shard).unwrap();
    std::fs::write(&shard, &bytes[..bytes.len() - 10]).unwrap();
    let err = convert_hf_cached(dir.path(), &dir.path().join("cache"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&shard.display().to_string()) && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn unknown_architecture_is_named_with_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    write_folder(dir.path(), &tiny(), None, None);
    let config = dir.path().join("config.json");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("\"llama\"", "\"gpt_neox\"");
    std::fs::write(&config, text).unwrap();
    let err = convert_hf_cached(dir.path(), &dir.path().join("cache"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "{}: model_type `gpt_neox` is not supported; supported: llama, qwen2, mistral",
            config.display()
        )
    );
}
