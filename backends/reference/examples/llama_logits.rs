//! Our side of `ci/compare_transformers.sh`: converts the SmolLM2 fixture
//! into its HF folder (as every backend reads it), tokenizes a few strings,
//! and writes the f64 reference's logits and greedy continuation of a fixed
//! prompt as JSON for `ci/compare_transformers.py`.
//!
//! `cargo run -p inferbench-reference --example llama_logits -- OUT.json` (the
//! reference crate is optimized in every profile)

use std::collections::BTreeMap;
use std::error::Error;

use inferbench_models::TextTokenizer;
use inferbench_reference::LlamaReference;
use inferbench_reference::fixtures::smollm2_folder;

/// Strings whose encodings are compared: plain words, leading spaces,
/// digits, punctuation and non-ASCII text exercise the byte-level BPE and
/// its pre-split.
const STRINGS: [&str; 5] = [
    "The quick brown fox jumps over the lazy dog.",
    "  two leading spaces and\ttabs",
    "Numbers: 12345 and 3.14159!",
    "Grüße aus Köln, naïve café.",
    "def main():\n    return 42\n",
];

const PROMPT: &str = "The capital of France is";
const GREEDY_TOKENS: usize = 16;

fn main() -> Result<(), Box<dyn Error + Send + Sync>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: llama_logits OUT.json")?;
    let model = smollm2_folder()?;
    let tokenizer = TextTokenizer::from_folder(&model.folder, &model.folder)?;
    let mut encodings = BTreeMap::new();
    for text in STRINGS {
        encodings.insert(text, tokenizer.encode(text)?);
    }
    let prompt_ids = tokenizer.encode(PROMPT)?;
    let reference = LlamaReference::load(&model.config, &model.weights)?;
    let logits = reference.forward(&prompt_ids)?;
    let greedy_ids = reference.greedy(&prompt_ids, GREEDY_TOKENS)?;
    eprintln!("continuation: {:?}", tokenizer.decode(&greedy_ids)?);
    let json = serde_json::json!({
        "folder": model.folder,
        "encodings": encodings,
        "prompt_ids": prompt_ids,
        "logits": logits,
        "greedy_ids": greedy_ids,
    });
    std::fs::write(&out, serde_json::to_vec(&json)?)?;
    Ok(())
}
