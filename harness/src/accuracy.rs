//! Accuracy deltas of a backend's logits against the f64 reference.
//!
//! The figures follow quantization studies (llama.cpp's `perplexity
//! --kl-divergence`): elementwise error, cosine similarity, agreement of the
//! most likely token, and the KL divergence of the next-token distributions.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AccuracyDeltas {
    /// max |candidate − reference| over all logits.
    pub max_abs: f64,
    /// ‖candidate − reference‖₂ / ‖reference‖₂.
    pub rel_l2: f64,
    /// cos ∠(candidate, reference) over the flattened logits.
    pub cosine: f64,
    /// Fraction of positions whose arg-max token is the reference's.
    pub top1: f64,
    /// Mean over positions of KL(P_ref ‖ P_candidate) of the softmax, nats.
    pub kl: f64,
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
    for (&r, &c) in reference.iter().zip(candidate) {
        let c = c as f64;
        let d = c - r;
        max_abs = max_abs.max(d.abs());
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
        top1: same_top as f64 / rows as f64,
        kl: kl_total / rows as f64,
    })
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
    fn mismatched_shapes_are_refused() {
        assert!(compare(&[1.0, 2.0], &[1.0], 1).is_none());
        assert!(compare(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], 2).is_none());
    }
}
