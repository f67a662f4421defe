//! Where the candle GPT's tensors come from: the shared safetensors file
//! (f32/f16/bf16) or a GGUF file of quantized linear layers.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor, gguf_file};
use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};
use inferbench_backend::BackendError;

/// A linear layer `y = x Wᵀ + b`, dense or with a quantized weight.
pub enum Projection {
    Dense(Linear),
    Quantized {
        weight: QMatMul,
        bias: Option<Tensor>,
    },
}

impl Module for Projection {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Projection::Dense(linear) => linear.forward(x),
            Projection::Quantized { weight, bias } => {
                let y = weight.forward(x)?;
                match bias {
                    Some(b) => y.broadcast_add(b),
                    None => Ok(y),
                }
            }
        }
    }
}

/// A model built from the weights file at `path`, which `open` reads; an
/// error of either step is the file's ([`BackendError::ModelFile`]).
pub fn build_from_file<T>(
    path: &Path,
    open: impl FnOnce(&Path) -> Result<WeightSource<'static>>,
    build: impl FnOnce(&WeightSource) -> Result<T>,
) -> std::result::Result<T, BackendError> {
    let file_err = |e: candle_core::Error| BackendError::ModelFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    build(&open(path).map_err(file_err)?).map_err(file_err)
}

/// A model built by `build` from the f32 safetensors file at `path`,
/// memory-mapped with its tensors read as `dtype` on `device`.
pub fn build_from_safetensors<T>(
    path: &Path,
    dtype: DType,
    device: &Device,
    build: impl FnOnce(&WeightSource) -> Result<T>,
) -> std::result::Result<T, BackendError> {
    build_from_file(
        path,
        |path| WeightSource::mmap_safetensors(path, dtype, device),
        build,
    )
}

pub enum WeightSource<'a> {
    Float(VarBuilder<'a>),
    Gguf {
        tensors: HashMap<String, Arc<QTensor>>,
        device: Device,
    },
}

impl WeightSource<'_> {
    /// Memory-maps a safetensors file, its tensors read as `dtype`.
    pub fn mmap_safetensors(
        path: &Path,
        dtype: DType,
        device: &Device,
    ) -> Result<WeightSource<'static>> {
        // SAFETY: read-only map of a cache file that is only ever replaced
        // through a rename, never rewritten in place.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[path], dtype, device) }?;
        Ok(WeightSource::Float(vb))
    }

    /// Reads every tensor of a GGUF file into memory.
    pub fn read_gguf(path: &Path, device: &Device) -> Result<WeightSource<'static>> {
        let mut file = std::fs::File::open(path)?;
        let content = gguf_file::Content::read(&mut file).map_err(|e| e.with_path(path))?;
        let mut tensors = HashMap::new();
        for name in content.tensor_infos.keys() {
            tensors.insert(
                name.clone(),
                Arc::new(content.tensor(&mut file, name, device)?),
            );
        }
        Ok(WeightSource::Gguf {
            tensors,
            device: device.clone(),
        })
    }

    pub fn is_float(&self) -> bool {
        matches!(self, WeightSource::Float(_))
    }

    fn qtensor(&self, name: &str) -> Result<&Arc<QTensor>> {
        match self {
            WeightSource::Gguf { tensors, .. } => tensors.get(name).ok_or_else(|| {
                candle_core::Error::Msg(format!("tensor `{name}` is missing from the GGUF file"))
            }),
            WeightSource::Float(_) => unreachable!("only called on GGUF sources"),
        }
    }

    /// A plain tensor (embeddings, LayerNorm parameters, biases).
    pub fn tensor<S: Into<candle_core::Shape>>(&self, shape: S, name: &str) -> Result<Tensor> {
        match self {
            WeightSource::Float(vb) => vb.get(shape, name),
            WeightSource::Gguf { device, .. } => {
                let t = self.qtensor(name)?.dequantize(device)?;
                let shape = shape.into();
                if t.shape() != &shape {
                    candle_core::bail!(
                        "tensor `{name}` has shape {:?}, expected {:?}",
                        t.shape(),
                        shape
                    )
                }
                Ok(t)
            }
        }
    }

    pub fn projection(&self, name: &str, out: usize, inp: usize, bias: bool) -> Result<Projection> {
        let bias = if bias {
            Some(self.tensor(out, &format!("{name}.bias"))?)
        } else {
            None
        };
        let weight_name = format!("{name}.weight");
        match self {
            WeightSource::Float(_) => Ok(Projection::Dense(Linear::new(
                self.tensor((out, inp), &weight_name)?,
                bias,
            ))),
            WeightSource::Gguf { .. } => {
                let q = self.qtensor(&weight_name)?;
                if q.shape().dims() != [out, inp] {
                    candle_core::bail!(
                        "tensor `{weight_name}` has shape {:?}, expected [{out}, {inp}]",
                        q.shape()
                    )
                }
                let weight = QMatMul::from_arc(Arc::clone(q))?;
                Ok(Projection::Quantized { weight, bias })
            }
        }
    }

    /// Bytes the weights occupy as loaded: quantized blocks at their packed
    /// size, everything else at `dtype`'s width.
    pub fn loaded_bytes(&self, parameters: u64, dtype: DType) -> u64 {
        match self {
            WeightSource::Float(_) => parameters * dtype.size_in_bytes() as u64,
            WeightSource::Gguf { tensors, .. } => tensors
                .values()
                .map(|t| t.storage_size_in_bytes() as u64)
                .sum(),
        }
    }
}
