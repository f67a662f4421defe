use std::path::PathBuf;

/// What can go wrong inside a backend. Messages are complete sentences that
/// the harness prints as they are, so they name the file or the operation.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The combination is not something this backend runs; the case is
    /// recorded as `skipped`, not as a failure.
    #[error("{0}")]
    Unsupported(String),
    /// The runtime itself is missing (native library not found, feature not
    /// compiled in); `hint` tells the user how to get it.
    #[error("{reason} (hint: {hint})")]
    Unavailable { reason: String, hint: String },
    #[error("cannot read model file {}: {message}", path.display())]
    ModelFile { path: PathBuf, message: String },
    #[error("loading the model failed: {0}")]
    Load(String),
    #[error("running the model failed: {0}")]
    Run(String),
}

impl BackendError {
    /// True when the case should be recorded as skipped rather than errored.
    pub fn is_skip(&self) -> bool {
        matches!(
            self,
            BackendError::Unsupported(_) | BackendError::Unavailable { .. }
        )
    }

    /// `Session::run` before any `prepare`: a harness bug, reported rather
    /// than run on stale or absent inputs.
    pub fn run_before_prepare() -> Self {
        BackendError::Run("run called before prepare".into())
    }

    /// `Session::outputs` before any `run`.
    pub fn outputs_before_run() -> Self {
        BackendError::Run("outputs requested before run".into())
    }
}
