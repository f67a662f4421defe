//! What the gate needs of one case: its identity, status, raw latency
//! samples and the single-valued metrics. Run folders, pooled run folders
//! and saved baselines all become lists of [`CaseRecord`]s.

use serde::{Deserialize, Serialize};

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
    /// keeps the larger peak; a run that did not measure wins, so an error
    /// in one repetition is not hidden by the others.
    pub fn pool(&mut self, other: &CaseRecord) {
        self.runs += other.runs;
        self.samples_ns.extend_from_slice(&other.samples_ns);
        self.peak_rss_bytes = match (self.peak_rss_bytes, other.peak_rss_bytes) {
            (Some(a), Some(b)) => Some(a.max(b)),
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
        assert_eq!((pooled[0].runs, pooled[0].peak_rss_bytes), (2, Some(30)));
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
