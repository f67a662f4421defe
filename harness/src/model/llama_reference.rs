//! The f64 Llama reference as the harness uses it: loaded only when a
//! result is not in the cache yet (it reads the whole model into f64 and
//! costs ~0.3 GFLOP per token on SmolLM2), with every result kept beside
//! the converted weights, keyed by the ids it was computed for.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use inferbench_backend::{BackendError, LlamaConfig, TokenBatch};
use inferbench_reference::{LlamaReference, ReferenceError, cache};

use inferbench_reference::gpt::ReferenceLogits;

pub struct CachedLlamaReference {
    config: LlamaConfig,
    weights: PathBuf,
    /// The converted model's folder; results go to `folder/reference/`.
    folder: PathBuf,
    model: OnceCell<LlamaReference>,
}

fn failed(e: ReferenceError) -> BackendError {
    BackendError::Run(format!("reference: {e}"))
}

impl CachedLlamaReference {
    pub fn new(config: &LlamaConfig, weights: &Path, folder: &Path) -> Self {
        Self {
            config: config.clone(),
            weights: weights.to_path_buf(),
            folder: folder.to_path_buf(),
            model: OnceCell::new(),
        }
    }

    fn model(&self) -> Result<&LlamaReference, ReferenceError> {
        if let Some(model) = self.model.get() {
            return Ok(model);
        }
        let model = LlamaReference::load(&self.config, &self.weights)?;
        Ok(self.model.get_or_init(|| model))
    }

    /// Logits `[ids.len(), vocab]` of one sequence.
    pub fn logits(&self, ids: &[u32]) -> Result<Vec<f64>, BackendError> {
        cache::cached_logits(&self.folder, ids, || self.model()?.forward(ids)).map_err(failed)
    }

    /// Logits of every sequence of `input`, `[batch, seq_len, vocab]`.
    pub fn batch_logits(&self, input: &TokenBatch) -> Result<ReferenceLogits, BackendError> {
        let mut data = Vec::new();
        for row in input.ids.chunks(input.seq_len.max(1)) {
            let ids: Vec<u32> = row.iter().map(|&t| t as u32).collect();
            data.extend(self.logits(&ids)?);
        }
        Ok(ReferenceLogits {
            vocab_size: self.config.vocab_size,
            data,
        })
    }

    /// The greedy continuation of `prompt` by `n` tokens (KV cache).
    pub fn greedy(&self, prompt: &[u32], n: usize) -> Result<Vec<u32>, BackendError> {
        cache::cached_greedy(&self.folder, prompt, n, || self.model()?.greedy(prompt, n))
            .map_err(failed)
    }

    pub fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }
}
