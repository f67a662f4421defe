#![cfg(feature = "libtorch")]
//! tch's encoder on the real all-MiniLM-L6-v2 fixture against the f64
//! reference: per-sentence cosine in a padded batch of mixed lengths, and
//! padding that leaves a sentence's embedding unchanged.

use std::collections::BTreeMap;

use inferbench_backend::{Backend, Device, LoadOptions, Precision, Session};
use inferbench_reference::minilm;
use inferbench_tch::TchBackend;

fn session(precision: Precision) -> Box<dyn Session> {
    let options = LoadOptions {
        device: Device::Cpu,
        precision,
        threads: 1,
        options: BTreeMap::new(),
    };
    TchBackend
        .load(&minilm::model_source(std::env::temp_dir()), &options)
        .unwrap()
}

#[test]
fn embeddings_match_the_reference_in_a_mixed_batch() {
    let reference = minilm::reference().unwrap();
    for (precision, min) in [
        (Precision::F32, 0.99999),
        (Precision::F16, 0.999),
        (Precision::Bf16, 0.99),
    ] {
        let worst = minilm::worst_cosine(&mut *session(precision), &reference).unwrap();
        assert!(worst >= min, "{precision}: worst cosine {worst} < {min}");
    }
}

#[test]
fn padding_leaves_a_sentence_unchanged() {
    let change = minilm::padding_change(&mut *session(Precision::F32)).unwrap();
    assert!(change <= 1e-5, "max abs difference {change}");
}
