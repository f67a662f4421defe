//! inferbench backend adapter for candle: the synthetic GPT written with
//! `candle_core` tensors and `candle_nn` layers, on CPU in f32, f16 and bf16.

mod gpt;

use candle_core::{DType, Device as CandleDevice, Tensor};
use inferbench_backend::{
    Backend, BackendError, BackendStatus, Device, HostTensor, LoadOptions, ModelSource, Precision,
    Session, Support, TokenBatch,
};

pub use gpt::CandleGpt;

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
        match dtype(precision) {
            Some(_) => Support::Yes,
            None => Support::No(format!("candle does not run precision {precision}")),
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
            return Err(BackendError::Load(format!("candle has no option `{key}`")));
        }
        let dtype = dtype(options.precision).expect("checked by supports");
        let (spec, weights) = match model {
            ModelSource::SyntheticGpt { spec, weights, .. } => (spec, weights),
            ModelSource::File { format, .. } => {
                return Err(BackendError::Unsupported(format!(
                    "candle runs the synthetic GPT only, not {} model files",
                    format.as_str()
                )));
            }
        };
        let model = CandleGpt::load(spec, weights, dtype, &CandleDevice::Cpu)?;
        Ok(Box::new(CandleSession {
            model,
            input: None,
            logits: None,
        }))
    }
}

/// The crate version this adapter was built against.
pub fn candle_version() -> &'static str {
    "0.11.1"
}

struct CandleSession {
    model: CandleGpt,
    input: Option<Tensor>,
    logits: Option<Tensor>,
}

impl Session for CandleSession {
    fn prepare(&mut self, input: &TokenBatch) -> Result<(), BackendError> {
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
            .ok_or_else(|| BackendError::Run("run called before prepare".into()))?;
        // candle's CPU ops are eager: the result is computed when this returns.
        self.logits = Some(self.model.forward(input).map_err(candle_err)?);
        Ok(())
    }

    fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError> {
        let logits = self
            .logits
            .as_ref()
            .ok_or_else(|| BackendError::Run("outputs requested before run".into()))?;
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
}
