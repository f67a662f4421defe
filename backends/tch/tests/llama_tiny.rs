//! The tch Llama on tiny random-weight models written to safetensors, one
//! per variant the architecture has (grouped-query attention with a tied or
//! separate head, Llama 3 rotary scaling, Qwen2's q/k/v biases with one
//! key/value head), against the f64 reference `inferbench-reference`.

#![cfg(feature = "libtorch")]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use inferbench_backend::llama::Llama3RopeScaling;
use inferbench_backend::{LlamaArch, LlamaConfig, Precision, TokenBatch};
use inferbench_reference::LlamaReference;
use tempfile::TempDir;

fn config(arch: LlamaArch, kv_heads: usize, tied: bool) -> LlamaConfig {
    LlamaConfig {
        arch,
        vocab_size: 96,
        hidden_size: 32,
        intermediate_size: 48,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: kv_heads,
        head_dim: 8,
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        rope_scaling: None,
        max_position_embeddings: 64,
        tie_word_embeddings: tied,
        bos_token_id: None,
        eos_token_id: None,
    }
}

/// Every variant, by name.
fn variants() -> Vec<(&'static str, LlamaConfig)> {
    let llama3 = LlamaConfig {
        rope_theta: 500_000.0,
        rope_scaling: Some(Llama3RopeScaling {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 16,
        }),
        ..config(LlamaArch::Llama, 2, false)
    };
    vec![
        ("gqa, tied head", config(LlamaArch::Llama, 2, true)),
        ("gqa, own head", config(LlamaArch::Llama, 2, false)),
        ("llama3 rotary scaling", llama3),
        (
            "qwen2 biases, one kv head",
            config(LlamaArch::Qwen2, 1, false),
        ),
    ]
}

/// Random values for one tensor (xorshift64*, seeded by the tensor's
/// index, so every test writes the same weights whatever runs beside it),
/// scaled so activations stay near unit size: norm weights near 1,
/// matrices `U(-1, 1) * sqrt(3 / in_features)`.
fn random_tensor(index: usize, name: &str, shape: &[usize]) -> Vec<f32> {
    let (offset, scale) = if name.ends_with("norm.weight") {
        (1.0, 0.2)
    } else if name.ends_with(".bias") || name.contains("embed_tokens") {
        (0.0, 1.0)
    } else {
        (0.0, (3.0 / shape[1] as f64).sqrt())
    };
    let mut state = 0x2545_F491_4F6C_DD1D_u64 ^ (index as u64 + 1);
    let n: usize = shape.iter().product();
    (0..n)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
            let uniform = bits as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            (offset + scale * uniform) as f32
        })
        .collect()
}

/// Writes random weights for `tensors` (name, shape) to `dir/name`.
fn write_weights(dir: &Path, file: &str, tensors: &[(String, Vec<usize>)]) -> PathBuf {
    let path = dir.join(file);
    inferbench_models::write_f32_safetensors(&path, tensors, &BTreeMap::new(), |i| {
        Ok(random_tensor(i, &tensors[i].0, &tensors[i].1))
    })
    .unwrap();
    path
}

/// A variant's weights in a temporary folder, and its reference.
struct Tiny {
    _dir: TempDir,
    config: LlamaConfig,
    weights: PathBuf,
    reference: LlamaReference,
}

fn tiny(config: &LlamaConfig) -> Tiny {
    let dir = TempDir::new().unwrap();
    let weights = write_weights(dir.path(), "model.safetensors", &config.weight_shapes());
    let reference = LlamaReference::load(config, &weights).unwrap();
    Tiny {
        _dir: dir,
        config: config.clone(),
        weights,
        reference,
    }
}

/// Two different prompts of `len` tokens.
fn prompts(len: usize, vocab: usize) -> Vec<Vec<u32>> {
    (0..2)
        .map(|b| {
            (0..len)
                .map(|i| ((i * 17 + b * 29 + 5) % vocab) as u32)
                .collect()
        })
        .collect()
}

/// The worst rel L2, over the rows, of full-pass logits in `precision`
/// against the reference.
fn worst_rel_l2(tiny: &Tiny, precision: Precision, rows: &[Vec<u32>]) -> f64 {
    let mut session = load(&tiny.config, &tiny.weights, precision);
    let logits = full_logits(session.as_mut(), rows);
    let per_row = logits.data.len() / rows.len();
    rows.iter()
        .enumerate()
        .map(|(b, row)| {
            let want = tiny.reference.forward(row).unwrap();
            rel_l2(&logits.data[b * per_row..][..per_row], &want)
        })
        .fold(0.0, f64::max)
}

#[test]
fn f32_logits_match_the_f64_reference() {
    for (name, config) in variants() {
        let tiny = tiny(&config);
        let err = worst_rel_l2(&tiny, Precision::F32, &prompts(32, config.vocab_size));
        assert!(err <= 1e-4, "{name}: rel L2 {err:e}");
    }
}

/// f16 keeps 11 significant bits (unit roundoff 4.9e-4) and bf16 8 (3.9e-3);
/// every op rounds, so two layers leave errors of a few units of roundoff.
/// Measured on these models: see the assertion messages.
const F16_TOLERANCE: f64 = 5e-3;
const BF16_TOLERANCE: f64 = 4e-2;

#[test]
fn half_precisions_stay_within_their_tolerances() {
    for (name, config) in variants() {
        let tiny = tiny(&config);
        let rows = prompts(32, config.vocab_size);
        let f16 = worst_rel_l2(&tiny, Precision::F16, &rows);
        let bf16 = worst_rel_l2(&tiny, Precision::Bf16, &rows);
        assert!(f16 <= F16_TOLERANCE, "{name}: f16 rel L2 {f16:e}");
        assert!(bf16 <= BF16_TOLERANCE, "{name}: bf16 rel L2 {bf16:e}");
        assert!(
            f16 > 0.0 && bf16 > f16,
            "{name}: f16 {f16:e}, bf16 {bf16:e} (not cast?)"
        );
    }
}

#[test]
fn kv_cache_decoding_equals_full_recomputation() {
    for (name, config) in variants() {
        let tiny = tiny(&config);
        let mut session = load(&tiny.config, &tiny.weights, Precision::F32);
        let worst = decoder_vs_full(session.as_mut(), &prompts(6, config.vocab_size), 12);
        assert!(worst <= 1e-6, "{name}: decoder vs full rel L2 {worst:e}");
    }
}

#[test]
fn greedy_continuation_matches_the_reference_token_for_token() {
    for (name, config) in variants() {
        let tiny = tiny(&config);
        let rows = prompts(5, config.vocab_size);
        let mut session = load(&tiny.config, &tiny.weights, Precision::F32);
        let got = greedy(session.as_mut(), &rows, 24);
        for (row, got) in rows.iter().zip(&got) {
            let want = tiny.reference.greedy(row, 24).unwrap();
            assert_eq!(got, &want, "{name}: prompt {row:?}");
        }
    }
}

#[test]
fn a_prompt_in_chunks_equals_the_prompt_at_once() {
    // New tokens after cached ones (the explicit mask), which `Decoder`
    // never produces: prefill resets and steps are single tokens.
    use inferbench_tch::{CausalLm, KvCache, TchLlama};
    let (_, config) = &variants()[0];
    let tiny = tiny(config);
    let model = TchLlama::load(config, &tiny.weights, tch::Kind::Float, tch::Device::Cpu).unwrap();
    let ids = tch::Tensor::from_slice(&[3i64, 14, 15, 92, 65, 35, 8, 9, 79, 32]).view([2, 5]);
    let whole = model.forward(&ids).unwrap();
    let mut cache = KvCache::new(model.layers());
    let first = model
        .hidden(&ids.narrow(1, 0, 3), Some(&mut cache))
        .unwrap();
    let rest = model
        .hidden(&ids.narrow(1, 3, 2), Some(&mut cache))
        .unwrap();
    let chunked = model.head(&tch::Tensor::cat(&[first, rest], 1)).unwrap();
    let diff = (whole - chunked).abs().max().double_value(&[]);
    assert!(diff < 1e-5, "max abs difference {diff:e}");
}

#[test]
fn missing_and_misshapen_tensors_are_named() {
    let config = config(LlamaArch::Llama, 2, true);
    let dir = TempDir::new().unwrap();
    let mut shapes = config.weight_shapes();
    shapes.retain(|(name, _)| name != "model.layers.1.mlp.up_proj.weight");
    let missing = write_weights(dir.path(), "missing.safetensors", &shapes);
    let source = |weights: &Path| inferbench_backend::ModelSource::Llama {
        config: config.clone(),
        weights: weights.to_path_buf(),
        gguf: None,
        cache_dir: dir.path().to_path_buf(),
    };
    let options = inferbench_backend::LoadOptions {
        device: inferbench_backend::Device::Cpu,
        precision: Precision::F32,
        threads: 1,
        options: BTreeMap::new(),
    };
    use inferbench_backend::Backend;
    let backend = inferbench_tch::TchBackend;
    let error = backend
        .load(&source(&missing), &options)
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("`model.layers.1.mlp.up_proj.weight` is missing")
            && error.contains("missing.safetensors"),
        "{error}"
    );
    let mut shapes = config.weight_shapes();
    shapes[1].1 = vec![config.hidden_size + 1];
    let misshapen = write_weights(dir.path(), "misshapen.safetensors", &shapes);
    let error = backend
        .load(&source(&misshapen), &options)
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("`model.layers.0.input_layernorm.weight` has shape [33]"),
        "{error}"
    );
}

#[test]
fn bad_decoding_input_is_an_error_not_a_panic() {
    let (_, config) = &variants()[0];
    let tiny = tiny(config);
    let mut session = load(&tiny.config, &tiny.weights, Precision::F32);
    let mut decoder = session.decoder().unwrap();
    let step_first = decoder.step(&[1]).unwrap_err().to_string();
    assert!(step_first.contains("before prefill"), "{step_first}");
    let empty = TokenBatch {
        batch: 1,
        seq_len: 0,
        ids: vec![],
    };
    assert!(decoder.prefill(&empty).is_err());
    let ragged = TokenBatch {
        batch: 2,
        seq_len: 3,
        ids: vec![1; 5],
    };
    let ragged = decoder.prefill(&ragged).unwrap_err().to_string();
    assert!(
        ragged.contains("5 token ids do not make 2 sequences"),
        "{ragged}"
    );
    decoder
        .prefill(&batch_of(&prompts(60, config.vocab_size)))
        .unwrap();
    let other_batch = decoder.step(&[1, 2, 3]).unwrap_err().to_string();
    assert!(
        other_batch.contains("step got 3 tokens for a batch of 2"),
        "{other_batch}"
    );
    for _ in 0..4 {
        decoder.step(&[1, 2]).unwrap();
    }
    let full = decoder.step(&[1, 2]).unwrap_err().to_string();
    assert!(
        full.contains("65 positions exceed the model's 64"),
        "{full}"
    );
}
