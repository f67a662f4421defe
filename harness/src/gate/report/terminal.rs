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
        let mut out = String::new();
        for line in super::validity_lines(c) {
            out.push_str(&format!("warning: {line}\n"));
        }
        out.push_str(&format!(
            "base: {} ({})  candidate: {} ({})\n",
            c.base.label, c.base.kind, c.candidate.label, c.candidate.kind
        ));
        out.push_str(&crate::text_table::aligned(&rows, 2));
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
        insta::assert_snapshot!(Terminal.render(&comparison()));
    }
}
