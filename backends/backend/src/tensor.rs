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
}
