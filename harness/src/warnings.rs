//! Warnings about a run that carry their fix, as hyperfine's do.

use std::fmt;

use inferbench_backend::CaseContext;

use crate::results::{CaseResult, Status};

#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// More threads than cores: latency then measures time-slicing.
    Oversubscribed {
        case: String,
        threads: usize,
        cores: usize,
    },
    /// Measurement stopped at its time limit before its minimum iterations.
    FewIterations { case: String, iterations: usize },
    /// Spread so wide that percentiles say little (noisy machine).
    Noisy { case: String, cv_percent: f64 },
    /// Outputs hold NaN or ±inf and no reference judges them.
    NonFiniteOutputs { case: String, count: u64 },
    /// What a backend says about a case (see `Backend::warnings`).
    Backend { case: String, message: String },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Oversubscribed {
                case,
                threads,
                cores,
            } => write!(
                f,
                "{case}: {threads} threads on {cores} cores; latency includes time-slicing. Set `threads` to at most {cores}."
            ),
            Warning::FewIterations { case, iterations } => write!(
                f,
                "{case}: only {iterations} iterations fit in `max_seconds`; percentiles are rough. Raise `measurement.max_seconds` or shrink the case."
            ),
            Warning::Noisy { case, cv_percent } => write!(
                f,
                "{case}: latency varies by {cv_percent:.0}% (stddev/mean); the machine may be busy. Close other work, pin `threads` below the core count, or raise `measurement.min_seconds`."
            ),
            Warning::NonFiniteOutputs { case, count } => write!(
                f,
                "{case}: {count} output values are NaN or infinite and no reference checks them (column `nonfinite_outputs`). Set `[accuracy] reference` to judge the outputs."
            ),
            Warning::Backend { case, message } => write!(f, "{case}: {message}"),
        }
    }
}

/// Coefficient of variation above which a case is called noisy.
const NOISY_CV: f64 = 0.25;

pub fn for_result(r: &CaseResult, cores: usize) -> Vec<Warning> {
    let mut out = Vec::new();
    let case = r.case.id.clone();
    if r.case.threads > cores {
        out.push(Warning::Oversubscribed {
            case: case.clone(),
            threads: r.case.threads,
            cores,
        });
    }
    if let Some(backend) = crate::registry::find(r.case.backend.as_str()) {
        let context = CaseContext {
            options: &r.case.options,
            threads: r.case.threads,
            cores,
        };
        out.extend(
            backend
                .warnings(&context)
                .into_iter()
                .map(|message| Warning::Backend {
                    case: case.clone(),
                    message,
                }),
        );
    }
    if r.status != Status::Measured {
        return out;
    }
    if let Some(count) = r.nonfinite_outputs.filter(|&n| n > 0) {
        out.push(Warning::NonFiniteOutputs {
            case: case.clone(),
            count,
        });
    }
    // A generation case runs the `requests` it asks for, not the
    // measurement's iteration counts.
    if r.generation.is_none() && (r.iterations as u64) < r.case.measurement.min_iterations {
        out.push(Warning::FewIterations {
            case: case.clone(),
            iterations: r.iterations,
        });
    }
    if let Some(l) = r.latency_ms
        && l.n >= 3
        && l.stddev / l.mean > NOISY_CV
    {
        out.push(Warning::Noisy {
            case,
            cv_percent: 100.0 * l.stddev / l.mean,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_str;

    fn result(text: &str) -> CaseResult {
        let s = parse_str(text, std::path::Path::new("s.toml"), "s", 2).unwrap();
        let report = crate::runner::protocol::WorkerReport::skipped("not run".into());
        crate::runner::summarize::summarize(&s.cases[0], report)
    }

    #[test]
    fn backend_warnings_reach_the_run_with_their_fix() {
        let spinning = "backends = 'ort'\nthreads = 2\n[options.ort]\nspinning = true\n";
        let w = for_result(&result(spinning), 2);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].to_string().contains("spinning = false"), "{}", w[0]);
        // Spare cores, or spinning off (the default): nothing to say.
        assert!(for_result(&result(spinning), 4).is_empty());
        assert!(for_result(&result("backends = 'ort'\nthreads = 2\n"), 2).is_empty());
    }

    /// A generation case runs the requests it asks for: 12 requests under
    /// a `min_iterations` of 40 are not "too few iterations"; 12 forward
    /// passes would be.
    #[test]
    fn few_iterations_is_about_forward_passes_only() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/report/testdata/run/results.json");
        let run = crate::results::json::read(&path).unwrap();
        let served = run
            .cases
            .iter()
            .find(|r| r.case.id.ends_with("server@50rps"));
        let mut served = served.unwrap().clone();
        assert!((served.iterations as u64) < served.case.measurement.min_iterations);
        let few = |r: &CaseResult| {
            for_result(r, 2)
                .iter()
                .any(|w| matches!(w, Warning::FewIterations { .. }))
        };
        assert!(!few(&served));
        served.generation = None;
        assert!(few(&served));
    }
}
