//! inferbench backend adapter for candle: the synthetic GPT written with
//! `candle_core` tensors and `candle_nn` layers, on CPU in f32, f16 and bf16,
//! with its linear layers quantized to GGUF's Q8_0, Q4_0 and Q4_K, and with
//! a KV-cache decoder for generation.

mod bert;
mod gpt;
mod llama;
mod llama_weights;
mod matmul;
mod quantize;
mod weights;

use candle_core::{DType, Device as CandleDevice, Tensor};
use inferbench_backend::{
    Backend, BackendError, BackendStatus, Capabilities, Decoder, Device, HostTensor, KvCacheShape,
    LoadOptions, Matmul, MatmulSpec, ModelKind, ModelSource, Precision, Session, Support,
    TokenBatch,
};

pub use bert::CandleBert;
pub use gpt::{CandleGpt, KvCache};
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

    fn load(
        &self,
        model: &ModelSource,
        options: &LoadOptions,
    ) -> Result<Box<dyn Session>, BackendError> {
        self.check_load(options)?;
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
                CandleGpt::load(spec, weights, dtype, &CandleDevice::Cpu)?
            }
        };
        Ok(Box::new(CandleSession {
            model: Model::Gpt(model),
            input: None,
            logits: None,
            model_file_bytes: std::fs::metadata(&model_file).ok().map(|m| m.len()),
            notes: Vec::new(),
        }))
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
    Ok(Box::new(bert::CandleBertSession {
        model,
        input: None,
        outputs: Vec::new(),
        model_file_bytes: std::fs::metadata(weights).ok().map(|m| m.len()),
    }))
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
        CandleLlama::load(config, weights, dtype, &CandleDevice::Cpu)?
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
    Ok(Box::new(CandleSession {
        model: Model::Llama(model),
        input: None,
        logits: None,
        model_file_bytes: std::fs::metadata(&model_file).ok().map(|m| m.len()),
        notes,
    }))
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

    /// Vocabulary size and positions: the bounds of valid input.
    fn limits(&self) -> (usize, usize) {
        match self {
            Model::Gpt(m) => (m.spec().vocab_size, m.spec().max_seq),
            Model::Llama(m) => (m.config().vocab_size, m.config().max_position_embeddings),
        }
    }

    fn cache_shape(&self) -> KvCacheShape {
        let (vocab_size, max_positions) = self.limits();
        KvCacheShape::new(vocab_size, max_positions)
    }

    fn new_cache(&self) -> KvCache {
        KvCache::new(match self {
            Model::Gpt(m) => m.spec().layers,
            Model::Llama(m) => m.config().num_hidden_layers,
        })
    }

    fn weight_bytes(&self) -> u64 {
        match self {
            Model::Gpt(m) => m.weight_bytes(),
            Model::Llama(m) => m.weight_bytes(),
        }
    }
}

/// The crate version this adapter was built against.
pub fn candle_version() -> &'static str {
    "0.11.1"
}

struct CandleSession {
    model: Model,
    input: Option<Tensor>,
    logits: Option<Tensor>,
    model_file_bytes: Option<u64>,
    notes: Vec<String>,
}

impl Session for CandleSession {
    fn prepare(&mut self, input: &TokenBatch) -> Result<(), BackendError> {
        let (vocab_size, max_positions) = self.model.limits();
        input.validate(vocab_size, max_positions)?;
        let ids: Vec<u32> = input.ids.iter().map(|&t| t as u32).collect();
        let tensor = Tensor::from_vec(ids, (input.batch, input.seq_len), &CandleDevice::Cpu)
            .map_err(candle_err)?;
        self.input = Some(tensor);
        Ok(())
    }

    fn run(&mut self) -> Result<(), BackendError> {
        let input = self
            .input
            .as_ref()
            .ok_or_else(BackendError::run_before_prepare)?;
        // candle's CPU ops are eager: the result is computed when this returns.
        self.logits = Some(self.model.forward(input).map_err(candle_err)?);
        Ok(())
    }

    fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError> {
        let logits = self
            .logits
            .as_ref()
            .ok_or_else(BackendError::outputs_before_run)?;
        let shape = logits.dims().to_vec();
        let data = logits
            .to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(candle_err)?;
        Ok(vec![HostTensor {
            name: "logits".into(),
            shape,
            data,
        }])
    }

    fn weight_bytes(&self) -> Option<u64> {
        Some(self.model.weight_bytes())
    }

    fn model_file_bytes(&self) -> Option<u64> {
        self.model_file_bytes
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    fn decoder(&mut self) -> Result<Box<dyn Decoder + '_>, BackendError> {
        Ok(Box::new(CandleDecoder {
            cache: self.model.new_cache(),
            model: &self.model,
            shape: self.model.cache_shape(),
        }))
    }
}

struct CandleDecoder<'a> {
    model: &'a Model,
    cache: KvCache,
    shape: KvCacheShape,
}

impl CandleDecoder<'_> {
    /// Runs `ids` `[batch, new]` and returns the last position's logits.
    fn advance(&mut self, ids: Vec<u32>, batch: usize) -> Result<HostTensor, BackendError> {
        let new = ids.len() / batch.max(1);
        let ids = Tensor::from_vec(ids, (batch, new), &CandleDevice::Cpu).map_err(candle_err)?;
        let logits = self
            .model
            .forward_cached(&ids, &mut self.cache)
            .map_err(candle_err)?;
        let last = logits
            .narrow(1, new - 1, 1)
            .and_then(|t| t.squeeze(1))
            .and_then(|t| t.to_dtype(DType::F32))
            .map_err(candle_err)?;
        let shape = last.dims().to_vec();
        let data = last
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(candle_err)?;
        Ok(HostTensor {
            name: "logits".into(),
            shape,
            data,
        })
    }
}

impl Decoder for CandleDecoder<'_> {
    fn prefill(&mut self, prompt: &TokenBatch) -> Result<HostTensor, BackendError> {
        self.shape.prefill(prompt)?;
        self.cache = self.model.new_cache();
        self.advance(prompt.ids.iter().map(|&t| t as u32).collect(), prompt.batch)
    }

    fn step(&mut self, tokens: &[i64]) -> Result<HostTensor, BackendError> {
        self.shape.step(tokens)?;
        self.advance(tokens.iter().map(|&t| t as u32).collect(), tokens.len())
    }
}

#[cfg(test)]
mod tests;
