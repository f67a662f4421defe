//! The Llama family (architecture: `inferbench_backend::llama`) as an ONNX
//! graph of standard opset-17 operators, built from the HF-named f32
//! weights with the blocks the synthetic GPT uses ([`super::layers`]).
//!
//! Input `input_ids: int64[batch, seq_len]`. The forward graph returns
//! `logits: float[batch, seq_len, vocab_size]`; the KV-cache decoder also
//! takes, per layer, `past_key_l`/`past_value_l [batch, kv_heads,
//! past_len, head_dim]` and returns `present_key_l`/`present_value_l
//! [batch, kv_heads, past_len + seq_len, head_dim]` and the logits of the
//! last position only, `[batch, 1, vocab_size]` (what decoding needs; it
//! spares the prefill the LM head over every prompt position). The new
//! tokens' absolute positions, `past_len..past_len + seq_len`, select the
//! rows of the rotary tables and of the causal mask.

use inferbench_backend::LlamaConfig;

use super::graph::{Dim, GraphBuilder, attr_int, attr_ints, f32_tensor, i64_tensor, model};
use super::layers::{
    Export, INPUT, Norm, Positions, WeightFormat, WeightRole, WeightTable, Weights,
    append_to_cache, attention, declare_inputs, declare_logits, stored_bytes,
};
use super::proto::ModelProto;

/// Builds the forward or the decoder graph of `config` in `export`'s
/// format; fails when the config is inconsistent or a weight is missing or
/// misshapen (the message names it).
///
/// Formats as for the synthetic GPT ([`super::gpt_graph`]): f16 stores the
/// weights (not the norm gains) and the KV cache as FLOAT16 and computes in
/// f32; int8 quantizes every linear layer, the LM head included.
pub fn llama_graph(
    config: &LlamaConfig,
    weights: &Weights,
    export: Export,
) -> Result<ModelProto, String> {
    config.validate()?;
    let mut g = GraphBuilder::new();
    let ctx = Context::declare(&mut g, config, export);
    let w = WeightTable {
        weights,
        format: export.format,
        row_mask: None,
    };
    let mut writer = Writer { g, w, ctx };
    let rows = writer.network()?;
    let mut g = writer.g;
    declare_logits(&mut g, rows, config.vocab_size);
    let (name, kind) = match export.kv_cache {
        true => ("llama_decoder", ", KV-cache decoder"),
        false => ("llama", ""),
    };
    let doc = format!(
        "inferbench {} ({}{kind}): {config:?}",
        config.arch.as_str(),
        export.format.as_str()
    );
    Ok(model(g.finish(name), &doc))
}

/// What every layer reads: the config, the rotary angles and causal mask
/// of the new positions, and shape constants.
struct Context<'a> {
    config: &'a LlamaConfig,
    kv_cache: bool,
    /// `cos`/`sin` of the new positions' angles, `[seq_len, head_dim / 2]`.
    cos: String,
    sin: String,
    /// Additive causal mask `[seq_len, past_len + seq_len]`: 0 where a new
    /// position may attend, -inf at later positions.
    mask: String,
    sqrt_head_dim: String,
    /// `[0, 0, kv_heads, group, head_dim]`, `[0, 0, kv_heads, head_dim]`,
    /// `[0, 0, heads * head_dim]` for `Reshape`.
    q_shape: String,
    kv_shape: String,
    merge_shape: String,
    /// Slice bounds of the two rotary halves on the last axis, and axis 2.
    halves: [[String; 2]; 2],
    last_axis: String,
    axis_2: String,
}

impl<'a> Context<'a> {
    fn declare(g: &mut GraphBuilder, config: &'a LlamaConfig, export: Export) -> Self {
        let (kv, d) = (config.num_key_value_heads, config.head_dim);
        let cache_dims = cache_dims(kv, d, "past_len");
        let layers = export.kv_cache.then_some(config.num_hidden_layers);
        let positions = declare_inputs(g, layers, &cache_dims, export.format.storage());
        let (rows, cols) = position_ranges(g, &positions);
        let (cos, sin) = rotary_angles(g, config, &rows);
        let mask = causal_mask(g, &rows, &cols);
        let c = |g: &mut GraphBuilder, name: &str, v: &[i64]| {
            g.initializer(i64_tensor(&format!("const_{name}"), &[v.len()], v))
        };
        let (kv, group, d, half) = (kv as i64, config.kv_group() as i64, d as i64, d as i64 / 2);
        Context {
            config,
            kv_cache: export.kv_cache,
            cos,
            sin,
            mask,
            sqrt_head_dim: g.initializer(f32_tensor(
                "const_sqrt_head_dim",
                &[],
                &[(d as f64).sqrt() as f32],
            )),
            q_shape: c(g, "q_shape", &[0, 0, kv, group, d]),
            kv_shape: c(g, "kv_shape", &[0, 0, kv, d]),
            merge_shape: c(g, "merge_shape", &[0, 0, kv * group * d]),
            halves: [
                [
                    c(g, "first_half_start", &[0]),
                    c(g, "first_half_end", &[half]),
                ],
                [
                    c(g, "second_half_start", &[half]),
                    c(g, "second_half_end", &[d]),
                ],
            ],
            last_axis: c(g, "last_axis", &[-1]),
            axis_2: c(g, "axis_2", &[2]),
        }
    }
}

/// `[batch, kv_heads, <len>, head_dim]`, the shape of a layer's cache.
fn cache_dims(kv_heads: usize, head_dim: usize, len: &str) -> [Dim; 4] {
    [
        Dim::Named("batch".into()),
        Dim::Fixed(kv_heads as i64),
        Dim::Named(len.into()),
        Dim::Fixed(head_dim as i64),
    ]
}

/// The new tokens' positions `past..total` and every position `0..total`,
/// as 1-D int64 ranges.
fn position_ranges(g: &mut GraphBuilder, p: &Positions) -> (String, String) {
    let axis0 = g.initializer(i64_tensor("const_axis_0", &[1], &[0]));
    let zero = g.initializer(i64_tensor("const_scalar_zero", &[], &[0]));
    let one = g.initializer(i64_tensor("const_scalar_one", &[], &[1]));
    let past = g.node("Squeeze", "past_scalar", &[&p.past, &axis0], vec![]);
    let total = g.node("Squeeze", "total_scalar", &[&p.total, &axis0], vec![]);
    let rows = g.node("Range", "new_positions", &[&past, &total, &one], vec![]);
    let cols = g.node("Range", "all_positions", &[&zero, &total, &one], vec![]);
    (rows, cols)
}

/// `cos` and `sin` of `position * inv_freq` for the new positions: rows of
/// tables computed here in f64 for every position up to
/// `max_position_embeddings` (a `Gather` past the end is an error, not a
/// wrong angle), with the config's inverse frequencies (`rope_theta`,
/// Llama 3 scaling) as `LlamaRotaryEmbedding` defines them.
fn rotary_angles(g: &mut GraphBuilder, config: &LlamaConfig, rows: &str) -> (String, String) {
    let inv_freq = config.rope_inv_freq();
    let positions = config.max_position_embeddings;
    let angle = |p: usize, f: &f64| p as f64 * f;
    let table = |trig: fn(f64) -> f64| -> Vec<f32> {
        (0..positions)
            .flat_map(|p| inv_freq.iter().map(move |f| trig(angle(p, f)) as f32))
            .collect()
    };
    let shape = [positions, inv_freq.len()];
    let cos = g.initializer(f32_tensor("rotary_cos", &shape, &table(f64::cos)));
    let sin = g.initializer(f32_tensor("rotary_sin", &shape, &table(f64::sin)));
    let axis = vec![attr_int("axis", 0)];
    let cos = g.node("Gather", "cos", &[&cos, rows], axis.clone());
    let sin = g.node("Gather", "sin", &[&sin, rows], axis);
    (cos, sin)
}

/// 0 where column (key position) <= row (query position), -inf after.
fn causal_mask(g: &mut GraphBuilder, rows: &str, cols: &str) -> String {
    let ax0 = g.initializer(i64_tensor("const_mask_axis_0", &[1], &[0]));
    let ax1 = g.initializer(i64_tensor("const_mask_axis_1", &[1], &[1]));
    let rows = g.node("Unsqueeze", "mask_rows", &[rows, &ax1], vec![]);
    let cols = g.node("Unsqueeze", "mask_cols", &[cols, &ax0], vec![]);
    let future = g.node("Greater", "future", &[&cols, &rows], vec![]);
    let neg_inf = g.initializer(f32_tensor("const_neg_inf", &[], &[f32::NEG_INFINITY]));
    let zero = g.initializer(f32_tensor("const_mask_zero", &[], &[0.0]));
    g.node("Where", "causal_mask", &[&future, &neg_inf, &zero], vec![])
}

/// The graph being written, its weights, and what every layer reads.
struct Writer<'a> {
    g: GraphBuilder,
    w: WeightTable<'a>,
    ctx: Context<'a>,
}

impl Writer<'_> {
    /// Embedding, layers, final norm and LM head; the logits are the last
    /// node's output, with `rows` positions per sequence.
    fn network(&mut self) -> Result<Dim, String> {
        let c = self.ctx.config;
        let (v, h) = (c.vocab_size, c.hidden_size);
        let embed = self
            .w
            .plain(&mut self.g, "model.embed_tokens.weight", &[v, h])?;
        let gather = vec![attr_int("axis", 0)];
        let mut x = self.g.node("Gather", "embed", &[&embed, INPUT], gather);
        for l in 0..c.num_hidden_layers {
            x = self.decoder_layer(l, &x)?;
        }
        let rows = if self.ctx.kv_cache {
            x = last_position(&mut self.g, &x);
            Dim::Fixed(1)
        } else {
            Dim::Named("seq_len".into())
        };
        let x = self.rms_norm("model.norm", &x)?;
        self.lm_head(&x, &embed)?;
        Ok(rows)
    }

    fn rms_norm(&mut self, name: &str, x: &str) -> Result<String, String> {
        let c = self.ctx.config;
        let width_eps = (c.hidden_size, c.rms_norm_eps);
        self.w.norm(&mut self.g, Norm::Rms, name, x, width_eps)
    }

    /// Pre-norm attention and pre-norm SwiGLU MLP, each added to the
    /// residual stream.
    fn decoder_layer(&mut self, l: usize, x: &str) -> Result<String, String> {
        let p = |s: &str| format!("model.layers.{l}.{s}");
        let n = self.rms_norm(&p("input_layernorm"), x)?;
        let a = self.self_attention(l, &n)?;
        let x = self.g.node("Add", "resid_attn", &[x, &a], vec![]);
        let n = self.rms_norm(&p("post_attention_layernorm"), &x)?;
        let m = self.swiglu_mlp(&p("mlp"), &n)?;
        Ok(self.g.node("Add", "resid_mlp", &[&x, &m], vec![]))
    }

    /// Grouped-query self-attention. Queries are laid out `[batch,
    /// kv_heads, group, seq, head_dim]` (query head `h` is `(h / group, h %
    /// group)`), keys and values `[batch, kv_heads, 1, len, head_dim]`, so
    /// `MatMul` broadcasting shares each key/value head with its group of
    /// query heads.
    fn self_attention(&mut self, l: usize, x: &str) -> Result<String, String> {
        let (c, g) = (self.ctx.config, &mut self.g);
        let p = |s: &str| format!("model.layers.{l}.self_attn.{s}");
        let (h, d, bias) = (c.hidden_size, c.head_dim, c.attention_bias());
        let (q_width, kv_width) = (c.num_attention_heads * d, c.num_key_value_heads * d);
        let q = self.w.linear(g, &p("q_proj"), x, [h, q_width], bias)?;
        let k = self.w.linear(g, &p("k_proj"), x, [h, kv_width], bias)?;
        let v = self.w.linear(g, &p("v_proj"), x, [h, kv_width], bias)?;
        let ctx = &self.ctx;
        let q = g.node("Reshape", "q_heads", &[&q, &ctx.q_shape], vec![]);
        let q = g.node(
            "Transpose",
            "q_t",
            &[&q],
            vec![attr_ints("perm", &[0, 2, 3, 1, 4])],
        );
        let q = rotate(g, ctx, &q);
        let [k, v] = [("k", k), ("v", v)].map(|(hint, t)| {
            let t = g.node("Reshape", hint, &[&t, &ctx.kv_shape], vec![]);
            g.node(
                "Transpose",
                hint,
                &[&t],
                vec![attr_ints("perm", &[0, 2, 1, 3])],
            )
        });
        let (mut k, mut v) = (rotate(g, ctx, &k), v);
        if ctx.kv_cache {
            let present = cache_dims(c.num_key_value_heads, d, "total_len");
            (k, v) = append_to_cache(g, &self.w, l, (&k, &v), &present);
        }
        let k = g.node("Unsqueeze", "k_group", &[&k, &ctx.axis_2], vec![]);
        let v = g.node("Unsqueeze", "v_group", &[&v, &ctx.axis_2], vec![]);
        let y = attention(g, (&q, &k, &v), &ctx.mask, &ctx.sqrt_head_dim, 5);
        let y = g.node(
            "Transpose",
            "attn_t",
            &[&y],
            vec![attr_ints("perm", &[0, 3, 1, 2, 4])],
        );
        let y = g.node("Reshape", "attn_merged", &[&y, &ctx.merge_shape], vec![]);
        self.w.linear(g, &p("o_proj"), &y, [q_width, h], false)
    }

    /// `down(silu(gate(x)) * up(x))`, `silu(z) = z * sigmoid(z)` (`LlamaMLP`).
    fn swiglu_mlp(&mut self, prefix: &str, x: &str) -> Result<String, String> {
        let (c, g, w) = (self.ctx.config, &mut self.g, &mut self.w);
        let (h, f) = (c.hidden_size, c.intermediate_size);
        let gate = w.linear(g, &format!("{prefix}.gate_proj"), x, [h, f], false)?;
        let up = w.linear(g, &format!("{prefix}.up_proj"), x, [h, f], false)?;
        let sig = g.node("Sigmoid", "gate_sigmoid", &[&gate], vec![]);
        let act = g.node("Mul", "silu", &[&gate, &sig], vec![]);
        let y = g.node("Mul", "swiglu", &[&act, &up], vec![]);
        w.linear(g, &format!("{prefix}.down_proj"), &y, [f, h], false)
    }

    /// `lm_head.weight`, or with tied embeddings the embedding table itself.
    /// Tied f32/f16 heads multiply by the very initializer the `Gather`
    /// reads, through `Gemm` with `transB` (no transposed copy in the file
    /// or in memory); int8 stores the table a second time, quantized.
    fn lm_head(&mut self, x: &str, embed: &str) -> Result<String, String> {
        let (c, g, w) = (self.ctx.config, &mut self.g, &mut self.w);
        let (v, h) = (c.vocab_size, c.hidden_size);
        if !c.tie_word_embeddings {
            return w.linear(g, "lm_head", x, [h, v], false);
        }
        if w.format == WeightFormat::Int8 {
            let table = w.get("model.embed_tokens.weight", &[v, h])?;
            return Ok(w.matmul_transposed(g, "lm_head", x, table, [h, v]));
        }
        let rows_shape = g.initializer(i64_tensor("const_rows_shape", &[2], &[-1, h as i64]));
        let rows = g.node("Reshape", "head_rows", &[x, &rows_shape], vec![]);
        let y = g.node(
            "Gemm",
            "lm_head",
            &[&rows, embed],
            vec![attr_int("transB", 1)],
        );
        let vocab = g.initializer(i64_tensor("const_vocab", &[1], &[v as i64]));
        let lead = g.node("Shape", "lead", &[x], vec![attr_int("end", 2)]);
        let shape = g.node(
            "Concat",
            "logits_shape",
            &[&lead, &vocab],
            vec![attr_int("axis", 0)],
        );
        Ok(g.node("Reshape", "lm_head", &[&y, &shape], vec![]))
    }
}

/// Rotary embedding in HF's "rotate half" layout: with `x = [x1, x2]`
/// split in halves of the head, `[x1 cos - x2 sin, x2 cos + x1 sin]`
/// (`apply_rotary_pos_emb` in `transformers`' `modeling_llama.py`).
fn rotate(g: &mut GraphBuilder, ctx: &Context, x: &str) -> String {
    let [x1, x2] = ctx
        .halves
        .each_ref()
        .map(|[start, end]| g.node("Slice", "half", &[x, start, end, &ctx.last_axis], vec![]));
    let mul = |g: &mut GraphBuilder, a: &str, b: &str| g.node("Mul", "rot", &[a, b], vec![]);
    let (x1c, x2s) = (mul(g, &x1, &ctx.cos), mul(g, &x2, &ctx.sin));
    let (x2c, x1s) = (mul(g, &x2, &ctx.cos), mul(g, &x1, &ctx.sin));
    let first = g.node("Sub", "rot_first", &[&x1c, &x2s], vec![]);
    let second = g.node("Add", "rot_second", &[&x2c, &x1s], vec![]);
    g.node(
        "Concat",
        "rotated",
        &[&first, &second],
        vec![attr_int("axis", -1)],
    )
}

/// `x[:, -1:, :]`, the last position of each sequence.
fn last_position(g: &mut GraphBuilder, x: &str) -> String {
    let start = g.initializer(i64_tensor("const_last_start", &[1], &[-1]));
    let end = g.initializer(i64_tensor("const_last_end", &[1], &[i64::MAX]));
    let axis = g.initializer(i64_tensor("const_seq_axis", &[1], &[1]));
    g.node("Slice", "last_position", &[x, &start, &end, &axis], vec![])
}

/// Bytes of the initializers the exported graph holds for the weights, as
/// [`llama_graph`] writes them: norm gains f32; in f16 everything else 2
/// bytes; in int8 each linear weight 1 byte plus an f32 scale and a uint8
/// zero point per output row, embeddings and biases f32, and a tied LM
/// head quantized beside the f32 table.
pub fn llama_weight_bytes(config: &LlamaConfig, format: WeightFormat) -> u64 {
    let embed = "model.embed_tokens.weight";
    let role = |name: &str, shape: &[usize]| match name {
        _ if name.ends_with("norm.weight") => WeightRole::Norm,
        _ if shape.len() == 2 && name != embed => WeightRole::Linear,
        _ => WeightRole::Other,
    };
    let mut bytes: u64 = config
        .weight_shapes()
        .into_iter()
        .map(|(name, shape)| stored_bytes(format, role(&name, &shape), &shape))
        .sum();
    if format == WeightFormat::Int8 && config.tie_word_embeddings {
        let head = [config.vocab_size, config.hidden_size];
        bytes += stored_bytes(format, WeightRole::Linear, &head);
    }
    bytes
}
