//! The stand-in for a backend left out of the build by its cargo feature
//! (as candle's dummy `cuda` backend is): it keeps the backend's name and
//! declaration, so scenarios naming it still validate, `inferbench
//! backends` lists it with the way to get it, and its cases become
//! `skipped` rows with that reason, never a different code path.

use crate::{
    Backend, BackendError, BackendStatus, Capabilities, Device, LoadOptions, Matmul, MatmulSpec,
    ModelSource, OptionSpec, Precision, Session, Support,
};

/// A backend whose adapter is not compiled in. An adapter crate that links
/// a native library defines, with its feature off, a constant of this type
/// under its backend's name, so the registry line is the same either way.
#[derive(Debug, Clone, Copy)]
pub struct NotCompiled {
    pub name: &'static str,
    /// How to build it in, e.g. the cargo feature and the setup step.
    pub hint: &'static str,
    pub options: &'static [OptionSpec],
    pub capabilities: Capabilities,
}

impl NotCompiled {
    fn reason(&self) -> String {
        format!("backend `{}` is not compiled in", self.name)
    }

    fn unavailable(&self) -> BackendError {
        BackendError::Unavailable {
            reason: self.reason(),
            hint: self.hint.to_string(),
        }
    }
}

impl Backend for NotCompiled {
    fn name(&self) -> &'static str {
        self.name
    }

    fn options(&self) -> &'static [OptionSpec] {
        self.options
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
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

    fn matmul(&self, _: &MatmulSpec) -> Result<Box<dyn Matmul>, BackendError> {
        Err(self.unavailable())
    }

    /// The first check of every load fails: what it lacks is the build,
    /// and the error says how to get it (not only that the pair is
    /// unsupported, as the default check would).
    fn check_load(&self, _: &LoadOptions) -> Result<(), BackendError> {
        Err(self.unavailable())
    }

    fn open(&self, _: &ModelSource, _: &LoadOptions) -> Result<Box<dyn Session>, BackendError> {
        Err(self.unavailable())
    }
}
