//! The synthetic GPT (architecture: `inferbench_backend::gpt`) in candle.

use std::path::Path;

use candle_core::{D, DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use inferbench_backend::{BackendError, GptSpec};

struct Block {
    ln_1: LayerNorm,
    c_attn: Linear,
    c_proj: Linear,
    ln_2: LayerNorm,
    c_fc: Linear,
    mlp_proj: Linear,
}

pub struct CandleGpt {
    spec: GptSpec,
    dtype: DType,
    wte: Embedding,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    lm_head: Linear,
    weight_bytes: u64,
}

fn linear(vb: &VarBuilder, name: &str, out: usize, inp: usize, bias: bool) -> Result<Linear> {
    let w = vb.get((out, inp), &format!("{name}.weight"))?;
    let b = if bias {
        Some(vb.get(out, &format!("{name}.bias"))?)
    } else {
        None
    };
    Ok(Linear::new(w, b))
}

fn layer_norm(vb: &VarBuilder, name: &str, width: usize) -> Result<LayerNorm> {
    Ok(LayerNorm::new(
        vb.get(width, &format!("{name}.weight"))?,
        vb.get(width, &format!("{name}.bias"))?,
        GptSpec::LN_EPS,
    ))
}

impl CandleGpt {
    pub fn load(
        spec: &GptSpec,
        weights: &Path,
        dtype: DType,
        device: &Device,
    ) -> std::result::Result<Self, BackendError> {
        let file_err = |e: candle_core::Error| BackendError::ModelFile {
            path: weights.to_path_buf(),
            message: e.to_string(),
        };
        // SAFETY: the file is memory-mapped read-only; the harness writes
        // cache files through a rename, so it is never modified while mapped.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], dtype, device) }
            .map_err(file_err)?;
        Self::from_var_builder(spec, &vb, dtype).map_err(file_err)
    }

    fn from_var_builder(spec: &GptSpec, vb: &VarBuilder, dtype: DType) -> Result<Self> {
        let (h, v, f) = (spec.hidden, spec.vocab_size, spec.mlp_hidden());
        let mut blocks = Vec::with_capacity(spec.layers);
        for l in 0..spec.layers {
            let p = |s: &str| format!("h.{l}.{s}");
            blocks.push(Block {
                ln_1: layer_norm(vb, &p("ln_1"), h)?,
                c_attn: linear(vb, &p("attn.c_attn"), 3 * h, h, true)?,
                c_proj: linear(vb, &p("attn.c_proj"), h, h, true)?,
                ln_2: layer_norm(vb, &p("ln_2"), h)?,
                c_fc: linear(vb, &p("mlp.c_fc"), f, h, true)?,
                mlp_proj: linear(vb, &p("mlp.c_proj"), h, f, true)?,
            });
        }
        let weight_bytes = spec.parameter_count() * dtype.size_in_bytes() as u64;
        Ok(Self {
            spec: *spec,
            dtype,
            wte: Embedding::new(vb.get((v, h), "wte")?, h),
            wpe: vb.get((spec.max_seq, h), "wpe")?,
            blocks,
            ln_f: layer_norm(vb, "ln_f", h)?,
            lm_head: linear(vb, "lm_head", v, h, false)?,
            weight_bytes,
        })
    }

    pub fn weight_bytes(&self) -> u64 {
        self.weight_bytes
    }

    /// Logits `[batch, seq, vocab]` for token ids `[batch, seq]` (u32).
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        if t > self.spec.max_seq {
            candle_core::bail!(
                "sequence length {t} exceeds the model's max_seq {}",
                self.spec.max_seq
            )
        }
        let mut x = self
            .wte
            .forward(ids)?
            .broadcast_add(&self.wpe.narrow(0, 0, t)?)?;
        let mask = causal_mask(t, self.dtype, ids.device())?;
        for block in &self.blocks {
            let a = self.attention(block, &block.ln_1.forward(&x)?, b, t, &mask)?;
            x = (x + a)?;
            let m = block.ln_2.forward(&x)?;
            let m = block
                .mlp_proj
                .forward(&block.c_fc.forward(&m)?.gelu_erf()?)?;
            x = (x + m)?;
        }
        self.lm_head.forward(&self.ln_f.forward(&x)?)
    }

    fn attention(
        &self,
        block: &Block,
        x: &Tensor,
        b: usize,
        t: usize,
        mask: &Tensor,
    ) -> Result<Tensor> {
        let (h, nh, d) = (self.spec.hidden, self.spec.heads, self.spec.head_dim());
        let qkv = block.c_attn.forward(x)?; // [b, t, 3h]
        let split = |i: usize| -> Result<Tensor> {
            qkv.narrow(D::Minus1, i * h, h)?
                .reshape((b, t, nh, d))?
                .transpose(1, 2)?
                .contiguous()
        };
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        let scores = (q.matmul(&k.t()?)? / (d as f64).sqrt())?.broadcast_add(mask)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let y = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, h))?;
        block.c_proj.forward(&y)
    }
}

/// `[t, t]` with 0 on and below the diagonal and -inf above it.
fn causal_mask(t: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let mask: Vec<f32> = (0..t)
        .flat_map(|i| (0..t).map(move |j| if j <= i { 0.0 } else { f32::NEG_INFINITY }))
        .collect();
    Tensor::from_vec(mask, (t, t), device)?.to_dtype(dtype)
}
