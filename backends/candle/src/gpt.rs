//! The synthetic GPT (architecture: `inferbench_backend::gpt`) in candle.

use std::path::Path;

use candle_core::{D, DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm};
use inferbench_backend::{BackendError, GptSpec};

use crate::kv_cache::{KvCache, NewTokens, Slot, append};
use crate::weights::{Projection, WeightSource, build_from_file};

struct Block {
    ln_1: LayerNorm,
    c_attn: Projection,
    c_proj: Projection,
    ln_2: LayerNorm,
    c_fc: Projection,
    mlp_proj: Projection,
}

pub struct CandleGpt {
    spec: GptSpec,
    dtype: DType,
    wte: Embedding,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    lm_head: Projection,
    weight_bytes: u64,
}

fn layer_norm(w: &WeightSource, name: &str, width: usize) -> Result<LayerNorm> {
    Ok(LayerNorm::new(
        w.tensor(width, &format!("{name}.weight"))?,
        w.tensor(width, &format!("{name}.bias"))?,
        GptSpec::LN_EPS,
    ))
}

impl CandleGpt {
    /// Loads a GGUF file written by [`crate::quantize::ensure_gguf`]; the
    /// activations stay f32.
    pub fn load_gguf(
        spec: &GptSpec,
        path: &Path,
        device: &Device,
    ) -> std::result::Result<Self, BackendError> {
        build_from_file(
            path,
            |path| WeightSource::read_gguf(path, device),
            |w| Self::from_weights(spec, w, DType::F32),
        )
    }

    /// Builds the network from `w`'s tensors under the synthetic GPT's
    /// names, computing in `dtype`.
    pub(crate) fn from_weights(spec: &GptSpec, w: &WeightSource, dtype: DType) -> Result<Self> {
        let (h, v, f) = (spec.hidden, spec.vocab_size, spec.mlp_hidden());
        let mut blocks = Vec::with_capacity(spec.layers);
        for l in 0..spec.layers {
            let p = |s: &str| format!("h.{l}.{s}");
            blocks.push(Block {
                ln_1: layer_norm(w, &p("ln_1"), h)?,
                c_attn: w.projection(&p("attn.c_attn"), 3 * h, h, true)?,
                c_proj: w.projection(&p("attn.c_proj"), h, h, true)?,
                ln_2: layer_norm(w, &p("ln_2"), h)?,
                c_fc: w.projection(&p("mlp.c_fc"), f, h, true)?,
                mlp_proj: w.projection(&p("mlp.c_proj"), h, f, true)?,
            });
        }
        let weight_bytes = w.loaded_bytes(spec.parameter_count(), dtype);
        Ok(Self {
            spec: *spec,
            dtype,
            wte: Embedding::new(w.tensor((v, h), "wte")?, h),
            wpe: w.tensor((spec.max_seq, h), "wpe")?,
            blocks,
            ln_f: layer_norm(w, "ln_f", h)?,
            lm_head: w.projection("lm_head", v, h, false)?,
            weight_bytes,
        })
    }

    pub fn spec(&self) -> &GptSpec {
        &self.spec
    }

    pub fn weight_bytes(&self) -> u64 {
        self.weight_bytes
    }

    /// Logits `[batch, new, vocab]` for `new` tokens that follow the
    /// `cache.len` tokens already in `cache`, whose keys and values are
    /// appended to it (incremental decoding). With an empty cache this is
    /// the plain forward pass, and appending costs no copy.
    pub fn forward_cached(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let new = cache.new_tokens(ids, self.spec.max_seq, self.dtype)?;
        let x = self
            .wte
            .forward(ids)?
            .broadcast_add(&self.wpe.narrow(0, new.past, new.t)?)?;
        let x = cache.through_layers(&new, &self.blocks, x, |block, x, kv| {
            let a = self.attention(block, &block.ln_1.forward(&x)?, &new, kv)?;
            let x = (x + a)?;
            let m = block.ln_2.forward(&x)?;
            let m = block
                .mlp_proj
                .forward(&block.c_fc.forward(&m)?.gelu_erf()?)?;
            x + m
        })?;
        self.lm_head.forward(&self.ln_f.forward(&x)?)
    }

    fn attention(
        &self,
        block: &Block,
        x: &Tensor,
        new: &NewTokens,
        kv: &mut Slot,
    ) -> Result<Tensor> {
        let (b, t) = (new.batch, new.t);
        let (h, nh, d) = (self.spec.hidden, self.spec.heads, self.spec.head_dim());
        let qkv = block.c_attn.forward(x)?; // [b, t, 3h]
        let split = |i: usize| -> Result<Tensor> {
            qkv.narrow(D::Minus1, i * h, h)?
                .reshape((b, t, nh, d))?
                .transpose(1, 2)?
                .contiguous()
        };
        // Scaled before the product: q has d columns where the scores have
        // t, so the scaling touches fewer elements.
        let q = (split(0)? / (d as f64).sqrt())?;
        let (k, v) = append(kv, split(1)?, split(2)?)?;
        let mut scores = q.matmul(&k.t()?)?;
        if let Some(mask) = &new.mask {
            scores = scores.broadcast_add(mask)?;
        }
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let y = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, h))?;
        block.c_proj.forward(&y)
    }
}
