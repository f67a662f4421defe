use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Numeric precision of a case's weights and compute.
///
/// The quantized levels are named as llama.cpp / GGUF name them: `q8_0`
/// (8-bit blocks of 32 with an f16 scale), `q4_0` (4-bit, same block), `q4k`
/// (4-bit k-quant super-blocks), `q4_1` (4-bit blocks of 32 with a scale
/// and a minimum). `gguf` is a GGUF model file's own quantization, as stored.
/// `int8` is dynamic int8 quantization of the linear layers as ONNX Runtime
/// and PyTorch do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    F32,
    F16,
    Bf16,
    Int8,
    #[serde(rename = "q8_0")]
    Q8_0,
    #[serde(rename = "q4_0")]
    Q4_0,
    #[serde(rename = "q4k")]
    Q4K,
    #[serde(rename = "q4_1")]
    Q4_1,
    /// The GGUF file's own tensor types, as stored.
    Gguf,
}

impl Precision {
    pub const ALL: [Precision; 9] = [
        Precision::F32,
        Precision::F16,
        Precision::Bf16,
        Precision::Int8,
        Precision::Q8_0,
        Precision::Q4_0,
        Precision::Q4K,
        Precision::Q4_1,
        Precision::Gguf,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
            Precision::Q8_0 => "q8_0",
            Precision::Q4_0 => "q4_0",
            Precision::Q4K => "q4k",
            Precision::Q4_1 => "q4_1",
            Precision::Gguf => "gguf",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Precision::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown precision `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Precision::ALL {
            assert_eq!(p.as_str().parse::<Precision>().unwrap(), p);
        }
    }
}
