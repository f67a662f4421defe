//! Perplexity of a forward pass over text windows, computed as llama.cpp's
//! `llama-perplexity` does (see `inferbench_reference::perplexity`): each
//! window is one chunk of `n_ctx = seq_len` tokens and only its second half
//! is scored, so every scored token has at least `seq_len / 2` of context.

use inferbench_backend::TokenBatch;
use inferbench_reference::perplexity::{perplexity, score_chunk};
use serde::{Deserialize, Serialize};

/// A case's perplexity on its text windows, beside the reference's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Perplexity {
    /// exp(mean −log P(next token)) of the case's logits.
    #[serde(with = "crate::results::float")]
    pub value: f64,
    /// The f64 reference's on the same windows, when it ran.
    #[serde(default, with = "crate::results::float::option")]
    pub reference: Option<f64>,
    pub windows: usize,
    /// Tokens scored over all windows.
    pub scored_tokens: usize,
}

impl Perplexity {
    /// `value / reference`: 1 is the reference's perplexity.
    pub fn ratio(&self) -> Option<f64> {
        self.reference.map(|r| self.value / r)
    }
}

/// Perplexity and scored-token count of `logits` `[batch, seq_len, vocab]`
/// over the windows of `input`; `None` when the shapes disagree or a window
/// is too short to score any token (`seq_len` < 3).
pub fn of_windows<T: Copy + Into<f64>>(
    logits: &[T],
    input: &TokenBatch,
    vocab: usize,
) -> Option<(f64, usize)> {
    let seq = input.seq_len;
    if vocab == 0 || seq == 0 || logits.len() != input.ids.len() * vocab {
        return None;
    }
    let scores: Vec<(f64, usize)> = input
        .ids
        .chunks_exact(seq)
        .zip(logits.chunks_exact(seq * vocab))
        .map(|(ids, window)| {
            let ids: Vec<u32> = ids.iter().map(|&t| t as u32).collect();
            score_chunk(window, &ids, vocab)
        })
        .collect();
    let scored: usize = scores.iter().map(|s| s.1).sum();
    (scored > 0).then(|| (perplexity(&scores), scored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_halves_of_every_window_by_hand() {
        // Two windows of 4 tokens, vocab 2: position 2 of each scores
        // position 3's token. Window 1: row 2 = [0, ln 3] scores token 1
        // (P = 3/4); window 2: row 2 uniform scores token 0 (P = 1/2).
        // PPL = exp((ln 4/3 + ln 2) / 2) = sqrt(8/3). Rows 0, 1 and 3 are
        // not scored, so they hold nonsense on purpose.
        let input = TokenBatch {
            batch: 2,
            seq_len: 4,
            ids: vec![0, 0, 0, 1, 1, 1, 1, 0],
        };
        let ln3 = 3f32.ln();
        let logits = [
            9.0, -9.0, 9.0, -9.0, 0.0, ln3, 7.0, 7.0, //
            -9.0, 9.0, -9.0, 9.0, 0.0, 0.0, 7.0, 7.0,
        ];
        let (ppl, scored) = of_windows(&logits, &input, 2).unwrap();
        assert_eq!(scored, 2);
        assert!((ppl - (8.0f64 / 3.0).sqrt()).abs() < 1e-6, "{ppl}");
        assert_eq!(of_windows(&logits[..8], &input, 2), None);
        let short = TokenBatch {
            batch: 4,
            seq_len: 2,
            ids: input.ids.clone(),
        };
        assert_eq!(of_windows(&logits, &short, 2), None);
    }
}
