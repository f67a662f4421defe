//! The all-MiniLM-L6-v2 fixture's `tokenizer.json` as a sentence encoder
//! reads it: `[CLS] ... [SEP]`, truncation to the sequence length that
//! keeps `[SEP]`, no padding although the file asks for 128. The ids are
//! the fixture's `vocab.txt` lines (0-based): `hello` 7592, `world` 2088.

use std::path::PathBuf;

use inferbench_models::TextTokenizer;
use inferbench_models::bert_folder::{read_bert_config, read_sentence_pooling};

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
