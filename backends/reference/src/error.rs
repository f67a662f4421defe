/// What can go wrong loading or running a reference model.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// Bad weights or inputs; the message names the file, tensor or value.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Model(#[from] inferbench_models::ModelError),
}
