//! Where the candle Llama's quantized tensors come from, under HF names:
//! the f32 weights re-quantized (`q8_0`, `q4_0`, `q4_1`, `q4k`), or the GGUF
//! file's own tensors as stored (`gguf`).
//!
//! Re-quantizing packs each row in blocks; a row whose length is not a
//! multiple of the block falls back, as llama.cpp's `llama_tensor_get_type`
//! does for k-quants (Q4_K -> Q5_0), and the fallback is reported. GGUF
//! files hold q/k rows in llama.cpp's interleaved rotary order; whole rows
//! of quantized blocks are moved back to HF's order, without requantizing.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QTensor, ggml_file::qtensor_from_ggml};
use candle_core::{DType, Device, Result, Tensor};
use candle_nn::VarBuilder;
use inferbench_backend::LlamaConfig;
use inferbench_models::GgufFile;
use inferbench_models::gguf::{gguf_name, permuted_heads, unpermute_rows};

use crate::weights::WeightSource;

/// llama.cpp's fallback for a row length that is not a multiple of `dtype`'s
/// block (`llama_tensor_get_type`, "fallback" branch).
fn fallback(dtype: GgmlDType) -> GgmlDType {
    match dtype {
        GgmlDType::Q4K => GgmlDType::Q5_0,
        GgmlDType::Q5K => GgmlDType::Q5_1,
        GgmlDType::Q6K => GgmlDType::Q8_0,
        GgmlDType::Q2K | GgmlDType::Q3K => GgmlDType::Q4_0,
        other => other,
    }
}

/// The f32 weights with every linear weight quantized to `dtype` (the tied
/// LM head as a quantized copy of the embedding); norms and the embedding
/// table stay f32. Returns the source and a note on fallbacks, if any.
pub fn requantized(
    config: &LlamaConfig,
    weights: &Path,
    dtype: GgmlDType,
) -> Result<(WeightSource<'static>, Option<String>)> {
    // SAFETY: read-only map of a cache file that is only replaced by rename.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &Device::Cpu)? };
    let mut tensors = HashMap::new();
    let mut fell_back = Vec::new();
    let mut plan = config.weight_shapes();
    if config.tie_word_embeddings {
        let (_, shape) = plan[0].clone();
        plan.push(("lm_head.weight".into(), shape));
    }
    for (name, shape) in plan {
        let source = if name == "lm_head.weight" && config.tie_word_embeddings {
            "model.embed_tokens.weight"
        } else {
            name.as_str()
        };
        let t: Tensor = vb.get(shape.as_slice(), source)?;
        let linear = shape.len() == 2 && name != "model.embed_tokens.weight";
        let target = if !linear {
            GgmlDType::F32
        } else if shape[1].is_multiple_of(dtype.block_size()) {
            dtype
        } else {
            fell_back.push(name.clone());
            fallback(dtype)
        };
        if target.block_size() > 1 && !shape[shape.len() - 1].is_multiple_of(target.block_size()) {
            candle_core::bail!(
                "tensor `{name}`: rows of {} fit neither {dtype:?} nor its fallback {target:?}",
                shape[shape.len() - 1]
            )
        }
        tensors.insert(name, Arc::new(QTensor::quantize(&t, target)?));
    }
    let note = (!fell_back.is_empty()).then(|| {
        format!(
            "{dtype:?}: {} tensors fell back to {:?} (rows not a multiple of {}): {}",
            fell_back.len(),
            fallback(dtype),
            dtype.block_size(),
            fell_back.join(", ")
        )
    });
    Ok((
        WeightSource::Gguf {
            tensors,
            device: Device::Cpu,
        },
        note,
    ))
}

/// The GGUF file's tensors as stored, under HF names and with q/k rows in
/// HF's rotate-half order; the tied LM head reads the embedding's blocks.
pub fn as_stored(
    config: &LlamaConfig,
    path: &Path,
) -> std::result::Result<WeightSource<'static>, String> {
    let mut file = GgufFile::open(path).map_err(|e| e.to_string())?;
    let mut tensors = HashMap::new();
    let mut plan: Vec<String> = config.weight_shapes().into_iter().map(|(n, _)| n).collect();
    if config.tie_word_embeddings {
        plan.push("lm_head.weight".into());
    }
    for name in plan {
        let source = match name.as_str() {
            "lm_head.weight" if config.tie_word_embeddings => "token_embd.weight".to_string(),
            _ => gguf_name(&name).ok_or_else(|| format!("no GGUF name for `{name}`"))?,
        };
        let q = file.quantized(&source).map_err(|e| e.to_string())?;
        let q = match permuted_heads(&name, config) {
            Some(heads) => unpermute_quantized_rows(&q, heads)
                .map_err(|e| format!("tensor `{source}`: {e}"))?,
            None => q,
        };
        tensors.insert(name, Arc::new(q));
    }
    Ok(WeightSource::Gguf {
        tensors,
        device: Device::Cpu,
    })
}

/// [`unpermute_rows`] on whole rows of quantized blocks (a row's blocks
/// are contiguous: `cols / block * type_size` bytes).
fn unpermute_quantized_rows(q: &QTensor, heads: usize) -> Result<QTensor> {
    let dims = q.shape().dims().to_vec();
    let cols = dims.iter().skip(1).product::<usize>();
    let dtype = q.dtype();
    let row_bytes = cols / dtype.block_size() * dtype.type_size();
    let out = unpermute_rows(&q.data()?[..], heads, row_bytes);
    qtensor_from_ggml(dtype, &out, dims, &Device::Cpu)
}
