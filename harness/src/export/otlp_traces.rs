//! OTLP traces of a run: one trace per run, spans run → case → phases
//! (load, warm-up, measurement, accuracy), placed at the wall-clock times
//! the runner recorded. Spans are built as finished `SpanData`, not through
//! a live tracer, because the run has already happened.
//!
//! Ids are derived from the run id (SHA-256), so exporting the same run
//! twice sends the same trace, which backends merge instead of doubling.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter as _, SpanLinks};
use sha2::{Digest, Sha256};

use super::figures;
use super::labels::{case_labels, run_labels};
use super::otlp::{Runtime, key_values};
use super::otlp_config::{OtlpConfig, Protocol};
use crate::results::json::RunDocument;
use crate::results::{CaseResult, Status as CaseStatus};

pub const RUN_SPAN: &str = "inferbench.run";
pub const CASE_SPAN: &str = "inferbench.case";
/// Phase span names, in the order a worker runs them.
pub const PHASES: [&str; 4] = [
    "inferbench.load",
    "inferbench.warmup",
    "inferbench.measurement",
    "inferbench.accuracy",
];

fn digest(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

fn trace_id(run: &RunDocument) -> TraceId {
    let d = digest(&["trace", &run.run_id]);
    TraceId::from_bytes(d[..16].try_into().expect("16 bytes"))
}

fn span_id(run: &RunDocument, parts: &[&str]) -> SpanId {
    let mut all = vec!["span", run.run_id.as_str()];
    all.extend_from_slice(parts);
    let d = digest(&all);
    SpanId::from_bytes(d[..8].try_into().expect("8 bytes"))
}

fn at(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns)
}

fn ms(v: f64) -> Duration {
    Duration::from_secs_f64(v.max(0.0) * 1e-3)
}

/// Seconds since the epoch of an RFC 3339 UTC time `YYYY-MM-DDTHH:MM:SSZ`
/// (what `time::utc_timestamp` writes), for runs stored before cases had
/// their own timestamps. Days from civil date: Howard Hinnant's
/// `days_from_civil`.
fn parse_utc(text: &str) -> Option<SystemTime> {
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// What differs between spans; the rest of `SpanData` is the same for all.
struct Span {
    id: SpanId,
    parent: SpanId,
    name: String,
    start: SystemTime,
    end: SystemTime,
    attributes: Vec<KeyValue>,
    events: Vec<opentelemetry::trace::Event>,
    status: Status,
}

struct Builder<'a> {
    run: &'a RunDocument,
    trace: TraceId,
    scope: InstrumentationScope,
    spans: Vec<SpanData>,
}

impl Builder<'_> {
    fn push(&mut self, span: Span) {
        let Span {
            id,
            parent,
            name,
            start,
            end,
            attributes,
            events,
            status,
        } = span;
        self.spans.push(SpanData {
            span_context: SpanContext::new(
                self.trace,
                id,
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: parent,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Owned(name),
            start_time: start,
            end_time: end.max(start),
            attributes,
            dropped_attributes_count: 0,
            events: {
                let mut e = SpanEvents::default();
                e.events = events;
                e
            },
            links: SpanLinks::default(),
            status,
            instrumentation_scope: self.scope.clone(),
        });
    }

    fn case(&mut self, run_span: SpanId, r: &CaseResult, fallback: SystemTime) {
        let id = span_id(self.run, &[&r.case.id]);
        let start = r.started_at_unix_ns.map_or(fallback, at);
        let end = r.finished_at_unix_ns.map_or(start, at);
        let mut attributes = key_values(&case_labels(self.run, r));
        attributes.push(KeyValue::new(figures::STATUS_LABEL, r.status.as_str()));
        attributes.push(KeyValue::new("inferbench.iterations", r.iterations as i64));
        for f in figures::of(r) {
            attributes.push(KeyValue::new(f.name, f.value));
        }
        let mut events = Vec::new();
        let status = match (r.status, &r.message) {
            (CaseStatus::Measured, _) => Status::Ok,
            (CaseStatus::Skipped | CaseStatus::Missing, m) => {
                events.push(event(
                    if r.status == CaseStatus::Missing {
                        "inferbench.case.missing"
                    } else {
                        "inferbench.case.skipped"
                    },
                    end,
                    m.as_deref().unwrap_or(r.status.as_str()),
                ));
                Status::Unset
            }
            (CaseStatus::Error | CaseStatus::Failed | CaseStatus::Interrupted, m) => {
                let message = m.clone().unwrap_or_else(|| r.status.as_str().to_string());
                // The semantic conventions' exception event.
                events.push(event("exception", end, &message));
                Status::error(message)
            }
        };
        self.phases(id, r, end);
        self.push(Span {
            id,
            parent: run_span,
            name: format!("{CASE_SPAN} {}", r.case.id),
            start,
            end,
            attributes,
            events,
            status,
        });
    }

    /// The phases back to back from the moment loading began, each as long
    /// as the worker measured it. The untimed `prepare` step (copying the
    /// input) between load and warm-up is not recorded, so later phases
    /// start that much early; it is microseconds for these inputs.
    fn phases(&mut self, case_span: SpanId, r: &CaseResult, case_end: SystemTime) {
        let Some(load_start) = r.load_started_at_unix_ns else {
            return;
        };
        let durations = [
            r.load_ms.map(ms),
            (r.warmup_iterations > 0).then(|| ms(r.warmup_ms)),
            (r.iterations > 0 || r.measure_ms > 0.0).then(|| ms(r.measure_ms)),
            (r.accuracy.is_some() || r.accuracy_ms > 0.0).then(|| ms(r.accuracy_ms)),
        ];
        let mut cursor = at(load_start);
        for (name, duration) in PHASES.iter().zip(durations) {
            let Some(duration) = duration else { continue };
            let end = (cursor + duration).min(case_end.max(cursor));
            let mut attributes = vec![KeyValue::new("inferbench.case", r.case.id.clone())];
            match *name {
                "inferbench.warmup" => attributes.push(KeyValue::new(
                    "inferbench.iterations",
                    r.warmup_iterations as i64,
                )),
                "inferbench.measurement" => {
                    attributes.push(KeyValue::new("inferbench.iterations", r.iterations as i64));
                    if let Some(l) = r.latency_ms {
                        attributes.push(KeyValue::new("inferbench.latency.p50", l.p50 * 1e-3));
                        attributes.push(KeyValue::new("inferbench.latency.p99", l.p99 * 1e-3));
                    }
                }
                "inferbench.accuracy" => {
                    if let Some(a) = r.accuracy {
                        attributes
                            .push(KeyValue::new("inferbench.accuracy.rel_l2_error", a.rel_l2));
                        attributes
                            .push(KeyValue::new("inferbench.accuracy.top1_agreement", a.top1));
                    }
                }
                _ => {}
            }
            let id = span_id(self.run, &[&r.case.id, name]);
            self.push(Span {
                id,
                parent: case_span,
                name: name.to_string(),
                start: cursor,
                end,
                attributes,
                events: Vec::new(),
                status: Status::Unset,
            });
            cursor = end;
        }
    }
}

fn event(name: &'static str, at: SystemTime, message: &str) -> opentelemetry::trace::Event {
    let key = if name == "exception" {
        "exception.message"
    } else {
        "inferbench.reason"
    };
    opentelemetry::trace::Event::new(name, at, vec![KeyValue::new(key, message.to_string())], 0)
}

/// The spans of a run: the run span first, then each case's phases and
/// the case itself.
pub fn spans(run: &RunDocument) -> Vec<SpanData> {
    let scope = InstrumentationScope::builder("inferbench")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let mut b = Builder {
        run,
        trace: trace_id(run),
        scope,
        spans: Vec::new(),
    };
    let run_span = span_id(run, &[]);
    let started = parse_utc(&run.started_at).unwrap_or_else(SystemTime::now);
    for r in &run.cases {
        b.case(run_span, r, started);
    }
    let first = run
        .cases
        .iter()
        .filter_map(|r| r.started_at_unix_ns)
        .min()
        .map_or(started, at);
    let last = run
        .cases
        .iter()
        .filter_map(|r| r.finished_at_unix_ns)
        .max()
        .map(at)
        .into_iter()
        .chain(run.finished_at.as_deref().and_then(parse_utc))
        .max()
        .unwrap_or(first);
    let bad = run
        .cases
        .iter()
        .filter(|r| matches!(r.status, CaseStatus::Error | CaseStatus::Failed))
        .count();
    let mut attributes = key_values(&run_labels(run));
    attributes.push(KeyValue::new("inferbench.cases", run.cases.len() as i64));
    let status = if bad > 0 {
        Status::error(format!(
            "{bad} case(s) errored or failed their accuracy limits"
        ))
    } else {
        Status::Ok
    };
    let name = format!("{RUN_SPAN} {}", run.scenario);
    b.push(Span {
        id: run_span,
        parent: SpanId::INVALID,
        name,
        start: first.min(started),
        end: last,
        attributes,
        events: Vec::new(),
        status,
    });
    let mut spans = b.spans;
    spans.rotate_right(1);
    spans
}

pub(crate) fn build_exporter(config: &OtlpConfig) -> Result<SpanExporter, String> {
    let built = match config.protocol {
        Protocol::HttpProtobuf => {
            let mut b = SpanExporter::builder()
                .with_http()
                .with_timeout(config.timeout);
            if let Some(url) = &config.traces_endpoint {
                b = b.with_endpoint(url);
            }
            b.build()
        }
        Protocol::Grpc => {
            let mut b = SpanExporter::builder()
                .with_tonic()
                .with_timeout(config.timeout);
            if let Some(url) = &config.traces_endpoint {
                b = b.with_endpoint(url);
            }
            b.build()
        }
    };
    built.map_err(|e| format!("cannot build the trace exporter: {e}"))
}

pub fn export(
    run: &RunDocument,
    config: &OtlpConfig,
    resource: &Resource,
    runtime: &Runtime,
) -> Result<(), String> {
    let _entered = runtime.enter();
    let mut exporter = build_exporter(config)?;
    exporter.set_resource(resource);
    let batch = spans(run);
    let result = runtime.block_on(exporter.export(batch));
    let _ = exporter.shutdown();
    result.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_run_timestamps() {
        let t = parse_utc("2026-11-28T12:09:04Z").unwrap();
        let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        assert_eq!(crate::time::format_unix(secs), "2026-11-28T12:09:04Z");
        let leap = parse_utc("2000-02-29T00:00:00Z").unwrap();
        assert_eq!(
            leap.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            951_782_400
        );
        assert!(parse_utc("yesterday").is_none());
    }
}
