//! The endpoint client: one pooled async HTTP client (reqwest on tokio), one
//! request per [`GenerationRequest`], each streamed chunk timestamped the
//! moment its bytes arrive.

use std::time::{Duration, Instant};

use inferbench_backend::{
    BackendError, ErrorClass, Generation, GenerationError, GenerationFuture, GenerationRequest,
    Generator, TokenEvent,
};

use crate::chunk::{self, Chunk};
use crate::config::EndpointConfig;
use crate::sse::SseParser;

/// A client for one endpoint. Needs a tokio runtime to run its futures.
pub struct EndpointClient {
    http: reqwest::Client,
    /// Parsed once: reqwest would parse a `&str` again for every request.
    url: reqwest::Url,
    config: EndpointConfig,
    /// Read from `api_key_env` once; never printed (no `Debug`).
    api_key: Option<String>,
    timeout: Duration,
}

impl EndpointClient {
    /// A client keeping up to `max_in_flight` connections open (the load
    /// pattern's concurrency), giving up on a request after `timeout`.
    pub fn new(
        config: &EndpointConfig,
        max_in_flight: usize,
        timeout: Duration,
    ) -> Result<Self, BackendError> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(BackendError::Load(format!(
                "[endpoint]: {}",
                problems.join("; ")
            )));
        }
        let api_key = match &config.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                BackendError::Load(format!(
                    "[endpoint] api_key_env: the environment variable `{var}` is not set"
                ))
            })?),
            None => None,
        };
        // reqwest's rustls takes the process-wide crypto provider; installing
        // it twice is harmless (the second call reports the first).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(max_in_flight.max(1))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| BackendError::Load(format!("cannot build the HTTP client: {e}")))?;
        let request_url = config.request_url();
        let url = reqwest::Url::parse(&request_url).map_err(|e| {
            BackendError::Load(format!("[endpoint] url: `{request_url}` is not a URL: {e}"))
        })?;
        Ok(Self {
            http,
            url,
            config: config.clone(),
            api_key,
            timeout,
        })
    }

    /// Sends one request and follows its stream to the end.
    pub async fn request(&self, request: GenerationRequest) -> Result<Generation, GenerationError> {
        // `Bytes`: a resend shares the body instead of copying it.
        let body = bytes::Bytes::from(crate::request::body(&self.config, &request)?.to_string());
        let started = Instant::now();
        let mut response = match self.send(&body).await {
            // Servers close kept-alive connections after some requests
            // (llama-server after 5) without saying so; a request sent on
            // one such is lost before the server read it: send it again,
            // on a fresh connection, still timed from the first attempt.
            Err(e) if closed_before_answer(&e) => self.send(&body).await,
            other => other,
        }
        .map_err(transport_error)?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(http_error(status.as_u16(), &text));
        }
        let mut generation = Generation {
            started,
            events: Vec::new(),
            usage: None,
            finish_reason: None,
        };
        if self.config.stream {
            read_stream(&mut response, &mut generation).await?;
        } else {
            let bytes = response.bytes().await.map_err(transport_error)?;
            let at = Instant::now();
            let text = String::from_utf8_lossy(&bytes);
            let c = chunk::parse(&text).map_err(malformed)?;
            apply(c, at, &mut generation)?;
        }
        Ok(generation)
    }
}

impl EndpointClient {
    async fn send(&self, body: &bytes::Bytes) -> Result<reqwest::Response, reqwest::Error> {
        let mut builder = self
            .http
            .post(self.url.clone())
            .timeout(self.timeout)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key);
        }
        builder.send().await
    }
}

/// Whether the connection closed before any answer: hyper's "incomplete
/// message" on a reused connection.
fn closed_before_answer(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            return h.is_incomplete_message();
        }
        source = s.source();
    }
    false
}

impl Generator for EndpointClient {
    fn generate(&self, request: GenerationRequest) -> GenerationFuture<'_> {
        Box::pin(self.request(request))
    }
}

/// Reads SSE events until `[DONE]` or the end of the body.
async fn read_stream(
    response: &mut reqwest::Response,
    generation: &mut Generation,
) -> Result<(), GenerationError> {
    let mut parser = SseParser::default();
    let mut data = Vec::new();
    let mut done = false;
    while let Some(bytes) = response.chunk().await.map_err(transport_error)? {
        let at = Instant::now();
        parser.feed(&bytes, &mut data);
        for d in data.drain(..) {
            if d.trim() == "[DONE]" {
                done = true;
                continue;
            }
            let c = chunk::parse(&d).map_err(malformed)?;
            apply(c, at, generation)?;
        }
    }
    let pending = String::from_utf8_lossy(parser.pending()).trim().to_string();
    if !pending.is_empty() {
        return Err(malformed(format!(
            "the stream ended inside an event: {}",
            chunk::truncate(&pending, 200)
        )));
    }
    if !done && generation.finish_reason.is_none() {
        return Err(malformed(
            "the stream ended without a finish reason or [DONE]".to_string(),
        ));
    }
    Ok(())
}

fn apply(c: Chunk, at: Instant, generation: &mut Generation) -> Result<(), GenerationError> {
    if let Some(message) = c.error {
        return Err(malformed(format!(
            "the server sent an error in the stream: {message}"
        )));
    }
    if !c.content.is_empty() {
        generation.events.push(TokenEvent {
            at,
            text: c.content,
            ids: Vec::new(),
        });
    }
    if c.finish_reason.is_some() {
        generation.finish_reason = c.finish_reason;
    }
    if c.usage.is_some() {
        generation.usage = c.usage;
    }
    Ok(())
}

fn malformed(message: String) -> GenerationError {
    GenerationError::new(ErrorClass::MalformedStream, message)
}

/// An HTTP error status with the server's own message.
fn http_error(status: u16, body: &str) -> GenerationError {
    let message = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => chunk::error_message(&v),
        Err(_) => chunk::truncate(body.trim(), 300),
    };
    GenerationError::new(
        ErrorClass::HttpStatus(status),
        format!("HTTP {status}: {message}"),
    )
}

/// Classifies a transport failure, with the whole cause chain as message.
fn transport_error(e: reqwest::Error) -> GenerationError {
    let mut message = e.to_string();
    let mut refused = false;
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    let class = if e.is_timeout() {
        ErrorClass::Timeout
    } else if refused {
        ErrorClass::ConnectionRefused
    } else {
        ErrorClass::Connection
    };
    GenerationError::new(class, message)
}
