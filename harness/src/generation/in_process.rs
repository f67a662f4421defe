//! In-process runtimes behind the [`Generator`] interface: each lane is a
//! thread that loads its own session and decodes greedily over its
//! `Decoder`'s logits, one request at a time, emitting one timed event per
//! token. Requests wait in one queue for a free lane, as at a server with
//! that many slots, and the waiting shows as latency.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use inferbench_backend::{
    BackendError, Decoder, ErrorClass, Generation, GenerationError, GenerationFuture,
    GenerationRequest, Generator, Prompt, Session, TokenBatch, TokenEvent, Usage,
};

use super::decode::argmax_rows;

/// Loads one session (each lane calls it in its own thread).
pub type SessionLoader = dyn Fn() -> Result<Box<dyn Session>, BackendError> + Send + Sync;

type Reply = tokio::sync::oneshot::Sender<Result<Generation, GenerationError>>;

struct Job {
    request: GenerationRequest,
    reply: Reply,
}

pub struct DecoderGenerator {
    jobs: Option<Sender<Job>>,
    lanes: Vec<JoinHandle<()>>,
}

impl DecoderGenerator {
    /// Starts `lanes` threads, each with its own session; returns once all
    /// loaded, or the first load error.
    pub fn start(lanes: usize, load: Arc<SessionLoader>) -> Result<Self, BackendError> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let (ready_tx, ready) = channel();
        let handles = (0..lanes.max(1))
            .map(|_| {
                let (load, queue, ready_tx) = (load.clone(), queue.clone(), ready_tx.clone());
                std::thread::spawn(move || lane(load.as_ref(), &queue, &ready_tx))
            })
            .collect();
        let generator = Self {
            jobs: Some(jobs),
            lanes: handles,
        };
        for _ in 0..lanes.max(1) {
            ready
                .recv()
                .map_err(|_| BackendError::Load("a decoding thread died while loading".into()))??;
        }
        Ok(generator)
    }
}

/// One lane: load, report readiness, then serve jobs until the queue closes.
fn lane(
    load: &SessionLoader,
    queue: &Mutex<Receiver<Job>>,
    ready: &Sender<Result<(), BackendError>>,
) {
    let mut session = match load() {
        Ok(s) => s,
        Err(e) => return drop(ready.send(Err(e))),
    };
    let mut decoder = match session.decoder() {
        Ok(d) => d,
        Err(e) => return drop(ready.send(Err(e))),
    };
    let _ = ready.send(Ok(()));
    loop {
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let _ = job.reply.send(greedy(decoder.as_mut(), &job.request));
    }
}

/// Greedy decoding of one request, one event per token.
fn greedy(
    decoder: &mut dyn Decoder,
    request: &GenerationRequest,
) -> Result<Generation, GenerationError> {
    let Prompt::Tokens(ids) = &request.prompt else {
        return Err(GenerationError::new(
            ErrorClass::Backend,
            "in-process decoding takes token prompts (text needs the model's tokenizer)",
        ));
    };
    let failed = |e: BackendError| GenerationError::new(ErrorClass::Backend, e.to_string());
    let started = Instant::now();
    let prompt = TokenBatch {
        batch: 1,
        seq_len: ids.len(),
        ids: ids.clone(),
    };
    let mut logits = decoder.prefill(&prompt).map_err(failed)?;
    let mut events = Vec::with_capacity(request.max_tokens);
    for step in 0..request.max_tokens {
        let next = argmax_rows(&logits);
        events.push(TokenEvent {
            at: Instant::now(),
            text: String::new(),
            ids: next.clone(),
        });
        if step + 1 < request.max_tokens {
            logits = decoder.step(&next).map_err(failed)?;
        }
    }
    Ok(Generation {
        started,
        usage: Some(Usage {
            prompt_tokens: ids.len() as u64,
            completion_tokens: events.len() as u64,
        }),
        events,
        finish_reason: Some("length".into()),
    })
}

impl Generator for DecoderGenerator {
    fn generate(&self, request: GenerationRequest) -> GenerationFuture<'_> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(Job { request, reply }).is_ok());
        Box::pin(async move {
            let lost = || GenerationError::new(ErrorClass::Backend, "the decoding thread stopped");
            if !sent {
                return Err(lost());
            }
            answer.await.unwrap_or_else(|_| Err(lost()))
        })
    }
}

impl Drop for DecoderGenerator {
    fn drop(&mut self) {
        // Closing the queue ends every lane's loop.
        self.jobs.take();
        for lane in self.lanes.drain(..) {
            let _ = lane.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generation::decode::generate;
    use crate::generation::drive::{Plan, drive, runtime};
    use crate::model::synthetic::{ensure_weights, spec_dir};
    use inferbench_backend::{Backend, Device, GptSpec, LoadOptions, ModelSource, Precision};

    #[test]
    fn lanes_decode_greedily_like_the_decoder_itself_and_queue_requests() {
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
        let backend = inferbench_candle::CandleBackend;
        let ids = vec![5i64, 9, 2, 33];
        let prompt = TokenBatch {
            batch: 1,
            seq_len: 4,
            ids: ids.clone(),
        };
        let mut session = backend.load(&source, &options).unwrap();
        let direct = generate(
            session.as_mut().decoder().unwrap().as_mut(),
            &prompt,
            6,
            None,
            Instant::now(),
            false,
        )
        .unwrap()
        .tokens[0]
            .clone();

        let load = Arc::new(move || backend.load(&source, &options));
        let generator = Arc::new(DecoderGenerator::start(1, load).unwrap());
        let request = GenerationRequest {
            prompt: Prompt::Tokens(ids),
            max_tokens: 6,
            ignore_eos: true,
        };
        let rt = runtime().unwrap();
        let d = drive(
            &rt,
            generator,
            vec![request; 3],
            &Plan::Schedule(vec![0; 3]),
        );
        let mut first_token_ns = Vec::new();
        for r in &d.records {
            let g = r.outcome.as_ref().unwrap();
            let tokens: Vec<i64> = g.events.iter().flat_map(|e| e.ids.clone()).collect();
            assert_eq!(
                tokens, direct,
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
}
