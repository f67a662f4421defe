//! The page of a comparison (`compare --html`): the verdict, each case's
//! outcome, a forest plot of every change with its interval against the
//! threshold band, the two distributions of each regressed case, and the
//! settings the gate used.

use std::fmt::Write;

use super::charts::{overlaid, prefix_note, rows_plot, shorten};
use super::html::{Page, escape, key_values, sort_cell, sortable_header};
use super::svg::Scale;
use crate::gate::comparison::{CaseOutcome, Comparison, MetricChange};
use crate::gate::report::{TABLE_METRICS, cell, change_with_interval, signed_change};
use crate::gate::side::Side;
use crate::gate::verdict::Verdict;

fn banner(c: &Comparison) -> String {
    let (class, mark) = match c.verdict {
        Verdict::Regressed => ("v-regressed", "✗ Regressed"),
        Verdict::Improved => ("v-improved", "✓ Improved"),
        Verdict::Unchanged => ("v-unchanged", "✓ No change beyond the thresholds"),
    };
    format!(
        "<div class=\"banner {class}\" role=\"status\">{mark}: {} regressed, {} improved, {} unchanged, {} not compared</div>\n",
        c.count(CaseOutcome::Regressed),
        c.count(CaseOutcome::Improved),
        c.count(CaseOutcome::Unchanged),
        c.cases.len()
            - c.count(CaseOutcome::Regressed)
            - c.count(CaseOutcome::Improved)
            - c.count(CaseOutcome::Unchanged),
    )
}

fn outcome_badge(o: CaseOutcome) -> String {
    let (class, mark) = match o {
        CaseOutcome::Regressed => ("v-regressed", "✗"),
        CaseOutcome::Improved => ("v-improved", "✓"),
        CaseOutcome::Unchanged => ("v-unchanged", "="),
        _ => ("v-other", "–"),
    };
    format!(
        "<span class=\"status {class}\"><span aria-hidden=\"true\">{mark}</span> {}</span>",
        o.as_str()
    )
}

fn sides(c: &Comparison) -> String {
    let side = |s: &crate::gate::comparison::SideSummary| {
        format!(
            "{} ({} × {}, scenario {}, commit {})",
            s.label,
            s.runs,
            s.kind,
            s.scenario,
            s.git_commit.as_deref().unwrap_or("unknown")
        )
    };
    key_values(
        "What was compared",
        &[("base", side(&c.base)), ("candidate", side(&c.candidate))],
    )
}

fn case_table(c: &Comparison) -> String {
    let mut columns = vec![("case", false), ("outcome", false)];
    columns.extend(TABLE_METRICS.iter().map(|m| (m.label(), true)));
    columns.push(("note", false));
    let mut out = String::from(
        "<table id=\"cases-table\" class=\"sortable\"><caption>Change of each metric, candidate against base, \
         with its confidence interval</caption>\n",
    );
    out.push_str(&sortable_header(&columns));
    out.push_str("<tbody>\n");
    for case in &c.cases {
        let cells: String = TABLE_METRICS
            .iter()
            .map(|&m| {
                let change = case
                    .metrics
                    .iter()
                    .find(|c| c.metric == m)
                    .map(|c| c.change);
                sort_cell(&cell(&case.metrics, m), change)
            })
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td>{cells}<td class=\"reason\">{}</td></tr>",
            escape(&case.id),
            outcome_badge(case.outcome),
            escape(case.note.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</tbody></table>\n");
    out
}

/// Every (case, metric) change in percent with its interval, on the band
/// of ± the metric's threshold.
fn forest(c: &Comparison) -> Option<String> {
    let rows: Vec<(&str, &MetricChange)> = c
        .cases
        .iter()
        .flat_map(|case| case.metrics.iter().map(move |m| (case.id.as_str(), m)))
        .filter(|(_, m)| TABLE_METRICS.contains(&m.metric) && m.change.is_finite())
        .collect();
    if rows.is_empty() {
        return None;
    }
    let extent = rows
        .iter()
        .flat_map(|(_, m)| {
            let (lo, hi) = m.interval.unwrap_or((m.change, m.change));
            [lo.abs(), hi.abs(), m.threshold]
        })
        .fold(1.0, f64::max)
        .min(200.0)
        * 1.1;
    let ids: Vec<String> = rows.iter().map(|(id, _)| id.to_string()).collect();
    let (prefix, short) = shorten(&ids);
    let names: Vec<String> = rows
        .iter()
        .zip(&short)
        .map(|((_, m), id)| match id.as_str() {
            "" => m.metric.label().to_string(),
            id => format!("{id} · {}", m.metric.label()),
        })
        .collect();
    let label = "Forest plot: change of each metric with its interval against the threshold band";
    let mut plot = rows_plot(label, &names, Scale::linear(-extent, extent), 200.0)
        .titles("change, candidate vs base (%)", "");
    let n = rows.len() as f64;
    for (i, ((id, m), name)) in rows.iter().zip(&names).enumerate() {
        let y = n - i as f64 - 0.5;
        let tip = format!(
            "{id} · {}: {} (threshold ±{}%) {}",
            m.metric.label(),
            change_with_interval(m),
            m.threshold,
            m.verdict.as_str()
        );
        plot.rect(
            (-m.threshold, m.threshold),
            (y - 0.4, y + 0.4),
            "threshold",
            &tip,
        );
        let class = format!("ci v-{}", m.verdict.as_str());
        if let Some((lo, hi)) = m.interval {
            plot.line(&[(lo.max(-extent), y), (hi.min(extent), y)], &class, &tip);
        }
        let regressed = m.verdict == Verdict::Regressed;
        plot.point(
            (m.change.clamp(-extent, extent), y),
            &class,
            regressed,
            &tip,
        );
        plot.row_label(y, name);
        let mark = match m.verdict {
            Verdict::Regressed => "✗ regressed",
            Verdict::Improved => "✓ improved",
            Verdict::Unchanged => "unchanged",
        };
        plot.value_label(
            y,
            &format!("v-{}", m.verdict.as_str()),
            &format!("{} {mark}", signed_change(m)),
        );
    }
    plot.line(&[(0.0, 0.0), (0.0, n)], "zero", "no change");
    plot.legend("threshold", "grey band: ± the metric's threshold");
    Some(plot.finish(&format!(
        "A change is a regression (square, ✗) when its interval excludes zero and its estimate lies beyond the threshold; \
         for tok/s a fall is worse, for latency and memory a rise{}",
        prefix_note(&prefix)
    )))
}

fn regressed_distributions(c: &Comparison, base: &Side, candidate: &Side) -> String {
    let mut out = String::new();
    for case in c
        .cases
        .iter()
        .filter(|k| k.outcome == CaseOutcome::Regressed)
    {
        let find = |s: &Side| {
            s.cases
                .iter()
                .find(|r| r.id == case.id)
                .map(|r| r.clock_ms(c.settings.clock))
        };
        if let (Some(b), Some(k)) = (find(base), find(candidate)) {
            let label = format!(
                "{}: latency distributions ({} clock), base and candidate",
                case.id,
                c.settings.clock.as_str()
            );
            out.push_str(&overlaid(&label, &b, &k, "ms").unwrap_or_default());
        }
    }
    out
}

fn settings(c: &Comparison) -> String {
    let s = &c.settings;
    let mut rows = vec![
        ("clock", s.clock.as_str().to_string()),
        ("confidence", format!("{} family-wise", s.confidence)),
        (
            "simultaneous intervals",
            format!(
                "{} (Bonferroni: each at {:.4})",
                s.simultaneous_intervals,
                s.interval_confidence()
            ),
        ),
        ("bootstrap resamples", s.resamples.to_string()),
        ("seed", s.seed.to_string()),
    ];
    let thresholds: Vec<(String, String)> = s
        .thresholds
        .iter()
        .map(|(m, t)| {
            (
                format!("threshold {}", m.label()),
                format!("{t}{}", if m.absolute_change() { " pp" } else { "%" }),
            )
        })
        .collect();
    rows.extend(thresholds.iter().map(|(k, v)| (k.as_str(), v.clone())));
    key_values("Gate settings", &rows)
}

pub fn render_comparison(c: &Comparison, base: &Side, candidate: &Side) -> String {
    let mut page = Page::new(&format!("inferbench compare: {}", c.verdict.as_str()));
    page.push(&format!(
        "<header><h1>Comparison <span class=\"sub\">{} → {}</span></h1></header>\n{}",
        escape(&c.base.label),
        escape(&c.candidate.label),
        banner(c)
    ));
    page.section("sides", "Sides", &sides(c));
    page.section("cases", "Cases", &case_table(c));
    if let Some(f) = forest(c) {
        page.section("forest", "Changes and their intervals", &f);
    }
    let regressed = regressed_distributions(c, base, candidate);
    if !regressed.is_empty() {
        page.section(
            "regressed",
            "Regressed cases: the two distributions",
            &format!("<div class=\"figures\">{regressed}</div>"),
        );
    }
    page.section("settings", "Settings", &settings(c));
    page.finish()
}
