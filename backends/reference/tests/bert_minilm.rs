//! The f64 reference BERT on the real all-MiniLM-L6-v2 fixture, against
//! values PyTorch computes for the same weights (`ci/bert_golden.py`, which
//! runs `torch.nn.functional` in float64: an independent implementation).

use inferbench_reference::{BertReference, minilm};

#[test]
fn minilm_embedding_matches_pytorch() {
    let model = minilm::reference().unwrap();
    // "hello world" through the fixture's tokenizer.json.
    let ids = [101, 7592, 2088, 102];
    let embedding = model.embed_sentence(&ids, minilm::pooling()).unwrap();
    let norm: f64 = embedding.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-12);
    let golden = [
        -3.447727295829359e-02,
        3.102319078733206e-02,
        6.734966626554297e-03,
        2.610900446421979e-02,
    ];
    for (got, want) in embedding.iter().zip(golden) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    let states = model.last_hidden_state(&ids).unwrap();
    let golden = [
        -4.513812072995182e-01,
        2.848494183344519e-01,
        4.309_268_979_457_72e-1,
        -1.680590972037443e-01,
    ];
    for (got, want) in states[384..].iter().zip(golden) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
}

#[test]
fn a_missing_tensor_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let data = vec![0u8; 4 * 384];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![384], &data).unwrap();
    safetensors::serialize_to_file([("embeddings.LayerNorm.weight", view)], None, &path).unwrap();
    let message = BertReference::load(&minilm::config(), &path)
        .err()
        .unwrap()
        .to_string();
    assert!(message.contains("`encoder.layer.0.attention.self.query.weight` is missing"));
    assert!(message.contains("model.safetensors"), "{message}");
}
