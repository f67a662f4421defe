//! The report's figures, each a function of plain numbers returning an
//! HTML `<figure>`: distributions, per-iteration series, percentile strips,
//! labelled bars, and lines with markers.

use super::reduce::{Histogram, reduce_series};
use super::svg::{Plot, Scale, label_width};
use crate::stats::Summary;

pub const WIDTH: f64 = 540.0;
pub const HEIGHT: f64 = 260.0;
/// Right margin of row charts without value labels.
const RIGHT_PAD: f64 = 20.0;

/// A histogram of samples in `unit`, with the median and p99 marked.
pub fn distribution(label: &str, samples: &[f64], unit: &str) -> Option<String> {
    let h = Histogram::of(samples)?;
    let summary = Summary::of(samples)?;
    let top = h.counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let mut plot = Plot::new(
        label,
        WIDTH,
        HEIGHT,
        Scale::linear(h.lo, h.hi()),
        Scale::linear(0.0, top * 1.1),
    )
    .titles(unit, "iterations");
    for (a, b, count) in h.bins() {
        let tip = format!("{a:.4}–{b:.4} {unit}: {count}");
        plot.rect((a, b), (0.0, count as f64), "bar", &tip);
    }
    plot.vline(summary.p50, "mark-p50", &format!("p50 {:.3}", summary.p50));
    if summary.p99 <= h.hi() {
        plot.vline(summary.p99, "mark-p99", &format!("p99 {:.3}", summary.p99));
    }
    let clipped = if h.clipped > 0 {
        format!(
            "; {} samples above {:.3} {unit} not drawn",
            h.clipped,
            h.hi()
        )
    } else {
        String::new()
    };
    let caption = format!(
        "{} samples; p50 {:.3} {unit}, p99 {:.3} {unit}, max {:.3} {unit}{clipped}",
        summary.n, summary.p50, summary.p99, summary.max
    );
    Some(plot.finish(&caption))
}

/// Each iteration's value in order, so warm-up drift and noise show:
/// the median line, and for long series each bucket's min–max band.
pub fn iterations(label: &str, samples: &[f64], unit: &str) -> Option<String> {
    if samples.is_empty() {
        return None;
    }
    let r = reduce_series(samples);
    let x = Scale::linear(0.0, samples.len().max(2) as f64 - 1.0);
    let y = Scale::covering(r.points.iter().flat_map(|p| [p.1, p.3]), false);
    let mut plot = Plot::new(label, WIDTH, HEIGHT, x, y).titles("iteration", unit);
    let mid = |&(i, _, _, _): &(usize, f64, f64, f64)| i as f64 + (r.bucket as f64 - 1.0) / 2.0;
    if r.bucket > 1 {
        let mut band: Vec<(f64, f64)> = r.points.iter().map(|p| (mid(p), p.3)).collect();
        band.extend(r.points.iter().rev().map(|p| (mid(p), p.1)));
        plot.area(&band, "band", "min–max of each bucket");
        plot.legend("band", &format!("min–max per {} iterations", r.bucket));
    }
    let line: Vec<(f64, f64)> = r.points.iter().map(|p| (mid(p), p.2)).collect();
    plot.line(&line, "series s0", "median");
    plot.legend(
        "series s0",
        if r.bucket > 1 { "median" } else { "iteration" },
    );
    let caption = if r.bucket > 1 {
        format!(
            "{} iterations in buckets of {} (the page keeps {} points; results.json keeps every sample)",
            samples.len(),
            r.bucket,
            r.points.len()
        )
    } else {
        format!("{} iterations", samples.len())
    };
    Some(plot.finish(&caption))
}

/// Two distributions on the same bins, drawn as outlines (dashed base,
/// solid candidate).
pub fn overlaid(label: &str, base: &[f64], candidate: &[f64], unit: &str) -> Option<String> {
    let all: Vec<f64> = base.iter().chain(candidate).copied().collect();
    let whole = Histogram::of(&all)?;
    let (lo, hi) = (whole.lo, whole.hi());
    let (b, c) = (
        Histogram::over(base, lo, hi),
        Histogram::over(candidate, lo, hi),
    );
    // Densities, so sides with different sample counts compare.
    let density = |h: &Histogram, n: usize| -> Vec<(f64, f64)> {
        let total = n.max(1) as f64;
        let mut steps = vec![(h.lo, 0.0)];
        for (a, z, count) in h.bins() {
            let d = count as f64 / total;
            steps.extend([(a, d), (z, d)]);
        }
        steps.push((h.hi(), 0.0));
        steps
    };
    let (bd, cd) = (density(&b, base.len()), density(&c, candidate.len()));
    let top = bd.iter().chain(&cd).map(|p| p.1).fold(0.0, f64::max);
    let mut plot = Plot::new(
        label,
        WIDTH,
        HEIGHT,
        Scale::linear(lo, hi),
        Scale::linear(0.0, top * 1.1),
    )
    .titles(unit, "share of iterations");
    plot.line(&bd, "series s1 dashed", "base");
    plot.line(&cd, "series s0", "candidate");
    plot.legend(
        "series s1 dashed",
        &format!("base ({} samples)", base.len()),
    );
    plot.legend(
        "series s0",
        &format!("candidate ({} samples)", candidate.len()),
    );
    Some(plot.finish(&format!(
        "base median {:.3} {unit}, candidate median {:.3} {unit}",
        Summary::of(base)?.p50,
        Summary::of(candidate)?.p50
    )))
}

/// Row names without the part they all share (up to a `/`), and that
/// part, so long case ids fit beside a chart.
pub fn shorten(names: &[String]) -> (String, Vec<String>) {
    let first = names.first().map_or("", String::as_str);
    let mut common = first.len();
    for name in names {
        common = common.min(
            first
                .bytes()
                .zip(name.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    if names.len() > 1 && names.iter().all(|n| n == first) {
        // One name on every row: say it once, rows need no name.
        return (first.to_string(), vec![String::new(); names.len()]);
    }
    let cut = first[..common].rfind('/').map_or(0, |i| i + 1);
    let cut = if names.len() < 2 { 0 } else { cut };
    let short = names.iter().map(|n| n[cut..].to_string()).collect();
    (first[..cut].to_string(), short)
}

/// A chart of labelled rows: the left margin fits the longest label.
pub fn rows_plot(label: &str, names: &[String], x: Scale, right: f64) -> Plot {
    let left = names
        .iter()
        .map(|n| label_width(n))
        .fold(60.0, f64::max)
        .min(420.0)
        + 12.0;
    let height = 50.0 + 30.0 * names.len() as f64;
    let y = Scale::linear(0.0, names.len() as f64);
    Plot::new(label, WIDTH + left, height, x, y)
        .margins(left, right)
        .without_y_ticks()
}

/// The caption's note on the shared part of the row names.
pub fn prefix_note(prefix: &str) -> String {
    if prefix.is_empty() {
        String::new()
    } else {
        let more = if prefix.ends_with('/') { "…" } else { "" };
        format!("; rows are of {prefix}{more}")
    }
}

/// One horizontal strip per named summary: min–max line, p50–p99 box,
/// the median tick. For figures that only kept percentiles (ITL).
pub fn percentile_strips(label: &str, rows: &[(String, Summary)], unit: &str) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let (prefix, short) = shorten(&names);
    let x = Scale::covering(rows.iter().flat_map(|(_, s)| [s.min, s.max]), true);
    let mut plot = rows_plot(label, &short, x, RIGHT_PAD).titles(unit, "");
    for (i, ((name, s), short)) in rows.iter().zip(&short).enumerate() {
        let mid = rows.len() as f64 - i as f64 - 0.5;
        let tip = format!(
            "{name}: min {:.3}, p50 {:.3}, p90 {:.3}, p99 {:.3}, max {:.3} {unit}",
            s.min, s.p50, s.p90, s.p99, s.max
        );
        plot.line(&[(s.min, mid), (s.max, mid)], "whisker", &tip);
        plot.rect((s.p50, s.p99), (mid - 0.25, mid + 0.25), "box", &tip);
        plot.line(&[(s.p50, mid - 0.3), (s.p50, mid + 0.3)], "median", &tip);
        plot.row_label(mid, short);
    }
    Some(plot.finish(&format!(
        "{label}: line from min to max, box from p50 to p99, tick at the median ({unit}){}",
        prefix_note(&prefix)
    )))
}

/// Horizontal bars, one per named value, in the given order, each with
/// its value written beside it.
pub fn bars(label: &str, rows: &[(String, f64)], unit: &str) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let x = Scale::covering(rows.iter().map(|r| r.1), true);
    let mut plot = rows_plot(label, &names, x, 110.0).titles(unit, "");
    for (i, (name, v)) in rows.iter().enumerate() {
        let mid = rows.len() as f64 - i as f64 - 0.5;
        let tip = format!("{name}: {v:.0} {unit}");
        plot.rect((0.0, *v), (mid - 0.35, mid + 0.35), "bar", &tip);
        plot.row_label(mid, name);
        plot.value_label(mid, "bar-label", &format!("{v:.0} {unit}"));
    }
    Some(plot.finish(label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_names_lose_what_they_share() {
        let names = ["m/candle/f32/b1".to_string(), "m/ort/f32/b1".to_string()];
        assert_eq!(
            shorten(&names),
            (
                "m/".into(),
                vec!["candle/f32/b1".into(), "ort/f32/b1".into()]
            )
        );
        let same = ["m/a/b".to_string(), "m/a/b".to_string()];
        assert_eq!(
            shorten(&same),
            ("m/a/b".into(), vec![String::new(), String::new()])
        );
        assert_eq!(
            shorten(&["m/a".to_string()]),
            (String::new(), vec!["m/a".into()])
        );
    }
}
