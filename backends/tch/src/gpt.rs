//! The synthetic GPT (architecture: `inferbench_backend::gpt`) in libtorch.
//!
//! Parameters live in a `tch::nn::VarStore` built with `nn::linear` and
//! `nn::layer_norm`, whose names (`h.0.attn.c_attn.weight`...) are exactly
//! the safetensors names, so `VarStore::load` fills every one of them and
//! fails on any that is missing. The forward pass calls the same ATen ops
//! that `torch.nn.functional` does in Python (`linear`, `layer_norm`,
//! `embedding`, `scaled_dot_product_attention`, `gelu`), through their
//! fallible `f_` forms so that a libtorch error becomes a `BackendError`
//! instead of a panic.

use std::path::Path;

use inferbench_backend::{BackendError, GptSpec};
use tch::nn::{self, Init, LayerNorm, Linear};
use tch::{Kind, TchError, Tensor};

use crate::error::torch_message;

struct Block {
    ln_1: LayerNorm,
    c_attn: Linear,
    c_proj: Linear,
    ln_2: LayerNorm,
    c_fc: Linear,
    mlp_proj: Linear,
}

pub struct TchGpt {
    spec: GptSpec,
    /// Owns every parameter; the fields below are views of its variables.
    vs: nn::VarStore,
    wte: Tensor,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    lm_head: Linear,
}

/// Zero-initialized: every value is overwritten from the file, so drawing
/// random initial values (tch's default) would only slow loading down.
fn linear(p: nn::Path, inp: usize, out: usize, bias: bool) -> Linear {
    let config = nn::LinearConfig {
        ws_init: Init::Const(0.0),
        bs_init: Some(Init::Const(0.0)),
        bias,
    };
    nn::linear(p, inp as i64, out as i64, config)
}

fn layer_norm(p: nn::Path, width: usize) -> LayerNorm {
    let config = nn::LayerNormConfig {
        eps: GptSpec::LN_EPS,
        ..Default::default()
    };
    nn::layer_norm(p, vec![width as i64], config)
}

fn apply_layer_norm(ln: &LayerNorm, x: &Tensor) -> Result<Tensor, TchError> {
    x.f_layer_norm(
        ln.normalized_shape.as_slice(),
        ln.ws.as_ref(),
        ln.bs.as_ref(),
        GptSpec::LN_EPS,
        true,
    )
}

fn apply_linear(l: &Linear, x: &Tensor) -> Result<Tensor, TchError> {
    x.f_linear(&l.ws, l.bs.as_ref())
}

impl TchGpt {
    /// Builds the model on `device` and loads `weights` (f32 safetensors),
    /// then casts it to `kind`.
    pub fn load(
        spec: &GptSpec,
        weights: &Path,
        kind: Kind,
        device: tch::Device,
    ) -> Result<Self, BackendError> {
        let (h, v, f) = (spec.hidden, spec.vocab_size, spec.mlp_hidden());
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let blocks = (0..spec.layers)
            .map(|l| {
                let b = &root / "h" / l;
                Block {
                    ln_1: layer_norm(&b / "ln_1", h),
                    c_attn: linear(&b / "attn" / "c_attn", h, 3 * h, true),
                    c_proj: linear(&b / "attn" / "c_proj", h, h, true),
                    ln_2: layer_norm(&b / "ln_2", h),
                    c_fc: linear(&b / "mlp" / "c_fc", h, f, true),
                    mlp_proj: linear(&b / "mlp" / "c_proj", f, h, true),
                }
            })
            .collect();
        let model = Self {
            spec: *spec,
            wte: root.var("wte", &[v as i64, h as i64], Init::Const(0.0)),
            wpe: root.var("wpe", &[spec.max_seq as i64, h as i64], Init::Const(0.0)),
            blocks,
            ln_f: layer_norm(&root / "ln_f", h),
            lm_head: linear(&root / "lm_head", h, v, false),
            vs,
        };
        model.fill(weights, kind)
    }

    fn fill(mut self, weights: &Path, kind: Kind) -> Result<Self, BackendError> {
        if !weights.is_file() {
            return Err(BackendError::ModelFile {
                path: weights.to_path_buf(),
                message: "no such file".into(),
            });
        }
        self.vs.load(weights).map_err(|e| BackendError::ModelFile {
            path: weights.to_path_buf(),
            message: torch_message(&e),
        })?;
        // `load` takes the file's dtype (f32); cast afterwards, as
        // `model.half()` would in Python.
        match kind {
            Kind::Float => {}
            Kind::Half => self.vs.half(),
            Kind::BFloat16 => self.vs.bfloat16(),
            other => {
                return Err(BackendError::Unsupported(format!(
                    "the tch GPT does not run in {other:?}"
                )));
            }
        }
        self.vs.freeze();
        Ok(self)
    }

    /// Bytes the parameters occupy.
    pub fn weight_bytes(&self) -> u64 {
        self.vs
            .variables()
            .values()
            .map(|t| (t.numel() * t.kind().elt_size_in_bytes()) as u64)
            .sum()
    }

    pub fn device(&self) -> tch::Device {
        self.vs.device()
    }

    pub fn spec(&self) -> &GptSpec {
        &self.spec
    }

    /// Logits `[batch, seq, vocab]` for int64 token ids `[batch, seq]`.
    /// Call in inference mode (the session does).
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor, TchError> {
        let (_, t) = ids.size2()?;
        if t as usize > self.spec.max_seq {
            return Err(TchError::Shape(format!(
                "sequence length {t} exceeds the model's max_seq {}",
                self.spec.max_seq
            )));
        }
        let positions = self.wpe.f_narrow(0, 0, t)?;
        let mut x = Tensor::f_embedding(&self.wte, ids, -1, false, false)?.f_add(&positions)?;
        for block in &self.blocks {
            let a = self.attention(
                block,
                &apply_layer_norm(&block.ln_1, &x)?,
                Mask::Causal,
                None,
            )?;
            x = x.f_add(&a)?;
            x = self.mlp(block, x)?;
        }
        apply_linear(&self.lm_head, &apply_layer_norm(&self.ln_f, &x)?)
    }

    /// Logits `[batch, new, vocab]` for the `new` tokens `ids`
    /// `[batch, new]` that follow the ones already in `cache`, whose keys
    /// and values it extends by theirs. Call in inference mode.
    pub fn forward_cached(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor, TchError> {
        let (_, t) = ids.size2()?;
        let past = cache.len as i64;
        if (past + t) as usize > self.spec.max_seq {
            return Err(TchError::Shape(format!(
                "sequence length {} exceeds the model's max_seq {}",
                past + t,
                self.spec.max_seq
            )));
        }
        if cache.layers.len() != self.blocks.len() {
            return Err(TchError::Shape(format!(
                "a cache of {} layers for a model of {}",
                cache.layers.len(),
                self.blocks.len()
            )));
        }
        let positions = self.wpe.f_narrow(0, past, t)?;
        let mut x = Tensor::f_embedding(&self.wte, ids, -1, false, false)?.f_add(&positions)?;
        // A single new token attends to everything before it: no mask. With
        // an empty past the plain causal mask is the right one; otherwise
        // new token `i` sees the cache and new tokens `<= i`.
        let mask = if t == 1 {
            Mask::None
        } else if past == 0 {
            Mask::Causal
        } else {
            Mask::Explicit(causal_mask(t, past, self.device())?)
        };
        for (block, kv) in self.blocks.iter().zip(cache.layers.iter_mut()) {
            let a = self.attention(
                block,
                &apply_layer_norm(&block.ln_1, &x)?,
                mask.clone(),
                Some(kv),
            )?;
            x = x.f_add(&a)?;
            x = self.mlp(block, x)?;
        }
        cache.len += t as usize;
        apply_linear(&self.lm_head, &apply_layer_norm(&self.ln_f, &x)?)
    }

    fn mlp(&self, block: &Block, x: Tensor) -> Result<Tensor, TchError> {
        let m = apply_linear(&block.c_fc, &apply_layer_norm(&block.ln_2, &x)?)?;
        // "none" is the exact erf GELU; "tanh" would be the approximation.
        let m = apply_linear(&block.mlp_proj, &m.f_gelu("none")?)?;
        x.f_add(&m)
    }

    fn attention(
        &self,
        block: &Block,
        x: &Tensor,
        mask: Mask,
        kv: Option<&mut Option<(Tensor, Tensor)>>,
    ) -> Result<Tensor, TchError> {
        let (b, t, h) = x.size3()?;
        let (nh, d) = (self.spec.heads as i64, self.spec.head_dim() as i64);
        // [b, t, 3h] -> [3, b, nh, t, d]: q, k, v with heads split off.
        let qkv = apply_linear(&block.c_attn, x)?
            .f_view([b, t, 3, nh, d])?
            .f_permute([2, 0, 3, 1, 4])?;
        let (q, mut k, mut v) = (qkv.f_get(0)?, qkv.f_get(1)?, qkv.f_get(2)?);
        if let Some(kv) = kv {
            // Past keys and values `[b, nh, past, d]`, extended along the
            // sequence dimension.
            if let Some((k_past, v_past)) = kv.as_ref() {
                k = Tensor::f_cat(&[k_past, &k], 2)?;
                v = Tensor::f_cat(&[v_past, &v], 2)?;
            }
            *kv = Some((k.shallow_clone(), v.shallow_clone()));
        }
        let (attn_mask, is_causal) = match mask {
            Mask::None => (None, false),
            Mask::Causal => (None, true),
            Mask::Explicit(m) => (Some(m), false),
        };
        // softmax(q k^T / sqrt(d) + mask) v, scale defaulting to 1/sqrt(d).
        let y = Tensor::f_scaled_dot_product_attention(
            &q, &k, &v, attn_mask, 0.0, is_causal, None, false,
        )?;
        let y = y.f_transpose(1, 2)?.f_reshape([b, t, h])?;
        apply_linear(&block.c_proj, &y)
    }
}

/// What attention masks.
enum Mask {
    None,
    /// `is_causal`: square, token `i` sees tokens `<= i`.
    Causal,
    /// Boolean `[t, past + t]`, true where attention is allowed.
    Explicit(Tensor),
}

impl Clone for Mask {
    fn clone(&self) -> Self {
        match self {
            Mask::None => Mask::None,
            Mask::Causal => Mask::Causal,
            Mask::Explicit(m) => Mask::Explicit(m.shallow_clone()),
        }
    }
}

/// `[t, past + t]` booleans: new token `i` sees the cached tokens and the
/// new tokens `<= i`.
fn causal_mask(t: i64, past: i64, device: tch::Device) -> Result<Tensor, TchError> {
    let keys = Tensor::f_arange(past + t, (Kind::Int64, device))?;
    let queries = Tensor::f_arange(t, (Kind::Int64, device))?
        .f_add_scalar(past)?
        .f_unsqueeze(1)?;
    keys.f_le_tensor(&queries)
}

/// Per layer, the keys and values `[batch, heads, len, head_dim]` of the
/// tokens seen so far.
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl KvCache {
    pub fn new(layers: usize) -> Self {
        Self {
            layers: (0..layers).map(|_| None).collect(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
