//! Baseline against candidate for every case: the median latency's change
//! with its confidence interval (a forest plot), the threshold band drawn
//! around zero, colored by verdict; plus each case's latency CDFs.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::distribution_plot::LatencyCdf;
use super::{Figure, PlotError, png_and_svg, slug, text, verdict_color};
use crate::gate::comparison::{Comparison, MetricChange};
use crate::gate::metric::Metric;
use crate::gate::side::Side;

/// One row of the forest plot per case and sampled metric.
struct Row<'a> {
    label: String,
    change: &'a MetricChange,
}

struct Forest<'a> {
    rows: Vec<Row<'a>>,
    threshold: f64,
    title: String,
}

impl Figure for Forest<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(text)?;
        let extent = self
            .rows
            .iter()
            .flat_map(|r| {
                let (l, h) = r
                    .change
                    .interval
                    .unwrap_or((r.change.change, r.change.change));
                [l.abs(), h.abs(), r.change.change.abs()]
            })
            .fold(self.threshold * 2.0, f64::max)
            * 1.15;
        let n = self.rows.len().max(1);
        let label_width = self
            .rows
            .iter()
            .map(|r| r.label.chars().count())
            .max()
            .unwrap_or(10) as u32;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size((label_width * 7 + 10).min(480))
            .build_cartesian_2d(-extent..extent, -0.5..(n as f64 - 0.5))
            .map_err(text)?;
        let labels: Vec<String> = self.rows.iter().map(|r| r.label.clone()).collect();
        let label_of = |y: &f64| {
            let i = y.round();
            if (y - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n * 2 + 1)
            .y_label_formatter(&label_of)
            .x_desc("change vs base, % (median latency; interval: bootstrap CI)")
            .draw()
            .map_err(text)?;
        // The band of changes too small to act on.
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(-self.threshold, -0.5), (self.threshold, n as f64 - 0.5)],
                RGBColor(230, 230, 230).filled(),
            )))
            .map_err(text)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                BLACK.stroke_width(1),
            )))
            .map_err(text)?;
        for (i, row) in self.rows.iter().enumerate() {
            let y = i as f64;
            let color = verdict_color(row.change.verdict);
            if let Some((l, h)) = row.change.interval {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(l, y), (h, y)],
                        color.stroke_width(3),
                    )))
                    .map_err(text)?;
            }
            chart
                .draw_series(std::iter::once(Circle::new(
                    (row.change.change, y),
                    5,
                    color.filled(),
                )))
                .map_err(text)?;
        }
        Ok(())
    }
}

/// Writes `comparison.{png,svg}` and `<case>-latency-cdf.{png,svg}` for
/// every compared case; returns the number of files written.
pub fn comparison_plots(
    dir: &Path,
    base: &Side,
    candidate: &Side,
    comparison: &Comparison,
) -> Result<usize, PlotError> {
    let rows: Vec<Row> = comparison
        .cases
        .iter()
        .flat_map(|c| {
            c.metrics
                .iter()
                .filter(|m| m.metric == Metric::LatencyP50)
                .map(|m| Row {
                    label: c.id.clone(),
                    change: m,
                })
        })
        .collect();
    let forest = Forest {
        rows,
        threshold: comparison.settings.threshold(Metric::LatencyP50),
        title: format!(
            "{} vs {}: {}",
            comparison.candidate.label,
            comparison.base.label,
            comparison.verdict.as_str()
        ),
    };
    let mut written = png_and_svg(dir, "comparison", &forest)?;
    for case in comparison.cases.iter().filter(|c| !c.metrics.is_empty()) {
        let samples = |side: &Side| {
            side.cases
                .iter()
                .find(|r| r.id == case.id)
                .map(|r| r.clock_ms(comparison.settings.clock))
                .unwrap_or_default()
        };
        let (b, c) = (samples(base), samples(candidate));
        let cdf = LatencyCdf {
            clock: comparison.settings.clock.as_str(),
            case: &case.id,
            base: &b,
            candidate: &c,
        };
        written += png_and_svg(dir, &format!("{}-latency-cdf", slug(&case.id)), &cdf)?;
    }
    Ok(written)
}
