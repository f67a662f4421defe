//! `--otlp`: the probes' metrics pushed periodically over OTLP, with the
//! same instruments as `/metrics` ([`super::instruments`]), and one span
//! per probe (`text_completion {model}`, kind client, as the GenAI
//! conventions name an inference span), through the project's OTLP
//! exporters and settings ([`crate::export::OtlpConfig`]).
//!
//! The SDK aggregates metrics in place and batches spans in a bounded queue
//! (it drops spans when the receiver cannot keep up), so the push keeps the
//! monitor's memory flat as well.

use std::collections::BTreeMap;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider as _};
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use super::instruments::{self as i, Instrument};
use super::probe::Probe;
use super::sink::{CaseSeries, ProbeSink};
use crate::export::OtlpConfig;
use crate::export::figures::LATENCY_BOUNDS;
use crate::export::otlp::{Runtime, install_tls_provider, key_values, resource};
use crate::export::{otlp_metrics, otlp_traces};

struct Instruments {
    duration: Histogram<f64>,
    ttft: Histogram<f64>,
    tpot: Histogram<f64>,
    itl: Histogram<f64>,
    requests: Counter<u64>,
    errors: Counter<u64>,
    tokens: Counter<u64>,
    up: Gauge<i64>,
    agreement: Gauge<f64>,
    prefix: Gauge<f64>,
}

fn histogram(meter: &Meter, i: Instrument) -> Histogram<f64> {
    meter
        .f64_histogram(i.otel)
        .with_unit(i.unit)
        .with_description(i.help)
        .with_boundaries(LATENCY_BOUNDS.to_vec())
        .build()
}

fn counter(meter: &Meter, i: Instrument) -> Counter<u64> {
    meter
        .u64_counter(i.otel)
        .with_unit(i.unit)
        .with_description(i.help)
        .build()
}

fn gauge(meter: &Meter, i: Instrument) -> Gauge<f64> {
    meter
        .f64_gauge(i.otel)
        .with_unit(i.unit)
        .with_description(i.help)
        .build()
}

impl Instruments {
    fn new(meter: &Meter) -> Self {
        Self {
            duration: histogram(meter, i::DURATION),
            ttft: histogram(meter, i::TTFT),
            tpot: histogram(meter, i::TPOT),
            itl: histogram(meter, i::ITL),
            requests: counter(meter, i::REQUESTS),
            errors: counter(meter, i::ERRORS),
            tokens: counter(meter, i::TOKENS),
            up: meter
                .i64_gauge(i::UP.otel)
                .with_description(i::UP.help)
                .build(),
            agreement: gauge(meter, i::AGREEMENT),
            prefix: gauge(meter, i::PREFIX),
        }
    }
}

/// The OTLP output of a monitor.
pub struct Push {
    cases: Vec<(Vec<KeyValue>, String)>,
    instruments: Instruments,
    meters: Option<SdkMeterProvider>,
    tracer: Option<(SdkTracerProvider, SdkTracer)>,
    timeout: Duration,
    /// Owns gRPC's connection tasks; dropped last.
    _runtime: Runtime,
}

impl Push {
    /// Builds the exporters (errors name what cannot work) and records each
    /// case's SLO once.
    pub fn start(
        config: &OtlpConfig,
        cases: &[CaseSeries],
        interval: Duration,
    ) -> Result<Self, String> {
        install_tls_provider();
        let runtime = Runtime::for_protocol(config.protocol)?;
        let _entered = runtime.enter();
        let meters = match config.metrics {
            true => {
                let reader = PeriodicReader::builder(otlp_metrics::build_exporter(config)?)
                    .with_interval(interval)
                    .build();
                let provider = SdkMeterProvider::builder()
                    .with_resource(resource())
                    .with_reader(reader)
                    .build();
                Some(provider)
            }
            false => None,
        };
        let tracer = match config.traces {
            true => {
                let provider = SdkTracerProvider::builder()
                    .with_resource(resource())
                    .with_batch_exporter(otlp_traces::build_exporter(config)?)
                    .build();
                let tracer = provider.tracer("inferbench.monitor");
                Some((provider, tracer))
            }
            false => None,
        };
        // Without a metrics provider, the no-op meter.
        let meter = match &meters {
            Some(p) => p.meter("inferbench.monitor"),
            None => opentelemetry::global::meter("inferbench.monitor"),
        };
        let instruments = Instruments::new(&meter);
        let slo = gauge(&meter, i::SLO_TTFT);
        let cases: Vec<(Vec<KeyValue>, String)> = cases
            .iter()
            .map(|c| {
                let attributes = key_values(&c.attributes);
                if let Some(ms) = c.slo_ttft_ms {
                    slo.record(ms * 1e-3, &attributes);
                }
                (attributes, format!("text_completion {}", c.model))
            })
            .collect();
        Ok(Self {
            cases,
            instruments,
            meters,
            tracer,
            timeout: config.timeout.min(Duration::from_secs(1)),
            _runtime: runtime,
        })
    }

    fn with(attributes: &[KeyValue], key: &'static str, value: &str) -> Vec<KeyValue> {
        let mut out = attributes.to_vec();
        out.push(KeyValue::new(key, value.to_string()));
        out
    }

    fn span(&self, case: usize, probe: &Probe) {
        let (Some((_, tracer)), Some((attributes, name))) = (&self.tracer, self.cases.get(case))
        else {
            return;
        };
        let mut attributes = attributes.clone();
        let status = match &probe.outcome {
            Ok(a) => {
                if let Some(n) = a.input_tokens {
                    attributes.push(KeyValue::new("gen_ai.usage.input_tokens", n as i64));
                }
                attributes.push(KeyValue::new(
                    "gen_ai.usage.output_tokens",
                    a.output_tokens as i64,
                ));
                Status::Ok
            }
            Err(f) => {
                attributes.push(KeyValue::new(i::ERROR_TYPE, f.class.clone()));
                Status::error(f.message.clone())
            }
        };
        let mut span = tracer
            .span_builder(name.clone())
            .with_kind(SpanKind::Client)
            .with_start_time(probe.due_at)
            .with_attributes(attributes)
            .start(tracer);
        span.set_status(status);
        span.end_with_timestamp(probe.due_at + Duration::from_secs_f64(probe.e2e_s.max(0.0)));
    }
}

impl ProbeSink for Push {
    fn record(&self, case: usize, probe: &Probe) {
        let Some((attributes, _)) = self.cases.get(case) else {
            return;
        };
        let m = &self.instruments;
        m.requests.add(1, attributes);
        match &probe.outcome {
            Err(f) => {
                m.errors
                    .add(1, &Self::with(attributes, i::ERROR_TYPE, &f.class));
                m.up.record(0, attributes);
            }
            Ok(a) => {
                m.duration.record(probe.e2e_s, attributes);
                a.ttft_s
                    .into_iter()
                    .for_each(|s| m.ttft.record(s, attributes));
                a.tpot_s
                    .into_iter()
                    .for_each(|s| m.tpot.record(s, attributes));
                a.itl_s.iter().for_each(|&s| m.itl.record(s, attributes));
                let tokens =
                    BTreeMap::from([("input", a.input_tokens), ("output", Some(a.output_tokens))]);
                for (kind, n) in tokens {
                    if let Some(n) = n {
                        m.tokens
                            .add(n, &Self::with(attributes, i::TOKEN_TYPE, kind));
                    }
                }
                if let Some(g) = a.agreement {
                    m.agreement.record(g.rouge_l, attributes);
                    m.prefix.record(
                        g.prefix_tokens as f64 / g.reference_tokens.max(1) as f64,
                        attributes,
                    );
                }
                m.up.record(1, attributes);
            }
        }
        self.span(case, probe);
    }

    /// Sends what the SDK holds, both signals at once, each within the
    /// export timeout (at most 1 s, so that a stopped monitor exits within
    /// 2 s).
    fn flush(&self) {
        std::thread::scope(|s| {
            if let Some(p) = &self.meters {
                s.spawn(|| {
                    if let Err(e) = p.shutdown_with_timeout(self.timeout) {
                        eprintln!("warning: the last OTLP metrics were not sent: {e}");
                    }
                });
            }
            if let Some((p, _)) = &self.tracer {
                s.spawn(|| {
                    if let Err(e) = p.shutdown_with_timeout(self.timeout) {
                        eprintln!("warning: the last OTLP spans were not sent: {e}");
                    }
                });
            }
        });
    }
}
