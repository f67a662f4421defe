//! A llama.cpp GGUF file of the Llama architecture, read through candle's
//! `gguf_file`: its [`LlamaConfig`] from the `llama.*` metadata keys, and its
//! tensors dequantized to f32 under Hugging Face names and layout.
//!
//! Names follow llama.cpp's `gguf-py/gguf/tensor_mapping.py`
//! (`token_embd`, `blk.N.attn_q`, ...). `convert_hf_to_gguf.py`
//! (`LlamaModel.permute`) reorders the rows of `q_proj` and `k_proj` of each
//! head from HF's "rotate half" layout to the interleaved pairs llama.cpp's
//! rotary kernel expects; [`unpermute_rows`] undoes it.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use inferbench_backend::{LlamaArch, LlamaConfig};

use crate::ModelError;

/// An open GGUF file: its header (metadata and tensor directory) and a
/// reader for the tensor data.
pub struct GgufFile {
    path: PathBuf,
    content: Content,
    reader: BufReader<File>,
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self, ModelError> {
        let file = File::open(path).map_err(|e| ModelError::io(path, e))?;
        let mut reader = BufReader::new(file);
        let content = Content::read(&mut reader)
            .map_err(|e| ModelError::invalid(path, format!("not a readable GGUF file: {e}")))?;
        Ok(GgufFile {
            path: path.to_path_buf(),
            content,
            reader,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn metadata(&self) -> &HashMap<String, Value> {
        &self.content.metadata
    }

    pub fn has_tensor(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    /// The tensor's shape in row-major (HF) order, e.g. `[out, in]`.
    pub fn tensor_shape(&self, name: &str) -> Option<&[usize]> {
        self.content.tensor_infos.get(name).map(|t| t.shape.dims())
    }

    /// The tensor's storage type as llama.cpp names it (`q4_1`, `f32`, ...).
    pub fn tensor_type(&self, name: &str) -> Option<String> {
        let info = self.content.tensor_infos.get(name)?;
        Some(format!("{:?}", info.ggml_dtype).to_lowercase())
    }

    /// Reads one tensor as stored (its quantized blocks).
    pub fn quantized(&mut self, name: &str) -> Result<candle_core::quantized::QTensor, ModelError> {
        self.content
            .tensor(&mut self.reader, name, &candle_core::Device::Cpu)
            .map_err(|e| ModelError::invalid(&self.path, format!("tensor `{name}`: {e}")))
    }

    /// Reads one tensor and dequantizes it to f32, row-major.
    pub fn dequantized(&mut self, name: &str) -> Result<Vec<f32>, ModelError> {
        let tensor = self.quantized(name)?;
        tensor
            .dequantize(&candle_core::Device::Cpu)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| self.invalid(format!("tensor `{name}`: {e}")))
    }

    fn invalid(&self, message: impl Into<String>) -> ModelError {
        ModelError::invalid(&self.path, message)
    }

    /// The string value of a metadata key, if present.
    pub fn string(&self, key: &str) -> Option<&str> {
        match self.content.metadata.get(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    fn integer(&self, key: &str) -> Result<Option<u64>, ModelError> {
        match self.content.metadata.get(key) {
            None => Ok(None),
            Some(v) => integer_value(v)
                .map(Some)
                .ok_or_else(|| self.invalid(format!("metadata `{key}` must be an integer"))),
        }
    }

    fn required(&self, key: &str) -> Result<usize, ModelError> {
        self.integer(key)?
            .map(|n| n as usize)
            .ok_or_else(|| self.invalid(format!("metadata key `{key}` missing")))
    }

    fn float(&self, key: &str) -> Result<Option<f64>, ModelError> {
        match self.content.metadata.get(key) {
            None => Ok(None),
            // The decimal the f32 was written from (1e-5, not
            // 9.99999974e-6), as the HF config it was converted from says.
            Some(Value::F32(v)) => Ok(Some(v.to_string().parse().unwrap_or(*v as f64))),
            Some(Value::F64(v)) => Ok(Some(*v)),
            Some(_) => Err(self.invalid(format!("metadata `{key}` must be a number"))),
        }
    }

    /// The config from the `llama.*` keys (llama.cpp's `LLM_KV_*` names).
    /// Tied embeddings: no `output.weight` tensor, as llama.cpp loads them.
    pub fn llama_config(&self) -> Result<LlamaConfig, ModelError> {
        let arch = self
            .string("general.architecture")
            .ok_or_else(|| self.invalid("metadata key `general.architecture` missing"))?;
        if arch != "llama" {
            return Err(self.invalid(format!(
                "general.architecture `{arch}` is not supported; supported: llama"
            )));
        }
        self.reject_rope_scaling()?;
        let hidden = self.required("llama.embedding_length")?;
        let heads = self.required("llama.attention.head_count")?;
        let vocab = match self.integer("llama.vocab_size")? {
            Some(n) => n as usize,
            None => self.vocab_from_embedding()?,
        };
        let config = LlamaConfig {
            arch: LlamaArch::Llama,
            vocab_size: vocab,
            hidden_size: hidden,
            intermediate_size: self.required("llama.feed_forward_length")?,
            num_hidden_layers: self.required("llama.block_count")?,
            num_attention_heads: heads,
            num_key_value_heads: self
                .integer("llama.attention.head_count_kv")?
                .map_or(heads, |n| n as usize),
            head_dim: self
                .integer("llama.rope.dimension_count")?
                .map_or(hidden / heads.max(1), |n| n as usize),
            rms_norm_eps: self
                .float("llama.attention.layer_norm_rms_epsilon")?
                .ok_or_else(|| {
                    self.invalid("metadata key `llama.attention.layer_norm_rms_epsilon` missing")
                })?,
            rope_theta: self.float("llama.rope.freq_base")?.unwrap_or(10000.0),
            rope_scaling: None,
            max_position_embeddings: self.required("llama.context_length")?,
            tie_word_embeddings: !self.has_tensor("output.weight"),
            bos_token_id: self.token_id("tokenizer.ggml.bos_token_id")?,
            eos_token_id: self.token_id("tokenizer.ggml.eos_token_id")?,
        };
        config.validate().map_err(|m| self.invalid(m))?;
        Ok(config)
    }

    fn token_id(&self, key: &str) -> Result<Option<u32>, ModelError> {
        Ok(self.integer(key)?.and_then(|n| u32::try_from(n).ok()))
    }

    fn vocab_from_embedding(&self) -> Result<usize, ModelError> {
        self.tensor_shape("token_embd.weight")
            .and_then(|s| s.first().copied())
            .ok_or_else(|| {
                self.invalid(
                    "metadata key `llama.vocab_size` and tensor `token_embd.weight` missing",
                )
            })
    }

    /// Rotary scaling (linear, YaRN, or Llama 3's `rope_freqs` factors)
    /// changes the numbers; refuse it rather than compute something else.
    fn reject_rope_scaling(&self) -> Result<(), ModelError> {
        if let Some(kind) = self.string("llama.rope.scaling.type")
            && kind != "none"
        {
            return Err(self.invalid(format!(
                "metadata `llama.rope.scaling.type` `{kind}` is not supported"
            )));
        }
        if self.has_tensor("rope_freqs.weight") {
            return Err(self.invalid(
                "tensor `rope_freqs.weight` (Llama 3 rotary scaling) is not supported from GGUF",
            ));
        }
        Ok(())
    }
}

fn integer_value(v: &Value) -> Option<u64> {
    match v {
        Value::U8(n) => Some(*n as u64),
        Value::U16(n) => Some(*n as u64),
        Value::U32(n) => Some(*n as u64),
        Value::U64(n) => Some(*n),
        Value::I8(n) => u64::try_from(*n).ok(),
        Value::I16(n) => u64::try_from(*n).ok(),
        Value::I32(n) => u64::try_from(*n).ok(),
        Value::I64(n) => u64::try_from(*n).ok(),
        _ => None,
    }
}

/// The GGUF name of a HF weight name (llama.cpp's `tensor_mapping.py`).
pub fn gguf_name(hf: &str) -> Option<String> {
    match hf {
        "model.embed_tokens.weight" => return Some("token_embd.weight".into()),
        "model.norm.weight" => return Some("output_norm.weight".into()),
        "lm_head.weight" => return Some("output.weight".into()),
        _ => {}
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, part) = rest.split_once('.')?;
    let (module, kind) = part.rsplit_once('.')?;
    let gguf = match module {
        "input_layernorm" => "attn_norm",
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "post_attention_layernorm" => "ffn_norm",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        _ => return None,
    };
    Some(format!("blk.{layer}.{gguf}.{kind}"))
}

/// How many heads' rows `convert_hf_to_gguf.py` permuted in this HF tensor:
/// `q_proj` by query heads, `k_proj` by key/value heads, others none.
pub fn permuted_heads(hf: &str, config: &LlamaConfig) -> Option<usize> {
    if hf.ends_with("self_attn.q_proj.weight") || hf.ends_with("self_attn.q_proj.bias") {
        Some(config.num_attention_heads)
    } else if hf.ends_with("self_attn.k_proj.weight") || hf.ends_with("self_attn.k_proj.bias") {
        Some(config.num_key_value_heads)
    } else {
        None
    }
}

/// Undoes `LlamaModel.permute` of `convert_hf_to_gguf.py`:
/// `w.reshape(heads, 2, d/2, cols).swapaxes(1, 2)` put HF row
/// `h*d + s*d/2 + j` (half `s`, pair `j`) at GGUF row `h*d + 2j + s`.
/// Rows are `cols` elements: f32 values, or the bytes of a row of
/// quantized blocks.
pub fn unpermute_rows<T: Copy + Default>(gguf: &[T], heads: usize, cols: usize) -> Vec<T> {
    let rows = gguf.len() / cols;
    let head_dim = rows / heads;
    let half = head_dim / 2;
    let mut hf = vec![T::default(); gguf.len()];
    for h in 0..heads {
        for s in 0..2 {
            for j in 0..half {
                let to = (h * head_dim + s * half + j) * cols;
                let from = (h * head_dim + 2 * j + s) * cols;
                hf[to..to + cols].copy_from_slice(&gguf[from..from + cols]);
            }
        }
    }
    hf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_like_llama_cpp() {
        assert_eq!(
            gguf_name("model.layers.3.mlp.up_proj.weight").unwrap(),
            "blk.3.ffn_up.weight"
        );
        assert_eq!(
            gguf_name("model.layers.12.self_attn.o_proj.weight").unwrap(),
            "blk.12.attn_output.weight"
        );
        assert_eq!(
            gguf_name("model.embed_tokens.weight").unwrap(),
            "token_embd.weight"
        );
        assert_eq!(gguf_name("model.layers.0.mystery.weight"), None);
    }

    /// `LlamaModel.permute` written out for one head of width 4 (rows
    /// a0 a1 b0 b1, pairs (a_j, b_j)) gives a0 b0 a1 b1; undoing it must
    /// restore the HF order.
    #[test]
    fn unpermute_inverts_convert_hf_to_gguf() {
        let hf: Vec<f32> = (0..16).map(|i| i as f32).collect(); // 2 heads x 4 rows x 2 cols
        let permute = |w: &[f32]| {
            // reshape(heads=2, 2, 2, cols=2).swapaxes(1, 2)
            let mut out = vec![0.0; w.len()];
            for h in 0..2 {
                for s in 0..2 {
                    for j in 0..2 {
                        for c in 0..2 {
                            out[((h * 2 + j) * 2 + s) * 2 + c] = w[((h * 2 + s) * 2 + j) * 2 + c];
                        }
                    }
                }
            }
            out
        };
        let gguf = permute(&hf);
        assert_eq!(&gguf[..8], &[0.0, 1.0, 4.0, 5.0, 2.0, 3.0, 6.0, 7.0]);
        assert_eq!(unpermute_rows(&gguf, 2, 2), hf);
    }
}
