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

use crate::attention::{KvCache, Mask, Slot, attend, run_layers};
use crate::causal_lm::CausalLm;
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

    pub fn spec(&self) -> &GptSpec {
        &self.spec
    }

    /// Token plus learned position embeddings of `ids` starting at
    /// position `past` (checked against `max_seq` by `run_layers`).
    fn embed(&self, ids: &Tensor, past: i64) -> Result<Tensor, TchError> {
        let (_, t) = ids.size2()?;
        let positions = self.wpe.f_narrow(0, past, t)?;
        Tensor::f_embedding(&self.wte, ids, -1, false, false)?.f_add(&positions)
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
        mask: &Mask,
        kv: Option<&mut Slot>,
    ) -> Result<Tensor, TchError> {
        let (b, t, h) = x.size3()?;
        let (nh, d) = (self.spec.heads as i64, self.spec.head_dim() as i64);
        // [b, t, 3h] -> [3, b, nh, t, d]: q, k, v with heads split off.
        let qkv = apply_linear(&block.c_attn, x)?
            .f_view([b, t, 3, nh, d])?
            .f_permute([2, 0, 3, 1, 4])?;
        let y = attend(&qkv.f_get(0)?, qkv.f_get(1)?, qkv.f_get(2)?, mask, kv)?;
        let y = y.f_transpose(1, 2)?.f_reshape([b, t, h])?;
        apply_linear(&block.c_proj, &y)
    }
}

impl CausalLm for TchGpt {
    fn device(&self) -> tch::Device {
        self.vs.device()
    }

    fn layers(&self) -> usize {
        self.blocks.len()
    }

    fn limits(&self) -> (usize, usize) {
        (self.spec.vocab_size, self.spec.max_seq)
    }

    fn hidden(&self, ids: &Tensor, cache: Option<&mut KvCache>) -> Result<Tensor, TchError> {
        let x = run_layers(
            cache,
            ids,
            self.blocks.len(),
            self.spec.max_seq,
            |past, slots| {
                let mut x = self.embed(ids, past)?;
                let mask = Mask::for_new_tokens(ids.size2()?.1, past, self.device())?;
                for (block, kv) in self.blocks.iter().zip(slots) {
                    let a =
                        self.attention(block, &apply_layer_norm(&block.ln_1, &x)?, &mask, kv)?;
                    x = self.mlp(block, x.f_add(&a)?)?;
                }
                Ok(x)
            },
        )?;
        apply_layer_norm(&self.ln_f, &x)
    }

    fn head(&self, hidden: &Tensor) -> Result<Tensor, TchError> {
        apply_linear(&self.lm_head, hidden)
    }

    fn weight_bytes(&self) -> u64 {
        self.vs
            .variables()
            .values()
            .map(|t| (t.numel() * t.kind().elt_size_in_bytes()) as u64)
            .sum()
    }
}
