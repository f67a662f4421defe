//! The all-MiniLM-L6-v2 fixture's `tokenizer.json` as a sentence encoder
//! reads it: `[CLS] ... [SEP]`, truncation to the sequence length that
//! keeps `[SEP]`, no padding although the file asks for 128. The ids are
//! the fixture's `vocab.txt` lines (0-based): `hello` 7592, `world` 2088.

use std::path::PathBuf;

use inferbench_models::TextTokenizer;
use inferbench_models::bert_folder::{
    convert_bert_cached, is_bert_folder, read_bert_config, read_sentence_pooling,
};

fn folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../vendor/models/all-minilm-l6-v2")
}

#[test]
fn sentences_get_special_tokens_and_are_truncated_not_padded() {
    let tokenizer = TextTokenizer::from_folder(&folder(), &folder()).unwrap();
    let long = "the quick brown fox jumps over the lazy dog ".repeat(10);
    let ids = tokenizer
        .encode_sentences(&["Hello world", &long, ""], 8)
        .unwrap();
    assert_eq!(ids[0], [101, 7592, 2088, 102]);
    assert_eq!(ids[1].len(), 8);
    assert_eq!((ids[1][0], ids[1][7]), (101, 102));
    // An empty line is just [CLS] [SEP]; the sentence reader skips blank
    // lines before they get here.
    assert_eq!(ids[2], [101, 102]);
}

#[test]
fn the_fixture_folder_reads_as_bert_with_mean_pooling() {
    let config = read_bert_config(&folder().join("config.json")).unwrap();
    assert_eq!((config.hidden_size, config.num_hidden_layers), (384, 6));
    let pooling = read_sentence_pooling(&folder()).unwrap().unwrap();
    assert_eq!(pooling.mode, inferbench_backend::PoolingMode::Mean);
    assert!(pooling.normalize);
}

#[test]
fn the_fixture_converts_to_exactly_the_encoder_weights() {
    let cache = tempfile::tempdir().unwrap();
    let converted = convert_bert_cached(&folder(), cache.path()).unwrap();
    assert!(is_bert_folder(&folder()));
    let file = inferbench_models::SafetensorsFile::open(&converted.weights).unwrap();
    // 5 embedding tensors + 16 a layer; `pooler.*` and `position_ids` left out.
    for (name, _) in converted.config.weight_shapes() {
        assert!(file.contains(&name), "{name}");
    }
    assert!(!file.contains("pooler.dense.weight"));
    assert!(!file.contains("embeddings.position_ids"));
}

#[test]
fn a_wrong_tensor_name_is_an_error_naming_it_and_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(folder().join("config.json"), dir.path().join("config.json")).unwrap();
    let data = vec![0u8; 4 * 384];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![384], &data).unwrap();
    // A `bert.`-prefixed name, as a pre-training checkpoint stores it.
    safetensors::serialize_to_file(
        [("bert.embeddings.LayerNorm.weight", view)],
        None,
        &dir.path().join("model.safetensors"),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let message = convert_bert_cached(dir.path(), cache.path())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("`embeddings.word_embeddings.weight` missing"),
        "{message}"
    );
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
}
