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
        let expected = "\
## inferbench regression gate: ❌ 1 case(s) regressed

Base **results/baselines/ci.json** (run, `1111111aaa`) vs candidate **results/runs/new** (run, `2222222bbb`).

| case | verdict | p5 Δ [CI] | p50 Δ [CI] | p99 Δ [CI] | tok/s Δ [CI] | memory Δ [CI] |
|---|---|---:|---:|---:|---:|---:|
| `gpt/candle/cpu/f32/b1/t16/th1` | ❌ regressed | +5.6% [+4.9, +6.1] | +5.2% [+4.1, +6.3] | +6.7% [-2.0, +15.0] | -5.0% [-6.0, -4.0] | +1.0% |
| `gpt/candle/cpu/f32/b4/t16/th1` | unchanged | +0.0% [-0.3, +0.3] | +1.0% [+0.2, +1.8] | -2.9% [-8.0, +3.0] | -1.0% [-1.8, -0.2] | +0.0% |
| `gpt/candle/cpu/q4k/b1/t16/th1` | ⚠️ only in candidate | - | - | - | - | - |

- `gpt/candle/cpu/f32/b1/t16/th1`: latency_p5 0.900 ms → 0.950 ms: +5.6% [+4.9, +6.1] (threshold 3%): regressed
- `gpt/candle/cpu/f32/b1/t16/th1`: latency_p50 1.000 ms → 1.052 ms: +5.2% [+4.1, +6.3] (threshold 3%): regressed
- `gpt/candle/cpu/f32/b1/t16/th1`: throughput 16000 tok/s → 15200 tok/s: -5.0% [-6.0, -4.0] (threshold 3%): regressed
- `gpt/candle/cpu/q4k/b1/t16/th1` (only in candidate): new case: nothing to compare against

<sub>Δ: candidate vs base, wall clock; [CI]: percentile-bootstrap interval (2000 resamples, seed 0), 95% family-wise over 8 intervals (Bonferroni). A case regresses when a change is significant (interval excludes 0) and beyond its threshold: latency_p5 3%, latency_p50 3%, latency_p99 10%, throughput 3%, peak_memory 10%, rel_l2 50%, top1 0.5 pp.</sub>
";
        assert_eq!(Markdown.render(&comparison()), expected);
    }
}
