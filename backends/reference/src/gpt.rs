//! The f64 reference forward pass of the synthetic GPT: plain loops, no
//! backend library, so it is the yardstick every backend's accuracy is
//! measured against. Follows the architecture in `inferbench_backend::gpt`.

use inferbench_backend::{GptSpec, TokenBatch};

use crate::llama::linear;
use crate::synthetic_weights::GptWeights;

/// Logits `[batch, seq_len, vocab_size]` in f64, row-major.
pub struct ReferenceLogits {
    pub vocab_size: usize,
    pub data: Vec<f64>,
}

fn layer_norm(x: &[f64], width: usize, gain: &[f32], bias: &[f32]) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for (row, out) in x.chunks_exact(width).zip(y.chunks_exact_mut(width)) {
        let mean = row.iter().sum::<f64>() / width as f64;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / width as f64;
        let inv = 1.0 / (var + GptSpec::LN_EPS).sqrt();
        for i in 0..width {
            out[i] = (row[i] - mean) * inv * gain[i] as f64 + bias[i] as f64;
        }
    }
    y
}

/// Exact GELU, `x/2 * (1 + erf(x/√2))` (Hendrycks & Gimpel 2016).
fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
}

/// Causal multi-head attention of one sequence; `qkv` is `[t, 3h]` laid out
/// as GPT-2's fused projection: all queries, then keys, then values.
fn attention(qkv: &[f64], t: usize, spec: &GptSpec) -> Vec<f64> {
    let (h, nh, d) = (spec.hidden, spec.heads, spec.head_dim());
    let scale = 1.0 / (d as f64).sqrt();
    let mut out = vec![0.0; t * h];
    let mut scores = vec![0.0; t];
    for head in 0..nh {
        let q = |i: usize, k: usize| qkv[i * 3 * h + head * d + k];
        let key = |j: usize, k: usize| qkv[j * 3 * h + h + head * d + k];
        let val = |j: usize, k: usize| qkv[j * 3 * h + 2 * h + head * d + k];
        for i in 0..t {
            for (j, s) in scores.iter_mut().enumerate().take(i + 1) {
                *s = (0..d).map(|k| q(i, k) * key(j, k)).sum::<f64>() * scale;
            }
            let max = scores[..=i]
                .iter()
                .cloned()
                .fold(f64::NEG_INFINITY, f64::max);
            let mut total = 0.0;
            for s in &mut scores[..=i] {
                *s = (*s - max).exp();
                total += *s;
            }
            for k in 0..d {
                let v: f64 = (0..=i).map(|j| scores[j] * val(j, k)).sum();
                out[i * h + head * d + k] = v / total;
            }
        }
    }
    out
}

pub fn forward(spec: &GptSpec, w: &GptWeights, input: &TokenBatch) -> ReferenceLogits {
    let (h, v, f) = (spec.hidden, spec.vocab_size, spec.mlp_hidden());
    let t = input.seq_len;
    let mut data = Vec::with_capacity(input.batch * t * v);
    for b in 0..input.batch {
        let (wte, wpe) = (w.get("wte"), w.get("wpe"));
        let mut x = vec![0.0; t * h];
        for (pos, &tok) in input.row(b).iter().enumerate() {
            for i in 0..h {
                x[pos * h + i] = wte[tok as usize * h + i] as f64 + wpe[pos * h + i] as f64;
            }
        }
        for l in 0..spec.layers {
            let p = |s: &str| w.get(&format!("h.{l}.{s}"));
            let a = layer_norm(&x, h, p("ln_1.weight"), p("ln_1.bias"));
            let qkv = linear(
                &a,
                t,
                p("attn.c_attn.weight"),
                Some(p("attn.c_attn.bias")),
                h,
                3 * h,
            );
            let att = attention(&qkv, t, spec);
            let proj = linear(
                &att,
                t,
                p("attn.c_proj.weight"),
                Some(p("attn.c_proj.bias")),
                h,
                h,
            );
            x.iter_mut().zip(&proj).for_each(|(x, p)| *x += p);
            let m = layer_norm(&x, h, p("ln_2.weight"), p("ln_2.bias"));
            let mut up = linear(&m, t, p("mlp.c_fc.weight"), Some(p("mlp.c_fc.bias")), h, f);
            up.iter_mut().for_each(|u| *u = gelu(*u));
            let down = linear(
                &up,
                t,
                p("mlp.c_proj.weight"),
                Some(p("mlp.c_proj.bias")),
                f,
                h,
            );
            x.iter_mut().zip(&down).for_each(|(x, d)| *x += d);
        }
        let out = layer_norm(&x, h, w.get("ln_f.weight"), w.get("ln_f.bias"));
        data.extend(linear(&out, t, w.get("lm_head.weight"), None, h, v));
    }
    ReferenceLogits {
        vocab_size: v,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::token_batch;

    fn tiny() -> GptSpec {
        GptSpec {
            vocab_size: 11,
            hidden: 8,
            layers: 2,
            heads: 2,
            max_seq: 6,
            seed: 9,
        }
    }

    #[test]
    fn gelu_matches_known_values() {
        assert_eq!(gelu(0.0), 0.0);
        // GELU(1) = Φ(1) = 0.841344746...
        assert!((gelu(1.0) - 0.841_344_746_068_543).abs() < 1e-12);
        assert!((gelu(-1.0) + 0.158_655_253_931_457).abs() < 1e-12);
    }

    #[test]
    fn layer_norm_by_hand() {
        // [1, 3]: mean 2, var 1, normalized [-1, 1] (eps shifts it by 5e-6).
        let y = layer_norm(&[1.0, 3.0], 2, &[2.0, 1.0], &[0.5, 0.0]);
        assert!(
            (y[0] - (-1.5)).abs() < 1e-5 && (y[1] - 1.0).abs() < 1e-5,
            "{y:?}"
        );
    }

    #[test]
    fn attention_is_causal() {
        // Changing the last token must not change earlier positions' logits.
        let spec = tiny();
        let w = GptWeights::generate(&spec);
        let a = token_batch(spec.vocab_size, 1, 5, 1);
        let mut b = a.clone();
        b.ids[4] = (b.ids[4] + 1) % spec.vocab_size as i64;
        let (la, lb) = (forward(&spec, &w, &a), forward(&spec, &w, &b));
        let v = spec.vocab_size;
        assert_eq!(la.data[..4 * v], lb.data[..4 * v]);
        assert_ne!(la.data[4 * v..], lb.data[4 * v..]);
    }

    #[test]
    fn batch_rows_are_independent() {
        let spec = tiny();
        let w = GptWeights::generate(&spec);
        let two = token_batch(spec.vocab_size, 2, 4, 3);
        let second = TokenBatch {
            batch: 1,
            seq_len: 4,
            ids: two.row(1).to_vec(),
        };
        let (l2, l1) = (forward(&spec, &w, &two), forward(&spec, &w, &second));
        assert_eq!(l2.data[4 * spec.vocab_size..], l1.data[..]);
    }
}
