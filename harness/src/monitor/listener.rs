//! The HTTP endpoint Prometheus scrapes: `GET /metrics` answers the
//! exposition, `/` says where it is. Each connection is its own task, so a
//! slow or stuck scraper never holds up another scrape or a probe; a
//! connection that sends no complete request head within 10 s is closed.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::metrics::Exposition;

/// The content type of the OpenMetrics text format, which prometheus-client
/// writes and Prometheus negotiates.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Binds `addr` now, so that a port in use is an error at start.
pub fn bind(addr: &str) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Answers scrapes until `stop` turns true.
pub async fn serve(
    listener: std::net::TcpListener,
    exposition: Arc<Exposition>,
    mut stop: watch::Receiver<bool>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => return eprintln!("error: the metrics listener stopped: {e}"),
    };
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors, a reset before accept: keep serving.
                Err(_) => continue,
            },
            _ = stop.changed() => return,
        };
        let exposition = exposition.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(request, exposition.clone()));
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    exposition: Arc<Exposition>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |status: StatusCode, content_type: &str, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        if let Ok(value) = content_type.parse() {
            response.headers_mut().insert("content-type", value);
        }
        Ok(response)
    };
    let text = "text/plain; charset=utf-8";
    let readable = request.method() == Method::GET || request.method() == Method::HEAD;
    match (readable, request.uri().path()) {
        (true, "/metrics") => reply(StatusCode::OK, OPENMETRICS, exposition.encode()),
        (true, "/") => reply(
            StatusCode::OK,
            text,
            "inferbench monitor: the probes' metrics are at /metrics\n".into(),
        ),
        _ => reply(
            StatusCode::NOT_FOUND,
            text,
            "not found: the metrics are at GET /metrics\n".into(),
        ),
    }
}
