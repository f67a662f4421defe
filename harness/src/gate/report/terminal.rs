//! The aligned table printed by `inferbench compare`.

use super::{Exporter, TABLE_METRICS, cell, findings};
use crate::gate::comparison::{CaseOutcome, Comparison};

pub struct Terminal;

fn header_cell(m: crate::gate::metric::Metric) -> String {
    format!("{} Δ [CI]", m.label())
}

impl Exporter for Terminal {
    fn render(&self, c: &Comparison) -> String {
        let mut rows: Vec<Vec<String>> = vec![
            ["case", "verdict"]
                .into_iter()
                .map(String::from)
                .chain(TABLE_METRICS.into_iter().map(header_cell))
                .collect(),
        ];
        for case in &c.cases {
            let mut row = vec![case.id.clone(), case.outcome.as_str().to_string()];
            row.extend(TABLE_METRICS.iter().map(|&m| cell(&case.metrics, m)));
            rows.push(row);
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for line in super::validity_lines(c) {
            out.push_str(&format!("warning: {line}\n"));
        }
        out.push_str(&format!(
            "base: {} ({})  candidate: {} ({})\n",
            c.base.label, c.base.kind, c.candidate.label, c.candidate.kind
        ));
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (text, w))| {
                    if i < 2 {
                        format!("{text:<w$}")
                    } else {
                        format!("{text:>w$}")
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        for case in &c.cases {
            for line in findings(&case.metrics) {
                out.push_str(&format!("{}: {line}\n", case.id));
            }
            if let Some(note) = &case.note {
                out.push_str(&format!(
                    "{} ({}): {note}\n",
                    case.id,
                    case.outcome.as_str()
                ));
            }
        }
        let one_sided = c.count(CaseOutcome::OnlyInBase) + c.count(CaseOutcome::OnlyInCandidate);
        out.push_str(&format!(
            "verdict: {} — {} regressed, {} improved, {} unchanged, {} inconclusive, {} on one side only, {} not compared ({} clock; {}% family-wise over {} bootstrap intervals of {} resamples)\n",
            c.verdict.as_str(),
            c.regressions,
            c.improvements,
            c.count(CaseOutcome::Unchanged),
            c.count(CaseOutcome::Inconclusive),
            one_sided,
            c.count(CaseOutcome::NotCompared),
            c.settings.clock.as_str(),
            c.settings.confidence * 100.0,
            c.settings.simultaneous_intervals,
            c.settings.resamples,
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::report::fixture::comparison;

    #[test]
    fn snapshot() {
        let expected = "\
base: results/baselines/ci.json (run)  candidate: results/runs/new (run)
case                           verdict                     p5 Δ [CI]          p50 Δ [CI]           p99 Δ [CI]        tok/s Δ [CI]  memory Δ [CI]
gpt/candle/cpu/f32/b1/t16/th1  regressed          +5.6% [+4.9, +6.1]  +5.2% [+4.1, +6.3]  +6.7% [-2.0, +15.0]  -5.0% [-6.0, -4.0]          +1.0%
gpt/candle/cpu/f32/b4/t16/th1  unchanged          +0.0% [-0.3, +0.3]  +1.0% [+0.2, +1.8]   -2.9% [-8.0, +3.0]  -1.0% [-1.8, -0.2]          +0.0%
gpt/candle/cpu/q4k/b1/t16/th1  only in candidate                   -                   -                    -                   -              -
gpt/candle/cpu/f32/b1/t16/th1: latency_p5 0.900 ms → 0.950 ms: +5.6% [+4.9, +6.1] (threshold 3%): regressed
gpt/candle/cpu/f32/b1/t16/th1: latency_p50 1.000 ms → 1.052 ms: +5.2% [+4.1, +6.3] (threshold 3%): regressed
gpt/candle/cpu/f32/b1/t16/th1: throughput 16000 tok/s → 15200 tok/s: -5.0% [-6.0, -4.0] (threshold 3%): regressed
gpt/candle/cpu/q4k/b1/t16/th1 (only in candidate): new case: nothing to compare against
verdict: regressed — 1 regressed, 0 improved, 1 unchanged, 0 inconclusive, 1 on one side only, 0 not compared (wall clock; 95% family-wise over 8 bootstrap intervals of 2000 resamples)
";
        assert_eq!(Terminal.render(&comparison()), expected);
    }
}
