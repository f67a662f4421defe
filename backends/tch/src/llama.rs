//! The Llama family (architecture and weight names:
//! `inferbench_backend::llama`) in libtorch, as `transformers`'
//! `modeling_llama.py` computes it: RMSNorm, rotate-half rotary embeddings,
//! grouped-query causal attention, a SwiGLU MLP, tied or separate output
//! head, and Qwen2's q/k/v biases. The ATen ops are the ones that module
//! calls (`embedding`, `linear`, `rms_norm`, `scaled_dot_product_attention`,
//! `silu`), through their fallible `f_` forms.
//!
//! Two projections are fused at load, since a CPU decoding step is
//! dominated by per-call overhead: q, k and v are one `linear` (their rows
//! stacked), and so are the MLP's gate and up. Each output row is the same
//! dot product as in the separate projections.

use std::path::Path;

use inferbench_backend::{BackendError, LlamaConfig};
use tch::{Kind, TchError, Tensor};

use crate::attention::{KvCache, Mask, Slot, attend, run_layers};
use crate::causal_lm::CausalLm;
use crate::weights::{Weights, check_model};

/// `y = x W^T + b`.
struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    fn apply(&self, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_linear(&self.weight, self.bias.as_ref())
    }

    /// One linear whose output is the outputs of `parts` side by side.
    fn stacked(parts: Vec<Linear>) -> Result<Self, TchError> {
        let weights: Vec<&Tensor> = parts.iter().map(|p| &p.weight).collect();
        let biases: Option<Vec<&Tensor>> = parts.iter().map(|p| p.bias.as_ref()).collect();
        Ok(Self {
            weight: Tensor::f_cat(&weights, 0)?,
            bias: biases.map(|b| Tensor::f_cat(&b, 0)).transpose()?,
        })
    }

    fn bytes(&self) -> u64 {
        tensor_bytes(&self.weight) + self.bias.as_ref().map_or(0, tensor_bytes)
    }
}

fn tensor_bytes(t: &Tensor) -> u64 {
    (t.numel() * t.kind().elt_size_in_bytes()) as u64
}

struct Layer {
    input_layernorm: Tensor,
    /// q, k, v projections, rows in that order.
    qkv_proj: Linear,
    o_proj: Linear,
    post_attention_layernorm: Tensor,
    /// gate and up projections, rows in that order.
    gate_up_proj: Linear,
    down_proj: Linear,
}

impl Layer {
    fn take(weights: &mut Weights, layer: usize, bias: bool) -> Result<Self, BackendError> {
        let prefix = format!("model.layers.{layer}");
        let mut linear = |name: &str, with_bias: bool| -> Result<Linear, BackendError> {
            Ok(Linear {
                weight: weights.take(&format!("{prefix}.{name}.weight"))?,
                bias: match with_bias {
                    true => Some(weights.take(&format!("{prefix}.{name}.bias"))?),
                    false => None,
                },
            })
        };
        let q_k_v = vec![
            linear("self_attn.q_proj", bias)?,
            linear("self_attn.k_proj", bias)?,
            linear("self_attn.v_proj", bias)?,
        ];
        let o_proj = linear("self_attn.o_proj", false)?;
        let gate_up = vec![
            linear("mlp.gate_proj", false)?,
            linear("mlp.up_proj", false)?,
        ];
        let down_proj = linear("mlp.down_proj", false)?;
        let fuse_error = |e: TchError| BackendError::Load(format!("layer {layer}: {e}"));
        Ok(Self {
            input_layernorm: weights.take(&format!("{prefix}.input_layernorm.weight"))?,
            qkv_proj: Linear::stacked(q_k_v).map_err(fuse_error)?,
            o_proj,
            post_attention_layernorm: weights
                .take(&format!("{prefix}.post_attention_layernorm.weight"))?,
            gate_up_proj: Linear::stacked(gate_up).map_err(fuse_error)?,
            down_proj,
        })
    }

    fn bytes(&self) -> u64 {
        tensor_bytes(&self.input_layernorm)
            + tensor_bytes(&self.post_attention_layernorm)
            + [
                &self.qkv_proj,
                &self.o_proj,
                &self.gate_up_proj,
                &self.down_proj,
            ]
            .iter()
            .map(|l| l.bytes())
            .sum::<u64>()
    }
}

/// A Llama-family decoder with its weights in one kind on one device.
pub struct TchLlama {
    config: LlamaConfig,
    kind: Kind,
    device: tch::Device,
    embed_tokens: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    /// `None` when tied: the head is `embed_tokens`.
    lm_head: Option<Tensor>,
    /// Rotary inverse frequencies `[head_dim / 2]`, f64, from the config.
    inv_freq: Tensor,
}

impl TchLlama {
    /// Reads `weights` (safetensors, HF names; f32, f16 or bf16) into
    /// `kind` on `device`.
    pub fn load(
        config: &LlamaConfig,
        weights: &Path,
        kind: Kind,
        device: tch::Device,
    ) -> Result<Self, BackendError> {
        check_model("Llama", config.validate(), "Llama", kind)?;
        let mut w = Weights::read(weights, &config.weight_shapes(), kind, device)?;
        let layers = (0..config.num_hidden_layers)
            .map(|l| Layer::take(&mut w, l, config.attention_bias()))
            .collect::<Result<_, _>>()?;
        let inv_freq = Tensor::f_from_slice(&config.rope_inv_freq())
            .and_then(|t| t.f_to_device(device))
            .map_err(|e| BackendError::Load(format!("rotary frequencies: {e}")))?;
        Ok(Self {
            embed_tokens: w.take("model.embed_tokens.weight")?,
            layers,
            norm: w.take("model.norm.weight")?,
            lm_head: match config.tie_word_embeddings {
                true => None,
                false => Some(w.take("lm_head.weight")?),
            },
            inv_freq,
            config: config.clone(),
            kind,
            device,
        })
    }

    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// `x / sqrt(mean(x^2) + eps) * weight` over the last dimension, in f32
    /// for f16/bf16 inputs (ATen's `rms_norm` upcasts as `LlamaRMSNorm`
    /// does).
    fn rms_norm(&self, x: &Tensor, weight: &Tensor) -> Result<Tensor, TchError> {
        let width = [self.config.hidden_size as i64];
        x.f_rms_norm(width.as_slice(), Some(weight), self.config.rms_norm_eps)
    }

    /// Rotary tables for positions `past .. past + t`, computed in f64 and
    /// rounded once to the model's kind.
    fn rotary(&self, past: i64, t: i64) -> Result<Rotary, TchError> {
        let positions = Tensor::f_arange_start(past, past + t, (Kind::Double, self.device))?;
        let freqs = positions.f_outer(&self.inv_freq)?;
        // `LlamaRotaryEmbedding`: emb = cat(freqs, freqs), one angle per
        // element of each half.
        let angles = Tensor::f_cat(&[&freqs, &freqs], -1)?;
        Ok(Rotary {
            cos: angles.f_cos()?.f_to_kind(self.kind)?,
            sin: angles.f_sin()?.f_to_kind(self.kind)?,
        })
    }

    fn attention(
        &self,
        layer: &Layer,
        x: &Tensor,
        rotary: &Rotary,
        mask: &Mask,
        slot: Option<&mut Slot>,
    ) -> Result<Tensor, TchError> {
        let (b, t, _) = x.size3()?;
        let c = &self.config;
        let (heads, kv_heads) = (c.num_attention_heads as i64, c.num_key_value_heads as i64);
        let d = c.head_dim as i64;
        let qkv = layer.qkv_proj.apply(x)?;
        let parts = qkv.f_split_with_sizes([heads * d, kv_heads * d, kv_heads * d], -1)?;
        // [b, t, n * d] -> [b, n, t, d]
        let split_heads = |x: &Tensor, n: i64| x.f_view([b, t, n, d])?.f_transpose(1, 2);
        let q = rotary.apply(&split_heads(&parts[0], heads)?)?;
        let k = rotary.apply(&split_heads(&parts[1], kv_heads)?)?;
        let v = split_heads(&parts[2], kv_heads)?;
        let y = attend(&q, k, v, mask, slot)?;
        layer
            .o_proj
            .apply(&y.f_transpose(1, 2)?.f_reshape([b, t, heads * d])?)
    }

    /// `down(silu(gate(x)) * up(x))`.
    fn mlp(&self, layer: &Layer, x: &Tensor) -> Result<Tensor, TchError> {
        let f = self.config.intermediate_size as i64;
        let gate_up = layer.gate_up_proj.apply(x)?;
        let gate = gate_up.f_narrow(-1, 0, f)?;
        let up = gate_up.f_narrow(-1, f, f)?;
        layer.down_proj.apply(&gate.f_silu()?.f_mul(&up)?)
    }
}

/// cos and sin of the rotary angles, `[t, head_dim]`.
struct Rotary {
    cos: Tensor,
    sin: Tensor,
}

impl Rotary {
    /// `x * cos + rotate_half(x) * sin` for `x` `[b, n, t, head_dim]`, with
    /// `rotate_half(x) = cat(-x2, x1)` (`x1`, `x2` the halves of each head),
    /// as `transformers`' `apply_rotary_pos_emb`.
    fn apply(&self, x: &Tensor) -> Result<Tensor, TchError> {
        let half = x.size()[3] / 2;
        let x1 = x.f_narrow(-1, 0, half)?;
        let x2 = x.f_narrow(-1, half, half)?;
        let rotated = Tensor::f_cat(&[&x2.f_neg()?, &x1], -1)?;
        x.f_mul(&self.cos)?.f_add(&rotated.f_mul(&self.sin)?)
    }
}

impl CausalLm for TchLlama {
    fn device(&self) -> tch::Device {
        self.device
    }

    fn layers(&self) -> usize {
        self.layers.len()
    }

    fn limits(&self) -> (usize, usize) {
        (self.config.vocab_size, self.config.max_position_embeddings)
    }

    fn hidden(&self, ids: &Tensor, cache: Option<&mut KvCache>) -> Result<Tensor, TchError> {
        let positions = self.config.max_position_embeddings;
        let x = run_layers(cache, ids, self.layers.len(), positions, |past, slots| {
            let t = ids.size2()?.1;
            let rotary = self.rotary(past, t)?;
            let mask = Mask::for_new_tokens(t, past, self.device)?;
            let mut x = Tensor::f_embedding(&self.embed_tokens, ids, -1, false, false)?;
            for (layer, slot) in self.layers.iter().zip(slots) {
                let n = self.rms_norm(&x, &layer.input_layernorm)?;
                x = x.f_add(&self.attention(layer, &n, &rotary, &mask, slot)?)?;
                let n = self.rms_norm(&x, &layer.post_attention_layernorm)?;
                x = x.f_add(&self.mlp(layer, &n)?)?;
            }
            Ok(x)
        })?;
        self.rms_norm(&x, &self.norm)
    }

    fn head(&self, hidden: &Tensor) -> Result<Tensor, TchError> {
        hidden.f_linear::<&Tensor>(self.lm_head.as_ref().unwrap_or(&self.embed_tokens), None)
    }

    fn weight_bytes(&self) -> u64 {
        tensor_bytes(&self.embed_tokens)
            + tensor_bytes(&self.norm)
            + self.lm_head.as_ref().map_or(0, tensor_bytes)
            + self.layers.iter().map(Layer::bytes).sum::<u64>()
    }
}
