//! `results.csv`: one row per case, appended and flushed as each case ends.
//! Every column is documented in the README.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use super::CaseResult;

pub const COLUMNS: &[&str] = &[
    "scenario",
    "case",
    "model",
    "backend",
    "device",
    "precision",
    "batch",
    "seq_len",
    "threads",
    "status",
    "iterations",
    "latency_min_ms",
    "latency_mean_ms",
    "latency_stddev_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "throughput_seq_per_s",
    "throughput_tokens_per_s",
    "flops_per_forward",
    "gflop_per_s",
    "peak_rss_bytes",
    "weight_bytes",
    "model_file_bytes",
    "load_ms",
    "acc_max_abs",
    "acc_rel_l2",
    "acc_cosine",
    "acc_top1",
    "acc_kl",
    "acc_ppl_ratio",
    "runtime",
    "message",
    "gen_pattern",
    "ttft_p50_ms",
    "ttft_p99_ms",
    "tpot_p50_ms",
    "itl_p50_ms",
    "itl_p99_ms",
    "e2e_p50_ms",
    "output_tokens_per_s",
    "error_rate",
    "offered_rate",
    "max_rate_meeting_target",
    "tpot_p99_ms",
    "e2e_p99_ms",
    "achieved_rate",
    "goodput",
    "errors",
    "token_counts",
    "short_requests",
    "client_cpu_us_per_request",
];

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

pub fn row(r: &CaseResult) -> Vec<String> {
    let c = &r.case;
    let l = r.latency_ms;
    let a = r.accuracy;
    let mut row = vec![
        c.scenario.clone(),
        c.id.clone(),
        c.model.name.clone(),
        c.backend.to_string(),
        c.device.to_string(),
        c.precision.to_string(),
        c.batch.to_string(),
        c.seq_len.to_string(),
        c.threads.to_string(),
        r.status.as_str().to_string(),
        r.iterations.to_string(),
        opt(l.map(|l| l.min)),
        opt(l.map(|l| l.mean)),
        opt(l.map(|l| l.stddev)),
        opt(l.map(|l| l.p50)),
        opt(l.map(|l| l.p90)),
        opt(l.map(|l| l.p95)),
        opt(l.map(|l| l.p99)),
        opt(l.map(|l| l.max)),
        opt(r.throughput_seq_per_s),
        opt(r.throughput_tokens_per_s),
        r.flops_per_forward.to_string(),
        opt(r.gflop_per_s),
        opt(r.peak_rss_bytes),
        opt(r.weight_bytes),
        opt(r.model_file_bytes),
        opt(r.load_ms),
        opt(a.map(|a| a.max_abs)),
        opt(a.map(|a| a.rel_l2)),
        opt(a.map(|a| a.cosine)),
        opt(a.map(|a| a.top1)),
        opt(a.map(|a| a.kl)),
        opt(a.and_then(|a| a.ppl_ratio)),
        r.runtime_version.clone().unwrap_or_default(),
        r.message.clone().unwrap_or_default(),
    ];
    let g = r.generation.as_ref();
    let p =
        |f: fn(&crate::generation::GenerationSummary) -> Option<crate::stats::Summary>,
         q: fn(&crate::stats::Summary) -> f64| { opt(g.and_then(f).map(|s| q(&s))) };
    row.extend([
        g.map_or_else(String::new, |g| g.pattern.as_str().to_string()),
        p(|g| g.ttft_ms, |s| s.p50),
        p(|g| g.ttft_ms, |s| s.p99),
        p(|g| g.tpot_ms, |s| s.p50),
        p(|g| g.itl_ms, |s| s.p50),
        p(|g| g.itl_ms, |s| s.p99),
        p(|g| g.e2e_ms, |s| s.p50),
        opt(g.map(|g| g.output_tokens_per_s)),
        opt(g.map(|g| g.error_rate)),
        opt(g.and_then(|g| g.offered_rate)),
        opt(g.and_then(|g| g.max_rate_meeting_target)),
        p(|g| g.tpot_ms, |s| s.p99),
        p(|g| g.e2e_ms, |s| s.p99),
        opt(g.map(|g| g.achieved_rate)),
        opt(g.and_then(|g| g.goodput)),
        opt(g.map(|g| g.errors)),
        g.map_or_else(String::new, |g| g.token_counts.clone()),
        opt(g.map(|g| g.short_requests)),
        opt(g
            .and_then(|g| g.client.as_ref())
            .map(|c| c.cpu_us_per_request)),
    ]);
    debug_assert_eq!(row.len(), COLUMNS.len());
    row
}

/// Appends rows to a CSV file, flushing after each so an interrupted run
/// keeps every finished case.
pub struct CsvSink {
    writer: csv::Writer<File>,
}

impl CsvSink {
    pub fn create(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        let mut writer = csv::Writer::from_writer(file);
        writer.write_record(COLUMNS)?;
        writer.flush()?;
        Ok(Self { writer })
    }

    pub fn append(&mut self, r: &CaseResult) -> io::Result<()> {
        self.writer.write_record(row(r))?;
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_columns_are_present() {
        for required in [
            "scenario",
            "case",
            "backend",
            "device",
            "precision",
            "batch",
            "seq_len",
            "threads",
            "iterations",
            "latency_p50_ms",
            "latency_p99_ms",
            "throughput_tokens_per_s",
            "peak_rss_bytes",
            "load_ms",
            "acc_max_abs",
            "acc_rel_l2",
            "status",
        ] {
            assert!(COLUMNS.contains(&required), "{required}");
        }
    }
}
