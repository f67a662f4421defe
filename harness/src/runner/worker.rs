//! What runs inside a case's worker process: load, warm up, measure, check
//! accuracy. Everything it learns goes into a [`WorkerReport`], written even
//! when a phase fails, so measured samples are never lost.

use std::path::PathBuf;
use std::time::Instant;

use inferbench_backend::{BackendError, LoadOptions, ModelSource, Session};
use serde::{Deserialize, Serialize};

use super::measurement::{Measurement, ProcessCpuTime, WallTime};
use super::memory::peak_rss_bytes;
use super::slowdown::SlowedSession;
use crate::accuracy::{self, AccuracyDeltas};
use crate::backends::backend_for;
use crate::model::{inputs::token_batch, reference};
use crate::scenario::{Case, ReferenceKind};

/// Everything a worker needs, as one JSON document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerJob {
    pub case: Case,
    pub weights: PathBuf,
    pub spec_dir: PathBuf,
    /// Percent added to each pass by a busy-wait (gate calibration only).
    #[serde(default)]
    pub inject_slowdown_pct: f64,
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
    /// Process CPU time of each measured pass, ns (same order as samples).
    #[serde(default)]
    pub cpu_samples_ns: Vec<u64>,
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
            cpu_samples_ns: Vec::new(),
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

fn execute_into(job: &WorkerJob, report: &mut WorkerReport) -> Result<(), BackendError> {
    let case = &job.case;
    let backend = backend_for(case.backend);
    if let inferbench_backend::BackendStatus::Ready { runtime_version } = backend.status() {
        report.runtime_version = Some(runtime_version);
    }
    let source = ModelSource::SyntheticGpt {
        spec: case.model.spec,
        weights: job.weights.clone(),
        cache_dir: job.spec_dir.clone(),
    };
    let options = LoadOptions {
        device: case.device,
        precision: case.precision,
        threads: case.threads,
        options: case.options.clone(),
    };
    let input = token_batch(
        case.model.spec.vocab_size,
        case.batch,
        case.seq_len,
        case.input_seed,
    );

    let t = Instant::now();
    let mut session = backend.load(&source, &options)?;
    if job.inject_slowdown_pct > 0.0 {
        session = Box::new(SlowedSession::new(session, job.inject_slowdown_pct));
    }
    report.load_ms = Some(ms_since(t));
    report.weight_bytes = session.weight_bytes();
    session.prepare(&input)?;

    let t = Instant::now();
    while report.warmup_iterations < case.warmup.iterations
        || t.elapsed().as_secs_f64() < case.warmup.seconds
    {
        session.run()?;
        report.warmup_iterations += 1;
    }
    report.warmup_ms = ms_since(t);

    let t = Instant::now();
    let measured = measure(
        session.as_mut(),
        case,
        &WallTime,
        &mut report.samples_ns,
        &mut report.cpu_samples_ns,
    );
    report.measure_ms = ms_since(t);
    report.peak_rss_bytes = peak_rss_bytes();
    measured?;

    if case.reference == ReferenceKind::F64 {
        let t = Instant::now();
        report.accuracy = Some(check_accuracy(session.as_mut(), job, &input)?);
        report.accuracy_ms = ms_since(t);
    }
    Ok(())
}

/// The measured loop: until both minimums are met, never past a maximum.
/// Samples are pushed as they are taken, so a failure keeps those before it.
fn measure<M: Measurement>(
    session: &mut dyn Session,
    case: &Case,
    measurement: &M,
    samples: &mut Vec<u64>,
    cpu_samples: &mut Vec<u64>,
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
        let cpu = ProcessCpuTime.start();
        let t = measurement.start();
        session.run()?;
        samples.push(measurement.end(t));
        cpu_samples.push(ProcessCpuTime.end(cpu));
    }
}

fn check_accuracy(
    session: &mut dyn Session,
    job: &WorkerJob,
    input: &inferbench_backend::TokenBatch,
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
    use inferbench_backend::{Device, GptSpec, Precision};

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
            limits: AccuracyLimits::default(),
            options: Default::default(),
        };
        WorkerJob {
            weights: ensure_weights(cache, &spec).unwrap(),
            spec_dir: spec_dir(cache, &spec),
            case,
            inject_slowdown_pct: 0.0,
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
