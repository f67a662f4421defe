//! Plain f64 reference implementations of the models inferbench runs: no
//! runtime library, no SIMD, no fused kernels, so they are the independent
//! "right answer" every backend's outputs are measured against. They live
//! below the harness so that the conformance suite and the adapters' own
//! tests can use them too.

pub mod bert;
pub mod cache;
mod error;
pub mod fixtures;
pub mod gpt;
pub mod inputs;
pub mod llama;
pub mod minilm;
pub mod perplexity;
pub mod rng;
pub mod synthetic_weights;

pub use bert::BertReference;
pub use error::ReferenceError;
pub use llama::{LlamaKvCache, LlamaReference};
