//! Building blocks every exported decoder shares (the synthetic GPT in
//! [`super::gpt`], the Llama family in [`super::llama`]): weights looked up
//! by name and stored in the export's format, linear layers (f32/f16
//! `MatMul`, or dynamically quantized int8), norms, attention, and the
//! KV-cache decoder's inputs and outputs.
//!
//! Linear weights are stored transposed (`[in, out]`) so a linear layer is
//! `MatMul(x, W) + b`, as `torch.onnx.export` writes `nn.Linear`.

use super::graph::{
    Dim, GraphBuilder, attr_float, attr_int, attr_ints, f32_tensor, float_tensor, i64_tensor,
    u8_tensor,
};
use super::proto::DataType;

/// The f32 weights by name, each `(shape, values)`, as in the safetensors file.
pub type Weights = inferbench_backend::F32Tensors;

pub const INPUT: &str = "input_ids";
pub const OUTPUT: &str = "logits";

/// The decoder graph's cache inputs and outputs for layer `l`.
pub fn past_key(l: usize) -> String {
    format!("past_key_{l}")
}
pub fn past_value(l: usize) -> String {
    format!("past_value_{l}")
}
pub fn present_key(l: usize) -> String {
    format!("present_key_{l}")
}
pub fn present_value(l: usize) -> String {
    format!("present_value_{l}")
}

/// How weights are stored and computed in an exported graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeightFormat {
    F32,
    /// FLOAT16 weights and KV cache, f32 arithmetic (see [`super::gpt_graph`]).
    F16,
    /// Every linear layer dynamically quantized as onnxruntime's
    /// `quantize_dynamic(per_channel=True)` writes it: per-output-channel symmetric weights
    /// stored as uint8 around 128, activations quantized per call by
    /// `DynamicQuantizeLinear`, `MatMulInteger`, then the int32 sum scaled
    /// back to f32. Embeddings, norms and biases stay f32.
    Int8,
}

impl WeightFormat {
    pub fn as_str(&self) -> &'static str {
        match self {
            WeightFormat::F32 => "f32",
            WeightFormat::F16 => "f16",
            WeightFormat::Int8 => "int8",
        }
    }

    /// Element type of the stored weights (except int8's linear layers)
    /// and of the KV cache.
    pub fn storage(&self) -> DataType {
        match self {
            WeightFormat::F16 => DataType::Float16,
            _ => DataType::Float,
        }
    }
}

/// Which graph to write: the weight format, and whether it is the KV-cache
/// decoder (past key/value inputs, present key/value outputs per layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Export {
    pub format: WeightFormat,
    pub kv_cache: bool,
}

impl Export {
    pub const F32: Export = Export {
        format: WeightFormat::F32,
        kv_cache: false,
    };
}

/// Normalizations over the last axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    /// ONNX `LayerNormalization` with gain and bias.
    Layer,
    /// RMSNorm, `x / sqrt(mean(x^2) + eps) * weight` (Zhang & Sennrich
    /// 2019; `LlamaRMSNorm`), written as `Pow, ReduceMean, Add, Sqrt, Div,
    /// Mul`, the pattern ONNX Runtime's `SimplifiedLayerNormFusion` turns
    /// into one kernel.
    Rms,
}

/// What a stored weight is, for [`stored_bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightRole {
    /// A linear layer's `[out, in]` matrix.
    Linear,
    /// A norm's gain or bias: f32 in every format.
    Norm,
    /// Embeddings and biases: in the storage type.
    Other,
}

/// Bytes of one weight of `shape` as [`WeightTable`] writes it: in f16 two
/// bytes a value but norms; in int8 a linear weight is one byte a value
/// plus an f32 scale and a uint8 zero point per output row, the rest f32.
pub fn stored_bytes(format: WeightFormat, role: WeightRole, shape: &[usize]) -> u64 {
    let n: usize = shape.iter().product();
    let bytes = match (format, role) {
        (WeightFormat::F32, _) | (_, WeightRole::Norm) => 4 * n,
        (WeightFormat::F16, _) => 2 * n,
        (WeightFormat::Int8, WeightRole::Linear) => n + 5 * shape[0],
        (WeightFormat::Int8, WeightRole::Other) => 4 * n,
    };
    bytes as u64
}

/// Looks weights up by name, checks their shapes and adds them as
/// initializers in the export's format.
pub struct WeightTable<'a> {
    pub weights: &'a Weights,
    pub format: WeightFormat,
    /// `[batch, seq, 1]`, 1 for real tokens and 0 for padding: int8 linear
    /// layers zero the padded rows before quantizing their input. The scale
    /// of `DynamicQuantizeLinear` is per tensor, so without this a batch's
    /// padding (up to 86% of MiniLM's tokens at batch 32) widens the range
    /// and coarsens every real token's quantization.
    pub row_mask: Option<String>,
}

impl WeightTable<'_> {
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<&[f32], String> {
        let (found, data) = self
            .weights
            .get(name)
            .ok_or_else(|| format!("weight `{name}` is missing"))?;
        if found != shape || data.len() != shape.iter().product::<usize>() {
            return Err(format!(
                "weight `{name}` has shape {found:?}, expected {shape:?}"
            ));
        }
        Ok(data)
    }

    /// A weight stored in the format's storage type, as f32 for the graph.
    pub fn plain(
        &mut self,
        g: &mut GraphBuilder,
        name: &str,
        shape: &[usize],
    ) -> Result<String, String> {
        let data = self.get(name, shape)?;
        let stored = g.initializer(float_tensor(self.format.storage(), name, shape, data));
        Ok(self.load(g, &stored))
    }

    /// A weight kept f32 in every format (norm gains, biases of norms).
    pub fn exact(
        &self,
        g: &mut GraphBuilder,
        name: &str,
        shape: &[usize],
    ) -> Result<String, String> {
        let data = self.get(name, shape)?;
        Ok(g.initializer(f32_tensor(name, shape, data)))
    }

    /// A stored (f16) tensor as f32; the same tensor in other formats.
    pub fn load(&self, g: &mut GraphBuilder, x: &str) -> String {
        self.cast(g, x, DataType::Float, "to_f32")
    }

    /// An f32 tensor in the storage type (the f16 KV cache).
    pub fn store(&self, g: &mut GraphBuilder, x: &str) -> String {
        self.cast(g, x, self.format.storage(), "to_f16")
    }

    fn cast(&self, g: &mut GraphBuilder, x: &str, to: DataType, hint: &str) -> String {
        if self.format.storage() == DataType::Float {
            return x.to_string();
        }
        g.node("Cast", hint, &[x], vec![attr_int("to", to as i64)])
    }

    /// `kind` of normalization over the last axis (`width` wide), its
    /// parameters f32 in every format.
    pub fn norm(
        &mut self,
        g: &mut GraphBuilder,
        kind: Norm,
        name: &str,
        x: &str,
        (width, eps): (usize, f64),
    ) -> Result<String, String> {
        let gain = self.exact(g, &format!("{name}.weight"), &[width])?;
        if kind == Norm::Layer {
            let bias = self.exact(g, &format!("{name}.bias"), &[width])?;
            let attrs = vec![attr_int("axis", -1), attr_float("epsilon", eps as f32)];
            return Ok(g.node("LayerNormalization", name, &[x, &gain, &bias], attrs));
        }
        let two = g.initializer(f32_tensor(&format!("const_{name}.two"), &[], &[2.0]));
        let eps = g.initializer(f32_tensor(&format!("const_{name}.eps"), &[], &[eps as f32]));
        let sq = g.node("Pow", "rms_sq", &[x, &two], vec![]);
        let mean = g.node(
            "ReduceMean",
            "rms_mean",
            &[&sq],
            vec![attr_ints("axes", &[-1]), attr_int("keepdims", 1)],
        );
        let var = g.node("Add", "rms_eps", &[&mean, &eps], vec![]);
        let rms = g.node("Sqrt", "rms", &[&var], vec![]);
        let normed = g.node("Div", "rms_normed", &[x, &rms], vec![]);
        Ok(g.node("Mul", name, &[&normed, &gain], vec![]))
    }

    /// `x W^T + b` with `W` stored `[out, in]` in the weights and written
    /// transposed, `[in, out]`, into the graph.
    pub fn linear(
        &mut self,
        g: &mut GraphBuilder,
        name: &str,
        x: &str,
        [inp, out]: [usize; 2],
        bias: bool,
    ) -> Result<String, String> {
        let w = self.get(&format!("{name}.weight"), &[out, inp])?;
        let y = self.matmul_transposed(g, name, x, w, [inp, out]);
        if !bias {
            return Ok(y);
        }
        let b = self.plain(g, &format!("{name}.bias"), &[out])?;
        Ok(g.node("Add", name, &[&y, &b], vec![]))
    }

    /// `x W^T` for `W` (`[out, in]`, f32), in the export's format.
    pub fn matmul_transposed(
        &self,
        g: &mut GraphBuilder,
        name: &str,
        x: &str,
        w: &[f32],
        [inp, out]: [usize; 2],
    ) -> String {
        let mut wt = vec![0f32; w.len()];
        for o in 0..out {
            for i in 0..inp {
                wt[i * out + o] = w[o * inp + i];
            }
        }
        match self.format {
            WeightFormat::Int8 => {
                let x = match &self.row_mask {
                    Some(mask) => g.node("Mul", "real_rows", &[x, mask], vec![]),
                    None => x.to_string(),
                };
                quantized_matmul(g, name, &x, &wt, [inp, out])
            }
            format => {
                let wt = g.initializer(float_tensor(
                    format.storage(),
                    &format!("{name}.weight_t"),
                    &[inp, out],
                    &wt,
                ));
                let wt = self.load(g, &wt);
                g.node("MatMul", name, &[x, &wt], vec![])
            }
        }
    }
}

/// Zero point of the uint8 weights: symmetric int8 values shifted by 128.
const WEIGHT_ZERO_POINT: u8 = 128;

/// `x W` with `W` (`[in, out]`, f32) quantized per output column to
/// `round(W / s) + 128`, `s = max|W[:, o]| / 127`, and `x` quantized at run
/// time (ONNX `DynamicQuantizeLinear`: uint8, asymmetric, per tensor):
/// `y = float(MatMulInteger(xq, Wq, x_zp, 128)) * (x_scale * s)`.
///
/// uint8 weights (U8U8) rather than int8 because MLAS's U8S8 kernels on
/// AVX2 without VNNI add pairs of u8*s8 products in int16 and can saturate
/// (onnxruntime's quantization docs, "reduce_range"); U8U8 does not.
fn quantized_matmul(
    g: &mut GraphBuilder,
    name: &str,
    x: &str,
    wt: &[f32],
    [inp, out]: [usize; 2],
) -> String {
    let scales: Vec<f32> = (0..out)
        .map(|o| {
            let max = (0..inp).map(|i| wt[i * out + o].abs()).fold(0f32, f32::max);
            if max > 0.0 { max / 127.0 } else { 1.0 }
        })
        .collect();
    let q: Vec<u8> = wt
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            let level = (v / scales[k % out]).round().clamp(-127.0, 127.0);
            (level as i32 + WEIGHT_ZERO_POINT as i32) as u8
        })
        .collect();
    let wq = g.initializer(u8_tensor(
        &format!("{name}.weight_quantized"),
        &[inp, out],
        &q,
    ));
    let wzp = g.initializer(u8_tensor(
        &format!("{name}.weight_zero_point"),
        &[out],
        &vec![WEIGHT_ZERO_POINT; out],
    ));
    let ws = g.initializer(f32_tensor(&format!("{name}.weight_scale"), &[out], &scales));
    let (xq, xs, xzp) = g.node3("DynamicQuantizeLinear", &format!("{name}.x"), &[x]);
    let acc = g.node("MatMulInteger", name, &[&xq, &wq, &xzp, &wzp], vec![]);
    let acc = g.node(
        "Cast",
        "mm_f32",
        &[&acc],
        vec![attr_int("to", DataType::Float as i64)],
    );
    let s = g.node("Mul", "mm_scale", &[&xs, &ws], vec![]);
    g.node("Mul", "mm_dequant", &[&acc, &s], vec![])
}

/// Where the new tokens sit: after `past` cached ones, up to `total`;
/// each a 1-D int64 tensor of one element.
pub struct Positions {
    pub past: String,
    pub total: String,
}

/// Declares `input_ids [batch, seq_len]` and, for the decoder, each layer's
/// `past_key_l`/`past_value_l` of `cache_dims` (`past_len` may be 0 for
/// the prefill); returns the positions of the new tokens, whose `past` is
/// read from the shape of `past_key_0` (0 without a cache).
pub fn declare_inputs(
    g: &mut GraphBuilder,
    layers: Option<usize>,
    cache_dims: &[Dim],
    cache_type: DataType,
) -> Positions {
    let dims = [Dim::Named("batch".into()), Dim::Named("seq_len".into())];
    g.input(INPUT, DataType::Int64, &dims);
    let new = g.node(
        "Shape",
        "seq_len",
        &[INPUT],
        vec![attr_int("start", 1), attr_int("end", 2)],
    );
    let Some(layers) = layers else {
        let zero = g.initializer(i64_tensor("const_past_zero", &[1], &[0]));
        return Positions {
            past: zero,
            total: new,
        };
    };
    for l in 0..layers {
        g.input(&past_key(l), cache_type, cache_dims);
        g.input(&past_value(l), cache_type, cache_dims);
    }
    let past = g.node(
        "Shape",
        "past_len",
        &[&past_key(0)],
        vec![attr_int("start", 2), attr_int("end", 3)],
    );
    let total = g.node("Add", "total_len", &[&past, &new], vec![]);
    Positions { past, total }
}

/// Appends layer `l`'s new keys and values (f32, `[.., new, head_dim]` on
/// axis 2) to its cache inputs, returns the whole cache as the outputs
/// `present_key_l`/`present_value_l` in the storage type, and as f32 for
/// the attention.
pub fn append_to_cache(
    g: &mut GraphBuilder,
    w: &WeightTable,
    l: usize,
    (k, v): (&str, &str),
    present_dims: &[Dim],
) -> (String, String) {
    let concat = |g: &mut GraphBuilder, past: &str, new: &str, output: &str| {
        let stored = w.store(g, new);
        let all = g.node(
            "Concat",
            "cache",
            &[past, &stored],
            vec![attr_int("axis", 2)],
        );
        g.node("Identity", "present", &[&all], vec![]);
        g.rename_last_output(output);
        g.output(output, w.format.storage(), present_dims);
        w.load(g, &all)
    };
    let k = concat(g, &past_key(l), k, &present_key(l));
    let v = concat(g, &past_value(l), v, &present_value(l));
    (k, v)
}

/// Scaled dot-product attention over the last two axes of `rank`-dimensional
/// `q [.., t, d]`, `k`, `v [.., T, d]` (leading axes broadcast, as
/// `MatMul` does): `softmax(q k^T / scale + mask) v`, `mask [t, T]` additive.
pub fn attention(
    g: &mut GraphBuilder,
    (q, k, v): (&str, &str, &str),
    mask: &str,
    scale: &str,
    rank: usize,
) -> String {
    let mut perm: Vec<i64> = (0..rank as i64).collect();
    perm.swap(rank - 1, rank - 2);
    let kt = g.node("Transpose", "k_t", &[k], vec![attr_ints("perm", &perm)]);
    let scores = g.node("MatMul", "scores", &[q, &kt], vec![]);
    let scores = g.node("Div", "scaled", &[&scores, scale], vec![]);
    let scores = g.node("Add", "masked", &[&scores, mask], vec![]);
    let probs = g.node("Softmax", "probs", &[&scores], vec![attr_int("axis", -1)]);
    g.node("MatMul", "attn", &[&probs, v], vec![])
}

/// The exact GELU `x/2 * (1 + erf(x / sqrt 2))` (`hidden_act = "gelu"`;
/// `torch.nn.functional.gelu` without approximation), in f32. Its
/// constants are initializers named after `name`, unique per call site.
pub fn gelu(g: &mut GraphBuilder, name: &str, x: &str) -> String {
    let constant = |g: &mut GraphBuilder, what: &str, value: f32| {
        g.initializer(f32_tensor(
            &format!("const_{name}.gelu_{what}"),
            &[],
            &[value],
        ))
    };
    let sqrt2 = constant(g, "sqrt2", std::f32::consts::SQRT_2);
    let one = constant(g, "one", 1.0);
    let half = constant(g, "half", 0.5);
    let e = g.node("Div", "gelu_div", &[x, &sqrt2], vec![]);
    let e = g.node("Erf", "gelu_erf", &[&e], vec![]);
    let e = g.node("Add", "gelu_add", &[&e, &one], vec![]);
    let e = g.node("Mul", "gelu_mul", &[x, &e], vec![]);
    g.node("Mul", "gelu", &[&e, &half], vec![])
}

/// Names the last node's output `logits` and declares it
/// `float[batch, rows, vocab]`.
pub fn declare_logits(g: &mut GraphBuilder, rows: Dim, vocab: usize) {
    g.rename_last_output(OUTPUT);
    g.output(
        OUTPUT,
        DataType::Float,
        &[Dim::Named("batch".into()), rows, Dim::Fixed(vocab as i64)],
    );
}
