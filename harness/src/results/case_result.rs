//! The summary of one case: from a worker's raw report to the figures users
//! read (percentiles, throughput, GFLOP/s, accuracy deltas, status).

use serde::{Deserialize, Serialize};

use crate::accuracy::AccuracyDeltas;
use crate::generation::GenerationSummary;
use crate::model::perplexity::Perplexity;
use crate::runner::worker::{Outcome, WorkerReport};
use crate::scenario::Case;
use crate::stats::Summary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Measured, and within its accuracy limits.
    Measured,
    /// Not run: the backend is missing or does not run this combination.
    Skipped,
    /// The backend failed (load, run, crash, timeout).
    Error,
    /// Measured, but outside its accuracy limits.
    Failed,
    /// Stopped by SIGINT/SIGTERM before it finished; the run stopped there.
    Interrupted,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Measured => "measured",
            Status::Skipped => "skipped",
            Status::Error => "error",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub case: Case,
    pub status: Status,
    /// Why a case was skipped, errored or failed.
    pub message: Option<String>,
    pub runtime_version: Option<String>,
    pub iterations: usize,
    pub warmup_iterations: u64,
    /// Latency per forward pass in milliseconds.
    pub latency_ms: Option<Summary>,
    #[serde(default, with = "crate::results::float::option")]
    pub throughput_seq_per_s: Option<f64>,
    #[serde(default, with = "crate::results::float::option")]
    pub throughput_tokens_per_s: Option<f64>,
    pub flops_per_forward: u64,
    #[serde(default, with = "crate::results::float::option")]
    pub gflop_per_s: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    pub weight_bytes: Option<u64>,
    /// Size on disk of the model file the backend loaded.
    pub model_file_bytes: Option<u64>,
    #[serde(default, with = "crate::results::float::option")]
    pub load_ms: Option<f64>,
    #[serde(with = "crate::results::float")]
    pub warmup_ms: f64,
    #[serde(with = "crate::results::float")]
    pub measure_ms: f64,
    #[serde(with = "crate::results::float")]
    pub accuracy_ms: f64,
    pub accuracy: Option<AccuracyDeltas>,
    /// NaN or ±inf values in the last pass's outputs (counted with or
    /// without a reference; with one they also make the case `failed`).
    #[serde(default)]
    pub nonfinite_outputs: Option<u64>,
    /// Every measured iteration, nanoseconds, in order (for generation
    /// workloads: each request's end-to-end latency).
    pub samples_ns: Vec<u64>,
    /// Perplexity on the `[inputs] text` windows, beside the reference's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perplexity: Option<Perplexity>,
    /// TTFT, TPOT, rates… of a generation workload.
    #[serde(default)]
    pub generation: Option<GenerationSummary>,
    /// Wall-clock bounds of the case (Unix epoch, ns), from the runner;
    /// telemetry traces place their spans with them.
    #[serde(default)]
    pub started_at_unix_ns: Option<u64>,
    #[serde(default)]
    pub finished_at_unix_ns: Option<u64>,
    /// When the worker began loading the model (Unix epoch, ns); the phase
    /// durations above follow it in order.
    #[serde(default)]
    pub load_started_at_unix_ns: Option<u64>,
    /// Process CPU time of every measured iteration, ns (regression gate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_samples_ns: Vec<u64>,
    /// Encoder cases: the share of computed positions that were padding.
    #[serde(default, with = "crate::results::float::option")]
    pub padding_share: Option<f64>,
}

/// "3 of 16 requests failed: http_400 ×3 (first: …)", when any did.
fn failed_requests(g: &GenerationSummary) -> Option<String> {
    if g.errors == 0 {
        return None;
    }
    let classes: Vec<String> = g
        .errors_by_class
        .iter()
        .map(|(class, t)| format!("{class} ×{} (first: {})", t.count, t.first_message))
        .collect();
    Some(format!(
        "{} of {} requests failed: {}",
        g.errors,
        g.requests,
        classes.join("; ")
    ))
}

/// Which `[slo]` limits the case missed at p99.
fn missed_slo(g: &GenerationSummary) -> String {
    if g.max_rate_meeting_target.is_some() {
        return format!(
            "no arrival rate tried met every [slo] limit at p99 ({:?})",
            g.slo
        );
    }
    let breaches = g.slo.p99_breaches(g.ttft_ms, g.tpot_ms, g.e2e_ms);
    if breaches.is_empty() {
        format!(
            "{} requests failed, so the [slo] limits are not met",
            g.errors
        )
    } else {
        format!("missed [slo] at p99: {}", breaches.join("; "))
    }
}

impl CaseResult {
    pub fn skipped(case: &Case, reason: String) -> Self {
        let mut r = Self::from_report(case, WorkerReport::failed(String::new()));
        r.status = Status::Skipped;
        r.message = Some(reason);
        r
    }

    pub fn from_report(case: &Case, report: WorkerReport) -> Self {
        let samples_ms: Vec<f64> = report
            .samples_ns
            .iter()
            .map(|&ns| ns as f64 * 1e-6)
            .collect();
        let latency_ms = Summary::of(&samples_ms);
        // Throughput from the mean: iterations / total measured time.
        let per_second = |work: f64| latency_ms.map(|l| work / (l.mean * 1e-3));
        let flops = case.flops_per_forward();
        let (mut status, mut message) = match report.outcome {
            Outcome::Measured => (Status::Measured, None),
            Outcome::Skipped(m) => (Status::Skipped, Some(m)),
            Outcome::Error(m) => (Status::Error, Some(m)),
        };
        if status == Status::Measured
            && let Some(acc) = &report.accuracy
            && acc.nonfinite > 0
        {
            status = Status::Failed;
            message = Some(format!(
                "{} output values are NaN or infinite; the accuracy figures cannot describe them",
                acc.nonfinite
            ));
        }
        if status == Status::Measured
            && let Some(acc) = &report.accuracy
        {
            let breaches = case.limits.breaches(acc);
            if !breaches.is_empty() {
                status = Status::Failed;
                message = Some(format!("accuracy outside limits: {}", breaches.join("; ")));
            }
        }
        if status == Status::Measured
            && let Some(g) = &report.generation
        {
            if let Some(m) = failed_requests(g) {
                // Nothing completed: no figure to report.
                if g.errors == g.requests {
                    status = Status::Error;
                }
                message = Some(m);
            }
            if status == Status::Measured && g.target_met == Some(false) {
                status = Status::Failed;
                message = Some(missed_slo(g));
            }
        }
        if status == Status::Measured
            && let (Some(g), Some(gc)) = (&report.generation, &case.generation)
            && (g.error_rate > gc.max_error_rate() || g.errors >= g.requests.max(1))
        {
            status = Status::Failed;
            message = Some(format!(
                "{} of {} requests failed or timed out (error rate {:.0}%, limit `max_error_rate` {})",
                g.errors,
                g.requests,
                g.error_rate * 100.0,
                gc.max_error_rate()
            ));
        }
        // A generation case's work is its output tokens over the wall time,
        // not one forward pass per sample.
        // An encoder's tokens are its sentences' real tokens, padding not
        // counted (its share is `padding_share`).
        let tokens = report
            .encoder_tokens
            .map_or(case.tokens_per_forward() as u64, |t| t.real);
        let (seq_per_s, tokens_per_s, gflop_per_s) = match &report.generation {
            Some(g) => (Some(g.achieved_rate), Some(g.output_tokens_per_s), None),
            None => (
                per_second(case.batch as f64),
                per_second(tokens as f64),
                // A model file's FLOPs are unknown (0): no rate rather than 0 GFLOP/s.
                per_second(flops as f64 * 1e-9).filter(|_| flops > 0),
            ),
        };
        Self {
            case: case.clone(),
            status,
            message,
            runtime_version: report.runtime_version,
            iterations: report.samples_ns.len(),
            warmup_iterations: report.warmup_iterations,
            latency_ms,
            throughput_seq_per_s: seq_per_s,
            throughput_tokens_per_s: tokens_per_s,
            flops_per_forward: flops,
            gflop_per_s,
            peak_rss_bytes: report.peak_rss_bytes,
            weight_bytes: report.weight_bytes,
            model_file_bytes: report.model_file_bytes,
            load_ms: report.load_ms,
            warmup_ms: report.warmup_ms,
            measure_ms: report.measure_ms,
            accuracy_ms: report.accuracy_ms,
            accuracy: report.accuracy,
            nonfinite_outputs: report.nonfinite_outputs,
            samples_ns: report.samples_ns,
            perplexity: report.perplexity,
            generation: report.generation,
            started_at_unix_ns: None,
            finished_at_unix_ns: None,
            load_started_at_unix_ns: report.load_started_at_unix_ns,
            cpu_samples_ns: report.cpu_samples_ns,
            padding_share: report
                .encoder_tokens
                .map(|t| 1.0 - t.real as f64 / t.computed.max(1) as f64),
        }
    }
}
