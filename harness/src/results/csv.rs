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

/// A column, in one line of [`COLUMNS`].
const fn col(name: &'static str, doc: &'static str, value: fn(&CaseResult) -> String) -> Column {
    Column { name, doc, value }
}

pub const COLUMNS: &[Column] = &[
    col("scenario", "scenario name", |r| r.case.scenario.clone()),
    col(
        "case",
        "case id, `model/backend/device/precision/bB/tT/thN`",
        |r| r.case.id.clone(),
    ),
    col("model", "model label", |r| r.case.model.name.clone()),
    col("backend", "backend name (`inferbench backends`)", |r| {
        r.case.backend.to_string()
    }),
    col("device", "`cpu`, `cuda:N`", |r| r.case.device.to_string()),
    col("precision", "precision the backend ran", |r| {
        r.case.precision.to_string()
    }),
    col("batch", "sequences per forward pass", |r| {
        r.case.batch.to_string()
    }),
    col("seq_len", "tokens per sequence", |r| {
        r.case.seq_len.to_string()
    }),
    col("threads", "threads the backend may use", |r| {
        r.case.threads.to_string()
    }),
    col(
        "status",
        "`measured`, `skipped`, `error` or `failed` (see Statuses and exit codes)",
        |r| r.status.as_str().to_string(),
    ),
    col(
        "iterations",
        "measured forward passes (requests, for generation)",
        |r| r.iterations.to_string(),
    ),
    col("latency_min_ms", "latency per forward pass, minimum", |r| {
        latency(r, |l| l.min)
    }),
    col("latency_mean_ms", "latency, mean", |r| {
        latency(r, |l| l.mean)
    }),
    col(
        "latency_stddev_ms",
        "latency, sample standard deviation",
        |r| latency(r, |l| l.stddev),
    ),
    col(
        "latency_p50_ms",
        "latency, median (percentiles by linear interpolation, numpy's default)",
        |r| latency(r, |l| l.p50),
    ),
    col("latency_p90_ms", "latency, 90th percentile", |r| {
        latency(r, |l| l.p90)
    }),
    col("latency_p95_ms", "latency, 95th percentile", |r| {
        latency(r, |l| l.p95)
    }),
    col("latency_p99_ms", "latency, 99th percentile", |r| {
        latency(r, |l| l.p99)
    }),
    col("latency_max_ms", "latency, maximum", |r| {
        latency(r, |l| l.max)
    }),
    col(
        "throughput_seq_per_s",
        "`batch / mean latency` (generation: completed requests per second)",
        |r| opt(r.throughput_seq_per_s),
    ),
    col(
        "throughput_tokens_per_s",
        "`batch × seq_len / mean latency` (generation: output tokens per second)",
        |r| opt(r.throughput_tokens_per_s),
    ),
    col(
        "flops_per_forward",
        "FLOPs of one pass (0, unknown, for a model file)",
        |r| r.flops_per_forward.to_string(),
    ),
    col(
        "gflop_per_s",
        "`flops_per_forward / mean latency / 1e9` (empty for a model file)",
        |r| opt(r.gflop_per_s),
    ),
    col(
        "peak_fraction",
        "`gflop_per_s` over the backend's own matmul peak at the same precision and threads (`run --peak`, `inferbench peak`; empty without a peak)",
        |r| opt(r.peak_fraction),
    ),
    col(
        "peak_rss_bytes",
        "peak resident memory of the case's worker process after measuring (`VmHWM`)",
        |r| opt(r.peak_rss_bytes),
    ),
    col(
        "weight_bytes",
        "bytes the weights take in the runtime, when the backend knows",
        |r| opt(r.weight_bytes),
    ),
    col(
        "model_file_bytes",
        "size on disk of the model file the backend loaded (safetensors, GGUF, ONNX)",
        |r| opt(r.model_file_bytes),
    ),
    col(
        "load_ms",
        "time to load the model into a ready session",
        |r| opt(r.load_ms),
    ),
    col(
        "padding_share",
        "encoder cases: the share of computed positions that were padding",
        |r| opt(r.padding_share),
    ),
    col(
        "acc_max_abs",
        "max absolute logit error vs the f64 reference (for a model file: vs its golden outputs or reference case, worst output)",
        |r| accuracy(r, |a| Some(a.max_abs)),
    ),
    col(
        "acc_rel_l2",
        "‖Δ‖₂ / ‖reference‖₂ over all logits",
        |r| accuracy(r, |a| Some(a.rel_l2)),
    ),
    col(
        "acc_cosine",
        "cosine similarity of all logits with the reference; for an encoder, of the worst sentence's embedding",
        |r| accuracy(r, |a| Some(a.cosine)),
    ),
    col(
        "acc_cosine_mean",
        "encoders: the mean over sentences of their embeddings' cosine similarity with the reference",
        |r| accuracy(r, |a| a.cosine_mean),
    ),
    col(
        "acc_top1",
        "fraction of positions whose most likely token matches the reference",
        |r| accuracy(r, |a| Some(a.top1)),
    ),
    col(
        "acc_kl",
        "mean KL(P_ref ‖ P_case) of the next-token softmax, in nats",
        |r| accuracy(r, |a| Some(a.kl)),
    ),
    col(
        "acc_ppl_ratio",
        "perplexity of the case over the reference's on the input token stream (1 = identical)",
        |r| accuracy(r, |a| a.ppl_ratio),
    ),
    col("runtime", "backend runtime and version", |r| {
        r.runtime_version.clone().unwrap_or_default()
    }),
    col(
        "message",
        "why a case was skipped, errored or failed",
        |r| r.message.clone().unwrap_or_default(),
    ),
    col("gen_pattern", "generation: load pattern", |r| {
        r.generation
            .as_ref()
            .map_or_else(String::new, |g| g.pattern.as_str().to_string())
    }),
    col(
        "ttft_p50_ms",
        "generation: median time to first token (first token − arrival)",
        |r| generation(r, |g| g.ttft_ms.map(|s| s.p50)),
    ),
    col("ttft_p99_ms", "generation: p99 time to first token", |r| {
        generation(r, |g| g.ttft_ms.map(|s| s.p99))
    }),
    col(
        "tpot_p50_ms",
        "generation: median time per output token, (end-to-end − TTFT) / (tokens − 1)",
        |r| generation(r, |g| g.tpot_ms.map(|s| s.p50)),
    ),
    col(
        "itl_p50_ms",
        "generation: median inter-token latency",
        |r| generation(r, |g| g.itl_ms.map(|s| s.p50)),
    ),
    col("itl_p99_ms", "generation: p99 inter-token latency", |r| {
        generation(r, |g| g.itl_ms.map(|s| s.p99))
    }),
    col(
        "e2e_p50_ms",
        "generation: median end-to-end request latency",
        |r| generation(r, |g| g.e2e_ms.map(|s| s.p50)),
    ),
    col(
        "output_tokens_per_s",
        "generation: output tokens per second",
        |r| generation(r, |g| Some(g.output_tokens_per_s)),
    ),
    col(
        "error_rate",
        "generation: fraction of requests that failed or timed out",
        |r| generation(r, |g| Some(g.error_rate)),
    ),
    col(
        "offered_rate",
        "generation, server: offered arrival rate, requests/s",
        |r| generation(r, |g| g.offered_rate),
    ),
    col(
        "max_rate_meeting_target",
        "generation, server with `search_rate`: highest rate meeting the p99 TTFT target",
        |r| generation(r, |g| g.max_rate_meeting_target),
    ),
    col(
        "tpot_p99_ms",
        "generation: p99 time per output token",
        |r| generation(r, |g| g.tpot_ms.map(|s| s.p99)),
    ),
    col(
        "e2e_p99_ms",
        "generation: p99 end-to-end request latency",
        |r| generation(r, |g| g.e2e_ms.map(|s| s.p99)),
    ),
    col(
        "achieved_rate",
        "generation: completed requests per second",
        |r| generation(r, |g| Some(g.achieved_rate)),
    ),
    col(
        "goodput",
        "generation: requests/s meeting every `[slo]` limit, as vLLM defines it",
        |r| generation(r, |g| g.goodput),
    ),
    col("errors", "generation: failed or timed-out requests", |r| {
        opt(r.generation.as_ref().map(|g| g.errors))
    }),
    col(
        "token_counts",
        "generation: where output token counts come from: `usage` (the server's) or `chunks`",
        |r| {
            r.generation
                .as_ref()
                .map_or_else(String::new, |g| g.token_counts.clone())
        },
    ),
    col(
        "short_requests",
        "generation: requests that got fewer tokens than asked",
        |r| opt(r.generation.as_ref().map(|g| g.short_requests)),
    ),
    col(
        "client_cpu_us_per_request",
        "generation: the client's CPU time per request, µs (measurement overhead)",
        |r| generation(r, |g| g.client.as_ref().map(|c| c.cpu_us_per_request)),
    ),
    col(
        "nonfinite_outputs",
        "output values that are NaN or ±inf (a case whose reference judges them fails)",
        |r| opt(r.nonfinite_outputs),
    ),
    col(
        "perplexity",
        "checkpoint with text windows: exp(mean −log P(next token)) over the windows",
        |r| opt(r.perplexity.map(|p| p.value)),
    ),
    col(
        "perplexity_reference",
        "the f64 reference's perplexity on the same windows, when it ran",
        |r| opt(r.perplexity.and_then(|p| p.reference)),
    ),
    col(
        "perplexity_scored_tokens",
        "tokens scored over all text windows",
        |r| opt(r.perplexity.map(|p| p.scored_tokens)),
    ),
    col(
        "mean_output_tokens",
        "generation: output tokens per completed request (fewer than `gen_len` when requests stop at EOS)",
        |r| generation(r, |g| g.mean_output_tokens),
    ),
    col(
        "agree_prefix_tokens",
        "generation on a checkpoint: tokens equal to the reference continuation from the start",
        |r| opt(agreement(r).map(|a| a.prefix_tokens)),
    ),
    col(
        "agree_exact_match",
        "generation on a checkpoint: whether the continuation equals the reference's",
        |r| opt(agreement(r).map(|a| a.exact_match)),
    ),
    col(
        "agree_rouge_l",
        "generation on a checkpoint: ROUGE-L F1 against the reference continuation",
        |r| opt(agreement(r).map(|a| a.rouge_l)),
    ),
    col(
        "agree_bleu",
        "generation on a checkpoint: BLEU against the reference continuation",
        |r| opt(agreement(r).map(|a| a.bleu)),
    ),
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
    use crate::results::fixture;

    /// The whole file for a measured, a skipped and a failed case.
    #[test]
    fn snapshot() {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(header()).unwrap();
        for r in &fixture::results() {
            out.write_record(row(r)).unwrap();
        }
        let text = String::from_utf8(out.into_inner().unwrap()).unwrap();
        insta::assert_snapshot!(text);
    }

    /// A result whose every figure differs, read back by column name: a
    /// cell under the wrong header fails here.
    #[test]
    fn each_cell_sits_under_its_header() {
        let r = &fixture::results()[0];
        let cells: Vec<(&str, String)> = header().into_iter().zip(row(r)).collect();
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
            ("peak_rss_bytes", "4448059392"),
            ("acc_max_abs", "0.25"),
            ("acc_rel_l2", "0.0625"),
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
