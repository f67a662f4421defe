//! The synthetic GPT decoder: its size knobs, the names and shapes of its
//! weights, and its cost. Every backend builds the same architecture from
//! the same safetensors file:
//!
//! ```text
//! x = wte[ids] + wpe[0..T]
//! for each block: x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))
//! logits = lm_head(ln_f(x))
//! ```
//! attention is causal multi-head self-attention with a fused QKV projection
//! (GPT-2's `c_attn`), the MLP is `c_proj(gelu(c_fc(x)))` with the exact erf
//! GELU and a 4x expansion, LayerNorm epsilon is [`GptSpec::LN_EPS`]. Linear
//! weights are stored `[out_features, in_features]` as in `torch.nn.Linear`.

use serde::{Deserialize, Serialize};

use crate::sizes::{self, each_at_least_one, keyed, multiple_of};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GptSpec {
    pub vocab_size: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub max_seq: usize,
    pub seed: u64,
}

impl GptSpec {
    pub const LN_EPS: f64 = 1e-5;
    pub const MLP_RATIO: usize = 4;

    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }

    pub fn mlp_hidden(&self) -> usize {
        self.hidden * Self::MLP_RATIO
    }

    /// Checks the knobs fit together; the message names the knob.
    pub fn validate(&self) -> Result<(), String> {
        each_at_least_one(&keyed!(self: vocab_size, hidden, layers, heads, max_seq))?;
        multiple_of(keyed!(self: hidden, heads))
    }

    /// Every weight with its shape, in a fixed order (the order weights are
    /// drawn from the seeded generator, so it must never change).
    pub fn weight_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (h, v, f) = (self.hidden, self.vocab_size, self.mlp_hidden());
        let mut out = vec![
            ("wte".to_string(), vec![v, h]),
            ("wpe".to_string(), vec![self.max_seq, h]),
        ];
        for l in 0..self.layers {
            let p = |s: &str| format!("h.{l}.{s}");
            out.extend([
                (p("ln_1.weight"), vec![h]),
                (p("ln_1.bias"), vec![h]),
                (p("attn.c_attn.weight"), vec![3 * h, h]),
                (p("attn.c_attn.bias"), vec![3 * h]),
                (p("attn.c_proj.weight"), vec![h, h]),
                (p("attn.c_proj.bias"), vec![h]),
                (p("ln_2.weight"), vec![h]),
                (p("ln_2.bias"), vec![h]),
                (p("mlp.c_fc.weight"), vec![f, h]),
                (p("mlp.c_fc.bias"), vec![f]),
                (p("mlp.c_proj.weight"), vec![h, f]),
                (p("mlp.c_proj.bias"), vec![h]),
            ]);
        }
        out.extend([
            ("ln_f.weight".to_string(), vec![h]),
            ("ln_f.bias".to_string(), vec![h]),
            ("lm_head.weight".to_string(), vec![v, h]),
        ]);
        out
    }

    pub fn parameter_count(&self) -> u64 {
        sizes::parameter_count(&self.weight_shapes())
    }

    /// Floating-point operations of one forward pass over `[batch, seq]`,
    /// counting a multiply-add as 2 FLOPs and only the matrix products (the
    /// usual convention, as in Kaplan et al. 2020, "Scaling Laws", table 1).
    /// Attention is counted over the full `seq x seq` score matrix, because
    /// that is what the backends compute before masking.
    pub fn flops_per_forward(&self, batch: usize, seq: usize) -> u64 {
        let (b, t, h, v, f) = (
            batch as u64,
            seq as u64,
            self.hidden as u64,
            self.vocab_size as u64,
            self.mlp_hidden() as u64,
        );
        let tokens = b * t;
        let per_layer = 2 * tokens * h * (3 * h) // qkv
            + 2 * b * t * t * h                  // q k^T over all heads
            + 2 * b * t * t * h                  // scores v
            + 2 * tokens * h * h                 // output projection
            + 2 * tokens * h * f * 2; // mlp up and down
        self.layers as u64 * per_layer + 2 * tokens * h * v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> GptSpec {
        GptSpec {
            vocab_size: 10,
            hidden: 4,
            layers: 1,
            heads: 2,
            max_seq: 8,
            seed: 1,
        }
    }

    #[test]
    fn parameter_count_by_hand() {
        // wte 40 + wpe 32 + block (4+4 + 48+12 + 16+4 + 4+4 + 64+16 + 64+4 = 244) + ln_f 8 + lm_head 40
        assert_eq!(tiny().parameter_count(), 40 + 32 + 244 + 8 + 40);
    }

    #[test]
    fn flops_by_hand() {
        // b=1, t=2, h=4, v=10, f=16: qkv 2*2*4*12=192, qk 2*1*4*4=32, av 32,
        // proj 2*2*4*4=64, mlp 2*2*4*16*2=512 -> 832; head 2*2*4*10=160.
        assert_eq!(tiny().flops_per_forward(1, 2), 832 + 160);
    }

    #[test]
    fn rejects_heads_that_do_not_divide_hidden() {
        let spec = GptSpec { heads: 3, ..tiny() };
        assert!(spec.validate().unwrap_err().contains("multiple of `heads`"));
    }
}
