//! The registry of backend adapters. A backend that is not compiled in is
//! still listed, as a stub with the same API that says how to get it, so
//! callers never take a different path for it (as candle does for its
//! `cuda` feature).

use inferbench_backend::Backend;
#[cfg(not(feature = "tch"))]
use inferbench_backend::{
    BackendError, BackendStatus, Device, LoadOptions, ModelSource, Precision, Session, Support,
};

use crate::scenario::BackendKind;

pub fn backend_for(kind: BackendKind) -> Box<dyn Backend> {
    match kind {
        BackendKind::Candle => Box::new(inferbench_candle::CandleBackend),
        BackendKind::Ort => Box::new(inferbench_ort::OrtBackend),
        BackendKind::Openai => Box::new(inferbench_openai::OpenAiBackend),
        #[cfg(feature = "tch")]
        BackendKind::Tch => Box::new(inferbench_tch::TchBackend),
        #[cfg(not(feature = "tch"))]
        BackendKind::Tch => Box::new(NotCompiled {
            name: "tch",
            hint: "run `bash ci/setup.sh` (assembles libtorch under vendor/libtorch), then build \
                   with `cargo build --release --features tch`",
        }),
    }
}

/// Makes `path` the ONNX Runtime library of this process and of the worker
/// processes it starts (they inherit the environment variable the ort
/// adapter reads first). A relative path is made absolute first, since
/// workers may resolve it differently.
///
/// Call it at start-up, before any other thread exists.
pub fn use_ort_library(path: &std::path::Path) {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    // SAFETY: called from `main` before any thread is spawned, so no other
    // thread can read the environment concurrently.
    unsafe { std::env::set_var(inferbench_ort::library::LIBRARY_ENV, path) };
}

/// Stand-in for an adapter left out of the build.
#[cfg(not(feature = "tch"))]
struct NotCompiled {
    name: &'static str,
    hint: &'static str,
}

#[cfg(not(feature = "tch"))]
impl NotCompiled {
    fn reason(&self) -> String {
        format!("backend `{}` is not compiled in", self.name)
    }
}

#[cfg(not(feature = "tch"))]
impl Backend for NotCompiled {
    fn name(&self) -> &'static str {
        self.name
    }

    fn status(&self) -> BackendStatus {
        BackendStatus::Unavailable {
            reason: self.reason(),
            hint: self.hint.to_string(),
        }
    }

    fn supports(&self, _: Device, _: Precision) -> Support {
        Support::No(self.reason())
    }

    fn load(&self, _: &ModelSource, _: &LoadOptions) -> Result<Box<dyn Session>, BackendError> {
        Err(BackendError::Unavailable {
            reason: self.reason(),
            hint: self.hint.to_string(),
        })
    }
}
