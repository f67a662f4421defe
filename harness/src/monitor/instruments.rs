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

/// One instrument.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Instrument {
    /// OpenTelemetry name.
    pub otel: &'static str,
    /// UCUM unit as OpenTelemetry writes it.
    pub unit: &'static str,
    /// Prometheus name before the unit and `_total` suffixes (what the
    /// exposition registers).
    pub base: &'static str,
    pub help: &'static str,
}

const fn instrument(
    otel: &'static str,
    unit: &'static str,
    base: &'static str,
    help: &'static str,
) -> Instrument {
    Instrument {
        otel,
        unit,
        base,
        help,
    }
}

/// End-to-end latency of a probe, from its scheduled time to its last
/// token: the benchmark runs' per-request histogram.
pub const DURATION: Instrument = instrument(
    LATENCY_HISTOGRAM,
    "s",
    "gen_ai_client_operation_duration",
    "End-to-end latency of a probe, from its scheduled time to its last token",
);
pub const TTFT: Instrument = instrument(
    TTFT_HISTOGRAM,
    "s",
    "gen_ai_server_time_to_first_token",
    "Time from a probe's scheduled time to its first token",
);
pub const TPOT: Instrument = instrument(
    TPOT_HISTOGRAM,
    "s",
    "gen_ai_server_time_per_output_token",
    "Time per output token after the first of a probe: (e2e - TTFT) / (tokens - 1)",
);
pub const ITL: Instrument = instrument(
    "inferbench.generation.inter_token_latency",
    "s",
    "inferbench_generation_inter_token_latency",
    "Gaps between consecutive streamed tokens (chunks) of a probe",
);
pub const REQUESTS: Instrument = instrument(
    "inferbench.probe.requests",
    "{request}",
    "inferbench_probe_requests",
    "Probes sent (answered or failed)",
);
pub const ERRORS: Instrument = instrument(
    "inferbench.probe.errors",
    "{request}",
    "inferbench_probe_errors",
    "Failed probes by `error.type` (http_STATUS, timeout, connection_refused, connection, malformed_stream, backend, backlog)",
);
pub const TOKENS: Instrument = instrument(
    "inferbench.probe.tokens",
    "{token}",
    "inferbench_probe_tokens",
    "Tokens of answered probes by `gen_ai.token.type` (input, output)",
);
pub const UP: Instrument = instrument(
    "inferbench.probe.up",
    "",
    "inferbench_probe_up",
    "1 when the case's last probe was answered, 0 when it failed",
);
pub const AGREEMENT: Instrument = instrument(
    "inferbench.probe.agreement.rouge_l",
    "",
    "inferbench_probe_agreement_rouge_l",
    "ROUGE-L F1 of the last probe's tokens against the reference's greedy continuation",
);
pub const PREFIX: Instrument = instrument(
    "inferbench.probe.agreement.prefix",
    "",
    "inferbench_probe_agreement_prefix",
    "Fraction of the reference's greedy continuation the last probe matched from its start",
);
pub const SLO_TTFT: Instrument = instrument(
    "inferbench.slo.ttft",
    "s",
    "inferbench_slo_ttft",
    "The case's [slo] ttft_ms, for alert rules and dashboards to compare with",
);

/// `error.type` of a probe that fell due while `max_in_flight` probes were
/// unanswered.
pub const BACKLOG: &str = "backlog";

/// The attribute of [`ERRORS`] (`error.type`, OpenTelemetry's general
/// attribute) and of [`TOKENS`] (`gen_ai.token.type`, the GenAI one).
pub const ERROR_TYPE: &str = "error.type";
pub const TOKEN_TYPE: &str = "gen_ai.token.type";

pub const ALL: [Instrument; 11] = [
    DURATION, TTFT, TPOT, ITL, REQUESTS, ERRORS, TOKENS, UP, AGREEMENT, PREFIX, SLO_TTFT,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::labels::prometheus_name;

    #[test]
    fn prometheus_names_are_the_otel_names_translated() {
        for i in ALL {
            assert_eq!(i.base, prometheus_name(i.otel), "{}", i.otel);
        }
        // The histograms a benchmark run exports under the same names.
        assert_eq!(DURATION.otel, LATENCY_HISTOGRAM);
        let run_names = crate::export::figures::LATENCY_HISTOGRAM_PROMETHEUS;
        assert_eq!(format!("{}_seconds", DURATION.base), run_names);
    }
}
