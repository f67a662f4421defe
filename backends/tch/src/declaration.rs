//! What the tch backend declares, compiled in or not (see `lib.rs`).

use inferbench_backend::{Capabilities, ModelFormat, ModelKind, OptionSpec};

pub const NAME: &str = "tch";

/// tch takes no options: threads come from the case.
pub const OPTIONS: &[OptionSpec] = &[];

pub const CAPABILITIES: Capabilities = Capabilities {
    models: &[
        ModelKind::SyntheticGpt,
        ModelKind::Llama,
        ModelKind::Bert,
        ModelKind::File(ModelFormat::TorchScript),
    ],
    logits: true,
    decoder: true,
    endpoint: false,
};

/// How to build the backend in.
#[cfg_attr(feature = "libtorch", allow(dead_code))]
pub const HINT: &str = "run `bash ci/setup.sh` (assembles libtorch under vendor/libtorch), then build \
                        with `cargo build --release --features tch`";
