//! The BERT family of encoders (BERT, RoBERTa, XLM-RoBERTa) as every backend
//! builds it: its configuration, read from a Hugging Face `config.json`, the
//! names and shapes of its weights, the sentence-transformers pooling on top,
//! and the padded batches it runs on.
//!
//! ```text
//! x = LayerNorm(word_embeddings[ids] + position_embeddings[offset + i] + token_type_embeddings[0])
//! for each layer: x = LayerNorm(x + attention.output.dense(attn(query(x), key(x), value(x), mask)))
//!                 x = LayerNorm(x + output.dense(gelu(intermediate.dense(x))))
//! embedding = normalize?(pool(x, mask))           (pool: mean | cls | max over real tokens)
//! ```
//!
//! This is `transformers`' `BertModel` (post-LayerNorm, exact erf GELU):
//! attention is bidirectional, with an additive mask that keeps every query
//! from attending to padding keys. RoBERTa and XLM-RoBERTa are the same
//! network whose positions start at `pad_token_id + 1`
//! (`create_position_ids_from_input_ids`). Weights are named as in a
//! `BertModel` checkpoint without a prefix (`embeddings.word_embeddings.weight`,
//! `encoder.layer.0.attention.self.query.weight`...), linear weights
//! `[out_features, in_features]`.

use serde::{Deserialize, Serialize};

use crate::sizes::{self, each_at_least_one, keyed, multiple_of, positive};
use crate::{BackendError, TokenBatch};

/// Architectures whose encoder this module describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BertArch {
    Bert,
    Roberta,
    XlmRoberta,
}

impl BertArch {
    pub const ALL: [BertArch; 3] = [BertArch::Bert, BertArch::Roberta, BertArch::XlmRoberta];

    /// The `model_type` of a HF `config.json`.
    pub fn as_str(&self) -> &'static str {
        match self {
            BertArch::Bert => "bert",
            BertArch::Roberta => "roberta",
            BertArch::XlmRoberta => "xlm-roberta",
        }
    }

    pub fn from_model_type(model_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == model_type)
    }
}

/// What a backend needs to build the network. Field names follow HF's
/// `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    pub arch: BertArch,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub pad_token_id: u32,
}

impl BertConfig {
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// The position id of a sequence's first token: 0 for BERT,
    /// `pad_token_id + 1` for RoBERTa and XLM-RoBERTa.
    pub fn position_offset(&self) -> usize {
        match self.arch {
            BertArch::Bert => 0,
            BertArch::Roberta | BertArch::XlmRoberta => self.pad_token_id as usize + 1,
        }
    }

    /// The longest sequence the position table holds.
    pub fn max_seq(&self) -> usize {
        self.max_position_embeddings
            .saturating_sub(self.position_offset())
    }

    /// Checks the sizes fit together; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        each_at_least_one(&keyed!(self: vocab_size, hidden_size, intermediate_size,
            num_hidden_layers, num_attention_heads, max_position_embeddings, type_vocab_size))?;
        multiple_of(keyed!(self: hidden_size, num_attention_heads))?;
        if self.max_seq() == 0 {
            return Err(format!(
                "`max_position_embeddings` ({}) leaves no position after the offset {}",
                self.max_position_embeddings,
                self.position_offset()
            ));
        }
        positive("layer_norm_eps", self.layer_norm_eps)
    }

    /// Every weight with its shape, HF names, in the order of the network.
    pub fn weight_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (h, f) = (self.hidden_size, self.intermediate_size);
        let e = |s: &str| format!("embeddings.{s}");
        let mut out = vec![
            (e("word_embeddings.weight"), vec![self.vocab_size, h]),
            (
                e("position_embeddings.weight"),
                vec![self.max_position_embeddings, h],
            ),
            (
                e("token_type_embeddings.weight"),
                vec![self.type_vocab_size, h],
            ),
            (e("LayerNorm.weight"), vec![h]),
            (e("LayerNorm.bias"), vec![h]),
        ];
        for l in 0..self.num_hidden_layers {
            for (name, shape) in [
                ("attention.self.query.weight", vec![h, h]),
                ("attention.self.query.bias", vec![h]),
                ("attention.self.key.weight", vec![h, h]),
                ("attention.self.key.bias", vec![h]),
                ("attention.self.value.weight", vec![h, h]),
                ("attention.self.value.bias", vec![h]),
                ("attention.output.dense.weight", vec![h, h]),
                ("attention.output.dense.bias", vec![h]),
                ("attention.output.LayerNorm.weight", vec![h]),
                ("attention.output.LayerNorm.bias", vec![h]),
                ("intermediate.dense.weight", vec![f, h]),
                ("intermediate.dense.bias", vec![f]),
                ("output.dense.weight", vec![h, f]),
                ("output.dense.bias", vec![h]),
                ("output.LayerNorm.weight", vec![h]),
                ("output.LayerNorm.bias", vec![h]),
            ] {
                out.push((format!("encoder.layer.{l}.{name}"), shape));
            }
        }
        out
    }

    pub fn parameter_count(&self) -> u64 {
        sizes::parameter_count(&self.weight_shapes())
    }

    /// Matrix-product FLOPs of one forward pass over `[batch, seq]` (2 per
    /// multiply-add; attention over the full `seq x seq` scores, padding
    /// included, because that is what the backends compute).
    pub fn flops_per_forward(&self, batch: usize, seq: usize) -> u64 {
        let (b, t) = (batch as u64, seq as u64);
        let (h, f) = (self.hidden_size as u64, self.intermediate_size as u64);
        let tokens = b * t;
        let per_layer = 2 * tokens * h * h * 4 // query, key, value, output dense
            + 2 * b * t * t * h * 2            // q k^T and scores v
            + 2 * tokens * h * f * 2; // intermediate and output dense
        self.num_hidden_layers as u64 * per_layer
    }
}

/// How token states become one sentence embedding, as sentence-transformers'
/// `Pooling` module defines its modes (`pooling_mode_*_tokens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolingMode {
    /// The average of the real (unmasked) tokens' states.
    Mean,
    /// The first token's state (`[CLS]` / `<s>`).
    Cls,
    /// The element-wise maximum over the real tokens' states.
    Max,
}

impl PoolingMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            PoolingMode::Mean => "mean",
            PoolingMode::Cls => "cls",
            PoolingMode::Max => "max",
        }
    }
}

/// sentence-transformers' modules after the encoder: a pooling mode, then
/// L2 normalization when a `Normalize` module follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SentencePooling {
    pub mode: PoolingMode,
    pub normalize: bool,
}

/// A padded batch of tokenized sentences, row-major `[batch, seq_len]`:
/// `mask` is 1 for a real token, 0 for padding (HF's `attention_mask`).
/// Padding is on the right, so row `b`'s real tokens are its first
/// `mask`-sum positions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderBatch {
    pub batch: usize,
    pub seq_len: usize,
    pub ids: Vec<i64>,
    pub mask: Vec<i64>,
}

/// A decoder's token batch run through an encoder: no padding.
impl From<&TokenBatch> for EncoderBatch {
    fn from(tokens: &TokenBatch) -> Self {
        Self::unpadded(tokens.batch, tokens.seq_len, tokens.ids.clone())
    }
}

impl EncoderBatch {
    /// A batch without padding: every position is a real token.
    pub fn unpadded(batch: usize, seq_len: usize, ids: Vec<i64>) -> Self {
        let mask = vec![1; ids.len()];
        Self {
            batch,
            seq_len,
            ids,
            mask,
        }
    }

    pub fn tokens(&self) -> usize {
        self.batch * self.seq_len
    }

    /// Real tokens of each sentence.
    pub fn lengths(&self) -> Vec<usize> {
        self.mask
            .chunks(self.seq_len.max(1))
            .map(|row| row.iter().filter(|&&m| m != 0).count())
            .collect()
    }

    /// The share of computed positions that are padding.
    pub fn padding_share(&self) -> f64 {
        let real: usize = self.lengths().iter().sum();
        1.0 - real as f64 / self.tokens().max(1) as f64
    }

    /// The checks every backend makes before running a batch: a non-empty
    /// shape that the ids and the mask both fill, masks of 0 and 1 with the
    /// padding on the right after at least one real token, ids inside the
    /// vocabulary and no more positions than the model has.
    pub fn validate(&self, config: &BertConfig) -> Result<(), BackendError> {
        let fail = |m: String| Err(BackendError::Run(format!("invalid encoder input: {m}")));
        if self.batch == 0 || self.seq_len == 0 {
            return fail(format!("empty batch [{}, {}]", self.batch, self.seq_len));
        }
        if self.ids.len() != self.tokens() || self.mask.len() != self.tokens() {
            return fail(format!(
                "{} ids and {} mask values do not make [{}, {}]",
                self.ids.len(),
                self.mask.len(),
                self.batch,
                self.seq_len
            ));
        }
        if self.seq_len > config.max_seq() {
            return fail(format!(
                "sequence length {} exceeds the model's {} positions",
                self.seq_len,
                config.max_seq()
            ));
        }
        for (b, row) in self.mask.chunks(self.seq_len).enumerate() {
            let real = row.iter().take_while(|&&m| m == 1).count();
            if real == 0 || row[real..].iter().any(|&m| m != 0) {
                return fail(format!(
                    "the mask of sentence {b} is not 1s followed by 0s with at least one 1"
                ));
            }
        }
        match self
            .ids
            .iter()
            .find(|&&t| t < 0 || t as usize >= config.vocab_size)
        {
            Some(t) => fail(format!(
                "token id {t} is outside the vocabulary 0..{}",
                config.vocab_size
            )),
            None => Ok(()),
        }
    }
}

/// The outputs of an encoder session, in this order: `last_hidden_state`
/// `[batch, seq_len, hidden]` (padding rows included, whatever they hold),
/// then `sentence_embedding` `[batch, hidden]` when the model has pooling.
pub const LAST_HIDDEN_STATE: &str = "last_hidden_state";
pub const SENTENCE_EMBEDDING: &str = "sentence_embedding";

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn tiny() -> BertConfig {
        BertConfig {
            arch: BertArch::Bert,
            vocab_size: 10,
            hidden_size: 8,
            intermediate_size: 12,
            num_hidden_layers: 1,
            num_attention_heads: 2,
            max_position_embeddings: 16,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
        }
    }

    #[test]
    fn parameter_count_by_hand() {
        // embeddings 80 + 128 + 16 + 16 = 240; layer: qkvo 4*(64+8) = 288,
        // ln 2*16 = 32, mlp 96+12 + 96+8 = 212 -> 532.
        assert_eq!(tiny().parameter_count(), 240 + 532);
    }

    #[test]
    fn flops_by_hand() {
        // b=1 t=2 h=8 f=12: 2*2*8*8*4 = 1024, 2*1*2*2*8*2 = 128, 2*2*8*12*2 = 768.
        assert_eq!(tiny().flops_per_forward(1, 2), 1024 + 128 + 768);
    }

    #[test]
    fn roberta_positions_start_after_the_padding_id() {
        let config = BertConfig {
            arch: BertArch::Roberta,
            pad_token_id: 1,
            ..tiny()
        };
        assert_eq!(config.position_offset(), 2);
        assert_eq!(config.max_seq(), 14);
    }

    #[test]
    fn validation_names_the_problem() {
        let batch = EncoderBatch {
            batch: 2,
            seq_len: 3,
            ids: vec![1, 2, 3, 4, 5, 0],
            mask: vec![1, 1, 1, 0, 1, 0],
        };
        let message = batch.validate(&tiny()).unwrap_err().to_string();
        assert!(message.contains("sentence 1"), "{message}");
        let outside = EncoderBatch::unpadded(1, 2, vec![1, 10]);
        let message = outside.validate(&tiny()).unwrap_err().to_string();
        assert!(message.contains("token id 10"), "{message}");
        let long = EncoderBatch::unpadded(1, 17, vec![1; 17]);
        assert!(long.validate(&tiny()).is_err());
    }

    #[test]
    fn padding_share_counts_masked_positions() {
        let batch = EncoderBatch {
            batch: 2,
            seq_len: 4,
            ids: vec![1; 8],
            mask: vec![1, 1, 1, 1, 1, 0, 0, 0],
        };
        assert_eq!(batch.lengths(), vec![4, 1]);
        assert_eq!(batch.padding_share(), 3.0 / 8.0);
        assert!(batch.validate(&tiny()).is_ok());
    }
}
