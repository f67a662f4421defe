//! The synthetic GPT (architecture: `inferbench_backend::gpt`) in candle.

use std::path::Path;

use candle_core::{D, DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use inferbench_backend::{BackendError, GptSpec};

use crate::weights::{Projection, WeightSource};

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
        Self::from_weights(spec, &WeightSource::Float(vb), dtype).map_err(file_err)
    }

    /// Loads a GGUF file written by [`crate::quantize::ensure_gguf`]; the
    /// activations stay f32.
    pub fn load_gguf(
        spec: &GptSpec,
        path: &Path,
        device: &Device,
    ) -> std::result::Result<Self, BackendError> {
        let file_err = |e: candle_core::Error| BackendError::ModelFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let source = WeightSource::read_gguf(path, device).map_err(file_err)?;
        Self::from_weights(spec, &source, DType::F32).map_err(file_err)
    }

    fn from_weights(spec: &GptSpec, w: &WeightSource, dtype: DType) -> Result<Self> {
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
        let (b, t) = ids.dims2()?;
        let past = cache.len;
        if past + t > self.spec.max_seq {
            candle_core::bail!(
                "sequence length {} exceeds the model's max_seq {}",
                past + t,
                self.spec.max_seq
            )
        }
        let mut x = self
            .wte
            .forward(ids)?
            .broadcast_add(&self.wpe.narrow(0, past, t)?)?;
        // A single new token attends to everything before it: no mask.
        let mask = if t > 1 {
            Some(causal_mask(t, past, self.dtype, ids.device())?)
        } else {
            None
        };
        for (block, kv) in self.blocks.iter().zip(cache.layers.iter_mut()) {
            let a = self.attention(block, &block.ln_1.forward(&x)?, b, t, mask.as_ref(), kv)?;
            x = (x + a)?;
            let m = block.ln_2.forward(&x)?;
            let m = block
                .mlp_proj
                .forward(&block.c_fc.forward(&m)?.gelu_erf()?)?;
            x = (x + m)?;
        }
        cache.len += t;
        self.lm_head.forward(&self.ln_f.forward(&x)?)
    }

    fn attention(
        &self,
        block: &Block,
        x: &Tensor,
        b: usize,
        t: usize,
        mask: Option<&Tensor>,
        kv: &mut Option<(Tensor, Tensor)>,
    ) -> Result<Tensor> {
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
        let (mut k, mut v) = (split(1)?, split(2)?);
        if let Some((k_past, v_past)) = kv.as_ref() {
            k = Tensor::cat(&[k_past, &k], 2)?;
            v = Tensor::cat(&[v_past, &v], 2)?;
        }
        *kv = Some((k.clone(), v.clone()));
        let mut scores = q.matmul(&k.t()?)?;
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let y = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, h))?;
        block.c_proj.forward(&y)
    }
}

/// Keys and values of the tokens seen so far, per layer, `[b, heads, len, d]`.
pub struct KvCache {
    pub(crate) layers: Vec<Option<(Tensor, Tensor)>>,
    pub len: usize,
}

impl KvCache {
    pub fn new(layers: usize) -> Self {
        Self {
            layers: vec![None; layers],
            len: 0,
        }
    }
}

/// `[t, past + t]`: new token `i` sees cached tokens and new tokens `≤ i`;
/// 0 where it may attend, -inf where it may not.
pub(crate) fn causal_mask(t: usize, past: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let mask: Vec<f32> = (0..t)
        .flat_map(|i| {
            (0..past + t).map(move |j| {
                if j <= past + i {
                    0.0
                } else {
                    f32::NEG_INFINITY
                }
            })
        })
        .collect();
    Tensor::from_vec(mask, (t, past + t), device)?.to_dtype(dtype)
}
