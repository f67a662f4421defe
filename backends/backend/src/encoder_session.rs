//! The session of an in-process encoder (candle's, libtorch's): the
//! contract's order of calls and its errors, written once over what the
//! runtimes do differently, which is their tensors.

use crate::bert::{LAST_HIDDEN_STATE, SENTENCE_EMBEDDING};
use crate::{BackendError, BertConfig, EncoderBatch, HostTensor, Session, TokenBatch};

/// A loaded BERT-family encoder (see [`crate::bert`]) in some runtime.
pub trait Encoder {
    /// The runtime's tensor.
    type Tensor;

    fn config(&self) -> &BertConfig;

    /// The batch's ids and attention mask as the runtime's tensors
    /// `[batch, seq_len]`; the batch is checked against the config.
    fn inputs(&self, batch: &EncoderBatch) -> Result<(Self::Tensor, Self::Tensor), BackendError>;

    /// The last hidden state, then the pooled sentence embedding when the
    /// model pools, computed (device synchronized) when this returns.
    fn run(
        &self,
        ids: &Self::Tensor,
        mask: &Self::Tensor,
    ) -> Result<Vec<Self::Tensor>, BackendError>;

    /// An output copied to the host as f32.
    fn to_host(&self, name: &str, output: &Self::Tensor) -> Result<HostTensor, BackendError>;

    /// Bytes the weights take in the runtime's memory.
    fn weight_bytes(&self) -> u64;
}

/// Runs an [`Encoder`]: `prepare` (or `prepare_encoder`), then `run` as
/// often as measured, then `outputs`.
pub struct EncoderSession<E: Encoder> {
    model: E,
    input: Option<(E::Tensor, E::Tensor)>,
    outputs: Vec<E::Tensor>,
    model_file_bytes: Option<u64>,
}

impl<E: Encoder> EncoderSession<E> {
    /// `model_file_bytes`: the size of the file it was loaded from, if the
    /// backend reports it.
    pub fn new(model: E, model_file_bytes: Option<u64>) -> Self {
        Self {
            model,
            input: None,
            outputs: Vec::new(),
            model_file_bytes,
        }
    }
}

impl<E: Encoder> Session for EncoderSession<E> {
    fn prepare(&mut self, input: &TokenBatch) -> Result<(), BackendError> {
        self.prepare_encoder(&EncoderBatch::from(input))
    }

    fn prepare_encoder(&mut self, input: &EncoderBatch) -> Result<(), BackendError> {
        input.validate(self.model.config())?;
        self.input = Some(self.model.inputs(input)?);
        Ok(())
    }

    fn run(&mut self) -> Result<(), BackendError> {
        let (ids, mask) = self
            .input
            .as_ref()
            .ok_or_else(BackendError::run_before_prepare)?;
        // Drop the previous outputs first, so the allocator can reuse them.
        self.outputs.clear();
        self.outputs = self.model.run(ids, mask)?;
        Ok(())
    }

    fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError> {
        if self.outputs.is_empty() {
            return Err(BackendError::outputs_before_run());
        }
        self.outputs
            .iter()
            .zip([LAST_HIDDEN_STATE, SENTENCE_EMBEDDING])
            .map(|(t, name)| self.model.to_host(name, t))
            .collect()
    }

    fn weight_bytes(&self) -> Option<u64> {
        Some(self.model.weight_bytes())
    }

    fn model_file_bytes(&self) -> Option<u64> {
        self.model_file_bytes
    }
}
