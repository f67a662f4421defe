//! Each backend's peak: the rate of its own dense matrix product
//! ([`inferbench_backend::Matmul`]) at sizes where the product is
//! compute-bound, in f32 and each half precision it runs, per thread count,
//! beside the machine's nominal FMA rate ([`fma`]). A case's
//! `peak_fraction` is its GFLOP/s over its backend's peak at the same
//! precision and threads: the roofline view, how much of the runtime's own
//! best a whole model reaches.
//!
//! `inferbench peak` prints the table ([`command`]); `run --peak` measures
//! the rows its cases need (reusing [`cache`]d ones) into environment.json
//! and the cases' `peak_fraction`.

pub mod cache;
pub mod command;
pub mod fma;
pub mod measure;
pub mod process;
pub mod table;

use inferbench_backend::{Device, Precision};
use serde::{Deserialize, Serialize};

use crate::results::CaseResult;

/// How a backend's matmul is measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeakSettings {
    /// Square sizes tried; the best rate among them is the peak.
    pub sizes: Vec<usize>,
    /// Seconds of measured products per size, after one warm-up product.
    pub seconds: f64,
    /// Products measured at least, however long they take.
    pub min_iterations: usize,
}

impl Default for PeakSettings {
    /// 512 to 2048: large enough for every backend's gemm to be
    /// compute-bound on a CPU (the book shows the rate flattening), small
    /// enough that a slow half precision still finishes in seconds.
    fn default() -> Self {
        Self {
            sizes: vec![512, 1024, 2048],
            seconds: 1.0,
            min_iterations: 3,
        }
    }
}

/// The rate at one size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SizeRate {
    pub size: usize,
    pub gflop_per_s: f64,
    pub iterations: usize,
}

/// What came of one backend, precision and thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PeakOutcome {
    /// `gflop_per_s`: the best of `by_size`, each `2·n³` FLOPs over the
    /// median time of one product.
    Measured {
        gflop_per_s: f64,
        size: usize,
        by_size: Vec<SizeRate>,
        /// When it was measured (RFC 3339): earlier than the run when it
        /// came from the cache.
        measured_at: String,
    },
    /// No matmul to measure (the backend has none, is not available, or
    /// does not run the precision), or it failed: why.
    NotMeasured { reason: String },
}

/// One row of the peak table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeakRow {
    pub backend: String,
    /// The runtime the row was measured with, as `inferbench backends`
    /// names it.
    pub runtime_version: Option<String>,
    pub precision: Precision,
    pub threads: usize,
    #[serde(flatten)]
    pub outcome: PeakOutcome,
}

impl PeakRow {
    pub fn gflop_per_s(&self) -> Option<f64> {
        match self.outcome {
            PeakOutcome::Measured { gflop_per_s, .. } => Some(gflop_per_s),
            PeakOutcome::NotMeasured { .. } => None,
        }
    }
}

/// The `peak` section of environment.json and what `inferbench peak
/// --json` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeakReport {
    /// The machine's FMA rate; `None` on an architecture without a loop.
    pub fma: Option<fma::FmaPeak>,
    pub rows: Vec<PeakRow>,
}

impl PeakReport {
    /// The measured peak of `backend` at `precision` on `threads`, GFLOP/s.
    pub fn rate(&self, backend: &str, precision: Precision, threads: usize) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.backend == backend && r.precision == precision && r.threads == threads)
            .and_then(PeakRow::gflop_per_s)
    }

    /// `gflop_per_s` of a CPU case over its backend's peak at the same
    /// precision and threads; `None` when either is missing (a generation
    /// case, a model file, a quantized level, no peak measured).
    pub fn fraction(&self, result: &CaseResult) -> Option<f64> {
        let case = &result.case;
        if case.device != Device::Cpu {
            return None;
        }
        let peak = self.rate(case.backend.as_str(), case.precision, case.threads)?;
        Some(result.gflop_per_s? / peak)
    }

    /// The FMA loop's rate on `threads` threads, GFLOP/s: the loop's
    /// all-thread figure at its own thread count, else per core × threads.
    pub fn fma_rate(&self, threads: usize) -> Option<f64> {
        let fma = self.fma.as_ref()?;
        Some(if threads == fma.threads {
            fma.all_gflop_per_s
        } else {
            fma.per_core_gflop_per_s * threads as f64
        })
    }
}

/// The precisions a peak is measured in: f32 and the half precisions.
pub const PRECISIONS: [Precision; 3] = [Precision::F32, Precision::F16, Precision::Bf16];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixture;

    fn row(backend: &str, precision: Precision, threads: usize, rate: Option<f64>) -> PeakRow {
        PeakRow {
            backend: backend.into(),
            runtime_version: None,
            precision,
            threads,
            outcome: match rate {
                Some(gflop_per_s) => PeakOutcome::Measured {
                    gflop_per_s,
                    size: 1024,
                    by_size: Vec::new(),
                    measured_at: "2026-12-03T00:00:00Z".into(),
                },
                None => PeakOutcome::NotMeasured {
                    reason: "none".into(),
                },
            },
        }
    }

    #[test]
    fn a_case_is_read_against_its_own_backend_precision_and_threads() {
        let mut result = fixture::results().remove(0);
        result.gflop_per_s = Some(30.0);
        let (backend, precision, threads) = (
            result.case.backend.to_string(),
            result.case.precision,
            result.case.threads,
        );
        let report = PeakReport {
            fma: None,
            rows: vec![
                row(&backend, precision, threads + 1, Some(1000.0)),
                row(&backend, Precision::Int8, threads, Some(1000.0)),
                row("other", precision, threads, Some(1000.0)),
                row(&backend, precision, threads, Some(120.0)),
            ],
        };
        assert_eq!(report.fraction(&result), Some(0.25));
        result.gflop_per_s = None;
        assert_eq!(report.fraction(&result), None);
        let unmeasured = PeakReport {
            rows: vec![row(&backend, precision, threads, None)],
            ..report
        };
        result.gflop_per_s = Some(30.0);
        assert_eq!(unmeasured.fraction(&result), None);
    }

    #[test]
    fn rows_read_back_as_written() {
        let rows = vec![
            row("candle", Precision::Bf16, 2, Some(12.5)),
            row("null", Precision::F32, 1, None),
        ];
        let json = serde_json::to_string(&rows).unwrap();
        assert!(json.contains("\"status\":\"not_measured\""), "{json}");
        let back: Vec<PeakRow> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rows);
    }
}
