//! The Llama family (architecture, names and layout:
//! `inferbench_backend::llama`) in candle, from the shared f32 safetensors
//! file. `candle-transformers`' `llama` and `quantized_llama` return only the
//! last position's logits, while forward passes and perplexity need every
//! position's, so the network is written here with candle ops, following
//! `transformers`' `modeling_llama.py`: RMSNorm, rotary embeddings in the
//! "rotate half" layout (`candle_nn::rotary_emb::rope`), causal
//! grouped-query attention, SwiGLU MLP.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, RmsNorm};
use inferbench_backend::LlamaConfig;

use crate::kv_cache::{KvCache, Slot, append};
use crate::weights::{Projection, WeightSource};

struct Layer {
    input_norm: RmsNorm,
    q: Projection,
    k: Projection,
    v: Projection,
    o: Projection,
    post_norm: RmsNorm,
    gate: Projection,
    up: Projection,
    down: Projection,
}

pub struct CandleLlama {
    config: LlamaConfig,
    dtype: DType,
    embed: Embedding,
    layers: Vec<Layer>,
    norm: RmsNorm,
    lm_head: Projection,
    /// `[max_position_embeddings, head_dim / 2]`, f32.
    cos: Tensor,
    sin: Tensor,
    weight_bytes: u64,
}

impl CandleLlama {
    /// Builds the network from quantized (or f32) tensors under HF names;
    /// activations stay f32.
    pub fn from_source(config: &LlamaConfig, source: &WeightSource) -> Result<Self> {
        Self::from_weights(config, source, DType::F32)
    }

    /// Builds the network from `w`'s tensors under HF names, computing in
    /// `dtype`.
    pub(crate) fn from_weights(
        config: &LlamaConfig,
        w: &WeightSource,
        dtype: DType,
    ) -> Result<Self> {
        let c = config;
        let (h, f, v) = (c.hidden_size, c.intermediate_size, c.vocab_size);
        let (qw, kvw) = (
            c.num_attention_heads * c.head_dim,
            c.num_key_value_heads * c.head_dim,
        );
        let norm = |name: String| -> Result<RmsNorm> {
            Ok(RmsNorm::new(w.tensor(h, &name)?, c.rms_norm_eps))
        };
        let bias = c.attention_bias();
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for l in 0..c.num_hidden_layers {
            let p = |s: &str| format!("model.layers.{l}.{s}");
            layers.push(Layer {
                input_norm: norm(p("input_layernorm.weight"))?,
                q: w.projection(&p("self_attn.q_proj"), qw, h, bias)?,
                k: w.projection(&p("self_attn.k_proj"), kvw, h, bias)?,
                v: w.projection(&p("self_attn.v_proj"), kvw, h, bias)?,
                o: w.projection(&p("self_attn.o_proj"), h, qw, false)?,
                post_norm: norm(p("post_attention_layernorm.weight"))?,
                gate: w.projection(&p("mlp.gate_proj"), f, h, false)?,
                up: w.projection(&p("mlp.up_proj"), f, h, false)?,
                down: w.projection(&p("mlp.down_proj"), h, f, false)?,
            });
        }
        let embed = w.tensor((v, h), "model.embed_tokens.weight")?;
        let lm_head = if c.tie_word_embeddings && w.is_float() {
            Projection::Dense(candle_nn::Linear::new(embed.clone(), None))
        } else {
            w.projection("lm_head", v, h, false)?
        };
        let (cos, sin) = rotary_tables(c, embed.device())?;
        Ok(Self {
            config: c.clone(),
            dtype,
            embed: Embedding::new(embed, h),
            layers,
            norm: norm("model.norm.weight".into())?,
            lm_head,
            cos,
            sin,
            weight_bytes: w.loaded_bytes(c.parameter_count(), dtype),
        })
    }

    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    pub fn weight_bytes(&self) -> u64 {
        self.weight_bytes
    }

    /// Logits `[batch, new, vocab]` of `new` tokens after the `cache.len`
    /// cached ones, whose keys and values are appended to the cache.
    pub fn forward_cached(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        // The mask in f32: scores and softmax are f32 (see `attention`).
        let new = cache.new_tokens(ids, self.config.max_position_embeddings, DType::F32)?;
        let cos = self.cos.narrow(0, new.past, new.t)?.to_dtype(self.dtype)?;
        let sin = self.sin.narrow(0, new.past, new.t)?.to_dtype(self.dtype)?;
        let mask = new.mask.as_ref();
        let x = self.embed.forward(ids)?;
        let x = cache.through_layers(&new, &self.layers, x, |layer, x, kv| {
            let n = layer.input_norm.forward(&x)?;
            let x = (x + self.attention(layer, &n, (&cos, &sin), mask, kv)?)?;
            let n = layer.post_norm.forward(&x)?;
            let m = (layer.gate.forward(&n)?.silu()? * layer.up.forward(&n)?)?;
            x + layer.down.forward(&m)?
        })?;
        self.lm_head.forward(&self.norm.forward(&x)?)
    }

    fn attention(
        &self,
        layer: &Layer,
        x: &Tensor,
        (cos, sin): (&Tensor, &Tensor),
        mask: Option<&Tensor>,
        kv: &mut Slot,
    ) -> Result<Tensor> {
        let c = &self.config;
        let (b, t, _) = x.dims3()?;
        let (nh, nkv, d) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim);
        let heads = |y: Tensor, n: usize| -> Result<Tensor> {
            y.reshape((b, t, n, d))?.transpose(1, 2)?.contiguous()
        };
        let q = candle_nn::rotary_emb::rope(&heads(layer.q.forward(x)?, nh)?, cos, sin)?;
        let k = candle_nn::rotary_emb::rope(&heads(layer.k.forward(x)?, nkv)?, cos, sin)?;
        let (k, v) = append(kv, k, heads(layer.v.forward(x)?, nkv)?)?;
        let (k, v) = (repeat_kv(&k, c.kv_group())?, repeat_kv(&v, c.kv_group())?);
        // Scores and softmax in f32, as `modeling_llama.py` does for half types.
        let q = q.to_dtype(DType::F32)?;
        let mut scores = (q.matmul(&k.to_dtype(DType::F32)?.t()?)? / (d as f64).sqrt())?;
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        let probs = candle_nn::ops::softmax_last_dim(&scores)?.to_dtype(self.dtype)?;
        let y = probs
            .matmul(&v.contiguous()?)?
            .transpose(1, 2)?
            .reshape((b, t, nh * d))?;
        layer.o.forward(&y)
    }
}

/// Key/value heads repeated for the query heads of their group:
/// `[b, kv, len, d]` -> `[b, kv * group, len, d]` (head `h` uses `h / group`).
fn repeat_kv(x: &Tensor, group: usize) -> Result<Tensor> {
    if group == 1 {
        return Ok(x.clone());
    }
    let (b, kv, len, d) = x.dims4()?;
    x.unsqueeze(2)?
        .expand((b, kv, group, len, d))?
        .reshape((b, kv * group, len, d))
}

/// cos and sin of `position * inv_freq[i]`, computed in f64 and stored f32.
fn rotary_tables(config: &LlamaConfig, device: &Device) -> Result<(Tensor, Tensor)> {
    let inv_freq = config.rope_inv_freq();
    let (n, half) = (config.max_position_embeddings, inv_freq.len());
    let mut cos = Vec::with_capacity(n * half);
    let mut sin = Vec::with_capacity(n * half);
    for p in 0..n {
        for f in &inv_freq {
            let (s, c) = (p as f64 * f).sin_cos();
            cos.push(c as f32);
            sin.push(s as f32);
        }
    }
    Ok((
        Tensor::from_vec(cos, (n, half), device)?,
        Tensor::from_vec(sin, (n, half), device)?,
    ))
}
