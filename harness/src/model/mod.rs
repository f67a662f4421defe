//! The synthetic GPT's weights, inputs and f64 reference: everything the
//! harness needs to know what the right answer is, with no backend library.

pub mod inputs;
pub mod named_inputs;
pub mod synthetic;

pub use inferbench_reference::rng;
