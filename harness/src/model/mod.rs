//! The models' inputs and f64 references: the synthetic GPT's weights and
//! reference, a checkpoint's text inputs and cached Llama reference;
//! everything the harness needs to know what the right answer is, with no
//! backend library.

pub mod encoder;
pub mod llama_reference;
pub mod named_inputs;
pub mod perplexity;
pub mod synthetic;
pub mod text;

pub use inferbench_reference::{inputs, rng};
