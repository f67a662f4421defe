//! A case's generator, made once and kept warm for `inferbench monitor`:
//! the endpoint client of a served model, or the model loaded into this
//! process behind one decoding lane ([`with_lanes`]), with the requests the
//! case's workload sends and, where the case has a reference, the judge of
//! each answer. Past this point nothing asks which of the two it probes.
//!
//! An in-process model runs in a thread of the monitor, not in a worker
//! process as `inferbench run` does: `run` isolates a case to measure its
//! peak memory alone and survive a crash, while a monitor holds its models
//! for its whole life, where a worker process would only add a protocol
//! per probe.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use inferbench_backend::{BackendError, GenerationRequest, Generator, LoadOptions};
use inferbench_openai::{Api, EndpointClient};

use super::protocol::WorkerJob;
use super::{checkpoint, job_for, skip_reason, worker};
use crate::generation::in_process::{Lanes, with_lanes};
use crate::generation::load::reference_continuation;
use crate::generation::served;
use crate::monitor::judge::Judge;
use crate::scenario::{Case, GenerationCase, ReferenceKind};

/// What a probe loop drives.
pub struct Warm {
    pub generator: Arc<dyn Generator>,
    pub requests: Vec<GenerationRequest>,
    pub judge: Option<Judge>,
}

/// Makes the case's generator and runs `work` with it; an in-process model
/// stays loaded until `work` returns.
pub fn with_generator<R: Send>(
    case: &Case,
    cache_dir: &Path,
    max_in_flight: usize,
    work: impl FnOnce(Warm) -> R + Send,
) -> Result<R, BackendError> {
    if let Some(reason) = skip_reason(case) {
        return Err(BackendError::Unsupported(reason));
    }
    let Some(g) = &case.generation else {
        return Err(BackendError::Unsupported(
            "`inferbench monitor` probes generation workloads: give the case a [generation] table"
                .into(),
        ));
    };
    let job = job(case, cache_dir)?;
    match &case.endpoint {
        Some(endpoint) => {
            let mut timeout_s = endpoint.timeout_s;
            if let Some(ms) = g.timeout_ms {
                timeout_s = timeout_s.min(ms * 1e-3);
            }
            let timeout = Duration::from_secs_f64(timeout_s);
            let client = EndpointClient::new(endpoint, max_in_flight, timeout)?;
            let requests = served::requests(case, g, endpoint)?;
            let raw = endpoint.api == Api::Completions;
            let judge = match job {
                Some(job) if raw => served_judge(&job, g, &requests)?,
                _ => None,
            };
            let generator: Arc<dyn Generator> = Arc::new(client);
            Ok(work(Warm {
                generator,
                requests,
                judge,
            }))
        }
        None => match job {
            Some(job) => in_process(&job, g, work),
            None => Err(BackendError::Load("the case's model has no weights".into())),
        },
    }
}

/// The worker job of the case's model: its converted weights (a served
/// case has one only when `[model]` names the checkpoint it serves).
fn job(case: &Case, cache_dir: &Path) -> Result<Option<WorkerJob>, BackendError> {
    let served_without_model = case.endpoint.is_some() && case.model.llama.is_none();
    if served_without_model {
        return Ok(None);
    }
    job_for(case, cache_dir, 0.0)
        .map(Some)
        .map_err(BackendError::Load)
}

/// The model loaded here behind one decoding lane.
fn in_process<R: Send>(
    job: &WorkerJob,
    g: &GenerationCase,
    work: impl FnOnce(Warm) -> R + Send,
) -> Result<R, BackendError> {
    let case = &job.case;
    if case.model.file.is_none() && job.llama.is_none() && job.encoder.is_none() {
        crate::model::synthetic::ensure_weights_at(&job.weights, &case.model.spec)
            .map_err(|e| BackendError::Load(super::error_chain(&e)))?;
    }
    let backend = crate::registry::backend_for(&case.backend)?;
    let source = worker::model_source(job)?;
    let options = LoadOptions {
        device: case.device,
        precision: case.precision,
        threads: case.threads,
        options: case.options.clone(),
    };
    let mut session = backend.load(&source, &options)?;
    let codec = checkpoint::codec(job)?;
    let prepared = checkpoint::requests(job, codec.as_ref(), g)?;
    let judge = match checkpoint::reference(job) {
        Some(reference) if !prepared.prompts.is_empty() => Some(Judge {
            expected: prepared
                .prompts
                .iter()
                .map(|p| reference_continuation(&reference, p, g.gen_len, prepared.eos))
                .collect::<Result<_, _>>()?,
            codec: None,
        }),
        _ => None,
    };
    let requests = prepared.all(case, g);
    let load = || backend.load(&source, &options);
    let lanes = Lanes {
        first: session.as_mut(),
        extra: 0,
        load: &load,
        batch: 1,
        eos: prepared.eos,
    };
    with_lanes(lanes, move |generator| {
        work(Warm {
            generator,
            requests,
            judge,
        })
    })
}

/// The reference's continuation of each raw text prompt a served case
/// sends, when `[model]` names the served checkpoint with an f64 reference.
fn served_judge(
    job: &WorkerJob,
    g: &GenerationCase,
    requests: &[GenerationRequest],
) -> Result<Option<Judge>, BackendError> {
    let (Some(reference), Some(codec)) = (checkpoint::reference(job), checkpoint::codec(job)?)
    else {
        return Ok(None);
    };
    if job.case.reference != ReferenceKind::F64 || g.prompts.is_empty() {
        return Ok(None);
    }
    // Without a codec, only where the requests stop.
    let eos = checkpoint::requests(job, None, g)?.eos;
    let mut expected = Vec::new();
    for request in requests.iter().take(g.prompts.len()) {
        let text = served::shown(&request.prompt);
        let prompt: Vec<i64> = codec.encode(&text)?.into_iter().map(i64::from).collect();
        expected.push(reference_continuation(&reference, &prompt, g.gen_len, eos)?);
    }
    Ok(Some(Judge {
        expected,
        codec: Some(codec),
    }))
}
