//! Agreement of a generated continuation with the reference's, so a
//! precision shows what it does to the text and not only to the logits.
//!
//! All four figures compare token ids: every backend of a case shares the
//! model's tokenizer, so tokens are the unit the model chose, with no word
//! splitting rule of ours in between.
//! - common prefix: tokens equal from the start (greedy decoding diverges
//!   for good at the first difference);
//! - exact match: the whole continuation equal;
//! - ROUGE-L (Lin 2004, "ROUGE: A Package for Automatic Evaluation of
//!   Summaries", §3.1): F1 of the longest common subsequence,
//!   P = LCS / |candidate|, R = LCS / |reference|, F = 2PR / (P + R);
//! - BLEU (Papineni et al. 2002): the geometric mean of the clipped n-gram
//!   precisions for n = 1..=4 times the brevity penalty
//!   BP = min(1, exp(1 − |reference| / |candidate|)). Orders with no
//!   candidate n-gram are left out (sacreBLEU's `effective_order` for
//!   sentence BLEU); no smoothing, so an order with no match gives 0.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// How far a continuation agrees with the reference's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    /// Tokens equal from the start.
    pub prefix_tokens: usize,
    /// Tokens the reference generated (the prefix's upper bound).
    pub reference_tokens: usize,
    pub exact_match: bool,
    #[serde(with = "crate::results::float")]
    pub rouge_l: f64,
    #[serde(with = "crate::results::float")]
    pub bleu: f64,
}

impl Agreement {
    pub fn of(candidate: &[i64], reference: &[i64]) -> Self {
        Self {
            prefix_tokens: common_prefix(candidate, reference),
            reference_tokens: reference.len(),
            exact_match: candidate == reference,
            rouge_l: rouge_l(candidate, reference),
            bleu: bleu(candidate, reference),
        }
    }
}

pub fn common_prefix(a: &[i64], b: &[i64]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Length of the longest common subsequence, by the usual dynamic program
/// over one row.
fn lcs(a: &[i64], b: &[i64]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

pub fn rouge_l(candidate: &[i64], reference: &[i64]) -> f64 {
    if candidate.is_empty() && reference.is_empty() {
        return 1.0;
    }
    let common = lcs(candidate, reference) as f64;
    if common == 0.0 {
        return 0.0;
    }
    let (p, r) = (
        common / candidate.len() as f64,
        common / reference.len() as f64,
    );
    2.0 * p * r / (p + r)
}

fn ngram_counts(tokens: &[i64], n: usize) -> HashMap<&[i64], usize> {
    let mut counts = HashMap::new();
    for gram in tokens.windows(n) {
        *counts.entry(gram).or_insert(0) += 1;
    }
    counts
}

pub fn bleu(candidate: &[i64], reference: &[i64]) -> f64 {
    if candidate.is_empty() {
        return if reference.is_empty() { 1.0 } else { 0.0 };
    }
    let orders = candidate.len().min(4);
    let mut log_sum = 0.0;
    for n in 1..=orders {
        let reference_counts = ngram_counts(reference, n);
        let clipped: usize = ngram_counts(candidate, n)
            .iter()
            .map(|(gram, &count)| count.min(*reference_counts.get(gram).unwrap_or(&0)))
            .sum();
        if clipped == 0 {
            return 0.0;
        }
        let total = candidate.len() + 1 - n;
        log_sum += (clipped as f64 / total as f64).ln();
    }
    let brevity = (1.0 - reference.len() as f64 / candidate.len() as f64).min(0.0);
    (brevity + log_sum / orders as f64).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn identical_continuations_agree_fully() {
        let a = [5, 6, 7, 8, 9];
        let g = Agreement::of(&a, &a);
        assert_eq!(
            (g.prefix_tokens, g.reference_tokens, g.exact_match),
            (5, 5, true)
        );
        assert!(close(g.rouge_l, 1.0) && close(g.bleu, 1.0), "{g:?}");
    }

    #[test]
    fn prefix_and_rouge_l_by_hand() {
        // candidate 1 2 3 4 5 6, reference 1 2 9 4 5 6 7:
        // prefix 2; LCS 1 2 4 5 6 = 5; P = 5/6, R = 5/7,
        // F = 2·(5/6)(5/7) / (5/6 + 5/7) = (50/42) / (65/42) = 10/13.
        let (c, r) = ([1, 2, 3, 4, 5, 6], [1, 2, 9, 4, 5, 6, 7]);
        let g = Agreement::of(&c, &r);
        assert_eq!((g.prefix_tokens, g.exact_match), (2, false));
        assert!(close(g.rouge_l, 10.0 / 13.0), "{}", g.rouge_l);
        // LCS is a subsequence, not a substring: 1 3 5 in 1 2 3 4 5.
        assert!(close(
            rouge_l(&[1, 3, 5], &[1, 2, 3, 4, 5]),
            2.0 * 0.6 / 1.6
        ));
        assert_eq!(rouge_l(&[1, 2], &[3, 4]), 0.0);
    }

    #[test]
    fn bleu_by_hand() {
        // candidate 1 2 3 4 5 6, reference 1 2 3 4 9 6 (same length: BP 1).
        // 1-grams: 5 of 6 match (5 is not in the reference);
        // 2-grams: 12 23 34 of 5; 3-grams: 123 234 of 4; 4-grams: 1234 of 3.
        // BLEU = (5/6 · 3/5 · 2/4 · 1/3)^(1/4) = (1/12)^(1/4).
        let b = bleu(&[1, 2, 3, 4, 5, 6], &[1, 2, 3, 4, 9, 6]);
        assert!(close(b, (1.0f64 / 12.0).powf(0.25)), "{b}");
        // Clipping: candidate 7 7 7 7 against reference 7 1 2 3: one 7
        // counts; no 2-gram matches, so 0 without smoothing.
        assert_eq!(bleu(&[7, 7, 7, 7], &[7, 1, 2, 3]), 0.0);
        // Brevity: candidate 1 2 (two orders, both precise) against a
        // reference of 4: exp(1 − 4/2) = e^-1.
        assert!(close(bleu(&[1, 2], &[1, 2, 3, 4]), (-1.0f64).exp()));
        // A longer candidate is not rewarded: precisions fall, BP stays 1.
        // 1 2 3 4 5 vs 1 2 3 4: 4/5 · 3/4 · 2/3 · 1/2 = 1/5.
        assert!(close(
            bleu(&[1, 2, 3, 4, 5], &[1, 2, 3, 4]),
            0.2f64.powf(0.25)
        ));
        assert_eq!(bleu(&[], &[1]), 0.0);
    }
}
