//! BERT-family encoders (architecture: `inferbench_backend::bert`) in
//! libtorch, with sentence-transformers' pooling.
//!
//! Every weight the config names is read by its `BertModel` name and
//! checked against the config's shape ([`crate::weights`], as for the
//! Llama decoder). The forward pass calls the ATen ops that
//! `transformers`' `BertModel` calls through `torch.nn.functional`
//! (`embedding`, `layer_norm`, `linear`, `scaled_dot_product_attention`
//! with HF's additive mask, exact `gelu`), through their fallible `f_` forms.

use std::collections::HashMap;
use std::path::Path;

use inferbench_backend::{
    BackendError, BertConfig, Encoder, EncoderBatch, HostTensor, PoolingMode, SentencePooling,
};
use tch::{Kind, TchError, Tensor};

use crate::device::synchronize;
use crate::error::run_error;
use crate::inference_mode::inference;
use crate::torchscript::host_tensor;
use crate::weights::{Weights, check_model};

pub struct TchBert {
    config: BertConfig,
    pooling: Option<SentencePooling>,
    kind: Kind,
    device: tch::Device,
    /// Every weight by its `BertModel` name, in `kind` on `device`.
    weights: HashMap<String, Tensor>,
}

impl TchBert {
    /// Reads `weights` (safetensors, `BertModel` names; f32, f16 or bf16)
    /// into `kind` on `device`, as `model.half()` would in Python; a
    /// missing or misshapen tensor is an error that names it.
    pub fn load(
        config: &BertConfig,
        pooling: Option<SentencePooling>,
        weights: &Path,
        kind: Kind,
        device: tch::Device,
    ) -> Result<Self, BackendError> {
        check_model("BERT", config.validate(), "encoder", kind)?;
        let shapes = config.weight_shapes();
        let mut file = Weights::read(weights, &shapes, kind, device)?;
        let weights = shapes
            .iter()
            .map(|(name, _)| Ok((name.clone(), file.take(name)?)))
            .collect::<Result<HashMap<_, _>, BackendError>>()?;
        Ok(Self {
            config: config.clone(),
            pooling,
            kind,
            device,
            weights,
        })
    }

    pub fn device(&self) -> tch::Device {
        self.device
    }

    fn w(&self, name: &str) -> &Tensor {
        &self.weights[name]
    }

    fn linear(&self, name: &str, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_linear(
            self.w(&format!("{name}.weight")),
            Some(self.w(&format!("{name}.bias"))),
        )
    }

    fn layer_norm(&self, name: &str, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_layer_norm(
            [self.config.hidden_size as i64],
            Some(self.w(&format!("{name}.weight"))),
            Some(self.w(&format!("{name}.bias"))),
            self.config.layer_norm_eps,
            true,
        )
    }

    /// The outputs of [`inferbench_backend::bert`] for int64 `ids` and
    /// `mask` `[batch, seq]`: the last hidden state, then the pooled
    /// embedding (pooled in f32). Call in inference mode.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Vec<Tensor>, TchError> {
        let (_, t) = ids.size2()?;
        let offset = self.config.position_offset() as i64;
        let positions = self
            .w("embeddings.position_embeddings.weight")
            .f_narrow(0, offset, t)?;
        // Token type 0 for every token: one segment, as sentence-transformers.
        let token_type = self.w("embeddings.token_type_embeddings.weight").f_get(0)?;
        let words = Tensor::f_embedding(
            self.w("embeddings.word_embeddings.weight"),
            ids,
            -1,
            false,
            false,
        )?;
        let x = words.f_add(&positions)?.f_add(&token_type)?;
        let mut x = self.layer_norm("embeddings.LayerNorm", &x)?;
        // HF's extended mask: (1 - mask) * finfo(dtype).min, [b, 1, 1, t].
        let additive = mask
            .f_to_kind(self.kind)?
            .f_neg()?
            .f_add_scalar(1.0)?
            .f_mul_scalar(min_value(self.kind))?
            .f_unsqueeze(1)?
            .f_unsqueeze(1)?;
        for l in 0..self.config.num_hidden_layers {
            x = self.layer(l, &x, &additive)?;
        }
        let states = x.f_to_kind(Kind::Float)?;
        match self.pooling {
            None => Ok(vec![states]),
            Some(pooling) => {
                let pooled = pool(&states, mask, pooling)?;
                Ok(vec![states, pooled])
            }
        }
    }

    fn layer(&self, l: usize, x: &Tensor, additive: &Tensor) -> Result<Tensor, TchError> {
        let p = |s: &str| format!("encoder.layer.{l}.{s}");
        let (b, t, h) = x.size3()?;
        let (nh, d) = (
            self.config.num_attention_heads as i64,
            self.config.head_dim() as i64,
        );
        let heads = |name: &str| -> Result<Tensor, TchError> {
            self.linear(&p(&format!("attention.self.{name}")), x)?
                .f_view([b, t, nh, d])?
                .f_transpose(1, 2)
        };
        let (q, k, v) = (heads("query")?, heads("key")?, heads("value")?);
        // softmax(q k^T / sqrt(d) + mask) v.
        let y = Tensor::f_scaled_dot_product_attention(
            &q,
            &k,
            &v,
            Some(additive),
            0.0,
            false,
            None,
            false,
        )?;
        let y = y.f_transpose(1, 2)?.f_reshape([b, t, h])?;
        let y = self.linear(&p("attention.output.dense"), &y)?;
        let x = self.layer_norm(&p("attention.output.LayerNorm"), &x.f_add(&y)?)?;
        // "none" is the exact erf GELU (`hidden_act = "gelu"`).
        let y = self.linear(&p("intermediate.dense"), &x)?.f_gelu("none")?;
        let y = self.linear(&p("output.dense"), &y)?;
        self.layer_norm(&p("output.LayerNorm"), &x.f_add(&y)?)
    }
}

/// `torch.finfo(kind).min`, the fill HF uses for masked scores.
fn min_value(kind: Kind) -> f64 {
    match kind {
        Kind::Half => -65504.0,
        Kind::BFloat16 => -3.3895313892515355e38,
        _ => f32::MIN as f64,
    }
}

/// sentence-transformers' `Pooling` over real tokens, then `Normalize`.
fn pool(states: &Tensor, mask: &Tensor, pooling: SentencePooling) -> Result<Tensor, TchError> {
    let mask = mask.f_to_kind(Kind::Float)?.f_unsqueeze(-1)?;
    let pooled = match pooling.mode {
        PoolingMode::Cls => states.f_select(1, 0)?,
        PoolingMode::Mean => states
            .f_mul(&mask)?
            .f_sum_dim_intlist(1, false, Kind::Float)?
            .f_div(&mask.f_sum_dim_intlist(1, false, Kind::Float)?)?,
        // Padding set to -1e9 first, as sentence-transformers does.
        PoolingMode::Max => states
            .f_add(&mask.f_neg()?.f_add_scalar(1.0)?.f_mul_scalar(-1e9)?)?
            .f_amax(1, false)?,
    };
    if !pooling.normalize {
        return Ok(pooled);
    }
    // torch.nn.functional.normalize: x / max(||x||_2, 1e-12).
    let norm = pooled
        .f_norm_scalaropt_dim(2, -1, true)?
        .f_clamp_min(1e-12)?;
    pooled.f_div(&norm)
}

impl Encoder for TchBert {
    type Tensor = Tensor;

    fn config(&self) -> &BertConfig {
        &self.config
    }

    fn inputs(&self, input: &EncoderBatch) -> Result<(Tensor, Tensor), BackendError> {
        let shape = [input.batch as i64, input.seq_len as i64];
        let tensor = |values: &[i64]| {
            Tensor::from_slice(values)
                .f_view(shape)
                .and_then(|t| t.f_to_device(self.device))
                .map_err(run_error)
        };
        Ok((tensor(&input.ids)?, tensor(&input.mask)?))
    }

    fn run(&self, ids: &Tensor, mask: &Tensor) -> Result<Vec<Tensor>, BackendError> {
        let outputs = inference(|| self.forward(ids, mask)).map_err(run_error)?;
        synchronize(self.device);
        Ok(outputs)
    }

    fn to_host(&self, name: &str, output: &Tensor) -> Result<HostTensor, BackendError> {
        host_tensor(name, output)
    }

    fn weight_bytes(&self) -> u64 {
        self.weights
            .values()
            .map(|t| (t.numel() * t.kind().elt_size_in_bytes()) as u64)
            .sum()
    }
}
