//! `results.csv`: one row per case, appended and flushed as each case ends.
//! Every column is documented in the README.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use super::CaseResult;

/// One column: its header and how a result fills it. Header and cell sit
/// side by side, so they cannot drift apart.
type Column = (&'static str, fn(&CaseResult) -> String);

const TABLE: &[Column] = &[
    ("scenario", |r| r.case.scenario.clone()),
    ("case", |r| r.case.id.clone()),
    ("model", |r| r.case.model.name.clone()),
    ("backend", |r| r.case.backend.to_string()),
    ("device", |r| r.case.device.to_string()),
    ("precision", |r| r.case.precision.to_string()),
    ("batch", |r| r.case.batch.to_string()),
    ("seq_len", |r| r.case.seq_len.to_string()),
    ("threads", |r| r.case.threads.to_string()),
    ("status", |r| r.status.as_str().to_string()),
    ("iterations", |r| r.iterations.to_string()),
    ("latency_min_ms", |r| opt(r.latency_ms.map(|l| l.min))),
    ("latency_mean_ms", |r| opt(r.latency_ms.map(|l| l.mean))),
    ("latency_stddev_ms", |r| opt(r.latency_ms.map(|l| l.stddev))),
    ("latency_p50_ms", |r| opt(r.latency_ms.map(|l| l.p50))),
    ("latency_p90_ms", |r| opt(r.latency_ms.map(|l| l.p90))),
    ("latency_p95_ms", |r| opt(r.latency_ms.map(|l| l.p95))),
    ("latency_p99_ms", |r| opt(r.latency_ms.map(|l| l.p99))),
    ("latency_max_ms", |r| opt(r.latency_ms.map(|l| l.max))),
    ("throughput_seq_per_s", |r| opt(r.throughput_seq_per_s)),
    (
        "throughput_tokens_per_s",
        |r| opt(r.throughput_tokens_per_s),
    ),
    ("flops_per_forward", |r| r.flops_per_forward.to_string()),
    ("gflop_per_s", |r| opt(r.gflop_per_s)),
    ("peak_rss_bytes", |r| opt(r.peak_rss_bytes)),
    ("weight_bytes", |r| opt(r.weight_bytes)),
    ("model_file_bytes", |r| opt(r.model_file_bytes)),
    ("load_ms", |r| opt(r.load_ms)),
    ("padding_share", |r| opt(r.padding_share)),
    ("acc_max_abs", |r| opt(r.accuracy.map(|a| a.max_abs))),
    ("acc_rel_l2", |r| opt(r.accuracy.map(|a| a.rel_l2))),
    ("acc_cosine", |r| opt(r.accuracy.map(|a| a.cosine))),
    ("acc_cosine_mean", |r| {
        opt(r.accuracy.and_then(|a| a.cosine_mean))
    }),
    ("acc_top1", |r| opt(r.accuracy.map(|a| a.top1))),
    ("acc_kl", |r| opt(r.accuracy.map(|a| a.kl))),
    ("acc_ppl_ratio", |r| {
        opt(r.accuracy.and_then(|a| a.ppl_ratio))
    }),
    ("runtime", |r| r.runtime_version.clone().unwrap_or_default()),
    ("message", |r| r.message.clone().unwrap_or_default()),
    ("gen_pattern", |r| {
        r.generation
            .as_ref()
            .map_or_else(String::new, |g| g.pattern.as_str().to_string())
    }),
    ("ttft_p50_ms", |r| {
        generation_stat(r, |g| g.ttft_ms, |s| s.p50)
    }),
    ("ttft_p99_ms", |r| {
        generation_stat(r, |g| g.ttft_ms, |s| s.p99)
    }),
    ("tpot_p50_ms", |r| {
        generation_stat(r, |g| g.tpot_ms, |s| s.p50)
    }),
    ("itl_p50_ms", |r| {
        generation_stat(r, |g| g.itl_ms, |s| s.p50)
    }),
    ("itl_p99_ms", |r| {
        generation_stat(r, |g| g.itl_ms, |s| s.p99)
    }),
    ("e2e_p50_ms", |r| {
        generation_stat(r, |g| g.e2e_ms, |s| s.p50)
    }),
    ("output_tokens_per_s", |r| {
        opt(r.generation.as_ref().map(|g| g.output_tokens_per_s))
    }),
    ("error_rate", |r| {
        opt(r.generation.as_ref().map(|g| g.error_rate))
    }),
    ("offered_rate", |r| {
        opt(r.generation.as_ref().and_then(|g| g.offered_rate))
    }),
    ("max_rate_meeting_target", |r| {
        opt(r
            .generation
            .as_ref()
            .and_then(|g| g.max_rate_meeting_target))
    }),
    ("tpot_p99_ms", |r| {
        generation_stat(r, |g| g.tpot_ms, |s| s.p99)
    }),
    ("e2e_p99_ms", |r| {
        generation_stat(r, |g| g.e2e_ms, |s| s.p99)
    }),
    ("achieved_rate", |r| {
        opt(r.generation.as_ref().map(|g| g.achieved_rate))
    }),
    ("goodput", |r| {
        opt(r.generation.as_ref().and_then(|g| g.goodput))
    }),
    ("errors", |r| opt(r.generation.as_ref().map(|g| g.errors))),
    ("token_counts", |r| {
        r.generation
            .as_ref()
            .map_or_else(String::new, |g| g.token_counts.clone())
    }),
    ("short_requests", |r| {
        opt(r.generation.as_ref().map(|g| g.short_requests))
    }),
    ("client_cpu_us_per_request", |r| {
        opt(r
            .generation
            .as_ref()
            .and_then(|g| g.client.as_ref())
            .map(|c| c.cpu_us_per_request))
    }),
    ("nonfinite_outputs", |r| opt(r.nonfinite_outputs)),
    ("perplexity", |r| opt(r.perplexity.map(|p| p.value))),
    ("perplexity_reference", |r| {
        opt(r.perplexity.and_then(|p| p.reference))
    }),
    ("perplexity_scored_tokens", |r| {
        opt(r.perplexity.map(|p| p.scored_tokens))
    }),
    ("mean_output_tokens", |r| {
        opt(r.generation.as_ref().and_then(|g| g.mean_output_tokens))
    }),
    ("agree_prefix_tokens", |r| {
        opt(agreement(r).map(|a| a.prefix_tokens))
    }),
    ("agree_exact_match", |r| {
        opt(agreement(r).map(|a| a.exact_match))
    }),
    ("agree_rouge_l", |r| opt(agreement(r).map(|a| a.rouge_l))),
    ("agree_bleu", |r| opt(agreement(r).map(|a| a.bleu))),
];

fn agreement(r: &CaseResult) -> Option<crate::generation::agreement::Agreement> {
    r.generation.as_ref().and_then(|g| g.agreement)
}

/// The header, in order.
pub fn columns() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(name, _)| *name)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

fn generation_stat(
    r: &CaseResult,
    summary: fn(&crate::generation::GenerationSummary) -> Option<crate::stats::Summary>,
    stat: fn(&crate::stats::Summary) -> f64,
) -> String {
    opt(r.generation.as_ref().and_then(summary).map(|s| stat(&s)))
}

pub fn row(r: &CaseResult) -> Vec<String> {
    TABLE.iter().map(|(_, cell)| cell(r)).collect()
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
        writer.write_record(columns())?;
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
    use crate::accuracy::AccuracyDeltas;
    use crate::runner::worker::{Outcome, WorkerReport};
    use crate::scenario::parse_str;

    /// A result whose every figure differs, read back by column name: a
    /// cell under the wrong header fails here.
    #[test]
    fn each_cell_sits_under_its_header() {
        let s = parse_str(
            "batch = 7\nseq_len = 9\nthreads = 3",
            Path::new("s.toml"),
            "s",
            1,
        )
        .unwrap();
        let mut report = WorkerReport::failed(String::new());
        report.outcome = Outcome::Measured;
        report.samples_ns = vec![2_000_000, 4_000_000];
        report.load_ms = Some(12.5);
        report.peak_rss_bytes = Some(4242);
        report.nonfinite_outputs = Some(6);
        report.perplexity = Some(crate::model::perplexity::Perplexity {
            value: 27.5,
            reference: Some(27.25),
            windows: 2,
            scored_tokens: 126,
        });
        report.accuracy = Some(AccuracyDeltas {
            max_abs: 0.25,
            rel_l2: 0.125,
            cosine: 0.5,
            cosine_mean: Some(0.75),
            top1: 0.75,
            kl: 0.0625,
            ppl_ratio: Some(1.5),
            nonfinite: 0,
        });
        let r = CaseResult::from_report(&s.cases[0], report);
        let cells: Vec<(&str, String)> = columns().zip(row(&r)).collect();
        assert_eq!(cells.len(), TABLE.len());
        let cell = |name: &str| {
            cells
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("no column {name}"))
        };
        let expected = [
            ("batch", "7"),
            ("seq_len", "9"),
            ("threads", "3"),
            ("status", "measured"),
            ("iterations", "2"),
            ("latency_min_ms", "2"),
            ("latency_max_ms", "4"),
            ("latency_mean_ms", "3"),
            ("load_ms", "12.5"),
            ("peak_rss_bytes", "4242"),
            ("acc_max_abs", "0.25"),
            ("acc_rel_l2", "0.125"),
            ("acc_cosine", "0.5"),
            ("acc_cosine_mean", "0.75"),
            ("acc_top1", "0.75"),
            ("acc_kl", "0.0625"),
            ("acc_ppl_ratio", "1.5"),
            ("nonfinite_outputs", "6"),
            ("gen_pattern", ""),
            ("perplexity", "27.5"),
            ("perplexity_reference", "27.25"),
            ("perplexity_scored_tokens", "126"),
            ("agree_rouge_l", ""),
        ];
        for (name, value) in expected {
            assert_eq!(cell(name), value, "column {name}");
        }
    }
}
