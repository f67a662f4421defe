//! The f64 reference of the Llama family (see `inferbench_backend::llama`
//! for the architecture, names and layout): plain loops in f64 over the f32
//! weights (each weight widened exactly), so it is the yardstick the
//! backends' trained-model accuracy is measured against.
//!
//! It follows `transformers`' `LlamaForCausalLM` (`modeling_llama.py`):
//! RMSNorm `x / sqrt(mean(x²) + eps) * w`, rotary embeddings in the
//! "rotate half" layout, causal grouped-query attention scaled by
//! `1/sqrt(head_dim)`, SwiGLU MLP `down(silu(gate(x)) * up(x))`.
//!
//! [`LlamaReference::extend`] runs new tokens against a [`LlamaKvCache`] of
//! the earlier ones, so generation checks don't recompute the prefix; a full
//! forward pass is `extend` on an empty cache, the same code.

use std::path::Path;

use inferbench_backend::LlamaConfig;

use crate::ReferenceError;
use inferbench_models::SafetensorsFile;

struct LayerWeights {
    input_norm: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    q_bias: Option<Vec<f32>>,
    k_bias: Option<Vec<f32>>,
    v_bias: Option<Vec<f32>>,
    o: Vec<f32>,
    post_norm: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    down: Vec<f32>,
}

/// A loaded model, ready to run in f64.
pub struct LlamaReference {
    config: LlamaConfig,
    embed: Vec<f32>,
    layers: Vec<LayerWeights>,
    norm: Vec<f32>,
    /// `None` when tied to `embed`.
    lm_head: Option<Vec<f32>>,
    inv_freq: Vec<f64>,
}

/// Keys (after rotary) and values of every position run so far, per layer,
/// `[position, num_key_value_heads * head_dim]`.
#[derive(Clone)]
pub struct LlamaKvCache {
    keys: Vec<Vec<f64>>,
    values: Vec<Vec<f64>>,
    len: usize,
}

impl LlamaKvCache {
    /// Positions cached so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl LlamaReference {
    /// Reads the f32 safetensors file with HF names; every tensor the config
    /// names must be there with its shape.
    pub fn load(config: &LlamaConfig, weights: &Path) -> Result<Self, ReferenceError> {
        config
            .validate()
            .map_err(|m| ReferenceError::Invalid(format!("config: {m}")))?;
        let mut file = SafetensorsFile::open(weights)?;
        let mut take = |name: String| -> Result<Vec<f32>, ReferenceError> {
            let shape = config
                .weight_shapes()
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| s)
                .ok_or_else(|| {
                    ReferenceError::Invalid(format!("no weight `{name}` in the config"))
                })?;
            Ok(file.read_f32(&name, &shape)?)
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = |s: &str| format!("model.layers.{l}.{s}");
            let bias = config.attention_bias();
            let mut optional = |s: &str| bias.then(|| take(p(s))).transpose();
            layers.push(LayerWeights {
                q_bias: optional("self_attn.q_proj.bias")?,
                k_bias: optional("self_attn.k_proj.bias")?,
                v_bias: optional("self_attn.v_proj.bias")?,
                input_norm: take(p("input_layernorm.weight"))?,
                q: take(p("self_attn.q_proj.weight"))?,
                k: take(p("self_attn.k_proj.weight"))?,
                v: take(p("self_attn.v_proj.weight"))?,
                o: take(p("self_attn.o_proj.weight"))?,
                post_norm: take(p("post_attention_layernorm.weight"))?,
                gate: take(p("mlp.gate_proj.weight"))?,
                up: take(p("mlp.up_proj.weight"))?,
                down: take(p("mlp.down_proj.weight"))?,
            });
        }
        Ok(LlamaReference {
            embed: take("model.embed_tokens.weight".into())?,
            norm: take("model.norm.weight".into())?,
            lm_head: if config.tie_word_embeddings {
                None
            } else {
                Some(take("lm_head.weight".into())?)
            },
            layers,
            inv_freq: config.rope_inv_freq(),
            config: config.clone(),
        })
    }

    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    pub fn new_cache(&self) -> LlamaKvCache {
        let n = self.config.num_hidden_layers;
        LlamaKvCache {
            keys: vec![Vec::new(); n],
            values: vec![Vec::new(); n],
            len: 0,
        }
    }

    /// Logits `[ids.len(), vocab_size]` of one sequence, row-major.
    pub fn forward(&self, ids: &[u32]) -> Result<Vec<f64>, ReferenceError> {
        self.extend(&mut self.new_cache(), ids)
    }

    /// Runs `ids` at the positions after those in `cache`, appends their keys
    /// and values, and returns their logits `[ids.len(), vocab_size]`.
    pub fn extend(
        &self,
        cache: &mut LlamaKvCache,
        ids: &[u32],
    ) -> Result<Vec<f64>, ReferenceError> {
        let c = &self.config;
        let end = cache.len + ids.len();
        if end > c.max_position_embeddings {
            return Err(ReferenceError::Invalid(format!(
                "{end} positions exceed max_position_embeddings ({})",
                c.max_position_embeddings
            )));
        }
        let h = c.hidden_size;
        let mut x = Vec::with_capacity(ids.len() * h);
        for &id in ids {
            let id = id as usize;
            if id >= c.vocab_size {
                return Err(ReferenceError::Invalid(format!(
                    "token id {id} out of range for vocab_size {}",
                    c.vocab_size
                )));
            }
            x.extend(self.embed[id * h..(id + 1) * h].iter().map(|&v| v as f64));
        }
        for (l, layer) in self.layers.iter().enumerate() {
            self.attention_block(layer, &mut x, cache, l);
            self.mlp_block(layer, &mut x);
        }
        cache.len = end;
        let n = rms_norm(&x, h, &self.norm, c.rms_norm_eps);
        let head = self.lm_head.as_deref().unwrap_or(&self.embed);
        Ok(linear(&n, ids.len(), head, None, h, c.vocab_size))
    }

    /// `x += o_proj(attention(rope(q), rope(k), v))` of `n = rms(x)`.
    fn attention_block(&self, w: &LayerWeights, x: &mut [f64], cache: &mut LlamaKvCache, l: usize) {
        let c = &self.config;
        let (h, hd) = (c.hidden_size, c.head_dim);
        let (qw, kvw) = (c.num_attention_heads * hd, c.num_key_value_heads * hd);
        let rows = x.len() / h;
        let n = rms_norm(x, h, &w.input_norm, c.rms_norm_eps);
        let mut q = linear(&n, rows, &w.q, w.q_bias.as_deref(), h, qw);
        let mut k = linear(&n, rows, &w.k, w.k_bias.as_deref(), h, kvw);
        let v = linear(&n, rows, &w.v, w.v_bias.as_deref(), h, kvw);
        for r in 0..rows {
            let pos = cache.len + r;
            for head in q[r * qw..(r + 1) * qw].chunks_exact_mut(hd) {
                rotate_half(head, pos, &self.inv_freq);
            }
            for head in k[r * kvw..(r + 1) * kvw].chunks_exact_mut(hd) {
                rotate_half(head, pos, &self.inv_freq);
            }
        }
        cache.keys[l].extend_from_slice(&k);
        cache.values[l].extend_from_slice(&v);
        let attended = self.attend(&q, &cache.keys[l], &cache.values[l], cache.len);
        let out = linear(&attended, rows, &w.o, None, qw, h);
        x.iter_mut().zip(&out).for_each(|(a, b)| *a += b);
    }

    /// Causal grouped-query attention of the new rows (absolute positions
    /// from `first`) over all cached keys and values.
    fn attend(&self, q: &[f64], keys: &[f64], values: &[f64], first: usize) -> Vec<f64> {
        let c = &self.config;
        let hd = c.head_dim;
        let (qw, kvw) = (c.num_attention_heads * hd, c.num_key_value_heads * hd);
        let rows = q.len() / qw;
        let scale = 1.0 / (hd as f64).sqrt();
        let mut out = vec![0.0; rows * qw];
        let mut scores = Vec::new();
        for r in 0..rows {
            let visible = first + r + 1;
            for head in 0..c.num_attention_heads {
                let kv = head / c.kv_group() * hd;
                let qh = &q[r * qw + head * hd..][..hd];
                scores.clear();
                scores.extend((0..visible).map(|j| dot64(qh, &keys[j * kvw + kv..][..hd]) * scale));
                softmax_in_place(&mut scores);
                let oh = &mut out[r * qw + head * hd..][..hd];
                for (j, s) in scores.iter().enumerate() {
                    let vj = &values[j * kvw + kv..][..hd];
                    oh.iter_mut().zip(vj).for_each(|(o, v)| *o += s * v);
                }
            }
        }
        out
    }

    /// `x += down(silu(gate(n)) * up(n))` of `n = rms(x)`.
    fn mlp_block(&self, w: &LayerWeights, x: &mut [f64]) {
        let c = &self.config;
        let (h, f) = (c.hidden_size, c.intermediate_size);
        let rows = x.len() / h;
        let n = rms_norm(x, h, &w.post_norm, c.rms_norm_eps);
        let gate = linear(&n, rows, &w.gate, None, h, f);
        let up = linear(&n, rows, &w.up, None, h, f);
        let act: Vec<f64> = gate.iter().zip(&up).map(|(g, u)| silu(*g) * u).collect();
        let out = linear(&act, rows, &w.down, None, f, h);
        x.iter_mut().zip(&out).for_each(|(a, b)| *a += b);
    }

    /// Greedy continuation of `prompt` by `n` tokens, with the KV cache.
    /// Ties go to the lowest token id.
    pub fn greedy(&self, prompt: &[u32], n: usize) -> Result<Vec<u32>, ReferenceError> {
        let mut cache = self.new_cache();
        let vocab = self.config.vocab_size;
        let mut logits = self.extend(&mut cache, prompt)?;
        let mut out = Vec::with_capacity(n);
        for step in 0..n {
            let last = &logits[logits.len() - vocab..];
            let next = argmax(last) as u32;
            out.push(next);
            if step + 1 < n {
                logits = self.extend(&mut cache, &[next])?;
            }
        }
        Ok(out)
    }
}

/// Index of the largest value; the first one on ties.
pub fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// HF's `apply_rotary_pos_emb` on one head: pairs `(x[i], x[i + d/2])`
/// rotated by `pos * inv_freq[i]`.
fn rotate_half(head: &mut [f64], pos: usize, inv_freq: &[f64]) {
    let half = head.len() / 2;
    for (i, f) in inv_freq.iter().enumerate() {
        let (sin, cos) = (pos as f64 * f).sin_cos();
        let (a, b) = (head[i], head[i + half]);
        head[i] = a * cos - b * sin;
        head[i + half] = b * cos + a * sin;
    }
}

fn rms_norm(x: &[f64], width: usize, gain: &[f32], eps: f64) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for (row, out) in x.chunks_exact(width).zip(y.chunks_exact_mut(width)) {
        let mean_square = row.iter().map(|v| v * v).sum::<f64>() / width as f64;
        let inv = 1.0 / (mean_square + eps).sqrt();
        for ((o, v), g) in out.iter_mut().zip(row).zip(gain) {
            *o = v * inv * *g as f64;
        }
    }
    y
}

fn silu(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

fn softmax_in_place(scores: &mut [f64]) {
    let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        total += *s;
    }
    scores.iter_mut().for_each(|s| *s /= total);
}

fn dot64(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `x · w` with `w` widened to f64; four partial sums so the loop
/// vectorizes (the order of an f64 sum of 576 terms moves the result by
/// ~1e-16 relative, far below what is measured).
fn dot_widened(x: &[f64], w: &[f32]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (xc, wc) = (x.chunks_exact(4), w.chunks_exact(4));
    let tail: f64 = xc
        .remainder()
        .iter()
        .zip(wc.remainder())
        .map(|(a, b)| a * *b as f64)
        .sum();
    for (a, b) in xc.zip(wc) {
        for i in 0..4 {
            acc[i] += a[i] * b[i] as f64;
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// `y = x W^T + b`, `W` stored `[out, in]`, `x` `[rows, in]`; output columns
/// split across threads. The one linear layer of every reference model here.
pub(crate) fn linear(
    x: &[f64],
    rows: usize,
    w: &[f32],
    b: Option<&[f32]>,
    inp: usize,
    out: usize,
) -> Vec<f64> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(out.div_ceil(64));
    let per = out.div_ceil(threads.max(1));
    let blocks: Vec<(usize, Vec<f64>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..out)
            .step_by(per)
            .map(|start| {
                let end = (start + per).min(out);
                s.spawn(move || {
                    let mut block = vec![0.0; rows * (end - start)];
                    for (o, col) in (start..end).enumerate() {
                        let wr = &w[col * inp..][..inp];
                        let bias = b.map_or(0.0, |b| b[col] as f64);
                        for r in 0..rows {
                            block[r * (end - start) + o] =
                                dot_widened(&x[r * inp..][..inp], wr) + bias;
                        }
                    }
                    (start, block)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("reference thread panicked"))
            .collect()
    });
    let mut y = vec![0.0; rows * out];
    for (start, block) in blocks {
        let width = block.len() / rows.max(1);
        for r in 0..rows {
            y[r * out + start..][..width].copy_from_slice(&block[r * width..][..width]);
        }
    }
    y
}
