//! The metrics the gate compares, with the direction in which each is better.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// 5th-percentile latency: the floor of a pass's cost (of pooled runs:
    /// the lowest run's). Noise on a shared machine only adds time
    /// (preemption, cache and core sharing), so a low quantile is the most
    /// stable estimate of the code's own speed (Chen & Revels 2016, "Robust
    /// benchmarking in noisy environments", use the minimum; p5 is not one
    /// sample's fluke).
    LatencyP5,
    /// Median latency per forward pass.
    LatencyP50,
    /// 99th-percentile latency per forward pass.
    LatencyP99,
    /// Tokens per second, from the mean latency (total work / total time).
    Throughput,
    /// Peak resident set size of the case's worker process.
    PeakMemory,
    /// Relative L2 error of the logits against the f64 reference.
    RelL2,
    /// Fraction of positions whose top token matches the reference.
    Top1,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Metric::LatencyP5,
        Metric::LatencyP50,
        Metric::LatencyP99,
        Metric::Throughput,
        Metric::PeakMemory,
        Metric::RelL2,
        Metric::Top1,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Metric::LatencyP5 => "latency_p5",
            Metric::LatencyP50 => "latency_p50",
            Metric::LatencyP99 => "latency_p99",
            Metric::Throughput => "throughput",
            Metric::PeakMemory => "peak_memory",
            Metric::RelL2 => "rel_l2",
            Metric::Top1 => "top1",
        }
    }

    /// Short column label for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Metric::LatencyP5 => "p5",
            Metric::LatencyP50 => "p50",
            Metric::LatencyP99 => "p99",
            Metric::Throughput => "tok/s",
            Metric::PeakMemory => "memory",
            Metric::RelL2 => "rel L2",
            Metric::Top1 => "top1",
        }
    }

    pub fn unit(&self) -> &'static str {
        match self {
            Metric::LatencyP5 | Metric::LatencyP50 | Metric::LatencyP99 => "ms",
            Metric::Throughput => "tok/s",
            Metric::PeakMemory => "MiB",
            Metric::RelL2 | Metric::Top1 => "",
        }
    }

    pub fn higher_is_better(&self) -> bool {
        matches!(self, Metric::Throughput | Metric::Top1)
    }

    /// Top-1 agreement is a fraction near 1: its change is judged in
    /// percentage points, every other metric's in percent of the base.
    pub fn absolute_change(&self) -> bool {
        matches!(self, Metric::Top1)
    }

    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}
