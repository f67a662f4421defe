//! A checkpoint's tensors, read from one safetensors file by name and
//! checked against the shapes the model's config gives them, before any of
//! them is used: a missing or misshapen tensor is an error that names it,
//! never a broadcast copy (which is what `VarStore::load`'s `copy_` would
//! make of a `[h]` tensor where `[v, h]` was meant).

use std::collections::HashMap;
use std::path::Path;

use inferbench_backend::BackendError;
use safetensors::{Dtype, SafeTensors};
use tch::{Kind, Tensor};

use crate::error::torch_message;

/// What loading a model from its config begins with: the config holds
/// together (`valid`, else a `Load` error, "Llama config: ..."), and `kind`
/// is one the models compute in: f32, f16 or bf16 (else a skip, "the tch
/// Llama does not run in ...").
pub fn check_model(
    config: &str,
    valid: Result<(), String>,
    model: &str,
    kind: Kind,
) -> Result<(), BackendError> {
    valid.map_err(|m| BackendError::Load(format!("{config} config: {m}")))?;
    if matches!(kind, Kind::Float | Kind::Half | Kind::BFloat16) {
        Ok(())
    } else {
        Err(BackendError::Unsupported(format!(
            "the tch {model} does not run in {kind:?}"
        )))
    }
}

/// Tensors by name, on their device in the model's kind.
pub struct Weights {
    path: std::path::PathBuf,
    tensors: HashMap<String, Tensor>,
}

impl Weights {
    /// Reads every tensor of `expected` (name, shape) from `path`, converted
    /// to `kind` on `device`. Tensors the file has beyond those are ignored
    /// (a tied checkpoint may still carry `lm_head.weight`).
    pub fn read(
        path: &Path,
        expected: &[(String, Vec<usize>)],
        kind: Kind,
        device: tch::Device,
    ) -> Result<Self, BackendError> {
        let file_error = |message: String| BackendError::ModelFile {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| file_error(e.to_string()))?;
        let file = SafeTensors::deserialize(&bytes)
            .map_err(|e| file_error(format!("not a safetensors file: {e}")))?;
        let mut tensors = HashMap::with_capacity(expected.len());
        for (name, shape) in expected {
            let view = file
                .tensor(name)
                .map_err(|_| file_error(format!("tensor `{name}` is missing")))?;
            if view.shape() != shape.as_slice() {
                return Err(file_error(format!(
                    "tensor `{name}` has shape {:?}; the config makes it {shape:?}",
                    view.shape()
                )));
            }
            let stored = match view.dtype() {
                Dtype::F32 => Kind::Float,
                Dtype::F16 => Kind::Half,
                Dtype::BF16 => Kind::BFloat16,
                other => {
                    return Err(file_error(format!(
                        "tensor `{name}` is {other:?}; expected f32, f16 or bf16"
                    )));
                }
            };
            let size: Vec<i64> = shape.iter().map(|&s| s as i64).collect();
            let tensor = Tensor::f_from_data_size(view.data(), &size, stored)
                .and_then(|t| t.f_to_kind(kind))
                .and_then(|t| t.f_to_device(device))
                .map_err(|e| file_error(format!("tensor `{name}`: {}", torch_message(&e))))?;
            tensors.insert(name.clone(), tensor);
        }
        Ok(Self {
            path: path.to_path_buf(),
            tensors,
        })
    }

    /// Hands over the tensor `name` (read by [`Weights::read`]).
    pub fn take(&mut self, name: &str) -> Result<Tensor, BackendError> {
        self.tensors
            .remove(name)
            .ok_or_else(|| BackendError::ModelFile {
                path: self.path.clone(),
                message: format!("tensor `{name}` was not read (or was taken twice)"),
            })
    }
}
