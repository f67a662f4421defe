//! BERT-family encoders on candle (see `inferbench_backend::bert`), in
//! plain candle ops as `transformers`' `BertModel` computes them. Not
//! `candle-transformers`' `BertModel`: it starts positions at 0 (RoBERTa
//! starts at `pad_token_id + 1`) and fills masked scores with `f32::MIN`,
//! which rounds to -inf in f16 and bf16 and turns `0 * -inf` into NaN; and
//! its crate's features would rebuild most of the workspace's dependencies.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{D, DType, Device, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, Module};
use inferbench_backend::{
    BackendError, BertConfig, Encoder, EncoderBatch, HostTensor, PoolingMode, SentencePooling,
};

use crate::candle_err;

/// A loaded encoder plus its pooling.
pub struct CandleBert {
    config: BertConfig,
    pooling: Option<SentencePooling>,
    dtype: DType,
    word: Embedding,
    position: Tensor,
    token_type: Tensor,
    norm: LayerNorm,
    layers: Vec<Layer>,
    weight_bytes: u64,
}

/// One post-LayerNorm encoder layer (`BertLayer`).
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_output: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// Reads the f32 safetensors file, checks that every tensor the config
/// names is there with its shape (the error names the file and tensor),
/// and converts them to `dtype`.
fn read_weights(
    config: &BertConfig,
    path: &Path,
    dtype: DType,
) -> Result<HashMap<String, Tensor>, BackendError> {
    let file_error = |message: String| BackendError::ModelFile {
        path: path.to_path_buf(),
        message,
    };
    let mut all = candle_core::safetensors::load(path, &Device::Cpu)
        .map_err(|e| file_error(e.to_string()))?;
    let mut tensors = HashMap::new();
    for (name, shape) in config.weight_shapes() {
        let tensor = all
            .remove(&name)
            .ok_or_else(|| file_error(format!("tensor `{name}` is missing")))?;
        if tensor.dims() != shape.as_slice() {
            return Err(file_error(format!(
                "tensor `{name}` has shape {:?}, the config needs {shape:?}",
                tensor.dims()
            )));
        }
        tensors.insert(name, tensor.to_dtype(dtype).map_err(candle_err)?);
    }
    Ok(tensors)
}

impl CandleBert {
    pub fn load(
        config: &BertConfig,
        pooling: Option<SentencePooling>,
        weights: &Path,
        dtype: DType,
    ) -> Result<Self, BackendError> {
        config
            .validate()
            .map_err(|m| BackendError::Load(format!("BERT config: {m}")))?;
        let tensors = read_weights(config, weights, dtype)?;
        let weight_bytes = tensors
            .values()
            .map(|t| (t.elem_count() * t.dtype().size_in_bytes()) as u64)
            .sum();
        let get = |name: &str| tensors[name].clone();
        let h = config.hidden_size;
        let norm = LayerNorm::new(
            get("embeddings.LayerNorm.weight"),
            get("embeddings.LayerNorm.bias"),
            config.layer_norm_eps,
        );
        let word = Embedding::new(get("embeddings.word_embeddings.weight"), h);
        let position = get("embeddings.position_embeddings.weight");
        let token_type = get("embeddings.token_type_embeddings.weight");
        let linear =
            |p: &str| Linear::new(get(&format!("{p}.weight")), Some(get(&format!("{p}.bias"))));
        let norm_of = |p: &str| {
            LayerNorm::new(
                get(&format!("{p}.weight")),
                get(&format!("{p}.bias")),
                config.layer_norm_eps,
            )
        };
        let layers = (0..config.num_hidden_layers)
            .map(|l| {
                let p = |s: &str| format!("encoder.layer.{l}.{s}");
                Layer {
                    query: linear(&p("attention.self.query")),
                    key: linear(&p("attention.self.key")),
                    value: linear(&p("attention.self.value")),
                    attention_output: linear(&p("attention.output.dense")),
                    attention_norm: norm_of(&p("attention.output.LayerNorm")),
                    intermediate: linear(&p("intermediate.dense")),
                    output: linear(&p("output.dense")),
                    output_norm: norm_of(&p("output.LayerNorm")),
                }
            })
            .collect();
        Ok(Self {
            config: config.clone(),
            pooling,
            dtype,
            word,
            position,
            token_type,
            norm,
            layers,
            weight_bytes,
        })
    }

    /// The last hidden state `[batch, seq, hidden]` in the model's dtype.
    fn encode(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let (_, seq) = ids.dims2()?;
        let positions = self
            .position
            .narrow(0, self.config.position_offset(), seq)?;
        // Token type 0 for every token: one segment, as sentence-transformers.
        let token_type = self.token_type.narrow(0, 0, 1)?;
        let x = self
            .word
            .forward(ids)?
            .broadcast_add(&positions)?
            .broadcast_add(&token_type)?;
        let mut x = self.norm.forward(&x)?;
        let mask = self.additive_mask(mask)?;
        for layer in &self.layers {
            x = self.layer(layer, &x, &mask)?;
        }
        Ok(x)
    }

    /// `x = LN(x + attn(x)); x = LN(x + out(gelu(in(x))))`, exact erf GELU.
    fn layer(&self, layer: &Layer, x: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t, h) = x.dims3()?;
        let (nh, d) = (self.config.num_attention_heads, self.config.head_dim());
        let heads = |linear: &Linear| -> candle_core::Result<Tensor> {
            linear
                .forward(x)?
                .reshape((b, t, nh, d))?
                .transpose(1, 2)?
                .contiguous()
        };
        let (q, k, v) = (
            heads(&layer.query)?,
            heads(&layer.key)?,
            heads(&layer.value)?,
        );
        let scores = (q.matmul(&k.t()?.contiguous()?)? / (d as f64).sqrt())?;
        let probs = candle_nn::ops::softmax_last_dim(&scores.broadcast_add(mask)?)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, t, h))?;
        let y = layer.attention_output.forward(&context)?;
        let x = layer.attention_norm.forward(&(x + y)?)?;
        let y = layer.intermediate.forward(&x)?.gelu_erf()?;
        let y = layer.output.forward(&y)?;
        layer.output_norm.forward(&(x + y)?)
    }

    /// HF's extended attention mask `(1 - mask) * finfo(dtype).min`,
    /// `[batch, 1, 1, seq]`, added to the attention scores.
    fn additive_mask(&self, mask: &Tensor) -> candle_core::Result<Tensor> {
        let min = match self.dtype {
            // `torch.finfo(float16 / bfloat16).min`.
            DType::F16 => -65504.0,
            DType::BF16 => -3.3895313892515355e38,
            _ => f32::MIN as f64,
        };
        let (batch, seq) = mask.dims2()?;
        ((1.0 - mask.to_dtype(DType::F32)?)? * min)?
            .to_dtype(self.dtype)?
            .reshape((batch, 1, 1, seq))
    }

    /// The outputs of [`inferbench_backend::bert`]: the last hidden state,
    /// then the pooled sentence embedding (pooled in f32).
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Vec<Tensor>> {
        let states = self.encode(ids, mask)?.to_dtype(DType::F32)?;
        match self.pooling {
            None => Ok(vec![states]),
            Some(pooling) => {
                let pooled = pool(&states, mask, pooling)?;
                Ok(vec![states, pooled])
            }
        }
    }
}

/// sentence-transformers' `Pooling` (padding excluded through the mask;
/// max pooling sets padding to -1e9 first, as it does) and `Normalize`
/// (`x / max(||x||, 1e-12)`).
fn pool(states: &Tensor, mask: &Tensor, pooling: SentencePooling) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(D::Minus1)?;
    let pooled = match pooling.mode {
        PoolingMode::Cls => states.narrow(1, 0, 1)?.squeeze(1)?,
        PoolingMode::Mean => states
            .broadcast_mul(&mask)?
            .sum(1)?
            .broadcast_div(&mask.sum(1)?)?,
        PoolingMode::Max => states.broadcast_add(&((1.0 - &mask)? * -1e9)?)?.max(1)?,
    };
    if !pooling.normalize {
        return Ok(pooled);
    }
    let norm = pooled
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .maximum(1e-12)?;
    pooled.broadcast_div(&norm)
}

impl Encoder for CandleBert {
    type Tensor = Tensor;

    fn config(&self) -> &BertConfig {
        &self.config
    }

    fn inputs(&self, input: &EncoderBatch) -> Result<(Tensor, Tensor), BackendError> {
        let shape = (input.batch, input.seq_len);
        let ids: Vec<u32> = input.ids.iter().map(|&t| t as u32).collect();
        let mask: Vec<u32> = input.mask.iter().map(|&m| m as u32).collect();
        let ids = Tensor::from_vec(ids, shape, &Device::Cpu).map_err(candle_err)?;
        let mask = Tensor::from_vec(mask, shape, &Device::Cpu).map_err(candle_err)?;
        Ok((ids, mask))
    }

    fn run(&self, ids: &Tensor, mask: &Tensor) -> Result<Vec<Tensor>, BackendError> {
        // candle's CPU ops are eager: the result is computed when this returns.
        self.forward(ids, mask).map_err(candle_err)
    }

    fn to_host(&self, name: &str, output: &Tensor) -> Result<HostTensor, BackendError> {
        Ok(HostTensor {
            name: name.into(),
            shape: output.dims().to_vec(),
            data: output
                .flatten_all()
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(candle_err)?,
        })
    }

    fn weight_bytes(&self) -> u64 {
        self.weight_bytes
    }
}
