//! inferbench backend adapter for libtorch, PyTorch's C++ runtime, through
//! the `tch` crate: the synthetic GPT built with `tch::nn` and Llama-family
//! models (Llama, Qwen2, Mistral) from their safetensors weights (f32, f16,
//! bf16 on cpu, and cuda where libtorch sees a GPU), and TorchScript (`.pt`) user
//! models through `tch::CModule`.
//!
//! Everything here links libtorch, so it sits behind this crate's
//! `libtorch` feature. Off (the default), [`TchBackend`] is the generic
//! [`NotCompiled`] stand-in with the same declaration, so the harness lists
//! `tch` as "not compiled in" and its cases become `skipped` rows. Build with
//! `cargo build --features inferbench/tch` after `ci/setup.sh` has assembled
//! libtorch under `vendor/libtorch`.

#[cfg(feature = "libtorch")]
mod attention;
#[cfg(feature = "libtorch")]
mod backend;
#[cfg(feature = "libtorch")]
mod bert;
#[cfg(feature = "libtorch")]
mod causal_lm;
mod declaration;
#[cfg(feature = "libtorch")]
mod device;
#[cfg(feature = "libtorch")]
mod error;
#[cfg(feature = "libtorch")]
mod gpt;
#[cfg(feature = "libtorch")]
mod inference_mode;
#[cfg(feature = "libtorch")]
mod llama;
#[cfg(feature = "libtorch")]
mod matmul;
#[cfg(feature = "libtorch")]
mod torchscript;
#[cfg(feature = "libtorch")]
mod weights;

#[cfg(feature = "libtorch")]
pub use attention::KvCache;
#[cfg(feature = "libtorch")]
pub use backend::{TchBackend, libtorch_version};
#[cfg(feature = "libtorch")]
pub use bert::TchBert;
#[cfg(feature = "libtorch")]
pub use causal_lm::CausalLm;
#[cfg(feature = "libtorch")]
pub use gpt::TchGpt;
#[cfg(feature = "libtorch")]
pub use llama::TchLlama;
#[cfg(feature = "libtorch")]
pub use torchscript::{ScriptInput, ScriptInputData, TorchScriptSession};

#[cfg(not(feature = "libtorch"))]
use inferbench_backend::NotCompiled;

/// Without libtorch: the stand-in, named like the adapter so that the
/// harness's registry line is the same in both builds.
#[cfg(not(feature = "libtorch"))]
#[allow(non_upper_case_globals)]
pub const TchBackend: NotCompiled = NotCompiled {
    name: declaration::NAME,
    hint: declaration::HINT,
    options: declaration::OPTIONS,
    capabilities: declaration::CAPABILITIES,
};
