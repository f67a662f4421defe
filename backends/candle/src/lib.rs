//! inferbench backend adapter for candle: the synthetic GPT written with
//! `candle_core` tensors and `candle_nn` layers, on CPU in f32, f16 and bf16,
//! with its linear layers quantized to GGUF's Q8_0, Q4_0 and Q4_K, and with
//! a KV-cache decoder for generation.

mod bert;
mod gpt;
mod kv_cache;
mod llama;
mod llama_weights;
mod matmul;
mod quantize;
mod weights;

use candle_core::{DType, Device as CandleDevice, Tensor};
use inferbench_backend::{
    Backend, BackendError, BackendStatus, Capabilities, Device, EncoderSession, HostTensor,
    LanguageModel, LmSession, LoadOptions, Matmul, MatmulSpec, ModelKind, ModelSource, Precision,
    Session, Support, TokenBatch,
};

use crate::weights::build_from_safetensors;

pub use bert::CandleBert;
pub use gpt::CandleGpt;
pub use kv_cache::KvCache;
pub use llama::CandleLlama;

/// The candle adapter. Thread count comes from `RAYON_NUM_THREADS`, which
/// candle reads once per process: the harness sets it in each case's worker
/// process before anything runs.
#[derive(Debug, Default)]
pub struct CandleBackend;

fn dtype(precision: Precision) -> Option<DType> {
    match precision {
        Precision::F32 => Some(DType::F32),
        Precision::F16 => Some(DType::F16),
        Precision::Bf16 => Some(DType::BF16),
        _ => None,
    }
}

fn candle_err(e: candle_core::Error) -> BackendError {
    BackendError::Run(e.to_string())
}

impl Backend for CandleBackend {
    fn name(&self) -> &'static str {
        "candle"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            models: &[ModelKind::SyntheticGpt, ModelKind::Llama, ModelKind::Bert],
            logits: true,
            decoder: true,
            endpoint: false,
        }
    }

    fn status(&self) -> BackendStatus {
        BackendStatus::Ready {
            runtime_version: format!("candle-core {}", candle_version()),
        }
    }

    fn supports(&self, device: Device, precision: Precision) -> Support {
        if !device.is_cpu() {
            return Support::No(format!(
                "candle was built without its `cuda` feature, so it runs on cpu only, not {device}"
            ));
        }
        if dtype(precision).is_some()
            || quantize::ggml_dtype(precision).is_some()
            || precision == Precision::Gguf
        {
            Support::Yes
        } else {
            Support::No(format!(
                "candle has no {precision} kernels; its 8-bit level is q8_0 (GGUF blocks)"
            ))
        }
    }

    fn matmul(&self, spec: &MatmulSpec) -> Result<Box<dyn Matmul>, BackendError> {
        Ok(Box::new(matmul::CandleMatmul::new(spec)?))
    }

    fn open(
        &self,
        model: &ModelSource,
        options: &LoadOptions,
    ) -> Result<Box<dyn Session>, BackendError> {
        let (spec, weights, cache_dir) = match model {
            ModelSource::SyntheticGpt {
                spec,
                weights,
                cache_dir,
            } => (spec, weights, cache_dir),
            ModelSource::Llama {
                config,
                weights,
                gguf,
                ..
            } => return load_llama(config, weights, gguf.as_deref(), options.precision),
            ModelSource::Bert {
                config,
                weights,
                pooling,
                ..
            } => return load_bert(config, *pooling, weights, options.precision),
            ModelSource::File { format, .. } => {
                return Err(BackendError::Unsupported(format!(
                    "candle runs the synthetic GPT and Llama-family models, not {} model files",
                    format.as_str()
                )));
            }
        };
        if options.precision == Precision::Gguf {
            return Err(BackendError::Unsupported(
                "precision gguf runs a GGUF file as stored; the synthetic GPT has none".into(),
            ));
        }
        let mut model_file = weights.clone();
        let model = match quantize::ggml_dtype(options.precision) {
            Some(ggml) => {
                quantize::check_block_size(spec, ggml).map_err(BackendError::Unsupported)?;
                let gguf = quantize::ensure_gguf(spec, weights, cache_dir, ggml).map_err(|e| {
                    BackendError::Load(format!("quantizing to {}: {e}", options.precision))
                })?;
                let model = CandleGpt::load_gguf(spec, &gguf, &CandleDevice::Cpu)?;
                model_file = gguf;
                model
            }
            None => {
                let dtype = dtype(options.precision).expect("checked by supports");
                build_from_safetensors(weights, dtype, &CandleDevice::Cpu, |w| {
                    CandleGpt::from_weights(spec, w, dtype)
                })?
            }
        };
        let model_file_bytes = std::fs::metadata(&model_file).ok().map(|m| m.len());
        Ok(Box::new(LmSession::new(
            Model::Gpt(model),
            model_file_bytes,
            Vec::new(),
        )))
    }
}

fn load_bert(
    config: &inferbench_backend::BertConfig,
    pooling: Option<inferbench_backend::SentencePooling>,
    weights: &std::path::Path,
    precision: Precision,
) -> Result<Box<dyn Session>, BackendError> {
    let dtype = dtype(precision).ok_or_else(|| {
        BackendError::Unsupported(format!(
            "candle runs encoders in f32, f16 and bf16, not {precision}"
        ))
    })?;
    let model = CandleBert::load(config, pooling, weights, dtype)?;
    let model_file_bytes = std::fs::metadata(weights).ok().map(|m| m.len());
    Ok(Box::new(EncoderSession::new(model, model_file_bytes)))
}

/// The Llama family: f32/f16/bf16 from the shared safetensors file, the
/// quantized levels re-quantized from it, `gguf` from the GGUF file as stored.
fn load_llama(
    config: &inferbench_backend::LlamaConfig,
    weights: &std::path::Path,
    gguf: Option<&std::path::Path>,
    precision: Precision,
) -> Result<Box<dyn Session>, BackendError> {
    let load_err =
        |e: candle_core::Error| BackendError::Load(format!("quantizing to {precision}: {e}"));
    let mut notes = Vec::new();
    let mut model_file = weights.to_path_buf();
    let model = if let Some(dtype) = dtype(precision) {
        build_from_safetensors(weights, dtype, &CandleDevice::Cpu, |w| {
            CandleLlama::from_weights(config, w, dtype)
        })?
    } else if let Some(ggml) = quantize::ggml_dtype(precision) {
        let (source, note) = llama_weights::requantized(config, weights, ggml).map_err(load_err)?;
        notes.extend(note);
        CandleLlama::from_source(config, &source).map_err(load_err)?
    } else {
        let path = gguf.ok_or_else(|| {
            BackendError::Unsupported(
                "precision gguf runs a GGUF file as stored; this model did not come as one".into(),
            )
        })?;
        model_file = path.to_path_buf();
        let file_err = |message: String| BackendError::ModelFile {
            path: path.to_path_buf(),
            message,
        };
        let source = llama_weights::as_stored(config, path).map_err(file_err)?;
        CandleLlama::from_source(config, &source).map_err(|e| file_err(e.to_string()))?
    };
    let model_file_bytes = std::fs::metadata(&model_file).ok().map(|m| m.len());
    Ok(Box::new(LmSession::new(
        Model::Llama(model),
        model_file_bytes,
        notes,
    )))
}

/// The networks a session runs.
enum Model {
    Gpt(CandleGpt),
    Llama(CandleLlama),
}

impl Model {
    fn forward_cached(&self, ids: &Tensor, cache: &mut KvCache) -> candle_core::Result<Tensor> {
        match self {
            Model::Gpt(m) => m.forward_cached(ids, cache),
            Model::Llama(m) => m.forward_cached(ids, cache),
        }
    }

    fn forward(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        self.forward_cached(ids, &mut self.new_cache())
    }
}

impl LanguageModel for Model {
    type Tensor = Tensor;
    type Cache = KvCache;

    fn limits(&self) -> (usize, usize) {
        match self {
            Model::Gpt(m) => (m.spec().vocab_size, m.spec().max_seq),
            Model::Llama(m) => (m.config().vocab_size, m.config().max_position_embeddings),
        }
    }

    fn ids(&self, batch: &TokenBatch) -> Result<Tensor, BackendError> {
        let ids: Vec<u32> = batch.ids.iter().map(|&t| t as u32).collect();
        Tensor::from_vec(ids, (batch.batch, batch.seq_len), &CandleDevice::Cpu).map_err(candle_err)
    }

    fn logits(&self, ids: &Tensor) -> Result<Tensor, BackendError> {
        // candle's CPU ops are eager: the result is computed when this returns.
        self.forward(ids).map_err(candle_err)
    }

    fn to_host(&self, logits: &Tensor) -> Result<HostTensor, BackendError> {
        let shape = logits.dims().to_vec();
        let data = logits
            .to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(candle_err)?;
        Ok(HostTensor {
            name: "logits".into(),
            shape,
            data,
        })
    }

    fn weight_bytes(&self) -> u64 {
        match self {
            Model::Gpt(m) => m.weight_bytes(),
            Model::Llama(m) => m.weight_bytes(),
        }
    }

    fn new_cache(&self) -> KvCache {
        KvCache::new(match self {
            Model::Gpt(m) => m.spec().layers,
            Model::Llama(m) => m.config().num_hidden_layers,
        })
    }

    fn extend(&self, cache: &mut KvCache, batch: &TokenBatch) -> Result<HostTensor, BackendError> {
        let logits = self
            .forward_cached(&self.ids(batch)?, cache)
            .map_err(candle_err)?;
        let last = logits
            .narrow(1, batch.seq_len - 1, 1)
            .and_then(|t| t.squeeze(1))
            .map_err(candle_err)?;
        self.to_host(&last)
    }
}

/// The crate version this adapter was built against.
pub fn candle_version() -> &'static str {
    "0.11.1"
}

#[cfg(test)]
mod tests;
