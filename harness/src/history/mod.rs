//! The run history and its change points: every run appends its cases'
//! summaries to `results/history.jsonl`; `inferbench history` finds, per
//! case and metric, where the level changed and names the commit it began
//! with.

pub mod command;
pub mod edivisive;
pub mod store;

use serde::Serialize;

use self::edivisive::{EDivisive, change_points};
use self::store::HistoryEntry;
use crate::gate::metric::Metric;
use crate::gate::settings::GateSettings;
use crate::results::Status;

/// The metrics whose history is searched (the accuracy figures of the same
/// code are reproduced exactly, any change shows up in `compare`).
pub const TRACKED: [Metric; 4] = [
    Metric::LatencyP50,
    Metric::LatencyP99,
    Metric::Throughput,
    Metric::PeakMemory,
];

/// One case's measured values of a metric over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Series<'a> {
    pub case: String,
    pub metric: Metric,
    pub points: Vec<(&'a HistoryEntry, f64)>,
}

impl Series<'_> {
    pub fn values(&self) -> Vec<f64> {
        self.points.iter().map(|(_, v)| *v).collect()
    }
}

/// Case ids in first-seen order.
pub fn cases(entries: &[HistoryEntry]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in entries {
        if !out.contains(&e.case) {
            out.push(e.case.clone());
        }
    }
    out
}

/// Measured values of `case`'s `metric`, in file (= time) order.
pub fn series<'a>(entries: &'a [HistoryEntry], case: &str, metric: Metric) -> Series<'a> {
    Series {
        case: case.to_string(),
        metric,
        points: entries
            .iter()
            .filter(|e| e.case == case && e.status == Status::Measured)
            .filter_map(|e| e.value(metric).map(|v| (e, v)))
            .collect(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangePoint {
    pub case: String,
    pub metric: Metric,
    /// Position in the case's series of the first point after the change.
    pub index: usize,
    pub run_id: String,
    pub time: String,
    /// The commit the new level began with.
    pub git_commit: Option<String>,
    /// Mean of the segment before and after the change.
    pub before: f64,
    pub after: f64,
    /// after vs before, percent.
    pub change: f64,
    pub p_value: f64,
    /// True when the change is in the metric's worse direction.
    pub worse: bool,
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Significant change points of one series that are also larger than the
/// metric's gate threshold (a significant 0.3% step of a very quiet series
/// is real but not worth a look).
pub fn analyze(s: &Series, cfg: &EDivisive, gate: &GateSettings) -> Vec<ChangePoint> {
    let values = s.values();
    let splits = change_points(&values, cfg);
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(splits.iter().map(|c| c.index))
        .chain(std::iter::once(values.len()))
        .collect();
    let threshold = gate.threshold(s.metric);
    splits
        .iter()
        .enumerate()
        .filter_map(|(k, split)| {
            let before = mean(&values[bounds[k]..bounds[k + 1]]);
            let after = mean(&values[bounds[k + 1]..bounds[k + 2]]);
            let change = (after / before - 1.0) * 100.0;
            if change.abs() <= threshold {
                return None;
            }
            let entry = s.points[split.index].0;
            Some(ChangePoint {
                case: s.case.clone(),
                metric: s.metric,
                index: split.index,
                run_id: entry.run_id.clone(),
                time: entry.time.clone(),
                git_commit: entry.git_commit.clone(),
                before,
                after,
                change,
                p_value: split.p_value,
                worse: (change > 0.0) != s.metric.higher_is_better(),
            })
        })
        .collect()
}

/// Change points of every case and tracked metric.
pub fn analyze_all(
    entries: &[HistoryEntry],
    cfg: &EDivisive,
    gate: &GateSettings,
) -> Vec<ChangePoint> {
    cases(entries)
        .iter()
        .flat_map(|case| {
            TRACKED
                .iter()
                .flat_map(move |&m| analyze(&series(entries, case, m), cfg, gate))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::store::tests::entry;
    use super::*;

    #[test]
    fn names_the_run_and_commit_where_a_slowdown_began() {
        let mut entries = Vec::new();
        for run in 0..16 {
            let p50 = if run < 9 { 1.0 } else { 1.2 } + (run % 3) as f64 * 0.005;
            entries.push(entry(run, "a", p50));
            entries.push(entry(run, "b", 2.0));
        }
        let found = analyze_all(&entries, &EDivisive::default(), &GateSettings::default());
        // Case a: p50, p99 and throughput all step at run 9; memory is flat;
        // case b is flat.
        let metrics: Vec<Metric> = found.iter().map(|c| c.metric).collect();
        assert_eq!(
            metrics,
            vec![Metric::LatencyP50, Metric::LatencyP99, Metric::Throughput]
        );
        let p50 = &found[0];
        assert_eq!((p50.case.as_str(), p50.index), ("a", 9));
        assert_eq!(p50.run_id, "run09");
        assert!(p50.git_commit.as_deref().unwrap().starts_with("09"));
        assert!((p50.change - 20.0).abs() < 1.0, "{p50:?}");
        assert!(p50.worse);
        // Throughput fell: also worse.
        assert!(found[2].worse && found[2].change < 0.0);
    }

    #[test]
    fn small_steps_below_the_threshold_are_not_reported() {
        let entries: Vec<_> = (0..16)
            .map(|run| entry(run, "a", if run < 8 { 1.0 } else { 1.01 }))
            .collect();
        let s = series(&entries, "a", Metric::LatencyP50);
        assert_eq!(s.points.len(), 16);
        assert!(analyze(&s, &EDivisive::default(), &GateSettings::default()).is_empty());
    }
}
