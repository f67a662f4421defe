use std::path::PathBuf;

/// What can go wrong reading a checkpoint. Every variant names the file, and
/// where it helps the key or tensor, so the message can be printed as is.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file's content is wrong or unsupported; `message` names the key or
    /// tensor.
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl ModelError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            source,
        }
    }

    pub fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ModelError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}
