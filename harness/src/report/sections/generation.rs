//! Generation workloads: TTFT, TPOT, inter-token latency and end-to-end
//! latency of every generation case side by side, and for `server` cases
//! latency against the offered rate with the p99 TTFT target (the SLO).

use std::collections::BTreeMap;

use crate::generation::GenerationSummary;
use crate::report::charts::{HEIGHT, WIDTH, percentile_strips};
use crate::report::svg::{Plot, Scale};
use crate::results::CaseResult;
use crate::scenario::LoadPattern;
use crate::stats::Summary;

type Pick = fn(&GenerationSummary) -> Option<Summary>;

const FIGURES: [(&str, Pick); 4] = [
    ("TTFT (time to first token)", |g| g.ttft_ms),
    ("TPOT (time per output token)", |g| g.tpot_ms),
    ("ITL (inter-token latency)", |g| g.itl_ms),
    ("End-to-end request latency", |g| g.e2e_ms),
];

fn strips(cases: &[(&CaseResult, &GenerationSummary)]) -> String {
    let mut out = String::new();
    for (name, pick) in FIGURES {
        let rows: Vec<(String, Summary)> = cases
            .iter()
            .filter_map(|(r, g)| Some((r.case.id.clone(), pick(g)?)))
            .collect();
        if let Some(figure) = percentile_strips(name, &rows, "ms") {
            out.push_str(&figure);
        }
    }
    out
}

/// (offered rate, p99 TTFT, met) points of one line, and its target.
struct RateLine {
    name: String,
    points: Vec<(f64, f64, Option<bool>)>,
    target: Option<f64>,
}

fn rate_lines(cases: &[(&CaseResult, &GenerationSummary)]) -> Vec<RateLine> {
    let mut lines = Vec::new();
    let mut sweeps: BTreeMap<String, RateLine> = BTreeMap::new();
    for (r, g) in cases
        .iter()
        .filter(|(_, g)| g.pattern == LoadPattern::Server)
    {
        if !g.rate_trials.is_empty() {
            lines.push(RateLine {
                name: format!("{} (rate search)", r.case.id),
                points: g
                    .rate_trials
                    .iter()
                    .map(|t| (t.rate, t.p99_ttft_ms, Some(t.met)))
                    .collect(),
                target: g.target_p99_ttft_ms,
            });
        } else if let (Some(rate), Some(ttft)) = (g.offered_rate, g.ttft_ms) {
            let name = format!(
                "{} {} {}",
                r.case.model.name, r.case.backend, r.case.precision
            );
            let line = sweeps.entry(name.clone()).or_insert(RateLine {
                name,
                points: Vec::new(),
                target: g.target_p99_ttft_ms,
            });
            line.points.push((rate, ttft.p99, g.target_met));
        }
    }
    lines.extend(sweeps.into_values());
    lines
}

fn rate_chart(line: &RateLine) -> String {
    let mut points = line.points.clone();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let x = Scale::covering(points.iter().map(|p| p.0), true);
    let y = Scale::covering(points.iter().map(|p| p.1).chain(line.target), true);
    let label = format!("p99 TTFT against offered rate: {}", line.name);
    let mut plot =
        Plot::new(&label, WIDTH, HEIGHT, x, y).titles("offered rate (requests/s)", "p99 TTFT (ms)");
    let path: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.1)).collect();
    plot.line(&path, "series s0", "p99 TTFT");
    for &(rate, ttft, met) in &points {
        let verdict = match met {
            Some(true) => "meets the target",
            Some(false) => "misses the target",
            None => "no target",
        };
        let class = if met == Some(false) {
            "pt miss"
        } else {
            "pt s0"
        };
        plot.point(
            (rate, ttft),
            class,
            met == Some(false),
            &format!("{rate:.2} req/s: p99 TTFT {ttft:.1} ms, {verdict}"),
        );
        if met == Some(false) {
            plot.text((rate, ttft), "point-label", "missed");
        }
    }
    if let Some(target) = line.target {
        plot.hline(target, "slo", &format!("SLO: p99 TTFT ≤ {target} ms"));
    }
    plot.legend(
        "series s0",
        "p99 TTFT (squares: rates that miss the target)",
    );
    plot.finish(&format!(
        "{}: p99 TTFT including queueing, against the arrival rate asked for",
        line.name
    ))
}

pub fn render(cases: &[CaseResult]) -> Option<String> {
    let generation: Vec<(&CaseResult, &GenerationSummary)> = cases
        .iter()
        .filter_map(|r| Some((r, r.generation.as_ref()?)))
        .collect();
    if generation.is_empty() {
        return None;
    }
    let mut out = strips(&generation);
    for line in rate_lines(&generation) {
        out.push_str(&rate_chart(&line));
    }
    Some(out)
}
