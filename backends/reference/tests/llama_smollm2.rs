//! The f64 Llama reference on the real SmolLM2 fixture (converted from the
//! GGUF file by `inferbench-models`). Prompts are kept short: the reference
//! costs ~0.3 GFLOP per token.

use inferbench_models::TextTokenizer;
use inferbench_reference::fixtures::{smollm2_folder, smollm2_reference};
use inferbench_reference::llama::argmax;

/// Token ids of whole-word pieces, looked up in the model's own vocabulary.
fn vocab_ids(pieces: &[&str]) -> Vec<u32> {
    let model = smollm2_folder().unwrap();
    let tokenizer = TextTokenizer::from_file(&model.folder.join("tokenizer.json")).unwrap();
    pieces
        .iter()
        .map(|p| {
            tokenizer
                .token_id(p)
                .unwrap_or_else(|| panic!("`{p}` not in the vocabulary"))
        })
        .collect()
}

#[test]
fn knows_the_capital_of_france() {
    let reference = smollm2_reference().unwrap();
    let prompt = vocab_ids(&["The", "Ġcapital", "Ġof", "ĠFrance", "Ġis"]);
    let next = reference.greedy(&prompt, 1).unwrap();
    assert_eq!(next, vocab_ids(&["ĠParis"]));
}

#[test]
fn kv_cache_steps_equal_the_full_forward_pass() {
    let reference = smollm2_reference().unwrap();
    let vocab = reference.config().vocab_size;
    let ids = vocab_ids(&["The", "Ġcapital", "Ġof", "ĠFrance", "Ġis", "ĠParis"]);
    let full = reference.forward(&ids).unwrap();
    let mut cache = reference.new_cache();
    let mut stepped = reference.extend(&mut cache, &ids[..3]).unwrap();
    for id in &ids[3..] {
        stepped.extend(reference.extend(&mut cache, &[*id]).unwrap());
    }
    assert_eq!(cache.len(), ids.len());
    assert_eq!(stepped.len(), full.len());
    let scale = full.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let worst = full
        .iter()
        .zip(&stepped)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst <= 1e-12 * scale, "worst {worst} of {scale}");
    // Greedy decoding with the cache = argmax of a full pass at every step.
    let greedy = reference.greedy(&ids[..4], 3).unwrap();
    let mut sequence = ids[..4].to_vec();
    for _ in 0..3 {
        let logits = reference.forward(&sequence).unwrap();
        sequence.push(argmax(&logits[logits.len() - vocab..]) as u32);
    }
    assert_eq!(greedy, sequence[4..]);
}
