//! OTLP metrics of a run: per case, the latency histogram
//! (`gen_ai.client.operation.duration`, seconds, every measured sample),
//! one gauge per summary figure ([`super::figures`]) and the
//! `inferbench.cases` counter by outcome. Cumulative temporality, so
//! Prometheus-style stores (VictoriaMetrics, Mimir) take them as they are.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Gauge, MeterProvider};
use opentelemetry_otlp::{MetricExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};

use super::figures::{
    self, CASES_COUNTER, LATENCY_BOUNDS, LATENCY_HISTOGRAM, STATUS_LABEL, TPOT_HISTOGRAM,
    TTFT_HISTOGRAM,
};
use super::labels::case_labels;
use super::otlp::{Runtime, key_values};
use super::otlp_config::{OtlpConfig, Protocol};
use crate::results::json::RunDocument;

/// Keeps the reason of a failed export, which the SDK's reader otherwise
/// reduces to "shutdown failed".
struct RecordingExporter {
    inner: MetricExporter,
    failure: Arc<Mutex<Option<String>>>,
}

impl PushMetricExporter for RecordingExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        if let Err(e) = &result
            && let Ok(mut slot) = self.failure.lock()
        {
            *slot = Some(e.to_string());
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

pub(crate) fn build_exporter(config: &OtlpConfig) -> Result<MetricExporter, String> {
    let builder = MetricExporter::builder().with_temporality(Temporality::Cumulative);
    let built = match config.protocol {
        Protocol::HttpProtobuf => {
            let mut b = builder.with_http().with_timeout(config.timeout);
            if let Some(url) = &config.metrics_endpoint {
                b = b.with_endpoint(url);
            }
            b.build()
        }
        Protocol::Grpc => {
            let mut b = builder.with_tonic().with_timeout(config.timeout);
            if let Some(url) = &config.metrics_endpoint {
                b = b.with_endpoint(url);
            }
            b.build()
        }
    };
    built.map_err(|e| format!("cannot build the metrics exporter: {e}"))
}

/// Records every case of `run` and sends them in one export.
pub fn export(
    run: &RunDocument,
    config: &OtlpConfig,
    resource: Resource,
    runtime: &Runtime,
) -> Result<(), String> {
    // tonic spawns its connection tasks on the runtime entered here.
    let _entered = runtime.enter();
    let failure = Arc::new(Mutex::new(None));
    let exporter = RecordingExporter {
        inner: build_exporter(config)?,
        failure: failure.clone(),
    };
    // One export, at shutdown: the interval only has to outlast the run.
    let reader = PeriodicReader::builder(exporter)
        .with_interval(Duration::from_secs(24 * 3600))
        .build();
    let provider = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(reader)
        .build();
    record(run, &provider);
    let result = provider.shutdown_with_timeout(config.timeout);
    let reason = failure.lock().ok().and_then(|mut s| s.take());
    match (result, reason) {
        (Ok(()), None) => Ok(()),
        (_, Some(reason)) => Err(reason),
        // The SDK's own figure is not the timeout the user set (or the 10 s
        // default); name the one that applies.
        (Err(OTelSdkError::Timeout(_)), None) => Err(format!(
            "no answer within {} s (OTEL_EXPORTER_OTLP_TIMEOUT)",
            config.timeout.as_secs_f64()
        )),
        (Err(e), None) => Err(e.to_string()),
    }
}

fn record(run: &RunDocument, provider: &SdkMeterProvider) {
    let meter = provider.meter("inferbench");
    let histogram = meter
        .f64_histogram(LATENCY_HISTOGRAM)
        .with_unit("s")
        .with_description("Latency of one measured forward pass.")
        .with_boundaries(LATENCY_BOUNDS.to_vec())
        .build();
    // GenAI semantic conventions' server-side generation histograms.
    let ttft = meter
        .f64_histogram(TTFT_HISTOGRAM)
        .with_unit("s")
        .with_description("Time to generate the first token of a request, queueing included.")
        .build();
    let tpot = meter
        .f64_histogram(TPOT_HISTOGRAM)
        .with_unit("s")
        .with_description("Time per output token after the first of a request.")
        .build();
    let cases = meter
        .u64_counter(CASES_COUNTER)
        .with_unit("{case}")
        .with_description("Cases of the run by outcome (measured, skipped, error, failed).")
        .build();
    let mut gauges: BTreeMap<&'static str, Gauge<f64>> = BTreeMap::new();
    for r in &run.cases {
        let attributes = key_values(&case_labels(run, r));
        for &ns in &r.samples_ns {
            histogram.record(ns as f64 * 1e-9, &attributes);
        }
        if let Some(g) = &r.generation {
            for &ns in &g.ttft_samples_ns {
                ttft.record(ns as f64 * 1e-9, &attributes);
            }
            for &ns in &g.tpot_samples_ns {
                tpot.record(ns as f64 * 1e-9, &attributes);
            }
        }
        for f in figures::of(r) {
            let gauge = gauges.entry(f.name).or_insert_with(|| {
                meter
                    .f64_gauge(f.name)
                    .with_unit(f.unit)
                    .with_description(f.description)
                    .build()
            });
            gauge.record(f.value, &attributes);
        }
        let mut with_status = attributes;
        with_status.push(KeyValue::new(STATUS_LABEL, r.status.as_str()));
        cases.add(1, &with_status);
    }
}
