//! The real SmolLM2 GGUF fixture (`ci/setup.sh` installs it): its config,
//! its conversion to a HF folder, and the tokenizer built from its metadata
//! against encodings worked out by hand from the file's own vocabulary and
//! merges (GPT-2 byte-level BPE: `Ġ` is the space byte, `Ċ` the newline;
//! each pre-token's byte symbols merged lowest rank first).

use std::path::PathBuf;

use inferbench_models::{
    ConvertedModel, GgufFile, SafetensorsFile, TextTokenizer, convert_gguf_cached,
    convert_hf_cached,
};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../vendor/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}

fn converted() -> ConvertedModel {
    convert_gguf_cached(&fixture(), &inferbench_models::cache::default_cache_dir()).unwrap()
}

#[test]
fn config_from_gguf_metadata() {
    let config = GgufFile::open(&fixture()).unwrap().llama_config().unwrap();
    assert_eq!(
        (
            config.num_hidden_layers,
            config.hidden_size,
            config.intermediate_size
        ),
        (30, 576, 1536)
    );
    assert_eq!(
        (
            config.num_attention_heads,
            config.num_key_value_heads,
            config.head_dim
        ),
        (9, 3, 64)
    );
    assert_eq!((config.vocab_size, config.rope_theta), (49152, 100000.0));
    assert!(config.tie_word_embeddings);
    assert_eq!(
        (config.bos_token_id, config.eos_token_id),
        (Some(1), Some(2))
    );
}

fn tokenizer() -> TextTokenizer {
    let model = converted();
    TextTokenizer::from_folder(&model.folder, &fixture()).unwrap()
}

#[test]
fn tokenizer_matches_hand_worked_encodings() {
    let tokenizer = tokenizer();
    let cases: [(&str, &[u32]); 6] = [
        // Hello | Ġworld
        ("Hello world", &[19556, 905]),
        // The | Ġcapital | Ġof | ĠFrance | Ġis | ĠParis | .
        (
            "The capital of France is Paris.",
            &[504, 3575, 282, 4649, 314, 7042, 30],
        ),
        // Digits split one by one before the GPT-2 split (tokenizer.ggml.pre
        // = smollm): in | Ġ | 2 | 0 | 2 | 4
        ("in 2024", &[254, 216, 34, 32, 34, 36]),
        // don | 't ; ĠcafÃ© (é is the bytes C3 A9, shown as Ã©)
        ("don't café", &[12420, 982, 37366]),
        // Ġinf | erb | ench: not one word of the vocabulary.
        (" inferbench", &[834, 9753, 24445]),
        // Control tokens are matched whole: <|im_start|> user Ċ Hi ! <|im_end|>
        (
            "<|im_start|>user\nHi!<|im_end|>",
            &[1, 4093, 198, 26843, 17, 2],
        ),
    ];
    for (text, ids) in cases {
        assert_eq!(tokenizer.encode(text).unwrap(), ids, "{text:?}");
        assert_eq!(tokenizer.decode(ids).unwrap(), text);
    }
    assert_eq!(tokenizer.vocab_size(), 49152);
}

#[test]
fn the_derived_hf_folder_reads_back_as_the_same_model() {
    let gguf = converted();
    let dir = tempfile::tempdir().unwrap();
    let hf = convert_hf_cached(&gguf.folder, dir.path()).unwrap();
    assert_eq!(hf.config, gguf.config);
    assert_eq!(hf.folder, gguf.folder);
    let mut a = SafetensorsFile::open(&gguf.weights).unwrap();
    let mut b = SafetensorsFile::open(&hf.weights).unwrap();
    for (name, shape) in gguf.config.weight_shapes() {
        assert_eq!(
            a.read_f32(&name, &shape).unwrap(),
            b.read_f32(&name, &shape).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn a_folder_without_a_tokenizer_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let err = TextTokenizer::from_folder(dir.path(), dir.path())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("neither a `tokenizer.json` in the folder nor `tokenizer.ggml.tokens`"),
        "{err}"
    );
}

/// The shipped evaluation text (written for this repository, so no model
/// has seen it): a few thousand tokens, and byte-level BPE round-trips it.
#[test]
fn the_shipped_evaluation_text_is_a_few_thousand_tokens() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/text/eval.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let tokenizer = tokenizer();
    let ids = tokenizer.encode(&text).unwrap();
    eprintln!("scenarios/text/eval.txt: {} SmolLM2 tokens", ids.len());
    assert!((3000..8000).contains(&ids.len()), "{} tokens", ids.len());
    assert_eq!(tokenizer.decode(&ids).unwrap(), text);
}
