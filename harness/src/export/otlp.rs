//! The OTLP sink: a run's metrics ([`super::otlp_metrics`]) and traces
//! ([`super::otlp_traces`]) sent side by side to one receiver, reported as
//! one outcome so a receiver that is down yields one warning.

use std::future::Future;
use std::time::Duration;

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::Resource;

use super::labels::{LabelValue, Labels};
use super::otlp_config::{OtlpConfig, Protocol};
use super::{ExportError, Exporter, otlp_metrics, otlp_traces};
use crate::results::json::RunDocument;

/// What drives the exporters' futures. tonic (gRPC) needs a multi-thread
/// tokio runtime to own its connection tasks; the blocking reqwest client
/// of OTLP/HTTP must not run inside one, so it gets a plain executor.
pub struct Runtime {
    tokio: Option<tokio::runtime::Runtime>,
}

impl Runtime {
    pub(crate) fn for_protocol(protocol: Protocol) -> Result<Self, String> {
        let tokio = match protocol {
            Protocol::HttpProtobuf => None,
            Protocol::Grpc => Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("inferbench-otlp")
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start the gRPC runtime: {e}"))?,
            ),
        };
        Ok(Self { tokio })
    }

    pub fn enter(&self) -> Option<tokio::runtime::EnterGuard<'_>> {
        self.tokio.as_ref().map(|rt| rt.enter())
    }

    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.tokio {
            Some(rt) => rt.block_on(future),
            None => futures_executor::block_on(future),
        }
    }
}

pub fn key_values(labels: &Labels) -> Vec<KeyValue> {
    labels
        .iter()
        .map(|(k, v)| {
            let value = match v {
                LabelValue::Text(s) => Value::from(s.clone()),
                LabelValue::Int(i) => Value::I64(*i),
            };
            KeyValue::new(*k, value)
        })
        .collect()
}

/// The resource: `service.name` is `inferbench` unless `OTEL_SERVICE_NAME`
/// or `OTEL_RESOURCE_ATTRIBUTES` name it (the SDK's detectors read both).
pub(crate) fn resource() -> Resource {
    let named = std::env::var_os("OTEL_SERVICE_NAME").is_some()
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|a| {
            a.split(',')
                .any(|kv| kv.trim().starts_with("service.name="))
        });
    let mut b = Resource::builder()
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if !named {
        b = b.with_service_name("inferbench");
    }
    b.build()
}

/// TLS for OTLP/HTTP (reqwest) and the Pushgateway uses rustls with the
/// process-wide crypto provider; install ring's once.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub struct OtlpExporter {
    config: OtlpConfig,
}

impl OtlpExporter {
    pub fn new(config: OtlpConfig) -> Self {
        Self { config }
    }
}

impl Exporter for OtlpExporter {
    fn describe(&self) -> String {
        self.config.target.clone()
    }

    fn deadline(&self) -> Duration {
        // One request per signal, in parallel, plus the exporters' own
        // retries (at most ~2 s of back-off) and connection set-up.
        self.config.timeout + Duration::from_secs(5)
    }

    fn export(&self, run: &RunDocument) -> Result<(), ExportError> {
        install_tls_provider();
        let config = &self.config;
        let runtime =
            Runtime::for_protocol(config.protocol).map_err(|reason| ExportError::Delivery {
                target: config.target.clone(),
                reason,
            })?;
        let resource = resource();
        let (metrics, traces) = std::thread::scope(|s| {
            let metrics = s.spawn(|| {
                config
                    .metrics
                    .then(|| otlp_metrics::export(run, config, resource.clone(), &runtime))
            });
            let traces = s.spawn(|| {
                config
                    .traces
                    .then(|| otlp_traces::export(run, config, &resource, &runtime))
            });
            (metrics.join(), traces.join())
        });
        let mut failures = Vec::new();
        for (signal, outcome) in [("metrics", metrics), ("traces", traces)] {
            match outcome {
                Ok(None | Some(Ok(()))) => {}
                Ok(Some(Err(reason))) => failures.push(format!("{signal}: {reason}")),
                Err(_) => failures.push(format!("{signal}: the exporter panicked")),
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(ExportError::Delivery {
                target: config.target.clone(),
                reason: failures.join("; "),
            })
        }
    }
}
