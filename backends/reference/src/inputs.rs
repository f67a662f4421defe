//! Deterministic token inputs for a case.

use inferbench_backend::TokenBatch;

use crate::rng::SplitMix64;

/// Token ids for `[batch, seq_len]`, drawn from `seed` alone: every backend
/// and the reference see the same ids.
pub fn token_batch(vocab_size: usize, batch: usize, seq_len: usize, seed: u64) -> TokenBatch {
    let mut rng = SplitMix64::new(seed ^ 0x1D5_7A11);
    let ids = (0..batch * seq_len)
        .map(|_| rng.below(vocab_size as u64) as i64)
        .collect();
    TokenBatch {
        batch,
        seq_len,
        ids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids_and_in_range() {
        let a = token_batch(50, 2, 16, 3);
        assert_eq!(a, token_batch(50, 2, 16, 3));
        assert_ne!(a, token_batch(50, 2, 16, 4));
        assert!(a.ids.iter().all(|&t| (0..50).contains(&t)));
    }
}
