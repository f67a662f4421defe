//! What runs inside a case's worker process: load, warm up, measure, check
//! accuracy. Everything it learns goes into a [`WorkerReport`], written even
//! when a phase fails, so measured samples are never lost.

use std::time::Instant;

use inferbench_backend::{
    BackendError, EncoderBatch, LoadOptions, ModelSource, NamedTensor, Session, TokenBatch,
};

use super::checkpoint;
use super::measurement::{self, Measurement};
use super::memory::peak_rss_bytes;
use super::protocol::{EncoderTokens, Outcome, Series, WorkerJob, WorkerReport};
use super::references;
use super::slowdown::SlowedSession;
use crate::accuracy::{self, AccuracyDeltas};
use crate::generation::{GenerationReference, GenerationSetup, run_generation};
use crate::model::encoder;
use crate::model::inputs::token_batch;
use crate::model::named_inputs::{self, InputBinding};
use crate::model::perplexity::Perplexity;
use crate::model::synthetic::cached_forward;
use crate::model::text::TextCodec;
use crate::registry::backend_for;
use crate::scenario::{Case, ReferenceKind};

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Runs one case to the end and reports; never panics on backend errors.
pub fn execute(job: &WorkerJob) -> WorkerReport {
    let mut report = WorkerReport::empty();
    if let Err(e) = execute_into(job, &mut report) {
        report.outcome = if e.is_skip() {
            Outcome::Skipped(e.to_string())
        } else {
            Outcome::Error(e.to_string())
        };
    }
    report
}

/// The inputs a case's session was prepared with: token ids for the
/// synthetic GPT, named tensors for a model file.
enum PreparedInputs {
    Tokens(TokenBatch),
    Named(Vec<NamedTensor>),
    Encoder(EncoderBatch),
}

pub(super) fn model_source(job: &WorkerJob) -> Result<ModelSource, BackendError> {
    if let Some(encoder) = &job.encoder {
        return Ok(ModelSource::Bert {
            config: encoder.config.clone(),
            weights: job.weights.clone(),
            pooling: encoder.pooling,
            cache_dir: job.spec_dir.clone(),
        });
    }
    if let (Some(config), Some(checkpoint)) = (&job.llama, &job.case.model.llama) {
        return Ok(ModelSource::Llama {
            config: config.clone(),
            weights: job.weights.clone(),
            gguf: (checkpoint.format == crate::scenario::CheckpointFormat::Gguf)
                .then(|| checkpoint.path.clone()),
            cache_dir: job.spec_dir.clone(),
        });
    }
    match &job.case.model.file {
        Some(file) => references::file_source(&file.path),
        None => Ok(ModelSource::SyntheticGpt {
            spec: job.case.model.spec,
            weights: job.weights.clone(),
            cache_dir: job.spec_dir.clone(),
        }),
    }
}

fn prepare(
    session: &mut dyn Session,
    job: &WorkerJob,
    codec: Option<&TextCodec>,
) -> Result<PreparedInputs, BackendError> {
    let case = &job.case;
    if let Some(encoder) = &job.encoder {
        let sentences = match &case.sentences {
            Some(inputs) => Some((read_sentences(&inputs.path)?, inputs.padding)),
            None => None,
        };
        let sentences = sentences.as_ref().map(|(s, p)| (s.as_slice(), *p));
        let input = encoder::encoder_batch(
            encoder,
            sentences,
            case.batch,
            case.seq_len,
            case.input_seed,
        )
        .map_err(BackendError::Load)?;
        session.prepare_encoder(&input)?;
        return Ok(PreparedInputs::Encoder(input));
    }
    let Some(file) = &case.model.file else {
        let input = match checkpoint::text_input(job, codec)? {
            Some(windows) => windows,
            None => {
                let vocab = job
                    .llama
                    .as_ref()
                    .map_or(case.model.spec.vocab_size, |c| c.vocab_size);
                token_batch(vocab, case.batch, case.seq_len, case.input_seed)
            }
        };
        session.prepare(&input)?;
        return Ok(PreparedInputs::Tokens(input));
    };
    let binding = InputBinding {
        batch: case.batch,
        seq_len: case.seq_len,
        dims: &file.dims,
        vocab_size: file.vocab_size,
        seed: case.input_seed,
    };
    let inputs = named_inputs::generate(&session.inputs(), &binding)
        .map_err(|m| BackendError::Load(format!("inputs of {}: {m}", file.path.display())))?;
    session.prepare_named(&inputs)?;
    Ok(PreparedInputs::Named(inputs))
}

/// The sentences of `[inputs] sentences` (checked at load time; read again
/// here, where they are used).
fn read_sentences(path: &std::path::Path) -> Result<Vec<String>, BackendError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BackendError::Load(format!("cannot read {}: {e}", path.display())))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect())
}

/// The phases of a case in order: load, then a generation workload or a
/// forward pass (warm-up, measured loop, accuracy). Each phase writes what
/// it learned into `report` before the next can fail.
fn execute_into(job: &WorkerJob, report: &mut WorkerReport) -> Result<(), BackendError> {
    let case = &job.case;
    let backend = backend_for(&case.backend)?;
    if let inferbench_backend::BackendStatus::Ready { runtime_version } = backend.status() {
        report.runtime_version = Some(runtime_version);
    }
    if let (Some(endpoint), Some(g)) = (&case.endpoint, &case.generation) {
        // A served model: nothing to load in this process.
        let t = Instant::now();
        let outcome = crate::generation::served::run_endpoint(case, g, endpoint)?;
        report.measure_ms = ms_since(t);
        report.series = vec![Series::wall_ns(outcome.e2e_ns)];
        // The measured figures are in the report before the reference runs.
        let summary = report.generation.insert(outcome.summary);
        return checkpoint::served_agreement(job, g, summary);
    }
    if case.model.file.is_none() && job.llama.is_none() && job.encoder.is_none() {
        crate::model::synthetic::ensure_weights_at(&job.weights, &case.model.spec)
            .map_err(|e| BackendError::Load(super::error_chain(&e)))?;
    }
    let source = model_source(job)?;
    let kind = source.kind();
    if !backend.capabilities().takes(kind) {
        return Err(BackendError::Unsupported(format!(
            "backend `{}` does not run {kind}",
            backend.name()
        )));
    }
    let options = LoadOptions {
        device: case.device,
        precision: case.precision,
        threads: case.threads,
        options: case.options.clone(),
    };
    let mut session = load(backend.as_ref(), &source, &options, job, report)?;
    let codec = checkpoint::codec(job)?;
    match &case.generation {
        Some(g) => {
            let loaded = Loaded {
                backend: backend.as_ref(),
                source: &source,
                options: &options,
                codec: codec.as_ref(),
            };
            generate(session.as_mut(), &loaded, job, g, report)
        }
        None => forward_pass(session.as_mut(), job, codec.as_ref(), report),
    }
}

/// Loads the session, timed, with its sizes recorded.
fn load(
    backend: &dyn inferbench_backend::Backend,
    source: &ModelSource,
    options: &LoadOptions,
    job: &WorkerJob,
    report: &mut WorkerReport,
) -> Result<Box<dyn Session>, BackendError> {
    report.load_started_at_unix_ns = Some(crate::time::unix_nanos());
    let t = Instant::now();
    let mut session = backend.load(source, options)?;
    if job.inject_slowdown_pct > 0.0 {
        session = Box::new(SlowedSession::new(session, job.inject_slowdown_pct));
    }
    report.load_ms = Some(ms_since(t));
    report.weight_bytes = session.weight_bytes();
    report.model_file_bytes = session.model_file_bytes();
    Ok(session)
}

/// What a generation workload needs of the loaded model besides its session.
struct Loaded<'a> {
    backend: &'a dyn inferbench_backend::Backend,
    source: &'a ModelSource,
    options: &'a LoadOptions,
    codec: Option<&'a TextCodec>,
}

/// A generation workload on the loaded session, with its reference.
fn generate(
    session: &mut dyn Session,
    loaded: &Loaded,
    job: &WorkerJob,
    g: &crate::scenario::GenerationCase,
    report: &mut WorkerReport,
) -> Result<(), BackendError> {
    let case = &job.case;
    if case.model.file.is_some() || job.encoder.is_some() {
        return Err(BackendError::Unsupported(
            "generation workloads run the synthetic GPT and Llama checkpoints, not model files or encoders"
                .into(),
        ));
    }
    let llama_reference = checkpoint::reference(job);
    let setup = GenerationSetup {
        backend: loaded.backend,
        source: loaded.source,
        options: loaded.options,
        requests: checkpoint::requests(job, loaded.codec, g)?,
        reference: match (&llama_reference, case.reference) {
            (Some(r), _) => GenerationReference::Llama(r),
            (None, ReferenceKind::F64) if job.llama.is_none() => {
                GenerationReference::Gpt(&job.weights)
            }
            _ => GenerationReference::None,
        },
        codec: loaded.codec,
    };
    let t = Instant::now();
    let outcome = run_generation(session, &setup, case, g)?;
    report.measure_ms = ms_since(t);
    report.peak_rss_bytes = outcome.peak_rss_bytes;
    report.series = vec![Series::wall_ns(outcome.e2e_ns)];
    report.accuracy = outcome.accuracy;
    report.generation = Some(outcome.summary);
    Ok(())
}

/// A forward-pass case: inputs, warm-up, the measured loop, then the
/// outputs checked for non-finite values and against the reference.
fn forward_pass(
    session: &mut dyn Session,
    job: &WorkerJob,
    codec: Option<&TextCodec>,
    report: &mut WorkerReport,
) -> Result<(), BackendError> {
    let case = &job.case;
    let input = prepare(session, job, codec)?;
    if let PreparedInputs::Encoder(batch) = &input {
        report.encoder_tokens = Some(EncoderTokens {
            real: batch.lengths().iter().sum::<usize>() as u64,
            computed: batch.tokens() as u64,
        });
    }
    let t = Instant::now();
    while report.warmup_iterations < case.warmup.iterations
        || t.elapsed().as_secs_f64() < case.warmup.seconds
    {
        session.run()?;
        report.warmup_iterations += 1;
    }
    report.warmup_ms = ms_since(t);

    let t = Instant::now();
    let measured = measure(session, case, &measurement::standard(), &mut report.series);
    report.measure_ms = ms_since(t);
    report.peak_rss_bytes = peak_rss_bytes();
    measured?;

    report.nonfinite_outputs = Some(
        session
            .outputs()?
            .iter()
            .flat_map(|t| &t.data)
            .filter(|x| !x.is_finite())
            .count() as u64,
    );
    let t = Instant::now();
    report.accuracy = accuracy_of(session, job, &input, &mut report.perplexity)?;
    report.accuracy_ms = ms_since(t);
    Ok(())
}

/// The case's outputs against its reference (none, f64, golden files or
/// another case); perplexity on text windows is stored in `perplexity`.
fn accuracy_of(
    session: &mut dyn Session,
    job: &WorkerJob,
    input: &PreparedInputs,
    perplexity: &mut Option<Perplexity>,
) -> Result<Option<AccuracyDeltas>, BackendError> {
    let case = &job.case;
    Ok(match (case.reference, input) {
        (ReferenceKind::None, PreparedInputs::Tokens(tokens)) => {
            *perplexity = unreferenced_perplexity(session, job, tokens)?;
            None
        }
        (ReferenceKind::None, _) => None,
        (ReferenceKind::F64, PreparedInputs::Tokens(tokens)) => {
            let (deltas, ppl) = check_accuracy(session, job, tokens)?;
            *perplexity = ppl;
            Some(deltas)
        }
        (ReferenceKind::F64, PreparedInputs::Encoder(batch)) => {
            Some(encoder_accuracy(session, job, batch)?)
        }
        (ReferenceKind::Golden, _) => {
            let folder = case.golden.as_deref().ok_or_else(|| {
                BackendError::Run("`reference = \"golden\"` without a folder".into())
            })?;
            Some(references::against_golden(session, folder)?)
        }
        (ReferenceKind::Case, PreparedInputs::Named(inputs)) => {
            let reference = case.reference_case.as_ref().ok_or_else(|| {
                BackendError::Run("`reference = \"case\"` without `reference_case`".into())
            })?;
            Some(references::against_case(session, case, reference, inputs)?)
        }
        (kind, _) => {
            return Err(BackendError::Run(format!(
                "reference {kind:?} does not apply to this model"
            )));
        }
    })
}

/// The measured loop: until both minimums are met, never past a maximum.
/// Each pass is read by every measurement in `clocks` (outermost first)
/// and appended to its series as it is taken, so a failure keeps those
/// before it.
pub fn measure(
    session: &mut dyn Session,
    case: &Case,
    clocks: &[&dyn Measurement],
    series: &mut Vec<Series>,
) -> Result<(), BackendError> {
    let first = series.len();
    series.extend(clocks.iter().map(|c| c.series()));
    let mut readings = vec![0u64; clocks.len()];
    let m = &case.measurement;
    let started = Instant::now();
    loop {
        let elapsed = started.elapsed().as_secs_f64();
        let n = series[first].values.len() as u64;
        let minimums_met = n >= m.min_iterations && elapsed >= m.min_seconds;
        if minimums_met || n >= m.max_iterations || (elapsed >= m.max_seconds && n > 0) {
            return Ok(());
        }
        for (reading, clock) in readings.iter_mut().zip(clocks) {
            *reading = clock.start();
        }
        session.run()?;
        // Innermost clock first, so each brackets only the pass.
        for (i, clock) in clocks.iter().enumerate().rev() {
            series[first + i].values.push(clock.end(readings[i]));
        }
    }
}

/// The logits of a forward pass against the f64 reference's, and for text
/// inputs the perplexity of both on the windows.
fn check_accuracy(
    session: &mut dyn Session,
    job: &WorkerJob,
    input: &TokenBatch,
) -> Result<(AccuracyDeltas, Option<Perplexity>), BackendError> {
    let case = &job.case;
    let logits = first_output(session)?;
    let reference = match checkpoint::reference(job) {
        Some(llama) => llama.batch_logits(input)?,
        None => cached_forward(
            &case.model.spec,
            &job.weights,
            &job.spec_dir,
            input,
            case.input_seed,
        )
        .map_err(|e| BackendError::Run(format!("reference: {e}")))?,
    };
    let vocab = reference.vocab_size;
    let mut deltas = accuracy::compare(&reference.data, &logits.data, vocab).ok_or_else(|| {
        BackendError::Run(format!(
            "logits have shape {:?}, expected [{}, {}, {vocab}]",
            logits.shape, case.batch, case.seq_len
        ))
    })?;
    if case.text.is_some() {
        let perplexity = checkpoint::text_perplexity(&logits, input, vocab, Some(&reference));
        deltas.ppl_ratio = perplexity.and_then(|p| p.ratio());
        return Ok((deltas, perplexity));
    }
    deltas.ppl_ratio = accuracy::perplexity_ratio(
        &reference.data,
        &logits.data,
        vocab,
        &input.ids,
        input.seq_len,
    );
    Ok((deltas, None))
}

/// An encoder's outputs against the f64 reference BERT's (cached) states.
fn encoder_accuracy(
    session: &mut dyn Session,
    job: &WorkerJob,
    batch: &EncoderBatch,
) -> Result<AccuracyDeltas, BackendError> {
    let encoder = job
        .encoder
        .as_ref()
        .ok_or_else(|| BackendError::Run("an encoder batch without an encoder".into()))?;
    let reference = encoder::reference_states(encoder, &job.weights, &job.spec_dir, batch)
        .map_err(|e| BackendError::Run(format!("reference: {e}")))?;
    encoder::compare(&session.outputs()?, batch, &reference, encoder.pooling)
}

/// Perplexity on text windows when no reference runs.
fn unreferenced_perplexity(
    session: &mut dyn Session,
    job: &WorkerJob,
    input: &TokenBatch,
) -> Result<Option<Perplexity>, BackendError> {
    let (Some(_), Some(config)) = (&job.case.text, &job.llama) else {
        return Ok(None);
    };
    let logits = first_output(session)?;
    Ok(checkpoint::text_perplexity(
        &logits,
        input,
        config.vocab_size,
        None,
    ))
}

fn first_output(session: &mut dyn Session) -> Result<inferbench_backend::HostTensor, BackendError> {
    session
        .outputs()?
        .into_iter()
        .next()
        .ok_or_else(|| BackendError::Run("the backend returned no outputs".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::synthetic::{ensure_weights, spec_dir};
    use crate::scenario::{
        AccuracyLimits, GenerationCase, LoadPattern, Measurement, ModelCase, Warmup,
    };
    use inferbench_backend::{Device, GptSpec, Precision, TensorData};

    pub(crate) fn job(backend: &str, precision: Precision, cache: &std::path::Path) -> WorkerJob {
        let spec = GptSpec {
            vocab_size: 96,
            hidden: 32,
            layers: 2,
            heads: 4,
            max_seq: 16,
            seed: 3,
        };
        let case = Case {
            scenario: "test".into(),
            group: None,
            id: "test".into(),
            backend: backend.into(),
            device: Device::Cpu,
            precision,
            batch: 2,
            seq_len: 12,
            threads: 1,
            model: ModelCase {
                name: "tiny".into(),
                spec,
                file: None,
                llama: None,
                encoder: None,
            },
            warmup: Warmup {
                iterations: 1,
                seconds: 0.0,
            },
            measurement: Measurement {
                min_iterations: 3,
                min_seconds: 0.0,
                max_iterations: 3,
                max_seconds: 10.0,
            },
            input_seed: 1,
            text: None,
            sentences: None,
            reference: ReferenceKind::F64,
            golden: None,
            reference_case: None,
            limits: AccuracyLimits::default(),
            options: Default::default(),
            generation: None,
            endpoint: None,
            monitor: None,
        };
        WorkerJob {
            llama: None,
            tokenizer_dir: None,
            encoder: None,
            weights: ensure_weights(cache, &spec).unwrap(),
            spec_dir: spec_dir(cache, &spec),
            case,
            inject_slowdown_pct: 0.0,
        }
    }

    /// The case measured, with a rel L2 inside `(floor, ceiling)`: above
    /// the floor, so the precision really ran, below the tolerance.
    fn measured_within(
        report: &WorkerReport,
        label: &str,
        (floor, ceiling): (f64, f64),
    ) -> AccuracyDeltas {
        assert_eq!(report.outcome, Outcome::Measured, "{label}");
        let acc = report
            .accuracy
            .expect("a measured case has accuracy figures");
        assert!(
            acc.rel_l2 < ceiling && acc.rel_l2 > floor,
            "{label}: rel L2 {}",
            acc.rel_l2
        );
        acc
    }

    /// The case errored, and says `text`.
    fn assert_error(report: &WorkerReport, text: &str) {
        let ok = matches!(&report.outcome, Outcome::Error(m) if m.contains(text));
        assert!(
            ok,
            "expected an error naming {text:?}: {:?}",
            report.outcome
        );
    }

    /// The case was skipped, and says `text`.
    fn assert_skipped(report: &WorkerReport, text: &str) {
        let ok = matches!(&report.outcome, Outcome::Skipped(m) if m.contains(text));
        assert!(ok, "expected a skip naming {text:?}: {:?}", report.outcome);
    }

    /// Runs `backend` in f32 and checks it against the f64 reference;
    /// returns the report for backend-specific checks.
    fn assert_f32_matches_the_reference(backend: &str) -> WorkerReport {
        let cache = tempfile::tempdir().unwrap();
        let report = execute(&job(backend, Precision::F32, cache.path()));
        assert_eq!(report.outcome, Outcome::Measured);
        assert_eq!((report.wall_ns().len(), report.warmup_iterations), (3, 1));
        let acc = report.accuracy.as_ref().unwrap();
        assert!(acc.rel_l2 < 1e-5, "{backend}: rel L2 {}", acc.rel_l2);
        assert_eq!(acc.top1, 1.0);
        assert!(report.peak_rss_bytes.unwrap() > 0 && report.load_ms.unwrap() > 0.0);
        report
    }

    /// f16 has an 11-bit significand, bf16 8 bits: relative errors of a
    /// few 1e-3 and 1e-2 through two blocks are what those formats give.
    fn assert_half_precisions_stay_within_their_tolerance(backend: &str) {
        let cache = tempfile::tempdir().unwrap();
        for (precision, tolerance) in [(Precision::F16, 1e-2), (Precision::Bf16, 5e-2)] {
            let report = execute(&job(backend, precision, cache.path()));
            measured_within(
                &report,
                &format!("{backend} {precision}"),
                (1e-6, tolerance),
            );
        }
    }

    #[test]
    fn candle_f32_matches_the_f64_reference() {
        assert_f32_matches_the_reference("candle");
    }

    #[test]
    fn ort_f32_matches_the_f64_reference() {
        // Needs the library from `ci/setup.sh`; `ci/test.sh` runs it first.
        let cache = tempfile::tempdir().unwrap();
        let job = job("ort", Precision::F32, cache.path());
        let report = execute(&job);
        assert_eq!(report.outcome, Outcome::Measured, "run `bash ci/setup.sh`");
        let version = report.runtime_version.clone().unwrap();
        assert!(
            version.contains(inferbench_ort::library::ORT_VERSION),
            "{version}"
        );
        assert_eq!(report.wall_ns().len(), 3);
        let acc = report.accuracy.unwrap();
        assert!(acc.rel_l2 < 1e-5, "rel L2 {}", acc.rel_l2);
        assert_eq!(acc.top1, 1.0);
        // The exported graph is cached beside the weights, keyed by the spec.
        let onnx = job
            .spec_dir
            .join(inferbench_ort::onnx::gpt_file_name(&job.case.model.spec));
        assert!(onnx.is_file(), "{}", onnx.display());
    }

    /// A job running the sample masked-embedding model (int64 `input_ids`
    /// and `attention_mask`, symbolic `batch` and `sequence`) on ORT.
    fn file_job(dir: &std::path::Path, reference: ReferenceKind) -> WorkerJob {
        use inferbench_ort::onnx::samples::masked_embedding;
        let path = dir.join("model.onnx");
        std::fs::write(&path, masked_embedding(11, 4, 1.0)).unwrap();
        let mut job = job("ort", Precision::F32, dir);
        job.case.model.file = Some(crate::scenario::ModelFile {
            path: path.clone(),
            dims: Default::default(),
            vocab_size: Some(11),
        });
        job.case.reference = reference;
        job
    }

    fn tensor(name: &str, shape: &[usize], data: TensorData) -> NamedTensor {
        NamedTensor {
            name: name.into(),
            element_type: match data {
                TensorData::Int(_) => inferbench_backend::ElementType::I64,
                TensorData::Float(_) => inferbench_backend::ElementType::F32,
            },
            shape: shape.to_vec(),
            data,
        }
    }

    #[test]
    fn ort_runs_a_user_model_against_golden_outputs() {
        use inferbench_ort::onnx::samples::embedding_table;
        use inferbench_ort::onnx::test_data::write_tensor;
        let dir = tempfile::tempdir().unwrap();
        let mut job = file_job(dir.path(), ReferenceKind::Golden);
        // Golden data of another shape than the measured [2, 12]: the
        // reference run uses the stored inputs.
        let golden = dir.path().join("test_data_set_0");
        std::fs::create_dir(&golden).unwrap();
        let (ids, mask) = ([1i64, 2, 3, 10, 0, 5], [1i64, 1, 0, 1, 1, 1]);
        let table = embedding_table(11, 4, 1.0);
        let expected: Vec<f32> = ids
            .iter()
            .zip(mask)
            .flat_map(|(&i, m)| {
                let row = &table[i as usize * 4..(i as usize + 1) * 4];
                row.iter().map(move |&x| x * m as f32)
            })
            .collect();
        let files = [
            (
                "input_0.pb",
                tensor("input_ids", &[2, 3], TensorData::Int(ids.to_vec())),
            ),
            (
                "input_1.pb",
                tensor("attention_mask", &[2, 3], TensorData::Int(mask.to_vec())),
            ),
            (
                "output_0.pb",
                tensor("embeddings", &[2, 3, 4], TensorData::Float(expected)),
            ),
        ];
        for (name, t) in &files {
            write_tensor(&golden.join(name), t).unwrap();
        }
        job.case.golden = Some(golden.clone());
        let report = execute(&job);
        assert_eq!(report.outcome, Outcome::Measured);
        assert_eq!(report.wall_ns().len(), 3);
        let acc = report.accuracy.unwrap();
        assert_eq!((acc.max_abs, acc.top1), (0.0, 1.0));

        // A wrong golden value is seen.
        let mut wrong = files[2].1.clone();
        if let TensorData::Float(v) = &mut wrong.data {
            v[5] += 1.0;
        }
        write_tensor(&golden.join("output_0.pb"), &wrong).unwrap();
        let acc = execute(&job).accuracy.unwrap();
        assert!((acc.max_abs - 1.0).abs() < 1e-6, "{acc:?}");
    }

    #[test]
    fn ort_compares_a_user_model_with_a_reference_case() {
        use inferbench_ort::onnx::samples::masked_embedding;
        let dir = tempfile::tempdir().unwrap();
        let mut job = file_job(dir.path(), ReferenceKind::Case);
        // The reference file's table is 0.1% larger: rel L2 is exactly 1e-3.
        let other = dir.path().join("reference.onnx");
        std::fs::write(&other, masked_embedding(11, 4, 1.001)).unwrap();
        job.case.reference_case = Some(crate::scenario::ReferenceCase {
            backend: "ort".into(),
            device: Device::Cpu,
            precision: Precision::F32,
            file: other,
        });
        let report = execute(&job);
        assert_eq!(report.outcome, Outcome::Measured);
        let acc = report.accuracy.unwrap();
        assert!((acc.rel_l2 / (0.001 / 1.001) - 1.0).abs() < 1e-3, "{acc:?}");

        // Token ids need their range.
        job.case.model.file.as_mut().unwrap().vocab_size = None;
        let report = execute(&job);
        assert_error(&report, "`input_ids` takes token ids");
    }

    #[test]
    fn candle_half_precisions_stay_within_their_tolerance() {
        assert_half_precisions_stay_within_their_tolerance("candle");
    }

    #[test]
    fn candle_quantized_levels_stay_within_their_tolerance() {
        // Tolerances from GGUF's formats on this model: Q8_0 keeps ~8 bits
        // per weight, Q4_0 ~4; errors grow accordingly and stay ordered.
        let cache = tempfile::tempdir().unwrap();
        let mut errors = Vec::new();
        for (precision, max_rel_l2) in [(Precision::Q8_0, 0.02), (Precision::Q4_0, 0.2)] {
            let report = execute(&job("candle", precision, cache.path()));
            let acc = measured_within(&report, &format!("{precision}"), (1e-5, max_rel_l2));
            assert!(
                acc.ppl_ratio.unwrap() > 0.5 && acc.ppl_ratio.unwrap() < 2.0,
                "{precision}: {acc:?}"
            );
            // The quantized model is read back from its GGUF file.
            let gguf = job("candle", precision, cache.path())
                .spec_dir
                .join(format!("model-{precision}.gguf"));
            assert_eq!(
                report.model_file_bytes,
                Some(std::fs::metadata(&gguf).unwrap().len()),
                "{precision}"
            );
            errors.push((acc.rel_l2, report.weight_bytes.unwrap()));
        }
        assert!(
            errors[0].0 < errors[1].0,
            "q8_0 must be more accurate than q4_0: {errors:?}"
        );
        assert!(
            errors[0].1 > errors[1].1,
            "q4_0 weights must be smaller: {errors:?}"
        );
        // Q4_K packs 256 inputs per block; this model is 32 wide.
        let report = execute(&job("candle", Precision::Q4K, cache.path()));
        assert_skipped(&report, "256");
    }

    fn generation_job(pattern: LoadPattern, cache: &std::path::Path) -> WorkerJob {
        generation_job_on("candle", pattern, cache)
    }

    fn generation_job_on(
        backend: &str,
        pattern: LoadPattern,
        cache: &std::path::Path,
    ) -> WorkerJob {
        let mut j = job(backend, Precision::F32, cache);
        j.case.batch = 2;
        j.case.generation = Some(GenerationCase {
            prompt_len: 6,
            gen_len: 8,
            requests: 4,
            pattern,
            rate: Some(50.0),
            slo: Default::default(),
            burstiness: 1.0,
            ignore_eos: true,
            prompts: Vec::new(),
            search_rate: false,
            concurrency: 2,
            seed: 1,
            timeout_ms: None,
            max_error_rate: None,
        });
        j
    }

    #[test]
    fn kv_cache_decoding_matches_full_recomputation() {
        // Every token's logits from the KV-cache decoder against the f64
        // model recomputed over the whole prefix.
        let cache = tempfile::tempdir().unwrap();
        for pattern in [LoadPattern::SingleStream, LoadPattern::Offline] {
            let report = execute(&generation_job(pattern, cache.path()));
            assert_eq!(report.outcome, Outcome::Measured, "{pattern:?}");
            let acc = report.accuracy.unwrap();
            assert!(acc.rel_l2 < 1e-5, "{pattern:?}: rel L2 {}", acc.rel_l2);
            assert_eq!(acc.top1, 1.0);
            let g = report.generation.clone().unwrap();
            assert_eq!(
                (g.requests, g.errors, g.output_tokens),
                (4, 0, 32),
                "{pattern:?}"
            );
            assert_eq!(g.first_request_tokens.len(), 8);
            let (ttft, tpot) = (g.ttft_ms.unwrap(), g.tpot_ms.unwrap());
            assert!(ttft.p50 > 0.0 && tpot.p50 > 0.0 && g.output_tokens_per_s > 0.0);
            assert_eq!(report.wall_ns().len(), 4);
        }
    }

    #[test]
    fn ort_kv_cache_decoding_matches_full_recomputation_and_candle() {
        // The ORT decoder graph (past/present key-value tensors, prefill
        // with an empty past) against the f64 model over the whole prefix,
        // and its greedy tokens against candle's on the same weights.
        let cache = tempfile::tempdir().unwrap();
        let candle = execute(&generation_job(LoadPattern::SingleStream, cache.path()));
        let candle_tokens = candle.generation.unwrap().first_request_tokens;
        for pattern in [LoadPattern::SingleStream, LoadPattern::Offline] {
            let job = generation_job_on("ort", pattern, cache.path());
            let report = execute(&job);
            assert_eq!(report.outcome, Outcome::Measured, "{pattern:?}");
            let acc = report.accuracy.unwrap();
            assert!(acc.rel_l2 < 1e-5, "{pattern:?}: rel L2 {}", acc.rel_l2);
            assert_eq!(acc.top1, 1.0);
            let g = report.generation.unwrap();
            assert_eq!((g.requests, g.errors, g.output_tokens), (4, 0, 32));
            assert_eq!(g.first_request_tokens, candle_tokens, "{pattern:?}");
            // Tokens that do not all repeat: the cache really moves on.
            assert!(candle_tokens.iter().any(|&t| t != candle_tokens[0]));
        }
        let decoder = job("ort", Precision::F32, cache.path()).spec_dir.join(
            inferbench_ort::onnx::gpt_variant_file_name(
                &job("ort", Precision::F32, cache.path()).case.model.spec,
                inferbench_ort::onnx::Export {
                    format: inferbench_ort::onnx::WeightFormat::F32,
                    kv_cache: true,
                },
            ),
        );
        assert!(decoder.is_file(), "{}", decoder.display());

        // The f16 decoder (f16 cache) and the int8 one, within the forward
        // pass's tolerances at every step.
        for (precision, max_rel_l2) in [(Precision::F16, 5e-3), (Precision::Int8, 5e-2)] {
            let mut job = generation_job_on("ort", LoadPattern::SingleStream, cache.path());
            job.case.precision = precision;
            let report = execute(&job);
            measured_within(&report, &format!("{precision}"), (1e-6, max_rel_l2));
            assert_eq!(report.generation.unwrap().output_tokens, 32, "{precision}");
        }
    }

    #[test]
    fn ort_f16_and_int8_stay_within_their_tolerance() {
        // f16 weights and KV cache, f32 arithmetic: rel L2 ~5e-4 measured,
        // bound 5e-3. int8: per-column 8-bit weights and per-tensor 8-bit
        // activations in every linear layer: ~1.6e-2 measured, bound 5e-2.
        let cache = tempfile::tempdir().unwrap();
        let f32_report = execute(&job("ort", Precision::F32, cache.path()));
        let f32_weights = f32_report.weight_bytes.unwrap();
        for (precision, max_rel_l2, min_top1) in
            [(Precision::F16, 5e-3, 0.95), (Precision::Int8, 5e-2, 0.9)]
        {
            let report = execute(&job("ort", precision, cache.path()));
            let acc = measured_within(&report, &format!("{precision}"), (1e-5, max_rel_l2));
            assert!(acc.top1 >= min_top1, "{precision}: {acc:?}");
            // A smaller file; smaller weights in memory for int8 only, as
            // ORT folds f16 weights' Casts into f32 initializers at load.
            let weights = report.weight_bytes.unwrap();
            match precision {
                Precision::F16 => assert_eq!(weights, f32_weights),
                _ => assert!(weights < f32_weights / 2, "{weights} of {f32_weights}"),
            }
            assert!(
                report.model_file_bytes.unwrap() < f32_report.model_file_bytes.unwrap(),
                "{precision}"
            );
            let file = job("ort", precision, cache.path()).spec_dir.join(
                inferbench_ort::onnx::gpt_variant_file_name(
                    &job("ort", precision, cache.path()).case.model.spec,
                    inferbench_ort::onnx::Export {
                        format: match precision {
                            Precision::F16 => inferbench_ort::onnx::WeightFormat::F16,
                            _ => inferbench_ort::onnx::WeightFormat::Int8,
                        },
                        kv_cache: false,
                    },
                ),
            );
            assert_eq!(
                report.model_file_bytes,
                Some(std::fs::metadata(&file).unwrap().len()),
                "{precision}"
            );
        }
        // GGUF block formats stay candle's.
        let report = execute(&job("ort", Precision::Q8_0, cache.path()));
        assert_skipped(&report, "q8_0");
    }

    /// Synthetic GPT weights are generated for the synthetic GPT only: a
    /// Llama job whose converted weights are missing fails on them, and
    /// nothing is written in their place (random GPT weights there would
    /// be read as the checkpoint).
    #[test]
    fn a_llama_job_never_gets_synthetic_weights() {
        let (config, _) =
            inferbench_reference::fixtures::smollm2().expect("run `bash ci/setup.sh`");
        let cache = tempfile::tempdir().unwrap();
        let mut job = job("candle", Precision::F32, cache.path());
        let missing = cache.path().join("converted").join("model.safetensors");
        job.weights = missing.clone();
        job.spec_dir = cache.path().join("converted");
        job.llama = Some(config);
        job.case.model.llama = Some(crate::scenario::LlamaCheckpoint {
            format: crate::scenario::CheckpointFormat::Gguf,
            path: inferbench_reference::fixtures::smollm2_gguf(),
        });
        let report = execute(&job);
        assert!(!missing.exists(), "weights were written at {missing:?}");
        assert_error(&report, "model.safetensors");
    }

    #[test]
    fn server_and_concurrency_patterns_report_their_figures() {
        let cache = tempfile::tempdir().unwrap();
        let report = execute(&generation_job(LoadPattern::Server, cache.path()));
        let g = report.generation.unwrap();
        assert_eq!((g.offered_rate, g.requests), (Some(50.0), 4));
        assert!(g.queue_ms.is_some() && g.ttft_ms.unwrap().min >= g.prefill_ms.unwrap().min);

        let report = execute(&generation_job(LoadPattern::Concurrency, cache.path()));
        let g = report.generation.unwrap();
        // Two closed-loop streams share the case's 4 requests of 8 tokens.
        assert_eq!((g.streams, g.requests, g.output_tokens), (2, 4, 32));
        assert_eq!(g.per_stream_tokens_per_s.unwrap().n, 2);

        let mut search = generation_job(LoadPattern::Server, cache.path());
        if let Some(g) = search.case.generation.as_mut() {
            (g.search_rate, g.slo.ttft_ms) = (true, Some(10_000.0));
        }
        let g = execute(&search).generation.unwrap();
        assert!(
            g.max_rate_meeting_target.unwrap() > 0.0 && g.target_met == Some(true),
            "{g:?}"
        );
        assert!(g.rate_trials.len() >= 2 && g.rate_trials.iter().all(|t| t.met));
    }

    #[test]
    fn unsupported_precision_is_a_skip_and_unwritable_weights_an_error() {
        let cache = tempfile::tempdir().unwrap();
        let report = execute(&job("candle", Precision::Int8, cache.path()));
        assert_skipped(&report, "int8");

        // The worker generates missing weights; where it cannot, the error
        // names the place.
        let blocker = cache.path().join("a-file");
        std::fs::write(&blocker, "").unwrap();
        let mut missing = job("candle", Precision::F32, cache.path());
        missing.weights = blocker.join("model.safetensors");
        let report = execute(&missing);
        assert_error(&report, "a-file");
    }

    // The libtorch backend, on the same weights and reference as candle's.
    #[cfg(feature = "tch")]
    #[test]
    fn tch_f32_matches_the_f64_reference() {
        let report = assert_f32_matches_the_reference("tch");
        let version = report.runtime_version.unwrap();
        let expected = format!("libtorch {}", inferbench_tch::libtorch_version());
        assert!(version.contains(&expected), "{version}");
        let cache = tempfile::tempdir().unwrap();
        let spec = job("tch", Precision::F32, cache.path()).case.model.spec;
        assert_eq!(report.weight_bytes, Some(4 * spec.parameter_count()));
    }

    #[cfg(feature = "tch")]
    #[test]
    fn tch_kv_cache_decoding_matches_full_recomputation_and_candle() {
        // The libtorch decoder (per-layer K/V concatenated along the
        // sequence, explicit mask only for several new tokens after a past)
        // against the f64 model over the whole prefix at every step, and
        // its greedy tokens against candle's on the same weights.
        let cache = tempfile::tempdir().unwrap();
        let candle = execute(&generation_job(LoadPattern::SingleStream, cache.path()));
        let candle_tokens = candle.generation.unwrap().first_request_tokens;
        assert!(candle_tokens.iter().any(|&t| t != candle_tokens[0]));
        for pattern in [LoadPattern::SingleStream, LoadPattern::Offline] {
            let report = execute(&generation_job_on("tch", pattern, cache.path()));
            assert_eq!(report.outcome, Outcome::Measured, "{pattern:?}");
            let acc = report.accuracy.unwrap();
            assert!(acc.rel_l2 < 1e-5, "{pattern:?}: rel L2 {}", acc.rel_l2);
            assert_eq!(acc.top1, 1.0, "{pattern:?}");
            let g = report.generation.clone().unwrap();
            assert_eq!(
                (g.requests, g.errors, g.output_tokens),
                (4, 0, 32),
                "{pattern:?}"
            );
            assert_eq!(g.first_request_tokens, candle_tokens, "{pattern:?}");
            let (ttft, tpot) = (g.ttft_ms.unwrap(), g.tpot_ms.unwrap());
            assert!(ttft.p50 > 0.0 && tpot.p50 > 0.0 && g.output_tokens_per_s > 0.0);
        }
    }

    #[cfg(feature = "tch")]
    #[test]
    fn tch_half_precisions_stay_within_their_tolerance() {
        assert_half_precisions_stay_within_their_tolerance("tch");
    }

    #[cfg(feature = "tch")]
    #[test]
    fn tch_skips_what_it_cannot_run_and_names_bad_weights() {
        let cache = tempfile::tempdir().unwrap();
        let report = execute(&job("tch", Precision::Q4K, cache.path()));
        assert_skipped(&report, "q4k");

        let mut cuda = job("tch", Precision::F32, cache.path());
        cuda.case.device = Device::Cuda(0);
        let report = execute(&cuda);
        if !tch_sees_a_gpu() {
            assert_skipped(&report, "CUDA");
        } else {
            assert_eq!(report.outcome, Outcome::Measured);
            assert!(report.accuracy.unwrap().rel_l2 < 1e-4);
        }

        // Damaged synthetic weights fail their content hash and are rebuilt
        // in the worker (hardening, #14), so the case measures the right
        // numbers instead of erroring.
        let corrupt = cache.path().join("corrupt.safetensors");
        std::fs::write(&corrupt, b"not safetensors").unwrap();
        let mut bad = job("tch", Precision::F32, cache.path());
        bad.weights = corrupt;
        let report = execute(&bad);
        assert_eq!(report.outcome, Outcome::Measured);
        assert!(report.accuracy.unwrap().rel_l2 < 1e-4);
    }

    #[cfg(feature = "tch")]
    fn tch_sees_a_gpu() -> bool {
        let backend = backend_for(&"tch".into()).unwrap();
        backend.supports(Device::Cuda(0), Precision::F32) == inferbench_backend::Support::Yes
    }

    #[cfg(not(feature = "tch"))]
    #[test]
    fn tch_without_the_feature_is_a_skip_that_says_how_to_get_it() {
        let cache = tempfile::tempdir().unwrap();
        let report = execute(&job("tch", Precision::F32, cache.path()));
        assert!(
            matches!(report.outcome, Outcome::Skipped(ref m)
                if m.contains("not compiled in") && m.contains("ci/setup.sh")
                    && m.contains("--features tch")),
            "{:?}",
            report.outcome
        );
    }
}
