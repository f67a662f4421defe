//! The synthetic GPT (architecture: `inferbench_backend::gpt`) as an ONNX
//! graph of standard opset-17 operators, so any ONNX runtime runs it.
//!
//! Input `input_ids: int64[batch, seq_len]`, output
//! `logits: float[batch, seq_len, vocab_size]`; both dimensions symbolic.
//! Linear weights are stored transposed (`[in, out]`) so a linear layer is
//! `MatMul(x, W) + b`, as `torch.onnx.export` writes `nn.Linear`.

use inferbench_backend::GptSpec;

use super::graph::{
    Dim, GraphBuilder, attr_float, attr_int, attr_ints, f32_tensor, float_tensor, i64_tensor,
    model, u8_tensor,
};
use super::proto::{DataType, ModelProto};

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
    /// FLOAT16 weights and KV cache, f32 arithmetic (see [`gpt_graph`]).
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
    fn storage(&self) -> DataType {
        match self {
            WeightFormat::F16 => DataType::Float16,
            _ => DataType::Float,
        }
    }
}

/// Which graph to write: the weight format, and whether it is the KV-cache
/// decoder (past key/value inputs, present key/value outputs per layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GptExport {
    pub format: WeightFormat,
    pub kv_cache: bool,
}

impl GptExport {
    pub const F32: GptExport = GptExport {
        format: WeightFormat::F32,
        kv_cache: false,
    };
}

/// Builds the f32 forward graph; fails only when a weight is missing or misshapen.
pub fn gpt_model(spec: &GptSpec, weights: &Weights) -> Result<ModelProto, String> {
    gpt_graph(spec, weights, GptExport::F32)
}

/// Builds any variant of the graph.
///
/// f16 is a storage precision here: weights are FLOAT16 initializers, each
/// followed by a `Cast` to f32, and the decoder's KV cache is f16, while the
/// arithmetic runs in f32. ONNX Runtime 1.32's CPU provider (x86-64) has
/// float16 kernels only for data movement (Gather, Slice, Reshape,
/// Transpose, Concat); for MatMul, Add, Mul, Div and Erf it has none, and
/// its InsertCastTransformer would wrap each such node of an all-f16 graph
/// in Casts to f32 and back (observed; the test
/// `the_f16_graph_runs_without_casts_added_by_onnx_runtime` checks that
/// this graph leaves it nothing to add). LayerNormalization and Softmax
/// take f32 in every format. The graph says what runs; ORT's constant
/// folding turns the weight Casts into f32 initializers at load, so f16
/// halves the file, not the weights in memory.
///
/// The decoder graph takes `input_ids [batch, new]` and, per layer,
/// `past_key_l`/`past_value_l [batch, heads, past_len, head_dim]` (past_len
/// may be 0 for the prefill); it returns the logits of the new positions
/// and `present_key_l`/`present_value_l [batch, heads, past_len + new,
/// head_dim]`. Positions and the causal mask start at past_len, read from
/// the shape of `past_key_0`.
pub fn gpt_graph(
    spec: &GptSpec,
    weights: &Weights,
    export: GptExport,
) -> Result<ModelProto, String> {
    let cache_type = export.format.storage();
    let mut w = WeightTable {
        spec,
        weights,
        format: export.format,
    };
    let mut g = GraphBuilder::new();
    let (h, nh, d) = (
        spec.hidden as i64,
        spec.heads as i64,
        spec.head_dim() as i64,
    );
    let batch = Dim::Named("batch".into());
    let seq = Dim::Named("seq_len".into());
    g.input(INPUT, DataType::Int64, &[batch.clone(), seq.clone()]);
    let cache_dims = [
        batch.clone(),
        Dim::Fixed(nh),
        Dim::Named("past_len".into()),
        Dim::Fixed(d),
    ];
    if export.kv_cache {
        for l in 0..spec.layers {
            g.input(&past_key(l), cache_type, &cache_dims);
            g.input(&past_value(l), cache_type, &cache_dims);
        }
    }

    // Constants shared by every block.
    let zero = g.initializer(i64_tensor("const_zero", &[1], &[0]));
    let axes_01 = g.initializer(i64_tensor("const_axes_01", &[2], &[0, 1]));
    let heads_shape = g.initializer(i64_tensor("const_heads_shape", &[5], &[0, 0, 3, nh, d]));
    let merge_shape = g.initializer(i64_tensor("const_merge_shape", &[3], &[0, 0, h]));
    let pick = [0, 1, 2].map(|i| g.initializer(i64_tensor(&format!("const_pick_{i}"), &[], &[i])));
    let scale = g.initializer(f32_tensor("const_sqrt_head_dim", &[], &[(d as f32).sqrt()]));
    let sqrt2 = g.initializer(f32_tensor("const_sqrt2", &[], &[std::f32::consts::SQRT_2]));
    let one = g.initializer(f32_tensor("const_one", &[], &[1.0]));
    let half = g.initializer(f32_tensor("const_half", &[], &[0.5]));
    // 0 on and below the diagonal, -inf above: the same mask candle adds.
    let t_max = spec.max_seq;
    let mask_full: Vec<f32> = (0..t_max)
        .flat_map(|i| (0..t_max).map(move |j| if j <= i { 0.0 } else { f32::NEG_INFINITY }))
        .collect();
    let mask_full = g.initializer(f32_tensor("causal_mask", &[t_max, t_max], &mask_full));

    // Positions past..past+T: past is 0 for the forward graph.
    let t = g.node(
        "Shape",
        "seq_len",
        &[INPUT],
        vec![attr_int("start", 1), attr_int("end", 2)],
    );
    let (past, total) = if export.kv_cache {
        let past = g.node(
            "Shape",
            "past_len",
            &[&past_key(0)],
            vec![attr_int("start", 2), attr_int("end", 3)],
        );
        let total = g.node("Add", "total_len", &[&past, &t], vec![]);
        (past, total)
    } else {
        (zero.clone(), t.clone())
    };

    // x = wte[ids] + wpe[past..past+T]
    let wte = w.plain(&mut g, "wte", &[spec.vocab_size, spec.hidden])?;
    let wpe = w.plain(&mut g, "wpe", &[spec.max_seq, spec.hidden])?;
    let tok = g.node("Gather", "tok", &[&wte, INPUT], vec![attr_int("axis", 0)]);
    let pos = g.node("Slice", "pos", &[&wpe, &past, &total, &zero], vec![]);
    let mut x = g.node("Add", "embed", &[&tok, &pos], vec![]);
    // Rows past..past+T, columns 0..past+T of the full causal mask.
    let starts = g.node(
        "Concat",
        "mask_starts",
        &[&past, &zero],
        vec![attr_int("axis", 0)],
    );
    let ends = g.node(
        "Concat",
        "mask_ends",
        &[&total, &total],
        vec![attr_int("axis", 0)],
    );
    let mask = g.node(
        "Slice",
        "mask",
        &[&mask_full, &starts, &ends, &axes_01],
        vec![],
    );

    for l in 0..spec.layers {
        let p = |s: &str| format!("h.{l}.{s}");
        // Attention: qkv [b,t,3h] -> [b,t,3,nh,d] -> [3,b,nh,t,d].
        let ln1 = w.layer_norm(&mut g, &p("ln_1"), &x)?;
        let qkv = w.linear(
            &mut g,
            &p("attn.c_attn"),
            &ln1,
            [spec.hidden, 3 * spec.hidden],
            true,
        )?;
        let qkv = g.node("Reshape", "qkv_heads", &[&qkv, &heads_shape], vec![]);
        let qkv = g.node(
            "Transpose",
            "qkv_t",
            &[&qkv],
            vec![attr_ints("perm", &[2, 0, 3, 1, 4])],
        );
        let [q, mut k, mut v] = [0, 1, 2].map(|i| {
            g.node(
                "Gather",
                ["q", "k", "v"][i],
                &[&qkv, &pick[i]],
                vec![attr_int("axis", 0)],
            )
        });
        if export.kv_cache {
            let (k_new, v_new) = (w.store(&mut g, &k), w.store(&mut g, &v));
            k = g.node(
                "Concat",
                "k_all",
                &[&past_key(l), &k_new],
                vec![attr_int("axis", 2)],
            );
            v = g.node(
                "Concat",
                "v_all",
                &[&past_value(l), &v_new],
                vec![attr_int("axis", 2)],
            );
            let [pk, pv] = [present_key(l), present_value(l)];
            g.node("Identity", "present_k", &[&k], vec![]);
            g.rename_last_output(&pk);
            g.node("Identity", "present_v", &[&v], vec![]);
            g.rename_last_output(&pv);
            let present_dims = [
                batch.clone(),
                Dim::Fixed(nh),
                Dim::Named("total_len".into()),
                Dim::Fixed(d),
            ];
            g.output(&pk, cache_type, &present_dims);
            g.output(&pv, cache_type, &present_dims);
            (k, v) = (w.load(&mut g, &k), w.load(&mut g, &v));
        }
        let kt = g.node(
            "Transpose",
            "k_t",
            &[&k],
            vec![attr_ints("perm", &[0, 1, 3, 2])],
        );
        let scores = g.node("MatMul", "scores", &[&q, &kt], vec![]);
        let scores = g.node("Div", "scaled", &[&scores, &scale], vec![]);
        let scores = g.node("Add", "masked", &[&scores, &mask], vec![]);
        let probs = g.node("Softmax", "probs", &[&scores], vec![attr_int("axis", -1)]);
        let y = g.node("MatMul", "attn", &[&probs, &v], vec![]);
        let y = g.node(
            "Transpose",
            "attn_t",
            &[&y],
            vec![attr_ints("perm", &[0, 2, 1, 3])],
        );
        let y = g.node("Reshape", "attn_merged", &[&y, &merge_shape], vec![]);
        let y = w.linear(
            &mut g,
            &p("attn.c_proj"),
            &y,
            [spec.hidden, spec.hidden],
            true,
        )?;
        x = g.node("Add", "resid_attn", &[&x, &y], vec![]);

        // MLP with the exact GELU, x/2 * (1 + erf(x/sqrt(2))).
        let ln2 = w.layer_norm(&mut g, &p("ln_2"), &x)?;
        let fc = w.linear(
            &mut g,
            &p("mlp.c_fc"),
            &ln2,
            [spec.hidden, spec.mlp_hidden()],
            true,
        )?;
        let e = g.node("Div", "gelu_div", &[&fc, &sqrt2], vec![]);
        let e = g.node("Erf", "gelu_erf", &[&e], vec![]);
        let e = g.node("Add", "gelu_add", &[&e, &one], vec![]);
        let e = g.node("Mul", "gelu_mul", &[&fc, &e], vec![]);
        let act = g.node("Mul", "gelu", &[&e, &half], vec![]);
        let m = w.linear(
            &mut g,
            &p("mlp.c_proj"),
            &act,
            [spec.mlp_hidden(), spec.hidden],
            true,
        )?;
        x = g.node("Add", "resid_mlp", &[&x, &m], vec![]);
    }
    let xf = w.layer_norm(&mut g, "ln_f", &x)?;
    w.linear(
        &mut g,
        "lm_head",
        &xf,
        [spec.hidden, spec.vocab_size],
        false,
    )?;
    g.rename_last_output(OUTPUT);
    g.output(
        OUTPUT,
        DataType::Float,
        &[batch, seq, Dim::Fixed(spec.vocab_size as i64)],
    );
    let doc = format!(
        "inferbench synthetic GPT ({}{}): vocab {} hidden {} layers {} heads {} max_seq {} seed {}",
        export.format.as_str(),
        if export.kv_cache {
            ", KV-cache decoder"
        } else {
            ""
        },
        spec.vocab_size,
        spec.hidden,
        spec.layers,
        spec.heads,
        spec.max_seq,
        spec.seed
    );
    let name = if export.kv_cache {
        "synthetic_gpt_decoder"
    } else {
        "synthetic_gpt"
    };
    Ok(model(g.finish(name), &doc))
}

/// Looks weights up by name, checks their shapes and adds them as
/// initializers in the export's format.
struct WeightTable<'a> {
    spec: &'a GptSpec,
    weights: &'a Weights,
    format: WeightFormat,
}

impl WeightTable<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<&[f32], String> {
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
    fn plain(
        &mut self,
        g: &mut GraphBuilder,
        name: &str,
        shape: &[usize],
    ) -> Result<String, String> {
        let data = self.get(name, shape)?;
        let stored = g.initializer(float_tensor(self.format.storage(), name, shape, data));
        Ok(self.load(g, &stored))
    }

    /// A stored (f16) tensor as f32; the same tensor in other formats.
    fn load(&self, g: &mut GraphBuilder, x: &str) -> String {
        self.cast(g, x, DataType::Float, "to_f32")
    }

    /// An f32 tensor in the storage type (the f16 KV cache).
    fn store(&self, g: &mut GraphBuilder, x: &str) -> String {
        self.cast(g, x, self.format.storage(), "to_f16")
    }

    fn cast(&self, g: &mut GraphBuilder, x: &str, to: DataType, hint: &str) -> String {
        if self.format.storage() == DataType::Float {
            return x.to_string();
        }
        g.node("Cast", hint, &[x], vec![attr_int("to", to as i64)])
    }

    /// LayerNormalization, with its gain and bias f32 in every format.
    fn layer_norm(&mut self, g: &mut GraphBuilder, name: &str, x: &str) -> Result<String, String> {
        let h = self.spec.hidden;
        let gain = self.get(&format!("{name}.weight"), &[h])?;
        let gain = g.initializer(f32_tensor(&format!("{name}.weight"), &[h], gain));
        let bias = self.get(&format!("{name}.bias"), &[h])?;
        let bias = g.initializer(f32_tensor(&format!("{name}.bias"), &[h], bias));
        Ok(g.node(
            "LayerNormalization",
            name,
            &[x, &gain, &bias],
            vec![
                attr_int("axis", -1),
                attr_float("epsilon", GptSpec::LN_EPS as f32),
            ],
        ))
    }

    /// `x W^T + b` with `W` stored `[out, in]` in the weights and written
    /// transposed, `[in, out]`, into the graph.
    fn linear(
        &mut self,
        g: &mut GraphBuilder,
        name: &str,
        x: &str,
        [inp, out]: [usize; 2],
        bias: bool,
    ) -> Result<String, String> {
        let w = self.get(&format!("{name}.weight"), &[out, inp])?;
        let mut wt = vec![0f32; w.len()];
        for o in 0..out {
            for i in 0..inp {
                wt[i * out + o] = w[o * inp + i];
            }
        }
        let y = match self.format {
            WeightFormat::Int8 => quantized_matmul(g, name, x, &wt, [inp, out]),
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
        };
        if !bias {
            return Ok(y);
        }
        let b = self.plain(g, &format!("{name}.bias"), &[out])?;
        Ok(g.node("Add", name, &[&y, &b], vec![]))
    }
}

/// Bytes of the initializers the exported graph holds for the weights, as
/// [`WeightTable`] writes them: layer-norm parameters stay f32; in f16
/// everything else is 2 bytes; in int8 each linear weight is 1 byte plus an
/// f32 scale and a uint8 zero point per output column, the rest f32.
pub fn weight_bytes(spec: &GptSpec, format: WeightFormat) -> u64 {
    spec.weight_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let linear = shape.len() == 2 && name != "wte" && name != "wpe";
            let bytes = match format {
                WeightFormat::F32 => 4 * n,
                _ if name.starts_with("ln_") || name.contains(".ln_") => 4 * n,
                WeightFormat::F16 => 2 * n,
                WeightFormat::Int8 if linear => n + 5 * shape[0],
                WeightFormat::Int8 => 4 * n,
            };
            bytes as u64
        })
        .sum()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::proto::{DimensionValue, ModelProto};
    use prost::Message;

    fn spec() -> GptSpec {
        GptSpec {
            vocab_size: 10,
            hidden: 8,
            layers: 2,
            heads: 2,
            max_seq: 6,
            seed: 0,
        }
    }

    fn weights(spec: &GptSpec) -> Weights {
        spec.weight_shapes()
            .into_iter()
            .map(|(name, shape)| {
                let n = shape.iter().product();
                (name, (shape, vec![0.5; n]))
            })
            .collect()
    }

    #[test]
    fn uses_standard_opset_17_operators_only() {
        let bytes = gpt_model(&spec(), &weights(&spec()))
            .unwrap()
            .encode_to_vec();
        let model = ModelProto::decode(bytes.as_slice()).unwrap();
        assert_eq!((model.ir_version, model.opset_import[0].version), (8, 17));
        assert_eq!(
            model.opset_import[0].domain, "",
            "the default ai.onnx domain"
        );
        let graph = model.graph.unwrap();
        let standard = [
            "Gather",
            "Shape",
            "Slice",
            "Add",
            "Concat",
            "LayerNormalization",
            "MatMul",
            "Reshape",
            "Transpose",
            "Div",
            "Softmax",
            "Erf",
            "Mul",
        ];
        for node in &graph.node {
            assert!(
                standard.contains(&node.op_type.as_str()),
                "{}",
                node.op_type
            );
            assert!(node.domain.is_empty());
        }
        // Two symbolic dimensions on the input, the vocabulary fixed on the output.
        let dims = |v: &crate::onnx::proto::ValueInfoProto| -> Vec<DimensionValue> {
            let t = v.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap();
            t.shape
                .as_ref()
                .unwrap()
                .dim
                .iter()
                .map(|d| d.value.clone().unwrap())
                .collect()
        };
        assert_eq!(
            dims(&graph.input[0]),
            [
                DimensionValue::DimParam("batch".into()),
                DimensionValue::DimParam("seq_len".into())
            ]
        );
        assert_eq!(dims(&graph.output[0])[2], DimensionValue::DimValue(10));
        assert_eq!(graph.output[0].name, OUTPUT);
        assert_eq!(graph.node.last().unwrap().output, [OUTPUT]);
        // Linear weights are transposed to [in, out].
        let c_fc = graph
            .initializer
            .iter()
            .find(|t| t.name == "h.1.mlp.c_fc.weight_t")
            .unwrap();
        assert_eq!(c_fc.dims, [8, 32]);
    }

    #[test]
    fn int8_quantizes_every_linear_layer_with_standard_operators() {
        let export = GptExport {
            format: WeightFormat::Int8,
            kv_cache: false,
        };
        let graph = gpt_graph(&spec(), &weights(&spec()), export)
            .unwrap()
            .graph
            .unwrap();
        let count = |op: &str| graph.node.iter().filter(|n| n.op_type == op).count();
        // 4 linear layers per block and the LM head; no float MatMul left
        // but the two attention products per block.
        let linears = 4 * spec().layers + 1;
        assert_eq!(count("DynamicQuantizeLinear"), linears);
        assert_eq!(count("MatMulInteger"), linears);
        assert_eq!(count("MatMul"), 2 * spec().layers);
        assert!(graph.node.iter().all(|n| n.domain.is_empty()));
        // All weights 0.5: per-column scale 0.5/127, every level 127 + 128.
        let find = |name: &str| graph.initializer.iter().find(|t| t.name == name).unwrap();
        let q = find("h.0.mlp.c_fc.weight_quantized");
        assert_eq!(
            (q.data_type, q.dims.as_slice()),
            (DataType::Uint8 as i32, [8, 32].as_slice())
        );
        assert!(q.raw_data.iter().all(|&b| b == 255));
        let scale = &find("h.0.mlp.c_fc.weight_scale").raw_data;
        assert_eq!(scale[..4], (0.5f32 / 127.0).to_le_bytes());
        assert_eq!(
            weight_bytes(&spec(), WeightFormat::Int8),
            graph
                .initializer
                .iter()
                .filter(|t| !t.name.starts_with("const_") && t.name != "causal_mask")
                .map(|t| t.raw_data.len() as u64)
                .sum::<u64>()
        );
    }

    #[test]
    fn the_decoder_takes_and_returns_a_cache_per_layer() {
        let export = GptExport {
            format: WeightFormat::F16,
            kv_cache: true,
        };
        let graph = gpt_graph(&spec(), &weights(&spec()), export)
            .unwrap()
            .graph
            .unwrap();
        let names = |v: &[crate::onnx::proto::ValueInfoProto]| -> Vec<String> {
            v.iter().map(|i| i.name.clone()).collect()
        };
        assert_eq!(
            names(&graph.input),
            [
                INPUT,
                "past_key_0",
                "past_value_0",
                "past_key_1",
                "past_value_1"
            ]
        );
        assert_eq!(
            names(&graph.output),
            [
                "present_key_0",
                "present_value_0",
                "present_key_1",
                "present_value_1",
                OUTPUT
            ]
        );
        let t = graph.input[1]
            .r#type
            .as_ref()
            .unwrap()
            .tensor_type
            .as_ref()
            .unwrap();
        assert_eq!(t.elem_type, DataType::Float16 as i32, "an f16 cache");
        let dims: Vec<DimensionValue> = t
            .shape
            .as_ref()
            .unwrap()
            .dim
            .iter()
            .map(|d| d.value.clone().unwrap())
            .collect();
        assert_eq!(
            dims,
            [
                DimensionValue::DimParam("batch".into()),
                DimensionValue::DimValue(2),
                DimensionValue::DimParam("past_len".into()),
                DimensionValue::DimValue(4)
            ]
        );
    }

    #[test]
    fn a_missing_or_misshapen_weight_is_named() {
        let mut w = weights(&spec());
        w.remove("h.1.ln_2.bias");
        let e = gpt_model(&spec(), &w).unwrap_err();
        assert_eq!(e, "weight `h.1.ln_2.bias` is missing");
        let mut w = weights(&spec());
        w.insert("wpe".into(), (vec![5, 8], vec![0.0; 40]));
        let e = gpt_model(&spec(), &w).unwrap_err();
        assert!(e.contains("`wpe` has shape [5, 8], expected [6, 8]"), "{e}");
    }
}
