//! The `openai` backend: a model served behind an OpenAI-compatible API
//! (vLLM, TGI, llama.cpp's `llama-server`, Ollama, a hosted API), measured
//! through the same [`Generator`](inferbench_backend::Generator) interface
//! as the in-process runtimes.
//!
//! - [`config`]: the `[endpoint]` table;
//! - [`request`]: the JSON body of a request;
//! - [`sse`] and [`chunk`]: the streamed answer;
//! - [`EndpointClient`]: the pooled async client, errors by class;
//! - [`instrument`]: a trivial SSE endpoint to measure the client itself.

mod backend;
pub mod chunk;
mod client;
pub mod config;
pub mod instrument;
pub mod request;
pub mod sse;

pub use backend::OpenAiBackend;
pub use client::EndpointClient;
pub use config::{Api, EndpointConfig};
