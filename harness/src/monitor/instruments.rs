//! The instruments of `inferbench monitor`, named once for both outputs:
//! the `/metrics` exposition and the OTLP push carry the same series.
//!
//! Names are those of benchmark runs where a run has the figure (the
//! latency, TTFT and TPOT histograms of [`crate::export::otlp_metrics`]),
//! the GenAI semantic conventions' attributes where one fits
//! (`gen_ai.token.type`, `error.type`), and `inferbench.probe.*` for what
//! only a probe has. The Prometheus name is the OpenTelemetry name with
//! `.` → `_`, the unit's word (`_seconds`) and `_total` for counters, as the
//! OpenTelemetry → Prometheus rules and the OpenMetrics exposition write it.

use crate::export::figures::{LATENCY_HISTOGRAM, TPOT_HISTOGRAM, TTFT_HISTOGRAM};
use crate::export::labels::prometheus_name;

/// One instrument.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Instrument {
    /// OpenTelemetry name.
    pub otel: &'static str,
    /// UCUM unit as OpenTelemetry writes it.
    pub unit: &'static str,
    pub help: &'static str,
}

impl Instrument {
    /// The Prometheus name before the unit and `_total` suffixes (what the
    /// exposition registers): the OpenTelemetry name translated.
    pub fn prometheus_base(&self) -> String {
        prometheus_name(self.otel)
    }
}

/// Each `NAME: otel name, unit, help;` becomes `pub const NAME`, and all of
/// them [`ALL`], in this order.
macro_rules! instruments {
    ($($(#[$doc:meta])* $name:ident: $otel:expr, $unit:literal, $help:literal;)+) => {
        $(
            $(#[$doc])*
            pub const $name: Instrument = Instrument {
                otel: $otel,
                unit: $unit,
                help: $help,
            };
        )+
        pub const ALL: &[Instrument] = &[$($name),+];
    };
}

instruments! {
    /// End-to-end latency of a probe, from its scheduled time to its last
    /// token: the benchmark runs' per-request histogram.
    DURATION: LATENCY_HISTOGRAM, "s",
        "End-to-end latency of a probe, from its scheduled time to its last token";
    TTFT: TTFT_HISTOGRAM, "s", "Time from a probe's scheduled time to its first token";
    TPOT: TPOT_HISTOGRAM, "s",
        "Time per output token after the first of a probe: (e2e - TTFT) / (tokens - 1)";
    ITL: "inferbench.generation.inter_token_latency", "s",
        "Gaps between consecutive streamed tokens (chunks) of a probe";
    REQUESTS: "inferbench.probe.requests", "{request}", "Probes sent (answered or failed)";
    ERRORS: "inferbench.probe.errors", "{request}",
        "Failed probes by `error.type` (http_STATUS, timeout, connection_refused, connection, malformed_stream, backend, backlog)";
    TOKENS: "inferbench.probe.tokens", "{token}",
        "Tokens of answered probes by `gen_ai.token.type` (input, output)";
    UP: "inferbench.probe.up", "", "1 when the case's last probe was answered, 0 when it failed";
    AGREEMENT: "inferbench.probe.agreement.rouge_l", "",
        "ROUGE-L F1 of the last probe's tokens against the reference's greedy continuation";
    PREFIX: "inferbench.probe.agreement.prefix", "",
        "Fraction of the reference's greedy continuation the last probe matched from its start";
    SLO_TTFT: "inferbench.slo.ttft", "s",
        "The case's [slo] ttft_ms, for alert rules and dashboards to compare with";
}

/// `error.type` of a probe that fell due while `max_in_flight` probes were
/// unanswered.
pub const BACKLOG: &str = "backlog";

/// The attribute of [`ERRORS`] (`error.type`, OpenTelemetry's general
/// attribute) and of [`TOKENS`] (`gen_ai.token.type`, the GenAI one).
pub const ERROR_TYPE: &str = "error.type";
pub const TOKEN_TYPE: &str = "gen_ai.token.type";

#[cfg(test)]
mod tests {
    use super::*;

    /// The names alert rules, dashboards and `tests/monitor.rs` query
    /// (before the `_seconds` and `_total` suffixes).
    #[test]
    fn prometheus_names_are_the_otel_names_translated() {
        let names: Vec<String> = ALL.iter().map(Instrument::prometheus_base).collect();
        assert_eq!(
            names,
            [
                "gen_ai_client_operation_duration",
                "gen_ai_server_time_to_first_token",
                "gen_ai_server_time_per_output_token",
                "inferbench_generation_inter_token_latency",
                "inferbench_probe_requests",
                "inferbench_probe_errors",
                "inferbench_probe_tokens",
                "inferbench_probe_up",
                "inferbench_probe_agreement_rouge_l",
                "inferbench_probe_agreement_prefix",
                "inferbench_slo_ttft",
            ]
        );
        // The histograms a benchmark run exports under the same names.
        assert_eq!(DURATION.otel, LATENCY_HISTOGRAM);
        let run_names = crate::export::figures::LATENCY_HISTOGRAM_PROMETHEUS;
        assert_eq!(format!("{}_seconds", DURATION.prometheus_base()), run_names);
    }
}
