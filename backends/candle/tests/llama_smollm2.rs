//! candle's Llama on the real SmolLM2 fixture against the f64 reference
//! (`inferbench_reference::fixtures`, whose outputs are cached).

use inferbench_backend::{
    Backend, Device, HostTensor, LoadOptions, ModelSource, Precision, Session, TokenBatch,
};
use inferbench_candle::CandleBackend;
use inferbench_reference::fixtures::{
    smollm2, smollm2_gguf, smollm2_prompt, smollm2_reference_greedy, smollm2_reference_logits,
};

fn session(precision: Precision) -> Box<dyn Session> {
    let (config, weights) = smollm2().unwrap();
    let model = ModelSource::Llama {
        config,
        weights,
        gguf: Some(smollm2_gguf()),
        cache_dir: std::env::temp_dir(),
    };
    let options = LoadOptions {
        device: Device::Cpu,
        precision,
        threads: 2,
        options: Default::default(),
    };
    CandleBackend.load(&model, &options).unwrap()
}

fn batch(ids: &[u32]) -> TokenBatch {
    TokenBatch {
        batch: 1,
        seq_len: ids.len(),
        ids: ids.iter().map(|&t| t as i64).collect(),
    }
}

fn logits(session: &mut dyn Session, ids: &[u32]) -> Vec<f32> {
    session.prepare(&batch(ids)).unwrap();
    session.run().unwrap();
    let out: Vec<HostTensor> = session.outputs().unwrap();
    out.into_iter().next().unwrap().data
}

fn rel_l2(actual: &[f32], expected: &[f64]) -> f64 {
    assert_eq!(actual.len(), expected.len());
    let diff: f64 = actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (*a as f64 - e).powi(2))
        .sum();
    let norm: f64 = expected.iter().map(|e| e * e).sum();
    (diff / norm).sqrt()
}

fn argmax(row: &[f32]) -> u32 {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = i;
        }
    }
    best as u32
}

#[test]
fn f32_logits_match_the_reference_on_32_tokens() {
    let ids = smollm2_prompt(32).unwrap();
    let expected = smollm2_reference_logits(&ids).unwrap();
    let actual = logits(session(Precision::F32).as_mut(), &ids);
    let err = rel_l2(&actual, &expected);
    assert!(err <= 1e-4, "rel L2 {err}");
}

#[test]
fn greedy_f32_continuation_is_the_references_for_16_tokens() {
    let prompt = smollm2_prompt(8).unwrap();
    let expected = smollm2_reference_greedy(&prompt, 16).unwrap();
    let mut session = session(Precision::F32);
    let mut decoder = session.decoder().unwrap();
    let mut row = decoder.prefill(&batch(&prompt)).unwrap().data;
    let mut generated = Vec::new();
    for _ in 0..16 {
        let next = argmax(&row);
        generated.push(next);
        row = decoder.step(&[next as i64]).unwrap().data;
    }
    assert_eq!(generated, expected);
}

#[test]
fn kv_cache_logits_equal_full_recomputation_at_every_step() {
    let mut ids = smollm2_prompt(6).unwrap();
    let mut session = session(Precision::F32);
    let vocab = 49152;
    let mut cached_rows = Vec::new();
    {
        let mut decoder = session.decoder().unwrap();
        let mut row = decoder.prefill(&batch(&ids)).unwrap().data;
        for _ in 0..4 {
            let next = argmax(&row);
            cached_rows.push(row);
            ids.push(next);
            row = decoder.step(&[next as i64]).unwrap().data;
        }
    }
    for (step, cached) in cached_rows.iter().enumerate() {
        let full = logits(session.as_mut(), &ids[..6 + step]);
        let last = &full[full.len() - vocab..];
        let scale = last.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = last
            .iter()
            .zip(cached)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            worst <= 1e-4 * scale,
            "step {step}: worst {worst} of {scale}"
        );
    }
}

/// Top-1 agreement with the reference over the prompt's positions.
fn top1(actual: &[f32], expected: &[f64], vocab: usize) -> f64 {
    let rows = expected.len() / vocab;
    let agree = (0..rows)
        .filter(|r| {
            let a = argmax(&actual[r * vocab..(r + 1) * vocab]);
            let e = &expected[r * vocab..(r + 1) * vocab];
            let best = (0..vocab).fold(0, |b, i| if e[i] > e[b] { i } else { b });
            a as usize == best
        })
        .count();
    agree as f64 / rows as f64
}

/// Limits from measurement (rel L2 / top-1 over the 32 positions): q8_0
/// 0.053 / 0.97, q4k 0.154 / 0.78, gguf (the file's Q4_1 as stored) 0.032 /
/// 0.97. The reference runs the same Q4_1 values dequantized, so `gguf`
/// differs from it only where candle's quantized matmuls quantize the
/// activations (to Q8, as llama.cpp's do); a wrong q/k row order would put
/// top-1 near zero.
#[test]
fn quantized_levels_stay_close_and_q4k_reports_its_fallbacks() {
    let ids = smollm2_prompt(32).unwrap();
    let expected = smollm2_reference_logits(&ids).unwrap();
    let mut measured = Vec::new();
    for precision in [Precision::Q8_0, Precision::Q4K, Precision::Gguf] {
        let mut session = session(precision);
        let actual = logits(session.as_mut(), &ids);
        let (err, agree) = (rel_l2(&actual, &expected), top1(&actual, &expected, 49152));
        eprintln!(
            "{precision}: rel L2 {err:.4}, top-1 {agree:.3}, notes {:?}",
            session.notes()
        );
        measured.push((precision, err, agree, session.notes()));
    }
    for (precision, err, agree, notes) in measured {
        let (max_rel, min_top1) = match precision {
            Precision::Q8_0 => (0.1, 0.9),
            Precision::Q4K => (0.3, 0.7),
            _ => (0.06, 0.9),
        };
        assert!(
            err <= max_rel && agree >= min_top1,
            "{precision}: rel L2 {err}, top-1 {agree}"
        );
        if precision == Precision::Q4K {
            // 576-wide rows don't fit Q4_K's 256-blocks; 1536-wide ones do.
            assert!(notes[0].contains("fell back to Q5_0"), "{notes:?}");
            assert!(notes[0].contains("model.layers.0.self_attn.q_proj.weight"));
            assert!(!notes[0].contains("mlp.down_proj"));
        } else {
            assert!(notes.is_empty(), "{precision}: {notes:?}");
        }
    }
}

/// One llama.cpp-style chunk of 32 tokens (the second half scored).
#[test]
fn f32_perplexity_is_finite_and_the_references_within_1e_3() {
    use inferbench_reference::perplexity::{perplexity, score_chunk};
    let ids = smollm2_prompt(32).unwrap();
    let expected = perplexity(&[score_chunk(
        &smollm2_reference_logits(&ids).unwrap(),
        &ids,
        49152,
    )]);
    let actual = logits(session(Precision::F32).as_mut(), &ids);
    let ppl = perplexity(&[score_chunk(&actual, &ids, 49152)]);
    assert!(ppl.is_finite() && ppl > 1.0, "{ppl}");
    assert!(
        (ppl / expected - 1.0).abs() <= 1e-3,
        "candle {ppl}, reference {expected}"
    );
    eprintln!("perplexity over one 32-token chunk: candle f32 {ppl}, reference {expected}");
}
