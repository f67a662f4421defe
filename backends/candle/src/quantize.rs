//! Quantizing the synthetic GPT's linear layers to a GGUF file with
//! `candle_core::quantized`, the way llama.cpp's `quantize` does: every
//! block projection and the LM head become Q8_0 / Q4_0 / Q4_K blocks;
//! embeddings and LayerNorm parameters stay f32.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{DType, Device, Result, Tensor};
use candle_nn::VarBuilder;
use inferbench_backend::{GptSpec, Precision};

pub fn ggml_dtype(precision: Precision) -> Option<GgmlDType> {
    match precision {
        Precision::Q8_0 => Some(GgmlDType::Q8_0),
        Precision::Q4_0 => Some(GgmlDType::Q4_0),
        Precision::Q4K => Some(GgmlDType::Q4K),
        Precision::Q4_1 => Some(GgmlDType::Q4_1),
        _ => None,
    }
}

/// Quantization packs the input dimension in blocks, so every linear
/// layer's input width must be a multiple of the block size.
pub fn check_block_size(spec: &GptSpec, dtype: GgmlDType) -> std::result::Result<(), String> {
    let block = dtype.block_size();
    for (what, width) in [
        ("hidden", spec.hidden),
        ("the MLP width (4 × hidden)", spec.mlp_hidden()),
    ] {
        if !width.is_multiple_of(block) {
            return Err(format!(
                "{dtype:?} packs blocks of {block} inputs, but {what} is {width}; use a hidden size that is a multiple of {block}"
            ));
        }
    }
    Ok(())
}

/// The matrices of the linear layers (`*.weight` of rank 2); embeddings
/// (`wte`, `wpe`) are named without the suffix and stay f32.
fn is_linear_weight(name: &str, shape: &[usize]) -> bool {
    shape.len() == 2 && name.ends_with(".weight")
}

/// Returns the GGUF file for `spec` at `dtype`, writing it next to the
/// safetensors weights on first use (atomically: tmp file + rename).
pub fn ensure_gguf(
    spec: &GptSpec,
    weights: &Path,
    cache_dir: &Path,
    dtype: GgmlDType,
) -> Result<PathBuf> {
    let path = cache_dir.join(format!(
        "model-{}.gguf",
        format!("{dtype:?}").to_lowercase()
    ));
    if path.is_file() {
        return Ok(path);
    }
    std::fs::create_dir_all(cache_dir)?;
    // SAFETY: read-only map of a file the harness never rewrites in place.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &Device::Cpu)? };
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    for (name, shape) in spec.weight_shapes() {
        let t: Tensor = vb.get(shape.as_slice(), &name)?;
        let q = if is_linear_weight(&name, &shape) {
            QTensor::quantize(&t, dtype)?
        } else {
            QTensor::quantize(&t, GgmlDType::F32)?
        };
        tensors.push((name, q));
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut out = BufWriter::new(File::create(&tmp)?);
        let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, q)| (n.as_str(), q)).collect();
        let arch = gguf_file::Value::String("inferbench-synthetic-gpt".into());
        gguf_file::write(&mut out, &[("general.architecture", &arch)], &refs)?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}
