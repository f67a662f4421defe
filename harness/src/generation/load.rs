//! Load patterns over a KV-cache decoder, after MLPerf LoadGen's scenarios:
//! `single_stream` (one request at a time), `offline` (everything at once,
//! in batches), `server` (Poisson arrivals at a rate, latency including
//! queueing, with a search for the highest rate meeting a p99 TTFT target)
//! and `concurrency` (N parallel sessions).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use inferbench_backend::{
    Backend, BackendError, ErrorClass, GenerationError, HostTensor, LoadOptions, ModelSource,
    Session, TokenBatch,
};
use serde::{Deserialize, Serialize};

use super::agreement::Agreement;
use super::arrivals::gamma_arrivals_ns;
use super::decode::generate;
use super::slo::{Slo, search_highest_rate};
use super::timeline::RequestTimeline;
use crate::accuracy::{self, AccuracyDeltas};
use crate::model::inputs::token_batch;
use crate::model::llama_reference::CachedLlamaReference;
use crate::model::text::TextCodec;
use crate::scenario::{Case, GenerationCase, LoadPattern};
use crate::stats::Summary;
use inferbench_reference::gpt as reference;
use inferbench_reference::synthetic_weights::GptWeights;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateTrial {
    pub rate: f64,
    pub p99_ttft_ms: f64,
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationSummary {
    pub pattern: LoadPattern,
    pub requests: usize,
    /// Requests that failed or exceeded `timeout_ms`.
    pub errors: usize,
    pub error_rate: f64,
    pub output_tokens: u64,
    pub wall_s: f64,
    /// All output tokens over the wall time of the run.
    pub output_tokens_per_s: f64,
    /// Completed requests per second of wall time.
    pub achieved_rate: f64,
    pub ttft_ms: Option<Summary>,
    pub tpot_ms: Option<Summary>,
    pub itl_ms: Option<Summary>,
    pub e2e_ms: Option<Summary>,
    pub prefill_ms: Option<Summary>,
    pub queue_ms: Option<Summary>,
    /// server: the arrival rate asked for (requests/s).
    pub offered_rate: Option<f64>,
    /// server: the shape of the gamma inter-arrival gaps (1: Poisson).
    #[serde(default)]
    pub burstiness: Option<f64>,
    /// The `[slo]` limits the case was held to.
    #[serde(default)]
    pub slo: Slo,
    /// `slo.ttft_ms` under its older name (runs written before `[slo]`
    /// have only this).
    pub target_p99_ttft_ms: Option<f64>,
    /// Whether the p99 of every limited figure met its limit, without errors.
    pub target_met: Option<bool>,
    /// Requests per second meeting every `[slo]` limit (vLLM's goodput);
    /// `None` without limits.
    #[serde(default)]
    pub goodput: Option<f64>,
    /// server with `search_rate`: the highest rate whose p99 met every
    /// limit, and every rate tried.
    pub max_rate_meeting_target: Option<f64>,
    pub rate_trials: Vec<RateTrial>,
    /// concurrency: parallel sessions, and each one's output tokens/s.
    pub streams: usize,
    pub per_stream_tokens_per_s: Option<Summary>,
    /// Greedy token ids of the first measured request, for cross-backend checks.
    pub first_request_tokens: Vec<i64>,
    /// The first request's prompt ids, and its text as the model read it
    /// (a chat prompt after its template), for checkpoints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompt_tokens: Vec<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prompt_text: String,
    /// The reference's greedy continuation of the first prompt: its ids and
    /// text, and how far the case's agrees with it (checkpoints).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_tokens: Vec<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reference_text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<Agreement>,
    /// Output tokens per completed request: `gen_len` with `ignore_eos`,
    /// fewer when requests stop at the end-of-sequence token.
    #[serde(default, with = "crate::results::float::option")]
    pub mean_output_tokens: Option<f64>,
    /// Every request's TTFT and TPOT in ns (the telemetry histograms).
    #[serde(default)]
    pub ttft_samples_ns: Vec<u64>,
    #[serde(default)]
    pub tpot_samples_ns: Vec<u64>,
    /// Failures by class (`http_400`, `timeout`, `connection_refused`,
    /// `malformed_stream`, …), each with its first message.
    #[serde(default)]
    pub errors_by_class: BTreeMap<String, ErrorTally>,
    /// Where output token counts come from: `decoder` (in process),
    /// `usage` (the server's), `tokenizer`, or `chunks` (one per streamed
    /// chunk, when neither is available).
    #[serde(default)]
    pub token_counts: String,
    /// Completed requests with fewer output tokens than `gen_len`.
    #[serde(default)]
    pub short_requests: usize,
    /// The client's own cost and pace (served models).
    #[serde(default)]
    pub client: Option<ClientFigures>,
    /// Sentences about the run a reader must know (short answers, a client
    /// that could not keep the offered rate, token counts that disagree).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Text of the first measured request: a server's, or a checkpoint's
    /// ids decoded by its tokenizer.
    #[serde(
        default,
        alias = "first_request_text",
        skip_serializing_if = "String::is_empty"
    )]
    pub generated_text: String,
}

/// Failures of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorTally {
    pub count: usize,
    pub first_message: String,
}

/// What the load-generating client itself costs, measured in the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientFigures {
    /// CPU time of the client process per request, µs: its own overhead
    /// (building, sending, parsing the stream, timing).
    pub cpu_us_per_request: f64,
    /// The request rate one process could drive at that overhead, with
    /// every core of the machine busy on it.
    pub max_rate: f64,
    /// How late requests were sent after their scheduled arrival, ms.
    pub send_lag_ms: Option<Summary>,
    /// Requests/s actually sent, first to last send, against the schedule's
    /// own rate over the same requests (open-loop patterns).
    pub sent_rate: Option<f64>,
    pub scheduled_rate: Option<f64>,
}

/// What a generation case produced, for the worker's report.
pub struct GenerationOutcome {
    pub summary: GenerationSummary,
    /// End-to-end latency of every completed request, ns.
    pub e2e_ns: Vec<u64>,
    pub accuracy: Option<AccuracyDeltas>,
    /// Peak RSS after the load run, before the reference check.
    pub peak_rss_bytes: Option<u64>,
}

/// Timelines of one load run, with the first request's tokens and logits.
#[derive(Default)]
pub(crate) struct LoadRun {
    pub timelines: Vec<RequestTimeline>,
    pub failures: Vec<GenerationError>,
    pub wall_s: f64,
    pub first: Option<(Vec<i64>, Vec<i64>, Vec<HostTensor>)>,
    pub stream_tokens_per_s: Vec<f64>,
    /// See [`GenerationSummary`]'s fields of the same names.
    pub token_counts: &'static str,
    pub short_requests: usize,
    pub client: Option<ClientFigures>,
    pub warnings: Vec<String>,
    pub first_text: String,
}

impl LoadRun {
    /// A run of an in-process decoder, whose token counts are exact.
    fn counted_by_the_decoder() -> Self {
        Self {
            token_counts: "decoder",
            ..Self::default()
        }
    }
}

fn backend_failure(e: BackendError) -> GenerationError {
    GenerationError::new(ErrorClass::Backend, e.to_string())
}

/// What each request of a case starts from, and where it stops.
#[derive(Debug, Clone, Default)]
pub struct Requests {
    /// Tokenized text prompts, cycled through; empty for random-id prompts
    /// of `prompt_len`.
    pub prompts: Vec<Vec<i64>>,
    /// Each prompt's text as the model reads it, for results.
    pub prompt_texts: Vec<String>,
    /// The range random prompt ids are drawn from.
    pub vocab: usize,
    /// Ends a sequence at this token (`ignore_eos = false`).
    pub eos: Option<i64>,
}

impl Requests {
    /// Random-id prompts over the vocabulary, decoded to the end.
    pub fn random(vocab: usize) -> Self {
        Self {
            vocab,
            ..Self::default()
        }
    }

    /// The prompts of `batch` requests from request `first` on (random ids:
    /// seeded by `index`, the request's or batch's number).
    fn prompt(
        &self,
        case: &Case,
        g: &GenerationCase,
        batch: usize,
        first: usize,
        index: u64,
    ) -> Result<TokenBatch, BackendError> {
        if self.prompts.is_empty() {
            let seed = case.input_seed.wrapping_add(index);
            return Ok(token_batch(self.vocab, batch, g.prompt_len, seed));
        }
        let rows: Vec<&Vec<i64>> = (first..first + batch)
            .map(|i| &self.prompts[i % self.prompts.len()])
            .collect();
        let seq_len = rows[0].len();
        if rows.iter().any(|r| r.len() != seq_len) {
            return Err(BackendError::Unsupported(format!(
                "a batch of {batch} needs text prompts of one token length, and these have {:?}                  (no padding); use batch 1 or prompts of equal length",
                rows.iter().map(|r| r.len()).collect::<Vec<_>>()
            )));
        }
        Ok(TokenBatch {
            batch,
            seq_len,
            ids: rows.into_iter().flatten().copied().collect(),
        })
    }
}

/// What the first request is judged against.
pub enum GenerationReference<'a> {
    /// No reference (`reference = "none"`).
    None,
    /// The synthetic GPT's f32 weights file.
    Gpt(&'a std::path::Path),
    /// A checkpoint's f64 Llama reference.
    Llama(&'a CachedLlamaReference),
}

/// Everything an in-process generation case needs besides its session.
pub struct GenerationSetup<'a> {
    /// Loads further sessions (the `concurrency` pattern).
    pub backend: &'a dyn Backend,
    pub source: &'a ModelSource,
    pub options: &'a LoadOptions,
    pub requests: Requests,
    pub reference: GenerationReference<'a>,
    /// Turns ids into text for results (checkpoints).
    pub codec: Option<&'a TextCodec>,
}

fn ms_summary(values: impl Iterator<Item = f64>) -> Option<Summary> {
    Summary::of(&values.map(|ns| ns * 1e-6).collect::<Vec<_>>())
}

/// Runs requests one after another, each arriving at `arrivals_ns[i]`
/// (0 for "now"): waits for an arrival when idle, queues when busy.
fn serve(
    session: &mut dyn Session,
    case: &Case,
    (g, requests): (&GenerationCase, &Requests),
    arrivals_ns: &[u64],
    keep_first: bool,
) -> Result<LoadRun, BackendError> {
    let mut decoder = session.decoder()?;
    let mut run = LoadRun::counted_by_the_decoder();
    let origin = Instant::now();
    for (i, &arrival) in arrivals_ns.iter().enumerate() {
        let now = origin.elapsed().as_nanos() as u64;
        if now < arrival {
            std::thread::sleep(Duration::from_nanos(arrival - now));
        }
        let arrival = if arrival == 0 {
            origin.elapsed().as_nanos() as u64
        } else {
            arrival
        };
        let start = origin.elapsed().as_nanos() as u64;
        let p = requests.prompt(case, g, 1, i, i as u64)?;
        match generate(
            decoder.as_mut(),
            &p,
            g.gen_len,
            requests.eos,
            origin,
            keep_first && i == 0,
        ) {
            Ok(out) => {
                let produced = out.tokens[0].len();
                if keep_first && i == 0 {
                    run.first = Some((p.ids.clone(), out.tokens[0].clone(), out.logits));
                }
                let token_ns = out.token_ns[..produced].to_vec();
                run.timelines
                    .push(RequestTimeline::per_token(arrival, start, token_ns));
            }
            Err(e) => run.failures.push(backend_failure(e)),
        }
    }
    run.wall_s = origin.elapsed().as_secs_f64();
    Ok(run)
}

/// All requests arrive at once and are processed `batch` at a time.
fn offline(
    session: &mut dyn Session,
    case: &Case,
    g: &GenerationCase,
    requests: &Requests,
) -> Result<LoadRun, BackendError> {
    let mut decoder = session.decoder()?;
    let mut run = LoadRun::counted_by_the_decoder();
    let origin = Instant::now();
    let batch = case.batch.max(1);
    for (chunk, first) in (0..g.requests).step_by(batch).enumerate() {
        let n = batch.min(g.requests - first);
        let start = origin.elapsed().as_nanos() as u64;
        let p = requests.prompt(case, g, n, first, chunk as u64)?;
        let eos = requests.eos;
        match generate(decoder.as_mut(), &p, g.gen_len, eos, origin, chunk == 0) {
            Ok(out) => {
                for tokens in &out.tokens {
                    let token_ns = out.token_ns[..tokens.len()].to_vec();
                    run.timelines
                        .push(RequestTimeline::per_token(0, start, token_ns));
                }
                if chunk == 0 {
                    run.first = Some((p.row(0).to_vec(), out.tokens[0].clone(), out.logits));
                }
            }
            Err(e) => {
                let failure = backend_failure(e);
                run.failures.extend(std::iter::repeat_n(failure, n));
            }
        }
    }
    run.wall_s = origin.elapsed().as_secs_f64();
    Ok(run)
}

/// `n` sessions in parallel threads, each single-stream over all requests.
/// The first stream reuses the loaded session; the others load their own.
fn concurrent(
    session: &mut dyn Session,
    load: &(dyn Fn() -> Result<Box<dyn Session>, BackendError> + Sync),
    case: &Case,
    work: (&GenerationCase, &Requests),
) -> Result<LoadRun, BackendError> {
    let g = work.0;
    let arrivals = vec![0; g.requests];
    let origin = Instant::now();
    let others: Vec<Result<LoadRun, BackendError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..g.concurrency)
            .map(|_| scope.spawn(|| serve(load()?.as_mut(), case, work, &arrivals, false)))
            .collect();
        let mine = serve(session, case, work, &arrivals, true);
        std::iter::once(mine)
            .chain(handles.into_iter().map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(BackendError::Run("a stream panicked".into())))
            }))
            .collect()
    });
    let mut run = LoadRun::counted_by_the_decoder();
    for r in others {
        let r = r?;
        let tokens: usize = r.timelines.iter().map(|t| t.token_ns.len()).sum();
        run.stream_tokens_per_s.push(tokens as f64 / r.wall_s);
        run.failures.extend(r.failures);
        run.timelines.extend(r.timelines);
        run.first = run.first.or(r.first);
    }
    run.wall_s = origin.elapsed().as_secs_f64();
    Ok(run)
}

/// The p99 figures of a run against every `[slo]` limit: met when no
/// request failed and no limit is breached.
pub(crate) fn p99_meets(run: &LoadRun, slo: &Slo) -> (bool, f64) {
    let tl = &run.timelines;
    let ttft = ms_summary(tl.iter().filter_map(|t| t.ttft_ns()).map(|x| x as f64));
    let tpot = ms_summary(tl.iter().filter_map(|t| t.tpot_ns()));
    let e2e = ms_summary(tl.iter().filter_map(|t| t.e2e_ns()).map(|x| x as f64));
    let met =
        run.failures.is_empty() && !tl.is_empty() && slo.p99_breaches(ttft, tpot, e2e).is_empty();
    (met, ttft.map_or(f64::INFINITY, |s| s.p99))
}

/// Records one trial of the rate search; true when it met every limit.
pub(crate) fn record_trial(
    trials: &mut Vec<RateTrial>,
    rate: f64,
    run: &LoadRun,
    slo: &Slo,
) -> bool {
    let (met, p99_ttft_ms) = p99_meets(run, slo);
    trials.push(RateTrial {
        rate,
        p99_ttft_ms,
        met,
    });
    met
}

/// Bisection on the arrival rate for the highest one whose p99 meets every
/// limit ([`search_highest_rate`]), from the single-stream capacity
/// estimate 1/e2e (beyond it the queue grows without bound).
fn search_rate(
    session: &mut dyn Session,
    case: &Case,
    work: (&GenerationCase, &Requests),
) -> Result<(f64, Vec<RateTrial>), BackendError> {
    let g = work.0;
    let probe = serve(session, case, work, &vec![0; g.requests.min(4)], false)?;
    let service_s = probe.wall_s / probe.timelines.len().max(1) as f64;
    let mut trials = Vec::new();
    let rate = search_highest_rate(1.0 / service_s.max(1e-6), |rate| {
        let arrivals = gamma_arrivals_ns(g.requests, rate, g.burstiness, g.seed);
        let run = serve(session, case, work, &arrivals, false)?;
        Ok::<_, BackendError>(record_trial(&mut trials, rate, &run, &g.slo))
    })?;
    Ok((rate, trials))
}

/// Reference check of the first request: the f64 model over prompt +
/// generated tokens must give the logits each token was chosen from.
fn check_accuracy(
    weights: &GptWeights,
    case: &Case,
    prompt: &[i64],
    generated: &[i64],
    logits: &[HostTensor],
) -> Option<AccuracyDeltas> {
    let vocab = case.model.spec.vocab_size;
    let mut ids = prompt.to_vec();
    ids.extend_from_slice(&generated[..generated.len().saturating_sub(1)]);
    let seq = TokenBatch {
        batch: 1,
        seq_len: ids.len(),
        ids,
    };
    let full = reference::forward(&case.model.spec, weights, &seq);
    let first_row = (prompt.len() - 1) * vocab;
    let reference = &full.data[first_row..first_row + logits.len() * vocab];
    let candidate: Vec<f32> = logits
        .iter()
        .flat_map(|l| l.data[..vocab].iter().copied())
        .collect();
    accuracy::compare(reference, &candidate, vocab)
}

/// The same check on a checkpoint: the f64 Llama reference over prompt +
/// generated tokens (cached by those ids) against the logits each
/// generated token was chosen from.
fn check_llama_accuracy(
    reference: &CachedLlamaReference,
    prompt: &[i64],
    generated: &[i64],
    logits: &[HostTensor],
) -> Result<Option<AccuracyDeltas>, BackendError> {
    let vocab = reference.vocab_size();
    let steps = generated.len().min(logits.len());
    if prompt.is_empty() || steps == 0 {
        return Ok(None);
    }
    let ids: Vec<u32> = prompt
        .iter()
        .chain(&generated[..steps - 1])
        .map(|&t| t as u32)
        .collect();
    let full = reference.logits(&ids)?;
    let first_row = (prompt.len() - 1) * vocab;
    let expected = &full[first_row..first_row + steps * vocab];
    let candidate: Vec<f32> = logits[..steps]
        .iter()
        .flat_map(|l| l.data[..vocab].iter().copied())
        .collect();
    Ok(accuracy::compare(expected, &candidate, vocab))
}

/// The reference's greedy continuation of `prompt`, ended after `eos`
/// when decoding stops there (greedy tokens before it do not depend on
/// what follows, so the cached full continuation serves both).
fn reference_continuation(
    reference: &CachedLlamaReference,
    prompt: &[i64],
    gen_len: usize,
    eos: Option<i64>,
) -> Result<Vec<i64>, BackendError> {
    let ids: Vec<u32> = prompt.iter().map(|&t| t as u32).collect();
    let mut out: Vec<i64> = reference
        .greedy(&ids, gen_len)?
        .into_iter()
        .map(i64::from)
        .collect();
    if let Some(end) = eos.and_then(|e| out.iter().position(|&t| t == e)) {
        out.truncate(end + 1);
    }
    Ok(out)
}

/// The first request's texts, accuracy against the reference and agreement
/// with the reference's own continuation.
fn judge_first(
    outcome: &mut GenerationOutcome,
    first: Option<(Vec<i64>, Vec<i64>, Vec<HostTensor>)>,
    setup: &GenerationSetup,
    case: &Case,
    g: &GenerationCase,
) -> Result<(), BackendError> {
    let Some((prompt, generated, logits)) = first else {
        return Ok(());
    };
    let s = &mut outcome.summary;
    if let Some(codec) = setup.codec {
        s.prompt_text = match setup.requests.prompt_texts.first() {
            Some(text) => text.clone(),
            None => codec.decode(&prompt)?,
        };
        s.generated_text = codec.decode(&generated)?;
    }
    match &setup.reference {
        GenerationReference::None => {}
        GenerationReference::Gpt(path) => {
            // Read the f32 weights only now: the peak memory is taken.
            outcome.accuracy = GptWeights::read(path)
                .ok()
                .filter(|_| !logits.is_empty())
                .and_then(|w| check_accuracy(&w, case, &prompt, &generated, &logits));
        }
        GenerationReference::Llama(reference) => {
            outcome.accuracy = check_llama_accuracy(reference, &prompt, &generated, &logits)?;
            let expected =
                reference_continuation(reference, &prompt, g.gen_len, setup.requests.eos)?;
            s.agreement = Some(Agreement::of(&generated, &expected));
            if let Some(codec) = setup.codec {
                s.reference_text = codec.decode(&expected)?;
            }
            s.reference_tokens = expected;
        }
    }
    s.prompt_tokens = prompt;
    Ok(())
}

pub fn run_generation(
    session: &mut dyn Session,
    setup: &GenerationSetup,
    case: &Case,
    g: &GenerationCase,
) -> Result<GenerationOutcome, BackendError> {
    let work = (g, &setup.requests);
    // Warm-up: one request, unmeasured.
    let warm = GenerationCase {
        requests: 1,
        ..g.clone()
    };
    serve(session, case, (&warm, &setup.requests), &[0], false)?;
    let immediate = vec![0; g.requests];
    let arrivals = |rate: f64| gamma_arrivals_ns(g.requests, rate, g.burstiness, g.seed);
    let (mut run, offered, searched) = match g.pattern {
        LoadPattern::SingleStream => (serve(session, case, work, &immediate, true)?, None, None),
        LoadPattern::Offline => (offline(session, case, g, &setup.requests)?, None, None),
        LoadPattern::Concurrency => {
            // The fields alone: the reference in `setup` stays on this thread.
            let (backend, source, options) = (setup.backend, setup.source, setup.options);
            let load = move || backend.load(source, options);
            (concurrent(session, &load, case, work)?, None, None)
        }
        LoadPattern::Server if g.search_rate => {
            let (rate, trials) = search_rate(session, case, work)?;
            // The figures reported are those of a final run at the rate found.
            let lowest = trials.iter().map(|t| t.rate).fold(f64::INFINITY, f64::min);
            let rate_run = if rate > 0.0 { rate } else { lowest.min(1e6) };
            let run = serve(session, case, work, &arrivals(rate_run), true)?;
            (run, Some(rate_run), Some((rate, trials)))
        }
        LoadPattern::Server => {
            let rate = g.rate.unwrap_or(1.0);
            let run = serve(session, case, work, &arrivals(rate), true)?;
            (run, Some(rate), None)
        }
    };
    let peak_rss_bytes = crate::runner::memory::peak_rss_bytes();
    let first = run.first.clone();
    run.first = first
        .as_ref()
        .map(|(p, t, _)| (p.clone(), t.clone(), Vec::new()));
    let mut outcome = summarize(run, g, offered, searched);
    judge_first(&mut outcome, first, setup, case, g)?;
    outcome.peak_rss_bytes = peak_rss_bytes;
    Ok(outcome)
}

/// Failures by class with each class's first message; a completed request
/// slower than `timeout_ms` counts as a timeout.
fn tally_errors(run: &LoadRun, timeout_ms: Option<f64>) -> BTreeMap<String, ErrorTally> {
    let mut out: BTreeMap<String, ErrorTally> = BTreeMap::new();
    let mut add = |class: String, message: String| {
        out.entry(class)
            .and_modify(|t| t.count += 1)
            .or_insert(ErrorTally {
                count: 1,
                first_message: message,
            });
    };
    for f in &run.failures {
        add(f.class.to_string(), f.message.clone());
    }
    if let Some(limit) = timeout_ms {
        for e2e in run.timelines.iter().filter_map(|t| t.e2e_ns()) {
            let ms = e2e as f64 * 1e-6;
            if ms > limit {
                add(
                    ErrorClass::Timeout.to_string(),
                    format!("a request took {ms:.1} ms end to end, over `timeout_ms` {limit}"),
                );
            }
        }
    }
    out
}

pub(crate) fn summarize(
    mut run: LoadRun,
    g: &GenerationCase,
    offered_rate: Option<f64>,
    searched: Option<(f64, Vec<RateTrial>)>,
) -> GenerationOutcome {
    let errors_by_class = tally_errors(&run, g.timeout_ms);
    let errors: usize = errors_by_class.values().map(|t| t.count).sum();
    let requests = run.timelines.len() + run.failures.len();
    let output_tokens: u64 = run.timelines.iter().map(|t| t.output_tokens as u64).sum();
    let tl = &run.timelines;
    let ttft_ms = ms_summary(tl.iter().filter_map(|t| t.ttft_ns()).map(|x| x as f64));
    let (p99_met, _) = p99_meets(&run, &g.slo);
    let target_met = g.slo.is_set().then_some(p99_met && errors == 0);
    let (max_rate_meeting_target, rate_trials) = match searched {
        Some((rate, trials)) => (Some(rate), trials),
        None => (None, Vec::new()),
    };
    let first = run.first.take();
    let completed = tl.len();
    let summary = GenerationSummary {
        pattern: g.pattern,
        requests,
        errors,
        error_rate: if requests == 0 {
            0.0
        } else {
            errors as f64 / requests as f64
        },
        output_tokens,
        wall_s: run.wall_s,
        output_tokens_per_s: output_tokens as f64 / run.wall_s,
        achieved_rate: tl.len() as f64 / run.wall_s,
        ttft_ms,
        tpot_ms: ms_summary(tl.iter().filter_map(|t| t.tpot_ns())),
        itl_ms: ms_summary(tl.iter().flat_map(|t| t.itl_ns()).map(|x| x as f64)),
        e2e_ms: ms_summary(tl.iter().filter_map(|t| t.e2e_ns()).map(|x| x as f64)),
        prefill_ms: ms_summary(tl.iter().filter_map(|t| t.prefill_ns()).map(|x| x as f64)),
        queue_ms: ms_summary(tl.iter().map(|t| t.queue_ns() as f64)),
        offered_rate,
        burstiness: offered_rate.map(|_| g.burstiness),
        slo: g.slo,
        target_p99_ttft_ms: g.slo.ttft_ms,
        target_met: if g.search_rate {
            max_rate_meeting_target.map(|r| r > 0.0)
        } else {
            target_met
        },
        goodput: g.slo.is_set().then(|| g.slo.goodput(tl, run.wall_s)),
        max_rate_meeting_target,
        rate_trials,
        streams: g.concurrency.max(1),
        per_stream_tokens_per_s: Summary::of(&run.stream_tokens_per_s),
        first_request_tokens: first.map(|f| f.1).unwrap_or_default(),
        prompt_tokens: Vec::new(),
        prompt_text: String::new(),
        reference_tokens: Vec::new(),
        reference_text: String::new(),
        agreement: None,
        mean_output_tokens: (completed > 0).then(|| output_tokens as f64 / completed as f64),
        ttft_samples_ns: tl.iter().filter_map(|t| t.ttft_ns()).collect(),
        tpot_samples_ns: tl
            .iter()
            .filter_map(|t| t.tpot_ns())
            .map(|ns| ns as u64)
            .collect(),
        errors_by_class,
        token_counts: run.token_counts.to_string(),
        short_requests: run.short_requests,
        client: run.client.take(),
        warnings: std::mem::take(&mut run.warnings),
        generated_text: std::mem::take(&mut run.first_text),
    };
    GenerationOutcome {
        e2e_ns: tl.iter().filter_map(|t| t.e2e_ns()).collect(),
        summary,
        accuracy: None,
        peak_rss_bytes: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests arriving at 0, each with 4 tokens: the first `ttft` ms
    /// after arrival, the others `tpot` ms apart.
    fn run_of(ttfts_ms: &[u64], tpot_ms: u64) -> LoadRun {
        let ms = 1_000_000;
        let mut run = LoadRun::counted_by_the_decoder();
        for &t in ttfts_ms {
            let tokens = (0..4).map(|i| (t + i * tpot_ms) * ms).collect();
            run.timelines.push(RequestTimeline::per_token(0, 0, tokens));
        }
        run
    }

    fn slo() -> Slo {
        Slo {
            ttft_ms: Some(50.0),
            tpot_ms: Some(20.0),
            e2e_ms: None,
        }
    }

    #[test]
    fn p99_meets_every_limit_only_when_every_request_does() {
        let (met, p99_ttft) = p99_meets(&run_of(&[10, 12, 14], 5), &slo());
        // p99 of 10, 12, 14 ms by linear interpolation: 12 + 0.98 × 2.
        assert!(met);
        assert!((p99_ttft - 13.96).abs() < 1e-9, "{p99_ttft}");
        assert!(
            !p99_meets(&run_of(&[10, 12, 80], 5), &slo()).0,
            "a slow first token"
        );
        // TPOT = (100 − 10) / 3 = 30 ms > 20.
        assert!(!p99_meets(&run_of(&[10], 30), &slo()).0, "slow tokens");
        let mut failed = run_of(&[10], 5);
        failed
            .failures
            .push(backend_failure(BackendError::Run("lost".into())));
        assert!(!p99_meets(&failed, &slo()).0, "a failed request");
        assert!(
            !p99_meets(&LoadRun::default(), &slo()).0,
            "nothing completed"
        );
    }

    #[test]
    fn every_trial_of_the_rate_search_is_kept_in_order() {
        let mut trials = Vec::new();
        assert!(record_trial(&mut trials, 4.0, &run_of(&[10], 5), &slo()));
        assert!(!record_trial(&mut trials, 8.0, &run_of(&[90], 5), &slo()));
        let kept: Vec<(f64, bool)> = trials.iter().map(|t| (t.rate, t.met)).collect();
        assert_eq!(kept, [(4.0, true), (8.0, false)]);
        assert_eq!(trials[1].p99_ttft_ms, 90.0);
    }
}
