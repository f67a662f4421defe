//! Fixtures the models crate's integration tests share.

use inferbench_backend::{LlamaArch, LlamaConfig};

/// A two-layer Llama with grouped-query attention (2 heads, 1 key/value
/// head), small enough that every tensor is written by hand.
pub fn tiny_llama(tie_word_embeddings: bool) -> LlamaConfig {
    LlamaConfig {
        arch: LlamaArch::Llama,
        vocab_size: 10,
        hidden_size: 8,
        intermediate_size: 12,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        num_key_value_heads: 1,
        head_dim: 4,
        rms_norm_eps: 1e-5,
        rope_theta: 10000.0,
        rope_scaling: None,
        max_position_embeddings: 16,
        tie_word_embeddings,
        bos_token_id: Some(1),
        eos_token_id: Some(2),
    }
}
