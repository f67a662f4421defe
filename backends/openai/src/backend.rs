//! The `openai` entry of the backend list: a served model has no session to
//! load in process, so it runs generation workloads only, through
//! [`EndpointClient`](crate::EndpointClient).

use inferbench_backend::{
    Backend, BackendError, BackendStatus, Capabilities, Device, LoadOptions, ModelSource,
    Precision, Session, Support,
};

pub struct OpenAiBackend;

impl Backend for OpenAiBackend {
    fn name(&self) -> &'static str {
        "openai"
    }

    /// Loads nothing: the model is the server's.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            endpoint: true,
            ..Capabilities::NONE
        }
    }

    fn status(&self) -> BackendStatus {
        BackendStatus::Ready {
            runtime_version: format!("openai-http {}", env!("CARGO_PKG_VERSION")),
        }
    }

    fn supports(&self, device: Device, precision: Precision) -> Support {
        if device == Device::Cpu && precision == Precision::F32 {
            Support::Yes
        } else {
            Support::No(
                "a served model's device and precision are the server's: leave `devices` and \
                 `precisions` unset for the `openai` backend"
                    .into(),
            )
        }
    }

    fn open(&self, _: &ModelSource, _: &LoadOptions) -> Result<Box<dyn Session>, BackendError> {
        Err(BackendError::Unsupported(
            "the `openai` backend runs generation workloads only: give the scenario a \
             [generation] table and an [endpoint]"
                .into(),
        ))
    }
}
