//! Shared by the Llama tests: loading through the backend trait, running
//! full passes and the decoder, and comparing with the f64 reference.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use inferbench_backend::{
    Backend, Device, HostTensor, LlamaConfig, LoadOptions, ModelSource, Precision, Session,
    TokenBatch,
};
use inferbench_tch::TchBackend;

/// A session over `weights` through the adapter, as the harness loads it.
pub fn load(config: &LlamaConfig, weights: &Path, precision: Precision) -> Box<dyn Session> {
    let source = ModelSource::Llama {
        config: config.clone(),
        weights: weights.to_path_buf(),
        gguf: None,
        cache_dir: std::env::temp_dir(),
    };
    let options = LoadOptions {
        device: Device::Cpu,
        precision,
        threads: 2,
        options: BTreeMap::new(),
    };
    TchBackend
        .load(&source, &options)
        .unwrap_or_else(|e| panic!("loading {} in {precision}: {e}", weights.display()))
}

/// Logits `[batch, seq, vocab]` of a full pass over `rows`.
pub fn full_logits(session: &mut dyn Session, rows: &[Vec<u32>]) -> HostTensor {
    session.prepare(&batch_of(rows)).unwrap();
    session.run().unwrap();
    session.outputs().unwrap().remove(0)
}

pub fn batch_of(rows: &[Vec<u32>]) -> TokenBatch {
    TokenBatch {
        batch: rows.len(),
        seq_len: rows[0].len(),
        ids: rows.iter().flatten().map(|&t| t as i64).collect(),
    }
}

/// `|a - b| / |b|` over all elements (L2 norms).
pub fn rel_l2(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "lengths differ");
    let (mut diff, mut norm) = (0.0, 0.0);
    for (g, w) in got.iter().zip(want) {
        diff += (*g as f64 - w).powi(2);
        norm += w * w;
    }
    (diff / norm).sqrt()
}

pub fn widen(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| v as f64).collect()
}

/// Index of the largest value, the first on ties (as the reference's).
pub fn argmax(values: &[f32]) -> u32 {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best as u32
}

/// Greedy continuation of each row of `prompts` by `n` tokens with the
/// adapter's KV-cache decoder.
pub fn greedy(session: &mut dyn Session, prompts: &[Vec<u32>], n: usize) -> Vec<Vec<u32>> {
    let mut decoder = session.decoder().unwrap();
    let mut logits = decoder.prefill(&batch_of(prompts)).unwrap();
    let mut out = vec![Vec::new(); prompts.len()];
    for step in 0..n {
        let vocab = logits.shape[1];
        let next: Vec<u32> = logits.data.chunks(vocab).map(argmax).collect();
        for (row, token) in out.iter_mut().zip(&next) {
            row.push(*token);
        }
        if step + 1 < n {
            let ids: Vec<i64> = next.iter().map(|&t| t as i64).collect();
            logits = decoder.step(&ids).unwrap();
        }
    }
    out
}

/// The largest rel L2, over the steps of a decode, between the decoder's
/// last-position logits and a full pass over the whole sequence so far:
/// `prompts` prefilled, then `steps` tokens fed one by one.
pub fn decoder_vs_full(session: &mut dyn Session, prompts: &[Vec<u32>], steps: usize) -> f64 {
    let mut sequences = prompts.to_vec();
    let mut decoded = Vec::new();
    {
        let mut decoder = session.decoder().unwrap();
        decoded.push(decoder.prefill(&batch_of(prompts)).unwrap());
        for step in 0..steps {
            // Feed a token that depends on the step, not on the logits, so
            // a wrong cache cannot hide behind the same greedy choice.
            let ids: Vec<i64> = (0..prompts.len())
                .map(|b| (7 * step + 3 * b + 1) as i64)
                .collect();
            for (row, id) in sequences.iter_mut().zip(&ids) {
                row.push(*id as u32);
            }
            decoded.push(decoder.step(&ids).unwrap());
        }
    }
    let mut worst: f64 = 0.0;
    for (i, got) in decoded.iter().enumerate() {
        let prefix: Vec<Vec<u32>> = sequences
            .iter()
            .map(|s| s[..prompts[0].len() + i].to_vec())
            .collect();
        let full = full_logits(session, &prefix);
        let (seq, vocab) = (full.shape[1], full.shape[2]);
        let last: Vec<f64> = (0..prompts.len())
            .flat_map(|b| widen(&full.data[(b * seq + seq - 1) * vocab..][..vocab]))
            .collect();
        worst = worst.max(rel_l2(&got.data, &last));
    }
    worst
}
