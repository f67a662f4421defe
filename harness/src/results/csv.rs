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

/// `results.csv`'s columns in order, each `name: |r| value,` under its
/// meaning as a doc comment (which the reference docs print, as clap prints
/// a flag's doc comment as its help).
macro_rules! columns {
    ($($(#[doc = $doc:literal])+ $name:ident: $value:expr,)+) => {
        &[$(Column {
            name: stringify!($name),
            doc: concat!($($doc),+).trim_ascii_start(),
            value: $value,
        }),+]
    };
}

pub const COLUMNS: &[Column] = columns! {
    /// scenario name
    scenario: |r| r.case.scenario.clone(),
    /// case id, `model/backend/device/precision/bB/tT/thN`
    case: |r| r.case.id.clone(),
    /// model label
    model: |r| r.case.model.name.clone(),
    /// backend name (`inferbench backends`)
    backend: |r| r.case.backend.to_string(),
    /// `cpu`, `cuda:N`
    device: |r| r.case.device.to_string(),
    /// precision the backend ran
    precision: |r| r.case.precision.to_string(),
    /// sequences per forward pass
    batch: |r| r.case.batch.to_string(),
    /// tokens per sequence
    seq_len: |r| r.case.seq_len.to_string(),
    /// threads the backend may use
    threads: |r| r.case.threads.to_string(),
    /// `measured`, `skipped`, `error` or `failed` (see Statuses and exit codes)
    status: |r| r.status.as_str().to_string(),
    /// measured forward passes (requests, for generation)
    iterations: |r| r.iterations.to_string(),
    /// latency per forward pass, minimum
    latency_min_ms: |r| latency(r, |l| l.min),
    /// latency, mean
    latency_mean_ms: |r| latency(r, |l| l.mean),
    /// latency, sample standard deviation
    latency_stddev_ms: |r| latency(r, |l| l.stddev),
    /// latency, median (percentiles by linear interpolation, numpy's default)
    latency_p50_ms: |r| latency(r, |l| l.p50),
    /// latency, 90th percentile
    latency_p90_ms: |r| latency(r, |l| l.p90),
    /// latency, 95th percentile
    latency_p95_ms: |r| latency(r, |l| l.p95),
    /// latency, 99th percentile
    latency_p99_ms: |r| latency(r, |l| l.p99),
    /// latency, maximum
    latency_max_ms: |r| latency(r, |l| l.max),
    /// `batch / mean latency` (generation: completed requests per second)
    throughput_seq_per_s: |r| opt(r.throughput_seq_per_s),
    /// `batch × seq_len / mean latency` (generation: output tokens per second)
    throughput_tokens_per_s: |r| opt(r.throughput_tokens_per_s),
    /// FLOPs of one pass (0, unknown, for a model file)
    flops_per_forward: |r| r.flops_per_forward.to_string(),
    /// `flops_per_forward / mean latency / 1e9` (empty for a model file)
    gflop_per_s: |r| opt(r.gflop_per_s),
    /// `gflop_per_s` over the backend's own matmul peak at the same precision and threads (`run
    /// --peak`, `inferbench peak`; empty without a peak)
    peak_fraction: |r| opt(r.peak_fraction),
    /// peak resident memory of the case's worker process after measuring (`VmHWM`)
    peak_rss_bytes: |r| opt(r.peak_rss_bytes),
    /// bytes the weights take in the runtime, when the backend knows
    weight_bytes: |r| opt(r.weight_bytes),
    /// size on disk of the model file the backend loaded (safetensors, GGUF, ONNX)
    model_file_bytes: |r| opt(r.model_file_bytes),
    /// time to load the model into a ready session
    load_ms: |r| opt(r.load_ms),
    /// encoder cases: the share of computed positions that were padding
    padding_share: |r| opt(r.padding_share),
    /// max absolute logit error vs the f64 reference (for a model file: vs its golden outputs or
    /// reference case, worst output)
    acc_max_abs: |r| accuracy(r, |a| Some(a.max_abs)),
    /// ‖Δ‖₂ / ‖reference‖₂ over all logits
    acc_rel_l2: |r| accuracy(r, |a| Some(a.rel_l2)),
    /// cosine similarity of all logits with the reference; for an encoder, of the worst sentence's
    /// embedding
    acc_cosine: |r| accuracy(r, |a| Some(a.cosine)),
    /// encoders: the mean over sentences of their embeddings' cosine similarity with the reference
    acc_cosine_mean: |r| accuracy(r, |a| a.cosine_mean),
    /// fraction of positions whose most likely token matches the reference
    acc_top1: |r| accuracy(r, |a| Some(a.top1)),
    /// mean KL(P_ref ‖ P_case) of the next-token softmax, in nats
    acc_kl: |r| accuracy(r, |a| Some(a.kl)),
    /// perplexity of the case over the reference's on the input token stream (1 = identical)
    acc_ppl_ratio: |r| accuracy(r, |a| a.ppl_ratio),
    /// backend runtime and version
    runtime: |r| r.runtime_version.clone().unwrap_or_default(),
    /// why a case was skipped, errored or failed
    message: |r| r.message.clone().unwrap_or_default(),
    /// generation: load pattern
    gen_pattern: |r| {
        r.generation
            .as_ref()
            .map_or_else(String::new, |g| g.pattern.as_str().to_string())
    },
    /// generation: median time to first token (first token − arrival)
    ttft_p50_ms: |r| generation(r, |g| g.ttft_ms.map(|s| s.p50)),
    /// generation: p99 time to first token
    ttft_p99_ms: |r| generation(r, |g| g.ttft_ms.map(|s| s.p99)),
    /// generation: median time per output token, (end-to-end − TTFT) / (tokens − 1)
    tpot_p50_ms: |r| generation(r, |g| g.tpot_ms.map(|s| s.p50)),
    /// generation: median inter-token latency
    itl_p50_ms: |r| generation(r, |g| g.itl_ms.map(|s| s.p50)),
    /// generation: p99 inter-token latency
    itl_p99_ms: |r| generation(r, |g| g.itl_ms.map(|s| s.p99)),
    /// generation: median end-to-end request latency
    e2e_p50_ms: |r| generation(r, |g| g.e2e_ms.map(|s| s.p50)),
    /// generation: output tokens per second
    output_tokens_per_s: |r| generation(r, |g| Some(g.output_tokens_per_s)),
    /// generation: fraction of requests that failed or timed out
    error_rate: |r| generation(r, |g| Some(g.error_rate)),
    /// generation, server: offered arrival rate, requests/s
    offered_rate: |r| generation(r, |g| g.offered_rate),
    /// generation, server with `search_rate`: highest rate meeting the p99 TTFT target
    max_rate_meeting_target: |r| generation(r, |g| g.max_rate_meeting_target),
    /// generation: p99 time per output token
    tpot_p99_ms: |r| generation(r, |g| g.tpot_ms.map(|s| s.p99)),
    /// generation: p99 end-to-end request latency
    e2e_p99_ms: |r| generation(r, |g| g.e2e_ms.map(|s| s.p99)),
    /// generation: completed requests per second
    achieved_rate: |r| generation(r, |g| Some(g.achieved_rate)),
    /// generation: requests/s meeting every `[slo]` limit, as vLLM defines it
    goodput: |r| generation(r, |g| g.goodput),
    /// generation: failed or timed-out requests
    errors: |r| opt(r.generation.as_ref().map(|g| g.errors)),
    /// generation: where output token counts come from: `usage` (the server's) or `chunks`
    token_counts: |r| {
        r.generation
            .as_ref()
            .map_or_else(String::new, |g| g.token_counts.clone())
    },
    /// generation: requests that got fewer tokens than asked
    short_requests: |r| opt(r.generation.as_ref().map(|g| g.short_requests)),
    /// generation: the client's CPU time per request, µs (measurement overhead)
    client_cpu_us_per_request: |r| {
        generation(r, |g| g.client.as_ref().map(|c| c.cpu_us_per_request))
    },
    /// output values that are NaN or ±inf (a case whose reference judges them fails)
    nonfinite_outputs: |r| opt(r.nonfinite_outputs),
    /// checkpoint with text windows: exp(mean −log P(next token)) over the windows
    perplexity: |r| opt(r.perplexity.map(|p| p.value)),
    /// the f64 reference's perplexity on the same windows, when it ran
    perplexity_reference: |r| opt(r.perplexity.and_then(|p| p.reference)),
    /// tokens scored over all text windows
    perplexity_scored_tokens: |r| opt(r.perplexity.map(|p| p.scored_tokens)),
    /// generation: output tokens per completed request (fewer than `gen_len` when requests stop at
    /// EOS)
    mean_output_tokens: |r| generation(r, |g| g.mean_output_tokens),
    /// generation on a checkpoint: tokens equal to the reference continuation from the start
    agree_prefix_tokens: |r| opt(agreement(r).map(|a| a.prefix_tokens)),
    /// generation on a checkpoint: whether the continuation equals the reference's
    agree_exact_match: |r| opt(agreement(r).map(|a| a.exact_match)),
    /// generation on a checkpoint: ROUGE-L F1 against the reference continuation
    agree_rouge_l: |r| opt(agreement(r).map(|a| a.rouge_l)),
    /// generation on a checkpoint: BLEU against the reference continuation
    agree_bleu: |r| opt(agreement(r).map(|a| a.bleu)),
};

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
