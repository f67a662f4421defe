//! Reports of a comparison, one file per format behind one trait (as
//! hyperfine's `export/`): a terminal table, Markdown for pull requests and
//! `$GITHUB_STEP_SUMMARY`, JUnit XML for CI test views, and JSON.

pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

use super::comparison::{Comparison, MetricChange};
use super::metric::Metric;

pub trait Exporter {
    fn render(&self, comparison: &Comparison) -> String;
}

/// `+5.1%` (top1: `-1.00 pp`).
pub fn signed_change(m: &MetricChange) -> String {
    if m.metric.absolute_change() {
        format!("{:+.2} pp", m.change)
    } else {
        format!("{:+.1}%", m.change)
    }
}

/// `+5.1% [+4.2, +6.0]`, the change and its interval.
pub fn change_with_interval(m: &MetricChange) -> String {
    match m.interval {
        Some((low, high)) => format!("{} [{low:+.1}, {high:+.1}]", signed_change(m)),
        None => signed_change(m),
    }
}

/// A value in its metric's unit with sensible digits.
pub fn value(metric: Metric, v: f64) -> String {
    match metric {
        Metric::LatencyP5 | Metric::LatencyP50 | Metric::LatencyP99 => format!("{v:.3} ms"),
        Metric::Throughput => format!("{v:.0} tok/s"),
        Metric::PeakMemory => format!("{v:.1} MiB"),
        Metric::RelL2 => format!("{v:.2e}"),
        Metric::Top1 => format!("{v:.4}"),
    }
}

/// The metric columns shown in tables: the sampled ones, then the rest
/// only through the verdict.
pub const TABLE_METRICS: [Metric; 5] = [
    Metric::LatencyP5,
    Metric::LatencyP50,
    Metric::LatencyP99,
    Metric::Throughput,
    Metric::PeakMemory,
];

/// The lines every report starts with when the sides' environments differ
/// or a side was starved: said first, before any verdict.
pub fn validity_lines(c: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    if !c.environment.differences.is_empty() {
        let action = if c.settings.allow_env_mismatch {
            "judged anyway (--allow-env-mismatch)"
        } else {
            "the metrics they move are inconclusive (--allow-env-mismatch judges them)"
        };
        out.push(format!(
            "the two sides ran in different environments; {action}: {}",
            c.environment.differences.join("; ")
        ));
    }
    out.extend(c.starved.iter().cloned());
    out
}

/// One line per metric that is not unchanged, e.g. `p50 +5.1% [+4.2, +6.0]
/// > 3%: regressed`. Metrics voided by an environment difference or
/// starvation are left to [`validity_lines`].
pub fn findings(metrics: &[MetricChange]) -> Vec<String> {
    metrics
        .iter()
        .filter(|m| m.verdict != super::verdict::Verdict::Unchanged && m.not_judged.is_none())
        .map(|m| {
            if let Some(needed) = m.samples_needed {
                return format!(
                    "{}: inconclusive: its interval needs {needed} samples per side for the \
                     confidence asked; raise `measurement.min_iterations` or pool more runs",
                    m.metric
                );
            }
            let unit = if m.metric.absolute_change() {
                " pp"
            } else {
                "%"
            };
            format!(
                "{} {} → {}: {} (threshold {}{unit}): {}",
                m.metric,
                value(m.metric, m.base),
                value(m.metric, m.candidate),
                change_with_interval(m),
                m.threshold,
                m.verdict.as_str()
            )
        })
        .collect()
}

/// The change of `metric` in a case's list, as a table cell.
pub fn cell(metrics: &[MetricChange], metric: Metric) -> String {
    metrics
        .iter()
        .find(|m| m.metric == metric)
        .map_or_else(|| "-".to_string(), change_with_interval)
}

#[cfg(test)]
pub(crate) mod fixture {
    //! One fixed comparison every exporter's snapshot test renders.
    use crate::gate::comparison::{
        CaseComparison, CaseOutcome, Comparison, MetricChange, SideSummary,
    };
    use crate::gate::metric::Metric;
    use crate::gate::settings::GateSettings;
    use crate::gate::verdict::Verdict;

    fn m(
        metric: Metric,
        base: f64,
        cand: f64,
        change: f64,
        ci: Option<(f64, f64)>,
        v: Verdict,
    ) -> MetricChange {
        let threshold = GateSettings::default().threshold(metric);
        MetricChange {
            metric,
            base,
            candidate: cand,
            change,
            interval: ci,
            threshold,
            verdict: v,
            samples_needed: None,
            not_judged: None,
        }
    }

    pub fn comparison() -> Comparison {
        use Verdict::*;
        let side = |label: &str, commit: &str| SideSummary {
            label: label.into(),
            kind: "run".into(),
            runs: 1,
            scenario: "ci".into(),
            git_commit: Some(commit.into()),
        };
        Comparison {
            base: side("results/baselines/ci.json", "1111111aaaa"),
            candidate: side("results/runs/new", "2222222bbbb"),
            settings: GateSettings {
                simultaneous_intervals: 8,
                ..GateSettings::default()
            },
            cases: vec![
                CaseComparison {
                    id: "gpt/candle/cpu/f32/b1/t16/th1".into(),
                    outcome: CaseOutcome::Regressed,
                    note: None,
                    base_samples: 500,
                    candidate_samples: 480,
                    metrics: vec![
                        m(
                            Metric::LatencyP5,
                            0.9,
                            0.95,
                            5.56,
                            Some((4.9, 6.1)),
                            Regressed,
                        ),
                        m(
                            Metric::LatencyP50,
                            1.0,
                            1.052,
                            5.2,
                            Some((4.1, 6.3)),
                            Regressed,
                        ),
                        m(
                            Metric::LatencyP99,
                            1.5,
                            1.6,
                            6.67,
                            Some((-2.0, 15.0)),
                            Unchanged,
                        ),
                        m(
                            Metric::Throughput,
                            16000.0,
                            15200.0,
                            -5.0,
                            Some((-6.0, -4.0)),
                            Regressed,
                        ),
                        m(Metric::PeakMemory, 50.0, 50.5, 1.0, None, Unchanged),
                        m(Metric::RelL2, 2e-7, 2e-7, 0.0, None, Unchanged),
                        m(Metric::Top1, 1.0, 1.0, 0.0, None, Unchanged),
                    ],
                },
                CaseComparison {
                    id: "gpt/candle/cpu/f32/b4/t16/th1".into(),
                    outcome: CaseOutcome::Unchanged,
                    note: None,
                    base_samples: 200,
                    candidate_samples: 210,
                    metrics: vec![
                        m(
                            Metric::LatencyP5,
                            2.9,
                            2.9,
                            0.0,
                            Some((-0.3, 0.3)),
                            Unchanged,
                        ),
                        m(
                            Metric::LatencyP50,
                            3.0,
                            3.03,
                            1.0,
                            Some((0.2, 1.8)),
                            Unchanged,
                        ),
                        m(
                            Metric::LatencyP99,
                            3.5,
                            3.4,
                            -2.9,
                            Some((-8.0, 3.0)),
                            Unchanged,
                        ),
                        m(
                            Metric::Throughput,
                            21333.0,
                            21122.0,
                            -1.0,
                            Some((-1.8, -0.2)),
                            Unchanged,
                        ),
                        m(Metric::PeakMemory, 52.0, 52.0, 0.0, None, Unchanged),
                    ],
                },
                CaseComparison {
                    id: "gpt/candle/cpu/q4k/b1/t16/th1".into(),
                    outcome: CaseOutcome::OnlyInCandidate,
                    note: Some("new case: nothing to compare against".into()),
                    base_samples: 0,
                    candidate_samples: 300,
                    metrics: vec![],
                },
            ],
            regressions: 1,
            improvements: 0,
            environment: Default::default(),
            starved: Vec::new(),
            verdict: Regressed,
        }
    }
}
