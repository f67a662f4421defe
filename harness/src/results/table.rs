//! The summary table printed at the end of a run.

use super::{CaseResult, Status};

fn fixed(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}

/// Milliseconds to 3 decimals; below 0.01 ms (the null backend's
/// iterations, tens of nanoseconds) in scientific notation, so the
/// figure keeps its digits instead of printing as 0.000.
fn millis(v: Option<f64>) -> String {
    match v {
        Some(v) if v != 0.0 && v.abs() < 0.01 => sci(Some(v)),
        v => fixed(v, 3),
    }
}

fn sci(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1e}"))
}

/// Common prefix with the reference's greedy continuation, in tokens
/// (`16/16` when identical), and ROUGE-L.
fn agreement(r: &CaseResult) -> String {
    match r.generation.as_ref().and_then(|g| g.agreement) {
        Some(a) => format!(
            "{}/{} R{:.2}",
            a.prefix_tokens, a.reference_tokens, a.rouge_l
        ),
        None => "-".into(),
    }
}

/// Rows of aligned text: one header, one line per case, then the reasons
/// of skipped, errored and failed cases.
pub fn render(results: &[CaseResult]) -> String {
    let header = [
        "case", "status", "p50 ms", "p99 ms", "seq/s", "tok/s", "GFLOP/s", "of peak", "RSS MiB",
        "rel L2", "KL", "top1", "cosine", "PPL", "agree",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in results {
        rows.push(vec![
            r.case.id.clone(),
            r.status.as_str().to_string(),
            millis(r.latency_ms.map(|l| l.p50)),
            millis(r.latency_ms.map(|l| l.p99)),
            fixed(r.throughput_seq_per_s, 1),
            fixed(r.throughput_tokens_per_s, 0),
            fixed(r.gflop_per_s, 2),
            fixed(r.peak_fraction, 2),
            fixed(r.peak_rss_bytes.map(|b| b as f64 / (1 << 20) as f64), 1),
            sci(r.accuracy.map(|a| a.rel_l2)),
            // NaN: not a figure of this model (an encoder has no logits).
            sci(r.accuracy.map(|a| a.kl).filter(|v| !v.is_nan())),
            fixed(r.accuracy.map(|a| a.top1).filter(|v| !v.is_nan()), 4),
            fixed(r.accuracy.map(|a| a.cosine), 6),
            fixed(r.perplexity.map(|p| p.value), 3),
            agreement(r),
        ]);
    }
    let mut out = crate::text_table::aligned(&rows, 2);
    for r in results.iter().filter(|r| r.status != Status::Measured) {
        if let Some(m) = &r.message {
            out.push_str(&format!("{} {}: {m}\n", r.status.as_str(), r.case.id));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::results::fixture;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(super::render(&fixture::results()));
    }
}
