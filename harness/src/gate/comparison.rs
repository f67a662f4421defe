//! Comparing two sides case by case: per metric the change with its
//! interval and verdict, per case an outcome, and the overall verdict that
//! decides the exit code.

use serde::Serialize;

use super::bootstrap::{Interval, ratio_intervals, samples_needed, side_statistics};
use super::metric::Metric;
use super::record::CaseRecord;
use super::settings::{Clock, GateSettings};
use super::side::{Side, SideKind};
use super::validity::{EnvironmentCheck, check_environments, starvation};
use super::verdict::{Verdict, Worsening, decide};
use crate::results::Status;

/// Relative L2 errors closer than this are equal: f32 rounding differences
/// of a rewritten kernel sit around 1e-7 and are not accuracy regressions.
const REL_L2_FLOOR: f64 = 1e-6;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricChange {
    pub metric: Metric,
    /// Values in the metric's unit (ms, tok/s, MiB, or a plain fraction).
    pub base: f64,
    pub candidate: f64,
    /// candidate − base, in percent of base (top1: percentage points).
    pub change: f64,
    /// Confidence interval of `change`, for metrics with samples.
    pub interval: Option<(f64, f64)>,
    pub threshold: f64,
    pub verdict: Verdict,
    /// Samples the metric needs to reach the interval's confidence, when
    /// the smaller side has fewer (the verdict is then `inconclusive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples_needed: Option<usize>,
    /// Why the metric was not judged (environment mismatch, starvation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<String>,
}

impl MetricChange {
    /// Marks the metric `inconclusive` for `reason`.
    fn void(&mut self, reason: &str) {
        self.verdict = Verdict::Inconclusive;
        self.not_judged = Some(reason.to_string());
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseOutcome {
    Improved,
    Unchanged,
    Regressed,
    /// Measured on both sides, but no metric could be judged.
    Inconclusive,
    OnlyInBase,
    OnlyInCandidate,
    /// Not measured on one side or both (skipped, or errored in the base).
    NotCompared,
}

impl CaseOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            CaseOutcome::Improved => "improved",
            CaseOutcome::Unchanged => "unchanged",
            CaseOutcome::Regressed => "regressed",
            CaseOutcome::Inconclusive => "inconclusive",
            CaseOutcome::OnlyInBase => "only in base",
            CaseOutcome::OnlyInCandidate => "only in candidate",
            CaseOutcome::NotCompared => "not compared",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseComparison {
    pub id: String,
    pub outcome: CaseOutcome,
    /// Why a case was not compared, or why it regressed without metrics.
    pub note: Option<String>,
    pub base_samples: usize,
    pub candidate_samples: usize,
    pub metrics: Vec<MetricChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideSummary {
    pub label: String,
    pub kind: String,
    pub runs: usize,
    pub scenario: String,
    pub git_commit: Option<String>,
}

impl SideSummary {
    pub fn of(side: &Side) -> Self {
        let (kind, runs) = match side.kind {
            SideKind::Run => ("run", 1),
            SideKind::PooledRuns(n) => ("runs", n),
            SideKind::Baseline => ("baseline", 1),
        };
        Self {
            label: side.label.clone(),
            kind: kind.to_string(),
            runs,
            scenario: side.scenario.clone(),
            git_commit: side.git_commit.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub base: SideSummary,
    pub candidate: SideSummary,
    pub settings: GateSettings,
    pub cases: Vec<CaseComparison>,
    pub regressions: usize,
    pub improvements: usize,
    /// How the sides' environments differ; listed first in every report.
    pub environment: EnvironmentCheck,
    /// Cases whose wall time one side spent waiting for the CPU.
    pub starved: Vec<String>,
    /// `regressed` when any case regressed, else `improved` when any
    /// improved, else `unchanged` when any case was judged, else
    /// `inconclusive`.
    pub verdict: Verdict,
}

impl Comparison {
    pub fn has_regression(&self) -> bool {
        self.verdict == Verdict::Regressed
    }

    pub fn count(&self, outcome: CaseOutcome) -> usize {
        self.cases.iter().filter(|c| c.outcome == outcome).count()
    }
}

/// Change of `candidate` against `base` in percent.
fn percent(base: f64, candidate: f64) -> f64 {
    if base == 0.0 {
        if candidate == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        (candidate / base - 1.0) * 100.0
    }
}

fn ratio_percent(i: Interval) -> (f64, f64) {
    ((i.low - 1.0) * 100.0, (i.high - 1.0) * 100.0)
}

fn change(
    metric: Metric,
    (base, candidate): (f64, f64),
    change: f64,
    interval: Option<(f64, f64)>,
    settings: &GateSettings,
) -> MetricChange {
    let threshold = settings.threshold(metric);
    let worsening = if metric.higher_is_better() {
        Worsening {
            estimate: -change,
            interval: interval.map(|(l, h)| (-h, -l)),
        }
    } else {
        Worsening {
            estimate: change,
            interval,
        }
    };
    MetricChange {
        metric,
        base,
        candidate,
        change,
        interval,
        threshold,
        verdict: decide(worsening, threshold),
        samples_needed: None,
        not_judged: None,
    }
}

/// The quantile a sampled metric's interval is about (the mean, behind
/// throughput, is held to the median's count: see `samples_needed`).
fn sampled_quantile(metric: Metric) -> Option<f64> {
    match metric {
        Metric::LatencyP5 => Some(0.05),
        Metric::LatencyP50 | Metric::Throughput => Some(0.5),
        Metric::LatencyP99 => Some(0.99),
        Metric::PeakMemory | Metric::RelL2 | Metric::Top1 => None,
    }
}

/// Makes a sampled metric `inconclusive` when the smaller side has fewer
/// samples than its interval needs for the confidence asked.
fn require_samples(m: &mut MetricChange, n: usize, settings: &GateSettings) {
    let Some(q) = sampled_quantile(m.metric) else {
        return;
    };
    let needed = samples_needed(q, settings.interval_confidence());
    if n < needed {
        m.verdict = Verdict::Inconclusive;
        m.samples_needed = Some(needed);
    }
}

/// Voids the metrics an environment difference or starvation makes
/// meaningless, unless `--allow-env-mismatch`.
fn void_invalidated(
    metrics: &mut [MetricChange],
    env: &EnvironmentCheck,
    starved: Option<&str>,
    settings: &GateSettings,
) {
    for m in metrics.iter_mut() {
        let latency = sampled_quantile(m.metric).is_some();
        if latency
            && let Some(s) = starved
            && settings.clock == Clock::Wall
        {
            m.void(s);
        }
        if settings.allow_env_mismatch {
            continue;
        }
        match (&env.latency_void, &env.memory_void) {
            (Some(why), _) if latency => m.void(why),
            (_, Some(why)) if m.metric == Metric::PeakMemory => m.void(why),
            _ => {}
        }
    }
}

/// Every metric both records have, in [`Metric::ALL`] order.
pub fn metric_changes(
    base: &CaseRecord,
    cand: &CaseRecord,
    settings: &GateSettings,
) -> Vec<MetricChange> {
    let mut out = latency_changes(base, cand, settings);
    out.extend(memory_change(base, cand, settings));
    out.extend(accuracy_changes(base, cand, settings));
    out
}

/// The latency percentiles and the throughput, with bootstrap intervals;
/// none when either side has no samples.
fn latency_changes(
    base: &CaseRecord,
    cand: &CaseRecord,
    settings: &GateSettings,
) -> Vec<MetricChange> {
    // Both sides on the same clock: wall when either lacks the CPU samples.
    let clock = if base.has_clock(settings.clock) && cand.has_clock(settings.clock) {
        settings.clock
    } else {
        Clock::Wall
    };
    let (b_runs, c_runs) = (base.runs_ms(clock), cand.runs_ms(clock));
    let Some(intervals) = ratio_intervals(&b_runs, &c_runs, settings.bootstrap()) else {
        return Vec::new();
    };
    let (b, c) = (side_statistics(&b_runs), side_statistics(&c_runs));
    let percentiles = [
        (Metric::LatencyP5, b.p5, c.p5, intervals.p5),
        (Metric::LatencyP50, b.p50, c.p50, intervals.p50),
        (Metric::LatencyP99, b.p99, c.p99, intervals.p99),
    ];
    let mut out: Vec<MetricChange> = percentiles
        .into_iter()
        .map(|(metric, b, c, interval)| {
            let interval = Some(ratio_percent(interval));
            change(metric, (b, c), percent(b, c), interval, settings)
        })
        .collect();
    // Throughput = tokens / mean latency, so its ratio is the inverse
    // of the mean latency's and the interval's ends swap.
    let tput = |r: &CaseRecord, mean_ms: f64| r.tokens_per_forward as f64 / (mean_ms * 1e-3);
    let (bt, ct) = (tput(base, b.mean), tput(cand, c.mean));
    let m = intervals.mean;
    out.push(change(
        Metric::Throughput,
        (bt, ct),
        percent(bt, ct),
        Some(((1.0 / m.high - 1.0) * 100.0, (1.0 / m.low - 1.0) * 100.0)),
        settings,
    ));
    out
}

/// Peak resident memory in MiB, when both sides recorded it.
fn memory_change(
    base: &CaseRecord,
    cand: &CaseRecord,
    settings: &GateSettings,
) -> Option<MetricChange> {
    let (b, c) = (base.peak_rss_bytes?, cand.peak_rss_bytes?);
    let mib = |x: u64| x as f64 / (1u64 << 20) as f64;
    Some(change(
        Metric::PeakMemory,
        (mib(b), mib(c)),
        percent(b as f64, c as f64),
        None,
        settings,
    ))
}

/// Relative L2 error and top-1 agreement, when both sides checked accuracy.
fn accuracy_changes(
    base: &CaseRecord,
    cand: &CaseRecord,
    settings: &GateSettings,
) -> Vec<MetricChange> {
    let (Some(b), Some(c)) = (base.accuracy, cand.accuracy) else {
        return Vec::new();
    };
    let rel = if (c.rel_l2 - b.rel_l2).abs() <= REL_L2_FLOOR {
        0.0
    } else {
        percent(b.rel_l2, c.rel_l2)
    };
    vec![
        change(Metric::RelL2, (b.rel_l2, c.rel_l2), rel, None, settings),
        change(
            Metric::Top1,
            (b.top1, c.top1),
            (c.top1 - b.top1) * 100.0,
            None,
            settings,
        ),
    ]
}

fn not_measured(r: &CaseRecord) -> String {
    match &r.message {
        Some(m) => format!("{}: {m}", r.status.as_str()),
        None if r.status == Status::Measured => "no samples".to_string(),
        None => r.status.as_str().to_string(),
    }
}

fn compare_case(
    base: &CaseRecord,
    cand: &CaseRecord,
    settings: &GateSettings,
    env: &EnvironmentCheck,
) -> CaseComparison {
    let mut out = CaseComparison {
        id: base.id.clone(),
        outcome: CaseOutcome::NotCompared,
        note: None,
        base_samples: base.samples_ns.len(),
        candidate_samples: cand.samples_ns.len(),
        metrics: Vec::new(),
    };
    match (base.measured(), cand.measured()) {
        (true, true) => {
            out.metrics = metric_changes(base, cand, settings);
            let n = base.samples_ns.len().min(cand.samples_ns.len());
            out.metrics
                .iter_mut()
                .for_each(|m| require_samples(m, n, settings));
            let starved = starvation(&base.id, base, cand);
            void_invalidated(&mut out.metrics, env, starved.as_deref(), settings);
            let clock = settings.clock;
            if !(base.has_clock(clock) && cand.has_clock(clock)) {
                out.note = Some(format!(
                    "no {} samples on one side; latency compared on wall time",
                    clock.as_str()
                ));
            }
            let verdicts = || out.metrics.iter().map(|m| m.verdict);
            // From the conclusive metrics; inconclusive only if none is.
            out.outcome = if verdicts().any(|v| v == Verdict::Regressed) {
                CaseOutcome::Regressed
            } else if verdicts().any(|v| v == Verdict::Improved) {
                CaseOutcome::Improved
            } else if verdicts().all(|v| v == Verdict::Inconclusive) && !out.metrics.is_empty() {
                CaseOutcome::Inconclusive
            } else {
                CaseOutcome::Unchanged
            };
            if let Some(s) = starved {
                out.note = Some(s);
            }
            if cand.status == Status::Failed {
                out.outcome = CaseOutcome::Regressed;
                out.note = Some(format!("candidate {}", not_measured(cand)));
            }
        }
        // Measured before, broken now: the worst regression there is.
        (true, false) if matches!(cand.status, Status::Error | Status::Failed) => {
            out.outcome = CaseOutcome::Regressed;
            out.note = Some(format!("candidate {}", not_measured(cand)));
        }
        (true, false) => out.note = Some(format!("candidate {}", not_measured(cand))),
        (false, _) => out.note = Some(format!("base {}", not_measured(base))),
    }
    out
}

/// Compares every case of either side; cases present on one side only are
/// listed with that outcome, never dropped.
pub fn compare(base: &Side, candidate: &Side, settings: &GateSettings) -> Comparison {
    // Each case measured on both sides gets an interval for p5, p50, p99
    // and throughput; the false-alarm rate is held for all of them together.
    let both = base
        .cases
        .iter()
        .filter(|b| b.measured() && candidate.cases.iter().any(|c| c.id == b.id && c.measured()))
        .count();
    let mut adjusted = settings.clone();
    adjusted.simultaneous_intervals = (4 * both).max(1);
    let settings = &adjusted;
    let environment = check_environments(&base.environment, &candidate.environment);
    let mut cases = Vec::new();
    for b in &base.cases {
        match candidate.cases.iter().find(|c| c.id == b.id) {
            Some(c) => cases.push(compare_case(b, c, settings, &environment)),
            None => cases.push(CaseComparison {
                id: b.id.clone(),
                outcome: CaseOutcome::OnlyInBase,
                note: Some("the candidate has no such case".into()),
                base_samples: b.samples_ns.len(),
                candidate_samples: 0,
                metrics: Vec::new(),
            }),
        }
    }
    for c in &candidate.cases {
        if !base.cases.iter().any(|b| b.id == c.id) {
            cases.push(CaseComparison {
                id: c.id.clone(),
                outcome: CaseOutcome::OnlyInCandidate,
                note: Some("new case: nothing to compare against".into()),
                base_samples: 0,
                candidate_samples: c.samples_ns.len(),
                metrics: Vec::new(),
            });
        }
    }
    let count = |o| {
        cases
            .iter()
            .filter(|c: &&CaseComparison| c.outcome == o)
            .count()
    };
    let regressions = count(CaseOutcome::Regressed);
    let improvements = count(CaseOutcome::Improved);
    let inconclusive = count(CaseOutcome::Inconclusive);
    let starved = cases
        .iter()
        .filter_map(|c| c.note.clone().filter(|n| n.contains("starved of CPU")))
        .collect();
    let verdict = if regressions > 0 {
        Verdict::Regressed
    } else if improvements > 0 {
        Verdict::Improved
    } else if inconclusive > 0 && count(CaseOutcome::Unchanged) == 0 {
        Verdict::Inconclusive
    } else {
        Verdict::Unchanged
    };
    Comparison {
        base: SideSummary::of(base),
        candidate: SideSummary::of(candidate),
        settings: settings.clone(),
        cases,
        regressions,
        improvements,
        environment,
        starved,
        verdict,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::accuracy::AccuracyDeltas;

    pub(crate) fn record(id: &str, samples_ns: Vec<u64>) -> CaseRecord {
        CaseRecord {
            id: id.into(),
            status: Status::Measured,
            message: None,
            tokens_per_forward: 16,
            runs: 1,
            peak_rss_bytes: Some(100 << 20),
            accuracy: Some(AccuracyDeltas {
                max_abs: 1e-6,
                rel_l2: 2e-7,
                cosine: 1.0,
                cosine_mean: None,
                top1: 1.0,
                kl: 0.0,
                ppl_ratio: None,
                nonfinite: 0,
            }),
            samples_ns,
            run_sizes: Vec::new(),
            cpu_samples_ns: Vec::new(),
        }
    }

    /// 400 samples around 1 ms with a deterministic ±2% wobble.
    pub(crate) fn samples(scale: f64) -> Vec<u64> {
        (0..400)
            .map(|i| ((1_000_000.0 + ((i * 37) % 41) as f64 * 1000.0 - 20_000.0) * scale) as u64)
            .collect()
    }

    pub(crate) fn side(label: &str, cases: Vec<CaseRecord>) -> Side {
        Side {
            label: label.into(),
            kind: SideKind::Run,
            scenario: "ci".into(),
            git_commit: None,
            environment: crate::gate::validity::tests::same_machine(),
            gate: None,
            cases,
        }
    }

    #[test]
    fn the_same_samples_are_unchanged_with_zero_change() {
        let s = side("a", vec![record("x", samples(1.0))]);
        let c = compare(&s, &s, &GateSettings::default());
        assert_eq!(c.cases[0].outcome, CaseOutcome::Unchanged);
        assert_eq!(c.verdict, Verdict::Unchanged);
        let p50 = &c.cases[0].metrics[1];
        assert_eq!((p50.metric, p50.change), (Metric::LatencyP50, 0.0));
        let names: Vec<_> = c.cases[0].metrics.iter().map(|m| m.metric).collect();
        assert_eq!(names, Metric::ALL.to_vec());
    }

    #[test]
    fn a_ten_percent_slowdown_regresses_latency_and_throughput() {
        let base = side("a", vec![record("x", samples(1.0))]);
        let cand = side("b", vec![record("x", samples(1.1))]);
        let c = compare(&base, &cand, &GateSettings::default());
        assert!(c.has_regression());
        let m = &c.cases[0].metrics[1..];
        assert_eq!(m[0].metric, Metric::LatencyP50);
        assert!((m[0].change - 10.0).abs() < 0.01, "{:?}", m[0]);
        assert_eq!(m[0].verdict, Verdict::Regressed);
        // Throughput falls by 1 − 1/1.1 = 9.09%.
        assert_eq!(m[2].metric, Metric::Throughput);
        assert!((m[2].change + 9.0909).abs() < 0.01, "{:?}", m[2]);
        assert_eq!(m[2].verdict, Verdict::Regressed);
        let (low, high) = m[2].interval.unwrap();
        assert!(low < m[2].change && m[2].change < high && high < 0.0);
        // Memory and accuracy did not move.
        assert_eq!(m[3].verdict, Verdict::Unchanged);
        // The floor moved by the same 10%.
        let p5 = &c.cases[0].metrics[0];
        assert_eq!(
            (p5.metric, p5.verdict),
            (Metric::LatencyP5, Verdict::Regressed)
        );
        // The reverse comparison is an improvement.
        let c = compare(&cand, &base, &GateSettings::default());
        assert_eq!(c.verdict, Verdict::Improved);
    }

    #[test]
    fn point_metrics_follow_their_thresholds() {
        let mut fat = record("x", samples(1.0));
        fat.peak_rss_bytes = Some(120 << 20);
        fat.accuracy.as_mut().unwrap().top1 = 0.99;
        // rel_l2 moved by 3e-7: below the floor, not a change.
        fat.accuracy.as_mut().unwrap().rel_l2 = 5e-7;
        let c = compare(
            &side("a", vec![record("x", samples(1.0))]),
            &side("b", vec![fat]),
            &GateSettings::default(),
        );
        let m = &c.cases[0].metrics[1..];
        assert!((m[3].change - 20.0).abs() < 1e-9);
        assert_eq!(m[3].verdict, Verdict::Regressed);
        assert_eq!((m[4].change, m[4].verdict), (0.0, Verdict::Unchanged));
        assert!((m[5].change + 1.0).abs() < 1e-9);
        assert_eq!(m[5].verdict, Verdict::Regressed);
    }

    #[test]
    fn one_sided_and_broken_cases_are_listed() {
        let mut broken = record("both", Vec::new());
        broken.status = Status::Error;
        broken.message = Some("worker crashed".into());
        let mut skipped = record("skip", Vec::new());
        skipped.status = Status::Skipped;
        let base = side(
            "a",
            vec![
                record("both", samples(1.0)),
                record("gone", samples(1.0)),
                skipped.clone(),
            ],
        );
        let cand = side("b", vec![broken, record("new", samples(1.0)), skipped]);
        let c = compare(&base, &cand, &GateSettings::default());
        let outcomes: Vec<_> = c.cases.iter().map(|c| (c.id.as_str(), c.outcome)).collect();
        assert_eq!(
            outcomes,
            vec![
                ("both", CaseOutcome::Regressed),
                ("gone", CaseOutcome::OnlyInBase),
                ("skip", CaseOutcome::NotCompared),
                ("new", CaseOutcome::OnlyInCandidate),
            ]
        );
        assert_eq!(
            c.cases[0].note.as_deref(),
            Some("candidate error: worker crashed")
        );
        assert_eq!(c.regressions, 1);
    }
}
