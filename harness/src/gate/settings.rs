//! The gate's settings: practical thresholds per metric and the bootstrap's
//! confidence. Defaults here; a scenario's `[gate]` section and the command
//! line override them, in that order.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::bootstrap::BootstrapSettings;
use super::metric::Metric;

/// A scenario file's `[gate]` section. Thresholds are the smallest change
/// that counts as a regression or an improvement, in percent of the base
/// (top1: in percentage points).
/// Which clock's per-pass samples the latency metrics compare.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Clock {
    /// Wall time: what a user waits (the default).
    #[default]
    Wall,
    /// Process CPU time: the work a pass does, without the time it waited
    /// for a core. Far less noisy on shared machines; blind to slowdowns
    /// that are waiting (I/O, locks, idle threads).
    Cpu,
}

impl Clock {
    pub fn as_str(&self) -> &'static str {
        match self {
            Clock::Wall => "wall",
            Clock::Cpu => "cpu",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// `wall` (default) or `cpu`: the clock latency is compared on.
    pub clock: Option<Clock>,
    /// Confidence level of the intervals (default 0.95).
    pub confidence: Option<f64>,
    /// Bootstrap resamples (default 2000).
    pub resamples: Option<usize>,
    /// 5th-percentile latency threshold, percent (default 3).
    pub latency_p5: Option<f64>,
    /// Median latency threshold, percent (default 3).
    pub latency_p50: Option<f64>,
    /// 99th-percentile latency threshold, percent (default 10).
    pub latency_p99: Option<f64>,
    /// Throughput threshold, percent (default 3).
    pub throughput: Option<f64>,
    /// Peak memory threshold, percent (default 10).
    pub peak_memory: Option<f64>,
    /// Relative L2 error threshold, percent of the base error (default 50).
    pub rel_l2: Option<f64>,
    /// Top-1 agreement threshold, percentage points (default 0.5).
    pub top1: Option<f64>,
}

/// Resolved settings of one comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateSettings {
    pub clock: Clock,
    /// Family-wise confidence of a comparison's intervals.
    pub confidence: f64,
    /// Intervals drawn at once (cases × sampled metrics); each is computed
    /// at 1 − (1 − confidence) / this (Bonferroni), so the chance that any
    /// of them misses is at most 1 − confidence.
    pub simultaneous_intervals: usize,
    pub resamples: usize,
    pub seed: u64,
    /// Threshold per metric, in [`Metric::ALL`] order.
    pub thresholds: Vec<(Metric, f64)>,
    /// Judge metrics even when the sides' environments differ in a way
    /// that moves them (`--allow-env-mismatch`).
    pub allow_env_mismatch: bool,
}

/// Why the defaults are what they are: p50 and throughput move with the
/// code; 3% is above what interleaved runs on a busy 2-core machine show
/// between identical builds (see the README's calibration) and below the 5%
/// the gate must catch. p99 is a tail of a few samples per hundred and
/// swings with the machine's other work, so only a larger change is
/// actionable. Peak RSS depends on the allocator's page reuse. Accuracy of
/// the same code and inputs is reproduced bit for bit, so any change there
/// is real, but f32 rounding differences of a rewrite are not regressions.
const DEFAULT_THRESHOLDS: [(Metric, f64); 7] = [
    (Metric::LatencyP5, 3.0),
    (Metric::LatencyP50, 3.0),
    (Metric::LatencyP99, 10.0),
    (Metric::Throughput, 3.0),
    (Metric::PeakMemory, 10.0),
    (Metric::RelL2, 50.0),
    (Metric::Top1, 0.5),
];

impl Default for GateSettings {
    fn default() -> Self {
        Self {
            clock: Clock::Wall,
            confidence: 0.95,
            simultaneous_intervals: 1,
            resamples: 2000,
            seed: 0,
            thresholds: DEFAULT_THRESHOLDS.to_vec(),
            allow_env_mismatch: false,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error(
        "`{0}` is not METRIC=VALUE; metrics: latency_p5, latency_p50, latency_p99, throughput, peak_memory, rel_l2, top1"
    )]
    Syntax(String),
    #[error(
        "unknown metric `{0}`; expected one of latency_p5, latency_p50, latency_p99, throughput, peak_memory, rel_l2, top1"
    )]
    UnknownMetric(String),
    #[error("threshold of `{metric}` must be a number ≥ 0, got `{value}`")]
    BadValue { metric: String, value: String },
    #[error("confidence must be in (0, 1), got {0}")]
    Confidence(f64),
}

impl GateSettings {
    pub fn threshold(&self, metric: Metric) -> f64 {
        self.thresholds
            .iter()
            .find(|(m, _)| *m == metric)
            .map_or(0.0, |(_, t)| *t)
    }

    pub fn set_threshold(&mut self, metric: Metric, value: f64) {
        match self.thresholds.iter_mut().find(|(m, _)| *m == metric) {
            Some(slot) => slot.1 = value,
            None => self.thresholds.push((metric, value)),
        }
    }

    /// Applies a scenario's `[gate]` section.
    pub fn apply_config(&mut self, config: &GateConfig) -> Result<(), SettingsError> {
        if let Some(clock) = config.clock {
            self.clock = clock;
        }
        if let Some(c) = config.confidence {
            self.set_confidence(c)?;
        }
        if let Some(r) = config.resamples {
            self.resamples = r.max(1);
        }
        let given = [
            (Metric::LatencyP5, config.latency_p5),
            (Metric::LatencyP50, config.latency_p50),
            (Metric::LatencyP99, config.latency_p99),
            (Metric::Throughput, config.throughput),
            (Metric::PeakMemory, config.peak_memory),
            (Metric::RelL2, config.rel_l2),
            (Metric::Top1, config.top1),
        ];
        for (metric, value) in given {
            if let Some(v) = value {
                if v.is_nan() || v < 0.0 {
                    return Err(SettingsError::BadValue {
                        metric: metric.to_string(),
                        value: v.to_string(),
                    });
                }
                self.set_threshold(metric, v);
            }
        }
        Ok(())
    }

    pub fn set_confidence(&mut self, c: f64) -> Result<(), SettingsError> {
        if c.is_nan() || c <= 0.0 || c >= 1.0 {
            return Err(SettingsError::Confidence(c));
        }
        self.confidence = c;
        Ok(())
    }

    /// Applies a command-line `METRIC=VALUE` threshold.
    pub fn apply_flag(&mut self, flag: &str) -> Result<(), SettingsError> {
        let (name, value) = flag
            .split_once('=')
            .ok_or_else(|| SettingsError::Syntax(flag.to_string()))?;
        let (name, value) = (name.trim(), value.trim());
        let metric =
            Metric::parse(name).ok_or_else(|| SettingsError::UnknownMetric(name.to_string()))?;
        let v: f64 = value
            .trim_end_matches('%')
            .parse()
            .ok()
            .filter(|v: &f64| *v >= 0.0)
            .ok_or_else(|| SettingsError::BadValue {
                metric: name.to_string(),
                value: value.to_string(),
            })?;
        self.set_threshold(metric, v);
        Ok(())
    }

    /// Confidence of each single interval (Bonferroni).
    pub fn interval_confidence(&self) -> f64 {
        1.0 - (1.0 - self.confidence) / self.simultaneous_intervals.max(1) as f64
    }

    pub fn bootstrap(&self) -> BootstrapSettings {
        BootstrapSettings {
            resamples: self.resamples,
            confidence: self.interval_confidence(),
            seed: self.seed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_scenario_which_overrides_defaults() {
        let mut s = GateSettings::default();
        assert_eq!(s.threshold(Metric::LatencyP50), 3.0);
        let config: GateConfig =
            toml::from_str("latency_p50 = 2.0\nconfidence = 0.99\nclock = 'cpu'").unwrap();
        s.apply_config(&config).unwrap();
        assert_eq!(s.clock, Clock::Cpu);
        assert_eq!((s.threshold(Metric::LatencyP50), s.confidence), (2.0, 0.99));
        s.apply_flag("latency_p50=4%").unwrap();
        s.apply_flag(" top1 = 1 ").unwrap();
        assert_eq!(s.threshold(Metric::LatencyP50), 4.0);
        assert_eq!(s.threshold(Metric::Top1), 1.0);
        assert_eq!(s.threshold(Metric::LatencyP99), 10.0);
        // Bonferroni: 0.99 family-wise over 4 intervals → 1 − 0.01/4 each.
        s.simultaneous_intervals = 4;
        assert!((s.interval_confidence() - 0.9975).abs() < 1e-12);
    }

    #[test]
    fn bad_flags_say_what_is_expected() {
        let mut s = GateSettings::default();
        assert_eq!(
            s.apply_flag("p50=3"),
            Err(SettingsError::UnknownMetric("p50".into()))
        );
        assert!(s.apply_flag("latency_p5=2").is_ok());
        assert!(matches!(
            s.apply_flag("latency_p50"),
            Err(SettingsError::Syntax(_))
        ));
        assert!(matches!(
            s.apply_flag("throughput=-1"),
            Err(SettingsError::BadValue { .. })
        ));
        assert!(toml::from_str::<GateConfig>("latency_p55 = 1").is_err());
        assert!(s.set_confidence(1.0).is_err());
    }
}
