//! From a worker's raw report to a [`CaseResult`]: the status judged
//! against the case's limits, percentiles, throughput and GFLOP/s.

use super::protocol::{CPU, EncoderTokens, Outcome, WALL, WorkerReport};
use crate::generation::GenerationSummary;
use crate::results::{CaseResult, Status};
use crate::scenario::Case;
use crate::stats::Summary;

/// The result of `case` from what its worker reported. Every field of the
/// report is taken apart here by name, so a field added to the report
/// does not compile until it is given a place in the result.
pub fn summarize(case: &Case, report: WorkerReport) -> CaseResult {
    let (status, message) = judge(case, &report);
    let WorkerReport {
        outcome: _,
        runtime_version,
        load_ms,
        warmup_iterations,
        warmup_ms,
        measure_ms,
        series,
        peak_rss_bytes,
        weight_bytes,
        model_file_bytes,
        accuracy,
        accuracy_ms,
        nonfinite_outputs,
        perplexity,
        generation,
        load_started_at_unix_ns,
        encoder_tokens,
    } = report;
    // A device-time series (GPUs) gets its own column when it exists.
    let mut series = series;
    let mut take = |name: &str| {
        series
            .iter_mut()
            .find(|s| s.name == name)
            .map_or_else(Vec::new, |s| std::mem::take(&mut s.values))
    };
    let samples_ns = take(WALL);
    let rates = rates(case, &samples_ns, encoder_tokens, generation.as_ref());
    CaseResult {
        case: case.clone(),
        status,
        message,
        runtime_version,
        iterations: samples_ns.len(),
        warmup_iterations,
        latency_ms: rates.latency_ms,
        throughput_seq_per_s: rates.seq_per_s,
        throughput_tokens_per_s: rates.tokens_per_s,
        flops_per_forward: case.flops_per_forward(),
        gflop_per_s: rates.gflop_per_s,
        // The runner reads it against the run's peaks, when it has them.
        peak_fraction: None,
        peak_rss_bytes,
        weight_bytes,
        model_file_bytes,
        load_ms,
        warmup_ms,
        measure_ms,
        accuracy_ms,
        accuracy,
        nonfinite_outputs,
        cpu_samples_ns: take(CPU),
        samples_ns,
        perplexity,
        generation,
        started_at_unix_ns: None,
        finished_at_unix_ns: None,
        load_started_at_unix_ns,
        padding_share: encoder_tokens.map(|t| 1.0 - t.real as f64 / t.computed.max(1) as f64),
    }
}

/// A case's latency summary and rates.
struct Rates {
    latency_ms: Option<Summary>,
    seq_per_s: Option<f64>,
    tokens_per_s: Option<f64>,
    gflop_per_s: Option<f64>,
}

fn rates(
    case: &Case,
    samples_ns: &[u64],
    encoder_tokens: Option<EncoderTokens>,
    generation: Option<&GenerationSummary>,
) -> Rates {
    let samples_ms: Vec<f64> = samples_ns.iter().map(|&ns| ns as f64 * 1e-6).collect();
    let latency_ms = Summary::of(&samples_ms);
    // Throughput from the mean: iterations / total measured time.
    let per_second = |work: f64| latency_ms.map(|l| work / (l.mean * 1e-3));
    // A generation case's work is its output tokens over the wall time,
    // not one forward pass per sample.
    if let Some(g) = generation {
        return Rates {
            latency_ms,
            seq_per_s: Some(g.achieved_rate),
            tokens_per_s: Some(g.output_tokens_per_s),
            gflop_per_s: None,
        };
    }
    // An encoder's tokens are its sentences' real tokens, padding not
    // counted (its share is `padding_share`).
    let tokens = encoder_tokens.map_or(case.tokens_per_forward() as u64, |t| t.real);
    let flops = case.flops_per_forward();
    Rates {
        latency_ms,
        seq_per_s: per_second(case.batch as f64),
        tokens_per_s: per_second(tokens as f64),
        // A model file's FLOPs are unknown (0): no rate rather than 0 GFLOP/s.
        gflop_per_s: per_second(flops as f64 * 1e-9).filter(|_| flops > 0),
    }
}

/// The case's status and why, from the worker's outcome and the case's
/// limits: accuracy, non-finite outputs, failed requests and `[slo]`.
fn judge(case: &Case, report: &WorkerReport) -> (Status, Option<String>) {
    let (status, message) = match &report.outcome {
        Outcome::Measured => (Status::Measured, None),
        Outcome::Skipped(m) => return (Status::Skipped, Some(m.clone())),
        Outcome::Error(m) => return (Status::Error, Some(m.clone())),
    };
    if let Some(acc) = &report.accuracy {
        if acc.nonfinite > 0 {
            return (
                Status::Failed,
                Some(format!(
                    "{} output values are NaN or infinite; the accuracy figures cannot describe them",
                    acc.nonfinite
                )),
            );
        }
        let breaches = case.limits.breaches(acc);
        if !breaches.is_empty() {
            let message = format!("accuracy outside limits: {}", breaches.join("; "));
            return (Status::Failed, Some(message));
        }
    }
    match &report.generation {
        Some(g) => judge_generation(case, g),
        None => (status, message),
    }
}

/// A generation workload's status: its failed requests, `[slo]` and
/// `max_error_rate`.
fn judge_generation(case: &Case, g: &GenerationSummary) -> (Status, Option<String>) {
    let (mut status, mut message) = (Status::Measured, None);
    if let Some(m) = failed_requests(g) {
        // Nothing completed: no figure to report.
        if g.errors == g.requests {
            status = Status::Error;
        }
        message = Some(m);
    }
    if status == Status::Measured && g.target_met == Some(false) {
        return (Status::Failed, Some(missed_slo(g)));
    }
    if status == Status::Measured
        && let Some(gc) = &case.generation
        && (g.error_rate > gc.max_error_rate() || g.errors >= g.requests.max(1))
    {
        let message = format!(
            "{} of {} requests failed or timed out (error rate {:.0}%, limit `max_error_rate` {})",
            g.errors,
            g.requests,
            g.error_rate * 100.0,
            gc.max_error_rate()
        );
        return (Status::Failed, Some(message));
    }
    (status, message)
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
