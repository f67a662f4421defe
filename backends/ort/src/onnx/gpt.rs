//! The synthetic GPT (architecture: `inferbench_backend::gpt`) as an ONNX
//! graph of standard opset-17 operators, so any ONNX runtime runs it.
//!
//! Input `input_ids: int64[batch, seq_len]`, output
//! `logits: float[batch, seq_len, vocab_size]`; both dimensions symbolic.
//! Linear weights are stored transposed (`[in, out]`) so a linear layer is
//! `MatMul(x, W) + b`, as `torch.onnx.export` writes `nn.Linear`.

use std::collections::HashMap;

use inferbench_backend::GptSpec;

use super::graph::{
    Dim, GraphBuilder, attr_float, attr_int, attr_ints, f32_tensor, i64_tensor, model,
};
use super::proto::{DataType, ModelProto};

/// The f32 weights by name, each `(shape, values)`, as in the safetensors file.
pub type Weights = HashMap<String, (Vec<usize>, Vec<f32>)>;

pub const INPUT: &str = "input_ids";
pub const OUTPUT: &str = "logits";

/// Builds the model; fails only when a weight is missing or misshapen.
pub fn gpt_model(spec: &GptSpec, weights: &Weights) -> Result<ModelProto, String> {
    let mut w = WeightTable { spec, weights };
    let mut g = GraphBuilder::new();
    let (h, nh, d) = (
        spec.hidden as i64,
        spec.heads as i64,
        spec.head_dim() as i64,
    );
    let batch = Dim::Named("batch".into());
    let seq = Dim::Named("seq_len".into());
    g.input(INPUT, DataType::Int64, &[batch.clone(), seq.clone()]);

    // Constants shared by every block.
    let zero = g.initializer(i64_tensor("const_zero", &[1], &[0]));
    let axes_01 = g.initializer(i64_tensor("const_axes_01", &[2], &[0, 1]));
    let zeros_2 = g.initializer(i64_tensor("const_zeros_2", &[2], &[0, 0]));
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

    // x = wte[ids] + wpe[0..T]
    let wte = w.plain(&mut g, "wte", &[spec.vocab_size, spec.hidden])?;
    let wpe = w.plain(&mut g, "wpe", &[spec.max_seq, spec.hidden])?;
    let tok = g.node("Gather", "tok", &[&wte, INPUT], vec![attr_int("axis", 0)]);
    let t = g.node(
        "Shape",
        "seq_len",
        &[INPUT],
        vec![attr_int("start", 1), attr_int("end", 2)],
    );
    let pos = g.node("Slice", "pos", &[&wpe, &zero, &t, &zero], vec![]);
    let mut x = g.node("Add", "embed", &[&tok, &pos], vec![]);
    let tt = g.node("Concat", "mask_ends", &[&t, &t], vec![attr_int("axis", 0)]);
    let mask = g.node(
        "Slice",
        "mask",
        &[&mask_full, &zeros_2, &tt, &axes_01],
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
        let [q, k, v] = [0, 1, 2].map(|i| {
            g.node(
                "Gather",
                ["q", "k", "v"][i],
                &[&qkv, &pick[i]],
                vec![attr_int("axis", 0)],
            )
        });
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
        "inferbench synthetic GPT: vocab {} hidden {} layers {} heads {} max_seq {} seed {}",
        spec.vocab_size, spec.hidden, spec.layers, spec.heads, spec.max_seq, spec.seed
    );
    Ok(model(g.finish("synthetic_gpt"), &doc))
}

/// Looks weights up by name, checks their shapes and adds them as
/// initializers.
struct WeightTable<'a> {
    spec: &'a GptSpec,
    weights: &'a Weights,
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

    fn plain(
        &mut self,
        g: &mut GraphBuilder,
        name: &str,
        shape: &[usize],
    ) -> Result<String, String> {
        let data = self.get(name, shape)?;
        Ok(g.initializer(f32_tensor(name, shape, data)))
    }

    fn layer_norm(&mut self, g: &mut GraphBuilder, name: &str, x: &str) -> Result<String, String> {
        let h = self.spec.hidden;
        let gain = self.plain(g, &format!("{name}.weight"), &[h])?;
        let bias = self.plain(g, &format!("{name}.bias"), &[h])?;
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
        let wt = g.initializer(f32_tensor(&format!("{name}.weight_t"), &[inp, out], &wt));
        let y = g.node("MatMul", name, &[x, &wt], vec![]);
        if !bias {
            return Ok(y);
        }
        let b = self.plain(g, &format!("{name}.bias"), &[out])?;
        Ok(g.node("Add", name, &[&y, &b], vec![]))
    }
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
