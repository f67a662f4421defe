//! Markdown for a pull-request comment or `$GITHUB_STEP_SUMMARY`: a headline
//! verdict, one table row per case, the findings, and the settings used.

use super::{Exporter, TABLE_METRICS, cell, findings};
use crate::gate::comparison::{CaseOutcome, Comparison};
use crate::gate::verdict::Verdict;

pub struct Markdown;

fn commit(c: &Option<String>) -> String {
    c.as_deref().map_or_else(
        || "unknown commit".into(),
        |s| format!("`{}`", &s[..s.len().min(10)]),
    )
}

fn outcome_cell(o: CaseOutcome) -> String {
    match o {
        CaseOutcome::Regressed => "❌ regressed".into(),
        CaseOutcome::Improved => "✅ improved".into(),
        CaseOutcome::Unchanged => "unchanged".into(),
        other => format!("⚠️ {}", other.as_str()),
    }
}

/// Pipes would end a table cell.
fn escape(text: &str) -> String {
    text.replace('|', "\\|")
}

impl Exporter for Markdown {
    fn render(&self, c: &Comparison) -> String {
        let headline = match c.verdict {
            Verdict::Regressed => format!("❌ {} case(s) regressed", c.regressions),
            Verdict::Improved => format!("✅ no regression, {} case(s) improved", c.improvements),
            Verdict::Unchanged => "✅ no regression".to_string(),
            Verdict::Inconclusive => "⚠️ inconclusive (no metric could be judged)".to_string(),
        };
        let mut out = format!("## inferbench regression gate: {headline}\n\n");
        for line in super::validity_lines(c) {
            out.push_str(&format!("> ⚠️ {}\n\n", escape(&line)));
        }
        out.push_str(&format!(
            "Base **{}** ({}, {}) vs candidate **{}** ({}, {}).\n\n",
            escape(&c.base.label),
            c.base.kind,
            commit(&c.base.git_commit),
            escape(&c.candidate.label),
            c.candidate.kind,
            commit(&c.candidate.git_commit),
        ));
        out.push_str("| case | verdict |");
        for m in TABLE_METRICS {
            out.push_str(&format!(" {} Δ [CI] |", m.label()));
        }
        out.push_str("\n|---|---|");
        out.push_str(&"---:|".repeat(TABLE_METRICS.len()));
        out.push('\n');
        for case in &c.cases {
            out.push_str(&format!(
                "| `{}` | {} |",
                escape(&case.id),
                outcome_cell(case.outcome)
            ));
            for m in TABLE_METRICS {
                out.push_str(&format!(" {} |", cell(&case.metrics, m)));
            }
            out.push('\n');
        }
        let mut notes = Vec::new();
        for case in &c.cases {
            notes.extend(
                findings(&case.metrics)
                    .into_iter()
                    .map(|f| format!("- `{}`: {f}", case.id)),
            );
            if let Some(note) = &case.note {
                notes.push(format!(
                    "- `{}` ({}): {}",
                    case.id,
                    case.outcome.as_str(),
                    escape(note)
                ));
            }
        }
        if !notes.is_empty() {
            out.push('\n');
            out.push_str(&notes.join("\n"));
            out.push('\n');
        }
        let thresholds: Vec<String> = c
            .settings
            .thresholds
            .iter()
            .map(|(m, t)| {
                let unit = if m.absolute_change() { " pp" } else { "%" };
                format!("{m} {t}{unit}")
            })
            .collect();
        out.push_str(&format!(
            "\n<sub>Δ: candidate vs base, {} clock; [CI]: percentile-bootstrap interval ({} resamples, seed {}), {}% family-wise over {} intervals (Bonferroni). A case regresses when a change is significant (interval excludes 0) and beyond its threshold: {}.</sub>\n",
            c.settings.clock.as_str(),
            c.settings.resamples,
            c.settings.seed,
            c.settings.confidence * 100.0,
            c.settings.simultaneous_intervals,
            thresholds.join(", ")
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
        insta::assert_snapshot!(Markdown.render(&comparison()));
    }
}
