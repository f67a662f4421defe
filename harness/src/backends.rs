//! The registry of backend adapters. A backend that is not compiled in is
//! still listed, as a stub with the same API that says how to get it, so
//! callers never take a different path for it (as candle does for its
//! `cuda` feature).

use inferbench_backend::{
    Backend, BackendError, BackendStatus, Device, LoadOptions, ModelSource, Precision, Session,
    Support,
};

use crate::scenario::BackendKind;

pub fn backend_for(kind: BackendKind) -> Box<dyn Backend> {
    match kind {
        BackendKind::Candle => Box::new(inferbench_candle::CandleBackend),
        BackendKind::Ort => Box::new(NotCompiled {
            name: "ort",
            hint: "the ONNX Runtime adapter is not part of this build yet",
        }),
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

/// Stand-in for an adapter left out of the build.
struct NotCompiled {
    name: &'static str,
    hint: &'static str,
}

impl NotCompiled {
    fn reason(&self) -> String {
        format!("backend `{}` is not compiled in", self.name)
    }
}

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
