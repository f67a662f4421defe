//! Generation workloads through the [`Generator`] interface: the load
//! patterns as [`drive`] plans, each request's events turned into the same
//! [`RequestTimeline`]s and summary as in-process decoding. The `openai`
//! backend runs here.

use std::sync::Arc;
use std::time::Duration;

use inferbench_backend::{BackendError, GenerationRequest, Generator, Prompt};
use inferbench_models::TextTokenizer;
use inferbench_openai::{EndpointClient, EndpointConfig};
use tokio::runtime::Runtime;

use super::arrivals::gamma_arrivals_ns;
use super::drive::{Driven, Plan, drive};
use super::load::{ClientFigures, GenerationOutcome, LoadRun, RateTrial, record_trial, summarize};
use super::slo::search_highest_rate;
use super::timeline::RequestTimeline;
use crate::model::inputs::token_batch;
use crate::scenario::{Case, GenerationCase, LoadPattern, TextPrompt};
use crate::stats::Summary;

/// The achieved send rate may fall this far below the schedule's before
/// the run says the client could not keep up.
const RATE_SHORTFALL: f64 = 0.02;

/// Usage and tokenizer counts may differ this much before the run warns.
const USAGE_MISMATCH: f64 = 0.01;

/// Runs a generation case against the endpoint of `case`.
pub fn run_endpoint(
    case: &Case,
    g: &GenerationCase,
    endpoint: &EndpointConfig,
) -> Result<GenerationOutcome, BackendError> {
    let runtime = super::drive::runtime()
        .map_err(|e| BackendError::Load(format!("cannot start the async runtime: {e}")))?;
    let in_flight = match g.pattern {
        LoadPattern::Concurrency => g.concurrency,
        _ => g.requests,
    };
    let mut timeout_s = endpoint.timeout_s;
    if let Some(ms) = g.timeout_ms {
        timeout_s = timeout_s.min(ms * 1e-3);
    }
    let client = EndpointClient::new(endpoint, in_flight, Duration::from_secs_f64(timeout_s))?;
    let requests = requests(case, g, endpoint)?;
    let tokenizer = match &endpoint.tokenizer {
        Some(path) => Some(
            TextTokenizer::from_file(path)
                .map_err(|e| BackendError::Load(format!("[endpoint] tokenizer: {e}")))?,
        ),
        None => None,
    };
    let mut outcome = run_with(&runtime, Arc::new(client), &requests, g, tokenizer.as_ref())?;
    // results.json keeps the first request's prompt beside its text, as
    // for in-process models.
    outcome.summary.prompt_text = requests
        .first()
        .map_or_else(String::new, |r| shown(&r.prompt));
    Ok(outcome)
}

/// A prompt as a reader sees it: its text, chat turns one per line as
/// `role: content`; token prompts have no text.
pub(crate) fn shown(prompt: &Prompt) -> String {
    match prompt {
        Prompt::Text(text) => text.clone(),
        Prompt::Chat(messages) => messages
            .iter()
            .map(|m| format!("{}: {}", m.role, m.content))
            .collect::<Vec<_>>()
            .join("\n"),
        Prompt::Tokens(_) => String::new(),
    }
}

/// The requests of a case: the `[inputs]` text prompts in turn, else token
/// prompts like the in-process workloads'.
pub(crate) fn requests(
    case: &Case,
    g: &GenerationCase,
    endpoint: &EndpointConfig,
) -> Result<Vec<GenerationRequest>, BackendError> {
    if g.prompts.is_empty() && endpoint.api == inferbench_openai::Api::Chat {
        return Err(BackendError::Load(
            "`api = \"chat\"` needs text prompts: set `[inputs] prompt` or `prompts`, or use \
             `api = \"completions\"` for token prompts"
                .into(),
        ));
    }
    Ok((0..g.requests)
        .map(|i| GenerationRequest {
            prompt: match g.prompts.get(i % g.prompts.len().max(1)) {
                Some(TextPrompt::Text { prompt }) => Prompt::Text(prompt.clone()),
                Some(TextPrompt::Chat { messages }) => Prompt::Chat(messages.clone()),
                None => Prompt::Tokens(
                    token_batch(
                        case.model.spec.vocab_size,
                        1,
                        g.prompt_len,
                        case.input_seed.wrapping_add(i as u64),
                    )
                    .ids,
                ),
            },
            max_tokens: g.gen_len,
            ignore_eos: g.ignore_eos,
        })
        .collect())
}

/// Any generator under the case's load pattern.
pub fn run_with(
    runtime: &Runtime,
    generator: Arc<dyn Generator>,
    requests: &[GenerationRequest],
    g: &GenerationCase,
    tokenizer: Option<&TextTokenizer>,
) -> Result<GenerationOutcome, BackendError> {
    // Warm-up: one request, unmeasured; a failure shows again in the run.
    let _ = drive(
        runtime,
        generator.clone(),
        requests[..1].to_vec(),
        &Plan::Sequential,
    );
    let scheduled = |rate: f64| {
        Plan::Schedule(gamma_arrivals_ns(
            requests.len(),
            rate,
            g.burstiness,
            g.seed,
        ))
    };
    let (plan, offered, searched) = match g.pattern {
        LoadPattern::SingleStream => (Plan::Sequential, None, None),
        LoadPattern::Offline => (Plan::Schedule(vec![0; requests.len()]), None, None),
        LoadPattern::Concurrency => (Plan::Concurrency(g.concurrency), None, None),
        LoadPattern::Server if g.search_rate => {
            let (rate, trials) = search(runtime, &generator, requests, g, tokenizer)?;
            let lowest = trials.iter().map(|t| t.rate).fold(f64::INFINITY, f64::min);
            let rate_run = if rate > 0.0 { rate } else { lowest.min(1e6) };
            (scheduled(rate_run), Some(rate_run), Some((rate, trials)))
        }
        LoadPattern::Server => {
            let rate = g.rate.unwrap_or(1.0);
            (scheduled(rate), Some(rate), None)
        }
    };
    let driven = drive(runtime, generator, requests.to_vec(), &plan);
    let run = load_run(driven, &plan, g, tokenizer);
    Ok(summarize(run, g, offered, searched))
}

/// The rate search of `search_rate` over the generator, from the capacity
/// a single stream suggests.
fn search(
    runtime: &Runtime,
    generator: &Arc<dyn Generator>,
    requests: &[GenerationRequest],
    g: &GenerationCase,
    tokenizer: Option<&TextTokenizer>,
) -> Result<(f64, Vec<RateTrial>), BackendError> {
    let probe_n = requests.len().min(4);
    let probe = drive(
        runtime,
        generator.clone(),
        requests[..probe_n].to_vec(),
        &Plan::Sequential,
    );
    let service_s = probe.wall_s / probe_n as f64;
    let mut trials = Vec::new();
    let rate = search_highest_rate(1.0 / service_s.max(1e-6), |rate| {
        let plan = Plan::Schedule(gamma_arrivals_ns(
            requests.len(),
            rate,
            g.burstiness,
            g.seed,
        ));
        let run = load_run(
            drive(runtime, generator.clone(), requests.to_vec(), &plan),
            &plan,
            g,
            tokenizer,
        );
        Ok::<_, BackendError>(record_trial(&mut trials, rate, &run, &g.slo))
    })?;
    Ok((rate, trials))
}

/// The warning when the server's `usage` and the tokenizer disagree on the
/// output tokens of the same answers by more than 1%.
fn usage_mismatch(usage: u64, tokenizer: u64) -> Option<String> {
    let apart = (usage as f64 - tokenizer as f64).abs() / (usage.max(1) as f64);
    (apart > USAGE_MISMATCH).then(|| {
        format!(
            "the server's usage counts {usage} output tokens, the tokenizer {tokenizer} ({:.1}% \
             apart): the tokenizer may not be the served model's",
            apart * 100.0
        )
    })
}

/// Records → timelines, failures, token counts and the client's figures.
fn load_run(
    driven: Driven,
    plan: &Plan,
    g: &GenerationCase,
    tokenizer: Option<&TextTokenizer>,
) -> LoadRun {
    let mut run = LoadRun {
        wall_s: driven.wall_s,
        token_counts: "chunks",
        ..LoadRun::default()
    };
    let mut lags = Vec::new();
    let mut sends = Vec::new();
    let (mut usage_total, mut counted_total) = (0u64, 0u64);
    let mut stream_tokens = vec![0usize; streams(plan)];
    for r in &driven.records {
        let generation = match &r.outcome {
            Ok(generation) => generation,
            Err(e) => {
                run.failures.push(e.clone());
                continue;
            }
        };
        let token_ns: Vec<u64> = generation.events.iter().map(|e| driven.ns(e.at)).collect();
        let counted = tokenizer
            .and_then(|t| t.encode(&generation.text()).ok())
            .map(|ids| ids.len());
        let (output_tokens, source) = match (generation.usage, counted) {
            (Some(u), _) => (u.completion_tokens as usize, "usage"),
            (None, Some(n)) => (n, "tokenizer"),
            (None, None) => (token_ns.len(), "chunks"),
        };
        run.token_counts = source;
        if let Some(tokens) = stream_tokens.get_mut(r.stream) {
            *tokens += output_tokens;
        }
        if let (Some(u), Some(n)) = (generation.usage, counted) {
            usage_total += u.completion_tokens;
            counted_total += n as u64;
        }
        if output_tokens < g.gen_len {
            run.short_requests += 1;
        }
        if r.index == 0 {
            run.first_text = generation.text();
        }
        lags.push(r.sent_ns.saturating_sub(r.arrival_ns) as f64 * 1e-6);
        sends.push((r.arrival_ns, r.sent_ns));
        run.timelines.push(RequestTimeline {
            arrival_ns: r.arrival_ns,
            start_ns: r.sent_ns,
            token_ns,
            output_tokens,
        });
    }
    if let Plan::Concurrency(_) = plan {
        let wall_s = driven.wall_s.max(1e-9);
        run.stream_tokens_per_s = stream_tokens.iter().map(|&n| n as f64 / wall_s).collect();
    }
    warn_on_counts(&mut run, (usage_total, counted_total), g.gen_len);
    run.client = Some(client_figures(
        &driven,
        plan,
        &lags,
        &sends,
        &mut run.warnings,
    ));
    run
}

/// Warnings on the token counts: usage against the tokenizer's (when both
/// counted), and requests that stopped short of `gen_len`.
fn warn_on_counts(run: &mut LoadRun, (usage_total, counted_total): (u64, u64), gen_len: usize) {
    if counted_total > 0 {
        run.warnings
            .extend(usage_mismatch(usage_total, counted_total));
    }
    if run.short_requests > 0 {
        run.warnings.push(format!(
            "{} of {} completed requests returned fewer than the {} tokens asked for (the \
             server stopped early: set `ignore_eos = true` or check its context size)",
            run.short_requests,
            run.timelines.len(),
            gen_len
        ));
    }
}

/// The closed-loop streams of a plan (1 for the others).
fn streams(plan: &Plan) -> usize {
    match plan {
        Plan::Concurrency(n) => (*n).max(1),
        _ => 1,
    }
}

/// The client's overhead (CPU time per request) and pace (send rate against
/// the schedule), with a warning when it fell short by more than 2%.
fn client_figures(
    driven: &Driven,
    plan: &Plan,
    lags_ms: &[f64],
    sends: &[(u64, u64)],
    warnings: &mut Vec<String>,
) -> ClientFigures {
    let n = driven.records.len().max(1) as f64;
    let cpu_s_per_request = driven.cpu_s / n;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as f64;
    let (mut sent_rate, mut scheduled_rate) = (None, None);
    if let (Plan::Schedule(_), Some(first), Some(last)) = (plan, sends.first(), sends.last())
        && last.0 > first.0
        && sends.len() > 1
    {
        let k = (sends.len() - 1) as f64;
        let scheduled = k / ((last.0 - first.0) as f64 * 1e-9);
        let sent = k / (last.1.saturating_sub(first.1).max(1) as f64 * 1e-9);
        if sent < scheduled * (1.0 - RATE_SHORTFALL) {
            warnings.push(format!(
                "the client sent {sent:.1} requests/s where the schedule asked {scheduled:.1} \
                 ({:.1}% short): the offered load was not applied; its own overhead was {:.0} µs \
                 of CPU per request",
                100.0 * (1.0 - sent / scheduled),
                cpu_s_per_request * 1e6
            ));
        }
        (sent_rate, scheduled_rate) = (Some(sent), Some(scheduled));
    }
    ClientFigures {
        cpu_us_per_request: cpu_s_per_request * 1e6,
        max_rate: cores / cpu_s_per_request.max(1e-9),
        send_lag_ms: Summary::of(lags_ms),
        sent_rate,
        scheduled_rate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_and_tokenizer_counts_warn_beyond_one_percent() {
        assert_eq!(usage_mismatch(1000, 1010), None);
        let w = usage_mismatch(1000, 1020).unwrap();
        assert!(
            w.contains("1000") && w.contains("1020") && w.contains("2.0%"),
            "{w}"
        );
        // A tokenizer that is not the served model's: all-MiniLM's pads
        // every text to 128 tokens, so a 2-token answer is far off.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../vendor/models/all-minilm-l6-v2/tokenizer.json");
        let t = TextTokenizer::from_file(&path).unwrap();
        let counted = t.encode("hello world").unwrap().len() as u64;
        assert!(usage_mismatch(2, counted).is_some(), "{counted}");
    }
}
