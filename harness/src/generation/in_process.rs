//! In-process runtimes behind the [`Generator`] interface, so the load
//! patterns drive them exactly as they drive a served model.
//!
//! Each lane is a thread with its own session that decodes greedily over
//! its `Decoder`'s logits, emitting one timed event per token. Requests
//! wait in one queue for a free lane, as at a server with that many slots,
//! and the waiting shows as latency. A lane with a batch size above 1
//! decodes up to that many waiting requests of one prompt length together
//! (static batching, as the `offline` pattern asks).

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inferbench_backend::{
    BackendError, Decoder, ErrorClass, Generation, GenerationError, GenerationFuture,
    GenerationRequest, Generator, Prompt, Session, TokenBatch, TokenEvent, Usage,
};

use super::decode::generate;

/// Loads one more session (a lane beyond the first calls it in its thread).
pub type SessionLoader<'a> = dyn Fn() -> Result<Box<dyn Session>, BackendError> + Sync + 'a;

/// How long a batching lane waits for the next request before it decodes
/// the ones it has: requests that arrive together (`offline`) are queued
/// within microseconds of each other, so this only ends a partial batch.
const GATHER: Duration = Duration::from_micros(500);

type Reply = tokio::sync::oneshot::Sender<Result<Generation, GenerationError>>;

struct Job {
    request: GenerationRequest,
    /// When the driver handed the request over: the in-process "send".
    sent: Instant,
    reply: Reply,
}

/// The lanes a generation case decodes on.
pub struct Lanes<'a> {
    /// The session the case loaded: the first lane, run on the calling
    /// thread (sessions are not `Send`).
    pub first: &'a mut dyn Session,
    /// Lanes beyond the first, each loading its own session.
    pub extra: usize,
    pub load: &'a SessionLoader<'a>,
    /// Requests a lane decodes together, at most.
    pub batch: usize,
    /// Ends a sequence at this token unless the request ignores it.
    pub eos: Option<i64>,
}

/// The queue in front of the lanes.
pub struct DecoderGenerator {
    jobs: Mutex<Option<Sender<Job>>>,
}

impl DecoderGenerator {
    /// Closes the queue: each lane finishes what it holds and stops.
    fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
    }
}

/// Closes the queue however the work ends, panics included, so the lane on
/// the calling thread never waits forever.
struct CloseOnDrop<'a>(&'a DecoderGenerator);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Starts the lanes, waits until every one has its decoder, then runs
/// `work` (on its own thread) with the generator in front of them; returns
/// its result once the lanes stopped, or the first lane's load error.
pub fn with_lanes<R: Send>(
    lanes: Lanes,
    work: impl FnOnce(Arc<dyn Generator>) -> R + Send,
) -> Result<R, BackendError> {
    let (jobs, queue) = channel::<Job>();
    let queue = Mutex::new(queue);
    let generator = Arc::new(DecoderGenerator {
        jobs: Mutex::new(Some(jobs)),
    });
    let (ready_tx, ready) = channel::<Result<(), BackendError>>();
    let policy = (lanes.batch.max(1), lanes.eos);
    let (extra, generator_ref) = (lanes.extra, &generator);
    std::thread::scope(|scope| {
        for _ in 0..lanes.extra {
            let (ready_tx, queue, load) = (ready_tx.clone(), &queue, lanes.load);
            scope.spawn(move || match load() {
                Ok(mut session) => lane(session.as_mut(), queue, ready_tx, policy),
                Err(e) => drop(ready_tx.send(Err(e))),
            });
        }
        let driver = scope.spawn(move || {
            let _close = CloseOnDrop(generator_ref);
            for _ in 0..=extra {
                match ready.recv() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(e),
                    Err(_) => {
                        return Err(BackendError::Load(
                            "a decoding lane died while loading".into(),
                        ));
                    }
                }
            }
            Ok(work(generator_ref.clone()))
        });
        lane(lanes.first, &queue, ready_tx, policy);
        driver
            .join()
            .unwrap_or_else(|_| Err(BackendError::Run("the load driver panicked".into())))
    })
}

/// One lane: report readiness, then decode batches until the queue closes.
fn lane(
    session: &mut dyn Session,
    queue: &Mutex<Receiver<Job>>,
    ready: Sender<Result<(), BackendError>>,
    (batch, eos): (usize, Option<i64>),
) {
    let mut decoder = match session.decoder() {
        Ok(d) => d,
        Err(e) => return drop(ready.send(Err(e))),
    };
    let _ = ready.send(Ok(()));
    drop(ready);
    let mut held = None;
    while let Some(jobs) = next_batch(queue, &mut held, batch) {
        decode(decoder.as_mut(), jobs, eos);
    }
}

/// The token length of a prompt; other prompts are never batched.
fn prompt_len(job: &Job) -> Option<usize> {
    match &job.request.prompt {
        Prompt::Tokens(ids) => Some(ids.len()),
        _ => None,
    }
}

/// The next requests to decode together: the one held back last time or
/// the next in the queue, then up to `batch` in all of its prompt length.
/// A request of another length is held for the next batch.
fn next_batch(
    queue: &Mutex<Receiver<Job>>,
    held: &mut Option<Job>,
    batch: usize,
) -> Option<Vec<Job>> {
    let queue = queue.lock().ok()?;
    let first = match held.take() {
        Some(job) => job,
        None => queue.recv().ok()?,
    };
    let len = prompt_len(&first);
    let mut jobs = vec![first];
    while jobs.len() < batch && len.is_some() {
        match queue.recv_timeout(GATHER) {
            Ok(job) if prompt_len(&job) == len => jobs.push(job),
            Ok(job) => {
                *held = Some(job);
                break;
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }
    Some(jobs)
}

/// Greedy decoding of `jobs` as one batch, each answered with one event
/// per token.
fn decode(decoder: &mut dyn Decoder, jobs: Vec<Job>, eos: Option<i64>) {
    let mut ids = Vec::new();
    for job in &jobs {
        match &job.request.prompt {
            Prompt::Tokens(prompt) => ids.extend_from_slice(prompt),
            _ => {
                let message =
                    "in-process decoding takes token prompts (text needs the model's tokenizer)";
                for job in jobs {
                    let _ = job
                        .reply
                        .send(Err(GenerationError::new(ErrorClass::Backend, message)));
                }
                return;
            }
        }
    }
    let prompt = TokenBatch {
        batch: jobs.len(),
        seq_len: ids.len() / jobs.len(),
        ids,
    };
    let gen_len = jobs.iter().map(|j| j.request.max_tokens).max().unwrap_or(0);
    let eos = eos.filter(|_| jobs.iter().any(|j| !j.request.ignore_eos));
    let origin = Instant::now();
    let out = match generate(decoder, &prompt, gen_len, eos, origin, false) {
        Ok(out) => out,
        Err(e) => {
            let failure = GenerationError::new(ErrorClass::Backend, e.to_string());
            for job in jobs {
                let _ = job.reply.send(Err(failure.clone()));
            }
            return;
        }
    };
    for (job, mut tokens) in jobs.into_iter().zip(out.tokens) {
        tokens.truncate(job.request.max_tokens);
        let stopped = eos.is_some() && tokens.last().copied() == eos;
        let events: Vec<TokenEvent> = tokens
            .iter()
            .zip(&out.token_ns)
            .map(|(&id, &ns)| TokenEvent {
                at: origin + Duration::from_nanos(ns),
                text: String::new(),
                ids: vec![id],
            })
            .collect();
        let _ = job.reply.send(Ok(Generation {
            started: job.sent,
            usage: Some(Usage {
                prompt_tokens: prompt.seq_len as u64,
                completion_tokens: events.len() as u64,
            }),
            events,
            finish_reason: Some(if stopped { "stop" } else { "length" }.into()),
        }));
    }
}

impl Generator for DecoderGenerator {
    fn generate(&self, request: GenerationRequest) -> GenerationFuture<'_> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            request,
            sent: Instant::now(),
            reply,
        };
        let sent = match self.jobs.lock() {
            Ok(jobs) => jobs.as_ref().is_some_and(|jobs| jobs.send(job).is_ok()),
            Err(_) => false,
        };
        Box::pin(async move {
            let lost = || GenerationError::new(ErrorClass::Backend, "the decoding lanes stopped");
            if !sent {
                return Err(lost());
            }
            answer.await.unwrap_or_else(|_| Err(lost()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generation::drive::{Driven, Plan, drive, runtime};
    use crate::model::synthetic::{ensure_weights, spec_dir};
    use inferbench_backend::{Backend, Device, GptSpec, LoadOptions, ModelSource, Precision};

    struct Fixture {
        _cache: tempfile::TempDir,
        source: ModelSource,
        options: LoadOptions,
    }

    fn fixture() -> Fixture {
        let cache = tempfile::tempdir().unwrap();
        let spec = GptSpec {
            vocab_size: 64,
            hidden: 32,
            layers: 1,
            heads: 2,
            max_seq: 32,
            seed: 3,
        };
        let source = ModelSource::SyntheticGpt {
            spec,
            weights: ensure_weights(cache.path(), &spec).unwrap(),
            cache_dir: spec_dir(cache.path(), &spec),
        };
        let options = LoadOptions {
            device: Device::Cpu,
            precision: Precision::F32,
            threads: 1,
            options: Default::default(),
        };
        Fixture {
            _cache: cache,
            source,
            options,
        }
    }

    const PROMPT: [i64; 4] = [5, 9, 2, 33];

    fn request(ignore_eos: bool) -> GenerationRequest {
        GenerationRequest {
            prompt: Prompt::Tokens(PROMPT.to_vec()),
            max_tokens: 6,
            ignore_eos,
        }
    }

    /// Requests all due at once on `extra + 1` lanes of `batch`.
    fn run(
        f: &Fixture,
        (extra, batch): (usize, usize),
        eos: Option<i64>,
        requests: Vec<GenerationRequest>,
    ) -> Driven {
        let backend = inferbench_candle::CandleBackend;
        let mut session = backend.load(&f.source, &f.options).unwrap();
        let load = || backend.load(&f.source, &f.options);
        let rt = runtime().unwrap();
        let lanes = Lanes {
            first: session.as_mut(),
            extra,
            load: &load,
            batch,
            eos,
        };
        let n = requests.len();
        with_lanes(lanes, |generator| {
            drive(&rt, generator, requests, &Plan::Schedule(vec![0; n]))
        })
        .unwrap()
    }

    fn tokens(g: &Generation) -> Vec<i64> {
        g.events.iter().flat_map(|e| e.ids.clone()).collect()
    }

    /// The decoder's own greedy tokens for [`PROMPT`].
    fn direct(f: &Fixture) -> Vec<i64> {
        let mut session = inferbench_candle::CandleBackend
            .load(&f.source, &f.options)
            .unwrap();
        let prompt = TokenBatch {
            batch: 1,
            seq_len: 4,
            ids: PROMPT.to_vec(),
        };
        let mut decoder = session.decoder().unwrap();
        generate(decoder.as_mut(), &prompt, 6, None, Instant::now(), false)
            .unwrap()
            .tokens[0]
            .clone()
    }

    #[test]
    fn one_lane_decodes_greedily_like_the_decoder_and_queues_requests() {
        let f = fixture();
        let direct = direct(&f);
        assert!(direct.iter().any(|&t| t != direct[0]), "{direct:?}");
        let d = run(&f, (0, 1), None, vec![request(true); 3]);
        let mut first_token_ns = Vec::new();
        for r in &d.records {
            let g = r.outcome.as_ref().unwrap();
            assert_eq!(
                tokens(g),
                direct,
                "the same greedy tokens as the decoder gives"
            );
            assert_eq!(g.usage.map(|u| u.completion_tokens), Some(6));
            first_token_ns.push(d.ns(g.events[0].at));
        }
        // One lane: the three requests were served one after another.
        first_token_ns.sort();
        let last_done: Vec<u64> = d
            .records
            .iter()
            .map(|r| d.ns(r.outcome.as_ref().unwrap().events[5].at))
            .collect();
        assert!(
            first_token_ns[1] >= *last_done.iter().min().unwrap(),
            "{first_token_ns:?} {last_done:?}"
        );
    }

    #[test]
    fn a_batching_lane_decodes_waiting_requests_together() {
        let f = fixture();
        let direct = direct(&f);
        let d = run(&f, (0, 2), None, vec![request(true); 3]);
        let mut first_token_ns: Vec<u64> = d
            .records
            .iter()
            .map(|r| {
                let g = r.outcome.as_ref().unwrap();
                assert_eq!(tokens(g), direct);
                d.ns(g.events[0].at)
            })
            .collect();
        // Two decoded as one batch (the same instants), the third after.
        first_token_ns.sort();
        assert_eq!(first_token_ns[0], first_token_ns[1], "{first_token_ns:?}");
        assert!(first_token_ns[2] > first_token_ns[1], "{first_token_ns:?}");
    }

    #[test]
    fn extra_lanes_load_their_own_sessions_and_decoding_stops_at_eos() {
        let f = fixture();
        let direct = direct(&f);
        let eos = direct[2];
        let stop = direct.iter().position(|&t| t == eos).unwrap();
        let d = run(&f, (1, 1), Some(eos), vec![request(false), request(true)]);
        let ended = d.records[0].outcome.as_ref().unwrap();
        assert_eq!(tokens(ended), direct[..=stop]);
        assert_eq!(ended.finish_reason.as_deref(), Some("stop"));
        let full = d.records[1].outcome.as_ref().unwrap();
        assert_eq!(tokens(full), direct, "ignore_eos decodes every token");
        assert_eq!(full.finish_reason.as_deref(), Some("length"));
    }

    #[test]
    fn a_lane_that_cannot_load_is_an_error_and_nothing_hangs() {
        let f = fixture();
        let backend = inferbench_candle::CandleBackend;
        let mut session = backend.load(&f.source, &f.options).unwrap();
        let load = || Err(BackendError::Load("no second session".into()));
        let lanes = Lanes {
            first: session.as_mut(),
            extra: 2,
            load: &load,
            batch: 1,
            eos: None,
        };
        let err = with_lanes(lanes, |_| ()).unwrap_err();
        assert!(err.to_string().contains("no second session"), "{err}");
    }
}
