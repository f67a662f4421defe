//! GGUF files written here with candle's GGUF writer, in the layout
//! `convert_hf_to_gguf.py` produces (q/k rows permuted), converted back to
//! HF names and layout; and the bad inputs, each with a located error.

use std::path::Path;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use inferbench_backend::LlamaConfig;
use inferbench_models::gguf::gguf_name;
use inferbench_models::{convert_gguf_cached, read_hf_config};

mod common;

fn tiny() -> LlamaConfig {
    common::tiny_llama(true)
}

/// Distinct values per tensor and element, so any misplaced row shows.
fn hf_weights(config: &LlamaConfig) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    config
        .weight_shapes()
        .into_iter()
        .enumerate()
        .map(|(t, (name, shape))| {
            let n: usize = shape.iter().product();
            let data = (0..n).map(|i| t as f32 + i as f32 / 1000.0).collect();
            (name, shape, data)
        })
        .collect()
}

/// `LlamaModel.permute` of `convert_hf_to_gguf.py`:
/// `w.reshape(heads, 2, d/2, cols).swapaxes(1, 2).reshape(w.shape)`.
fn permute(w: &[f32], heads: usize, cols: usize) -> Vec<f32> {
    let d = w.len() / cols / heads;
    let mut out = vec![0.0; w.len()];
    for h in 0..heads {
        for s in 0..2 {
            for j in 0..d / 2 {
                let from = (h * d + s * d / 2 + j) * cols;
                let to = (h * d + 2 * j + s) * cols;
                out[to..to + cols].copy_from_slice(&w[from..from + cols]);
            }
        }
    }
    out
}

struct Gguf {
    arch: &'static str,
    skip: Option<&'static str>,
    reshape: Option<&'static str>,
}

const PLAIN: Gguf = Gguf {
    arch: "llama",
    skip: None,
    reshape: None,
};

fn write_gguf(path: &Path, config: &LlamaConfig, spec: &Gguf) {
    let mut tensors = Vec::new();
    for (hf, mut shape, mut data) in hf_weights(config) {
        let name = gguf_name(&hf).unwrap();
        if hf.ends_with("q_proj.weight") {
            data = permute(&data, config.num_attention_heads, shape[1]);
        } else if hf.ends_with("k_proj.weight") {
            data = permute(&data, config.num_key_value_heads, shape[1]);
        }
        if spec.skip == Some(name.as_str()) {
            continue;
        }
        if spec.reshape == Some(name.as_str()) {
            shape = vec![shape[1], shape[0]];
        }
        let tensor = Tensor::from_vec(data, shape, &Device::Cpu).unwrap();
        tensors.push((name, QTensor::quantize(&tensor, GgmlDType::F32).unwrap()));
    }
    let u32v = |n: usize| Value::U32(n as u32);
    let metadata = vec![
        ("general.architecture", Value::String(spec.arch.into())),
        ("llama.block_count", u32v(config.num_hidden_layers)),
        ("llama.context_length", u32v(config.max_position_embeddings)),
        ("llama.embedding_length", u32v(config.hidden_size)),
        ("llama.feed_forward_length", u32v(config.intermediate_size)),
        (
            "llama.attention.head_count",
            u32v(config.num_attention_heads),
        ),
        (
            "llama.attention.head_count_kv",
            u32v(config.num_key_value_heads),
        ),
        ("llama.rope.freq_base", Value::F32(10000.0)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ("tokenizer.ggml.bos_token_id", u32v(1)),
        ("tokenizer.ggml.eos_token_id", u32v(2)),
    ];
    let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut file = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut file, &metadata, &tensors).unwrap();
}

fn read_f32(path: &Path) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<_> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), safetensors::Dtype::F32);
            let data = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()));
            (name, view.shape().to_vec(), data.collect())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn conversion_restores_hf_names_layout_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("tiny.gguf");
    write_gguf(&gguf, &tiny(), &PLAIN);
    let converted = convert_gguf_cached(&gguf, &dir.path().join("cache")).unwrap();
    // llama.vocab_size is absent: taken from token_embd's rows.
    assert_eq!(converted.config, tiny());
    let mut expected = hf_weights(&tiny());
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(read_f32(&converted.weights), expected);
    assert_eq!(
        read_hf_config(&converted.folder.join("config.json")).unwrap(),
        tiny()
    );
    // No vocabulary in the metadata: no tokenizer files.
    assert!(!converted.folder.join("tokenizer.json").exists());
}

#[test]
fn a_damaged_cache_entry_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("tiny.gguf");
    write_gguf(&gguf, &tiny(), &PLAIN);
    let cache = dir.path().join("cache");
    let first = convert_gguf_cached(&gguf, &cache).unwrap();
    let good = std::fs::read(&first.weights).unwrap();
    std::fs::write(&first.weights, &good[..good.len() / 2]).unwrap();
    let again = convert_gguf_cached(&gguf, &cache).unwrap();
    assert_eq!(std::fs::read(&again.weights).unwrap(), good);
}

fn conversion_error(spec: &Gguf) -> String {
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("bad.gguf");
    write_gguf(&gguf, &tiny(), spec);
    let err = convert_gguf_cached(&gguf, &dir.path().join("cache"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&gguf.display().to_string()), "{err}");
    err
}

#[test]
fn unknown_architecture_is_named() {
    let err = conversion_error(&Gguf {
        arch: "gptneox",
        ..PLAIN
    });
    assert!(
        err.ends_with("general.architecture `gptneox` is not supported; supported: llama"),
        "{err}"
    );
}

#[test]
fn missing_tensor_is_named() {
    let err = conversion_error(&Gguf {
        skip: Some("blk.1.ffn_up.weight"),
        ..PLAIN
    });
    assert!(
        err.ends_with("tensor `blk.1.ffn_up.weight` (`model.layers.1.mlp.up_proj.weight`) missing"),
        "{err}"
    );
}

#[test]
fn wrong_shape_is_named() {
    let err = conversion_error(&Gguf {
        reshape: Some("blk.0.ffn_down.weight"),
        ..PLAIN
    });
    assert!(err.contains("tensor `blk.0.ffn_down.weight` (`model.layers.0.mlp.down_proj.weight`) has shape [12, 8], the config implies [8, 12]"), "{err}");
}

#[test]
fn truncated_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("cut.gguf");
    write_gguf(&gguf, &tiny(), &PLAIN);
    let bytes = std::fs::read(&gguf).unwrap();
    for keep in [bytes.len() - 100, 200] {
        std::fs::write(&gguf, &bytes[..keep]).unwrap();
        let err = convert_gguf_cached(&gguf, &dir.path().join("cache"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&gguf.display().to_string()), "{err}");
    }
}
