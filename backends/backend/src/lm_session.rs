//! The session and the KV-cache decoder of an in-process causal language
//! model (candle's, libtorch's): the contract's order of calls, its errors
//! and the decoder's checks, written once over what the runtimes do
//! differently, which is their tensors and caches.

use crate::{BackendError, Decoder, HostTensor, KvCacheShape, Session, TokenBatch};

/// A loaded decoder-only language model in some runtime.
pub trait LanguageModel {
    /// The runtime's tensor (ids, logits).
    type Tensor;
    /// Its key/value cache for incremental decoding.
    type Cache;

    /// Vocabulary size and positions: the bounds of valid input.
    fn limits(&self) -> (usize, usize);

    /// The ids `[batch, seq_len]` (already checked) as the runtime's tensor.
    fn ids(&self, batch: &TokenBatch) -> Result<Self::Tensor, BackendError>;

    /// Logits `[batch, seq_len, vocab]` of whole sequences, computed
    /// (device synchronized) when this returns.
    fn logits(&self, ids: &Self::Tensor) -> Result<Self::Tensor, BackendError>;

    /// Logits copied to the host as f32, named `logits`.
    fn to_host(&self, logits: &Self::Tensor) -> Result<HostTensor, BackendError>;

    /// Bytes the weights take in the runtime's memory.
    fn weight_bytes(&self) -> u64;

    fn new_cache(&self) -> Self::Cache;

    /// Runs `batch` `[batch, new]` after the tokens `cache` holds, appending
    /// theirs, and returns each sequence's last logits `[batch, vocab]` on
    /// the host.
    fn extend(
        &self,
        cache: &mut Self::Cache,
        batch: &TokenBatch,
    ) -> Result<HostTensor, BackendError>;
}

/// Full-sequence forward passes of a [`LanguageModel`], and its decoder.
pub struct LmSession<M: LanguageModel> {
    model: M,
    input: Option<M::Tensor>,
    logits: Option<M::Tensor>,
    model_file_bytes: Option<u64>,
    notes: Vec<String>,
}

impl<M: LanguageModel> LmSession<M> {
    /// `model_file_bytes` and `notes` as [`Session`] reports them.
    pub fn new(model: M, model_file_bytes: Option<u64>, notes: Vec<String>) -> Self {
        Self {
            model,
            input: None,
            logits: None,
            model_file_bytes,
            notes,
        }
    }
}

impl<M: LanguageModel> Session for LmSession<M> {
    fn prepare(&mut self, input: &TokenBatch) -> Result<(), BackendError> {
        let (vocab_size, max_positions) = self.model.limits();
        input.validate(vocab_size, max_positions)?;
        self.input = Some(self.model.ids(input)?);
        Ok(())
    }

    fn run(&mut self) -> Result<(), BackendError> {
        let input = self
            .input
            .as_ref()
            .ok_or_else(BackendError::run_before_prepare)?;
        // Drop the previous logits first, so the allocator can reuse them.
        self.logits = None;
        self.logits = Some(self.model.logits(input)?);
        Ok(())
    }

    fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError> {
        let logits = self
            .logits
            .as_ref()
            .ok_or_else(BackendError::outputs_before_run)?;
        Ok(vec![self.model.to_host(logits)?])
    }

    fn weight_bytes(&self) -> Option<u64> {
        Some(self.model.weight_bytes())
    }

    fn model_file_bytes(&self) -> Option<u64> {
        self.model_file_bytes
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    fn decoder(&mut self) -> Result<Box<dyn Decoder + '_>, BackendError> {
        let (vocab_size, max_positions) = self.model.limits();
        Ok(Box::new(LmDecoder {
            model: &self.model,
            cache: self.model.new_cache(),
            shape: KvCacheShape::new(vocab_size, max_positions),
        }))
    }
}

/// Incremental decoding: the cache grows by the new tokens' keys and
/// values at every call; [`KvCacheShape`] checks each call first.
struct LmDecoder<'a, M: LanguageModel> {
    model: &'a M,
    cache: M::Cache,
    shape: KvCacheShape,
}

impl<M: LanguageModel> Decoder for LmDecoder<'_, M> {
    fn prefill(&mut self, prompt: &TokenBatch) -> Result<HostTensor, BackendError> {
        self.shape.prefill(prompt)?;
        self.cache = self.model.new_cache();
        self.model.extend(&mut self.cache, prompt)
    }

    fn step(&mut self, tokens: &[i64]) -> Result<HostTensor, BackendError> {
        self.shape.step(tokens)?;
        self.model
            .extend(&mut self.cache, &TokenBatch::step(tokens))
    }
}
