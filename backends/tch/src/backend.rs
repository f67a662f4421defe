//! The `tch` backend: the synthetic GPT, Llama-family models and
//! TorchScript files on libtorch.

use inferbench_backend::{
    Backend, BackendError, BackendStatus, Capabilities, Device, EncoderSession, LmSession,
    LoadOptions, Matmul, MatmulSpec, ModelFormat, ModelSource, OptionSpec, Precision, Session,
    Support,
};
use tch::Kind;

use crate::bert::TchBert;
use crate::causal_lm::Lm;
use crate::device::tch_device;
use crate::gpt::TchGpt;
use crate::llama::TchLlama;
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
        crate::declaration::NAME
    }

    fn options(&self) -> &'static [OptionSpec] {
        crate::declaration::OPTIONS
    }

    fn capabilities(&self) -> Capabilities {
        crate::declaration::CAPABILITIES
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

    fn matmul(&self, spec: &MatmulSpec) -> Result<Box<dyn Matmul>, BackendError> {
        Ok(Box::new(crate::matmul::TchMatmul::new(spec)?))
    }

    fn open(
        &self,
        model: &ModelSource,
        options: &LoadOptions,
    ) -> Result<Box<dyn Session>, BackendError> {
        let threads = i32::try_from(options.threads.max(1))
            .map_err(|_| BackendError::Load(format!("{} threads is too many", options.threads)))?;
        tch::set_num_threads(threads);
        let device = tch_device(options.device).map_err(BackendError::Unsupported)?;
        let kind = kind(options.precision).expect("checked by supports");
        load_model(model, kind, options, device)
    }
}

/// A session over `model`, built in `kind` on `device`.
fn load_model(
    model: &ModelSource,
    kind: Kind,
    options: &LoadOptions,
    device: tch::Device,
) -> Result<Box<dyn Session>, BackendError> {
    match model {
        ModelSource::SyntheticGpt { spec, weights, .. } => Ok(Box::new(LmSession::new(
            Lm(TchGpt::load(spec, weights, kind, device)?),
            None,
            Vec::new(),
        ))),
        ModelSource::Llama {
            config, weights, ..
        } => Ok(Box::new(LmSession::new(
            Lm(TchLlama::load(config, weights, kind, device)?),
            None,
            Vec::new(),
        ))),
        ModelSource::Bert {
            config,
            weights,
            pooling,
            ..
        } => Ok(Box::new(EncoderSession::new(
            TchBert::load(config, *pooling, weights, kind, device)?,
            None,
        ))),
        ModelSource::File {
            path,
            format: ModelFormat::TorchScript,
        } => Ok(Box::new(TorchScriptSession::load(
            path,
            options.device,
            options.precision,
        )?)),
        ModelSource::File { format, .. } => Err(BackendError::Unsupported(format!(
            "tch runs TorchScript files, not {} files",
            format.as_str()
        ))),
    }
}
