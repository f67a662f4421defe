//! What the session and the KV-cache decoder need of a causal language
//! model, so that one session and one decoder serve every model this crate
//! builds (the synthetic GPT, the Llama family).

use inferbench_backend::{BackendError, Decoder, HostTensor, KvCacheShape, Session, TokenBatch};
use tch::{TchError, Tensor};

use crate::attention::KvCache;
use crate::device::synchronize;
use crate::error::run_error;
use crate::inference_mode::inference;
use crate::torchscript::host_tensor;

/// A decoder-only transformer: token ids in, logits out, with an optional
/// key/value cache. Call its methods in inference mode.
pub trait CausalLm {
    fn device(&self) -> tch::Device;

    /// Transformer layers, one cache slot each.
    fn layers(&self) -> usize;

    /// Vocabulary size and positions: the bounds of valid input.
    fn limits(&self) -> (usize, usize);

    /// Final hidden states `[batch, new, hidden]` (after the last norm) of
    /// `ids` `[batch, new]`, int64. With a cache, the ids follow the tokens
    /// it holds (positions continue from there) and their keys and values
    /// are appended to it.
    fn hidden(&self, ids: &Tensor, cache: Option<&mut KvCache>) -> Result<Tensor, TchError>;

    /// Logits `[..., vocab]` of final hidden states `[..., hidden]`.
    fn head(&self, hidden: &Tensor) -> Result<Tensor, TchError>;

    /// Bytes the parameters occupy.
    fn weight_bytes(&self) -> u64;

    /// Logits `[batch, seq, vocab]` of a whole sequence.
    fn forward(&self, ids: &Tensor) -> Result<Tensor, TchError> {
        self.head(&self.hidden(ids, None)?)
    }
}

/// Int64 ids `[batch, seq_len]` on `device`. The caller has checked them.
fn ids_tensor(batch: &TokenBatch, device: tch::Device) -> Result<Tensor, BackendError> {
    Tensor::from_slice(&batch.ids)
        .f_view([batch.batch as i64, batch.seq_len as i64])
        .and_then(|t| t.f_to_device(device))
        .map_err(run_error)
}

/// Full-sequence forward passes of one model.
pub struct LmSession<M> {
    model: M,
    input: Option<Tensor>,
    logits: Option<Tensor>,
}

impl<M: CausalLm> LmSession<M> {
    pub fn new(model: M) -> Self {
        Self {
            model,
            input: None,
            logits: None,
        }
    }
}

impl<M: CausalLm> Session for LmSession<M> {
    fn prepare(&mut self, input: &TokenBatch) -> Result<(), BackendError> {
        let (vocab_size, max_positions) = self.model.limits();
        input.validate(vocab_size, max_positions)?;
        self.input = Some(ids_tensor(input, self.model.device())?);
        Ok(())
    }

    fn run(&mut self) -> Result<(), BackendError> {
        let input = self
            .input
            .as_ref()
            .ok_or_else(BackendError::run_before_prepare)?;
        // Drop the previous logits first, so the allocator can reuse them.
        self.logits = None;
        let logits = inference(|| self.model.forward(input)).map_err(run_error)?;
        synchronize(self.model.device());
        self.logits = Some(logits);
        Ok(())
    }

    fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError> {
        let logits = self
            .logits
            .as_ref()
            .ok_or_else(BackendError::outputs_before_run)?;
        Ok(vec![host_tensor("logits", logits)?])
    }

    fn weight_bytes(&self) -> Option<u64> {
        Some(self.model.weight_bytes())
    }

    fn decoder(&mut self) -> Result<Box<dyn Decoder + '_>, BackendError> {
        Ok(Box::new(LmDecoder::new(&self.model)))
    }
}

/// Incremental decoding: each layer's keys and values stay on the model's
/// device and grow by the new tokens' at every call.
pub struct LmDecoder<'a, M> {
    model: &'a M,
    cache: KvCache,
    shape: KvCacheShape,
}

impl<'a, M: CausalLm> LmDecoder<'a, M> {
    pub fn new(model: &'a M) -> Self {
        let (vocab_size, max_positions) = model.limits();
        Self {
            model,
            cache: KvCache::new(model.layers()),
            shape: KvCacheShape::new(vocab_size, max_positions),
        }
    }

    /// Runs `input` and returns each sequence's last logits `[batch, vocab]`.
    /// Only the last position goes through the head: the others' logits
    /// would be thrown away.
    fn advance(&mut self, input: &TokenBatch) -> Result<HostTensor, BackendError> {
        let ids = ids_tensor(input, self.model.device())?;
        let (model, cache) = (self.model, &mut self.cache);
        let last = inference(|| {
            let hidden = model.hidden(&ids, Some(cache))?;
            model.head(&hidden.f_select(1, input.seq_len as i64 - 1)?)
        })
        .map_err(run_error)?;
        synchronize(model.device());
        host_tensor("logits", &last)
    }
}

impl<M: CausalLm> Decoder for LmDecoder<'_, M> {
    fn prefill(&mut self, prompt: &TokenBatch) -> Result<HostTensor, BackendError> {
        self.shape.prefill(prompt)?;
        self.cache = KvCache::new(self.model.layers());
        self.advance(prompt)
    }

    fn step(&mut self, tokens: &[i64]) -> Result<HostTensor, BackendError> {
        self.shape.step(tokens)?;
        self.advance(&TokenBatch::step(tokens))
    }
}
