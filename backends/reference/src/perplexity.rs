//! Perplexity as llama.cpp's `llama-perplexity` computes it
//! (`tools/perplexity/perplexity.cpp`, `perplexity()`): the token stream is
//! cut into chunks of `n_ctx` tokens, each chunk is evaluated on its own,
//! and only the second half of each chunk is scored, so every scored token
//! has at least `n_ctx / 2` tokens of context. For position `j` in
//! `[n_ctx/2, n_ctx - 1)` the chunk's logits at `j` score the token at
//! `j + 1`: `nll += -log softmax(logits[j])[token[j + 1]]`; the result is
//! `exp(nll / count)` over all chunks. A trailing partial chunk is dropped.

/// The chunks of `tokens` that are evaluated: `tokens.len() / n_ctx` of
/// them, each `n_ctx` tokens.
pub fn chunks(tokens: &[u32], n_ctx: usize) -> impl Iterator<Item = &[u32]> {
    tokens.chunks_exact(n_ctx.max(2))
}

/// Negative log-likelihood sum and token count of one evaluated chunk:
/// `logits` `[n_ctx, vocab]` of the chunk's `tokens`.
pub fn score_chunk<T: Copy + Into<f64>>(
    logits: &[T],
    tokens: &[u32],
    vocab: usize,
) -> (f64, usize) {
    let n_ctx = tokens.len();
    let first = n_ctx / 2;
    let mut nll = 0.0;
    for j in first..n_ctx - 1 {
        let row = &logits[j * vocab..(j + 1) * vocab];
        nll -= log_softmax_at(row, tokens[j + 1] as usize);
    }
    (nll, n_ctx - 1 - first)
}

/// `exp(total nll / total count)` of the scored chunks.
pub fn perplexity(scores: &[(f64, usize)]) -> f64 {
    let (nll, count) = scores
        .iter()
        .fold((0.0, 0), |(n, c), (a, b)| (n + a, c + b));
    (nll / count as f64).exp()
}

/// `log softmax(row)[index]`, with the maximum subtracted for range.
fn log_softmax_at<T: Copy + Into<f64>>(row: &[T], index: usize) -> f64 {
    let max = row
        .iter()
        .map(|v| (*v).into())
        .fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = row.iter().map(|v| ((*v).into() - max).exp()).sum();
    row[index].into() - max - sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_logits_give_the_vocabulary_size() {
        // Every next token has probability 1/4: perplexity 4.
        let tokens = [0, 1, 2, 3, 0, 1];
        let logits = vec![0.0f32; 6 * 4];
        let score = score_chunk(&logits, &tokens, 4);
        // n_ctx 6: positions 3 and 4 are scored.
        assert_eq!(score.1, 2);
        assert!((perplexity(&[score]) - 4.0).abs() < 1e-12);
    }

    #[test]
    fn scores_only_the_second_half_by_hand() {
        // vocab 2, n_ctx 4: positions 2 (scores tokens[3] = 1) and 3 is last.
        // Row 2 = [0, ln 3]: p(1) = 3/4. Rows 0, 1 would be wrong on purpose.
        let tokens = [0, 0, 0, 1];
        let logits = [9.0, -9.0, 9.0, -9.0, 0.0, 3f64.ln(), 5.0, 5.0];
        let (nll, count) = score_chunk(&logits, &tokens, 2);
        assert_eq!(count, 1);
        assert!((nll - -(0.75f64).ln()).abs() < 1e-12);
        assert!((perplexity(&[(nll, count)]) - 4.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_trailing_partial_chunk_is_dropped() {
        let tokens: Vec<u32> = (0..10).collect();
        let got: Vec<&[u32]> = chunks(&tokens, 4).collect();
        assert_eq!(got, vec![&tokens[0..4], &tokens[4..8]]);
    }
}
