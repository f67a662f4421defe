//! ONNX Runtime on Llama-family models exported by inferbench's writer:
//! tiny random-weight configs (grouped-query attention, tied and untied
//! embeddings, Qwen2's q/k/v biases) against an f64 reference, the
//! KV-cache decoder against full recomputation, f16 and int8 within their
//! tolerances, and the export cache. Needs the ONNX Runtime library from
//! `ci/setup.sh`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use inferbench_backend::{
    Backend, Device, LlamaArch, LlamaConfig, LoadOptions, ModelSource, Precision, Session,
    TokenBatch,
};
use inferbench_ort::OrtBackend;
use inferbench_ort::onnx::{Export, WeightFormat, llama_graph, llama_weight_bytes};

type Weights = HashMap<String, (Vec<usize>, Vec<f32>)>;

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
    let raw: Vec<(&String, Vec<u8>, &Vec<usize>)> = weights
        .iter()
        .map(|(name, (shape, data))| {
            (
                name,
                data.iter().flat_map(|x| x.to_le_bytes()).collect(),
                shape,
            )
        })
        .collect();
    let views = raw.iter().map(|(name, bytes, shape)| {
        let view =
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.to_vec(), bytes);
        (name.as_str(), view.unwrap())
    });
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
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

fn rel_l2(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let diff: f64 = got
        .iter()
        .zip(want)
        .map(|(&g, &w)| (g as f64 - w).powi(2))
        .sum();
    let norm: f64 = want.iter().map(|w| w * w).sum();
    (diff / norm).sqrt()
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

/// f64 logits `[batch, seq, vocab]` of the reference.
fn reference_logits(model: &TinyModel, batch: &TokenBatch) -> Vec<f64> {
    (0..batch.batch)
        .flat_map(|b| interim_reference::logits(&model.config, &model.weights, batch.row(b)))
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

fn widen(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
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
    let graphs = |dir: &Path| -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
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

/// A temporary f64 Llama forward pass (one sequence, no cache), until the
/// shared one in `inferbench-reference` lands.
mod interim_reference {
    use super::*;

    fn w<'a>(weights: &'a Weights, name: &str) -> &'a [f32] {
        &weights[name].1
    }

    /// `x W^T (+ b)` for `W [out, in]`.
    fn linear(x: &[f64], weight: &[f32], bias: Option<&[f32]>) -> Vec<f64> {
        let inp = x.len();
        (0..weight.len() / inp)
            .map(|o| {
                let dot: f64 = (0..inp).map(|i| x[i] * weight[o * inp + i] as f64).sum();
                dot + bias.map_or(0.0, |b| b[o] as f64)
            })
            .collect()
    }

    fn rms(x: &[f64], gain: &[f32], eps: f64) -> Vec<f64> {
        let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
        let r = (ms + eps).sqrt();
        x.iter().zip(gain).map(|(v, &g)| v / r * g as f64).collect()
    }

    fn rope(x: &mut [f64], pos: usize, inv_freq: &[f64]) {
        let half = inv_freq.len();
        for head in x.chunks_mut(2 * half) {
            for (i, f) in inv_freq.iter().enumerate() {
                let (c, s) = ((pos as f64 * f).cos(), (pos as f64 * f).sin());
                let (a, b) = (head[i], head[i + half]);
                head[i] = a * c - b * s;
                head[i + half] = b * c + a * s;
            }
        }
    }

    pub fn logits(c: &LlamaConfig, weights: &Weights, ids: &[i64]) -> Vec<f64> {
        let (h, d) = (c.hidden_size, c.head_dim);
        let emb = w(weights, "model.embed_tokens.weight");
        let mut xs: Vec<Vec<f64>> = ids
            .iter()
            .map(|&t| {
                emb[t as usize * h..(t as usize + 1) * h]
                    .iter()
                    .map(|&v| v as f64)
                    .collect()
            })
            .collect();
        let inv_freq = c.rope_inv_freq();
        for l in 0..c.num_hidden_layers {
            let p = |s: &str| format!("model.layers.{l}.{s}");
            let bias = |s: &str| c.attention_bias().then(|| w(weights, &p(s)));
            let (mut qs, mut ks, mut vs) = (vec![], vec![], vec![]);
            for (pos, x) in xs.iter().enumerate() {
                let n = rms(x, w(weights, &p("input_layernorm.weight")), c.rms_norm_eps);
                let mut q = linear(
                    &n,
                    w(weights, &p("self_attn.q_proj.weight")),
                    bias("self_attn.q_proj.bias"),
                );
                let mut k = linear(
                    &n,
                    w(weights, &p("self_attn.k_proj.weight")),
                    bias("self_attn.k_proj.bias"),
                );
                rope(&mut q, pos, &inv_freq);
                rope(&mut k, pos, &inv_freq);
                qs.push(q);
                ks.push(k);
                vs.push(linear(
                    &n,
                    w(weights, &p("self_attn.v_proj.weight")),
                    bias("self_attn.v_proj.bias"),
                ));
            }
            for (t, x) in xs.iter_mut().enumerate() {
                let mut y = vec![0.0; c.num_attention_heads * d];
                for head in 0..c.num_attention_heads {
                    let kvh = head / c.kv_group();
                    let q = &qs[t][head * d..(head + 1) * d];
                    let scores: Vec<f64> = (0..=t)
                        .map(|j| {
                            (0..d).map(|i| q[i] * ks[j][kvh * d + i]).sum::<f64>()
                                / (d as f64).sqrt()
                        })
                        .collect();
                    let max = scores.iter().cloned().fold(f64::MIN, f64::max);
                    let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                    let z: f64 = e.iter().sum();
                    for (j, ej) in e.iter().enumerate() {
                        for i in 0..d {
                            y[head * d + i] += ej / z * vs[j][kvh * d + i];
                        }
                    }
                }
                let o = linear(&y, w(weights, &p("self_attn.o_proj.weight")), None);
                x.iter_mut().zip(o).for_each(|(a, b)| *a += b);
                let n = rms(
                    x,
                    w(weights, &p("post_attention_layernorm.weight")),
                    c.rms_norm_eps,
                );
                let g = linear(&n, w(weights, &p("mlp.gate_proj.weight")), None);
                let u = linear(&n, w(weights, &p("mlp.up_proj.weight")), None);
                let a: Vec<f64> = g
                    .iter()
                    .zip(&u)
                    .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
                    .collect();
                let m = linear(&a, w(weights, &p("mlp.down_proj.weight")), None);
                x.iter_mut().zip(m).for_each(|(a, b)| *a += b);
            }
        }
        let head = match c.tie_word_embeddings {
            true => emb,
            false => w(weights, "lm_head.weight"),
        };
        xs.iter()
            .flat_map(|x| {
                linear(
                    &rms(x, w(weights, "model.norm.weight"), c.rms_norm_eps),
                    head,
                    None,
                )
            })
            .collect()
    }
}
