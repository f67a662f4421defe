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

mod declaration;

/// Items that link libtorch, compiled with the `libtorch` feature only (a
/// macro because one `cfg` cannot cover a list of items).
macro_rules! with_libtorch {
    ($($item:item)*) => {
        $(#[cfg(feature = "libtorch")] $item)*
    };
}

with_libtorch! {
    mod attention;
    mod backend;
    mod bert;
    mod causal_lm;
    mod device;
    mod error;
    mod gpt;
    mod inference_mode;
    mod llama;
    mod matmul;
    mod torchscript;
    mod weights;

    pub use attention::KvCache;
    pub use backend::{TchBackend, libtorch_version};
    pub use bert::TchBert;
    pub use causal_lm::CausalLm;
    pub use gpt::TchGpt;
    pub use llama::TchLlama;
    pub use torchscript::{ScriptInput, ScriptInputData, TorchScriptSession};
}

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
