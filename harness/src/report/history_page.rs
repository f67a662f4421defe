//! The history page (`history --html`): each case's tracked metrics over
//! the runs, with the change points found and the commit each began at.

use std::fmt::Write;

use super::charts::{HEIGHT, WIDTH};
use super::format::short_commit;
use super::html::{Page, escape, sortable_header};
use super::svg::{Plot, Scale};
use crate::gate::metric::Metric;
use crate::gate::report::value;
use crate::history::store::HistoryEntry;
use crate::history::{ChangePoint, TRACKED, cases, series};

/// `p50 (ms)`; `tok/s` alone where the label is the unit.
fn axis_title(metric: Metric) -> String {
    match metric.unit() {
        "" => metric.label().to_string(),
        unit if unit == metric.label() => unit.to_string(),
        unit => format!("{} ({unit})", metric.label()),
    }
}

fn chart(
    entries: &[HistoryEntry],
    case: &str,
    metric: Metric,
    found: &[&ChangePoint],
) -> Option<String> {
    let s = series(entries, case, metric);
    if s.points.is_empty() {
        return None;
    }
    let n = s.points.len();
    let x = Scale::linear(0.0, (n.max(2) - 1) as f64);
    let y = Scale::covering(s.points.iter().map(|p| p.1), false);
    let label = format!("{case}: {} over {n} runs", metric.label());
    let mut plot =
        Plot::new(&label, WIDTH, HEIGHT, x, y).titles("run (oldest first)", &axis_title(metric));
    let line: Vec<(f64, f64)> = s
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| (i as f64, p.1))
        .collect();
    plot.line(&line, "series s0", metric.label());
    for (i, (entry, v)) in s.points.iter().enumerate() {
        let tip = format!(
            "run {} ({}), commit {}: {}",
            entry.run_id,
            entry.time,
            short_commit(entry.git_commit.as_deref()),
            value(metric, *v)
        );
        plot.point((i as f64, *v), "pt s0", false, &tip);
    }
    for cp in found {
        let label = format!(
            "{} {:+.1}%",
            short_commit(cp.git_commit.as_deref()),
            cp.change
        );
        plot.vline(cp.index as f64 - 0.5, "change", &label);
    }
    plot.legend("series s0", metric.label());
    if !found.is_empty() {
        plot.legend(
            "change",
            "change point, labelled with the commit the new level began at",
        );
    }
    Some(plot.finish(&format!(
        "{n} measured runs, {} change point(s)",
        found.len()
    )))
}

fn change_table(found: &[ChangePoint]) -> String {
    let columns = [
        ("case", false),
        ("metric", false),
        ("change", false),
        ("before → after", false),
        ("run", false),
        ("commit", false),
        ("p", false),
        ("direction", false),
    ];
    let mut out = String::from(
        "<table id=\"change-points\" class=\"sortable\"><caption>Change points (E-divisive means)</caption>\n",
    );
    out.push_str(&sortable_header(&columns));
    out.push_str("<tbody>\n");
    for cp in found {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{:+.1}%</td><td>{} → {}</td><td>{} ({})</td><td><code>{}</code></td><td class=\"num\">{:.3}</td><td>{}</td></tr>",
            escape(&cp.case),
            cp.metric.label(),
            cp.change,
            value(cp.metric, cp.before),
            value(cp.metric, cp.after),
            escape(&cp.run_id),
            escape(&cp.time),
            escape(&short_commit(cp.git_commit.as_deref())),
            cp.p_value,
            if cp.worse {
                "<span class=\"status v-regressed\">✗ worse</span>"
            } else {
                "<span class=\"status v-improved\">✓ better</span>"
            }
        );
    }
    out.push_str("</tbody></table>\n");
    out
}

pub fn render_history(label: &str, entries: &[HistoryEntry], found: &[ChangePoint]) -> String {
    let mut page = Page::new(&format!("inferbench history: {label}"));
    let all = cases(entries);
    page.push(&format!(
        "<header><h1>History <span class=\"sub\">{}</span></h1><p>{} entries, {} cases, {} change points</p></header>\n",
        escape(label),
        entries.len(),
        all.len(),
        found.len()
    ));
    page.section("changes", "Change points", &change_table(found));
    for (i, case) in all.iter().enumerate() {
        let figures: String = TRACKED
            .iter()
            .filter_map(|&m| {
                let mine: Vec<&ChangePoint> = found
                    .iter()
                    .filter(|c| &c.case == case && c.metric == m)
                    .collect();
                chart(entries, case, m, &mine)
            })
            .collect();
        page.section(
            &format!("case-{i}"),
            case,
            &format!("<div class=\"figures\">{figures}</div>"),
        );
    }
    page.finish()
}
