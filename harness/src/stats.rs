//! Summary statistics of per-iteration samples. Pure functions of numbers,
//! tested against hand-computed values.

use serde::{Deserialize, Serialize};

/// The percentile at `q` in [0, 1] of sorted data, interpolating linearly
/// between the two closest ranks: Hyndman & Fan (1996) definition 7, the
/// default of numpy, R and Excel's PERCENTILE.INC.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty(), "percentile of an empty sample");
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (Bessel's n − 1); 0 for a single sample.
pub fn stddev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

/// Distribution summary of one metric, in the samples' own unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    #[serde(with = "crate::results::float")]
    pub min: f64,
    #[serde(with = "crate::results::float")]
    pub mean: f64,
    #[serde(with = "crate::results::float")]
    pub stddev: f64,
    #[serde(with = "crate::results::float")]
    pub p50: f64,
    #[serde(with = "crate::results::float")]
    pub p90: f64,
    #[serde(with = "crate::results::float")]
    pub p95: f64,
    #[serde(with = "crate::results::float")]
    pub p99: f64,
    #[serde(with = "crate::results::float")]
    pub max: f64,
}

impl Summary {
    /// `None` for an empty sample.
    pub fn of(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let p = |q| percentile_sorted(&sorted, q);
        Some(Self {
            n: sorted.len(),
            min: sorted[0],
            mean: mean(&sorted),
            stddev: stddev(&sorted),
            p50: p(0.50),
            p90: p(0.90),
            p95: p(0.95),
            p99: p(0.99),
            max: sorted[sorted.len() - 1],
        })
    }

    /// Every figure multiplied by `k` (unit conversion, e.g. ns → ms).
    pub fn scaled(&self, k: f64) -> Self {
        Self {
            n: self.n,
            min: self.min * k,
            mean: self.mean * k,
            stddev: self.stddev * k,
            p50: self.p50 * k,
            p90: self.p90 * k,
            p95: self.p95 * k,
            p99: self.p99 * k,
            max: self.max * k,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn percentiles_by_hand() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        // h = 3q: q=.5 → 1.5 → 2.5; q=.9 → 2.7 → 3.7; q=.99 → 2.97 → 3.97.
        assert!(close(percentile_sorted(&xs, 0.5), 2.5));
        assert!(close(percentile_sorted(&xs, 0.9), 3.7));
        assert!(close(percentile_sorted(&xs, 0.99), 3.97));
        assert_eq!(percentile_sorted(&xs, 0.0), 1.0);
        assert_eq!(percentile_sorted(&xs, 1.0), 4.0);
        assert_eq!(percentile_sorted(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn summary_by_hand() {
        // Unsorted on purpose. Mean 5; squared deviations 9+1+1+9+0+... :
        let s = Summary::of(&[8.0, 2.0, 4.0, 6.0, 5.0]).unwrap();
        assert_eq!((s.n, s.min, s.max), (5, 2.0, 8.0));
        assert!(close(s.mean, 5.0));
        // (9 + 1 + 1 + 9 + 0) / 4 = 5
        assert!(close(s.stddev, 5f64.sqrt()));
        assert!(close(s.p50, 5.0));
        // h = 4 * 0.9 = 3.6 → 6 + 0.6 * (8 - 6) = 7.2
        assert!(close(s.p90, 7.2));
        assert!(close(s.p95, 7.6));
        assert!(close(s.p99, 7.92));
    }

    #[test]
    fn summary_of_nothing_is_none() {
        assert!(Summary::of(&[]).is_none());
        assert_eq!(stddev(&[3.0]), 0.0);
    }

    #[test]
    fn scaling_converts_units() {
        let s = Summary::of(&[1e6, 3e6]).unwrap().scaled(1e-6);
        assert!(close(s.mean, 2.0) && close(s.max, 3.0));
    }
}
