use serde::{Deserialize, Serialize};

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
}

/// An output copied back to host memory as f32, whatever precision the
/// backend computed it in, so accuracy is compared on one footing.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}
