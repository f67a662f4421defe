//! The `tch` backend: the synthetic GPT on libtorch.

use inferbench_backend::{
    Backend, BackendError, BackendStatus, Decoder, Device, HostTensor, LoadOptions, ModelFormat,
    ModelSource, Precision, Session, Support, TokenBatch,
};
use tch::{Kind, Tensor};

use crate::bert::{TchBert, TchBertSession};
use crate::device::{synchronize, tch_device};
use crate::error::run_error;
use crate::gpt::{KvCache, TchGpt};
use crate::inference_mode::inference;
use crate::torchscript::TorchScriptSession;

/// The libtorch adapter. Threads: `tch::set_num_threads` (ATen's intra-op
/// pool, OpenMP) from the case's `threads`, set at load.
#[derive(Debug, Default)]
pub struct TchBackend;

/// The PyTorch release that tch 0.26.0 is built against; torch-sys refuses
/// any other (it checks `$LIBTORCH/build-version`).
pub fn libtorch_version() -> &'static str {
    "2.13.0"
}

pub(crate) fn kind(precision: Precision) -> Option<Kind> {
    match precision {
        Precision::F32 => Some(Kind::Float),
        Precision::F16 => Some(Kind::Half),
        Precision::Bf16 => Some(Kind::BFloat16),
        _ => None,
    }
}

impl Backend for TchBackend {
    fn name(&self) -> &'static str {
        "tch"
    }

    fn status(&self) -> BackendStatus {
        let cuda = if tch::Cuda::is_available() {
            format!(", {} CUDA device(s)", tch::Cuda::device_count())
        } else {
            ", cpu only".to_string()
        };
        BackendStatus::Ready {
            runtime_version: format!("libtorch {} (tch 0.26.0{cuda})", libtorch_version()),
        }
    }

    fn supports(&self, device: Device, precision: Precision) -> Support {
        if let Err(reason) = tch_device(device) {
            return Support::No(reason);
        }
        match kind(precision) {
            Some(_) => Support::Yes,
            None => Support::No(format!(
                "tch runs f32, f16 and bf16, not precision {precision}"
            )),
        }
    }

    fn load(
        &self,
        model: &ModelSource,
        options: &LoadOptions,
    ) -> Result<Box<dyn Session>, BackendError> {
        if let Support::No(reason) = self.supports(options.device, options.precision) {
            return Err(BackendError::Unsupported(reason));
        }
        if let Some((key, _)) = options.options.iter().next() {
            return Err(BackendError::Load(format!("tch has no option `{key}`")));
        }
        let threads = i32::try_from(options.threads.max(1))
            .map_err(|_| BackendError::Load(format!("{} threads is too many", options.threads)))?;
        tch::set_num_threads(threads);
        let device = tch_device(options.device).map_err(BackendError::Unsupported)?;
        let kind = kind(options.precision).expect("checked by supports");
        let (spec, weights) = match model {
            ModelSource::SyntheticGpt { spec, weights, .. } => (spec, weights),
            ModelSource::File {
                path,
                format: ModelFormat::TorchScript,
            } => {
                let session = TorchScriptSession::load(path, options.device, options.precision)?;
                return Ok(Box::new(session));
            }
            ModelSource::Llama { .. } => {
                return Err(BackendError::Unsupported(
                    "tch does not run Llama-family models yet".into(),
                ));
            }
            ModelSource::Bert {
                config,
                weights,
                pooling,
                ..
            } => {
                let model = TchBert::load(config, *pooling, weights, kind, device)?;
                return Ok(Box::new(TchBertSession {
                    model,
                    input: None,
                    outputs: Vec::new(),
                }));
            }
            ModelSource::File { format, .. } => {
                return Err(BackendError::Unsupported(format!(
                    "tch runs TorchScript files, not {} files",
                    format.as_str()
                )));
            }
        };
        let model = TchGpt::load(spec, weights, kind, device)?;
        Ok(Box::new(TchGptSession {
            model,
            input: None,
            logits: None,
        }))
    }
}

struct TchGptSession {
    model: TchGpt,
    input: Option<Tensor>,
    logits: Option<Tensor>,
}

impl Session for TchGptSession {
    fn prepare(&mut self, input: &TokenBatch) -> Result<(), BackendError> {
        let ids = Tensor::from_slice(&input.ids)
            .f_view([input.batch as i64, input.seq_len as i64])
            .and_then(|t| t.f_to_device(self.model.device()))
            .map_err(run_error)?;
        self.input = Some(ids);
        Ok(())
    }

    fn run(&mut self) -> Result<(), BackendError> {
        let input = self
            .input
            .as_ref()
            .ok_or_else(|| BackendError::Run("run called before prepare".into()))?;
        // Drop the previous logits first, so the allocator can reuse them.
        self.logits = None;
        let logits = inference(|| self.model.forward(input)).map_err(run_error)?;
        synchronize(self.model.device());
        self.logits = Some(logits);
        Ok(())
    }

    fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError> {
        let logits = self
            .logits
            .as_ref()
            .ok_or_else(|| BackendError::Run("outputs requested before run".into()))?;
        Ok(vec![crate::torchscript::host_tensor("logits", logits)?])
    }

    fn weight_bytes(&self) -> Option<u64> {
        Some(self.model.weight_bytes())
    }

    fn decoder(&mut self) -> Result<Box<dyn Decoder + '_>, BackendError> {
        let layers = self.model.spec().layers;
        Ok(Box::new(TchDecoder {
            model: &self.model,
            cache: KvCache::new(layers),
        }))
    }
}

/// Incremental decoding: each layer's keys and values stay on the model's
/// device and grow by the new tokens' at every call.
struct TchDecoder<'a> {
    model: &'a TchGpt,
    cache: KvCache,
}

impl TchDecoder<'_> {
    /// Runs `ids` `[batch, new]` and returns the last position's logits
    /// `[batch, vocab]`.
    fn advance(&mut self, ids: &[i64], batch: usize) -> Result<HostTensor, BackendError> {
        let batch = batch.max(1);
        let new = ids.len() / batch;
        if new == 0 || new * batch != ids.len() {
            return Err(BackendError::Run(format!(
                "{} token ids do not make {batch} sequences",
                ids.len()
            )));
        }
        let model = self.model;
        let cache = &mut self.cache;
        let last = inference(|| {
            let ids = Tensor::from_slice(ids)
                .f_view([batch as i64, new as i64])?
                .f_to_device(model.device())?;
            let logits = model.forward_cached(&ids, cache)?;
            logits.f_select(1, new as i64 - 1)
        })
        .map_err(run_error)?;
        synchronize(model.device());
        crate::torchscript::host_tensor("logits", &last)
    }
}

impl Decoder for TchDecoder<'_> {
    fn prefill(&mut self, prompt: &TokenBatch) -> Result<HostTensor, BackendError> {
        self.cache = KvCache::new(self.model.spec().layers);
        self.advance(&prompt.ids, prompt.batch)
    }

    fn step(&mut self, tokens: &[i64]) -> Result<HostTensor, BackendError> {
        if self.cache.is_empty() {
            return Err(BackendError::Run("step called before prefill".into()));
        }
        self.advance(tokens, tokens.len())
    }
}
