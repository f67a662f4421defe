//! ONNX Runtime on Llama-family models exported by inferbench's writer:
//! tiny random-weight configs (grouped-query attention, tied and untied
//! embeddings, Qwen2's q/k/v biases) against the shared f64 reference, the
//! KV-cache decoder against full recomputation, f16 and int8 within their
//! tolerances, and the export cache. Needs the ONNX Runtime library from
//! `ci/setup.sh`.

mod common;
use common::{rel_l2, widen};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use inferbench_backend::{
    Backend, Device, LlamaArch, LlamaConfig, LoadOptions, ModelSource, Precision, Session,
    TokenBatch,
};
use inferbench_models::write_f32_safetensors;
use inferbench_ort::OrtBackend;
use inferbench_ort::onnx::{Export, WeightFormat, llama_graph, llama_weight_bytes};
use inferbench_reference::LlamaReference;

type Weights = inferbench_backend::F32Tensors;

/// 4 query heads on 2 key/value heads, 2 layers.
fn tiny(arch: LlamaArch, tied: bool) -> LlamaConfig {
    LlamaConfig {
        arch,
        vocab_size: 61,
        hidden_size: 32,
        intermediate_size: 48,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 8,
        rms_norm_eps: 1e-5,
        rope_theta: 10000.0,
        rope_scaling: None,
        max_position_embeddings: 64,
        tie_word_embeddings: tied,
        bos_token_id: None,
        eos_token_id: None,
    }
}

/// The three variants every tiny test covers.
fn tiny_variants() -> [LlamaConfig; 3] {
    [
        tiny(LlamaArch::Llama, false),
        tiny(LlamaArch::Llama, true),
        tiny(LlamaArch::Qwen2, false),
    ]
}

/// Uniform in [-1, 1) from a 64-bit LCG (Knuth's MMIX constants).
fn uniform(state: &mut u64) -> f32 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

/// Norm gains around 1, everything else scaled by 1/sqrt(fan-in) so the
/// activations stay in a trained model's range.
fn random_weights(config: &LlamaConfig, seed: u64) -> Weights {
    let mut state = seed;
    config
        .weight_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let scale = 1.0 / (*shape.last().unwrap() as f32).sqrt();
            let norm = name.ends_with("norm.weight");
            let data = (0..n)
                .map(|_| match norm {
                    true => 1.0 + 0.2 * uniform(&mut state),
                    false => 2.0 * scale * uniform(&mut state),
                })
                .collect();
            (name, (shape, data))
        })
        .collect()
}

fn write_safetensors(path: &Path, weights: &Weights) {
    let tensors: Vec<(String, Vec<usize>)> = weights
        .iter()
        .map(|(name, (shape, _))| (name.clone(), shape.clone()))
        .collect();
    let data = |i: usize| Ok(weights[&tensors[i].0].1.clone());
    write_f32_safetensors(path, &tensors, &BTreeMap::new(), data).unwrap();
}

/// A tiny model on disk: its weights file and a cache folder for graphs.
struct TinyModel {
    config: LlamaConfig,
    weights: Weights,
    dir: tempfile::TempDir,
}

impl TinyModel {
    fn new(config: LlamaConfig, seed: u64) -> Self {
        let weights = random_weights(&config, seed);
        let dir = tempfile::tempdir().unwrap();
        write_safetensors(&dir.path().join("model.safetensors"), &weights);
        Self {
            config,
            weights,
            dir,
        }
    }

    fn source(&self) -> ModelSource {
        ModelSource::Llama {
            config: self.config.clone(),
            weights: self.dir.path().join("model.safetensors"),
            gguf: None,
            cache_dir: self.cache_dir(),
        }
    }

    fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }
}

fn load(source: &ModelSource, precision: Precision) -> Box<dyn Session> {
    let options = LoadOptions {
        device: Device::Cpu,
        precision,
        threads: 1,
        options: BTreeMap::new(),
    };
    OrtBackend
        .load(source, &options)
        .expect("ONNX Runtime from `ci/setup.sh`")
}

/// Logits `[batch, seq, vocab]` of one forward pass.
fn forward(session: &mut dyn Session, batch: &TokenBatch) -> Vec<f32> {
    session.prepare(batch).unwrap();
    session.run().unwrap();
    let out = session.outputs().unwrap().remove(0);
    assert_eq!(out.name, "logits");
    out.data
}

/// Two sequences of `len` ids below `vocab`, different from each other.
fn prompt(len: usize, vocab: usize) -> TokenBatch {
    let ids = (0..2 * len)
        .map(|i| ((i * 7 + i / len * 3 + 1) % vocab) as i64)
        .collect();
    TokenBatch {
        batch: 2,
        seq_len: len,
        ids,
    }
}

/// f64 logits `[batch, seq, vocab]` of the shared reference.
fn reference_logits(model: &TinyModel, batch: &TokenBatch) -> Vec<f64> {
    let weights = model.dir.path().join("model.safetensors");
    let reference = LlamaReference::load(&model.config, &weights).unwrap();
    let row = |b: usize| -> Vec<u32> { batch.row(b).iter().map(|&t| t as u32).collect() };
    (0..batch.batch)
        .flat_map(|b| reference.forward(&row(b)).unwrap())
        .collect()
}

#[test]
fn tiny_f32_logits_match_the_f64_reference() {
    for config in tiny_variants() {
        let model = TinyModel::new(config.clone(), 7);
        let mut session = load(&model.source(), Precision::F32);
        let batch = prompt(9, config.vocab_size);
        let got = forward(session.as_mut(), &batch);
        let err = rel_l2(&got, &reference_logits(&model, &batch));
        assert!(
            err < 1e-5,
            "{:?} tied={}: rel L2 {err}",
            config.arch,
            config.tie_word_embeddings
        );
    }
}

/// Last position's logits `[batch, vocab]` of `[batch, seq, vocab]`.
fn last_rows(logits: &[f32], batch: usize, vocab: usize) -> Vec<f32> {
    let seq = logits.len() / (batch * vocab);
    (0..batch)
        .flat_map(|b| logits[((b + 1) * seq - 1) * vocab..(b + 1) * seq * vocab].to_vec())
        .collect()
}

fn argmax(row: &[f32]) -> i64 {
    let best = row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1));
    best.map_or(0, |(i, _)| i as i64)
}

/// Greedy decoding of `steps` tokens after a 5-token prompt (batch 2)
/// with the KV-cache decoder at `decoder_precision`, each step's tokens
/// chosen from a forward pass at `full_precision` over the whole sequence
/// so far. Returns both last-position logits `[2, vocab]` at every step.
fn decode_and_recompute(
    source: &ModelSource,
    [decoder_precision, full_precision]: [Precision; 2],
    steps: usize,
) -> Vec<(Vec<f32>, Vec<f32>)> {
    let ModelSource::Llama { config, .. } = source else {
        panic!("a Llama source")
    };
    let vocab = config.vocab_size;
    let mut full = load(source, full_precision);
    let mut cached = load(source, decoder_precision);
    let mut decoder = cached.decoder().unwrap();
    let mut seqs = prompt(5, vocab);
    let mut logits = decoder.prefill(&seqs).unwrap();
    let mut out = Vec::new();
    loop {
        assert_eq!(logits.shape, [2, vocab]);
        let want = last_rows(&forward(full.as_mut(), &seqs), 2, vocab);
        let next: Vec<i64> = want.chunks(vocab).map(argmax).collect();
        out.push((logits.data, want));
        if out.len() > steps {
            return out;
        }
        let len = seqs.seq_len;
        seqs.ids = (0..2)
            .flat_map(|b| {
                seqs.ids[b * len..(b + 1) * len]
                    .iter()
                    .copied()
                    .chain([next[b]])
            })
            .collect();
        seqs.seq_len += 1;
        logits = decoder.step(&next).unwrap();
    }
}

#[test]
fn tiny_decoder_matches_full_recomputation_at_every_step() {
    for config in tiny_variants() {
        let model = TinyModel::new(config.clone(), 11);
        let steps = decode_and_recompute(&model.source(), [Precision::F32; 2], 8);
        for (step, (cached, full)) in steps.iter().enumerate() {
            let err = rel_l2(cached, &widen(full));
            let what = format!(
                "{:?} tied={} step {step}",
                config.arch, config.tie_word_embeddings
            );
            assert!(err < 1e-5, "{what}: rel L2 {err}");
            let argmaxes = |l: &[f32]| l.chunks(config.vocab_size).map(argmax).collect::<Vec<_>>();
            assert_eq!(argmaxes(cached), argmaxes(full), "{what}");
        }
    }
}

#[test]
fn tiny_f16_and_int8_stay_within_their_tolerance() {
    // The bounds of the synthetic GPT's: f16 weights and cache with f32
    // arithmetic 5e-3 (~9e-4 measured), int8 weights and activations in
    // every linear layer 5e-2 (~3e-2 measured), for the forward pass
    // against the reference and the decoder against f32 recomputation.
    let model = TinyModel::new(tiny(LlamaArch::Qwen2, true), 13);
    let batch = prompt(9, model.config.vocab_size);
    let want = reference_logits(&model, &batch);
    for (precision, bound) in [(Precision::F16, 5e-3), (Precision::Int8, 5e-2)] {
        let got = forward(load(&model.source(), precision).as_mut(), &batch);
        let err = rel_l2(&got, &want);
        assert!(err < bound && err > 1e-6, "{precision}: rel L2 {err}");
        let steps = decode_and_recompute(&model.source(), [precision, Precision::F32], 4);
        for (step, (cached, full)) in steps.iter().enumerate() {
            let err = rel_l2(cached, &widen(full));
            assert!(err < bound, "{precision} decoder step {step}: rel L2 {err}");
        }
    }
}

#[test]
fn the_export_is_cached_by_the_weights_content() {
    let model = TinyModel::new(tiny(LlamaArch::Llama, true), 17);
    // The exported graphs only: each has a `.sha256` of its content beside it.
    let graphs = |dir: &Path| -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
            .collect();
        files.sort();
        files
    };
    load(&model.source(), Precision::F32);
    let first = graphs(&model.cache_dir());
    assert_eq!(first.len(), 1, "{first:?}");
    load(&model.source(), Precision::F32);
    assert_eq!(graphs(&model.cache_dir()), first, "reused");
    // New numbers in the same file: a new graph, not the stale one.
    write_safetensors(
        &model.dir.path().join("model.safetensors"),
        &random_weights(&model.config, 18),
    );
    load(&model.source(), Precision::F32);
    assert_eq!(graphs(&model.cache_dir()).len(), 2);
}

#[test]
fn a_missing_weight_is_named_and_positions_past_the_end_are_an_error() {
    let mut model = TinyModel::new(tiny(LlamaArch::Llama, false), 19);
    model.weights.remove("model.layers.1.mlp.up_proj.weight");
    write_safetensors(&model.dir.path().join("model.safetensors"), &model.weights);
    let options = LoadOptions {
        device: Device::Cpu,
        precision: Precision::F32,
        threads: 1,
        options: BTreeMap::new(),
    };
    let e = OrtBackend
        .load(&model.source(), &options)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("`model.layers.1.mlp.up_proj.weight` is missing"),
        "{e}"
    );
    assert!(e.contains("model.safetensors"), "{e}");

    let model = TinyModel::new(tiny(LlamaArch::Llama, false), 19);
    let mut session = load(&model.source(), Precision::F32);
    let mut decoder = session.decoder().unwrap();
    let max = model.config.max_position_embeddings;
    decoder
        .prefill(&prompt(max - 1, model.config.vocab_size))
        .unwrap();
    decoder.step(&[1, 2]).unwrap();
    let e = decoder.step(&[1, 2]).err().unwrap().to_string();
    assert!(
        e.contains(&format!("{} positions exceed the model's {max}", max + 1)),
        "{e}"
    );
}

#[test]
fn weight_bytes_count_the_written_initializers() {
    for config in tiny_variants() {
        let weights = random_weights(&config, 23);
        for format in [WeightFormat::F32, WeightFormat::F16, WeightFormat::Int8] {
            let export = Export {
                format,
                kv_cache: false,
            };
            let graph = llama_graph(&config, &weights, export)
                .unwrap()
                .graph
                .unwrap();
            let written: u64 = graph
                .initializer
                .iter()
                .filter(|t| !t.name.starts_with("const_") && !t.name.starts_with("rotary_"))
                .map(|t| t.raw_data.len() as u64)
                .sum();
            let what = format!(
                "{:?} tied={} {format:?}",
                config.arch, config.tie_word_embeddings
            );
            assert_eq!(llama_weight_bytes(&config, format), written, "{what}");
        }
    }
}

#[test]
fn a_misshapen_weight_is_named() {
    let config = tiny(LlamaArch::Llama, false);
    let mut weights = random_weights(&config, 29);
    weights.insert("lm_head.weight".into(), (vec![32, 61], vec![0.0; 32 * 61]));
    let e = llama_graph(&config, &weights, Export::F32).unwrap_err();
    assert!(
        e.contains("`lm_head.weight` has shape [32, 61], expected [61, 32]"),
        "{e}"
    );
}
