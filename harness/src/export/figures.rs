//! The summary figures of a case, named once for every sink: OTLP gauges,
//! Pushgateway samples and TensorBoard scalars carry the same names, units
//! and values (SI units: seconds, bytes, per second).

use crate::results::{CaseResult, Status};

/// One scalar of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// OpenTelemetry instrument name.
    pub name: &'static str,
    /// UCUM unit as OpenTelemetry writes it ("s", "By", "{token}/s", "").
    pub unit: &'static str,
    /// Prometheus name: the OpenTelemetry name with `.` → `_` and the unit
    /// suffix the OpenTelemetry → Prometheus rules append.
    pub prometheus: &'static str,
    pub description: &'static str,
    pub value: f64,
}

/// The latency histogram: `gen_ai.client.operation.duration` from the GenAI
/// conventions, one observation per measured iteration, in seconds.
pub const LATENCY_HISTOGRAM: &str = "gen_ai.client.operation.duration";
pub const LATENCY_HISTOGRAM_PROMETHEUS: &str = "gen_ai_client_operation_duration_seconds";

/// Generation cases' per-request histograms, seconds: the GenAI
/// conventions' time to first token and time per output token.
pub const TTFT_HISTOGRAM: &str = "gen_ai.server.time_to_first_token";
pub const TPOT_HISTOGRAM: &str = "gen_ai.server.time_per_output_token";

/// Bucket bounds of the latency histogram, seconds: the GenAI conventions'
/// advice (0.01 s … 81.92 s, doubling) preceded by finer doublings down to
/// 10 µs, since a forward pass of a small model takes well under 10 ms.
pub const LATENCY_BOUNDS: &[f64] = &[
    0.00001, 0.00002, 0.00004, 0.00008, 0.00016, 0.00032, 0.00064, 0.00128, 0.00256, 0.00512, 0.01,
    0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// The counter of cases by outcome, attribute [`STATUS_LABEL`].
pub const CASES_COUNTER: &str = "inferbench.cases";
pub const CASES_COUNTER_PROMETHEUS: &str = "inferbench_cases_total";
pub const STATUS_LABEL: &str = "inferbench.case.status";

struct Def {
    name: &'static str,
    unit: &'static str,
    prometheus: &'static str,
    description: &'static str,
}

const fn def(
    name: &'static str,
    unit: &'static str,
    prometheus: &'static str,
    description: &'static str,
) -> Def {
    Def {
        name,
        unit,
        prometheus,
        description,
    }
}

const LATENCY: [Def; 8] = [
    def(
        "inferbench.latency.min",
        "s",
        "inferbench_latency_min_seconds",
        "Fastest measured forward pass.",
    ),
    def(
        "inferbench.latency.mean",
        "s",
        "inferbench_latency_mean_seconds",
        "Mean forward-pass latency.",
    ),
    def(
        "inferbench.latency.stddev",
        "s",
        "inferbench_latency_stddev_seconds",
        "Sample standard deviation of the latency.",
    ),
    def(
        "inferbench.latency.p50",
        "s",
        "inferbench_latency_p50_seconds",
        "Median latency (Hyndman-Fan type 7).",
    ),
    def(
        "inferbench.latency.p90",
        "s",
        "inferbench_latency_p90_seconds",
        "90th percentile latency.",
    ),
    def(
        "inferbench.latency.p95",
        "s",
        "inferbench_latency_p95_seconds",
        "95th percentile latency.",
    ),
    def(
        "inferbench.latency.p99",
        "s",
        "inferbench_latency_p99_seconds",
        "99th percentile latency.",
    ),
    def(
        "inferbench.latency.max",
        "s",
        "inferbench_latency_max_seconds",
        "Slowest measured forward pass.",
    ),
];
const THROUGHPUT_SEQUENCES: Def = def(
    "inferbench.throughput.sequences",
    "{sequence}/s",
    "inferbench_throughput_sequences_per_second",
    "Sequences per second (batch / mean latency).",
);
const THROUGHPUT_TOKENS: Def = def(
    "inferbench.throughput.tokens",
    "{token}/s",
    "inferbench_throughput_tokens_per_second",
    "Tokens per second (batch x seq_len / mean latency).",
);
const COMPUTE: Def = def(
    "inferbench.compute.flops",
    "{flop}/s",
    "inferbench_compute_flops_per_second",
    "Model FLOPs per second (FLOPs per forward / mean latency).",
);
const PEAK_RSS: Def = def(
    "inferbench.memory.peak_rss",
    "By",
    "inferbench_memory_peak_rss_bytes",
    "Peak resident set size of the worker process.",
);
const WEIGHTS: Def = def(
    "inferbench.model.weight_size",
    "By",
    "inferbench_model_weight_size_bytes",
    "Bytes of model weights as loaded by the backend.",
);
const LOAD: Def = def(
    "inferbench.load.duration",
    "s",
    "inferbench_load_duration_seconds",
    "Time to load the model into the backend.",
);
const ACCURACY: [Def; 5] = [
    def(
        "inferbench.accuracy.max_abs_error",
        "",
        "inferbench_accuracy_max_abs_error",
        "max |logit - f64 reference logit|.",
    ),
    def(
        "inferbench.accuracy.rel_l2_error",
        "",
        "inferbench_accuracy_rel_l2_error",
        "||logits - reference||2 / ||reference||2.",
    ),
    def(
        "inferbench.accuracy.cosine",
        "",
        "inferbench_accuracy_cosine",
        "Cosine similarity of logits and reference.",
    ),
    def(
        "inferbench.accuracy.top1_agreement",
        "",
        "inferbench_accuracy_top1_agreement",
        "Fraction of positions whose arg-max token is the reference's.",
    ),
    def(
        "inferbench.accuracy.kl_divergence",
        "",
        "inferbench_accuracy_kl_divergence",
        "Mean KL(P_reference || P_backend) of next-token distributions, nats.",
    ),
];

/// Generation workloads (in process and served alike).
const GENERATION: [Def; 7] = [
    def(
        "inferbench.generation.ttft.p99",
        "s",
        "inferbench_generation_ttft_p99_seconds",
        "99th percentile time to first token, from the scheduled arrival.",
    ),
    def(
        "inferbench.generation.tpot.p99",
        "s",
        "inferbench_generation_tpot_p99_seconds",
        "99th percentile time per output token after the first.",
    ),
    def(
        "inferbench.generation.e2e.p99",
        "s",
        "inferbench_generation_e2e_p99_seconds",
        "99th percentile end-to-end request latency, from the scheduled arrival.",
    ),
    def(
        "inferbench.generation.requests",
        "{request}/s",
        "inferbench_generation_requests_per_second",
        "Completed requests per second of wall time.",
    ),
    def(
        "inferbench.generation.goodput",
        "{request}/s",
        "inferbench_generation_goodput_per_second",
        "Requests per second meeting every [slo] limit (vLLM's goodput).",
    ),
    def(
        "inferbench.generation.error_rate",
        "",
        "inferbench_generation_error_rate",
        "Failed requests over all requests.",
    ),
    def(
        "inferbench.generation.output_tokens",
        "{token}/s",
        "inferbench_generation_output_tokens_per_second",
        "Output tokens per second of wall time.",
    ),
];

impl Def {
    fn with(&self, value: f64) -> Figure {
        Figure {
            name: self.name,
            unit: self.unit,
            prometheus: self.prometheus,
            description: self.description,
            value,
        }
    }
}

/// The figures a case has: none for a skipped or errored case without
/// samples, latency and throughput once measured, accuracy once checked.
pub fn of(r: &CaseResult) -> Vec<Figure> {
    let mut out = Vec::new();
    if let Some(l) = r.latency_ms {
        let s = l.scaled(1e-3);
        for (d, v) in LATENCY
            .iter()
            .zip([s.min, s.mean, s.stddev, s.p50, s.p90, s.p95, s.p99, s.max])
        {
            out.push(d.with(v));
        }
    }
    let optional = [
        (&THROUGHPUT_SEQUENCES, r.throughput_seq_per_s),
        (&THROUGHPUT_TOKENS, r.throughput_tokens_per_s),
        (&COMPUTE, r.gflop_per_s.map(|g| g * 1e9)),
        (&PEAK_RSS, r.peak_rss_bytes.map(|b| b as f64)),
        (&WEIGHTS, r.weight_bytes.map(|b| b as f64)),
        (&LOAD, r.load_ms.map(|ms| ms * 1e-3)),
    ];
    for (d, v) in optional {
        if let Some(v) = v
            && r.status != Status::Skipped
        {
            out.push(d.with(v));
        }
    }
    if let Some(g) = &r.generation {
        let p99 = |s: Option<crate::stats::Summary>| s.map(|s| s.p99 * 1e-3);
        let values = [
            p99(g.ttft_ms),
            p99(g.tpot_ms),
            p99(g.e2e_ms),
            Some(g.achieved_rate),
            g.goodput,
            Some(g.error_rate),
            Some(g.output_tokens_per_s),
        ];
        for (d, v) in GENERATION.iter().zip(values) {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                out.push(d.with(v));
            }
        }
    }
    if let Some(a) = r.accuracy {
        for (d, v) in ACCURACY
            .iter()
            .zip([a.max_abs, a.rel_l2, a.cosine, a.top1, a.kl])
        {
            out.push(d.with(v));
        }
    }
    out
}

/// Every figure's definition, for documentation and dashboards.
pub fn all_names() -> Vec<(&'static str, &'static str, &'static str)> {
    LATENCY
        .iter()
        .chain([
            &THROUGHPUT_SEQUENCES,
            &THROUGHPUT_TOKENS,
            &COMPUTE,
            &PEAK_RSS,
            &WEIGHTS,
            &LOAD,
        ])
        .chain(ACCURACY.iter())
        .chain(GENERATION.iter())
        .map(|d| (d.name, d.unit, d.prometheus))
        .collect()
}

/// Counts of `samples_ns` (nanoseconds) per bucket of [`LATENCY_BOUNDS`]:
/// bucket i holds bounds[i-1] < x ≤ bounds[i] (OTLP explicit buckets), with
/// one more for x > the last bound.
pub fn latency_bucket_counts(samples_ns: &[u64]) -> Vec<u64> {
    let mut counts = vec![0u64; LATENCY_BOUNDS.len() + 1];
    for &ns in samples_ns {
        let s = ns as f64 * 1e-9;
        let i = LATENCY_BOUNDS.partition_point(|&b| b < s);
        counts[i] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_upper_inclusive() {
        // 10 µs sits in the first bucket (≤ 1e-5), 10.5 µs in the second,
        // 100 s past the last bound.
        let counts = latency_bucket_counts(&[10_000, 10_500, 100_000_000_000]);
        assert_eq!(
            (counts[0], counts[1], counts[LATENCY_BOUNDS.len()]),
            (1, 1, 1)
        );
        assert_eq!(counts.iter().sum::<u64>(), 3);
    }

    #[test]
    fn prometheus_names_follow_the_translation_rules() {
        // name with . → _, then the unit's word: s → seconds, By → bytes,
        // X/s → per_second, dimensionless → nothing.
        for (name, unit, prom) in all_names() {
            let base = crate::export::labels::prometheus_name(name);
            let suffix = match unit {
                "s" => "_seconds",
                "By" => "_bytes",
                u if u.ends_with("/s") => "_per_second",
                _ => "",
            };
            assert_eq!(prom, format!("{base}{suffix}"), "{name}");
        }
    }
}
