use serde::{Deserialize, Serialize};

use crate::BackendError;

/// A batch of token ids, row-major `[batch, seq_len]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenBatch {
    pub batch: usize,
    pub seq_len: usize,
    pub ids: Vec<i64>,
}

impl TokenBatch {
    pub fn tokens(&self) -> usize {
        self.batch * self.seq_len
    }

    pub fn row(&self, b: usize) -> &[i64] {
        &self.ids[b * self.seq_len..(b + 1) * self.seq_len]
    }

    /// One token per sequence, the input of a decoding step.
    pub fn step(tokens: &[i64]) -> Self {
        Self {
            batch: tokens.len(),
            seq_len: 1,
            ids: tokens.to_vec(),
        }
    }

    /// The one check every backend makes before running a batch (a full
    /// pass, a prefill or a decoding step): at least one sequence of at
    /// least one token, and exactly `batch * seq_len` ids, so no backend
    /// divides by zero, underflows `seq_len - 1` or reshapes the ids into
    /// rows they do not make.
    pub fn check(&self) -> Result<(), BackendError> {
        if self.batch == 0 || self.seq_len == 0 {
            return Err(BackendError::Run(format!(
                "an empty batch ({} sequences of {} tokens)",
                self.batch, self.seq_len
            )));
        }
        if self.ids.len() != self.tokens() {
            return Err(BackendError::Run(format!(
                "{} token ids do not make {} sequences of {} tokens",
                self.ids.len(),
                self.batch,
                self.seq_len
            )));
        }
        Ok(())
    }

    /// The shape check plus the model's limits: no more positions than
    /// `max_seq`, every id a token of the vocabulary.
    pub fn validate(&self, vocab_size: usize, max_seq: usize) -> Result<(), BackendError> {
        self.check()?;
        if self.seq_len > max_seq {
            return Err(BackendError::Run(format!(
                "{} positions exceed the model's {max_seq}",
                self.seq_len
            )));
        }
        match self
            .ids
            .iter()
            .find(|&&t| t < 0 || t as usize >= vocab_size)
        {
            Some(t) => Err(BackendError::Run(format!(
                "token id {t} is outside the vocabulary 0..{vocab_size}"
            ))),
            None => Ok(()),
        }
    }
}

/// The shape of a KV cache, checked the same way by every decoder: a
/// prompt of `batch` sequences starts it, then each step brings exactly
/// one token per sequence, never past the model's positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvCacheShape {
    vocab_size: usize,
    max_seq: usize,
    batch: usize,
    len: usize,
}

impl KvCacheShape {
    pub fn new(vocab_size: usize, max_seq: usize) -> Self {
        Self {
            vocab_size,
            max_seq,
            batch: 0,
            len: 0,
        }
    }

    /// Checks a prompt and starts a new cache from it.
    pub fn prefill(&mut self, prompt: &TokenBatch) -> Result<(), BackendError> {
        prompt.validate(self.vocab_size, self.max_seq)?;
        self.batch = prompt.batch;
        self.len = prompt.seq_len;
        Ok(())
    }

    /// Checks one step's tokens (one per sequence) and counts them in.
    pub fn step(&mut self, tokens: &[i64]) -> Result<(), BackendError> {
        if self.batch == 0 {
            return Err(BackendError::Run("step called before prefill".into()));
        }
        if tokens.len() != self.batch {
            return Err(BackendError::Run(format!(
                "step got {} tokens for a batch of {}",
                tokens.len(),
                self.batch
            )));
        }
        if self.len + 1 > self.max_seq {
            return Err(BackendError::Run(format!(
                "{} positions exceed the model's {}",
                self.len + 1,
                self.max_seq
            )));
        }
        TokenBatch::step(tokens).validate(self.vocab_size, self.max_seq)?;
        self.len += 1;
        Ok(())
    }

    /// Sequences in the cache (0 before the first prefill).
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Positions in the cache.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// An output copied back to host memory as f32, whatever precision the
/// backend computed it in, so accuracy is compared on one footing.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_rejects_empty_and_ragged_batches() {
        assert!(TokenBatch::step(&[4, 5]).check().is_ok());
        let empty = TokenBatch::step(&[]).check().unwrap_err().to_string();
        assert!(empty.contains("an empty batch (0 sequences"), "{empty}");
        let ragged = TokenBatch {
            batch: 2,
            seq_len: 3,
            ids: vec![1; 5],
        };
        let ragged = ragged.check().unwrap_err().to_string();
        assert!(
            ragged.contains("5 token ids do not make 2 sequences of 3"),
            "{ragged}"
        );
    }

    fn batch(batch: usize, seq_len: usize, ids: Vec<i64>) -> TokenBatch {
        TokenBatch {
            batch,
            seq_len,
            ids,
        }
    }

    #[test]
    fn ill_shaped_batches_are_errors_that_say_why() {
        assert!(batch(1, 2, vec![0, 9]).validate(10, 4).is_ok());
        for (bad, why) in [
            (batch(0, 2, vec![]), "empty batch"),
            (
                batch(1, 2, vec![1]),
                "1 token ids do not make 1 sequences of 2",
            ),
            (batch(1, 5, vec![1; 5]), "5 positions exceed the model's 4"),
            (batch(1, 2, vec![1, 10]), "token id 10 is outside"),
            (batch(1, 1, vec![-1]), "token id -1 is outside"),
        ] {
            let e = bad.validate(10, 4).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn the_cache_takes_one_token_per_sequence_up_to_max_seq() {
        let mut cache = KvCacheShape::new(10, 3);
        assert!(
            cache
                .step(&[1])
                .unwrap_err()
                .to_string()
                .contains("before prefill")
        );
        cache.prefill(&batch(2, 2, vec![1, 2, 3, 4])).unwrap();
        assert!(
            cache
                .step(&[1])
                .unwrap_err()
                .to_string()
                .contains("1 tokens for a batch of 2")
        );
        cache.step(&[5, 6]).unwrap();
        assert_eq!((cache.batch(), cache.len()), (2, 3));
        assert!(
            cache
                .step(&[5, 6])
                .unwrap_err()
                .to_string()
                .contains("4 positions exceed the model's 3")
        );
        assert!(cache.prefill(&batch(0, 0, vec![])).is_err());
    }
}
