//! What the session and the KV-cache decoder need of a causal language
//! model, so that the trait crate's session and decoder serve every model
//! this crate builds (the synthetic GPT, the Llama family).

use inferbench_backend::{BackendError, HostTensor, LanguageModel, TokenBatch};
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

/// A [`CausalLm`] as the trait crate's [`LanguageModel`], which its
/// [`inferbench_backend::LmSession`] runs (a wrapper: the trait is not this
/// crate's to implement for every `M`).
pub struct Lm<M>(pub M);

impl<M: CausalLm> LanguageModel for Lm<M> {
    type Tensor = Tensor;
    type Cache = KvCache;

    fn limits(&self) -> (usize, usize) {
        self.0.limits()
    }

    /// Int64 ids `[batch, seq_len]` on the model's device.
    fn ids(&self, batch: &TokenBatch) -> Result<Tensor, BackendError> {
        Tensor::from_slice(&batch.ids)
            .f_view([batch.batch as i64, batch.seq_len as i64])
            .and_then(|t| t.f_to_device(self.0.device()))
            .map_err(run_error)
    }

    fn logits(&self, ids: &Tensor) -> Result<Tensor, BackendError> {
        let logits = inference(|| self.0.forward(ids)).map_err(run_error)?;
        synchronize(self.0.device());
        Ok(logits)
    }

    fn to_host(&self, logits: &Tensor) -> Result<HostTensor, BackendError> {
        host_tensor("logits", logits)
    }

    fn weight_bytes(&self) -> u64 {
        self.0.weight_bytes()
    }

    fn new_cache(&self) -> KvCache {
        KvCache::new(self.0.layers())
    }

    /// Each layer's keys and values stay on the model's device. Only the
    /// last position goes through the head: the others' logits would be
    /// thrown away.
    fn extend(&self, cache: &mut KvCache, batch: &TokenBatch) -> Result<HostTensor, BackendError> {
        let ids = self.ids(batch)?;
        let model = &self.0;
        let last = inference(|| {
            let hidden = model.hidden(&ids, Some(cache))?;
            model.head(&hidden.f_select(1, batch.seq_len as i64 - 1)?)
        })
        .map_err(run_error)?;
        synchronize(model.device());
        host_tensor("logits", &last)
    }
}
