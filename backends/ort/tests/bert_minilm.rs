//! ONNX Runtime on the all-MiniLM-L6-v2 encoder exported by inferbench's
//! writer, against the f64 reference: f32 per-sentence cosine in a padded
//! batch of mixed lengths, padding that leaves a sentence's embedding
//! unchanged, and f16 and dynamically quantized int8 within their
//! tolerances. Needs the ONNX Runtime library from `ci/setup.sh`.

use inferbench_backend::Precision;
use inferbench_ort::OrtBackend;
use inferbench_reference::minilm;

#[test]
fn embeddings_match_the_reference_in_a_mixed_batch() {
    minilm::assert_close_to_reference(
        &OrtBackend,
        &[
            (Precision::F32, 0.99999),
            (Precision::F16, 0.999),
            // Measured 0.98773 on this batch of random word pieces (0.98491
            // before int8 layers zeroed padded rows ahead of quantization).
            // onnxruntime's own `quantize_dynamic` of the same f32 graph
            // (per channel, uint8) reaches 0.98665 against ORT f32 here, so
            // the bound is ours to keep, not a loose one. On real sentences
            // (scenarios/minilm.toml, batch 1 to 32) int8 reaches >= 0.990,
            // which tests/end_to_end.rs asserts.
            (Precision::Int8, 0.987),
        ],
    );
}

#[test]
fn padding_leaves_a_sentence_unchanged() {
    minilm::assert_padding_is_masked(&OrtBackend, 1e-5);
}
