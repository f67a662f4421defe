//! Generation workloads of in-process decoders under the load patterns,
//! after MLPerf LoadGen's scenarios: `single_stream` (one request at a
//! time), `offline` (everything at once, in batches), `server` (arrivals at
//! a rate, latency including queueing, with a search for the highest rate
//! meeting every SLO) and `concurrency` (N closed-loop streams). The
//! decoders sit behind the [`Generator`](inferbench_backend::Generator)
//! interface ([`with_lanes`]) and the served driver runs the pattern; this
//! module adds the reference checks and the summary both sides share.

use std::collections::BTreeMap;
use std::time::Instant;

use inferbench_backend::{
    Backend, BackendError, ErrorClass, GenerationError, GenerationRequest, HostTensor, LoadOptions,
    ModelSource, Prompt, Session, TokenBatch,
};
use serde::{Deserialize, Serialize};

use super::agreement::Agreement;
use super::decode::generate;
use super::in_process::{Lanes, with_lanes};
use super::served::run_with;
use super::slo::Slo;
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
    /// concurrency: closed-loop streams, and each one's output tokens/s.
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
    pub stream_tokens_per_s: Vec<f64>,
    /// See [`GenerationSummary`]'s fields of the same names.
    pub token_counts: &'static str,
    pub short_requests: usize,
    pub client: Option<ClientFigures>,
    pub warnings: Vec<String>,
    pub first_text: String,
}

/// The first request's prompt, its generated tokens and the logits each
/// was chosen from.
type FirstRequest = (Vec<i64>, Vec<i64>, Vec<HostTensor>);

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

    /// The prompt of request `i`: the text prompts in turn, else random
    /// ids seeded by the request's number (as the served workloads draw).
    fn prompt(&self, case: &Case, g: &GenerationCase, i: usize) -> Vec<i64> {
        match self.prompts.get(i % self.prompts.len().max(1)) {
            Some(ids) => ids.clone(),
            None => {
                token_batch(
                    self.vocab,
                    1,
                    g.prompt_len,
                    case.input_seed.wrapping_add(i as u64),
                )
                .ids
            }
        }
    }

    /// Every request of the case, as the driver sends them.
    pub(crate) fn all(&self, case: &Case, g: &GenerationCase) -> Vec<GenerationRequest> {
        (0..g.requests)
            .map(|i| GenerationRequest {
                prompt: Prompt::Tokens(self.prompt(case, g, i)),
                max_tokens: g.gen_len,
                ignore_eos: g.ignore_eos,
            })
            .collect()
    }

    /// The first `n` prompts as one batch, when they have one length.
    fn first_batch(&self, case: &Case, g: &GenerationCase, n: usize) -> Option<TokenBatch> {
        let rows: Vec<Vec<i64>> = (0..n).map(|i| self.prompt(case, g, i)).collect();
        let seq_len = rows[0].len();
        rows.iter().all(|r| r.len() == seq_len).then(|| TokenBatch {
            batch: n,
            seq_len,
            ids: rows.concat(),
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
pub(crate) fn reference_continuation(
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
    first: Option<FirstRequest>,
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
    s.first_request_tokens = generated;
    Ok(())
}

pub fn run_generation(
    session: &mut dyn Session,
    setup: &GenerationSetup,
    case: &Case,
    g: &GenerationCase,
) -> Result<GenerationOutcome, BackendError> {
    let runtime = super::drive::runtime()
        .map_err(|e| BackendError::Load(format!("cannot start the async runtime: {e}")))?;
    let requests = setup.requests.all(case, g);
    // The fields alone: the reference in `setup` stays on this thread.
    let (backend, source, options) = (setup.backend, setup.source, setup.options);
    let load = move || backend.load(source, options);
    let lanes = Lanes {
        first: &mut *session,
        extra: match g.pattern {
            LoadPattern::Concurrency => g.concurrency.saturating_sub(1),
            _ => 0,
        },
        load: &load,
        batch: match g.pattern {
            LoadPattern::Offline => case.batch,
            _ => 1,
        },
        eos: setup.requests.eos,
    };
    let mut outcome = with_lanes(lanes, |generator| {
        run_with(&runtime, generator, &requests, g, None)
    })??;
    outcome.peak_rss_bytes = crate::runner::memory::peak_rss_bytes();
    // The decoder's counts are exact; the client's CPU figures would count
    // the model's own work here, so they are a served model's only.
    outcome.summary.token_counts = "decoder".into();
    outcome.summary.client = None;
    let first = first_request(session, setup, case, g)?;
    judge_first(&mut outcome, first, setup, case, g)?;
    Ok(outcome)
}

/// The first request decoded once more, unmeasured, keeping the logits
/// each token was chosen from (copying them in the measured run would slow
/// it); `offline` decodes it in its batch, as measured.
fn first_request(
    session: &mut dyn Session,
    setup: &GenerationSetup,
    case: &Case,
    g: &GenerationCase,
) -> Result<Option<FirstRequest>, BackendError> {
    let n = match g.pattern {
        LoadPattern::Offline => case.batch.min(g.requests),
        _ => 1,
    };
    let Some(prompt) = (1..=n.max(1))
        .rev()
        .find_map(|n| setup.requests.first_batch(case, g, n))
    else {
        return Ok(None);
    };
    let mut decoder = session.decoder()?;
    let eos = setup.requests.eos.filter(|_| !g.ignore_eos);
    let out = generate(
        decoder.as_mut(),
        &prompt,
        g.gen_len,
        eos,
        Instant::now(),
        true,
    )?;
    let generated = out.tokens.into_iter().next().unwrap_or_default();
    Ok(Some((prompt.row(0).to_vec(), generated, out.logits)))
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
        first_request_tokens: Vec::new(),
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
        let mut run = LoadRun::default();
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
            .push(GenerationError::new(ErrorClass::Backend, "lost"));
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
