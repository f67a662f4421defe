//! Accuracy deltas of a backend's logits against the f64 reference.
//!
//! The figures follow quantization studies (llama.cpp's `perplexity
//! --kl-divergence`): elementwise error, cosine similarity, agreement of the
//! most likely token, and the KL divergence of the next-token distributions.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AccuracyDeltas {
    /// max |candidate − reference| over all logits.
    #[serde(with = "crate::results::float")]
    pub max_abs: f64,
    /// ‖candidate − reference‖₂ / ‖reference‖₂.
    #[serde(with = "crate::results::float")]
    pub rel_l2: f64,
    /// cos ∠(candidate, reference) over the flattened logits; for an
    /// encoder, of the worst sentence's embedding.
    #[serde(with = "crate::results::float")]
    pub cosine: f64,
    /// Encoders: the mean over sentences of their embeddings' cosine.
    #[serde(default, with = "crate::results::float::option")]
    pub cosine_mean: Option<f64>,
    /// Fraction of positions whose arg-max token is the reference's.
    #[serde(with = "crate::results::float")]
    pub top1: f64,
    /// Mean over positions of KL(P_ref ‖ P_candidate) of the softmax, nats.
    #[serde(with = "crate::results::float")]
    pub kl: f64,
    /// Perplexity of the candidate over the reference's on the input token
    /// stream itself (each position predicting the next token); 1 = same.
    #[serde(default, with = "crate::results::float::option")]
    pub ppl_ratio: Option<f64>,
    /// Candidate values that are NaN or ±inf. Any makes the case `failed`:
    /// the other figures cannot describe such an output.
    #[serde(default)]
    pub nonfinite: u64,
}

/// Softmax of one row in f64, subtracting the max for stability.
fn softmax(row: impl Iterator<Item = f64> + Clone) -> Vec<f64> {
    let max = row.clone().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = row.map(|x| (x - max).exp()).collect();
    let total: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / total).collect()
}

fn argmax(row: impl Iterator<Item = f64>) -> usize {
    row.enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, x)| {
            if x > best.1 { (i, x) } else { best }
        })
        .0
}

/// Compares `candidate` with `reference`, both row-major `[positions, vocab]`.
/// Returns `None` if the lengths differ or are not a whole number of rows.
pub fn compare(reference: &[f64], candidate: &[f32], vocab: usize) -> Option<AccuracyDeltas> {
    if reference.len() != candidate.len()
        || vocab == 0
        || !reference.len().is_multiple_of(vocab)
        || reference.is_empty()
    {
        return None;
    }
    let (mut max_abs, mut diff2, mut ref2, mut cand2, mut dot) = (0f64, 0f64, 0f64, 0f64, 0f64);
    let mut nonfinite = 0u64;
    for (&r, &c) in reference.iter().zip(candidate) {
        let c = c as f64;
        let d = c - r;
        nonfinite += u64::from(!c.is_finite());
        // `f64::max` skips NaN, which turned a NaN output into max |Δ| 0:
        // here NaN wins.
        if d.is_nan() || d.abs() > max_abs {
            max_abs = d.abs();
        }
        diff2 += d * d;
        ref2 += r * r;
        cand2 += c * c;
        dot += r * c;
    }
    let rows = reference.len() / vocab;
    let (mut same_top, mut kl_total) = (0usize, 0f64);
    for (r, c) in reference
        .chunks_exact(vocab)
        .zip(candidate.chunks_exact(vocab))
    {
        let c = c.iter().map(|&x| x as f64);
        if argmax(r.iter().copied()) == argmax(c.clone()) {
            same_top += 1;
        }
        let p = softmax(r.iter().copied());
        let q = softmax(c);
        kl_total += p
            .iter()
            .zip(&q)
            .filter(|(p, _)| **p > 0.0)
            .map(|(p, q)| p * (p / q.max(f64::MIN_POSITIVE)).ln())
            .sum::<f64>();
    }
    Some(AccuracyDeltas {
        max_abs,
        rel_l2: (diff2 / ref2).sqrt(),
        cosine: dot / (ref2.sqrt() * cand2.sqrt()),
        cosine_mean: None,
        top1: same_top as f64 / rows as f64,
        kl: kl_total / rows as f64,
        ppl_ratio: None,
        nonfinite,
    })
}

/// −log softmax(row)[target], computed stably as logsumexp(row) − row[target].
fn nll(row: impl Iterator<Item = f64> + Clone, target: usize) -> f64 {
    let max = row.clone().fold(f64::NEG_INFINITY, f64::max);
    let lse = max + row.clone().map(|x| (x - max).exp()).sum::<f64>().ln();
    lse - row.clone().nth(target).unwrap_or(f64::NAN)
}

/// PPL(candidate) / PPL(reference) on the fixed token stream `ids`
/// (`rows` sequences of `seq_len`), where PPL = exp(mean −log P(next
/// token)) over every position that has a next token, as in llama.cpp's
/// `perplexity`. `None` when no position has a next token.
pub fn perplexity_ratio(
    reference: &[f64],
    candidate: &[f32],
    vocab: usize,
    ids: &[i64],
    seq_len: usize,
) -> Option<f64> {
    if seq_len < 2 || reference.len() != ids.len() * vocab || candidate.len() != reference.len() {
        return None;
    }
    let (mut ref_nll, mut cand_nll, mut n) = (0.0, 0.0, 0usize);
    for (pos, _) in ids
        .iter()
        .enumerate()
        .filter(|(p, _)| (p + 1) % seq_len != 0)
    {
        let target = ids[pos + 1] as usize;
        let r = &reference[pos * vocab..(pos + 1) * vocab];
        let c = &candidate[pos * vocab..(pos + 1) * vocab];
        ref_nll += nll(r.iter().copied(), target);
        cand_nll += nll(c.iter().map(|&x| x as f64), target);
        n += 1;
    }
    Some(((cand_nll - ref_nll) / n as f64).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_logits_have_no_error() {
        let r = [1.0, 2.0, 3.0, 0.5, 0.125, 0.25]; // exact in f32
        let c: Vec<f32> = r.iter().map(|&x| x as f32).collect();
        let d = compare(&r, &c, 3).unwrap();
        assert_eq!((d.max_abs, d.rel_l2, d.top1), (0.0, 0.0, 1.0));
        assert!((d.cosine - 1.0).abs() < 1e-12 && d.kl.abs() < 1e-15);
    }

    #[test]
    fn deltas_by_hand() {
        // Two positions, vocab 2. Reference [[0, ln 3], [0, 0]];
        // candidate [[0, 0], [1, 0]] → second row's top-1 flips.
        let r = [0.0, 3f64.ln(), 0.0, 0.0];
        let c = [0.0f32, 0.0, 1.0, 0.0];
        let d = compare(&r, &c, 2).unwrap();
        assert!((d.max_abs - 3f64.ln()).abs() < 1e-7);
        // ‖c − r‖ = sqrt(ln²3 + 1), ‖r‖ = ln 3.
        let ln3 = 3f64.ln();
        assert!((d.rel_l2 - (ln3 * ln3 + 1.0).sqrt() / ln3).abs() < 1e-7);
        assert_eq!(d.cosine, 0.0);
        // Row 1: argmax r = 1, argmax c = 0 (tie → first); row 2: r tie → 0, c → 0.
        assert_eq!(d.top1, 0.5);
        // Row 1: P = [1/4, 3/4], Q = [1/2, 1/2]: ¼ln½ + ¾ln(3/2).
        // Row 2: P = [½, ½], Q = [e/(1+e), 1/(1+e)]: ½ln(½(1+e)/e) + ½ln(½(1+e)).
        let e = std::f64::consts::E;
        let kl1 = 0.25 * 0.5f64.ln() + 0.75 * 1.5f64.ln();
        let kl2 = 0.5 * (0.5 * (1.0 + e) / e).ln() + 0.5 * (0.5 * (1.0 + e)).ln();
        assert!(
            (d.kl - (kl1 + kl2) / 2.0).abs() < 1e-7,
            "{} vs {}",
            d.kl,
            (kl1 + kl2) / 2.0
        );
    }

    #[test]
    fn perplexity_ratio_by_hand() {
        // One sequence of 3 tokens [0, 1, 1], vocab 2: positions 0 and 1
        // predict tokens 1 and 1. Reference uniform: P = ½ each → PPL 2.
        // Candidate row 0 gives token 1 the logit ln 3 (P = ¾), row 1
        // uniform: mean NLL = (ln 4/3 + ln 2)/2 → PPL = sqrt(8/3).
        let ids = [0, 1, 1];
        let r = [0.0; 6];
        let c = [0.0, 3f32.ln(), 0.0, 0.0, 5.0, -5.0];
        let ratio = perplexity_ratio(&r, &c, 2, &ids, 3).unwrap();
        assert!(
            (ratio - (8.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-7,
            "{ratio}"
        );
        assert_eq!(perplexity_ratio(&r, &c, 2, &ids, 1), None);
        let same: Vec<f32> = r.iter().map(|&x| x as f32).collect();
        assert_eq!(perplexity_ratio(&r, &same, 2, &ids, 3), Some(1.0));
    }

    #[test]
    fn non_finite_outputs_are_counted_and_not_hidden_by_the_max() {
        let r = [1.0, 2.0, 3.0, 4.0];
        let d = compare(&r, &[1.0, f32::NAN, 3.0, 4.0], 2).unwrap();
        assert!(d.max_abs.is_nan(), "{}", d.max_abs);
        assert_eq!(d.nonfinite, 1);
        let d = compare(&r, &[f32::INFINITY, 2.0, 3.0, f32::NEG_INFINITY], 2).unwrap();
        assert_eq!((d.max_abs, d.nonfinite), (f64::INFINITY, 2));
    }

    #[test]
    fn mismatched_shapes_are_refused() {
        assert!(compare(&[1.0, 2.0], &[1.0], 1).is_none());
        assert!(compare(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], 2).is_none());
    }
}
