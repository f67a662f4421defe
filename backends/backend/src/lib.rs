//! The one trait every inferbench runtime adapter implements, and the plain
//! values that cross it.
//!
//! Like ripgrep's `grep-matcher`, this crate holds only the contract: a
//! backend knows nothing of scenario files, result files or telemetry. The
//! harness hands it a model source and load options, feeds it token batches
//! and reads back host tensors.

mod backend;
pub mod bert;
pub mod cache;
#[cfg(feature = "conformance")]
pub mod conformance;
mod declaration;
mod device;
mod encoder_session;
mod error;
mod files;
mod generate;
pub mod gpt;
pub mod llama;
mod lm_session;
pub mod matmul;
mod named;
mod not_compiled;
pub mod null;
mod precision;
mod sizes;
mod tensor;

pub use backend::{
    Backend, BackendStatus, Decoder, LoadOptions, ModelFormat, ModelSource, Session, Support,
};
pub use bert::{BertArch, BertConfig, EncoderBatch, PoolingMode, SentencePooling};
pub use cache::write_atomically;
pub use declaration::{
    Capabilities, CaseContext, ModelKind, OptionKind, OptionSpec, check_options, closest,
};
pub use device::Device;
pub use encoder_session::{Encoder, EncoderSession};
pub use error::BackendError;
pub use files::{F32Tensors, read_f32_safetensors, write_f32_safetensors};
pub use generate::{
    ChatMessage, ErrorClass, Generation, GenerationError, GenerationFuture, GenerationRequest,
    Generator, Prompt, TokenEvent, Usage,
};
pub use gpt::GptSpec;
pub use llama::{LlamaArch, LlamaConfig};
pub use lm_session::{LanguageModel, LmSession};
pub use matmul::{Matmul, MatmulSpec};
pub use named::{ElementType, InputDim, InputSpec, NamedTensor, TensorData};
pub use not_compiled::NotCompiled;
pub use null::NullBackend;
pub use precision::Precision;
pub use tensor::{HostTensor, KvCacheShape, TokenBatch};
