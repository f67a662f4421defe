//! What a case is expected to cost in wall time, so that shards are
//! balanced by time, not by count: a static estimate from the scenario
//! (worker start, model load, warm-up and measurement minimums, the f64
//! reference), replaced by what was measured where a previous run or the
//! history store knows the case.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::history::store::HistoryEntry;
use crate::results::json::RunDocument;
use crate::scenario::{Case, ReferenceKind};

/// Where an estimate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CostSource {
    /// The scenario's minimums and the model's size.
    Scenario,
    /// The scenario's minimums with the iteration time of the history
    /// store's latest entry for the case.
    History,
    /// The case's wall time in a previous run.
    Run,
    /// This build would skip the case (its backend is not compiled in or
    /// has no runtime here, or does not run its precision): no worker starts.
    Skipped,
}

/// A case's estimated wall time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub seconds: f64,
    pub source: CostSource,
}

/// Assumed speeds of the static estimate. Rough on purpose: balancing needs
/// the ratio between cases right, not the seconds; measured timings replace
/// them where they exist.
const FLOPS_PER_THREAD: f64 = 2e9;
/// The f64 reference runs on one thread at about this rate.
const REFERENCE_FLOPS: f64 = 5e8;
/// Starting a worker process and a backend, before any weights are read.
const START_S: f64 = 0.5;
/// Weights loaded (or generated) per second.
const LOAD_BYTES_PER_S: f64 = 2e8;
/// The iteration time assumed for a model whose size the case does not
/// record (a model file, a checkpoint, a served model).
const UNKNOWN_ITERATION_S: f64 = 0.05;

/// Measured timings by case id, from previous runs and the history store.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Wall seconds of a case in a run (worker start to result).
    case_seconds: BTreeMap<String, f64>,
    /// Seconds of one measured iteration (the p50).
    iteration_seconds: BTreeMap<String, f64>,
    /// Cases this build would skip.
    skipped: BTreeSet<String>,
}

impl Timings {
    /// Adds each finished case's wall time of `run`; a later run replaces
    /// an earlier one's figure.
    pub fn add_run(&mut self, run: &RunDocument) {
        for r in &run.cases {
            if let (Some(start), Some(end)) = (r.started_at_unix_ns, r.finished_at_unix_ns)
                && end > start
                && r.status != crate::results::Status::Interrupted
            {
                let seconds = (end - start) as f64 / 1e9;
                self.case_seconds.insert(r.case.id.clone(), seconds);
            }
        }
    }

    /// Adds the p50 of each case's latest history entry.
    pub fn add_history(&mut self, entries: &[HistoryEntry]) {
        for e in entries {
            if let Some(p50) = e.p50_ms.filter(|p| p.is_finite() && *p > 0.0) {
                self.iteration_seconds.insert(e.case.clone(), p50 / 1e3);
            }
        }
    }

    /// Notes the cases of `cases` that this build would skip. Only for a
    /// plan file made where the shards' build runs: `run --shard I/N`
    /// plans without it, so that shards on different machines agree.
    pub fn add_skips(&mut self, cases: &[Case]) {
        for c in cases {
            if crate::runner::skip_reason(c).is_some() {
                self.skipped.insert(c.id.clone());
            }
        }
    }

    /// The case's estimated cost: its measured wall time, else nothing when
    /// this build skips it, else the static estimate with its measured
    /// iteration time, else the static estimate.
    pub fn cost(&self, case: &Case) -> Cost {
        if let Some(&seconds) = self.case_seconds.get(&case.id) {
            return Cost {
                seconds,
                source: CostSource::Run,
            };
        }
        if self.skipped.contains(&case.id) {
            return Cost {
                seconds: 0.0,
                source: CostSource::Skipped,
            };
        }
        match self.iteration_seconds.get(&case.id) {
            Some(&iteration) => Cost {
                seconds: estimate(case, iteration),
                source: CostSource::History,
            },
            None => Cost {
                seconds: estimate(case, iteration_seconds(case)),
                source: CostSource::Scenario,
            },
        }
    }
}

/// One measured iteration from the model's size and the case's threads.
fn iteration_seconds(case: &Case) -> f64 {
    match case.flops_per_forward() {
        0 => UNKNOWN_ITERATION_S,
        flops => flops as f64 / (FLOPS_PER_THREAD * case.threads.max(1) as f64),
    }
}

/// Start and load, warm-up and measurement (each until both of its
/// minimums are met, never past the maximum), and the f64 reference, with
/// `iteration` seconds per measured iteration. A generation case runs its
/// requests instead of timed iterations.
pub fn estimate(case: &Case, iteration: f64) -> f64 {
    let synthetic = case.flops_per_forward() > 0;
    let load = if synthetic {
        START_S + case.model.spec.parameter_count() as f64 * 4.0 / LOAD_BYTES_PER_S
    } else {
        START_S
    };
    let warmup = (case.warmup.iterations as f64 * iteration).max(case.warmup.seconds);
    let work = match &case.generation {
        // Each request: the prompt's forward pass, then one step a token;
        // `iteration` is the case's forward pass over `seq_len` tokens.
        Some(g) => {
            let per_token = iteration / case.seq_len.max(1) as f64;
            g.requests as f64 * (iteration + g.gen_len as f64 * per_token)
        }
        None => (case.measurement.min_iterations as f64 * iteration)
            .max(case.measurement.min_seconds)
            .min(case.measurement.max_seconds),
    };
    let reference = if synthetic && case.reference == ReferenceKind::F64 {
        case.flops_per_forward() as f64 / REFERENCE_FLOPS
    } else {
        0.0
    };
    load + warmup + work + reference
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_str;

    /// ONNX Runtime runs no Q4_K (whether or not its library is here);
    /// candle runs f32 everywhere.
    #[test]
    fn a_case_this_build_skips_costs_nothing() {
        let toml = "backends = ['candle', 'ort']\nprecisions = ['f32', 'q4k']\n\
                    [model]\nhidden = 256\nheads = 4";
        let cases = parse_str(toml, std::path::Path::new("s.toml"), "s", 1)
            .unwrap()
            .cases;
        let mut t = Timings::default();
        t.add_skips(&cases);
        let by_id = |id: &str| cases.iter().find(|c| c.id.contains(id)).unwrap();
        let skipped = t.cost(by_id("ort/cpu/q4k"));
        assert_eq!(
            (skipped.seconds, skipped.source),
            (0.0, CostSource::Skipped)
        );
        let measured = t.cost(by_id("candle/cpu/f32"));
        assert_eq!(measured.source, CostSource::Scenario);
        assert!(measured.seconds > 3.0, "{measured:?}");
    }
}
