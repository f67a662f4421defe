//! A small hand-built model with the inputs of a transformer encoder, for
//! tests and examples of user model files: token ids and an attention mask,
//! both `int64[batch, sequence]` with symbolic dimensions.
//!
//! `embeddings[b, s, :] = table[input_ids[b, s], :] * attention_mask[b, s]`

use prost::Message;

use super::graph::{Dim, GraphBuilder, f32_tensor, i64_tensor, model};
use super::proto::DataType;

/// The table `[vocab, width]` the model embeds with: `table[i][j] = scale *
/// (i + j / 10)`, so outputs are easy to compute by hand.
pub fn embedding_table(vocab: usize, width: usize, scale: f32) -> Vec<f32> {
    (0..vocab * width)
        .map(|k| scale * ((k / width) as f32 + (k % width) as f32 / 10.0))
        .collect()
}

/// The serialized model.
pub fn masked_embedding(vocab: usize, width: usize, scale: f32) -> Vec<u8> {
    let mut g = GraphBuilder::new();
    let dims = [Dim::Named("batch".into()), Dim::Named("sequence".into())];
    g.input("input_ids", DataType::Int64, &dims);
    g.input("attention_mask", DataType::Int64, &dims);
    let table = g.initializer(f32_tensor(
        "table",
        &[vocab, width],
        &embedding_table(vocab, width, scale),
    ));
    let last = g.initializer(i64_tensor("axes_last", &[1], &[-1]));
    let rows = g.node(
        "Gather",
        "rows",
        &[&table, "input_ids"],
        vec![super::attr_int("axis", 0)],
    );
    let mask = g.node(
        "Cast",
        "mask_f",
        &["attention_mask"],
        vec![super::attr_int("to", DataType::Float as i64)],
    );
    let mask = g.node("Unsqueeze", "mask_3d", &[&mask, &last], vec![]);
    g.node("Mul", "embeddings", &[&rows, &mask], vec![]);
    g.rename_last_output("embeddings");
    g.output(
        "embeddings",
        DataType::Float,
        &[dims[0].clone(), dims[1].clone(), Dim::Fixed(width as i64)],
    );
    model(
        g.finish("masked_embedding"),
        "inferbench sample: masked embedding",
    )
    .encode_to_vec()
}
