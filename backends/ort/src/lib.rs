//! inferbench backend adapter for ONNX Runtime, loaded at run time from
//! `libonnxruntime` (see [`library`] for where it is looked up).
//!
//! The synthetic GPT is exported to an `.onnx` file by inferbench's own
//! writer ([`onnx`]) from the same safetensors weights candle reads, and
//! cached beside them; a model file named in a scenario runs as it is.

pub mod library;
pub mod onnx;
mod options;
mod session;

use inferbench_backend::{
    Backend, BackendError, BackendStatus, Device, LoadOptions, ModelFormat, ModelSource, Precision,
    Session, Support,
};
use ort::session::Session as OrtSessionHandle;

pub use options::{KEYS as OPTION_KEYS, SessionConfig};
use session::OrtSession;

#[derive(Debug, Default)]
pub struct OrtBackend;

impl Backend for OrtBackend {
    fn name(&self) -> &'static str {
        "ort"
    }

    fn status(&self) -> BackendStatus {
        match library::runtime() {
            Ok(rt) => BackendStatus::Ready {
                runtime_version: format!("onnxruntime {} ({})", rt.version, rt.path.display()),
            },
            Err(u) => BackendStatus::Unavailable {
                reason: u.reason,
                hint: u.hint,
            },
        }
    }

    fn supports(&self, device: Device, precision: Precision) -> Support {
        if !device.is_cpu() && !cfg!(feature = "cuda") {
            return Support::No(format!("{}, not {device}", options::CUDA_NOT_COMPILED));
        }
        // The exported GPT is an f32 graph; lower precisions would need
        // ORT's quantization tools, which are Python-only.
        match precision {
            Precision::F32 => Support::Yes,
            other => Support::No(format!(
                "the ort backend runs f32 graphs; precision {other} is not exported"
            )),
        }
    }

    fn load(
        &self,
        model: &ModelSource,
        options: &LoadOptions,
    ) -> Result<Box<dyn Session>, BackendError> {
        let runtime = library::runtime().map_err(|u| BackendError::Unavailable {
            reason: u.reason,
            hint: u.hint,
        })?;
        if let Support::No(reason) = self.supports(options.device, options.precision) {
            return Err(BackendError::Unsupported(reason));
        }
        let config = SessionConfig::parse(&options.options, options.threads, options.device)?;
        let (path, synthetic, weight_bytes) = match model {
            ModelSource::SyntheticGpt {
                spec,
                weights,
                cache_dir,
            } => (
                onnx::ensure_gpt_onnx(spec, weights, cache_dir)?,
                true,
                Some(spec.parameter_count() * 4),
            ),
            ModelSource::File {
                path,
                format: ModelFormat::Onnx,
            } => (path.clone(), false, None),
            ModelSource::File { format, .. } => {
                return Err(BackendError::Unsupported(format!(
                    "ONNX Runtime does not run {} model files",
                    format.as_str()
                )));
            }
        };
        let builder = OrtSessionHandle::builder(&runtime.environment)
            .map_err(|e| BackendError::Load(format!("ONNX Runtime session builder: {e}")))?;
        let mut builder = config.apply(builder)?;
        let session = builder
            .commit_from_file(&path)
            .map_err(|e| BackendError::ModelFile {
                path: path.clone(),
                message: format!("ONNX Runtime cannot load it: {e}"),
            })?;
        Ok(Box::new(OrtSession::new(session, synthetic, weight_bytes)))
    }
}
