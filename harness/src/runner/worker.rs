//! What runs inside a case's worker process: load, warm up, measure, check
//! accuracy. Everything it learns goes into a [`WorkerReport`], written even
//! when a phase fails, so measured samples are never lost.

use std::path::PathBuf;
use std::time::Instant;

use inferbench_backend::{
    BackendError, LoadOptions, ModelSource, NamedTensor, Session, TokenBatch,
};
use serde::{Deserialize, Serialize};

use super::measurement::{Measurement, WallTime};
use super::memory::peak_rss_bytes;
use super::references;
use crate::accuracy::{self, AccuracyDeltas};
use crate::backends::backend_for;
use crate::model::named_inputs::{self, InputBinding};
use crate::model::{inputs::token_batch, reference};
use crate::scenario::{Case, ReferenceKind};

/// Everything a worker needs, as one JSON document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerJob {
    pub case: Case,
    pub weights: PathBuf,
    pub spec_dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "lowercase")]
pub enum Outcome {
    Measured,
    Skipped(String),
    Error(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerReport {
    pub outcome: Outcome,
    pub runtime_version: Option<String>,
    pub load_ms: Option<f64>,
    pub warmup_iterations: u64,
    pub warmup_ms: f64,
    pub measure_ms: f64,
    pub samples_ns: Vec<u64>,
    pub peak_rss_bytes: Option<u64>,
    pub weight_bytes: Option<u64>,
    pub accuracy: Option<AccuracyDeltas>,
    pub accuracy_ms: f64,
}

impl WorkerReport {
    fn empty() -> Self {
        Self {
            outcome: Outcome::Measured,
            runtime_version: None,
            load_ms: None,
            warmup_iterations: 0,
            warmup_ms: 0.0,
            measure_ms: 0.0,
            samples_ns: Vec::new(),
            peak_rss_bytes: None,
            weight_bytes: None,
            accuracy: None,
            accuracy_ms: 0.0,
        }
    }

    pub fn failed(message: String) -> Self {
        Self {
            outcome: Outcome::Error(message),
            ..Self::empty()
        }
    }
}

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
}

fn model_source(job: &WorkerJob) -> Result<ModelSource, BackendError> {
    match &job.case.model.file {
        Some(file) => references::file_source(&file.path),
        None => Ok(ModelSource::SyntheticGpt {
            spec: job.case.model.spec,
            weights: job.weights.clone(),
            cache_dir: job.spec_dir.clone(),
        }),
    }
}

fn prepare(session: &mut dyn Session, case: &Case) -> Result<PreparedInputs, BackendError> {
    let Some(file) = &case.model.file else {
        let input = token_batch(
            case.model.spec.vocab_size,
            case.batch,
            case.seq_len,
            case.input_seed,
        );
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

fn execute_into(job: &WorkerJob, report: &mut WorkerReport) -> Result<(), BackendError> {
    let case = &job.case;
    let backend = backend_for(case.backend);
    if let inferbench_backend::BackendStatus::Ready { runtime_version } = backend.status() {
        report.runtime_version = Some(runtime_version);
    }
    let source = model_source(job)?;
    let options = LoadOptions {
        device: case.device,
        precision: case.precision,
        threads: case.threads,
        options: case.options.clone(),
    };

    let t = Instant::now();
    let mut session = backend.load(&source, &options)?;
    report.load_ms = Some(ms_since(t));
    report.weight_bytes = session.weight_bytes();
    let input = prepare(session.as_mut(), case)?;

    let t = Instant::now();
    while report.warmup_iterations < case.warmup.iterations
        || t.elapsed().as_secs_f64() < case.warmup.seconds
    {
        session.run()?;
        report.warmup_iterations += 1;
    }
    report.warmup_ms = ms_since(t);

    let t = Instant::now();
    let measured = measure(session.as_mut(), case, &WallTime, &mut report.samples_ns);
    report.measure_ms = ms_since(t);
    report.peak_rss_bytes = peak_rss_bytes();
    measured?;

    let t = Instant::now();
    let session = session.as_mut();
    report.accuracy = match (case.reference, &input) {
        (ReferenceKind::None, _) => None,
        (ReferenceKind::F64, PreparedInputs::Tokens(tokens)) => {
            Some(check_accuracy(session, job, tokens)?)
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
    };
    report.accuracy_ms = ms_since(t);
    Ok(())
}

/// The measured loop: until both minimums are met, never past a maximum.
/// Samples are pushed as they are taken, so a failure keeps those before it.
fn measure<M: Measurement>(
    session: &mut dyn Session,
    case: &Case,
    measurement: &M,
    samples: &mut Vec<u64>,
) -> Result<(), BackendError> {
    let m = &case.measurement;
    let started = Instant::now();
    loop {
        let elapsed = started.elapsed().as_secs_f64();
        let n = samples.len() as u64;
        let minimums_met = n >= m.min_iterations && elapsed >= m.min_seconds;
        if minimums_met || n >= m.max_iterations || (elapsed >= m.max_seconds && n > 0) {
            return Ok(());
        }
        let t = measurement.start();
        session.run()?;
        samples.push(measurement.end(t));
    }
}

fn check_accuracy(
    session: &mut dyn Session,
    job: &WorkerJob,
    input: &TokenBatch,
) -> Result<AccuracyDeltas, BackendError> {
    let case = &job.case;
    let outputs = session.outputs()?;
    let logits = outputs
        .first()
        .ok_or_else(|| BackendError::Run("the backend returned no outputs".into()))?;
    let reference = reference::cached_forward(
        &case.model.spec,
        &job.weights,
        &job.spec_dir,
        input,
        case.input_seed,
    )
    .map_err(|e| BackendError::Run(format!("reference: {e}")))?;
    accuracy::compare(&reference.data, &logits.data, reference.vocab_size).ok_or_else(|| {
        BackendError::Run(format!(
            "logits have shape {:?}, expected [{}, {}, {}]",
            logits.shape, case.batch, case.seq_len, reference.vocab_size
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::synthetic::{ensure_weights, spec_dir};
    use crate::scenario::{AccuracyLimits, BackendKind, Measurement, ModelCase, Warmup};
    use inferbench_backend::{Device, GptSpec, Precision, TensorData};

    pub(crate) fn job(
        backend: BackendKind,
        precision: Precision,
        cache: &std::path::Path,
    ) -> WorkerJob {
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
            backend,
            device: Device::Cpu,
            precision,
            batch: 2,
            seq_len: 12,
            threads: 1,
            model: ModelCase {
                name: "tiny".into(),
                spec,
                file: None,
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
            reference: ReferenceKind::F64,
            golden: None,
            reference_case: None,
            limits: AccuracyLimits::default(),
            options: Default::default(),
        };
        WorkerJob {
            weights: ensure_weights(cache, &spec).unwrap(),
            spec_dir: spec_dir(cache, &spec),
            case,
        }
    }

    #[test]
    fn candle_f32_matches_the_f64_reference() {
        let cache = tempfile::tempdir().unwrap();
        let report = execute(&job(BackendKind::Candle, Precision::F32, cache.path()));
        assert_eq!(report.outcome, Outcome::Measured);
        assert_eq!((report.samples_ns.len(), report.warmup_iterations), (3, 1));
        let acc = report.accuracy.unwrap();
        assert!(acc.rel_l2 < 1e-5, "rel L2 {}", acc.rel_l2);
        assert_eq!(acc.top1, 1.0);
        assert!(report.peak_rss_bytes.unwrap() > 0 && report.load_ms.unwrap() > 0.0);
    }

    #[test]
    fn ort_f32_matches_the_f64_reference() {
        // Needs the library from `ci/setup.sh`; `ci/test.sh` runs it first.
        let cache = tempfile::tempdir().unwrap();
        let job = job(BackendKind::Ort, Precision::F32, cache.path());
        let report = execute(&job);
        assert_eq!(report.outcome, Outcome::Measured, "run `bash ci/setup.sh`");
        assert!(report.runtime_version.unwrap().contains("1.32.0"));
        assert_eq!(report.samples_ns.len(), 3);
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
        let mut job = job(BackendKind::Ort, Precision::F32, dir);
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
        assert_eq!(report.samples_ns.len(), 3);
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
            backend: BackendKind::Ort,
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
        assert!(
            matches!(report.outcome, Outcome::Error(ref m) if m.contains("`input_ids` takes token ids")),
            "{:?}",
            report.outcome
        );
    }

    #[test]
    fn candle_half_precisions_stay_within_their_tolerance() {
        // f16 has an 11-bit significand, bf16 8 bits: relative errors of a
        // few 1e-3 and 1e-2 through two blocks are what those formats give.
        let cache = tempfile::tempdir().unwrap();
        for (precision, tolerance) in [(Precision::F16, 1e-2), (Precision::Bf16, 5e-2)] {
            let report = execute(&job(BackendKind::Candle, precision, cache.path()));
            assert_eq!(report.outcome, Outcome::Measured, "{precision}");
            let acc = report.accuracy.unwrap();
            assert!(
                acc.rel_l2 < tolerance && acc.rel_l2 > 1e-6,
                "{precision}: rel L2 {}",
                acc.rel_l2
            );
        }
    }

    #[test]
    fn unsupported_precision_is_a_skip_and_missing_weights_an_error() {
        let cache = tempfile::tempdir().unwrap();
        let report = execute(&job(BackendKind::Candle, Precision::Int8, cache.path()));
        assert!(
            matches!(report.outcome, Outcome::Skipped(ref m) if m.contains("int8")),
            "{:?}",
            report.outcome
        );

        let mut missing = job(BackendKind::Candle, Precision::F32, cache.path());
        missing.weights = cache.path().join("nowhere.safetensors");
        let report = execute(&missing);
        assert!(
            matches!(report.outcome, Outcome::Error(ref m) if m.contains("nowhere.safetensors")),
            "{:?}",
            report.outcome
        );
    }
}
