//! The Llama family of decoders (Llama, Qwen2, Mistral) as every backend
//! builds it: its configuration, read from a Hugging Face `config.json`, the
//! names and shapes of its weights, and its cost.
//!
//! ```text
//! x = embed_tokens[ids]
//! for each layer: x = x + o_proj(attn(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))  n = rms(x)
//!                 x = x + down_proj(silu(gate_proj(n)) * up_proj(n))                  n = rms(x)
//! logits = lm_head(rms(x))            (lm_head = embed_tokens when tied)
//! ```
//!
//! Weights are named and laid out exactly as in Hugging Face `transformers`
//! (`LlamaForCausalLM`): linear weights `[out_features, in_features]`, and
//! the rotary embedding in the "rotate half" layout (the first and second
//! halves of each head are the pair a rotation mixes), which is what a HF
//! checkpoint holds. GGUF files store q/k rows interleaved instead; the
//! harness converts them once, so every backend reads HF names and layout.
//!
//! Attention is causal grouped-query attention: `num_attention_heads` query
//! heads share `num_key_value_heads` key/value heads, query head `h` using
//! key/value head `h / (num_attention_heads / num_key_value_heads)`.

use serde::{Deserialize, Serialize};

use crate::sizes::{self, each_at_least_one, keyed, multiple_of, positive};

/// Architectures whose decoder this module describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LlamaArch {
    Llama,
    /// Llama plus biases on the q/k/v projections.
    Qwen2,
    /// Llama with (optional) sliding-window attention; without a window it
    /// is the same computation.
    Mistral,
}

impl LlamaArch {
    pub const ALL: [LlamaArch; 3] = [LlamaArch::Llama, LlamaArch::Qwen2, LlamaArch::Mistral];

    /// The `model_type` of a HF `config.json`.
    pub fn as_str(&self) -> &'static str {
        match self {
            LlamaArch::Llama => "llama",
            LlamaArch::Qwen2 => "qwen2",
            LlamaArch::Mistral => "mistral",
        }
    }

    pub fn from_model_type(model_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == model_type)
    }
}

/// Llama 3's frequency-dependent rotary scaling (`rope_scaling.rope_type =
/// "llama3"` in `config.json`), as `transformers`'
/// `_compute_llama3_parameters` defines it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Llama3RopeScaling {
    pub factor: f64,
    pub low_freq_factor: f64,
    pub high_freq_factor: f64,
    pub original_max_position_embeddings: usize,
}

/// What a backend needs to build the network. Field names follow HF's
/// `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    pub arch: LlamaArch,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    /// Per-head width; `hidden_size / num_attention_heads` unless given.
    pub head_dim: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    pub rope_scaling: Option<Llama3RopeScaling>,
    pub max_position_embeddings: usize,
    /// `lm_head` is `embed_tokens` (no `lm_head.weight` tensor).
    pub tie_word_embeddings: bool,
    pub bos_token_id: Option<u32>,
    pub eos_token_id: Option<u32>,
}

impl LlamaConfig {
    /// Whether q/k/v projections carry biases (Qwen2).
    pub fn attention_bias(&self) -> bool {
        self.arch == LlamaArch::Qwen2
    }

    /// Query heads per key/value head.
    pub fn kv_group(&self) -> usize {
        self.num_attention_heads / self.num_key_value_heads
    }

    /// Checks the sizes fit together; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        each_at_least_one(&keyed!(self: vocab_size, hidden_size, intermediate_size,
            num_hidden_layers, num_attention_heads, num_key_value_heads, head_dim,
            max_position_embeddings))?;
        multiple_of(keyed!(self: num_attention_heads, num_key_value_heads))?;
        if !self.head_dim.is_multiple_of(2) {
            return Err(format!(
                "`head_dim` ({}) must be even for rotary embeddings",
                self.head_dim
            ));
        }
        positive("rms_norm_eps", self.rms_norm_eps)?;
        positive("rope_theta", self.rope_theta)
    }

    /// Every weight with its shape, HF names, in the order of the network.
    pub fn weight_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (h, v, f) = (self.hidden_size, self.vocab_size, self.intermediate_size);
        let q = self.num_attention_heads * self.head_dim;
        let kv = self.num_key_value_heads * self.head_dim;
        let mut out = vec![("model.embed_tokens.weight".to_string(), vec![v, h])];
        for l in 0..self.num_hidden_layers {
            let p = |s: &str| format!("model.layers.{l}.{s}");
            out.push((p("input_layernorm.weight"), vec![h]));
            out.push((p("self_attn.q_proj.weight"), vec![q, h]));
            out.push((p("self_attn.k_proj.weight"), vec![kv, h]));
            out.push((p("self_attn.v_proj.weight"), vec![kv, h]));
            if self.attention_bias() {
                out.push((p("self_attn.q_proj.bias"), vec![q]));
                out.push((p("self_attn.k_proj.bias"), vec![kv]));
                out.push((p("self_attn.v_proj.bias"), vec![kv]));
            }
            out.push((p("self_attn.o_proj.weight"), vec![h, q]));
            out.push((p("post_attention_layernorm.weight"), vec![h]));
            out.push((p("mlp.gate_proj.weight"), vec![f, h]));
            out.push((p("mlp.up_proj.weight"), vec![f, h]));
            out.push((p("mlp.down_proj.weight"), vec![h, f]));
        }
        out.push(("model.norm.weight".to_string(), vec![h]));
        if !self.tie_word_embeddings {
            out.push(("lm_head.weight".to_string(), vec![v, h]));
        }
        out
    }

    pub fn parameter_count(&self) -> u64 {
        sizes::parameter_count(&self.weight_shapes())
    }

    /// Rotary inverse frequencies `1 / theta^(2i/d)` for `i < head_dim/2`,
    /// with Llama 3 scaling applied when configured.
    pub fn rope_inv_freq(&self) -> Vec<f64> {
        let d = self.head_dim as f64;
        let base: Vec<f64> = (0..self.head_dim / 2)
            .map(|i| 1.0 / self.rope_theta.powf(2.0 * i as f64 / d))
            .collect();
        match self.rope_scaling {
            None => base,
            Some(s) => base.into_iter().map(|f| llama3_scale(f, &s)).collect(),
        }
    }

    /// Matrix-product FLOPs of one forward pass over `[batch, seq]` (2 per
    /// multiply-add; attention over the full `seq x seq` scores, as for the
    /// synthetic GPT).
    pub fn flops_per_forward(&self, batch: usize, seq: usize) -> u64 {
        let (b, t) = (batch as u64, seq as u64);
        let (h, v, f) = (
            self.hidden_size as u64,
            self.vocab_size as u64,
            self.intermediate_size as u64,
        );
        let q = (self.num_attention_heads * self.head_dim) as u64;
        let kv = (self.num_key_value_heads * self.head_dim) as u64;
        let tokens = b * t;
        let per_layer = 2 * tokens * h * (q + 2 * kv) // q, k, v projections
            + 2 * b * t * t * q * 2                   // q k^T and scores v
            + 2 * tokens * q * h                      // o_proj
            + 2 * tokens * h * f * 3; // gate, up, down
        self.num_hidden_layers as u64 * per_layer + 2 * tokens * h * v
    }
}

/// `transformers`' `_compute_llama3_parameters` for one frequency.
fn llama3_scale(freq: f64, s: &Llama3RopeScaling) -> f64 {
    let old = s.original_max_position_embeddings as f64;
    let wavelen = 2.0 * std::f64::consts::PI / freq;
    let low_freq_wavelen = old / s.low_freq_factor;
    let high_freq_wavelen = old / s.high_freq_factor;
    if wavelen < high_freq_wavelen {
        freq
    } else if wavelen > low_freq_wavelen {
        freq / s.factor
    } else {
        let smooth = (old / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        (1.0 - smooth) * freq / s.factor + smooth * freq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn tiny() -> LlamaConfig {
        LlamaConfig {
            arch: LlamaArch::Llama,
            vocab_size: 10,
            hidden_size: 8,
            intermediate_size: 12,
            num_hidden_layers: 1,
            num_attention_heads: 4,
            num_key_value_heads: 2,
            head_dim: 2,
            rms_norm_eps: 1e-5,
            rope_theta: 10000.0,
            rope_scaling: None,
            max_position_embeddings: 16,
            tie_word_embeddings: true,
            bos_token_id: None,
            eos_token_id: None,
        }
    }

    #[test]
    fn parameter_count_by_hand() {
        // embed 80; layer: norms 16, q 64, k 32, v 32, o 64, mlp 3*96 = 288 -> 496; norm 8; tied.
        assert_eq!(tiny().parameter_count(), 80 + 496 + 8);
        let untied = LlamaConfig {
            tie_word_embeddings: false,
            ..tiny()
        };
        assert_eq!(untied.parameter_count(), 80 + 496 + 8 + 80);
    }

    #[test]
    fn flops_by_hand() {
        // b=1 t=2 h=8 q=8 kv=4 f=12 v=10: qkv 2*2*8*16=512, attn 2*1*4*8*2=128,
        // o 2*2*8*8=256, mlp 2*2*8*12*3=1152 -> 2048; head 2*2*8*10=320.
        assert_eq!(tiny().flops_per_forward(1, 2), 2048 + 320);
    }

    #[test]
    fn rejects_heads_that_do_not_group() {
        let config = LlamaConfig {
            num_key_value_heads: 3,
            ..tiny()
        };
        assert!(
            config
                .validate()
                .unwrap_err()
                .contains("num_key_value_heads")
        );
    }

    #[test]
    fn llama3_scaling_keeps_high_and_divides_low_frequencies() {
        let s = Llama3RopeScaling {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8192,
        };
        assert_eq!(llama3_scale(1.0, &s), 1.0);
        let low = 2.0 * std::f64::consts::PI / 100_000.0;
        assert!((llama3_scale(low, &s) - low / 8.0).abs() < 1e-18);
    }
}
