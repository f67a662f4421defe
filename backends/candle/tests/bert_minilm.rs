//! candle's encoder on the real all-MiniLM-L6-v2 fixture against the f64
//! reference: per-sentence cosine in a padded batch of mixed lengths, and
//! padding that leaves a sentence's embedding unchanged.

use inferbench_backend::Precision;
use inferbench_candle::CandleBackend;
use inferbench_reference::minilm;

#[test]
fn embeddings_match_the_reference_in_a_mixed_batch() {
    minilm::assert_close_to_reference(
        &CandleBackend,
        &[
            (Precision::F32, 0.99999),
            (Precision::F16, 0.999),
            (Precision::Bf16, 0.99),
        ],
    );
}

#[test]
fn padding_leaves_a_sentence_unchanged() {
    minilm::assert_padding_is_masked(&CandleBackend, 1e-5);
}
