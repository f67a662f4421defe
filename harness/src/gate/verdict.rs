//! The decision rule: a change is a regression (or an improvement) only
//! when it is both statistically significant and larger than the metric's
//! practical threshold.
//!
//! Significant: the confidence interval of the change excludes zero.
//! Practical: the point estimate moves beyond the threshold. We do not ask
//! the whole interval to lie beyond the threshold (criterion's rule): that
//! detects a change just above the threshold only about half the time,
//! while this rule keeps false alarms bounded by both conditions at once.
//! Metrics without samples (peak memory, accuracy) have no interval and are
//! judged by the threshold alone.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Improved,
    Unchanged,
    Regressed,
    /// Not judged: too few samples for the confidence asked, or the sides'
    /// environments differ in a way that moves this metric.
    Inconclusive,
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::Regressed => "regressed",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// A change in the "worse" direction is positive: for latency, the
/// increase; for throughput and top-1 agreement, the decrease.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Worsening {
    pub estimate: f64,
    /// Interval of the worsening, when the metric has samples.
    pub interval: Option<(f64, f64)>,
}

pub fn decide(w: Worsening, threshold: f64) -> Verdict {
    let (low, high) = w.interval.unwrap_or((w.estimate, w.estimate));
    if w.estimate > threshold && low > 0.0 {
        Verdict::Regressed
    } else if w.estimate < -threshold && high < 0.0 {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(estimate: f64, interval: Option<(f64, f64)>) -> Worsening {
        Worsening { estimate, interval }
    }

    #[test]
    fn needs_both_significance_and_size() {
        // Large and significant.
        assert_eq!(decide(w(5.0, Some((3.5, 6.5))), 3.0), Verdict::Regressed);
        // Large but the interval includes no change: noise.
        assert_eq!(decide(w(5.0, Some((-1.0, 11.0))), 3.0), Verdict::Unchanged);
        // Significant but below the threshold: too small to act on.
        assert_eq!(decide(w(1.0, Some((0.5, 1.5))), 3.0), Verdict::Unchanged);
        assert_eq!(decide(w(-4.0, Some((-5.0, -3.0))), 3.0), Verdict::Improved);
        // Exactly at the threshold is not beyond it.
        assert_eq!(decide(w(3.0, Some((2.0, 4.0))), 3.0), Verdict::Unchanged);
    }

    #[test]
    fn point_metrics_use_the_threshold_alone() {
        assert_eq!(decide(w(12.0, None), 10.0), Verdict::Regressed);
        assert_eq!(decide(w(-12.0, None), 10.0), Verdict::Improved);
        assert_eq!(decide(w(0.0, None), 0.0), Verdict::Unchanged);
    }
}
