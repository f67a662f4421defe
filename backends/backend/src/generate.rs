//! The one generation interface the load patterns drive, for in-process
//! runtimes and served models alike: a prompt in, a stream of token events
//! with timestamps out. In-process decoders implement it by greedy sampling
//! over their logits; an OpenAI-compatible endpoint implements it over
//! Server-Sent Events. The harness times, counts and judges both the same
//! way, so nothing downstream asks which one it measured.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// One turn of a chat prompt, as the OpenAI chat API takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

/// What a request starts from.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// Token ids (the synthetic workloads; an endpoint's completions API
    /// takes them as a list of integers).
    Tokens(Vec<i64>),
    /// Raw text.
    Text(String),
    /// Chat turns; a server applies the model's chat template.
    Chat(Vec<ChatMessage>),
}

/// One request.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationRequest {
    pub prompt: Prompt,
    /// Tokens to generate (an endpoint gets it as `max_tokens`).
    pub max_tokens: usize,
    /// Keep generating past the end-of-sequence token, so every request
    /// produces `max_tokens` (an endpoint gets `ignore_eos` and `min_tokens`).
    pub ignore_eos: bool,
}

/// Content that became available at one instant: one token in process, one
/// streamed chunk from a server (usually one token).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEvent {
    pub at: Instant,
    /// The text of the chunk, when the generator produces text.
    pub text: String,
    /// The token ids, when the generator knows them.
    pub ids: Vec<i64>,
}

/// Token counts as the generator reports them (an endpoint's `usage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Everything one request produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// When processing began: the request handed to the connection, or the
    /// decoder starting on it. Queueing before it is the caller's to time.
    pub started: Instant,
    /// Content events in order; the first is the first content token.
    pub events: Vec<TokenEvent>,
    pub usage: Option<Usage>,
    /// Why generation stopped (`length`, `stop`), when reported.
    pub finish_reason: Option<String>,
}

impl Generation {
    /// The generated text, all events joined.
    pub fn text(&self) -> String {
        self.events.iter().map(|e| e.text.as_str()).collect()
    }
}

/// Classes errors are counted by, with the first message of each kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorClass {
    /// The server answered with an HTTP error status.
    HttpStatus(u16),
    /// No complete answer within the request's time limit.
    Timeout,
    /// Nothing listens at the address.
    ConnectionRefused,
    /// Any other transport failure (reset, DNS, broken body).
    Connection,
    /// The answer is not the streamed JSON the API defines, or the stream
    /// carried an error object.
    MalformedStream,
    /// The in-process runtime failed.
    Backend,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorClass::HttpStatus(code) => write!(f, "http_{code}"),
            ErrorClass::Timeout => f.write_str("timeout"),
            ErrorClass::ConnectionRefused => f.write_str("connection_refused"),
            ErrorClass::Connection => f.write_str("connection"),
            ErrorClass::MalformedStream => f.write_str("malformed_stream"),
            ErrorClass::Backend => f.write_str("backend"),
        }
    }
}

/// A failed request: its class and a complete sentence (for an HTTP error,
/// the server's own message).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{class}: {message}")]
pub struct GenerationError {
    pub class: ErrorClass,
    pub message: String,
}

impl GenerationError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
        }
    }
}

/// A request in flight.
pub type GenerationFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Generation, GenerationError>> + Send + 'a>>;

/// Anything that turns a prompt into timed token events. Requests may be
/// in flight at once; how many it serves in parallel is its own affair (a
/// server's batching, an in-process runtime's sessions), and waiting for it
/// counts as latency.
pub trait Generator: Send + Sync {
    fn generate(&self, request: GenerationRequest) -> GenerationFuture<'_>;
}
