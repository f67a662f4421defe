//! Named host tensors for models that are files rather than the synthetic
//! GPT: what a loaded model declares as its inputs, and the values the
//! harness generates for them (token ids, masks, float features).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Element types inferbench can generate inputs of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElementType {
    F32,
    F16,
    I64,
}

impl fmt::Display for ElementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            ElementType::F32 => "float",
            ElementType::F16 => "float16",
            ElementType::I64 => "int64",
        })
    }
}

/// One dimension of a declared input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputDim {
    Fixed(usize),
    /// A named free dimension (ONNX `dim_param`), e.g. `batch`.
    Symbolic(String),
    /// A free dimension without a name.
    Unnamed,
}

/// An input as the model declares it. `element_type` is `Err(type name)`
/// for a type inferbench cannot generate, so the error can name it.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    pub name: String,
    pub element_type: Result<ElementType, String>,
    pub dims: Vec<InputDim>,
}

/// Values of a named input, row-major. Float16 inputs carry their values as
/// f32 (every f16 is exactly an f32); the backend narrows them.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    Float(Vec<f32>),
    Int(Vec<i64>),
}

impl TensorData {
    pub fn len(&self) -> usize {
        match self {
            TensorData::Float(v) => v.len(),
            TensorData::Int(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub element_type: ElementType,
    pub shape: Vec<usize>,
    pub data: TensorData,
}
