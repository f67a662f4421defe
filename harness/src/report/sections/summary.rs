//! Every case in one sortable table, the columns of the terminal table,
//! with the status as a badge and the reason of a skip, error or failure
//! in its row.

use std::fmt::Write;

use crate::report::format::{fixed, mebibytes, sci};
use crate::report::html::{breakable, escape, sort_cell, sortable_header};
use crate::report::run_page::{case_anchor, status_badge};
use crate::results::CaseResult;

const COLUMNS: [(&str, bool); 11] = [
    ("case", false),
    ("status", false),
    ("p50 ms", true),
    ("p99 ms", true),
    ("tok/s", true),
    ("GFLOP/s", true),
    ("of peak", true),
    ("RSS MiB", true),
    ("rel L2", true),
    ("top1", true),
    ("reason", false),
];

fn row(index: usize, r: &CaseResult) -> String {
    let latency = r.latency_ms;
    let rss = r.peak_rss_bytes.map(mebibytes);
    let (rel_l2, top1) = (r.accuracy.map(|a| a.rel_l2), r.accuracy.map(|a| a.top1));
    let cells = [
        sort_cell(&fixed(latency.map(|l| l.p50), 3), latency.map(|l| l.p50)),
        sort_cell(&fixed(latency.map(|l| l.p99), 3), latency.map(|l| l.p99)),
        sort_cell(
            &fixed(r.throughput_tokens_per_s, 0),
            r.throughput_tokens_per_s,
        ),
        sort_cell(&fixed(r.gflop_per_s, 2), r.gflop_per_s),
        sort_cell(&fixed(r.peak_fraction, 2), r.peak_fraction),
        sort_cell(&fixed(rss, 1), rss),
        sort_cell(&sci(rel_l2), rel_l2),
        sort_cell(&fixed(top1, 4), top1),
    ];
    format!(
        "<tr class=\"row-{status}\"><td><a href=\"#{anchor}\">{id}</a></td><td data-sort=\"{status}\">{badge}</td>{cells}<td class=\"reason\">{reason}</td></tr>\n",
        status = r.status.as_str(),
        anchor = case_anchor(index),
        id = breakable(&r.case.id),
        badge = status_badge(r.status),
        cells = cells.concat(),
        reason = escape(r.message.as_deref().unwrap_or("")),
    )
}

pub fn render(cases: &[CaseResult]) -> String {
    let mut out = String::from(
        "<table id=\"summary-table\" class=\"sortable\"><caption>One row per case; \
         select a column heading to sort by it</caption>\n",
    );
    out.push_str(&sortable_header(&COLUMNS));
    out.push_str("<tbody>\n");
    for (i, r) in cases.iter().enumerate() {
        out.push_str(&row(i, r));
    }
    let _ = writeln!(out, "</tbody></table>");
    out
}
