//! `results.csv`: one row per case, appended and flushed as each case ends.
//! Every column is documented here; the book's reference page is generated
//! from [`COLUMNS`].

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use super::CaseResult;
use crate::accuracy::AccuracyDeltas;
use crate::generation::GenerationSummary;
use crate::stats::Summary;

/// One column of `results.csv`: its header, its meaning (written into the
/// reference docs) and its value. The header and every row come from this
/// one list, so they cannot drift apart.
pub struct Column {
    pub name: &'static str,
    pub doc: &'static str,
    pub value: fn(&CaseResult) -> String,
}

pub const COLUMNS: &[Column] = &[
    Column {
        name: "scenario",
        doc: "scenario name",
        value: |r| r.case.scenario.clone(),
    },
    Column {
        name: "case",
        doc: "case id, `model/backend/device/precision/bB/tT/thN`",
        value: |r| r.case.id.clone(),
    },
    Column {
        name: "model",
        doc: "model label",
        value: |r| r.case.model.name.clone(),
    },
    Column {
        name: "backend",
        doc: "backend name (`inferbench backends`)",
        value: |r| r.case.backend.to_string(),
    },
    Column {
        name: "device",
        doc: "`cpu`, `cuda:N`",
        value: |r| r.case.device.to_string(),
    },
    Column {
        name: "precision",
        doc: "precision the backend ran",
        value: |r| r.case.precision.to_string(),
    },
    Column {
        name: "batch",
        doc: "sequences per forward pass",
        value: |r| r.case.batch.to_string(),
    },
    Column {
        name: "seq_len",
        doc: "tokens per sequence",
        value: |r| r.case.seq_len.to_string(),
    },
    Column {
        name: "threads",
        doc: "threads the backend may use",
        value: |r| r.case.threads.to_string(),
    },
    Column {
        name: "status",
        doc: "`measured`, `skipped`, `error` or `failed` (see Statuses and exit codes)",
        value: |r| r.status.as_str().to_string(),
    },
    Column {
        name: "iterations",
        doc: "measured forward passes (requests, for generation)",
        value: |r| r.iterations.to_string(),
    },
    Column {
        name: "latency_min_ms",
        doc: "latency per forward pass, minimum",
        value: |r| latency(r, |l| l.min),
    },
    Column {
        name: "latency_mean_ms",
        doc: "latency, mean",
        value: |r| latency(r, |l| l.mean),
    },
    Column {
        name: "latency_stddev_ms",
        doc: "latency, sample standard deviation",
        value: |r| latency(r, |l| l.stddev),
    },
    Column {
        name: "latency_p50_ms",
        doc: "latency, median (percentiles by linear interpolation, numpy's default)",
        value: |r| latency(r, |l| l.p50),
    },
    Column {
        name: "latency_p90_ms",
        doc: "latency, 90th percentile",
        value: |r| latency(r, |l| l.p90),
    },
    Column {
        name: "latency_p95_ms",
        doc: "latency, 95th percentile",
        value: |r| latency(r, |l| l.p95),
    },
    Column {
        name: "latency_p99_ms",
        doc: "latency, 99th percentile",
        value: |r| latency(r, |l| l.p99),
    },
    Column {
        name: "latency_max_ms",
        doc: "latency, maximum",
        value: |r| latency(r, |l| l.max),
    },
    Column {
        name: "throughput_seq_per_s",
        doc: "`batch / mean latency` (generation: completed requests per second)",
        value: |r| opt(r.throughput_seq_per_s),
    },
    Column {
        name: "throughput_tokens_per_s",
        doc: "`batch × seq_len / mean latency` (generation: output tokens per second)",
        value: |r| opt(r.throughput_tokens_per_s),
    },
    Column {
        name: "flops_per_forward",
        doc: "FLOPs of one pass (0, unknown, for a model file)",
        value: |r| r.flops_per_forward.to_string(),
    },
    Column {
        name: "gflop_per_s",
        doc: "`flops_per_forward / mean latency / 1e9` (empty for a model file)",
        value: |r| opt(r.gflop_per_s),
    },
    Column {
        name: "peak_rss_bytes",
        doc: "peak resident memory of the case's worker process after measuring (`VmHWM`)",
        value: |r| opt(r.peak_rss_bytes),
    },
    Column {
        name: "weight_bytes",
        doc: "bytes the weights take in the runtime, when the backend knows",
        value: |r| opt(r.weight_bytes),
    },
    Column {
        name: "model_file_bytes",
        doc: "size on disk of the model file the backend loaded (safetensors, GGUF, ONNX)",
        value: |r| opt(r.model_file_bytes),
    },
    Column {
        name: "load_ms",
        doc: "time to load the model into a ready session",
        value: |r| opt(r.load_ms),
    },
    Column {
        name: "padding_share",
        doc: "encoder cases: the share of computed positions that were padding",
        value: |r| opt(r.padding_share),
    },
    Column {
        name: "acc_max_abs",
        doc: "max absolute logit error vs the f64 reference (for a model file: vs its golden outputs or reference case, worst output)",
        value: |r| accuracy(r, |a| Some(a.max_abs)),
    },
    Column {
        name: "acc_rel_l2",
        doc: "‖Δ‖₂ / ‖reference‖₂ over all logits",
        value: |r| accuracy(r, |a| Some(a.rel_l2)),
    },
    Column {
        name: "acc_cosine",
        doc: "cosine similarity of all logits with the reference; for an encoder, of the worst sentence's embedding",
        value: |r| accuracy(r, |a| Some(a.cosine)),
    },
    Column {
        name: "acc_cosine_mean",
        doc: "encoders: the mean over sentences of their embeddings' cosine similarity with the reference",
        value: |r| accuracy(r, |a| a.cosine_mean),
    },
    Column {
        name: "acc_top1",
        doc: "fraction of positions whose most likely token matches the reference",
        value: |r| accuracy(r, |a| Some(a.top1)),
    },
    Column {
        name: "acc_kl",
        doc: "mean KL(P_ref ‖ P_case) of the next-token softmax, in nats",
        value: |r| accuracy(r, |a| Some(a.kl)),
    },
    Column {
        name: "acc_ppl_ratio",
        doc: "perplexity of the case over the reference's on the input token stream (1 = identical)",
        value: |r| accuracy(r, |a| a.ppl_ratio),
    },
    Column {
        name: "runtime",
        doc: "backend runtime and version",
        value: |r| r.runtime_version.clone().unwrap_or_default(),
    },
    Column {
        name: "message",
        doc: "why a case was skipped, errored or failed",
        value: |r| r.message.clone().unwrap_or_default(),
    },
    Column {
        name: "gen_pattern",
        doc: "generation: load pattern",
        value: |r| {
            r.generation
                .as_ref()
                .map_or_else(String::new, |g| g.pattern.as_str().to_string())
        },
    },
    Column {
        name: "ttft_p50_ms",
        doc: "generation: median time to first token (first token − arrival)",
        value: |r| generation(r, |g| g.ttft_ms.map(|s| s.p50)),
    },
    Column {
        name: "ttft_p99_ms",
        doc: "generation: p99 time to first token",
        value: |r| generation(r, |g| g.ttft_ms.map(|s| s.p99)),
    },
    Column {
        name: "tpot_p50_ms",
        doc: "generation: median time per output token, (end-to-end − TTFT) / (tokens − 1)",
        value: |r| generation(r, |g| g.tpot_ms.map(|s| s.p50)),
    },
    Column {
        name: "itl_p50_ms",
        doc: "generation: median inter-token latency",
        value: |r| generation(r, |g| g.itl_ms.map(|s| s.p50)),
    },
    Column {
        name: "itl_p99_ms",
        doc: "generation: p99 inter-token latency",
        value: |r| generation(r, |g| g.itl_ms.map(|s| s.p99)),
    },
    Column {
        name: "e2e_p50_ms",
        doc: "generation: median end-to-end request latency",
        value: |r| generation(r, |g| g.e2e_ms.map(|s| s.p50)),
    },
    Column {
        name: "output_tokens_per_s",
        doc: "generation: output tokens per second",
        value: |r| generation(r, |g| Some(g.output_tokens_per_s)),
    },
    Column {
        name: "error_rate",
        doc: "generation: fraction of requests that failed or timed out",
        value: |r| generation(r, |g| Some(g.error_rate)),
    },
    Column {
        name: "offered_rate",
        doc: "generation, server: offered arrival rate, requests/s",
        value: |r| generation(r, |g| g.offered_rate),
    },
    Column {
        name: "max_rate_meeting_target",
        doc: "generation, server with `search_rate`: highest rate meeting the p99 TTFT target",
        value: |r| generation(r, |g| g.max_rate_meeting_target),
    },
    Column {
        name: "tpot_p99_ms",
        doc: "generation: p99 time per output token",
        value: |r| generation(r, |g| g.tpot_ms.map(|s| s.p99)),
    },
    Column {
        name: "e2e_p99_ms",
        doc: "generation: p99 end-to-end request latency",
        value: |r| generation(r, |g| g.e2e_ms.map(|s| s.p99)),
    },
    Column {
        name: "achieved_rate",
        doc: "generation: completed requests per second",
        value: |r| generation(r, |g| Some(g.achieved_rate)),
    },
    Column {
        name: "goodput",
        doc: "generation: requests/s meeting every `[slo]` limit, as vLLM defines it",
        value: |r| generation(r, |g| g.goodput),
    },
    Column {
        name: "errors",
        doc: "generation: failed or timed-out requests",
        value: |r| opt(r.generation.as_ref().map(|g| g.errors)),
    },
    Column {
        name: "token_counts",
        doc: "generation: where output token counts come from: `usage` (the server's) or `chunks`",
        value: |r| {
            r.generation
                .as_ref()
                .map_or_else(String::new, |g| g.token_counts.clone())
        },
    },
    Column {
        name: "short_requests",
        doc: "generation: requests that got fewer tokens than asked",
        value: |r| opt(r.generation.as_ref().map(|g| g.short_requests)),
    },
    Column {
        name: "client_cpu_us_per_request",
        doc: "generation: the client's CPU time per request, µs (measurement overhead)",
        value: |r| generation(r, |g| g.client.as_ref().map(|c| c.cpu_us_per_request)),
    },
    Column {
        name: "nonfinite_outputs",
        doc: "output values that are NaN or ±inf (a case whose reference judges them fails)",
        value: |r| opt(r.nonfinite_outputs),
    },
    Column {
        name: "perplexity",
        doc: "checkpoint with text windows: exp(mean −log P(next token)) over the windows",
        value: |r| opt(r.perplexity.map(|p| p.value)),
    },
    Column {
        name: "perplexity_reference",
        doc: "the f64 reference's perplexity on the same windows, when it ran",
        value: |r| opt(r.perplexity.and_then(|p| p.reference)),
    },
    Column {
        name: "perplexity_scored_tokens",
        doc: "tokens scored over all text windows",
        value: |r| opt(r.perplexity.map(|p| p.scored_tokens)),
    },
    Column {
        name: "mean_output_tokens",
        doc: "generation: output tokens per completed request (fewer than `gen_len` when requests stop at EOS)",
        value: |r| generation(r, |g| g.mean_output_tokens),
    },
    Column {
        name: "agree_prefix_tokens",
        doc: "generation on a checkpoint: tokens equal to the reference continuation from the start",
        value: |r| opt(agreement(r).map(|a| a.prefix_tokens)),
    },
    Column {
        name: "agree_exact_match",
        doc: "generation on a checkpoint: whether the continuation equals the reference's",
        value: |r| opt(agreement(r).map(|a| a.exact_match)),
    },
    Column {
        name: "agree_rouge_l",
        doc: "generation on a checkpoint: ROUGE-L F1 against the reference continuation",
        value: |r| opt(agreement(r).map(|a| a.rouge_l)),
    },
    Column {
        name: "agree_bleu",
        doc: "generation on a checkpoint: BLEU against the reference continuation",
        value: |r| opt(agreement(r).map(|a| a.bleu)),
    },
];

fn agreement(r: &CaseResult) -> Option<crate::generation::agreement::Agreement> {
    r.generation.as_ref().and_then(|g| g.agreement)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

fn latency(r: &CaseResult, f: fn(&Summary) -> f64) -> String {
    opt(r.latency_ms.as_ref().map(f))
}

fn accuracy(r: &CaseResult, f: fn(&AccuracyDeltas) -> Option<f64>) -> String {
    opt(r.accuracy.as_ref().and_then(f))
}

fn generation(r: &CaseResult, f: fn(&GenerationSummary) -> Option<f64>) -> String {
    opt(r.generation.as_ref().and_then(f))
}

pub fn header() -> Vec<&'static str> {
    COLUMNS.iter().map(|c| c.name).collect()
}

pub fn row(r: &CaseResult) -> Vec<String> {
    COLUMNS.iter().map(|c| (c.value)(r)).collect()
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
        writer.write_record(header())?;
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
        let cells: Vec<(&str, String)> = header().into_iter().zip(row(&r)).collect();
        assert_eq!(cells.len(), COLUMNS.len());
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
