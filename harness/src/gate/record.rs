//! What the gate needs of one case: its identity, status, raw latency
//! samples and the single-valued metrics. Run folders, pooled run folders
//! and saved baselines all become lists of [`CaseRecord`]s.

use serde::{Deserialize, Serialize};

use super::settings::Clock;
use crate::accuracy::AccuracyDeltas;
use crate::results::{CaseResult, Status};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The case id, stable across runs.
    pub id: String,
    pub status: Status,
    pub message: Option<String>,
    pub tokens_per_forward: usize,
    /// Run folders pooled into this record (1 for a single run).
    #[serde(default = "one")]
    pub runs: usize,
    pub peak_rss_bytes: Option<u64>,
    pub accuracy: Option<AccuracyDeltas>,
    /// Every measured iteration in nanoseconds, all runs concatenated.
    pub samples_ns: Vec<u64>,
    /// How many of `samples_ns` each pooled run contributed, in order, so
    /// the bootstrap can resample runs as well as iterations. Empty: one run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run_sizes: Vec<usize>,
    /// Process CPU time of every iteration, ns, parallel to `samples_ns`;
    /// empty when the run did not record it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_samples_ns: Vec<u64>,
}

fn one() -> usize {
    1
}

impl CaseRecord {
    pub fn of(result: &CaseResult) -> Self {
        Self {
            id: result.case.id.clone(),
            status: result.status,
            message: result.message.clone(),
            tokens_per_forward: result.case.tokens_per_forward(),
            runs: 1,
            peak_rss_bytes: result.peak_rss_bytes,
            accuracy: result.accuracy,
            samples_ns: result.samples_ns.clone(),
            run_sizes: Vec::new(),
            cpu_samples_ns: result.cpu_samples_ns.clone(),
        }
    }

    /// Whether `clock`'s samples are there (wall always is).
    pub fn has_clock(&self, clock: Clock) -> bool {
        clock == Clock::Wall || self.cpu_samples_ns.len() == self.samples_ns.len()
    }

    /// `clock`'s samples in ms (wall when the CPU samples are missing).
    pub fn clock_ms(&self, clock: Clock) -> Vec<f64> {
        let ns = if clock == Clock::Cpu && self.has_clock(clock) {
            &self.cpu_samples_ns
        } else {
            &self.samples_ns
        };
        ns.iter().map(|&ns| ns as f64 * 1e-6).collect()
    }

    /// The samples in ms, one list per pooled run (one list for a single
    /// run, or when the sizes do not add up).
    pub fn runs_ms(&self, clock: Clock) -> Vec<Vec<f64>> {
        let all = self.clock_ms(clock);
        if self.run_sizes.len() < 2 || self.run_sizes.iter().sum::<usize>() != all.len() {
            return vec![all];
        }
        let mut rest = all.as_slice();
        let mut out = Vec::new();
        for &n in &self.run_sizes {
            let (head, tail) = rest.split_at(n);
            out.push(head.to_vec());
            rest = tail;
        }
        out
    }

    fn sizes(&self) -> Vec<usize> {
        if self.run_sizes.is_empty() {
            vec![self.samples_ns.len()]
        } else {
            self.run_sizes.clone()
        }
    }

    pub fn samples_ms(&self) -> Vec<f64> {
        self.samples_ns.iter().map(|&ns| ns as f64 * 1e-6).collect()
    }

    /// Whether the case has samples to compare.
    pub fn measured(&self) -> bool {
        self.status == Status::Measured && !self.samples_ns.is_empty()
    }

    /// Adds another run of the same case: samples are concatenated (runs
    /// interleaved with the other side share the machine's drift); memory
    /// keeps the smallest peak (the floor, as latency's p5: the largest of
    /// 8 runs sat 10% above a single run's); a run that did not measure wins, so an error
    /// in one repetition is not hidden by the others.
    pub fn pool(&mut self, other: &CaseRecord) {
        self.runs += other.runs;
        self.run_sizes = [self.sizes(), other.sizes()].concat();
        // CPU samples stay parallel to the wall samples, or are dropped.
        if self.has_clock(Clock::Cpu) && other.has_clock(Clock::Cpu) {
            self.cpu_samples_ns.extend_from_slice(&other.cpu_samples_ns);
        } else {
            self.cpu_samples_ns.clear();
        }
        self.samples_ns.extend_from_slice(&other.samples_ns);
        self.peak_rss_bytes = match (self.peak_rss_bytes, other.peak_rss_bytes) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if self.accuracy.is_none() {
            self.accuracy = other.accuracy;
        }
        if self.status == Status::Measured && other.status != Status::Measured {
            self.status = other.status;
            self.message.clone_from(&other.message);
        }
    }
}

/// Pools records with the same id, keeping first-seen order.
pub fn pool_by_id(records: impl IntoIterator<Item = CaseRecord>) -> Vec<CaseRecord> {
    let mut out: Vec<CaseRecord> = Vec::new();
    for r in records {
        match out.iter_mut().find(|o| o.id == r.id) {
            Some(existing) => existing.pool(&r),
            None => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, samples: &[u64], rss: u64) -> CaseRecord {
        CaseRecord {
            id: id.into(),
            status: Status::Measured,
            message: None,
            tokens_per_forward: 8,
            runs: 1,
            peak_rss_bytes: Some(rss),
            accuracy: None,
            samples_ns: samples.to_vec(),
            run_sizes: Vec::new(),
            cpu_samples_ns: samples.to_vec(),
        }
    }

    #[test]
    fn pooling_concatenates_samples_and_keeps_order() {
        let pooled = pool_by_id([
            record("a", &[1, 2], 10),
            record("b", &[5], 3),
            record("a", &[3], 30),
        ]);
        assert_eq!(pooled.len(), 2);
        assert_eq!(pooled[0].id, "a");
        assert_eq!(pooled[0].samples_ns, vec![1, 2, 3]);
        assert_eq!((pooled[0].runs, pooled[0].peak_rss_bytes), (2, Some(10)));
        assert_eq!(pooled[0].run_sizes, vec![2, 1]);
        assert_eq!(pooled[0].cpu_samples_ns, vec![1, 2, 3]);
        let lengths = |r: &CaseRecord| {
            r.runs_ms(Clock::Cpu)
                .iter()
                .map(Vec::len)
                .collect::<Vec<_>>()
        };
        assert_eq!(lengths(&pooled[0]), vec![2, 1]);
        assert_eq!(lengths(&pooled[1]), vec![1]);
        assert_eq!(pooled[1].runs, 1);
    }

    #[test]
    fn an_errored_repetition_is_not_hidden() {
        let mut errored = record("a", &[], 1);
        errored.status = Status::Error;
        errored.message = Some("crashed".into());
        let pooled = pool_by_id([record("a", &[1], 1), errored]);
        assert_eq!(pooled[0].status, Status::Error);
        assert!(!pooled[0].measured());
    }
}
