//! BERT-family encoders (architecture: `inferbench_backend::bert`) as an
//! ONNX graph of standard opset-17 operators, with sentence-transformers'
//! pooling inside the graph.
//!
//! Inputs `input_ids` and `attention_mask`, both `int64[batch, seq_len]`
//! (HF's names; the mask 1 for real tokens, 0 for padding on the right).
//! Outputs `last_hidden_state: float[batch, seq_len, hidden]`, then, when
//! the model has pooling, `sentence_embedding: float[batch, hidden]`.
//! Weights are stored and linear layers computed in the export's format as
//! for the decoders ([`super::layers`]): f32, f16 storage with f32
//! arithmetic, or dynamically quantized int8 linear layers.

use inferbench_backend::bert::{LAST_HIDDEN_STATE, SENTENCE_EMBEDDING};
use inferbench_backend::{BertConfig, PoolingMode, SentencePooling};

use super::graph::{Dim, GraphBuilder, attr_int, attr_ints, f32_tensor, i64_tensor, model};
use super::layers::{
    Norm, WeightFormat, WeightRole, WeightTable, Weights, attention, gelu, stored_bytes,
};
use super::proto::{DataType, ModelProto};

pub const INPUT_IDS: &str = "input_ids";
pub const ATTENTION_MASK: &str = "attention_mask";

/// Constants every layer shares.
struct Shared {
    /// `[batch, seq, heads, head_dim]` (0 copies the input's dimension).
    heads_shape: String,
    /// `[batch, seq, hidden]`.
    merge_shape: String,
    sqrt_head_dim: String,
    /// `(1 - mask) * f32::MIN`, `[batch, 1, 1, seq]`: HF's extended
    /// attention mask (`torch.finfo(float32).min`), added to the scores.
    additive_mask: String,
    /// The mask as f32 `[batch, seq, 1]`, for pooling.
    mask: String,
}

/// Builds the encoder graph; fails only when a weight is missing or misshapen.
pub fn bert_graph(
    config: &BertConfig,
    pooling: Option<SentencePooling>,
    weights: &Weights,
    format: WeightFormat,
) -> Result<ModelProto, String> {
    let mut w = WeightTable {
        weights,
        format,
        row_mask: None,
    };
    let mut g = GraphBuilder::new();
    let dims = [Dim::Named("batch".into()), Dim::Named("seq_len".into())];
    g.input(INPUT_IDS, DataType::Int64, &dims);
    g.input(ATTENTION_MASK, DataType::Int64, &dims);
    let shared = shared_constants(&mut g, config);
    w.row_mask = Some(shared.mask.clone());
    let mut x = embeddings(&mut g, &mut w, config)?;
    for l in 0..config.num_hidden_layers {
        x = layer(&mut g, &mut w, config, &shared, l, &x)?;
    }
    let hidden = config.hidden_size as i64;
    g.node("Identity", "last_hidden_state", &[&x], vec![]);
    g.rename_last_output(LAST_HIDDEN_STATE);
    let mut out_dims = dims.to_vec();
    out_dims.push(Dim::Fixed(hidden));
    g.output(LAST_HIDDEN_STATE, DataType::Float, &out_dims);
    if let Some(pooling) = pooling {
        let pooled = pool(&mut g, LAST_HIDDEN_STATE, &shared.mask, pooling);
        g.node("Identity", "sentence_embedding", &[&pooled], vec![]);
        g.rename_last_output(SENTENCE_EMBEDDING);
        g.output(
            SENTENCE_EMBEDDING,
            DataType::Float,
            &[dims[0].clone(), Dim::Fixed(hidden)],
        );
    }
    let doc = format!(
        "inferbench {} encoder ({}): hidden {} layers {} heads {}, pooling {}",
        config.arch.as_str(),
        format.as_str(),
        config.hidden_size,
        config.num_hidden_layers,
        config.num_attention_heads,
        match pooling {
            Some(p) => format!(
                "{}{}",
                p.mode.as_str(),
                if p.normalize { " + L2" } else { "" }
            ),
            None => "none".into(),
        }
    );
    Ok(model(g.finish("bert_encoder"), &doc))
}

fn shared_constants(g: &mut GraphBuilder, config: &BertConfig) -> Shared {
    let (h, nh, d) = (
        config.hidden_size as i64,
        config.num_attention_heads as i64,
        config.head_dim() as i64,
    );
    let heads_shape = g.initializer(i64_tensor("const_heads_shape", &[4], &[0, 0, nh, d]));
    let merge_shape = g.initializer(i64_tensor("const_merge_shape", &[3], &[0, 0, h]));
    let sqrt_head_dim = g.initializer(f32_tensor("const_sqrt_head_dim", &[], &[(d as f32).sqrt()]));
    let one = g.initializer(f32_tensor("const_mask_one", &[], &[1.0]));
    let min = g.initializer(f32_tensor("const_mask_min", &[], &[f32::MIN]));
    let axes_12 = g.initializer(i64_tensor("const_axes_12", &[2], &[1, 2]));
    let axis_2 = g.initializer(i64_tensor("const_axis_2", &[1], &[2]));
    let mask = g.node(
        "Cast",
        "mask_f32",
        &[ATTENTION_MASK],
        vec![attr_int("to", DataType::Float as i64)],
    );
    let inverted = g.node("Sub", "mask_inverted", &[&one, &mask], vec![]);
    let additive = g.node("Mul", "mask_additive", &[&inverted, &min], vec![]);
    let additive_mask = g.node("Unsqueeze", "mask_4d", &[&additive, &axes_12], vec![]);
    let mask = g.node("Unsqueeze", "mask_3d", &[&mask, &axis_2], vec![]);
    Shared {
        heads_shape,
        merge_shape,
        sqrt_head_dim,
        additive_mask,
        mask,
    }
}

/// `LayerNorm(word[ids] + position[offset..offset+seq] + token_type[0])`.
fn embeddings(
    g: &mut GraphBuilder,
    w: &mut WeightTable,
    config: &BertConfig,
) -> Result<String, String> {
    let h = config.hidden_size;
    let e = |s: &str| format!("embeddings.{s}");
    let word = w.plain(g, &e("word_embeddings.weight"), &[config.vocab_size, h])?;
    let position = w.plain(
        g,
        &e("position_embeddings.weight"),
        &[config.max_position_embeddings, h],
    )?;
    // Token type 0 for every token: one segment, as sentence-transformers
    // encodes; its row is a constant.
    let types = w.get(
        &e("token_type_embeddings.weight"),
        &[config.type_vocab_size, h],
    )?;
    let type_0 = g.initializer(f32_tensor("embeddings.token_type_0", &[h], &types[..h]));
    let offset = config.position_offset() as i64;
    let start = g.initializer(i64_tensor("const_position_start", &[1], &[offset]));
    let axis_0 = g.initializer(i64_tensor("const_axis_0", &[1], &[0]));
    let seq = g.node(
        "Shape",
        "seq_len",
        &[INPUT_IDS],
        vec![attr_int("start", 1), attr_int("end", 2)],
    );
    let end = g.node("Add", "position_end", &[&start, &seq], vec![]);
    let positions = g.node(
        "Slice",
        "positions",
        &[&position, &start, &end, &axis_0],
        vec![],
    );
    let tokens = g.node(
        "Gather",
        "tokens",
        &[&word, INPUT_IDS],
        vec![attr_int("axis", 0)],
    );
    let x = g.node("Add", "embed_positions", &[&tokens, &positions], vec![]);
    let x = g.node("Add", "embed_types", &[&x, &type_0], vec![]);
    w.norm(
        g,
        Norm::Layer,
        &e("LayerNorm"),
        &x,
        (h, config.layer_norm_eps),
    )
}

/// One post-LayerNorm encoder layer (`BertLayer`).
fn layer(
    g: &mut GraphBuilder,
    w: &mut WeightTable,
    config: &BertConfig,
    shared: &Shared,
    l: usize,
    x: &str,
) -> Result<String, String> {
    let (h, f, eps) = (
        config.hidden_size,
        config.intermediate_size,
        config.layer_norm_eps,
    );
    let p = |s: &str| format!("encoder.layer.{l}.{s}");
    // [b, t, h] -> [b, t, nh, d] -> [b, nh, t, d]
    let mut heads = |g: &mut GraphBuilder, name: &str| -> Result<String, String> {
        let y = w.linear(g, &p(&format!("attention.self.{name}")), x, [h, h], true)?;
        let y = g.node("Reshape", name, &[&y, &shared.heads_shape], vec![]);
        Ok(g.node(
            "Transpose",
            name,
            &[&y],
            vec![attr_ints("perm", &[0, 2, 1, 3])],
        ))
    };
    let (q, k, v) = (heads(g, "query")?, heads(g, "key")?, heads(g, "value")?);
    let y = attention(
        g,
        (&q, &k, &v),
        &shared.additive_mask,
        &shared.sqrt_head_dim,
        4,
    );
    let y = g.node(
        "Transpose",
        "context",
        &[&y],
        vec![attr_ints("perm", &[0, 2, 1, 3])],
    );
    let y = g.node(
        "Reshape",
        "context_merged",
        &[&y, &shared.merge_shape],
        vec![],
    );
    let y = w.linear(g, &p("attention.output.dense"), &y, [h, h], true)?;
    let x = g.node("Add", "resid_attention", &[x, &y], vec![]);
    let x = w.norm(
        g,
        Norm::Layer,
        &p("attention.output.LayerNorm"),
        &x,
        (h, eps),
    )?;
    let y = w.linear(g, &p("intermediate.dense"), &x, [h, f], true)?;
    let y = gelu(g, &p("intermediate"), &y);
    let y = w.linear(g, &p("output.dense"), &y, [f, h], true)?;
    let x = g.node("Add", "resid_mlp", &[&x, &y], vec![]);
    w.norm(g, Norm::Layer, &p("output.LayerNorm"), &x, (h, eps))
}

/// sentence-transformers' `Pooling` over real tokens (`mask [b, t, 1]`),
/// then `Normalize` (`x / max(||x||, 1e-12)`, as
/// `torch.nn.functional.normalize`).
fn pool(g: &mut GraphBuilder, states: &str, mask: &str, pooling: SentencePooling) -> String {
    let axis_1 = g.initializer(i64_tensor("const_pool_axis", &[1], &[1]));
    let pooled = match pooling.mode {
        PoolingMode::Cls => {
            let first = g.initializer(i64_tensor("const_first", &[], &[0]));
            g.node(
                "Gather",
                "cls",
                &[states, &first],
                vec![attr_int("axis", 1)],
            )
        }
        PoolingMode::Mean => {
            let masked = g.node("Mul", "masked_states", &[states, mask], vec![]);
            let keep = attr_int("keepdims", 0);
            let sum = g.node("ReduceSum", "sum", &[&masked, &axis_1], vec![keep.clone()]);
            let count = g.node("ReduceSum", "count", &[mask, &axis_1], vec![keep]);
            g.node("Div", "mean", &[&sum, &count], vec![])
        }
        PoolingMode::Max => {
            // Padding set to -1e9 first, as sentence-transformers does.
            let one = g.initializer(f32_tensor("const_pool_one", &[], &[1.0]));
            let low = g.initializer(f32_tensor("const_pool_low", &[], &[-1e9]));
            let padding = g.node("Sub", "padding", &[&one, mask], vec![]);
            let padding = g.node("Mul", "padding_low", &[&padding, &low], vec![]);
            let shifted = g.node("Add", "shifted", &[states, &padding], vec![]);
            g.node(
                "ReduceMax",
                "max",
                &[&shifted],
                vec![attr_ints("axes", &[1]), attr_int("keepdims", 0)],
            )
        }
    };
    if !pooling.normalize {
        return pooled;
    }
    let last = g.initializer(i64_tensor("const_last_axis", &[1], &[-1]));
    let tiny = g.initializer(f32_tensor("const_norm_eps", &[], &[1e-12]));
    let sq = g.node("Mul", "squares", &[&pooled, &pooled], vec![]);
    let sum = g.node(
        "ReduceSum",
        "norm_sq",
        &[&sq, &last],
        vec![attr_int("keepdims", 1)],
    );
    let norm = g.node("Sqrt", "norm", &[&sum], vec![]);
    let norm = g.node("Max", "norm_clamped", &[&norm, &tiny], vec![]);
    g.node("Div", "normalized", &[&pooled, &norm], vec![])
}

/// Bytes of the encoder's weights as the graph stores them in `format`.
pub fn bert_weight_bytes(config: &BertConfig, format: WeightFormat) -> u64 {
    config
        .weight_shapes()
        .iter()
        .map(|(name, shape)| {
            let role = if name.contains("LayerNorm") {
                WeightRole::Norm
            } else if name.starts_with("encoder.") && shape.len() == 2 {
                WeightRole::Linear
            } else {
                WeightRole::Other
            };
            stored_bytes(format, role, shape)
        })
        .sum()
}
