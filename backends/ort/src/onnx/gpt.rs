//! The synthetic GPT (architecture: `inferbench_backend::gpt`) as an ONNX
//! graph of standard opset-17 operators, so any ONNX runtime runs it.
//!
//! Input `input_ids: int64[batch, seq_len]`, output
//! `logits: float[batch, seq_len, vocab_size]`; both dimensions symbolic.
//! Linear weights are stored transposed (`[in, out]`) so a linear layer is
//! `MatMul(x, W) + b`, as `torch.onnx.export` writes `nn.Linear`.

use inferbench_backend::GptSpec;

use super::graph::{Dim, GraphBuilder, attr_int, attr_ints, f32_tensor, i64_tensor, model};
use super::layers::{
    Export, INPUT, Norm, Positions, WeightFormat, WeightRole, WeightTable, Weights,
    append_to_cache, attention, declare_inputs, declare_logits, stored_bytes,
};
use super::proto::ModelProto;

/// Builds the f32 forward graph; fails only when a weight is missing or misshapen.
pub fn gpt_model(spec: &GptSpec, weights: &Weights) -> Result<ModelProto, String> {
    gpt_graph(spec, weights, Export::F32)
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
pub fn gpt_graph(spec: &GptSpec, weights: &Weights, export: Export) -> Result<ModelProto, String> {
    let mut g = GraphBuilder::new();
    let layers = export.kv_cache.then_some(spec.layers);
    let cache_dims = cache_dims(spec, "past_len");
    let positions = declare_inputs(&mut g, layers, &cache_dims, export.format.storage());
    let shared = Shared::declare(&mut g, spec);
    let w = WeightTable {
        weights,
        format: export.format,
        row_mask: None,
    };
    let mut writer = Writer {
        g,
        w,
        spec,
        shared,
        kv_cache: export.kv_cache,
    };
    writer.network(&positions)?;
    let mut g = writer.g;
    declare_logits(&mut g, Dim::Named("seq_len".into()), spec.vocab_size);
    let name = if export.kv_cache {
        "synthetic_gpt_decoder"
    } else {
        "synthetic_gpt"
    };
    Ok(model(g.finish(name), &description(spec, export)))
}

/// `[batch, heads, <len>, head_dim]`, the shape of a layer's cache.
fn cache_dims(spec: &GptSpec, len: &str) -> [Dim; 4] {
    [
        Dim::Named("batch".into()),
        Dim::Fixed(spec.heads as i64),
        Dim::Named(len.into()),
        Dim::Fixed(spec.head_dim() as i64),
    ]
}

/// Constants every block shares.
struct Shared {
    zero: String,
    axes_01: String,
    /// `[batch, seq, 3, heads, head_dim]` (0 copies the input's dimension).
    heads_shape: String,
    /// `[batch, seq, hidden]`.
    merge_shape: String,
    /// Scalar indices 0, 1 and 2, to take q, k and v apart.
    pick: [String; 3],
    sqrt_head_dim: String,
    /// The exact GELU's `sqrt 2`, `1` and `1/2`.
    sqrt2: String,
    one: String,
    half: String,
    /// `[max_seq, max_seq]`: 0 on and below the diagonal, -inf above (the
    /// same mask candle adds); each forward pass slices its rows and columns.
    causal_mask: String,
}

impl Shared {
    fn declare(g: &mut GraphBuilder, spec: &GptSpec) -> Self {
        let (h, nh, d) = (
            spec.hidden as i64,
            spec.heads as i64,
            spec.head_dim() as i64,
        );
        let scalar =
            |g: &mut GraphBuilder, name: &str, v: f32| g.initializer(f32_tensor(name, &[], &[v]));
        let zero = g.initializer(i64_tensor("const_zero", &[1], &[0]));
        let axes_01 = g.initializer(i64_tensor("const_axes_01", &[2], &[0, 1]));
        let heads_shape = g.initializer(i64_tensor("const_heads_shape", &[5], &[0, 0, 3, nh, d]));
        let merge_shape = g.initializer(i64_tensor("const_merge_shape", &[3], &[0, 0, h]));
        let pick =
            [0, 1, 2].map(|i| g.initializer(i64_tensor(&format!("const_pick_{i}"), &[], &[i])));
        let sqrt_head_dim = scalar(g, "const_sqrt_head_dim", (d as f32).sqrt());
        let sqrt2 = scalar(g, "const_sqrt2", std::f32::consts::SQRT_2);
        let one = scalar(g, "const_one", 1.0);
        let half = scalar(g, "const_half", 0.5);
        let t_max = spec.max_seq;
        let mask: Vec<f32> = (0..t_max)
            .flat_map(|i| (0..t_max).map(move |j| if j <= i { 0.0 } else { f32::NEG_INFINITY }))
            .collect();
        let causal_mask = g.initializer(f32_tensor("causal_mask", &[t_max, t_max], &mask));
        Shared {
            zero,
            axes_01,
            heads_shape,
            merge_shape,
            pick,
            sqrt_head_dim,
            sqrt2,
            one,
            half,
            causal_mask,
        }
    }
}

/// Writes the network's nodes and weights into the graph.
struct Writer<'a> {
    g: GraphBuilder,
    w: WeightTable<'a>,
    spec: &'a GptSpec,
    shared: Shared,
    kv_cache: bool,
}

impl Writer<'_> {
    /// Embedding, blocks, final norm and LM head; the logits are the last
    /// node's output.
    fn network(&mut self, positions: &Positions) -> Result<(), String> {
        let spec = self.spec;
        let mut x = self.embeddings(positions)?;
        let mask = self.causal_mask(positions);
        for l in 0..spec.layers {
            x = self.attention_block(l, &x, &mask)?;
            x = self.mlp_block(l, &x)?;
        }
        let ln = (spec.hidden, GptSpec::LN_EPS);
        let xf = self.w.norm(&mut self.g, Norm::Layer, "ln_f", &x, ln)?;
        let lm_head = [spec.hidden, spec.vocab_size];
        self.w.linear(&mut self.g, "lm_head", &xf, lm_head, false)?;
        Ok(())
    }

    /// `x = wte[ids] + wpe[past..past+T]`.
    fn embeddings(&mut self, p: &Positions) -> Result<String, String> {
        let (spec, g) = (self.spec, &mut self.g);
        let wte = self.w.plain(g, "wte", &[spec.vocab_size, spec.hidden])?;
        let wpe = self.w.plain(g, "wpe", &[spec.max_seq, spec.hidden])?;
        let tok = g.node("Gather", "tok", &[&wte, INPUT], vec![attr_int("axis", 0)]);
        let zero = &self.shared.zero;
        let pos = g.node("Slice", "pos", &[&wpe, &p.past, &p.total, zero], vec![]);
        Ok(g.node("Add", "embed", &[&tok, &pos], vec![]))
    }

    /// Rows past..past+T, columns 0..past+T of the full causal mask.
    fn causal_mask(&mut self, p: &Positions) -> String {
        let (c, g) = (&self.shared, &mut self.g);
        let axis_0 = || vec![attr_int("axis", 0)];
        let starts = g.node("Concat", "mask_starts", &[&p.past, &c.zero], axis_0());
        let ends = g.node("Concat", "mask_ends", &[&p.total, &p.total], axis_0());
        let inputs: [&str; 4] = [&c.causal_mask, &starts, &ends, &c.axes_01];
        g.node("Slice", "mask", &inputs, vec![])
    }

    /// `x + c_proj(attention(ln_1(x)))`, the layer's new keys and values
    /// appended to its cache in the decoder.
    fn attention_block(&mut self, l: usize, x: &str, mask: &str) -> Result<String, String> {
        let spec = self.spec;
        let p = |s: &str| format!("h.{l}.{s}");
        let ln = (spec.hidden, GptSpec::LN_EPS);
        // qkv [b,t,3h] -> [b,t,3,nh,d] -> [3,b,nh,t,d].
        let ln1 = self.w.norm(&mut self.g, Norm::Layer, &p("ln_1"), x, ln)?;
        let c_attn = [spec.hidden, 3 * spec.hidden];
        let qkv = self
            .w
            .linear(&mut self.g, &p("attn.c_attn"), &ln1, c_attn, true)?;
        let (c, g) = (&self.shared, &mut self.g);
        let qkv = g.node("Reshape", "qkv_heads", &[&qkv, &c.heads_shape], vec![]);
        let perm = vec![attr_ints("perm", &[2, 0, 3, 1, 4])];
        let qkv = g.node("Transpose", "qkv_t", &[&qkv], perm);
        let [q, mut k, mut v] = [0, 1, 2].map(|i| {
            let axis_0 = vec![attr_int("axis", 0)];
            g.node("Gather", ["q", "k", "v"][i], &[&qkv, &c.pick[i]], axis_0)
        });
        if self.kv_cache {
            let present_dims = cache_dims(spec, "total_len");
            (k, v) = append_to_cache(g, &self.w, l, (&k, &v), &present_dims);
        }
        let y = attention(g, (&q, &k, &v), mask, &c.sqrt_head_dim, 4);
        let perm = vec![attr_ints("perm", &[0, 2, 1, 3])];
        let y = g.node("Transpose", "attn_t", &[&y], perm);
        let y = g.node("Reshape", "attn_merged", &[&y, &c.merge_shape], vec![]);
        let c_proj = [spec.hidden, spec.hidden];
        let y = self
            .w
            .linear(&mut self.g, &p("attn.c_proj"), &y, c_proj, true)?;
        Ok(self.g.node("Add", "resid_attn", &[x, &y], vec![]))
    }

    /// `x + c_proj(gelu(c_fc(ln_2(x))))`, with the exact GELU
    /// `x/2 * (1 + erf(x/sqrt(2)))`.
    fn mlp_block(&mut self, l: usize, x: &str) -> Result<String, String> {
        let spec = self.spec;
        let p = |s: &str| format!("h.{l}.{s}");
        let ln = (spec.hidden, GptSpec::LN_EPS);
        let ln2 = self.w.norm(&mut self.g, Norm::Layer, &p("ln_2"), x, ln)?;
        let c_fc = [spec.hidden, spec.mlp_hidden()];
        let fc = self
            .w
            .linear(&mut self.g, &p("mlp.c_fc"), &ln2, c_fc, true)?;
        let (c, g) = (&self.shared, &mut self.g);
        let e = g.node("Div", "gelu_div", &[&fc, &c.sqrt2], vec![]);
        let e = g.node("Erf", "gelu_erf", &[&e], vec![]);
        let e = g.node("Add", "gelu_add", &[&e, &c.one], vec![]);
        let e = g.node("Mul", "gelu_mul", &[&fc, &e], vec![]);
        let act = g.node("Mul", "gelu", &[&e, &c.half], vec![]);
        let c_proj = [spec.mlp_hidden(), spec.hidden];
        let m = self
            .w
            .linear(&mut self.g, &p("mlp.c_proj"), &act, c_proj, true)?;
        Ok(self.g.node("Add", "resid_mlp", &[x, &m], vec![]))
    }
}

/// The model's doc string: format, kind and every knob.
fn description(spec: &GptSpec, export: Export) -> String {
    format!(
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
    )
}

/// Bytes of the initializers the exported graph holds for the weights, as
/// [`WeightTable`] writes them: layer-norm parameters stay f32; in f16
/// everything else is 2 bytes; in int8 each linear weight is 1 byte plus an
/// f32 scale and a uint8 zero point per output column, the rest f32.
pub fn weight_bytes(spec: &GptSpec, format: WeightFormat) -> u64 {
    spec.weight_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let role = match name.as_str() {
                _ if name.starts_with("ln_") || name.contains(".ln_") => WeightRole::Norm,
                "wte" | "wpe" => WeightRole::Other,
                _ if shape.len() == 2 => WeightRole::Linear,
                _ => WeightRole::Other,
            };
            stored_bytes(format, role, &shape)
        })
        .sum()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::onnx::OUTPUT;
    use crate::onnx::proto::{DataType, DimensionValue, ModelProto};
    use prost::Message;

    /// A small GPT for the graph writer's tests and the session's.
    pub(crate) fn spec() -> GptSpec {
        GptSpec {
            vocab_size: 10,
            hidden: 8,
            layers: 2,
            heads: 2,
            max_seq: 6,
            seed: 0,
        }
    }

    /// Every weight of `spec`, each value 0.5.
    pub(crate) fn weights(spec: &GptSpec) -> Weights {
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
        let export = Export {
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
        let export = Export {
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
