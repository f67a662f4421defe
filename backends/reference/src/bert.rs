//! The f64 reference of the BERT family (see `inferbench_backend::bert` for
//! the architecture, names and layout): plain loops in f64 over the f32
//! weights (each weight widened exactly), the yardstick the backends'
//! encoder accuracy is measured against.
//!
//! It follows `transformers`' `BertModel` (`modeling_bert.py`): embeddings
//! summed then LayerNorm, post-LayerNorm layers, attention scaled by
//! `1/sqrt(head_dim)`, exact erf GELU. It runs each sentence alone on its
//! real tokens, so it needs no mask: a backend whose mask works gives the
//! same states for a sentence in a padded batch. Pooling follows
//! sentence-transformers' `Pooling` and `Normalize` modules.

use std::path::Path;

use inferbench_backend::{BertConfig, PoolingMode, SentencePooling};
use safetensors::{Dtype, SafeTensors};

use crate::ReferenceError;

struct Linear {
    /// `[out, in]`, row-major as in `torch.nn.Linear`.
    weight: Vec<f32>,
    bias: Vec<f32>,
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_output: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
}

/// A loaded encoder, ready to run in f64.
pub struct BertReference {
    config: BertConfig,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
}

/// Reads the named f32 tensors of a safetensors file, checking each shape.
struct WeightReader<'a> {
    file: SafeTensors<'a>,
    path: &'a Path,
    shapes: Vec<(String, Vec<usize>)>,
}

impl WeightReader<'_> {
    fn take(&self, name: &str) -> Result<Vec<f32>, ReferenceError> {
        let invalid = |m: String| ReferenceError::Invalid(format!("{}: {m}", self.path.display()));
        let tensor = self
            .file
            .tensor(name)
            .map_err(|_| invalid(format!("tensor `{name}` is missing")))?;
        let expected = self
            .shapes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.as_slice());
        if Some(tensor.shape()) != expected {
            return Err(invalid(format!(
                "tensor `{name}` has shape {:?}, the config needs {:?}",
                tensor.shape(),
                expected.unwrap_or_default()
            )));
        }
        if tensor.dtype() != Dtype::F32 {
            return Err(invalid(format!(
                "tensor `{name}` is {:?}, not f32",
                tensor.dtype()
            )));
        }
        Ok(tensor
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    fn linear(&self, prefix: &str) -> Result<Linear, ReferenceError> {
        Ok(Linear {
            weight: self.take(&format!("{prefix}.weight"))?,
            bias: self.take(&format!("{prefix}.bias"))?,
        })
    }

    fn norm(&self, prefix: &str) -> Result<Norm, ReferenceError> {
        Ok(Norm {
            weight: self.take(&format!("{prefix}.weight"))?,
            bias: self.take(&format!("{prefix}.bias"))?,
        })
    }

    fn layer(&self, l: usize) -> Result<Layer, ReferenceError> {
        let p = |s: &str| format!("encoder.layer.{l}.{s}");
        Ok(Layer {
            query: self.linear(&p("attention.self.query"))?,
            key: self.linear(&p("attention.self.key"))?,
            value: self.linear(&p("attention.self.value"))?,
            attention_output: self.linear(&p("attention.output.dense"))?,
            attention_norm: self.norm(&p("attention.output.LayerNorm"))?,
            intermediate: self.linear(&p("intermediate.dense"))?,
            output: self.linear(&p("output.dense"))?,
            output_norm: self.norm(&p("output.LayerNorm"))?,
        })
    }
}

impl BertReference {
    /// Reads the f32 safetensors file with `BertModel` names; every tensor
    /// the config names must be there with its shape.
    pub fn load(config: &BertConfig, weights: &Path) -> Result<Self, ReferenceError> {
        config
            .validate()
            .map_err(|m| ReferenceError::Invalid(format!("config: {m}")))?;
        let bytes = std::fs::read(weights).map_err(|e| {
            ReferenceError::Invalid(format!("cannot read {}: {e}", weights.display()))
        })?;
        let file = SafeTensors::deserialize(&bytes).map_err(|e| {
            ReferenceError::Invalid(format!("{} is not safetensors: {e}", weights.display()))
        })?;
        let reader = WeightReader {
            file,
            path: weights,
            shapes: config.weight_shapes(),
        };
        let layers = (0..config.num_hidden_layers)
            .map(|l| reader.layer(l))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            config: config.clone(),
            word: reader.take("embeddings.word_embeddings.weight")?,
            position: reader.take("embeddings.position_embeddings.weight")?,
            token_type: reader.take("embeddings.token_type_embeddings.weight")?,
            embedding_norm: reader.norm("embeddings.LayerNorm")?,
            layers,
        })
    }

    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The last hidden state of one sentence's real tokens (no padding),
    /// `[len, hidden]` row-major.
    pub fn last_hidden_state(&self, ids: &[i64]) -> Result<Vec<f64>, ReferenceError> {
        let mut x = self.embed(ids)?;
        for layer in &self.layers {
            x = self.layer(layer, &x, ids.len());
        }
        Ok(x)
    }

    /// One sentence's embedding: its last hidden state pooled as configured.
    pub fn embed_sentence(
        &self,
        ids: &[i64],
        pooling: SentencePooling,
    ) -> Result<Vec<f64>, ReferenceError> {
        let states = self.last_hidden_state(ids)?;
        Ok(pool(&states, self.config.hidden_size, pooling))
    }

    fn embed(&self, ids: &[i64]) -> Result<Vec<f64>, ReferenceError> {
        let h = self.config.hidden_size;
        if ids.is_empty() || ids.len() > self.config.max_seq() {
            return Err(ReferenceError::Invalid(format!(
                "a sentence of {} tokens; the model takes 1 to {}",
                ids.len(),
                self.config.max_seq()
            )));
        }
        let mut x = Vec::with_capacity(ids.len() * h);
        for (t, &id) in ids.iter().enumerate() {
            let id = usize::try_from(id)
                .ok()
                .filter(|&i| i < self.config.vocab_size)
                .ok_or_else(|| {
                    ReferenceError::Invalid(format!("token id {id} is outside the vocabulary"))
                })?;
            let position = self.config.position_offset() + t;
            // Token type 0: a single segment, as sentence-transformers encodes.
            for i in 0..h {
                x.push(
                    self.word[id * h + i] as f64
                        + self.position[position * h + i] as f64
                        + self.token_type[i] as f64,
                );
            }
        }
        layer_norm(&mut x, &self.embedding_norm, self.config.layer_norm_eps);
        Ok(x)
    }

    fn layer(&self, layer: &Layer, x: &[f64], len: usize) -> Vec<f64> {
        let eps = self.config.layer_norm_eps;
        let attention = self.attention(layer, x, len);
        let mut x: Vec<f64> = x.iter().zip(&attention).map(|(a, b)| a + b).collect();
        layer_norm(&mut x, &layer.attention_norm, eps);
        let mut inner = linear(&x, &layer.intermediate);
        for v in &mut inner {
            *v = gelu(*v);
        }
        let out = linear(&inner, &layer.output);
        let mut x: Vec<f64> = x.iter().zip(&out).map(|(a, b)| a + b).collect();
        layer_norm(&mut x, &layer.output_norm, eps);
        x
    }

    /// Bidirectional multi-head self-attention over all `len` tokens, then
    /// the output projection.
    fn attention(&self, layer: &Layer, x: &[f64], len: usize) -> Vec<f64> {
        let h = self.config.hidden_size;
        let d = self.config.head_dim();
        let (q, k, v) = (
            linear(x, &layer.query),
            linear(x, &layer.key),
            linear(x, &layer.value),
        );
        let scale = 1.0 / (d as f64).sqrt();
        let mut context = vec![0.0; len * h];
        let mut scores = vec![0.0; len];
        for head in 0..self.config.num_attention_heads {
            let o = head * d;
            for i in 0..len {
                let qi = &q[i * h + o..i * h + o + d];
                for (j, s) in scores.iter_mut().enumerate() {
                    *s = dot(qi, &k[j * h + o..j * h + o + d]) * scale;
                }
                softmax(&mut scores);
                for (j, &p) in scores.iter().enumerate() {
                    for c in 0..d {
                        context[i * h + o + c] += p * v[j * h + o + c];
                    }
                }
            }
        }
        linear(&context, &layer.attention_output)
    }
}

/// sentence-transformers' pooling of one sentence's `[len, hidden]` states:
/// mean or max over the tokens, or the first token, then L2 normalization
/// (`torch.nn.functional.normalize`, which divides by `max(norm, 1e-12)`).
pub fn pool(states: &[f64], hidden: usize, pooling: SentencePooling) -> Vec<f64> {
    let rows = states.chunks_exact(hidden);
    let len = rows.len() as f64;
    let mut out = match pooling.mode {
        PoolingMode::Cls => states[..hidden].to_vec(),
        PoolingMode::Mean => rows.fold(vec![0.0; hidden], |mut acc, row| {
            acc.iter_mut().zip(row).for_each(|(a, v)| *a += v / len);
            acc
        }),
        PoolingMode::Max => rows.fold(vec![f64::NEG_INFINITY; hidden], |mut acc, row| {
            acc.iter_mut().zip(row).for_each(|(a, v)| *a = a.max(*v));
            acc
        }),
    };
    if pooling.normalize {
        let norm = dot(&out, &out).sqrt().max(1e-12);
        out.iter_mut().for_each(|v| *v /= norm);
    }
    out
}

/// `a·b / (|a| |b|)`; 0 when either is zero.
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let norms = dot(a, a).sqrt() * dot(b, b).sqrt();
    if norms == 0.0 { 0.0 } else { dot(a, b) / norms }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `x W^T + b` for every row of `x`.
fn linear(x: &[f64], linear: &Linear) -> Vec<f64> {
    let out_features = linear.bias.len();
    let in_features = linear.weight.len() / out_features;
    crate::llama::linear(
        x,
        x.len() / in_features,
        &linear.weight,
        Some(&linear.bias),
        in_features,
        out_features,
    )
}

/// `(x - mean) / sqrt(var + eps) * weight + bias` per row, biased variance
/// as `torch.nn.LayerNorm`.
fn layer_norm(x: &mut [f64], norm: &Norm, eps: f64) {
    let h = norm.weight.len();
    for row in x.chunks_exact_mut(h) {
        let mean = row.iter().sum::<f64>() / h as f64;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / h as f64;
        let inv = 1.0 / (var + eps).sqrt();
        for (i, v) in row.iter_mut().enumerate() {
            *v = (*v - mean) * inv * norm.weight[i] as f64 + norm.bias[i] as f64;
        }
    }
}

fn softmax(scores: &mut [f64]) {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    scores.iter_mut().for_each(|s| *s /= sum);
}

/// The exact GELU `x/2 (1 + erf(x / sqrt 2))` (`hidden_act = "gelu"`).
fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_by_hand() {
        let states = [1.0, -2.0, 3.0, 4.0];
        let mean = SentencePooling {
            mode: PoolingMode::Mean,
            normalize: false,
        };
        assert_eq!(pool(&states, 2, mean), vec![2.0, 1.0]);
        let max = SentencePooling {
            mode: PoolingMode::Max,
            ..mean
        };
        assert_eq!(pool(&states, 2, max), vec![3.0, 4.0]);
        let cls = SentencePooling {
            mode: PoolingMode::Cls,
            normalize: true,
        };
        let v = pool(&states, 2, cls);
        let n = 5f64.sqrt();
        assert!((v[0] - 1.0 / n).abs() < 1e-15 && (v[1] + 2.0 / n).abs() < 1e-15);
    }

    #[test]
    fn gelu_matches_known_values() {
        // GELU(1) = Phi(1) = 0.8413447460685429.
        assert!((gelu(1.0) - 0.841_344_746_068_542_9).abs() < 1e-15);
        assert_eq!(gelu(0.0), 0.0);
    }
}
