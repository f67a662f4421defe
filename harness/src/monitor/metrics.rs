//! The `/metrics` exposition of a monitor: prometheus-client families, one
//! series per case (and per error or token type), updated as each probe
//! ends and encoded as OpenMetrics text on each scrape.
//!
//! Memory is bounded by the label sets, never by the probes: histograms
//! keep bucket counts, counters and gauges one number, and the label sets
//! are the cases times the error and token types.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::instruments::{self as i, Instrument};
use super::probe::Probe;
use super::sink::{CaseSeries, ProbeSink};
use crate::export::figures::LATENCY_BOUNDS;
use crate::export::labels::prometheus_name;

type Labels = Vec<(String, String)>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;
type FloatGauge = Gauge<f64, AtomicU64>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BOUNDS.iter().copied())
}

/// Every family of the exposition.
pub struct Exposition {
    registry: Registry,
    /// One label set per case, in the order of the cases.
    cases: Vec<Labels>,
    duration: Histograms,
    ttft: Histograms,
    tpot: Histograms,
    itl: Histograms,
    requests: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    tokens: Family<Labels, Counter>,
    up: Family<Labels, Gauge>,
    agreement: Family<Labels, FloatGauge>,
    prefix: Family<Labels, FloatGauge>,
    slo_ttft: Family<Labels, FloatGauge>,
}

fn histograms() -> Histograms {
    Family::new_with_constructor(latency_histogram as fn() -> Histogram)
}

fn register<M: prometheus_client::registry::Metric + Clone>(
    registry: &mut Registry,
    instrument: Instrument,
    metric: &M,
) {
    match instrument.unit {
        "s" => registry.register_with_unit(
            instrument.prometheus_base(),
            instrument.help,
            Unit::Seconds,
            metric.clone(),
        ),
        _ => registry.register(
            instrument.prometheus_base(),
            instrument.help,
            metric.clone(),
        ),
    }
}

impl Exposition {
    pub fn new(cases: &[CaseSeries]) -> Self {
        let mut e = Self {
            registry: Registry::default(),
            cases: cases.iter().map(labels).collect(),
            duration: histograms(),
            ttft: histograms(),
            tpot: histograms(),
            itl: histograms(),
            requests: Family::default(),
            errors: Family::default(),
            tokens: Family::default(),
            up: Family::default(),
            agreement: Family::default(),
            prefix: Family::default(),
            slo_ttft: Family::default(),
        };
        let r = &mut e.registry;
        register(r, i::DURATION, &e.duration);
        register(r, i::TTFT, &e.ttft);
        register(r, i::TPOT, &e.tpot);
        register(r, i::ITL, &e.itl);
        register(r, i::REQUESTS, &e.requests);
        register(r, i::ERRORS, &e.errors);
        register(r, i::TOKENS, &e.tokens);
        register(r, i::UP, &e.up);
        register(r, i::AGREEMENT, &e.agreement);
        register(r, i::PREFIX, &e.prefix);
        register(r, i::SLO_TTFT, &e.slo_ttft);
        for (case, labels) in cases.iter().zip(&e.cases) {
            // Present from the start, so `rate()` sees the first probe and
            // a case that never answers still has a series at 0.
            drop(e.requests.get_or_create(labels));
            drop(
                e.errors
                    .get_or_create(&with(labels, i::ERROR_TYPE, i::BACKLOG)),
            );
            if let Some(ms) = case.slo_ttft_ms {
                e.slo_ttft.get_or_create(labels).set(ms * 1e-3);
            }
        }
        e
    }

    /// The OpenMetrics text of every series.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

fn labels(case: &CaseSeries) -> Labels {
    case.attributes
        .iter()
        .map(|(k, v)| (prometheus_name(k), v.to_string()))
        .collect()
}

fn with(labels: &Labels, key: &str, value: &str) -> Labels {
    let mut out = labels.clone();
    out.push((prometheus_name(key), value.to_string()));
    out
}

impl ProbeSink for Exposition {
    fn record(&self, case: usize, probe: &Probe) {
        let Some(labels) = self.cases.get(case) else {
            return;
        };
        self.requests.get_or_create(labels).inc();
        match &probe.outcome {
            Err(failure) => {
                self.errors
                    .get_or_create(&with(labels, i::ERROR_TYPE, &failure.class))
                    .inc();
                self.up.get_or_create(labels).set(0);
            }
            Ok(answer) => {
                self.duration.get_or_create(labels).observe(probe.e2e_s);
                if let Some(ttft) = answer.ttft_s {
                    self.ttft.get_or_create(labels).observe(ttft);
                }
                if let Some(tpot) = answer.tpot_s {
                    self.tpot.get_or_create(labels).observe(tpot);
                }
                let itl = self.itl.get_or_create(labels);
                answer.itl_s.iter().for_each(|&gap| itl.observe(gap));
                let tokens = |kind: &str| with(labels, i::TOKEN_TYPE, kind);
                if let Some(n) = answer.input_tokens {
                    self.tokens.get_or_create(&tokens("input")).inc_by(n);
                }
                self.tokens
                    .get_or_create(&tokens("output"))
                    .inc_by(answer.output_tokens);
                if let Some(a) = answer.agreement {
                    self.agreement.get_or_create(labels).set(a.rouge_l);
                    let of = a.reference_tokens.max(1) as f64;
                    self.prefix
                        .get_or_create(labels)
                        .set(a.prefix_tokens as f64 / of);
                }
                self.up.get_or_create(labels).set(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::export::labels::LabelValue;
    use crate::monitor::probe::{Answer, Failure};

    fn case(name: &str) -> CaseSeries {
        CaseSeries {
            attributes: vec![("inferbench.case", LabelValue::Text(name.into()))],
            slo_ttft_ms: Some(250.0),
            model: "m".into(),
        }
    }

    fn answered(ttft_s: f64) -> Probe {
        Probe {
            due_at: SystemTime::UNIX_EPOCH,
            e2e_s: 0.5,
            outcome: Ok(Answer {
                ttft_s: Some(ttft_s),
                tpot_s: Some(0.01),
                itl_s: vec![0.01, 0.02],
                input_tokens: Some(5),
                output_tokens: 3,
                agreement: None,
            }),
        }
    }

    #[test]
    fn probes_become_the_series_of_their_case() {
        let e = Exposition::new(&[case("a"), case("b")]);
        e.record(0, &answered(0.03));
        e.record(0, &answered(0.3));
        let failure = Failure {
            class: "http_503".into(),
            message: "busy".into(),
        };
        e.record(
            1,
            &Probe {
                outcome: Err(failure),
                ..answered(0.0)
            },
        );
        let text = e.encode();
        let has = |line: &str| assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        has("inferbench_probe_requests_total{inferbench_case=\"a\"} 2");
        has("inferbench_probe_requests_total{inferbench_case=\"b\"} 1");
        has("inferbench_probe_errors_total{inferbench_case=\"b\",error_type=\"http_503\"} 1");
        // Seeded at 0 at start, so a rate over errors exists before any.
        has("inferbench_probe_errors_total{inferbench_case=\"a\",error_type=\"backlog\"} 0");
        has("inferbench_probe_up{inferbench_case=\"a\"} 1");
        has("inferbench_probe_up{inferbench_case=\"b\"} 0");
        has("inferbench_probe_tokens_total{inferbench_case=\"a\",gen_ai_token_type=\"output\"} 6");
        has("inferbench_probe_tokens_total{inferbench_case=\"a\",gen_ai_token_type=\"input\"} 10");
        // 0.03 s is in the bucket ≤ 0.04 s, 0.3 s in ≤ 0.32 s.
        has(
            "gen_ai_server_time_to_first_token_seconds_bucket{le=\"0.02\",inferbench_case=\"a\"} 0",
        );
        has(
            "gen_ai_server_time_to_first_token_seconds_bucket{le=\"0.04\",inferbench_case=\"a\"} 1",
        );
        has(
            "gen_ai_server_time_to_first_token_seconds_bucket{le=\"0.32\",inferbench_case=\"a\"} 2",
        );
        has("gen_ai_server_time_to_first_token_seconds_count{inferbench_case=\"a\"} 2");
        has("inferbench_generation_inter_token_latency_seconds_count{inferbench_case=\"a\"} 4");
        has("gen_ai_client_operation_duration_seconds_count{inferbench_case=\"a\"} 2");
        has("inferbench_slo_ttft_seconds{inferbench_case=\"b\"} 0.25");
        has("# UNIT gen_ai_server_time_to_first_token_seconds seconds");
        assert!(text.ends_with("# EOF\n"));
    }
}
